"""gunicorn settings for Parley: `gunicorn -c gunicorn.conf.py` (also what the Docker image runs).

gevent workers, so that long-lived event streams do not hold a worker each
(`gunicorn_worker.py`: the stock one, ending streams on SIGTERM).
The master migrates and seeds the database once, before any worker starts.
"""

import gc
import math
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path


def available_cpus() -> int:
    """CPUs this process may use: a container's CPU quota (cgroup v2), else its affinity mask."""
    try:
        with open("/sys/fs/cgroup/cpu.max") as f:
            quota, period = f.read().split()
        if quota != "max":
            return max(1, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError):
        pass
    return len(os.sched_getaffinity(0))


wsgi_app = "wsgi:app"
bind = f"{os.environ.get('PARLEY_HOST', '127.0.0.1')}:{os.environ.get('PARLEY_PORT', '8000')}"


def default_workers() -> int:
    """One gevent worker per CPU on SQLite, 2 x CPUs + 1 on PostgreSQL (docs/benchmarks.md, "Workers").

    On SQLite the workers run the queries themselves, so more processes than CPUs only take turns
    on them: on two CPUs five cost each request 20-60 % more CPU than two, and served a third
    fewer reads. On PostgreSQL a request holds its pooled connection while it waits on the network,
    and each worker has a pool of its own (DB_POOL_SIZE + DB_MAX_OVERFLOW): under 64 clients two
    workers' 30 connections ran out and some requests got 503 after the pool's wait, where five
    workers' 75 did not, for about the same throughput.
    """
    on_sqlite = os.environ.get("DATABASE_URL", "sqlite").startswith("sqlite")
    return available_cpus() if on_sqlite else available_cpus() * 2 + 1


workers = int(os.environ.get("WEB_CONCURRENCY", default_workers()))
worker_class = "gunicorn_worker.StreamingGeventWorker"
# Streams plus the requests beside them, per worker; each idle stream costs ~21 KB. Each is an
# open file too: see open_files below. By default an instance holds 10,000, at least 2,000 a worker.
worker_connections = int(os.environ.get("PARLEY_WORKER_CONNECTIONS", max(2000, math.ceil(10_000 / workers))))
# SIGTERM: stop accepting, let in-flight requests finish, close streams within this many seconds.
graceful_timeout = 20
timeout = 60
keepalive = 5
# No gunicorn access log: the application logs each request with its request id.
control_socket_disable = True


def on_starting(server: object) -> None:
    """Bring the database to the current schema once, before any worker starts.

    In a child process: importing the app (and psycopg) in the master, before the
    gevent workers patch the standard library, would leave every worker's database
    calls blocking its whole event loop.
    """
    open_files()
    subprocess.run([sys.executable, "-m", "app.provisioning"], check=True)
    share_metrics()


def open_files() -> None:
    """Lift the soft limit on open files to the hard one; the workers inherit it.

    Every open stream is a socket: with a shell's or a service manager's usual soft limit of
    1,024 a worker would refuse connections (EMFILE) long before `worker_connections`, while the
    hard limit (systemd's 524,288, a container's 1,048,576) is there to be taken.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard and hard != resource.RLIM_INFINITY:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


made_metrics_dir: list[str] = []  # the temporary one share_metrics made, if any


def share_metrics() -> None:
    """With /metrics on, one directory where every worker keeps its counts, for any worker's scrape.

    prometheus_client's multiprocess mode reads PROMETHEUS_MULTIPROC_DIR when a worker imports
    it, so the master sets it before forking. An operator's directory is emptied (counts from a
    previous run would be added to this one's); else a temporary one is made, and removed on exit.
    """
    if not os.environ.get("PARLEY_METRICS_TOKEN"):
        return
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given:
        for stale in Path(given).glob("*.db"):
            stale.unlink()
    else:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="parley-metrics-")
        made_metrics_dir.append(os.environ["PROMETHEUS_MULTIPROC_DIR"])


def child_exit(server: object, worker: object) -> None:
    """A dead worker's open-stream gauge must not count any more (the gauge sums live workers only)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]


def on_exit(server: object) -> None:
    for directory in made_metrics_dir:
        shutil.rmtree(directory, ignore_errors=True)


def post_fork(server: object, worker: object) -> None:
    """Until a worker installs its own handlers it has the master's, which would swallow SIGTERM."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def post_worker_init(worker: object) -> None:
    """Fewer full garbage collections: with a thousand open streams each one pauses a worker ~150 ms.

    The app's own objects (modules, metadata, schemas) live as long as the worker: frozen,
    collections skip them. Full collections then come 10 times less often (the default is
    every 10th middle-generation collection); young cycles are collected as usual.
    Measured with bench/sse.py (docs/benchmarks.md).
    """
    gc.freeze()
    gc.set_threshold(700, 10, 100)
