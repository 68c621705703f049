"""Child processes for tests that drive Parley (and its neighbours) as separate programs."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = "127.0.0.1"


@dataclass
class Service:
    name: str
    process: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def fail_if_exited(self) -> None:
        if self.process.poll() is not None:
            pytest.fail(f"{self.name} exited with {self.process.returncode}:\n{self.output()[-4000:]}")


@dataclass
class Processes:
    """Child processes, each in its own process group, all stopped (then killed) at teardown."""

    logs: Path
    started: list[Service] = field(default_factory=list)

    def start(
        self, name: str, argv: list[str], env: dict[str, str] | None = None, cwd: Path = ROOT
    ) -> Service:
        """`cwd`: the checkout whose code runs (bench/soak.py measures an older one too)."""
        log = self.logs / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                argv,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        service = Service(name, process, log)
        self.started.append(service)
        return service

    def stop(self, process: subprocess.Popen, grace: float = 25) -> None:
        """SIGTERM, then SIGKILL to the group after `grace` s: gunicorn drains for up to 20 s."""
        signal_group(process, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace)
        signal_group(process, signal.SIGKILL)  # stragglers: the group outlives its leader
        process.wait()
        self.started = [service for service in self.started if service.process is not process]

    def stop_all(self) -> None:
        for service in self.started:
            signal_group(service.process, signal.SIGTERM)
        deadline = time.monotonic() + 5
        for service in self.started:
            with contextlib.suppress(subprocess.TimeoutExpired):
                service.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        for service in self.started:  # stragglers: the group outlives its leader
            signal_group(service.process, signal.SIGKILL)
            service.process.wait()


def signal_group(process: subprocess.Popen, signum: int) -> None:
    """Signal the process and every child of its session (it was started in a group of its own)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)


def _ephemeral_floor() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


# Ports for test servers: just below the range the kernel draws outgoing connections' local ports
# from, so no client socket of this run (or of the CI pass running beside it) can take a port
# between the moment it is handed out and the moment its server binds it.
SERVER_PORTS = range(max(1024, _ephemeral_floor() - 12000), _ephemeral_floor())


def free_port() -> int:
    """A port nothing listens on now, picked at random so that concurrent runs rarely meet."""
    while True:
        port = random.choice(SERVER_PORTS)
        with socket.socket() as probe:
            try:
                probe.bind((LOOPBACK, port))
            except OSError:
                continue
            return port


def wait_until(ready: Callable[[], bool], service: Service, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        service.fail_if_exited()
        if ready():
            return
        time.sleep(0.1)
    pytest.fail(f"{service.name} not ready after {timeout} s:\n{service.output()[-4000:]}")
