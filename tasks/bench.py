"""Benchmarks (bench/): performance is measured here, against a bare Flask app, never in timed tests."""

from invoke import Context, task


@task(
    help={
        "duration": "seconds per scenario (default 10)",
        "warmup": "seconds of warm-up before each scenario (default 3)",
        "connections": "open connections (default 64)",
        "threads": "wrk threads, or Python client processes (default 2)",
        "workers": "gunicorn workers (default: gunicorn.conf.py's, 2 x CPUs + 1)",
        "database": "`sqlite` (a fresh file, the default) or a throwaway PostgreSQL URL",
        "redis_url": "Redis for rate limits and events (default: none)",
        "extra_users": "users added for the table-size check (default 10000; 0 skips it)",
        "tool": "auto (wrk if installed), wrk or python",
        "write": "also rewrite the results in docs/benchmarks.md",
    }
)
def bench(
    c: Context,
    duration: int = 10,
    warmup: int = 3,
    connections: int = 64,
    threads: int = 2,
    workers: int = 0,
    database: str = "sqlite",
    redis_url: str = "",
    extra_users: int = 10_000,
    tool: str = "auto",
    write: bool = False,
) -> None:
    """HTTP benchmark of Parley's hot paths on loopback; prints a Markdown report (bench/README.md)."""
    from bench.http import main

    argv = [
        *("--duration", str(duration), "--warmup", str(warmup)),
        *("--connections", str(connections), "--threads", str(threads)),
        *("--database", database, "--extra-users", str(extra_users), "--tool", tool),
        *(("--workers", str(workers)) if workers else ()),
        *(("--redis-url", redis_url) if redis_url else ()),
        *(("--write",) if write else ()),
    ]
    main(argv)
