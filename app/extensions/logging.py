"""Request ids: one per request, on every log line and in the `X-Request-ID` header."""

from __future__ import annotations

import logging
import os
import random
import re
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from flask import Flask, has_request_context, request

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_ENVIRON = "HTTP_X_REQUEST_ID"
REQUEST_ID_ENVIRON = "parley.request_id"  # the id chosen, for log lines within the request
STARTED_ENVIRON = "parley.request_started"
ACCESS = "%s %s %s %.1fms"  # the access line: method, path, status, milliseconds
_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_access_log = logging.getLogger("parley.access")


class RequestIdFilter(logging.Filter):
    """The request's id on every record; a record that carries its own (the access line) keeps it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "request_id" not in record.__dict__:
            record.request_id = request.environ.get(REQUEST_ID_ENVIRON, "-") if has_request_context() else "-"
        return True


class LineFormatter(logging.Formatter):
    """logging's Formatter, its time of day formatted once a second rather than on every line.

    Every request logs its access line: `localtime` and `strftime` on each were a third of
    formatting it. The text is the Formatter's own (`default_time_format`, then the milliseconds).
    """

    def __init__(self, fmt: str) -> None:
        super().__init__(fmt)
        self._second: tuple[int, str] = (-1, "")  # one tuple, replaced whole: threads read it safely

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        if datefmt is not None:
            return super().formatTime(record, datefmt)
        second, stamp = self._second
        if int(record.created) != second:
            second = int(record.created)
            stamp = time.strftime(self.default_time_format, self.converter(record.created))
            self._second = (second, stamp)
        return f"{stamp},{int(record.msecs):03d}"  # the default_msec_format, "%s,%03d"


def init_app(app: Flask) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(LineFormatter("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers if not getattr(h, "_parley", False)]
    handler._parley = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(app.config["LOG_LEVEL"])
    # Our access line below carries the request id; the dev server's own line cannot.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app.logger.handlers.clear()
    app.logger.propagate = True

    app.wsgi_app = RequestLog(app.wsgi_app)  # type: ignore[method-assign]


class RequestLog:
    """WSGI middleware: each request's id, on its answer and its log lines, and its access line.

    Kept from a well-formed `X-Request-ID` of an upstream proxy, so logs join up; made otherwise
    (32 random hex digits, as a UUID's: building the UUID object cost more than its randomness).
    An id names a request in the logs and guards nothing: `random`'s generator (reseeded in each
    forked worker) makes one without a system call per request, as `secrets` needed.

    Around the app rather than in its request hooks: the id is one more pair on the header list
    and the access line reads the request Werkzeug already parsed, where two hooks, the header
    added to the response's `Headers` and the request proxy's lookups cost a tenth of `/users/me`.
    The line is formatted only when INFO is logged.
    """

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        incoming = environ.get(_REQUEST_ID_ENVIRON, "")
        request_id = incoming if _VALID_ID.match(incoming) else f"{random.getrandbits(128):032x}"
        environ[REQUEST_ID_ENVIRON] = request_id
        environ[STARTED_ENVIRON] = started = time.perf_counter()
        answered: list[tuple[str, str, str]] = []  # method, path, status

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            headers.append((REQUEST_ID_HEADER, request_id))
            request = environ.get("werkzeug.request")  # the app's, while it answers (Flask drops it after)
            if request is not None:
                answered.append((request.method, request.path, status.partition(" ")[0]))
            return start_response(status, headers, exc_info)

        body = self.app(environ, start)
        if answered and _access_log.isEnabledFor(logging.INFO):
            args = (*answered[-1], (time.perf_counter() - started) * 1000)
            _access_log.handle(access_record(args, request_id))
        return body


def access_record(args: tuple[Any, ...], request_id: str) -> logging.LogRecord:
    """The access line's record: what `makeRecord` makes, its time and thread its own, the rest copied.

    `logger.info` walks up the stack for the caller's file and line, which no line shows; and
    `LogRecord.__init__` works out the file and module from the path and the process's name on
    every record, the same on every access line of a process: with these, a third of the line's
    cost. So the first line of each process (gunicorn forks its workers) keeps the fields of its
    record, and later ones copy them. A record factory of the operator's own makes every record.
    """
    if logging.getLogRecordFactory() is not logging.LogRecord:
        record = _made_record(args)
    else:
        fields, started = _ACCESS_FIELDS.get(os.getpid()) or _process_access_fields()
        record = logging.LogRecord.__new__(logging.LogRecord)
        record.__dict__.update(fields)
        record.args = args
        record.created = now = time.time()
        record.msecs = int((now - int(now)) * 1000) + 0.0  # as `LogRecord.__init__` computes both
        record.relativeCreated = (now - started) * 1000
        record.thread = threading.get_ident()
        record.threadName = threading.current_thread().name
    record.request_id = request_id  # known here: the filter need not look it up
    return record


# By process: the fields its access lines share, and logging's start time (`relativeCreated`'s origin).
_ACCESS_FIELDS: dict[int, tuple[dict[str, Any], float]] = {}


def _made_record(args: tuple[Any, ...]) -> logging.LogRecord:
    return _access_log.makeRecord(_access_log.name, logging.INFO, __file__, 0, ACCESS, args, None)


def _process_access_fields() -> tuple[dict[str, Any], float]:
    record = _made_record(())
    shared = _ACCESS_FIELDS[os.getpid()] = (vars(record), record.created - record.relativeCreated / 1000)
    return shared


def request_started() -> float | None:
    """When the request being served reached the app (`time.perf_counter`)."""
    return request.environ.get(STARTED_ENVIRON)
