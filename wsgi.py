"""WSGI entry point for gunicorn: `gunicorn wsgi:app` (configuration from the environment)."""

import os

from app import create_app

app = create_app(os.environ.get("PARLEY_CONFIG", "production"))
