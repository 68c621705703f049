"""Configuration classes, selected by name (`PARLEY_CONFIG` or `create_app(name)`).

Every default of the API contract is a setting here; deployment-specific ones
(`SECRET_KEY`, `DATABASE_URL`, `REDIS_URL`, `PARLEY_HOST`, `PARLEY_PORT`) come
from the environment.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

BASE_DIR = Path(__file__).resolve().parent
DEFAULT_DATABASE_URL = f"sqlite:///{BASE_DIR / 'instance' / 'parley.db'}"
DEV_SECRET_KEY = "parley-development-key-not-for-production"  # noqa: S105

ALL_SCOPES = {
    "users:read": "Read user profiles",
    "users:write": "Change your profile, report users",
    "rooms:read": "Read rooms and members",
    "rooms:write": "Create, join and manage rooms",
    "messages:read": "Read messages",
    "messages:write": "Send, edit and delete messages",
    "auth:read": "List your OAuth2 clients",
    "auth:write": "Create and delete your OAuth2 clients",
}


def _host_names(value: str | None) -> list[str] | None:
    """A comma-separated list; None when empty, which Flask reads as "every host"."""
    names = [name.strip() for name in (value or "").split(",") if name.strip()]
    return names or None


def _job_intervals(value: str | None) -> dict[str, float]:
    """`name=seconds,name=seconds`: the scheduler's interval for each named job."""
    pairs = [item.split("=", 1) for item in (value or "").split(",") if item.strip()]
    return {name.strip(): float(seconds) for name, seconds in pairs}


def _is_origin(url: str) -> bool:
    """A scheme and a host (and port): what a browser shows as a site's address, nothing more."""
    parts = urlsplit(url)
    return (
        parts.scheme in ("http", "https")
        and bool(parts.netloc)
        and parts.path in ("", "/")
        and not parts.query
    )


class BaseConfig:
    ENV_NAME = "base"
    SECRET_KEY: str | None = os.environ.get("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    REDIS_URL = os.environ.get("REDIS_URL")
    HOST = os.environ.get("PARLEY_HOST", "127.0.0.1")
    PORT = int(os.environ.get("PARLEY_PORT", "8000"))
    # Migrate and seed on start-up, so a fresh database needs no manual step.
    AUTO_UPGRADE_DATABASE = os.environ.get("PARLEY_AUTO_MIGRATE", "1") != "0"
    # Behind a TLS-terminating proxy: number of proxies to trust for X-Forwarded-*.
    PROXY_FIX_HOPS = int(os.environ.get("PARLEY_PROXY_HOPS", "0"))
    # Where clients reach Parley (https://chat.example.com): the OAuth2 issuer and invite links
    # are built from it, not from the Host header. Production needs it or TRUSTED_HOSTS.
    PUBLIC_URL = os.environ.get("PARLEY_PUBLIC_URL", "").rstrip("/") or None
    # Host names the Host header may carry (comma-separated; ".example.com" takes subdomains);
    # any other host gets 400. Unset: every host is answered.
    TRUSTED_HOSTS = _host_names(os.environ.get("PARLEY_TRUSTED_HOSTS"))
    # Strict-Transport-Security max-age on answers served over TLS (request.is_secure); 0: none.
    HSTS_SECONDS = int(os.environ.get("PARLEY_HSTS_SECONDS", 365 * 24 * 3600))
    # Each process's database pool, shared by all the requests of a gevent worker (docs/deploy.md
    # sizes it); a request waits DB_POOL_TIMEOUT s for a connection, then gets 503 + Retry-After.
    DB_POOL_SIZE = int(os.environ.get("PARLEY_DB_POOL_SIZE", "10"))
    DB_MAX_OVERFLOW = int(os.environ.get("PARLEY_DB_MAX_OVERFLOW", "5"))
    DB_POOL_TIMEOUT = float(os.environ.get("PARLEY_DB_POOL_TIMEOUT", "3"))
    DB_RETRY_AFTER_SECONDS = 2  # the Retry-After of a 503 when the database cannot take a request

    ENABLED_MODULES = (
        "auth",
        "users",
        "rooms",
        "invites",
        "messages",
        "moderation",
        "scheduled",
        "files",
        "search",
        "events",
        "web",
    )

    # Limits
    MAX_CONTENT_LENGTH = 6 * 1024 * 1024  # the largest upload plus multipart framing
    MAX_JSON_BODY_BYTES = 64 * 1024
    # User search counts its matches up to this many for X-Pagination's total, never all of them.
    USER_SEARCH_TOTAL_LIMIT = int(os.environ.get("PARLEY_USER_SEARCH_TOTAL_LIMIT", "1000"))
    # Different emoji one member may put on one message; the next is 409.
    MAX_REACTIONS_PER_MESSAGE = int(os.environ.get("PARLEY_MAX_REACTIONS_PER_MESSAGE", "20"))
    # How far ahead `send_at` may schedule a message.
    SCHEDULE_HORIZON_SECONDS = int(os.environ.get("PARLEY_SCHEDULE_HORIZON_SECONDS", 30 * 24 * 3600))

    # OAuth2
    ACCESS_TOKEN_EXPIRES_IN = 3600
    REFRESH_TOKEN_EXPIRES_IN = 30 * 24 * 3600
    AUTHORIZATION_CODE_EXPIRES_IN = 300
    OAUTH2_SCOPES = ALL_SCOPES
    OAUTH2_REFRESH_TOKEN_GENERATOR = True

    # Passwords: argon2id, OWASP's second recommended profile (19 MiB, t=2, p=1).
    ARGON2_MEMORY_COST = 19 * 1024
    ARGON2_TIME_COST = 2
    ARGON2_PARALLELISM = 1

    # Rate limits (Flask-Limiter notation), per client IP unless said otherwise.
    RATELIMIT_ENABLED = os.environ.get("PARLEY_RATELIMIT_ENABLED", "1") != "0"
    # Counters every process shares: Redis if set (process memory while it is down), else the
    # application database (app/extensions/ratelimit.py).
    RATELIMIT_STORAGE_URI = f"failover+{REDIS_URL}" if REDIS_URL else "database://"
    RATELIMIT_HEADERS_ENABLED = True
    TOKEN_RATE_LIMIT = os.environ.get("PARLEY_TOKEN_RATE_LIMIT", "20/minute")  # token and login form
    SIGNUP_RATE_LIMIT = os.environ.get("PARLEY_SIGNUP_RATE_LIMIT", "10/hour")
    # Wrong passwords per account name (token, login form, current_password), from any address.
    ACCOUNT_PASSWORD_RATE_LIMIT = os.environ.get("PARLEY_ACCOUNT_PASSWORD_RATE_LIMIT", "10/15 minutes")
    # Messages per user in the general room, and every API write (POST/PUT/PATCH/DELETE) per user.
    GENERAL_POST_RATE_LIMIT = os.environ.get("PARLEY_GENERAL_POST_RATE_LIMIT", "20/hour")
    USER_WRITE_RATE_LIMIT = os.environ.get("PARLEY_USER_WRITE_RATE_LIMIT", "600/minute")

    # Uploads: stored under UPLOAD_DIR with random names; unattached ones go after a day.
    UPLOAD_DIR = os.environ.get("PARLEY_UPLOAD_DIR", str(BASE_DIR / "instance" / "uploads"))
    MAX_UPLOAD_BYTES = 5 * 1024 * 1024
    UNATTACHED_UPLOAD_TTL_SECONDS = 24 * 3600

    # Moderation: this many distinct reporters stop a user posting for this long.
    REPORT_BAN_THRESHOLD = 3
    REPORT_BAN_SECONDS = 4 * 3600

    # Rooms and moderation defaults from the API contract
    GENERAL_ROOM_NAME = "general"
    GENERAL_MESSAGE_TTL_SECONDS = 3600

    # Events: how long they can be replayed, and the shape of streams
    EVENTS_RETENTION_SECONDS = int(os.environ.get("PARLEY_EVENTS_RETENTION", 24 * 3600))
    # Comments on idle streams, so proxies and clients notice dead ones (at most 16 s: a stream
    # that sent something in the last half interval skips one, so 1.5 intervals may pass silent).
    EVENTS_KEEPALIVE_SECONDS = float(os.environ.get("PARLEY_EVENTS_KEEPALIVE", 15))
    EVENTS_RETRY_MS = 3000  # the `retry:` hint: how soon EventSource reconnects
    # Each process also reads the outbox this often: what a lost notification (or, without
    # Redis, another process's commit) would otherwise hold back.
    EVENTS_POLL_SECONDS = float(os.environ.get("PARLEY_EVENTS_POLL", 1))
    EVENTS_POLL_LIMIT = 500  # events in one long-poll answer
    EVENTS_MAX_QUEUE = 10_000  # a stream this far behind is closed; its client resumes by id
    EVENTS_TICKET_SECONDS = 60
    EVENTS_MAX_STREAMS_PER_USER = 10  # streams and long-polls of one user in one process; then 429
    EVENTS_CHANNEL = os.environ.get("PARLEY_EVENTS_CHANNEL", "parley:events")
    TYPING_SECONDS = 6
    # One `typing` per user and room in this many seconds; more are answered 204 and dropped.
    TYPING_THROTTLE_SECONDS = 1.0
    # Presence changes go out in one `presence.updated` batch per stream this often, and a user
    # stays online this long after their last stream or long-poll closes (a reconnect never flickers).
    PRESENCE_INTERVAL_SECONDS = float(os.environ.get("PARLEY_PRESENCE_INTERVAL", 1))
    PRESENCE_GRACE_SECONDS = float(os.environ.get("PARLEY_PRESENCE_GRACE", 10))

    # Scheduler (app/extensions/jobs.py): one background thread per server process runs the due
    # jobs (0: none, run `invoke app.jobs` from cron instead); a lease in the database lets one
    # process at a time run each job.
    SCHEDULER_ENABLED = os.environ.get("PARLEY_SCHEDULER", "1") != "0"
    SCHEDULER_TICK_SECONDS = float(os.environ.get("PARLEY_SCHEDULER_TICK", 1))
    SCHEDULER_LEASE_SECONDS = 300  # a process that died holding a job frees it after this
    JOBS_INTERVAL_SECONDS = float(os.environ.get("PARLEY_JOBS_INTERVAL", 300))  # housekeeping
    # Per-job intervals by name, e.g. "messages.publish_scheduled=1,files.purge_unattached=3600".
    JOB_INTERVALS = _job_intervals(os.environ.get("PARLEY_JOB_INTERVALS"))
    SCHEDULED_MESSAGES_INTERVAL_SECONDS = 1  # how late a scheduled message may go out

    # OpenAPI / Swagger UI (flask-smorest)
    API_TITLE = "Parley"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.1.0"  # optional objects as `anyOf: [$ref, null]`: generated models stay typed
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"
    OPENAPI_SWAGGER_UI_PATH = "docs"
    OPENAPI_SWAGGER_UI_URL = "/api/v1/docs/assets/"

    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
    # Set: GET /metrics (Prometheus) answers requests bearing it; unset: no /metrics, nothing counted.
    METRICS_TOKEN = os.environ.get("PARLEY_METRICS_TOKEN") or None

    @classmethod
    def validate(cls, config: dict) -> None:
        """Refuse settings that are unsafe for this environment."""
        if config["PUBLIC_URL"] and not _is_origin(config["PUBLIC_URL"]):
            raise RuntimeError("PARLEY_PUBLIC_URL must be a scheme and host, like https://chat.example.com")
        if config["METRICS_TOKEN"] and len(config["METRICS_TOKEN"]) < 16:
            raise RuntimeError("PARLEY_METRICS_TOKEN must be at least 16 characters: it guards /metrics")


class DevelopmentConfig(BaseConfig):
    ENV_NAME = "development"
    SECRET_KEY = BaseConfig.SECRET_KEY or DEV_SECRET_KEY


class TestingConfig(BaseConfig):
    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "parley-testing-key"  # noqa: S105
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    RATELIMIT_ENABLED = False
    AUTO_UPGRADE_DATABASE = False
    SCHEDULER_ENABLED = False  # tests run the scheduler themselves
    # Cheap hashes keep the suite fast; production parameters are tested separately.
    ARGON2_MEMORY_COST = 1024
    ARGON2_TIME_COST = 1


class ProductionConfig(BaseConfig):
    ENV_NAME = "production"

    @classmethod
    def validate(cls, config: dict) -> None:
        super().validate(config)
        if not config.get("SECRET_KEY") or config["SECRET_KEY"] == DEV_SECRET_KEY:
            raise RuntimeError("SECRET_KEY must be set in production")
        if config["SQLALCHEMY_DATABASE_URI"] == DEFAULT_DATABASE_URL:
            raise RuntimeError("DATABASE_URL must be set in production (the default path is for development)")
        if not config["PUBLIC_URL"] and not config["TRUSTED_HOSTS"]:
            raise RuntimeError(
                "PARLEY_PUBLIC_URL (or PARLEY_TRUSTED_HOSTS) must be set in production: "
                "issuer and invite URLs must not come from the client's Host header"
            )


CONFIGS: dict[str, type[BaseConfig]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}
