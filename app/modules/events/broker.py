"""Telling every process that events were committed, and carrying ephemeral events.

Without `REDIS_URL` the only process is this one: a commit wakes the local hub. With
Redis, the id of the newest committed event goes out on a pub/sub channel, and every
process's listener wakes its hub; the hub then reads the outbox itself, so a lost or
repeated notification loses or repeats nothing.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterable
from typing import Any

from flask import Flask, current_app
from redis import Redis, RedisError
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from .hub import Delivery, Hub
from .services import pop_written

log = logging.getLogger(__name__)


class LocalBroker:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    def committed(self, event_id: int) -> None:
        self.hub.wake()

    def ephemeral(self, delivery: Delivery) -> None:
        self.hub.deliver_ephemeral(delivery)


class RedisBroker(LocalBroker):
    def __init__(self, hub: Hub, redis: Redis, channel: str) -> None:
        super().__init__(hub)
        self.redis = redis
        self.channel = channel
        hub.on_first_subscriber.append(self._start_listening)

    def committed(self, event_id: int) -> None:
        self.hub.wake()  # this process's streams need not wait for the round trip
        try:
            self.redis.publish(self.channel, json.dumps({"event_id": event_id}))
        except RedisError:  # the change is committed; other processes poll it up within seconds
            log.exception("could not announce event %d on Redis", event_id)

    def ephemeral(self, delivery: Delivery) -> None:
        message = {
            "type": delivery.type,
            "data": delivery.data,
            "room_ids": sorted(delivery.room_ids),
            "user_ids": sorted(delivery.user_ids),
        }
        self.redis.publish(self.channel, json.dumps(message))

    def _start_listening(self) -> None:
        threading.Thread(target=self._listen_forever, name="parley-events-redis", daemon=True).start()

    def _listen_forever(self) -> None:
        while True:
            try:
                pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(self.channel)
                self.hub.wake()  # anything committed while we were not listening
                for message in pubsub.listen():
                    self._receive(json.loads(message["data"]))
            except Exception:
                log.exception("lost the Redis event channel; reconnecting")
                time.sleep(1)

    def _receive(self, message: dict[str, Any]) -> None:
        if "event_id" in message:
            self.hub.wake()
        else:
            self.hub.deliver_ephemeral(
                Delivery(
                    type=message["type"],
                    data=message["data"],
                    room_ids=frozenset(message["room_ids"]),
                    user_ids=frozenset(message["user_ids"]),
                )
            )


def init_app(app: Flask) -> None:
    hub = Hub(app)
    redis = app.extensions["parley.redis"]
    channel = app.config["EVENTS_CHANNEL"]
    app.extensions["parley.events"] = RedisBroker(hub, redis, channel) if redis else LocalBroker(hub)


def broker() -> LocalBroker:
    return current_app.extensions["parley.events"]


def hub() -> Hub:
    return broker().hub


def announce(
    type_: str, data: dict[str, Any], *, room_ids: Iterable[int] = (), user_ids: Iterable[int] = ()
) -> None:
    """An ephemeral event (typing, presence): to the members of `room_ids` and to `user_ids`, now or never."""
    delivery = Delivery(type=type_, data=data, room_ids=frozenset(room_ids), user_ids=frozenset(user_ids))
    broker().ephemeral(delivery)


@sa_event.listens_for(Session, "after_commit")
def _announce(session: Session) -> None:
    """Events exist once committed: only now may any stream hear of them."""
    event_id = pop_written(session)
    if event_id is not None:
        broker().committed(event_id)
