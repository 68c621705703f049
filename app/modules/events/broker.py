"""Telling every process that events were committed, and carrying ephemeral events.

Without `REDIS_URL` the only process is this one: a commit wakes the local hub. With
Redis, the id of the newest committed event goes out on a pub/sub channel, and every
process's listener wakes its hub; the hub then reads the outbox itself, so a lost or
repeated notification loses or repeats nothing.

Redis being down costs latency, never an answer: committed events still reach other
processes through their outbox poll (`EVENTS_POLL_SECONDS`), and ephemeral events reach
this process's streams directly (they never needed the round trip through Redis).
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, current_app
from redis import Redis, RedisError
from sqlalchemy.orm import Session

from app.extensions.outages import Dependency
from app.extensions.redis import redis_health

from .hub import Delivery, Hub
from .services import pop_written

log = logging.getLogger(__name__)

PROCESS = secrets.token_hex(8)  # this process, among all that share the Redis channel
LISTEN_RETRY_SECONDS = 1.0  # while Redis is away, each process tries to listen again this often


class LocalBroker:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        # Ephemeral types another process's word on goes to a handler here, not straight to the streams.
        self.receivers: dict[str, Callable[[Delivery], None]] = {}

    def committed(self, event_id: int) -> None:
        self.hub.wake()

    def ephemeral(self, delivery: Delivery) -> bool:
        """Hand an ephemeral event to every stream; False when other processes may not have heard it."""
        self.hub.deliver_ephemeral(delivery)
        return self.publish_ephemeral(delivery)

    def publish_ephemeral(self, delivery: Delivery) -> bool:
        """Tell the other processes (there are none here); False when they may not have heard it."""
        return True


class RedisBroker(LocalBroker):
    def __init__(self, hub: Hub, redis: Redis, channel: str, health: Dependency) -> None:
        super().__init__(hub)
        self.redis = redis
        self.channel = channel
        self.health = health
        hub.on_first_subscriber.append(self._start_listening)

    def committed(self, event_id: int) -> None:
        self.hub.wake()  # this process's streams need not wait for the round trip
        self._publish({"event_id": event_id})  # if it fails, other processes poll the event up

    def publish_ephemeral(self, delivery: Delivery) -> bool:
        message = {
            "origin": PROCESS,
            "type": delivery.type,
            "data": delivery.data,
            "room_ids": sorted(delivery.room_ids),
            "user_ids": sorted(delivery.user_ids),
            "item_rooms": [sorted(rooms) for rooms in delivery.item_rooms],
        }
        return self._publish(message)

    def _publish(self, message: dict[str, Any]) -> bool:
        try:
            self.redis.publish(self.channel, json.dumps(message))
        except RedisError as error:
            self.health.failed("unreachable", error)
            return False
        self.health.answered()
        return True

    def _start_listening(self) -> None:
        threading.Thread(target=self._listen_forever, name="parley-events-redis", daemon=True).start()

    def _listen_forever(self) -> None:
        """Listen; while Redis is away, try again every `LISTEN_RETRY_SECONDS`: its return ends the outage."""
        while True:
            try:
                with self.redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    pubsub.subscribe(self.channel)
                    self.health.answered()
                    self.hub.wake()  # anything committed while we were not listening
                    for message in pubsub.listen():
                        self._receive(json.loads(message["data"]))
            except RedisError as error:
                self.health.failed("unreachable", error)
            except Exception:
                log.exception("the Redis event listener failed; restarting it")
            time.sleep(LISTEN_RETRY_SECONDS)

    def _receive(self, message: dict[str, Any]) -> None:
        if "event_id" in message:
            self.hub.wake()
        elif message.get("origin") != PROCESS:  # this process's streams have it already
            delivery = Delivery(
                type=message["type"],
                data=message["data"],
                room_ids=frozenset(message["room_ids"]),
                user_ids=frozenset(message["user_ids"]),
                item_rooms=tuple(frozenset(rooms) for rooms in message.get("item_rooms", ())),
            )
            self.receivers.get(delivery.type, self.hub.deliver_ephemeral)(delivery)


def init_app(app: Flask) -> None:
    hub = Hub(app)
    redis = app.extensions["parley.redis"]
    channel = app.config["EVENTS_CHANNEL"]
    app.extensions["parley.events"] = (
        RedisBroker(hub, redis, channel, redis_health(app)) if redis else LocalBroker(hub)
    )


def broker() -> LocalBroker:
    return current_app.extensions["parley.events"]


def hub() -> Hub:
    return broker().hub


def announce(
    type_: str, data: dict[str, Any], *, room_ids: Iterable[int] = (), user_ids: Iterable[int] = ()
) -> bool:
    """An ephemeral event (typing, presence): to the members of `room_ids` and to `user_ids`, now or never.

    False when only this process's streams got it (Redis is down): presence says it again later.
    """
    delivery = Delivery(type=type_, data=data, room_ids=frozenset(room_ids), user_ids=frozenset(user_ids))
    return broker().ephemeral(delivery)


def announce_committed(session: Session) -> None:
    """Events exist once committed: only now may any stream hear of them."""
    event_id = pop_written(session)
    if event_id is not None:
        broker().committed(event_id)
