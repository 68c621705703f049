"""gunicorn's gevent worker, plus: on SIGTERM, end the event streams so the worker can drain.

Streams never finish on their own; without this a graceful shutdown would wait out
`graceful_timeout` and then cut them. Clients reconnect (to another worker) with
`Last-Event-ID` and miss nothing. Kept outside `app/`: the master imports the worker
class before any worker has patched the standard library, so it must not import the app.
"""

from __future__ import annotations

from types import FrameType

import gevent
from gunicorn.workers.ggevent import GeventWorker


class StreamingGeventWorker(GeventWorker):
    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        gevent.spawn(_close_streams)  # out of the signal handler: it takes locks


def _close_streams() -> None:
    from app.modules.events.hub import close_all

    close_all()
