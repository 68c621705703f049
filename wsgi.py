"""WSGI entry point for gunicorn: `gunicorn wsgi:app` (configuration from the environment).

Each worker imports it (after gevent has patched the standard library) and starts its
scheduler thread, a greenlet there (app/extensions/jobs.py).
"""

import os

from app import create_app
from app.extensions import jobs

app = create_app(os.environ.get("PARLEY_CONFIG", "production"))
jobs.start(app)
