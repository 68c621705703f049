"""bench/soak.py keeps working: a short soak, and the checks that make it fail.

The soak itself (200 clients, 60 s, on SQLite and on PostgreSQL) is run by hand
(docs/benchmarks.md, Soak); here 5 clients for 2 s against the same server command on SQLite, in
the first pass only (the script's PostgreSQL path is bench/http.py's), and what the report does.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from bench.soak import BackendSampler, Kind, Outcome, Plan, render, write_report
from tests.processes import ROOT


@pytest.mark.engine_independent
def test_a_short_soak_passes_and_reports_sends_reads_and_the_history_check():
    command = ["-m", "bench.soak", "--clients", "5", "--duration", "2", "--workers", "1"]
    command += ["--set", "PARLEY_DB_POOL_SIZE=3"]
    completed = subprocess.run(
        [sys.executable, *command],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr[-3000:]
    report = completed.stdout
    assert "--set PARLEY_DB_POOL_SIZE=3" in report
    assert "| sends |" in report and "| reads |" in report
    assert "missing from the history: 0; there more than once: 0" in report
    assert "Verdict: **passed**" in report


def test_a_5xx_a_lost_or_a_doubled_message_or_no_answer_fails_the_soak():
    def outcome(**changes: object) -> Outcome:
        result = Outcome(
            acknowledged=["soak t 0 0", "soak t 0 1"], history=Counter(["soak t 0 0", "soak t 0 1"])
        )
        for name, value in changes.items():
            setattr(result, name, value)
        return result

    assert not outcome().failed
    assert outcome(sends=Kind(statuses=Counter({201: 5, 503: 1}))).failed
    assert outcome(reads=Kind(unanswered=Counter(timeout=1))).failed
    assert outcome(history=Counter(["soak t 0 0"])).missing == 1
    assert outcome(history=Counter(["soak t 0 0", "soak t 0 1", "soak t 0 1"])).doubled == 1
    assert outcome(history=Counter(["soak t 0 0", "soak t 0 1", "soak t 0 1"])).failed


def test_the_report_goes_under_its_label_in_the_soak_section(tmp_path):
    page = tmp_path / "benchmarks.md"
    page.write_text("# Benchmarks\n## Soak\n<!-- soak:end -->\n## Later\n")
    write_report("first before\n", "before", page)
    write_report("after\n", "after", page)
    write_report("second before\n", "before", page)
    text = page.read_text()
    assert "first before" not in text
    assert text.index("second before") < text.index("after\n") < text.index("<!-- soak:end -->")
    assert text.endswith("<!-- soak:end -->\n## Later\n")


def test_the_report_says_when_the_5xx_answers_came():
    failing = Outcome(seconds=60, sends=Kind(latencies_us=[1000] * 3, statuses=Counter({201: 1, 503: 2})))
    failing.sends.failed_at = [4.2, 23.4]
    report = render(Plan(), failing, "PostgreSQL", 5)
    assert "| sends | 3 | 0 | 1 ms | 1 ms | 2 (between 4 s and 23 s) | 0 | 0 |" in report
    assert "| reads | 0 | 0 | 0 ms | 0 ms | 0 | 0 | 0 |" in report


def test_on_postgresql_the_soak_sees_which_lock_the_servers_connections_wait_for():
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        pytest.skip("pg_locks is PostgreSQL's")
    engine = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    sampler = BackendSampler(url)
    try:
        with engine.connect() as holder, engine.connect() as waiter, ThreadPoolExecutor(1) as pool:
            holder.execute(text("SELECT pg_advisory_lock(7240099)"))
            waiting = pool.submit(waiter.execute, text("SELECT pg_advisory_lock(7240099)"))
            sampler.start()
            time.sleep(0.5)
            backends = sampler.averages()
            holder.execute(text("SELECT pg_advisory_unlock(7240099)"))
            waiting.result()
            waiter.execute(text("SELECT pg_advisory_unlock(7240099)"))
    finally:
        engine.dispose()
    assert 0.5 <= backends["advisory lock"] <= 1, backends
    report = render(Plan(), Outcome(seconds=1, backends=backends), "", 1)
    assert "The server's PostgreSQL connections during the load, on average: " in report
