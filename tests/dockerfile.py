"""A Dockerfile done without a Docker engine: read it, then do what it says in a temporary image root.

`parse_dockerfile` reads the stages; `in_build_context` answers as `.dockerignore` does;
`build_image` runs the build stage's RUN steps (image paths mapped into the root) and the runtime
stage's COPY steps; `Container` is the image's ENTRYPOINT and CMD running as `docker run` starts them.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from tests.processes import ROOT, free_port

# ---- reading the Dockerfile ----


@dataclass
class Instruction:
    keyword: str
    flags: dict[str, str]
    args: str

    def exec_form(self) -> list[str]:
        value = json.loads(self.args)
        assert isinstance(value, list), f"{self.keyword} is not in exec (JSON) form: {self.args}"
        return value


@dataclass
class Stage:
    base: str
    name: str
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> Instruction:
        found = self.all(keyword)
        assert found, f"stage {self.name} has no {keyword}"
        return found[-1]

    def env(self) -> dict[str, str]:
        values: dict[str, str] = {}
        for instruction in self.all("ENV"):
            for item in shlex.split(instruction.args):
                key, sep, value = item.partition("=")
                assert sep, f"ENV without '=' (legacy form): {instruction.args}"
                values[key] = value
        return values


def _logical_lines(text: str) -> Iterator[str]:
    """Lines with their continuations joined; comments (also inside continuations) dropped."""
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        yield current + line
        current = ""
    assert not current, "the Dockerfile ends inside a line continuation"


def parse_dockerfile(text: str) -> list[Stage]:
    stages: list[Stage] = []
    for line in _logical_lines(text):
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        flags = {}
        while match := re.match(r"--([\w-]+)=(\S+)\s+", rest):
            flags[match.group(1)] = match.group(2)
            rest = rest[match.end() :]
        if keyword == "FROM":
            base, *name = re.split(r"\s+as\s+", rest, flags=re.IGNORECASE)
            stages.append(Stage(base.strip(), name[0].strip() if name else str(len(stages))))
        else:
            assert stages, f"{keyword} before any FROM"
            stages[-1].instructions.append(Instruction(keyword, flags, rest.strip()))
    return stages


def copy_args(instruction: Instruction) -> tuple[list[str], str]:
    """A COPY's sources and destination."""
    parts = json.loads(instruction.args) if instruction.args.startswith("[") else instruction.args.split()
    return parts[:-1], parts[-1]


# ---- the build context (.dockerignore) ----


def _pattern(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern as a regex: `*` and `?` within a name, `**` across directories."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out, i = out + pattern[i : end + 1], end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + r"\Z")


def in_build_context(relative: str) -> bool:
    """Whether Docker sends this path: the last pattern matching it or a parent directory decides."""
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    patterns = [(line.startswith("!"), line.lstrip("!").strip().strip("/")) for line in lines]
    parts = relative.strip("/").split("/")
    included = True
    for negated, pattern in patterns:
        if not pattern or pattern.startswith("#"):
            continue
        regex = _pattern(pattern)
        if any(regex.match("/".join(parts[:n])) for n in range(1, len(parts) + 1)):
            included = negated
    return included


# ---- performing the Dockerfile's steps in a temporary image root ----

# Image paths the steps use, and where they live in the temporary image root.
IMAGE_PATHS = ("/opt/venv", "/opt/uv", "/usr/local/bin", "/build", "/app")
NETWORK_SETTINGS = r"PIP_|UV_|\w*_PROXY\Z|SSL_CERT_|REQUESTS_CA_BUNDLE\Z"


def map_paths(text: str, mapping: dict[str, Path]) -> str:
    for image_path, host_path in sorted(mapping.items(), key=lambda item: -len(item[0])):
        text = re.sub(rf"(?<![\w.-]){re.escape(image_path)}(?=/|:|\s|$)", str(host_path), text)
    return text


@dataclass
class Image:
    root: Path
    workdir: Path
    env: dict[str, str]
    argv: list[str]
    healthcheck: list[str]

    def path(self, image_path: str) -> Path:
        return self.root / image_path.lstrip("/")

    def container_env(self, data_dir: Path, port: int, **overrides: str) -> dict[str, str]:
        """What `docker run` gives the process: the image's ENV, /data and the port mapped."""
        mapping = {p: self.path(p) for p in IMAGE_PATHS} | {"/data": data_dir}
        base_path = f"{self.path('/usr/local/bin')}:/usr/sbin:/usr/bin:/sbin:/bin"
        env = {"HOME": "/nonexistent", "LANG": "C.UTF-8", "PATH": base_path}  # the user's, from useradd
        for key, value in self.env.items():
            env[key] = map_paths(value, mapping).replace("${PATH}", base_path).replace("$PATH", base_path)
        return env | {"PARLEY_PORT": str(port)} | overrides


def _copy(instruction: Instruction, root: Path, workdir: str) -> None:
    sources, dest = copy_args(instruction)
    target = root / dest.lstrip("/") if dest.startswith("/") else root / workdir.lstrip("/") / dest
    for source in sources:
        assert in_build_context(source), f"COPY {source}: left out of the build context by .dockerignore"
        origin = ROOT / source
        if origin.is_dir():
            for path in sorted(origin.rglob("*")):
                relative = path.relative_to(ROOT).as_posix()
                if path.is_file() and in_build_context(relative):
                    copied = target / path.relative_to(origin)
                    copied.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(path, copied)
        else:
            copied = target / origin.name if dest.endswith("/") or len(sources) > 1 else target
            copied.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, copied)


def perform(stage: Stage, root: Path, env: dict[str, str] | None) -> str:
    """Do a stage's WORKDIR and COPY steps in `root`, and its RUN steps if given an `env`."""
    workdir = "/"
    for instruction in stage.instructions:
        if instruction.keyword == "WORKDIR":
            workdir = instruction.args
            (root / workdir.lstrip("/")).mkdir(parents=True, exist_ok=True)
        elif instruction.keyword == "COPY" and "from" in instruction.flags:
            # The test builds every stage in one root, so a path copied between stages is there.
            sources, dest = copy_args(instruction)
            assert sources == [dest], "a COPY between stages keeps the path (a virtualenv cannot move)"
            assert (root / dest.lstrip("/")).exists(), f"COPY --from: {dest} was not built"
        elif instruction.keyword == "COPY":
            _copy(instruction, root, workdir)
        elif instruction.keyword == "RUN" and env is not None:
            mapping = {p: root / p.lstrip("/") for p in IMAGE_PATHS}
            command = map_paths(instruction.args, mapping)
            subprocess.run(
                ["/bin/sh", "-c", command],
                cwd=root / workdir.lstrip("/"),
                env=env | stage.env(),
                check=True,
                timeout=600,
            )
    return workdir


def build_image(root: Path, build_stage: Stage, runtime_stage: Stage) -> Image:
    """Build the image in `root`: the build stage's RUN steps (pip installs), the runtime's copies."""
    bin_dir = root / "usr" / "local" / "bin"
    bin_dir.mkdir(parents=True)
    # The base image's python, as the build stage's RUN steps find it on PATH.
    (bin_dir / "python").symlink_to(os.path.realpath(getattr(sys, "_base_executable", sys.executable)))
    build_env = {"HOME": str(root / "build-home"), "LANG": "C.UTF-8", "PATH": f"{bin_dir}:/usr/bin:/bin"}
    # This machine's way to the package index (proxies, certificates, pip's and uv's settings), as
    # `docker build` passes its proxy settings through.
    build_env |= {k: v for k, v in os.environ.items() if re.match(NETWORK_SETTINGS, k, re.IGNORECASE)}
    perform(build_stage, root, build_env)
    assert (root / "opt" / "venv" / "bin" / "gunicorn").exists(), "the build stage installed no gunicorn"
    workdir = perform(runtime_stage, root, None)  # its RUN steps create the user and /data: root's business
    healthcheck = runtime_stage.last("HEALTHCHECK").args
    assert healthcheck.startswith("CMD "), f"HEALTHCHECK is not a command: {healthcheck}"
    mapping = {p: root / p.lstrip("/") for p in IMAGE_PATHS}
    return Image(
        root=root,
        workdir=root / workdir.lstrip("/"),
        env=runtime_stage.env(),
        argv=[map_paths(arg, mapping) for arg in runtime_stage.last("ENTRYPOINT").exec_form()]
        + runtime_stage.last("CMD").exec_form(),
        healthcheck=json.loads(healthcheck.removeprefix("CMD ")),
    )


# ---- running it ----


def get(url: str) -> requests.Response:
    """A GET straight to loopback: no proxy from the environment, no connection kept."""
    with requests.Session() as session:
        session.trust_env = False
        return session.get(url, headers={"Connection": "close"}, timeout=2)


def child_pids(parent: int) -> list[int]:
    children = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            if int(stat_file.read_text().rsplit(")", 1)[1].split()[1]) == parent:
                children.append(int(stat_file.parent.name))
    return children


def has_own_signal_handlers(worker: int) -> bool:
    """Whether a gunicorn worker has replaced the signal handlers it inherited from the master.

    Until then (while it imports gevent and the app) a SIGTERM from the master is swallowed
    by the master's inherited handler, and the worker is only killed at graceful_timeout.
    Installing its own resets SIGHUP, which the master catches, to the default.
    """
    status = Path(f"/proc/{worker}/status").read_text()
    line = re.search(r"^SigCgt:\s*([0-9a-f]+)", status, re.MULTILINE)
    assert line is not None, status  # every /proc/PID/status has one
    caught = int(line.group(1), 16)
    return not caught & (1 << (signal.SIGHUP - 1))


@dataclass
class Container:
    process: subprocess.Popen
    env: dict[str, str]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.env['PARLEY_PORT']}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_until_ready(self, workers: int, timeout: float = 60) -> None:
        """/healthz answers and every worker has booted."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"the server exited with {self.process.returncode}:\n{self.output()}")
            with contextlib.suppress(requests.ConnectionError, OSError):
                booted = [pid for pid in child_pids(self.process.pid) if has_own_signal_handlers(pid)]
                if len(booted) == workers and get(f"{self.url}/healthz").ok:
                    return
            time.sleep(0.1)
        pytest.fail(
            f"the server was not ready within {timeout} s (its {workers} workers are looked for among"
            f" the children of the entrypoint, which must exec gunicorn):\n{self.output()}"
        )

    def terminate(self, timeout: float) -> int:
        """SIGTERM, as `docker stop` sends it; the exit code."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def kill(self) -> None:
        """Stop the whole process group (entrypoint, gunicorn master and workers), whatever state."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        else:
            with contextlib.suppress(ProcessLookupError):  # workers left behind by a dead master
                os.killpg(self.process.pid, signal.SIGKILL)


def start_container(image: Image, data_dir: Path, log: Path, **env: str) -> Container:
    """`docker run -p PORT:PORT IMAGE` with `data_dir` as its /data volume, on a free port."""
    data_dir.mkdir(mode=0o700, exist_ok=True)  # the image's `install -d -m 0700 /data`
    # Two workers whatever the machine: the image leaves the count to gunicorn.conf.py.
    container_env = image.container_env(data_dir, free_port(), **{"WEB_CONCURRENCY": "2", **env})
    with log.open("w") as out:
        process = subprocess.Popen(
            image.argv,
            cwd=image.workdir,
            env=container_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Container(process, container_env, log)
