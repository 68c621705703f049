"""Request ids: one per request, on every log line and in the `X-Request-ID` header."""

from __future__ import annotations

import logging
import random
import re
import time

from flask import Flask, Response, g, has_request_context, request

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_ENVIRON = "HTTP_X_REQUEST_ID"
ACCESS = "%s %s %s %.1fms"  # the access line: method, path, status, milliseconds
_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdFilter(logging.Filter):
    """The request's id on every record; a record that carries its own (the access line) keeps it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "request_id" not in record.__dict__:
            record.request_id = g.get("request_id", "-") if has_request_context() else "-"
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
    access_log = logging.getLogger("parley.access")
    app.logger.handlers.clear()
    app.logger.propagate = True

    @app.before_request
    def assign_request_id() -> None:
        """Keep a well-formed id from an upstream proxy, so logs join up; make one otherwise
        (32 random hex digits, as a UUID's: building the UUID object cost more than its randomness).
        An id names a request in the logs and guards nothing: `random`'s generator (reseeded in
        each forked worker) makes one without a system call per request, as `secrets` needed.

        Read from the WSGI environ: a header lookup that misses raises and catches a KeyError.
        """
        incoming = request.environ.get(_REQUEST_ID_ENVIRON, "")
        g.request_id = incoming if _VALID_ID.match(incoming) else f"{random.getrandbits(128):032x}"
        g.request_started = time.perf_counter()

    @app.after_request
    def echo_request_id(response: Response) -> Response:
        """The id on the answer, and the access line (formatted only when INFO is logged)."""
        request_id = g.get("request_id", "-")
        response.headers.add(REQUEST_ID_HEADER, request_id)
        if access_log.isEnabledFor(logging.INFO):
            elapsed_ms = (time.perf_counter() - g.get("request_started", time.perf_counter())) * 1000
            args = (request.method, request.path, response.status_code, elapsed_ms)
            # `info` less its walk up the stack for the caller's file and line, which no line shows.
            record = access_log.makeRecord(access_log.name, logging.INFO, __file__, 0, ACCESS, args, None)
            record.request_id = request_id  # known here: the filter need not look it up again
            access_log.handle(record)
        return response
