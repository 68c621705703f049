"""Two pytest processes sharing a pass (TEST_CLAIMS, tests/claims.py, as .ci/run starts them): every
test runs once, each file whole in one process, and a process busy with a file holds no other back."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from tests.processes import ROOT

pytestmark = pytest.mark.engine_independent  # plain pytest processes: no application, no database
# Each test leaves a file "<process id> <module> <test>" in the folder RAN names.
RECORD = """
import os, pathlib, time

RAN = pathlib.Path(os.environ["RAN"])

def record(name):
    (RAN / f"{__name__}-{name}").write_text(f"{os.getpid()} {__name__} {name}")
"""


def run_two(files: dict[str, str], tmp_path: Path) -> list[list[str]]:
    """Run the test files `files` (name: code after RECORD) in two processes sharing claims; the records."""
    suite, claims, ran = tmp_path / "suite", tmp_path / "claims", tmp_path / "ran"
    for folder in (suite, claims, ran):
        folder.mkdir()
    for name, code in files.items():
        (suite / name).write_text(RECORD + code)
    env = {**os.environ, "TEST_CLAIMS": str(claims), "RAN": str(ran), "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "pytest", "-p", "tests.claims", "-p", "no:cacheprovider", "-q", str(suite)]
    runs = [subprocess.Popen(argv, cwd=suite, env=env, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=60)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    return [path.read_text().split() for path in ran.iterdir()]


def test_two_processes_sharing_claims_run_every_test_once_and_each_file_whole_in_one(tmp_path: Path) -> None:
    tests = "".join(f"\ndef test_{n}():\n    time.sleep(0.05)\n    record('test_{n}')\n" for n in range(3))
    records = run_two({f"test_file_{f}.py": tests for f in range(6)}, tmp_path)

    assert sorted((module, test) for _, module, test in records) == sorted(
        (f"test_file_{f}", f"test_{n}") for f in range(6) for n in range(3)
    )
    processes_of: dict[str, set[str]] = defaultdict(set)
    for pid, module, _ in records:
        processes_of[module].add(pid)
    assert all(len(pids) == 1 for pids in processes_of.values()), processes_of


def test_a_process_running_a_file_s_last_test_has_not_claimed_the_next_file(tmp_path: Path) -> None:
    """The other process runs every other file while the first one's only test waits for them."""
    waits = """
def test_waits_for_the_others():
    deadline = time.monotonic() + 30
    while len(list(RAN.iterdir())) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    record("test_waits_for_the_others")
    assert len(list(RAN.iterdir())) == 5
"""
    others = {f"test_file_{n}.py": f"\ndef test_{n}():\n    record('test_{n}')\n" for n in range(4)}
    records = run_two({"test_a_waits.py": waits, **others}, tmp_path)

    assert len(records) == 5
