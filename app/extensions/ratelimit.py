"""Rate limits: Flask-Limiter per client address, and a budget of wrong passwords per account.

Every counter lives in one store that all worker processes share: Redis when `REDIS_URL` is
set, else the application database (`DatabaseStorage`). Counting in process memory would
multiply each limit by the number of gunicorn workers (the default image runs several on one
SQLite file). While Redis is unreachable, counting goes on in memory (`FailoverStorage`), so an
outage of the store never becomes an outage of sign-up and log-in.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, wraps
from typing import Any

from flask import Flask, Response, current_app, g, has_request_context, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, RedisStorage, Storage
from sqlalchemy import Float, String, bindparam, case, create_engine, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, Session, mapped_column
from werkzeug.exceptions import TooManyRequests

from . import jobs
from .database import Base, db, on_every_session, rows_changed
from .prepared import Prepared

log = logging.getLogger(__name__)

DATABASE_STORAGE_URI = "database://"
FAILOVER_PREFIX = "failover+"
KEY_LENGTH = 255
# Connections per process for the database store's counters, besides the application's pool.
COUNTERS_POOL_SIZE = 1
COUNTERS_MAX_OVERFLOW = 4

limiter = Limiter(key_func=get_remote_address)
# The methods Flask-Limiter's limits count; it does no work at all for the others (`_counted`).
LIMITED_METHODS = ("POST",)
# The views a Flask-Limiter limit decorates (`_limit`), by module and qualified name: the only
# ones its request hooks run for (`_check_limited_views_only`).
_LIMITED_VIEWS: set[str] = set()


def _view_name(view: Callable[..., Any]) -> str:
    return f"{view.__module__}.{view.__qualname__}"


def _limit(setting: str, scope: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Flask-Limiter's shared limit of the config key `setting` on POSTs, noting each view it decorates."""
    shared = limiter.shared_limit(
        lambda: current_app.config[setting], scope=scope, methods=list(LIMITED_METHODS)
    )

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        _LIMITED_VIEWS.add(_view_name(view))
        return shared(view)

    return decorate


# One budget per address for each thing that can be done two ways (the API and the HTML pages):
# logging in (token endpoint, authorize page) and signing up, so that using both never doubles it.
log_in_limit = _limit("TOKEN_RATE_LIMIT", "log-in")
sign_up_limit = _limit("SIGNUP_RATE_LIMIT", "sign-up")


@limiter.request_filter
def _not_counted() -> bool:
    """Exempt what no Flask-Limiter limit counts: reads would otherwise pay for resolving every
    limit of their route (none) on each request. Per-user budgets (`spend`) are not affected."""
    return request.method not in LIMITED_METHODS


class RateLimitCounter(Base):
    """One fixed-window counter of `DatabaseStorage`; rows past `expires_at` count as absent."""

    __tablename__ = "rate_limit_counters"

    key: Mapped[str] = mapped_column(String(KEY_LENGTH), primary_key=True)
    count: Mapped[int]
    expires_at: Mapped[float] = mapped_column(Float, index=True)  # seconds since the epoch


_INSERTS: dict[str, Callable[[Any], postgresql.Insert | sqlite.Insert]] = {
    "sqlite": sqlite.insert,
    "postgresql": postgresql.insert,
}


def _stored_key(key: str) -> str:
    """The key as stored: a longer one (a client address is what the client says it is) hashed."""
    return key if len(key) <= KEY_LENGTH else "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def _hit(key: str, expiry: int, amount: int = 1) -> dict[str, Any]:
    """The parameters of `_upsert`."""
    now = time.time()
    return {"key": _stored_key(key), "amount": amount, "now": now, "expires_at": now + expiry}


@cache
def _upsert(dialect: str) -> Prepared:
    """Add `amount` to the counter `key`, or start it again if its window ended before `now`;
    returns its count and when its window ends.

    Built and compiled once per dialect: every counted write runs it, and building it (an
    upsert with two CASEs) cost more than running it.
    """
    table = RateLimitCounter.__table__
    insert = _INSERTS[dialect](table).values(
        key=bindparam("key", type_=String), count=bindparam("amount"), expires_at=bindparam("expires_at")
    )
    expired = table.c.expires_at <= bindparam("now", type_=Float)
    upsert = insert.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={
            "count": case((expired, insert.excluded.count), else_=table.c.count + insert.excluded.count),
            "expires_at": case((expired, insert.excluded.expires_at), else_=table.c.expires_at),
        },
    )
    return Prepared(upsert.returning(table.c.count, table.c.expires_at))


class DatabaseStorage(Storage):
    """`limits` counters in the application database, shared by every process that uses it.

    Each hit is one atomic upsert (INSERT … ON CONFLICT DO UPDATE … RETURNING, on SQLite and
    PostgreSQL alike) on a connection of its own that commits at once: concurrent hits from
    several workers never lose an increment, and a counted attempt stays counted when the
    request that made it rolls back. A message's hits are the exception: counted in the
    transaction that stores it (`count_in_transaction`), and on such a connection if that
    transaction rolls back.
    """

    STORAGE_SCHEME = ["database"]

    def __init__(self, uri: str, engine: Engine, wrap_exceptions: bool = False, **options: Any) -> None:
        super().__init__(uri, wrap_exceptions)
        self.engine = engine

    @property
    def base_exceptions(self) -> type[Exception]:
        return SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        return self.incr_with_expiry(key, expiry, amount)[0]

    def incr_with_expiry(self, key: str, expiry: int, amount: int = 1) -> tuple[int, float]:
        """`incr`, and when the counter's window ends: what `spend` needs, in one statement."""
        with self.engine.begin() as connection:
            ((count, expires_at),) = _upsert(self.engine.dialect.name).rows(
                connection, _hit(key, expiry, amount)
            )
        return count, expires_at

    def _live(self, key: str, column: Any) -> Any:
        with self.engine.connect() as connection:
            return connection.scalar(
                select(column).where(
                    RateLimitCounter.key == _stored_key(key), RateLimitCounter.expires_at > time.time()
                )
            )

    def get(self, key: str) -> int:
        return self._live(key, RateLimitCounter.count) or 0

    def get_expiry(self, key: str) -> float:
        return self._live(key, RateLimitCounter.expires_at) or time.time()

    def check(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.scalar(select(1))
        except SQLAlchemyError:
            return False
        return True

    def reset(self) -> int:
        with self.engine.begin() as connection:
            return connection.execute(delete(RateLimitCounter)).rowcount

    def clear(self, key: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(delete(RateLimitCounter).where(RateLimitCounter.key == _stored_key(key)))


class FailoverStorage(Storage):
    """Redis, or this process's memory for a while after Redis failed (`failover+redis://…`).

    Limits then hold per process instead of failing every request with a 500; the log gets
    one warning when the failover starts and one line when Redis answers again.
    """

    STORAGE_SCHEME = [FAILOVER_PREFIX + scheme for scheme in ("redis", "rediss", "redis+unix")]
    RETRY_SECONDS = 30  # how long to count in memory before asking Redis again

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options: Any) -> None:
        super().__init__(uri, wrap_exceptions)
        # Fail fast: a Redis that does not answer must not hold requests for the OS's TCP timeout.
        options = {"socket_connect_timeout": 1, "socket_timeout": 1, **options}
        self.primary = RedisStorage(uri.removeprefix(FAILOVER_PREFIX), **options)
        self.memory = MemoryStorage()
        self.failed_at: float | None = None

    @property
    def base_exceptions(self) -> tuple[type[Exception], ...]:
        return ()  # the primary's errors never leave this class

    def _call(self, method: str, *args: Any) -> Any:
        if self.failed_at is not None and time.monotonic() - self.failed_at < self.RETRY_SECONDS:
            return getattr(self.memory, method)(*args)
        try:
            result = getattr(self.primary, method)(*args)
        except self.primary.base_exceptions as error:
            if self.failed_at is None:
                log.warning("rate-limit store unreachable (%s): counting in process memory meanwhile", error)
            self.failed_at = time.monotonic()
            return getattr(self.memory, method)(*args)
        if self.failed_at is not None:
            log.warning("rate-limit store reachable again: counting there")
            self.failed_at = None
        return result

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        return self._call("incr", key, expiry, amount)

    def get(self, key: str) -> int:
        return self._call("get", key)

    def get_expiry(self, key: str) -> float:
        return self._call("get_expiry", key)

    def check(self) -> bool:
        return self.primary.check()

    def reset(self) -> int | None:
        return self._call("reset")

    def clear(self, key: str) -> None:
        self._call("clear", key)


def _password_identifiers(account: str) -> tuple[str, str]:
    # Hashed: any length of typed name makes a key of one size, and no store holds the names.
    return "password", hashlib.sha256(account.lower().encode()).hexdigest()


@dataclass
class PasswordAttempt:
    """One counted password attempt; `succeeded()` gives it back, so only wrong passwords add up."""

    item: RateLimitItem | None = None
    identifiers: tuple[str, ...] = ()

    def succeeded(self) -> None:
        if self.item is not None:
            key = self.item.key_for(*self.identifiers)
            limiter.limiter.storage.incr(key, self.item.get_expiry(), amount=-1)


def _too_many(item: RateLimitItem, what: str, reset_at: float) -> TooManyRequests:
    return TooManyRequests(f"{what}: {item}", retry_after=max(1, math.ceil(reset_at - time.time())))


@cache
def _parsed_limit(text: str) -> RateLimitItem:
    """The limit a setting states (`limits.parse`), read once per text: every counted request
    spends one, and reading `30/minute` again each time cost 21 calls, half of spending it."""
    return parse(text)


def spend(setting: str, scope: str, identifier: str) -> None:
    """Count one request against the limit named by `setting` (a config key), or stop with 429.

    Counted in the shared store whether or not the request then succeeds: a fixed window, one
    increment and one read of its end (not `limiter.hit` and its window stats, which would ask
    the store three times on every write); the database store does both in one statement. The
    answer's `X-RateLimit-*` headers describe the tightest limit the request spent
    (`_add_limit_headers`): a message in `general` spends both the room's budget and the writes'
    ceiling. Under `counted_with_the_write`, the database store counts it later, with the write.
    """
    if not limiter.enabled:
        return
    item = _parsed_limit(current_app.config[setting])
    key = item.key_for(scope, identifier)
    deferred = g.get(_DEFERRED)
    if deferred is not None and isinstance(limiter.limiter.storage, DatabaseStorage):
        deferred.append((item, scope, key))
        return
    _spent(item, scope, *_counted(item, key))


def _counted(item: RateLimitItem, key: str) -> tuple[int, float]:
    """The count after this hit, and when its window ends."""
    storage = limiter.limiter.storage
    if isinstance(storage, DatabaseStorage):
        return storage.incr_with_expiry(key, item.get_expiry())
    return storage.incr(key, item.get_expiry()), storage.get_expiry(key)


def _spent(item: RateLimitItem, scope: str, count: int, reset_at: float, *, refuse: bool = True) -> None:
    """Note the hit for the answer's headers; 429 past the limit, if it may still be refused."""
    remaining = max(0, item.amount - count)
    tightest = g.get("rate_limit")
    if count > item.amount or tightest is None or remaining < tightest[1]:
        g.rate_limit = (item.amount, remaining, math.ceil(reset_at))
    if count > item.amount and refuse:
        raise _too_many(item, scope, reset_at)


# The hits a `counted_with_the_write` view has not counted yet (a Flask `g` attribute), and those
# counted in the session's open transaction (a `session.info` key: lost if it rolls back, so
# counted again then).
_DEFERRED = "parley_hits_deferred"
_IN_TRANSACTION = "parley_hits_in_transaction"


def counted_with_the_write(view: Callable[..., Any]) -> Callable[..., Any]:
    """`view`'s hits (`spend`) are counted in the transaction of its write, by its service's call
    of `count_in_transaction`: with the database store, one commit where there were two.

    For a view whose every write goes through services that call it first (sending a message,
    the hottest write): the counter's own commit doubled the writes that queue for SQLite's one
    write lock. Place it above `auth_required`. What ends before its write (a 404, 403 or 422,
    a repeated `client_msg_id`) is counted as it answers (`_add_limit_headers`), so a caller
    past the limit hears of that error first, and 429 once the request would write.
    """

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        setattr(g, _DEFERRED, [])
        return view(*args, **kwargs)

    return wrapper


def count_in_transaction() -> None:
    """Count the hits this request deferred in the session's transaction, before its first
    write; or roll it back and stop with 429. Nothing to do outside a request (the scheduler)."""
    if not has_request_context() or not (deferred := g.get(_DEFERRED)):
        return
    setattr(g, _DEFERRED, [])
    db.session.info[_IN_TRANSACTION] = deferred
    connection = db.session.connection()
    statement = _upsert(connection.dialect.name)
    try:
        for item, scope, key in deferred:
            ((count, reset_at),) = statement.rows(connection, _hit(key, item.get_expiry()))
            _spent(item, scope, count, reset_at)
    except TooManyRequests:
        db.session.rollback()
        raise


def _committed(session: Session) -> None:
    """The hits counted in this transaction are kept: a commit stores them.

    They live in `session.info`, not `g`: every request's session ends this way, reads included,
    and a plain dict costs none of the proxies' calls (`has_request_context`, `g`)."""
    session.info.pop(_IN_TRANSACTION, None)


def _rolled_back(session: Session) -> None:
    if lost := session.info.pop(_IN_TRANSACTION, None):
        g.get(_DEFERRED, []).extend(lost)


def _add_limit_headers(response: Response) -> Response:
    """The headers of the tightest limit spent; first counting what a `counted_with_the_write`
    view never reached its write with (it answers as it was going to: the check came too late)."""
    for item, scope, key in g.pop(_DEFERRED, ()):
        _spent(item, scope, *_counted(item, key), refuse=False)
    if (spent := g.get("rate_limit")) is not None:
        for name, value in zip(LIMIT_HEADERS, spent, strict=True):
            response.headers[name] = str(value)
    return response


def count_password_attempt(account: str) -> PasswordAttempt:
    """Spend one of the account's password attempts (`ACCOUNT_PASSWORD_RATE_LIMIT`), or stop with 429.

    Counted before the password is checked, so that concurrent guesses cannot all slip in
    under the limit. Keyed by the name as typed (case-insensitively), whether or not such an
    account exists, and answered before any lookup or hashing: a spent unknown name is told
    exactly what a spent real one is, just as fast.
    """
    if not limiter.enabled:
        return PasswordAttempt()
    item = _parsed_limit(current_app.config["ACCOUNT_PASSWORD_RATE_LIMIT"])
    identifiers = _password_identifiers(account)
    if not limiter.limiter.hit(item, *identifiers):
        reset_at = limiter.limiter.get_window_stats(item, *identifiers).reset_time
        raise _too_many(item, "wrong passwords per account", reset_at)
    return PasswordAttempt(item, identifiers)


def purge_expired_counters() -> int:
    """Drop the database store's expired counters (a job: `invoke app.jobs`)."""
    purged = rows_changed(delete(RateLimitCounter).where(RateLimitCounter.expires_at <= time.time()))
    db.session.commit()
    return purged


def _counters_engine(engine: Engine, app: Flask) -> Engine:
    """A pool of its own for the counters: a request already holding one of the application's
    connections must never wait for a second one to be counted (with every pooled connection
    busy, it would wait for itself). An in-memory SQLite database exists once: it is shared."""
    if engine.url.get_backend_name() == "sqlite" and engine.url.database in (None, "", ":memory:"):
        return engine
    return create_engine(
        engine.url,
        pool_size=COUNTERS_POOL_SIZE,
        max_overflow=COUNTERS_MAX_OVERFLOW,
        pool_timeout=app.config["DB_POOL_TIMEOUT"],
    )


LIMIT_SETTINGS = (
    "TOKEN_RATE_LIMIT",
    "SIGNUP_RATE_LIMIT",
    "ACCOUNT_PASSWORD_RATE_LIMIT",
    "GENERAL_POST_RATE_LIMIT",
    "USER_WRITE_RATE_LIMIT",
)
# What `spend` puts on the answer: the limit, what is left of it, when it resets (epoch seconds).
LIMIT_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


def init_app(app: Flask) -> None:
    # A mistyped limit from the environment stops the start, rather than failing each request.
    for name in LIMIT_SETTINGS:
        try:
            _parsed_limit(app.config[name])
        except ValueError as error:
            raise RuntimeError(f"{name}: {error} (write it as 10/hour, 10/15 minutes)") from error
    # Flask-Limiter merges each app's RATELIMIT_STORAGE_OPTIONS into its own, and `limiter` is one
    # for the process: an app made after one on the database store would hand Redis its `engine`.
    limiter._storage_options = {}
    if app.config["RATELIMIT_STORAGE_URI"] == DATABASE_STORAGE_URI:
        with app.app_context():
            app.config["RATELIMIT_STORAGE_OPTIONS"] = {"engine": _counters_engine(db.engine, app)}
        jobs.register(app, "ratelimit.purge_expired", purge_expired_counters)
    limiter.init_app(app)
    _check_limited_views_only(app)
    app.after_request(_add_limit_headers)
    on_every_session("after_commit", _committed)
    on_every_session("after_rollback", _rolled_back)


def _limited_endpoints(app: Flask) -> frozenset[str]:
    """The endpoints whose view, or one of whose methods, a Flask-Limiter limit decorates."""
    endpoints, found = set(), set()
    for endpoint, view in app.view_functions.items():
        view_class = getattr(view, "view_class", None)
        handlers = (
            [getattr(view_class, method.lower()) for method in view_class.methods] if view_class else [view]
        )
        if names := {_view_name(handler) for handler in handlers} & _LIMITED_VIEWS:
            endpoints.add(endpoint)
            found |= names
    if missing := _LIMITED_VIEWS - found:  # a limit nobody would check is a limit lost
        raise RuntimeError(f"rate-limited views without a route: {sorted(missing)}")
    return frozenset(endpoints)


def _check_limited_views_only(app: Flask) -> None:
    """Run Flask-Limiter's request hooks for the POSTs of the views its limits decorate only.

    Every other request is exempt (`_not_counted`), but the before-request check found that out
    on each one only after identifying its endpoint and view (116 calls of a `GET /users/me`'s
    2,290), and the after-request and teardown hooks looked up the limiter's request context to
    find it empty. A POST to any other view (a message, the hottest write) had its limits
    resolved, none found, on every request: a tenth of a send's calls. The endpoints are known
    once the app has its routes, at its first request.
    """
    if not limiter.enabled:
        return
    check: Callable[[], None] = limiter._check_request_limit
    release: Callable[[BaseException | None], None] = limiter._Limiter__release_context  # type: ignore[attr-defined]
    after: list[Any] = app.after_request_funcs[None]
    inject_headers: Callable[[Response], Response] = next(
        hook
        for hook in after
        if getattr(hook, "func", None) is Limiter._Limiter__inject_headers  # type: ignore[attr-defined]
    )

    @cache  # once the app has its routes: at its first POST
    def limited_endpoints() -> frozenset[str]:
        return _limited_endpoints(app)

    def limited_view() -> bool:
        return request.endpoint in limited_endpoints()

    def check_counted() -> None:
        if request.method in LIMITED_METHODS and limited_view():
            check()

    def inject_counted_headers(response: Response) -> Response:
        return inject_headers(response) if request.method in LIMITED_METHODS and limited_view() else response

    def release_counted(error: BaseException | None = None) -> None:
        if request.method in LIMITED_METHODS and limited_view():
            release(error)

    before: list[Any] = app.before_request_funcs[None]
    teardown: list[Any] = app.teardown_request_funcs[None]
    before[before.index(check)] = check_counted
    after[after.index(inject_headers)] = inject_counted_headers
    teardown[teardown.index(release)] = release_counted
