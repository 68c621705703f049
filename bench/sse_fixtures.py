"""Data for the event-stream benchmark, written by the app itself in the server's environment.

bench/sse.py runs this in a subprocess with the environment it gives gunicorn, so that the
tokens are hashed with the server's SECRET_KEY and the benchmark process never imports the
app. Sign-up and the token endpoint are rate-limited per address and hash passwords with
argon2, so the users and their access tokens are inserted in bulk instead; the room goes
through the rooms service, so its membership events and spans are exactly what the API
would leave. Prints one JSON object.

    python -m bench.sse_fixtures --users 1000 --devices 1 --tag 1a2b
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import time
from typing import Any

from sqlalchemy import insert

BATCH = 1000


def seed(users: int, devices: int, tag: str) -> dict[str, Any]:
    """`users` users, `devices` access tokens each, all in one private room owned by the first."""
    from flask import current_app

    from app.extensions.database import db, utcnow
    from app.extensions.security import generate_secret, hash_secret
    from app.modules.auth.models import OAuth2Token
    from app.modules.rooms.services import create_room
    from app.modules.users.models import User

    scope = " ".join(current_app.config["OAUTH2_SCOPES"])
    started, now, stamp = time.monotonic(), utcnow(), int(time.time())
    names = [f"sse{tag}{i:05d}" for i in range(users)]
    user_ids: list[int] = []
    for first in range(0, users, BATCH):
        batch = names[first : first + BATCH]
        user_ids += db.session.scalars(
            insert(User.__table__).returning(User.__table__.c.id, sort_by_parameter_order=True),
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
    # The last token is the sender's (the owner's): it opens no stream.
    tokens = [generate_secret() for _ in range(users * devices + 1)]
    rows = [
        {
            "client_id": "documentation",
            "user_id": user_ids[i % users] if i < users * devices else user_ids[0],
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
        db.session.execute(insert(OAuth2Token.__table__), rows[first : first + BATCH])
    db.session.commit()
    owner = db.session.get(User, user_ids[0])
    room = create_room(owner, name=f"sse bench {tag}", kind="private", members=names[1:])
    return {
        "room_id": room.id,
        "user_ids": user_ids,
        "tokens": tokens[:-1],
        "sender_token": tokens[-1],
        "seconds": round(time.monotonic() - started, 1),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, required=True)
    parser.add_argument("--devices", type=int, default=1, help="access tokens (streams) per user")
    parser.add_argument("--tag", required=True, help="makes usernames unique to this run")
    args = parser.parse_args(argv)

    from app import create_app

    app = create_app(os.environ.get("PARLEY_CONFIG", "production"))
    with app.app_context():
        result = seed(args.users, args.devices, args.tag)
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
