"""A closed-loop HTTP/1.1 load client on asyncio, for machines without wrk.

Each connection sends a request, reads the whole answer and sends the next on the same
keep-alive connection, as wrk does. One process holds one event loop, and the GIL caps it at a
few thousand requests per second, so bench/http.py starts one process per wrk "thread".
Every run stops by itself: at its deadline or after `--max-requests`, whichever comes first.

    python -m bench.load --port 8000 --path /healthz --connections 32 --duration 10

Prints one JSON object: requests, errors by kind, elapsed seconds, and every latency in µs.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import sys
import time
from dataclasses import dataclass, field


@dataclass
class Target:
    host: str
    port: int
    request: bytes
    timeout: float


@dataclass
class Stats:
    """What every connection of this process adds to; one event loop, so no locking."""

    budget: int
    deadline: float
    latencies_us: list[int] = field(default_factory=list)
    errors: dict[str, int] = field(
        default_factory=lambda: {"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0}
    )

    def take(self) -> bool:
        """One more request, while both the time and the count bound allow it."""
        if self.budget <= 0 or time.monotonic() >= self.deadline:
            return False
        self.budget -= 1
        return True


def build_request(
    host: str, port: int, path: str, headers: list[str], method: str = "GET", body: str = ""
) -> bytes:
    """The same bytes for every request of the run; a body is sent as JSON."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Accept: application/json", *headers]
    payload = body.encode()
    if payload:
        lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one whole response; returns its status and whether the server closes the connection."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length: int | None = None
    chunked = close = False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value
        elif name == b"connection":
            close = value == b"close"
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)  # the chunk and its CRLF; the last one is empty
            if size == 0:
                break
    elif length is not None:
        await reader.readexactly(length)
    else:  # no length: the body ends with the connection
        await reader.read()
        close = True
    return status, close


async def connection_loop(target: Target, stats: Stats) -> None:
    """One client connection: request after request until the run's bounds are reached."""
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    while stats.take():
        stage = "connect"
        try:
            async with asyncio.timeout(target.timeout):
                if writer is None or reader is None:
                    reader, writer = await asyncio.open_connection(target.host, target.port)
                started = time.perf_counter()
                stage = "write"
                writer.write(target.request)
                stage = "read"
                status, close = await read_response(reader)
            stats.latencies_us.append(round((time.perf_counter() - started) * 1_000_000))
            if not 200 <= status < 400:
                stats.errors["status"] += 1
        except TimeoutError:
            stats.errors["timeout"] += 1
            close = True
        except (OSError, ValueError, IndexError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            stats.errors[stage] += 1
            close = True
        if close and writer is not None:
            writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


async def run(target: Target, connections: int, duration: float, max_requests: int) -> dict:
    stats = Stats(budget=max_requests, deadline=time.monotonic() + duration)
    started = time.monotonic()
    # A hard stop as well: a connection stuck past its request timeout cannot hold the run open.
    async with asyncio.timeout(duration + target.timeout + 5):
        await asyncio.gather(*(connection_loop(target, stats) for _ in range(connections)))
    return {
        "requests": len(stats.latencies_us),
        "errors": stats.errors,
        "elapsed": time.monotonic() - started,
        "latencies_us": stats.latencies_us,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="a loopback address (nothing else is allowed)")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default="/")
    parser.add_argument("--method", default="GET")
    parser.add_argument("--body", default="", help="a JSON body, sent with every request")
    parser.add_argument("--header", action="append", default=[], help="'Name: value', repeatable")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=float, default=10, help="seconds")
    parser.add_argument("--max-requests", type=int, default=2_000_000, help="stop after this many")
    parser.add_argument("--timeout", type=float, default=10, help="seconds per request")
    args = parser.parse_args(argv)
    if not ipaddress.ip_address(args.host).is_loopback:
        parser.error("benchmarks run on loopback only")
    if not 0 < args.duration <= 3600 or args.max_requests < 1 or args.connections < 1:
        parser.error("need 0 < duration <= 3600, max-requests >= 1, connections >= 1")
    request = build_request(args.host, args.port, args.path, args.header, args.method, args.body)
    target = Target(args.host, args.port, request, args.timeout)
    result = asyncio.run(run(target, args.connections, args.duration, args.max_requests))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
