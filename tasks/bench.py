"""Benchmarks (bench/): performance is measured here, against a bare Flask app, never in timed tests."""

from invoke import Context, task


@task(
    help={
        "duration": "seconds per scenario (default 6)",
        "warmup": "seconds of warm-up before each scenario (default 2)",
        "connections": "open connections (default 64)",
        "threads": "wrk threads, or Python client processes (default 2)",
        "workers": "gunicorn workers (default: gunicorn.conf.py's for the database)",
        "database": "`sqlite` (a fresh file, the default) or a throwaway PostgreSQL URL",
        "redis_url": "Redis for rate limits and events (default: none)",
        "extra_users": "users added for the table-size check (default 10000; 0 skips it)",
        "listeners": "open event streams in the fan-out scenario (default 100; 0 skips it)",
        "postgres": "then run it all again on this throwaway PostgreSQL database",
        "redis": "Redis for the --postgres run (rate limits and events)",
        "tool": "auto (wrk if installed), wrk or python",
        "write": "also rewrite the results in docs/benchmarks.md",
    }
)
def bench(
    c: Context,
    duration: int = 6,
    warmup: int = 2,
    connections: int = 64,
    threads: int = 2,
    workers: int = 0,
    database: str = "sqlite",
    redis_url: str = "",
    extra_users: int = 10_000,
    listeners: int = 100,
    postgres: str = "",
    redis: str = "",
    tool: str = "auto",
    write: bool = False,
) -> None:
    """Parley's hot paths against bare Flask's read and write ceilings; Markdown report (bench/README.md)."""
    from bench.http import main

    argv = [
        *("--duration", str(duration), "--warmup", str(warmup)),
        *("--connections", str(connections), "--threads", str(threads)),
        *("--database", database, "--extra-users", str(extra_users), "--tool", tool),
        *("--listeners", str(listeners)),
        *(("--postgres", postgres) if postgres else ()),
        *(("--redis", redis) if redis else ()),
        *(("--workers", str(workers)) if workers else ()),
        *(("--redis-url", redis_url) if redis_url else ()),
        *(("--write",) if write else ()),
    ]
    main(argv)


@task(
    help={
        "streams": "open SSE streams (default 1000)",
        "messages": "messages sent (default 100)",
        "rate": "messages per second (default 10)",
        "mode": "local (1 worker, in-process broker), redis (2 workers and Redis) or both",
        "runs": "runs of each mode (default 1)",
        "json": "also write every figure to this file",
    }
)
def bench_sse(
    c: Context,
    streams: int = 1000,
    messages: int = 100,
    rate: float = 10.0,
    mode: str = "both",
    runs: int = 1,
    json: str = "",
) -> None:
    """Event-stream benchmark: delivery latency and lost events with many SSE streams (bench/sse.py)."""
    from bench.sse import main

    argv = [
        *("--streams", str(streams), "--messages", str(messages), "--rate", str(rate)),
        *("--mode", mode, "--runs", str(runs)),
        *(("--json", json) if json else ()),
    ]
    main(argv)
