"""Data for the event-stream benchmark, written by the app itself in the server's environment.

bench/sse.py runs this in a subprocess with the environment it gives gunicorn, so that the
tokens are hashed with the server's SECRET_KEY and the benchmark process never imports the
app. Sign-up and the token endpoint are rate-limited per address and hash passwords with
argon2, so the users and their access tokens are inserted in bulk instead; the rooms go
through the rooms service, so their membership events and spans are exactly what the API
would leave. Prints one JSON object.

    python -m bench.sse_fixtures --users 1000 --devices 1 --rooms 1 --tag 1a2b
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import time
from typing import Any, cast

from sqlalchemy import Table, insert

BATCH = 1000


def seed(users: int, devices: int, rooms: int, tag: str) -> dict[str, Any]:
    """`users` users with `devices` access tokens each, spread over `rooms` private rooms.

    User i is in room i % rooms. The rooms' owner is one more user, the sender: a member of
    every room, holding no stream, so that every stream hears exactly its own room's messages.
    """
    from flask import current_app

    from app.extensions.database import db, utcnow
    from app.extensions.security import generate_secret, hash_secret
    from app.modules.auth.models import OAuth2Token
    from app.modules.rooms.services import create_room
    from app.modules.users.models import User

    scope = " ".join(current_app.config["OAUTH2_SCOPES"])
    started, now, stamp = time.monotonic(), utcnow(), int(time.time())
    names = [f"sse{tag}{i:05d}" for i in range(users)] + [f"sse{tag}owner"]
    user_table = cast(Table, User.__table__)
    user_ids: list[int] = []
    for first in range(0, len(names), BATCH):
        batch = names[first : first + BATCH]
        user_ids += db.session.scalars(
            insert(user_table).returning(user_table.c.id, sort_by_parameter_order=True),
            [
                {
                    "username": name,
                    "username_key": name.lower(),
                    "display_name": f"SSE {name}",
                    "password_hash": "bench-no-password",  # no argon2 hash verifies against it
                    "created_at": now,
                }
                for name in batch
            ],
        ).all()
    # Stream i belongs to user i % users: each user's devices are spread over the connect order.
    # The last token is the sender's (the owner's).
    tokens = [generate_secret() for _ in range(users * devices + 1)]
    rows = [
        {
            "client_id": "documentation",
            "user_id": user_ids[i % users] if i < users * devices else user_ids[-1],
            "access_token_hash": hash_secret(token),
            "refresh_token_hash": None,
            "family_id": secrets.token_hex(16),
            "scope": scope,
            "issued_at": stamp,
            "expires_in": 4 * 3600,  # a stream ends when its token expires: outlast any run
            "refresh_token_expires_at": None,
        }
        for i, token in enumerate(tokens)
    ]
    for first in range(0, len(rows), BATCH):
        db.session.execute(insert(cast(Table, OAuth2Token.__table__)), rows[first : first + BATCH])
    db.session.commit()
    owner = db.session.get_one(User, user_ids[-1])
    room_ids = [
        create_room(owner, name=f"sse bench {tag} {r}", kind="private", members=names[r:users:rooms]).id
        for r in range(rooms)
    ]
    return {
        "room_id": room_ids[0],  # what bench/http.py and bench/soak.py read: they seed one room
        "room_ids": room_ids,
        "tokens": tokens[:-1],
        "sender_token": tokens[-1],
        "seconds": round(time.monotonic() - started, 1),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, required=True)
    parser.add_argument("--devices", type=int, default=1, help="access tokens (streams) per user")
    parser.add_argument("--rooms", type=int, default=1, help="rooms the users are spread over")
    parser.add_argument("--tag", required=True, help="makes usernames unique to this run")
    args = parser.parse_args(argv)

    from app import create_app

    app = create_app(os.environ.get("PARLEY_CONFIG", "production"))
    with app.app_context():
        result = seed(args.users, args.devices, args.rooms, args.tag)
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
