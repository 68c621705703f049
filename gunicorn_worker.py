"""gunicorn's gevent worker, plus: on SIGTERM, end the event streams so the worker can drain;
each response's head goes out with its first body bytes; and an event stream may be written to
from outside its own greenlet (`environ["parley.body"]`, see `HeadWithFirstBytes.write_nowait`).

Streams never finish on their own; without this a graceful shutdown would wait out
`graceful_timeout` and then cut them. Clients reconnect (to another worker) with
`Last-Event-ID` and miss nothing. Kept outside `app/`: the master imports the worker
class before any worker has patched the standard library, so it must not import the app.
"""

from __future__ import annotations

from socket import socket
from types import FrameType
from typing import Any

import gevent
from gunicorn.http import wsgi
from gunicorn.workers.ggevent import GeventWorker

_create = wsgi.create


class StreamingGeventWorker(GeventWorker):
    def init_process(self) -> None:
        """`wsgi.create`, which every request goes through, makes its responses of the class it names."""
        wsgi.Response = HeadWithFirstBytes
        wsgi.create = _create_with_body
        super().init_process()

    def handle_request(self, listener_name: Any, req: Any, sock: socket, addr: Any) -> None:
        """Serve one request; if it never waited, let the worker's other connections have their turn.

        gunicorn reads a keep-alive connection's next request as soon as it has answered one. When
        that request is already there (a busy client's, or nginx's upstream connection under load)
        nothing waits, so a greenlet whose requests never wait either (SQLite's queries block the
        worker rather than yield) was served again and again while the worker's other connections
        sat unread. A client pipelining requests had the worker to itself; under 64 closed-loop
        clients the bare Flask app's slowest 1 % waited 0.3 s and more (one 5.7 s) for a 0.5 ms
        answer. `sleep(0)` queues this greenlet behind the others that are ready, and gevent looks
        for newly arrived requests at least every 5 ms (its switch interval). A request that waited
        (PostgreSQL's queries, Redis) has let the loop poll already: there the yield only cost
        sends (docs/benchmarks.md, "Fair turns").
        """
        loop = gevent.get_hub().loop
        polled = loop.iteration
        super().handle_request(listener_name, req, sock, addr)
        if loop.iteration == polled:
            gevent.sleep(0)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        gevent.spawn(_close_streams)  # out of the signal handler: it takes locks


def _close_streams() -> None:
    from app.modules.events.hub import close_all

    close_all()


def _create_with_body(
    req: Any, sock: socket, client: Any, server: Any, cfg: Any, *args: Any, **kwargs: Any
) -> tuple[HeadWithFirstBytes, dict[str, Any]]:
    """gunicorn's response and environ, the response also in the environ: the app may write to it.

    Not over TLS: a TLS write the socket would not take must be retried with the same bytes.
    """
    response, environ = _create(req, sock, client, server, cfg, *args, **kwargs)
    if not cfg.is_ssl:
        environ["parley.body"] = response
    return response, environ


class HeadWithFirstBytes(wsgi.Response):
    """gunicorn's response, whose head waits for the first body bytes to leave in the same send.

    gunicorn sends the head, then each chunk: two sends (and two TCP segments) where one does,
    for every JSON answer and for every event stream's head and `retry:` frame. A head with no
    body bytes after it (or one sent by `sendfile` or `close`) still leaves on its own.
    """

    headers_sent: bool  # gunicorn's Response sets it
    held: bytes | None = None  # the head, while `write` holds it for the body bytes it was given
    backlog = b""  # framed body bytes `write_nowait` could not send at once: they leave first

    def write_nowait(self, data: bytes) -> bool:
        """Send body bytes now, from any greenlet, without waiting for the socket: False when none were sent.

        An event stream's frame goes out from the hub's loop, without waking the stream's greenlet
        and its generators for each frame. Only once the head is out and nothing is waiting to be
        sent; the caller keeps the order (none of its own writes is under way). What the socket
        does not take now is kept and goes out first with the next `write` (or at `close`).
        """
        if not self.headers_sent or self.backlog or not data:
            return False
        framed = b"%X\r\n%b\r\n" % (len(data), data) if self.chunked else data
        try:
            sent = self.sock.send(framed, 0, 0.0)  # gevent's socket: a timeout of 0 never waits
        except BlockingIOError:
            return False
        self.sent += len(data)
        self.backlog = framed[sent:]
        return True

    def close(self) -> None:
        if self.backlog:
            _send(self.sock, self.backlog)
            self.backlog = b""
        super().close()

    def write(self, arg: bytes) -> None:
        if self.headers_sent:
            super().write(arg)
            return
        self.held = b""
        try:
            super().write(arg)
        finally:
            head, self.held = self.held, None
            if head:  # no body bytes went with it
                _send(self.sock, head)

    def send_headers(self) -> None:
        if self.held is None or self.headers_sent:
            super().send_headers()
            return
        lines = [*self.default_headers(), *(f"{name}: {value}\r\n" for name, value in self.headers)]
        self.held = f"{''.join(lines)}\r\n".encode("latin-1")
        self.headers_sent = True

    def _emit_body(self, data: bytes) -> None:
        framed = b"%X\r\n%b\r\n" % (len(data), data) if self.chunked else data
        if self.held:
            framed, self.held = self.held + framed, b""
        if self.backlog:
            framed, self.backlog = self.backlog + framed, b""
        _send(self.sock, framed)


def _send(sock: socket, data: bytes) -> None:
    """`sendall`, with one `send` when that takes it all (gevent's `sendall` asks the buffer size first)."""
    sent = sock.send(data)
    if sent < len(data):
        sock.sendall(data[sent:])
