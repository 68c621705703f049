"""Schemathesis against a Parley server process: every operation of the OpenAPI document, in its
examples, coverage, fuzzing and stateful (OpenAPI links) phases, with a real token. It must find
nothing: no 5xx, and every answer as the document states it (status, content type, headers, body).

The settings (seed, example count, checks) are in tests/schemathesis.toml; what it found once is
kept as a regular test beside the code it concerned.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.processes import Processes
from tests.servers import Parley, assert_clean_log, start_parley

CONFIG = Path(__file__).with_name("schemathesis.toml")
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


def fuzz(parley: Parley, token: str, *selection: str) -> str:
    """Run Schemathesis over the operations `selection` picks; its summary lines, once it found nothing."""
    argv = [str(SCHEMATHESIS), "--config-file", str(CONFIG), "--no-color", "run"]
    argv += [f"{parley.url}/api/v1/openapi.json", *selection]
    env = {**os.environ, "PARLEY_FUZZ_TOKEN": token}
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-2000:]
    lines = result.stdout.splitlines()
    cases = lines[lines.index("Test cases:") + 1].strip()
    return f"{cases}; {lines[-1].strip(' =')}"


def test_schemathesis_finds_nothing(processes: Processes, server_database: str) -> None:
    # Rate limits off: a fuzzer hitting 429 after twenty requests would test nothing else.
    parley = start_parley(processes, "parley", server_database, PARLEY_RATELIMIT_ENABLED="0")
    for example_user in ("alice", "bob", "carol"):  # the document's examples name them
        parley.sign_up(example_user)
    fuzzer = parley.sign_up("fuzzer")
    summary = fuzz(parley, fuzzer.token, "--exclude-operation-id", "deleteCurrentUser")
    # Deleting the account ends its token: that operation runs alone (no links to follow), as a user
    # of its own.
    leaver = parley.sign_up("leaver")
    alone = ("--include-operation-id", "deleteCurrentUser", "--phases", "examples,coverage,fuzzing")
    summary += " | " + fuzz(parley, leaver.token, *alone)
    assert_clean_log(parley.service)
    print(f"Schemathesis: {summary}")
