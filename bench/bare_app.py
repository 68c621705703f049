"""The baseline: a bare Flask app with one small JSON endpoint and no extensions.

Served by the same gunicorn settings as Parley (`gunicorn -c gunicorn.conf.py bench.bare_app:app`),
so that Parley's numbers divided by this one's show what Parley adds, whatever the machine.
"""

from __future__ import annotations

from flask import Flask

app = Flask(__name__)


@app.get("/")
def status() -> dict[str, str]:
    """The same body as Parley's /healthz: the difference is Parley's own per-request work."""
    return {"status": "ok"}
