"""The event-stream benchmark's sender: messages at a steady rate, each stamped with its send time.

A process of its own, so that its stamps are not delayed by the receivers' event loop.
Each body carries `time.monotonic()` taken just before the POST: CLOCK_MONOTONIC is one
clock for the whole machine, so a receiver in another process subtracts it directly.
Every POST opens a new connection, as separate clients would, so with several gunicorn
workers the messages land on whichever worker accepts. Message i goes to the i-th room of
`--rooms`, round robin. One JSON line per message on stdout.

    python -m bench.sse_send --port 8000 --token … --rooms 3,4 --messages 100 --rate 10 --tag 1a2b
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from bench.http import call

PREFIX = "sse-bench"


def body(tag: str, seq: int, sent: float) -> str:
    return f"{PREFIX} {tag} {seq} {sent:.6f}"


def parse_body(data: bytes, tag: str) -> tuple[int, float] | None:
    """(seq, send time) of one of this run's messages in an event's JSON data, None for anything else.

    A byte search rather than a JSON parse: the receiving process reads every frame of every
    stream (10,000 per message with 10,000 streams in a room) on one core it shares with the server.
    """
    marker = f'"body":"{PREFIX} {tag} '.encode()
    start = data.find(marker)
    if start < 0:
        return None
    start += len(marker)
    seq, sent = data[start : data.index(b'"', start)].split(b" ")
    return int(seq), float(sent)


def send(port: int, token: str, rooms: list[int], messages: int, rate: float, tag: str) -> None:
    """Open loop: message i goes at start + i / rate, however long the previous answer took."""
    paths = [f"/api/v1/rooms/{room}/messages" for room in rooms]
    start = time.monotonic() + 0.05
    for seq in range(messages):
        delay = start + seq / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        path = paths[seq % len(paths)]
        sent = time.monotonic()
        try:
            status, answer = call(port, "POST", path, json_body={"body": body(tag, seq, sent)}, token=token)
        except OSError as error:
            status, answer = 0, str(error)
        done = time.monotonic()
        record: dict[str, Any] = {"seq": seq, "sent": sent, "done": done, "status": status}
        if status == 201:
            record["id"] = answer["id"]
        else:
            record["error"] = str(answer)[:300]
        print(json.dumps(record), flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--rooms", required=True, help="room ids, comma-separated")
    parser.add_argument("--messages", type=int, required=True)
    parser.add_argument("--rate", type=float, required=True, help="messages per second")
    parser.add_argument("--tag", required=True)
    args = parser.parse_args(argv)
    send(args.port, args.token, [int(r) for r in args.rooms.split(",")], args.messages, args.rate, args.tag)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
