"""Password hashing (argon2id through libpass) and keyed hashes for bearer secrets."""

from __future__ import annotations

import hmac
import secrets

from flask import Flask, current_app
from passlib.context import CryptContext

# Verified against when a username does not exist, so both failures take the same time.
_DUMMY_PASSWORD = "parley-dummy-password"  # noqa: S105


def init_app(app: Flask) -> None:
    context = CryptContext(
        schemes=["argon2"],
        argon2__type="ID",
        argon2__memory_cost=app.config["ARGON2_MEMORY_COST"],
        argon2__rounds=app.config["ARGON2_TIME_COST"],
        argon2__parallelism=app.config["ARGON2_PARALLELISM"],
    )
    app.extensions["parley.passwords"] = context
    app.extensions["parley.dummy_hash"] = context.hash(_DUMMY_PASSWORD)


def _passwords() -> CryptContext:
    return current_app.extensions["parley.passwords"]


def hash_password(password: str) -> str:
    return _passwords().hash(password)


def verify_password(password: str, password_hash: str | None) -> tuple[bool, str | None]:
    """Check a password; the second value is a re-hash when the parameters changed."""
    if password_hash is None:
        _passwords().verify(password, current_app.extensions["parley.dummy_hash"])
        return False, None
    return _passwords().verify_and_update(password, password_hash)


def hash_secret(value: str) -> str:
    """Keyed SHA-256 of a token, code or client secret.

    These are random and high-entropy, so a fast keyed hash is enough, and being
    deterministic it lets the database look them up by equality. `hmac.digest` is the one-shot
    form (one call into OpenSSL): every authenticated request hashes its token, and building an
    `hmac.HMAC` object cost a dozen calls.
    """
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.digest(key, value.encode(), "sha256").hex()


def secrets_match(value: str, stored_hash: str | None) -> bool:
    return stored_hash is not None and hmac.compare_digest(hash_secret(value), stored_hash)


def generate_secret(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)
