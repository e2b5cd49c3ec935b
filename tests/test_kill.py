"""Exactly once across real process deaths: SIGKILL a running `psimport import` at many points, rerun it, count.

A real sandbox runs as its own process (with latency, so a batch takes long enough to kill
mid-way); each kill point imports its own statement (a different year, so no run sees another's
rows as duplicates) with its own state dir, is killed once the sandbox holds k of its rows (or as
soon as its first row is journaled `sending`), and is then run again to completion.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from processes import start_sandbox

from importer.write.journal import Journal

pytestmark = pytest.mark.slow  # real processes, killed mid-run: seconds each

ACCOUNT = 510001
ROWS = 40
KEY = "sk-kill-test-0123456789"


def _statement(path: Path, year: int) -> list[tuple[str, Decimal, str]]:
    """A QIF file of ROWS rows in `year`, two of them identical; returns (date, amount, payee) planned."""
    rows = []
    for i in range(ROWS - 2):
        rows.append((f"{year}-03-{13 + i % 15:02d}", Decimal(-(500 + 37 * i)) / 100, f"Shop number {i}"))
    rows += [(f"{year}-03-20", Decimal("-4.50"), "Daily Grind")] * 2
    lines = ["!Type:Bank"]
    for day, amount, payee in rows:
        y, m, d = day.split("-")
        lines += [f"D{m}/{d}/{y}", f"T{amount}", f"P{payee}", "^"]
    path.write_text("\n".join(lines) + "\n")
    return rows


@pytest.fixture(scope="module")
def sandbox_process(tmp_path_factory):
    """`psimport sandbox` as a subprocess on a free port, 25 ms per request."""
    directory = tmp_path_factory.mktemp("kill-sandbox")
    db = directory / "sandbox.sqlite3"
    process, url = start_sandbox("--db", str(db), "--key", KEY, "--latency-ms", "25", "--state-dir", str(directory))
    try:
        yield url, db
    finally:
        process.terminate()
        process.wait(timeout=10)


def _stored(db: Path, year: int) -> list[tuple]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return conn.execute("SELECT id, date, amount_cents, payee FROM transactions WHERE transaction_account_id = ?"
                            " AND date LIKE ?", (ACCOUNT, f"{year}-%")).fetchall()


def _sending(state: Path) -> int:
    path = state / "journal.sqlite3"
    if not path.is_file():
        return 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            return conn.execute("SELECT count(*) FROM rows WHERE state = 'sending'").fetchone()[0]
    except sqlite3.OperationalError:       # not created yet
        return 0


def _import_command(url: str, statement: Path, state: Path, concurrency: int) -> list[str]:
    return [sys.executable, "-m", "importer", "import", str(statement), "--account", str(ACCOUNT), "--yes",
            "--concurrency", str(concurrency), "--api-url", url, "--state-dir", str(state), "--quiet"]


def _env() -> dict:
    return {**os.environ, "POCKETSMITH_DEVELOPER_KEY": KEY, "PYTHONUNBUFFERED": "1"}


# (kill when, concurrency): an int is "the sandbox holds k rows"; "sending" is the first journaled request.
KILL_POINTS = [("sending", 4), (1, 4), (4, 16), (9, 4), (15, 8), (22, 4), (30, 16), (37, 4)]


def test_sigkill_at_any_point_then_rerun_creates_every_row_exactly_once(sandbox_process, tmp_path):
    url, db = sandbox_process
    killed_mid_batch = 0
    settled = 0
    for number, (when, concurrency) in enumerate(KILL_POINTS):
        year = 2001 + number
        state = tmp_path / f"state-{number}"
        statement = tmp_path / f"statement-{year}.qif"
        planned = _statement(statement, year)
        command = _import_command(url, statement, state, concurrency)
        process = subprocess.Popen(command, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
        deadline = time.monotonic() + 30
        while process.poll() is None and time.monotonic() < deadline:
            reached = _sending(state) >= 1 if when == "sending" else len(_stored(db, year)) >= when
            if reached:
                process.send_signal(signal.SIGKILL)
                break
            time.sleep(0.002)
        process.wait(timeout=30)
        if process.returncode == -signal.SIGKILL:
            if len(_stored(db, year)) < len(planned):
                killed_mid_batch += 1
        else:
            assert process.returncode == 0, process.stderr.read().decode()

        rerun = subprocess.run(command, env=_env(), capture_output=True, text=True, timeout=60, cwd=tmp_path)
        assert rerun.returncode == 0, f"kill point {when}: {rerun.stderr}"

        stored = _stored(db, year)
        got = Counter((d, Decimal(cents) / 100, payee) for _, d, cents, payee in stored)
        assert got == Counter(planned), (f"kill point {when}: not exactly once: extra {got - Counter(planned)}, "
                                         f"missing {Counter(planned) - got}; {rerun.stdout} {rerun.stderr}")
        with Journal(state / "journal.sqlite3") as journal:
            (batch,) = journal.batches()
            rows = journal.rows(batch.id)
            assert {r.state for r in rows} <= {"created", "settled"}, Counter(r.state for r in rows)
            assert sorted(r.ps_id for r in rows) == sorted(i for i, *_ in stored)
            assert batch.status == "complete"
            settled += sum(r.state == "settled" for r in rows)

        if number == len(KILL_POINTS) - 1:       # once is enough: the same import later creates nothing
            again = subprocess.run(command, env=_env(), capture_output=True, text=True, timeout=60, cwd=tmp_path)
            assert again.returncode == 0 and "Nothing to import" in again.stdout
            assert len(_stored(db, year)) == len(planned)
    # The point of the test: most runs really died with work left to do, and some requests were
    # in flight at the kill, committed by the server unanswered, and found by lookup on the rerun.
    assert killed_mid_batch >= len(KILL_POINTS) - 2
    assert settled >= 1


@pytest.mark.parametrize("signum,year", [(signal.SIGINT, 1999), (signal.SIGTERM, 1998)], ids=["SIGINT", "SIGTERM"])
def test_ctrl_c_finishes_requests_in_flight_and_says_how_to_finish(sandbox_process, tmp_path, signum, year):
    url, db = sandbox_process
    state = tmp_path / "state"
    statement = tmp_path / "statement.qif"
    planned = _statement(statement, year)
    command = _import_command(url, statement, state, 4)
    process = subprocess.Popen(command, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               cwd=tmp_path)
    deadline = time.monotonic() + 30
    while process.poll() is None and len(_stored(db, year)) < 8 and time.monotonic() < deadline:
        time.sleep(0.002)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    assert "run the same command again" in stderr and "Traceback" not in stderr
    assert _sending(state) == 0                       # what was in flight finished and was journaled
    with Journal(state / "journal.sqlite3") as journal:
        (batch,) = journal.batches()
        assert batch.created == len(_stored(db, year)) < len(planned)
    rerun = subprocess.run(command, env=_env(), capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    stored = _stored(db, year)
    assert Counter((d, Decimal(c) / 100, p) for _, d, c, p in stored) == Counter(planned)
