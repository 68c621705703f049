"""Data for the HTTP benchmark, written by the app itself in the server's environment.

bench/http.py runs each step in a subprocess with the environment it gives gunicorn
(`PARLEY_CONFIG`, `SECRET_KEY`, `DATABASE_URL`, `REDIS_URL`), so that the benchmark process
never imports the app and the data is keyed exactly as the server expects. Each step prints
one JSON object.

    python -m bench.fixtures users --user alice-1a2b --peer bob-1a2b --password …
    python -m bench.fixtures messages --user alice-1a2b --peer bob-1a2b --history 20
    python -m bench.fixtures grow --count 10000 --tag 1a2b
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import string
import sys
import time
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import Table, func, insert, select, text, update

# Rows are written in batches of this many: one executemany each.
BATCH = 1000
TABLES = ("users", "oauth2_tokens", "rooms", "memberships", "messages")


def counts() -> dict[str, int]:
    """Rows per table that the hot paths read: what "table size" means in the report."""
    from app.extensions.database import db

    return {name: db.session.scalar(text(f"SELECT count(*) FROM {name}")) for name in TABLES}  # noqa: S608


def make_users(args: argparse.Namespace) -> dict[str, Any]:
    """The benchmark's user and a peer, through the sign-up service (so both join `general`)."""
    from app.modules.users.services import create_user

    create_user(args.user, args.password, display_name="Alice Bench")
    create_user(args.peer, args.password, display_name="Bob Bench")
    return {"counts": counts()}


def post_messages(args: argparse.Namespace) -> dict[str, Any]:
    """One message from the peer in each of the user's rooms, and `history` more in the first bench room.

    Every room then has a last and an unread message, and one has a full page of history.
    """
    from app.extensions.database import db
    from app.modules.messages import services
    from app.modules.rooms.models import Membership, Room
    from app.modules.users.services import get_by_username

    user, peer = get_by_username(args.user), get_by_username(args.peer)
    if user is None or peer is None:
        raise SystemExit("run the `users` step first")
    rooms = db.session.scalars(
        select(Room)
        .join(Membership, Membership.room_id == Room.id)
        .where(Membership.user_id == user.id)
        .order_by(Room.id)
    ).all()
    for room in rooms:
        body = f"Hello from {peer.username} in {room.name}"
        services.send_message(room, peer, body=body)
    # Not `general`: its messages expire, and posting there has a limit of its own.
    history = next(room for room in rooms if room.name.startswith("bench"))
    for i in range(args.history):
        services.send_message(history, peer, body=f"Hello, history message {i}")
    return {"rooms": len(rooms), "history_room_id": history.id, "counts": counts()}


def grow(args: argparse.Namespace) -> dict[str, Any]:
    """Add `count` users as sign-up would leave them, each with a token and a room of their own.

    Core inserts in batches, not the services: this is about table size, not about how rows
    got there. Every extra user is in `general` (as after sign-up) and owns a private room with
    one message, more recently active than the benchmark user's rooms, so a plan that walks all
    rooms by activity shows up as growth.
    """
    from flask import current_app

    from app.extensions.database import db, utcnow
    from app.extensions.security import generate_secret, hash_secret
    from app.modules.auth.models import OAuth2Token
    from app.modules.messages.models import Message
    from app.modules.rooms.models import Membership, Room
    from app.modules.rooms.services import general_room
    from app.modules.users.models import User

    general = general_room()
    if general is None:
        raise SystemExit("the database has no `general` room: was it provisioned?")
    scope = " ".join(current_app.config["OAUTH2_SCOPES"])
    now, stamp = utcnow(), int(time.time())
    tables = (cast(Table, model.__table__) for model in (User, OAuth2Token, Room, Membership, Message))
    users, tokens, rooms, memberships, messages = tables
    letters = string.ascii_lowercase
    started = time.monotonic()
    for first in range(0, args.count, BATCH):
        batch = range(first, min(args.count, first + BATCH))
        # Usernames and display names start with every letter in turn: `?q=a` matches about 1 in 13.
        names = [f"{letters[i % 26]}{args.tag}{i:05d}" for i in batch]
        user_ids = db.session.scalars(
            insert(users).returning(users.c.id, sort_by_parameter_order=True),
            [
                {
                    "username": name,
                    "username_key": name.lower(),
                    "display_name": f"{letters[(i * 7 + 3) % 26].upper()}. Bench {i}",
                    "display_name_key": f"{letters[(i * 7 + 3) % 26]}. bench {i}",
                    "password_hash": "bench-no-password",  # no argon2 hash verifies against it
                    "created_at": now,
                }
                for i, name in zip(batch, names, strict=True)
            ],
        ).all()
        db.session.execute(
            insert(tokens),
            [
                {
                    "client_id": "documentation",
                    "user_id": user_id,
                    "access_token_hash": hash_secret(generate_secret()),
                    "refresh_token_hash": hash_secret(generate_secret()),
                    "family_id": secrets.token_hex(16),
                    "scope": scope,
                    "issued_at": stamp,
                    "expires_in": 3600,
                    "refresh_token_expires_at": stamp + 30 * 24 * 3600,
                }
                for user_id in user_ids
            ],
        )
        room_ids = db.session.scalars(
            insert(rooms).returning(rooms.c.id, sort_by_parameter_order=True),
            [
                {
                    "name": f"room of {name}",
                    "topic": "",
                    "kind": "private",
                    "owner_id": user_id,
                    "member_count": 1,
                    "created_at": now,
                    "last_activity_at": now + timedelta(seconds=60) - timedelta(milliseconds=i),
                }
                for i, name, user_id in zip(batch, names, user_ids, strict=True)
            ],
        ).all()
        message_ids = db.session.scalars(
            insert(messages).returning(messages.c.id, sort_by_parameter_order=True),
            [
                {"room_id": room_id, "author_id": user_id, "body": "first!", "created_at": now}
                for room_id, user_id in zip(room_ids, user_ids, strict=True)
            ],
        ).all()
        db.session.execute(
            insert(memberships),
            [
                {"room_id": general.id, "user_id": user_id, "role": "member", "joined_at": now}
                for user_id in user_ids
            ]
            + [
                {
                    "room_id": room_id,
                    "user_id": user_id,
                    "role": "owner",
                    "joined_at": now,
                    "last_read_message_id": message_id,
                }
                for room_id, user_id, message_id in zip(room_ids, user_ids, message_ids, strict=True)
            ],
        )
        general_count = rooms.c.member_count + len(user_ids)
        db.session.execute(update(rooms).where(rooms.c.id == general.id).values(member_count=general_count))
        first_room = min(room_ids)
        db.session.execute(
            update(rooms)
            .where(rooms.c.id >= first_room)
            .values(
                last_message_id=select(func.max(messages.c.id))
                .where(messages.c.room_id == rooms.c.id)
                .scalar_subquery()
            )
        )
        db.session.commit()
    analyzed = False
    if db.engine.dialect.name == "postgresql":
        # autovacuum would analyze tables this much larger within a minute; do not measure that minute.
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        analyzed = True
    return {"seconds": round(time.monotonic() - started, 1), "analyzed": analyzed, "counts": counts()}


STEPS = {"users": make_users, "messages": post_messages, "grow": grow}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("step", choices=sorted(STEPS))
    parser.add_argument("--user", help="the benchmark user's username")
    parser.add_argument("--peer", help="the user who writes to them")
    parser.add_argument("--password")
    parser.add_argument("--history", type=int, default=0, help="messages: more messages in one room")
    parser.add_argument("--count", type=int, default=10_000, help="grow: extra users")
    parser.add_argument("--tag", default="", help="grow: makes usernames unique to this run")
    args = parser.parse_args(argv)

    from app import create_app

    app = create_app(os.environ.get("PARLEY_CONFIG", "production"))
    with app.app_context():
        result = STEPS[args.step](args)
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
