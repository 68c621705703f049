"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

from flask import Blueprint, current_app
from flask.typing import ResponseReturnValue
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from .extensions import db
from .extensions.redis import redis_client

blp = Blueprint("health", __name__)


@blp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """The process is alive and answering."""
    return {"status": "ok"}


@blp.get("/readyz")
def readyz() -> ResponseReturnValue:
    """Every dependency answers: 200 when ready, 503 (with the failing check) when not."""
    checks = {"database": "ok"}
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        current_app.logger.warning("readiness: database unreachable: %s", error)
        checks["database"] = "unreachable"
    redis = redis_client()
    if redis is not None:
        try:
            redis.ping()
            checks["redis"] = "ok"
        except RedisError as error:
            current_app.logger.warning("readiness: redis unreachable: %s", error)
            checks["redis"] = "unreachable"
    ready = all(state == "ok" for state in checks.values())
    body = {"status": "ok" if ready else "unavailable", "checks": checks}
    return body, 200 if ready else 503
