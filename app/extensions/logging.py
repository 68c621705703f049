"""Request ids: one per request, on every log line and in the `X-Request-ID` header."""

from __future__ import annotations

import logging
import re
import secrets
import time

from flask import Flask, Response, g, has_request_context, request

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_ENVIRON = "HTTP_X_REQUEST_ID"
ACCESS = "%s %s %s %.1fms"  # the access line: method, path, status, milliseconds
_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = g.get("request_id", "-") if has_request_context() else "-"
        return True


def init_app(app: Flask) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s")
    )
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

        Read from the WSGI environ: a header lookup that misses raises and catches a KeyError.
        """
        incoming = request.environ.get(_REQUEST_ID_ENVIRON, "")
        g.request_id = incoming if _VALID_ID.match(incoming) else secrets.token_hex(16)
        g.request_started = time.perf_counter()

    @app.after_request
    def echo_request_id(response: Response) -> Response:
        """The id on the answer, and the access line (formatted only when INFO is logged)."""
        response.headers.add(REQUEST_ID_HEADER, g.get("request_id", "-"))
        if access_log.isEnabledFor(logging.INFO):
            elapsed_ms = (time.perf_counter() - g.get("request_started", time.perf_counter())) * 1000
            args = (request.method, request.path, response.status_code, elapsed_ms)
            # `info` less its walk up the stack for the caller's file and line, which no line shows.
            record = access_log.makeRecord(access_log.name, logging.INFO, __file__, 0, ACCESS, args, None)
            access_log.handle(record)
        return response
