# Parley's container image: gunicorn with gevent workers on Python 3.11.
#
#   docker build -t parley .                    (or: .venv/bin/invoke docker.build)
#   docker run -p 8000:8000 parley              a working server on SQLite, nothing else needed
#   docker run -p 8000:8000 -v parley-data:/data parley    ... keeping its data in a named volume
#
# Everything the server writes lives in the /data volume: the SQLite database, uploads, and
# the SECRET_KEY that docker-entrypoint.sh generates on first start when none is given.
#
# Shared deployment: several containers behind a load balancer, each given
#   -e DATABASE_URL=postgresql+psycopg://... -e REDIS_URL=redis://... -e SECRET_KEY=...
# and every instance MUST be given the SAME SECRET_KEY: tokens are stored as HMACs keyed by
# it, so a per-container generated key would reject the tokens the other instances issued.
# Behind a TLS-terminating proxy also set PARLEY_PROXY_HOPS (see config.py).
# PARLEY_PUBLIC_URL names the address clients use (OAuth2 issuer, invite links); the default
# fits `docker run -p 8000:8000` on your own machine: set it to your address anywhere else.
#
# Stopping: SIGTERM lets gunicorn finish in-flight requests within its graceful_timeout
# (20 s, gunicorn.conf.py), longer than docker stop's default 10 s: use `docker stop -t 25`
# (compose: stop_grace_period: 25s) for a clean shutdown.

# ---- build: a virtualenv with the pinned requirements ----
FROM python:3.11.17-slim-bookworm AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /build
COPY requirements.txt ./
# uv installs the pinned requirements in seconds where pip takes a minute. It has a virtualenv of
# its own, which stays in this stage: the runtime copies /opt/venv alone.
RUN python -m venv /opt/uv \
    && /opt/uv/bin/pip install --no-cache-dir uv==0.13.9 \
    && python -m venv /opt/venv \
    && /opt/uv/bin/uv pip install --no-cache --compile-bytecode --python /opt/venv/bin/python -r requirements.txt

# ---- runtime: the virtualenv and the files the server runs, nothing else ----
FROM python:3.11.17-slim-bookworm AS runtime

# A system user (uid/gid 10001, numeric in USER below) without a home or shell. /data is its
# volume: a named volume starts as a copy of this directory, so this user can write it.
RUN groupadd --system --gid 10001 parley \
    && useradd --system --no-log-init --uid 10001 --gid parley \
        --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin parley \
    && install -d -o parley -g parley -m 0700 /data

COPY --from=build /opt/venv /opt/venv

# Application files stay owned by root: the server can read them, not change them.
WORKDIR /app
COPY app/ ./app/
COPY migrations/ ./migrations/
COPY config.py wsgi.py gunicorn.conf.py gunicorn_worker.py ./
COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PARLEY_CONFIG=production \
    PARLEY_HOST=0.0.0.0 \
    PARLEY_PORT=8000 \
    PARLEY_PUBLIC_URL=http://localhost:8000 \
    PARLEY_DATA_DIR=/data \
    PARLEY_UPLOAD_DIR=/data/uploads \
    DATABASE_URL=sqlite:////data/parley.db

USER 10001:10001
VOLUME /data
EXPOSE 8000

# No curl in the slim image: Python's urllib asks /healthz; any error or non-2xx exits 1.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PARLEY_PORT', '8000'), timeout=4)"]

# Run through sh so the script needs no executable bit (checkouts that lose it still build).
ENTRYPOINT ["/bin/sh", "/usr/local/bin/docker-entrypoint.sh"]
CMD ["gunicorn", "-c", "gunicorn.conf.py"]
