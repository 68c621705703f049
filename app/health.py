"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

from flask import Blueprint, current_app
from flask.typing import ResponseReturnValue
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from .extensions import db
from .extensions.redis import redis_client, redis_health

blp = Blueprint("health", __name__)


@blp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """The process is alive and answering."""
    return {"status": "ok"}


@blp.get("/readyz")
def readyz() -> ResponseReturnValue:
    """503 when the database does not answer; 200 otherwise, `degraded` while Redis does not.

    Without Redis every request is still served (events reach other processes through the
    outbox poll, a few seconds late), and every instance shares the one Redis: taking them
    out of rotation for it would turn slower events into no service at all (docs/deploy.md).
    Failures are logged once per outage, not once per probe.
    """
    checks = {"database": "ok"}
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        current_app.extensions["parley.database"].failed("unreachable", error)
        checks["database"] = "unreachable"
    redis = redis_client()
    if redis is not None:
        try:
            redis.ping()
            redis_health().answered()
            checks["redis"] = "ok"
        except RedisError as error:
            redis_health().failed("unreachable", error)
            checks["redis"] = "unreachable"
    if checks["database"] != "ok":
        return {"status": "unavailable", "checks": checks}, 503
    return {"status": "ok" if checks.get("redis", "ok") == "ok" else "degraded", "checks": checks}, 200
