"""Start-up without the clock: each command imports only what it uses (what `benchmarks/preview_startup.py` times)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta

import pytest

# Runs psimport in a fresh interpreter, counts the assignment blocks of more than one row dedupe solved,
# and prints which of the watched modules were imported.
RUNNER = """
import json, sys
import importer.assignment as assignment
solve, blocks = assignment.max_weight_assignment, []
def counting(rows, columns, weights):
    blocks.append(min(rows, columns))
    return solve(rows, columns, weights)
assignment.max_weight_assignment = counting
import importer.dedupe
importer.dedupe.max_weight_assignment = counting
from importer.cli import main
sys.argv = ["psimport", *sys.argv[1:]]
code = None
try:
    main()
except SystemExit as exit:
    code = exit.code
watched = ("scipy", "pandas", "numpy", "httpx", "rapidfuzz", "trio", "httpx._main", "importer.write.writer")
print("STARTUP:" + json.dumps({"imported": [m for m in watched if m in sys.modules],
                               "blocks": sum(1 for size in blocks if size > 1), "code": code}))
"""


def _run(*argv: str, cwd, env=None) -> dict:
    done = subprocess.run([sys.executable, "-c", RUNNER, *argv], capture_output=True, text=True, check=True, cwd=cwd,
                          env={**os.environ, **(env or {})})
    line = next(text for text in done.stdout.splitlines() if text.startswith("STARTUP:"))
    return json.loads(line[len("STARTUP:"):])


@pytest.fixture
def coffees(tmp_path):
    """A month of one weekday coffee at one price, and PocketSmith holding most of them a day earlier: dedupe
    meets blocks of identical amounts, the case scipy was imported for."""
    month = [date(2026, 9, 1) + timedelta(days=n) for n in range(40)]
    days = [day for day in month if day.weekday() < 5]
    lines = ["!Type:Bank"]
    for day in days:
        lines += [f"D{day:%m/%d/%Y}", "T-4.50", "PTHE DAILY GRIND SURRY HILLS", "^"]
    (tmp_path / "coffee.qif").write_text("\n".join(lines) + "\n")
    export = [{"id": 880000000 + n, "date": (day - timedelta(days=1)).isoformat(), "amount": -4.5,
               "payee": "The Daily Grind", "original_payee": "THE DAILY GRIND SURRY HILLS",
               "transaction_account": {"id": 510001}, "status": "posted"}
              for n, day in enumerate(days) if n % 7]
    (tmp_path / "export.json").write_text(json.dumps(export))
    return tmp_path


def test_parse_imports_no_numerics_and_no_http(coffees):
    for fmt in ("table", "json"):
        found = _run("parse", "coffee.qif", "--format", fmt, cwd=coffees)
        assert found["code"] in (0, None)
        assert not {"scipy", "pandas", "numpy", "httpx", "rapidfuzz"} & set(found["imported"]), found


def test_an_offline_preview_of_repeated_amounts_solves_blocks_without_scipy_or_the_writer(coffees):
    found = _run("preview", "coffee.qif", "--account", "510001", "--existing", "export.json",
                 "--state-dir", str(coffees / "state"), "--format", "json", "--out", "plan.json", cwd=coffees)
    assert found["code"] in (0, None)
    assert found["blocks"] > 0, "the statement should give dedupe blocks of several rows"
    assert not {"scipy", "pandas", "httpx", "importer.write.writer"} & set(found["imported"]), found


def test_a_preview_against_the_sandbox_loads_neither_scipy_nor_trio(coffees, sandbox):
    found = _run("preview", "coffee.qif", "--account", "510001", "--api-url", sandbox.url,
                 "--state-dir", str(coffees / "state"), "--format", "json", "--out", "plan.json", cwd=coffees,
                 env={"POCKETSMITH_DEVELOPER_KEY": sandbox.key})
    assert found["code"] in (0, None)
    assert "httpx" in found["imported"]
    assert not {"scipy", "pandas", "trio", "httpx._main", "importer.write.writer"} & set(found["imported"]), found
