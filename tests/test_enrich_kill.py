"""`import --enrich` exactly once across real process deaths: SIGKILL it while it fills fields in, rerun, count PUTs.

A real sandbox runs as its own process (25 ms a request, each request logged with -v); every kill
point has its own year of feed transactions and its own state dir. After the rerun each transaction
holds the statement's memo, the journal has every update done, and no transaction got two PUTs.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from processes import start_sandbox

from importer.pocketsmith.client import PocketSmith
from importer.write.journal import Journal

pytestmark = pytest.mark.slow  # real processes, killed mid-run: seconds each

ACCOUNT = 510001
ROWS = 20
KEY = "sk-enrich-kill-0123456789"
KILL_POINTS = ["sending", 1, 6, 13, 19]       # the first update journaled `sending`, then k transactions filled


@pytest.fixture(scope="module")
def sandbox_process(tmp_path_factory):
    """`psimport sandbox -v` as a subprocess: its URL, its database, and the requests it has logged so far."""
    directory = tmp_path_factory.mktemp("enrich-kill-sandbox")
    db = directory / "sandbox.sqlite3"
    process, url = start_sandbox("--db", str(db), "--key", KEY, "--latency-ms", "25", "--state-dir", str(directory),
                                 "-v")
    logged: list[str] = []
    try:
        threading.Thread(target=lambda: logged.extend(iter(process.stdout.readline, "")), daemon=True).start()
        yield url, db, logged
    finally:
        process.terminate()
        process.wait(timeout=10)


def _household(url: str, directory: Path, year: int) -> tuple[Path, list[int]]:
    """ROWS feed transactions in `year` with no memo, and a statement QIF of the same rows that has one."""
    lines = ["!Type:Bank"]
    ids = []
    with PocketSmith(url, KEY) as client:
        for i in range(ROWS):
            day, amount = date(year, 3, 1 + i), Decimal(-(1000 + 137 * i)) / 100
            ids.append(client.create_transaction(ACCOUNT, {"payee": f"Shop {i}", "amount": amount, "date": day}).id)
            lines += [f"D{day.isoformat()}", f"T{amount}", f"PSHOP {i} SYDNEY", f"MCARD 4321 REF {year}{i:03d}", "^"]
    statement = directory / f"statement-{year}.qif"
    statement.write_text("\n".join(lines) + "\n")
    return statement, ids


def _memos(db: Path, ids: list[int]) -> dict[int, str | None]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        marks = ",".join("?" * len(ids))
        return dict(conn.execute(f"SELECT id, memo FROM transactions WHERE id IN ({marks})", ids).fetchall())


def _sending_updates(state: Path) -> int:
    path = state / "journal.sqlite3"
    if not path.is_file():
        return 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            return conn.execute("SELECT count(*) FROM updates WHERE state = 'sending'").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def test_sigkill_while_filling_in_then_rerun_fills_each_transaction_exactly_once(sandbox_process, tmp_path):
    url, db, logged = sandbox_process
    env = {**os.environ, "POCKETSMITH_DEVELOPER_KEY": KEY, "PYTHONUNBUFFERED": "1"}
    killed_mid_way = 0
    for number, when in enumerate(KILL_POINTS):
        year = 2031 + number
        state = tmp_path / f"state-{number}"
        statement, ids = _household(url, tmp_path, year)
        command = [sys.executable, "-m", "importer", "import", str(statement), "--account", str(ACCOUNT), "--enrich",
                   "--yes", "--api-url", url, "--state-dir", str(state), "--quiet"]
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
        deadline = time.monotonic() + 60
        while process.poll() is None and time.monotonic() < deadline:
            filled = sum(1 for memo in _memos(db, ids).values() if memo)
            if (_sending_updates(state) >= 1) if when == "sending" else filled >= when:
                process.send_signal(signal.SIGKILL)
                break
            time.sleep(0.002)
        process.wait(timeout=30)
        if process.returncode == -signal.SIGKILL:
            killed_mid_way += sum(1 for memo in _memos(db, ids).values() if memo) < ROWS
        else:
            assert process.returncode == 0, process.stderr.read().decode()

        rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
        assert rerun.returncode == 0, f"kill point {when}: {rerun.stderr}"
        memos = _memos(db, ids)
        assert memos == {ps_id: f"SHOP {i} SYDNEY CARD 4321 REF {year}{i:03d}" for i, ps_id in enumerate(ids)}, when
        time.sleep(0.1)                                  # the sandbox's log thread catches up
        puts = Counter(int(m.group(1)) for line in list(logged)
                       if (m := re.search(r"PUT /v2/transactions/(\d+)", line)) and int(m.group(1)) in ids)
        assert set(puts) == set(ids) and max(puts.values()) == 1, f"kill point {when}: {puts}"
        with Journal(state / "journal.sqlite3") as journal:
            (batch,) = journal.batches()
            assert {u.state for u in journal.updates(batch.id)} == {"done"} and batch.status == "complete"
        again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
        assert again.returncode == 0 and "Nothing to import" in again.stdout
    assert killed_mid_way >= len(KILL_POINTS) - 2
