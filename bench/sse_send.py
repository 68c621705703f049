"""The event-stream benchmark's sender: messages at a steady rate, each stamped with its send time.

A process of its own, so that its stamps are not delayed by the receivers' event loop.
Each body carries `time.monotonic()` taken just before the POST: CLOCK_MONOTONIC is one
clock for the whole machine, so a receiver in another process subtracts it directly.
Every POST opens a new connection, as separate clients would, so with several gunicorn
workers the messages land on whichever worker accepts. One JSON line per message on stdout.

    python -m bench.sse_send --port 8000 --token … --room 3 --messages 100 --rate 10 --tag 1a2b
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from bench.http import call

PREFIX = "sse-bench"


def body(tag: str, seq: int, sent: float) -> str:
    return f"{PREFIX} {tag} {seq} {sent:.6f}"


def parse_body(text: str, tag: str) -> tuple[int, float] | None:
    """(seq, send time) of one of this run's messages, None for anything else."""
    parts = text.split(" ")
    if len(parts) != 4 or parts[0] != PREFIX or parts[1] != tag:
        return None
    return int(parts[2]), float(parts[3])


def send(port: int, token: str, room: int, messages: int, rate: float, tag: str) -> None:
    """Open loop: message i goes at start + i / rate, however long the previous answer took."""
    path = f"/api/v1/rooms/{room}/messages"
    start = time.monotonic() + 0.05
    for seq in range(messages):
        delay = start + seq / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        sent = time.monotonic()
        try:
            status, answer = call(port, "POST", path, json_body={"body": body(tag, seq, sent)}, token=token)
        except OSError as error:
            status, answer = 0, str(error)
        done = time.monotonic()
        record = {"seq": seq, "sent": sent, "done": done, "status": status}
        if status == 201:
            record["id"] = answer["id"]
        else:
            record["error"] = str(answer)[:300]
        print(json.dumps(record), flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--room", type=int, required=True)
    parser.add_argument("--messages", type=int, required=True)
    parser.add_argument("--rate", type=float, required=True, help="messages per second")
    parser.add_argument("--tag", required=True)
    args = parser.parse_args(argv)
    send(args.port, args.token, args.room, args.messages, args.rate, args.tag)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
