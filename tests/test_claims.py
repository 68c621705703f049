"""Two pytest processes sharing a pass (TEST_CLAIMS, tests/claims.py, as .ci/run starts them): every
test runs once, and each file whole, in one process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from tests.processes import ROOT

pytestmark = pytest.mark.engine_independent  # plain pytest processes: no application, no database
FILES = 6
TESTS_PER_FILE = 3
# Each test writes "<process id> <file> <test>" to a file of its own in the folder RAN names.
TEST_FILE = """
import os, pathlib, time

def record(name):
    time.sleep(0.05)
    folder = pathlib.Path(os.environ["RAN"])
    (folder / f"{os.getpid()}-{__name__}-{name}").write_text(f"{os.getpid()} {__name__} {name}")
""" + "".join(f"\ndef test_{n}():\n    record('test_{n}')\n" for n in range(TESTS_PER_FILE))


def test_two_processes_sharing_claims_run_every_test_once_and_each_file_whole_in_one(tmp_path: Path) -> None:
    suite, claims, ran = tmp_path / "suite", tmp_path / "claims", tmp_path / "ran"
    for folder in (suite, claims, ran):
        folder.mkdir()
    for n in range(FILES):
        (suite / f"test_file_{n}.py").write_text(TEST_FILE)
    env = {**os.environ, "TEST_CLAIMS": str(claims), "RAN": str(ran), "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "pytest", "-p", "tests.claims", "-p", "no:cacheprovider", "-q", str(suite)]
    runs = [subprocess.Popen(argv, cwd=suite, env=env, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=60)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs

    records = [path.read_text().split() for path in ran.iterdir()]
    assert sorted((module, test) for _, module, test in records) == sorted(
        (f"test_file_{f}", f"test_{n}") for f in range(FILES) for n in range(TESTS_PER_FILE)
    )
    processes_of: dict[str, set[str]] = defaultdict(set)
    for pid, module, _ in records:
        processes_of[module].add(pid)
    assert all(len(pids) == 1 for pids in processes_of.values()), processes_of
    assert len(list(claims.iterdir())) == FILES  # a claim a file
