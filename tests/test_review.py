"""`psimport review` driven in a pseudo-terminal as a person types: keys, quitting half-way, coming back, importing.

The real program runs (a subprocess on a pty, 80 columns) against its embedded sandbox in a fresh
state dir; what it kept and created is read back through `psimport preview --format json` and
`psimport decisions list --format json`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "sample_statements"
DEMO_CONFIG = SAMPLES / "psimport.yaml"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
KEYS_LINE = r"\[q\] quit"


@pytest.fixture
def state(tmp_path):
    return tmp_path / "state"


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    return {**env, "PYTHONPATH": str(REPO), "TERM": "xterm-256color"}


def _spawn(state: Path, *extra: str) -> pexpect.spawn:
    return pexpect.spawn(sys.executable, ["-m", "importer", "review", str(SAMPLES), "--sandbox", "--config",
                                          str(DEMO_CONFIG), "--state-dir", str(state), *extra],
                         env=_env(), encoding="utf-8", timeout=60, dimensions=(50, 80), cwd=str(state.parent))


def _screen(child: pexpect.spawn) -> str:
    """The next row's screen, up to its line of keys, without colours."""
    child.expect(KEYS_LINE)
    return ANSI.sub("", child.before + child.after)


def _psimport(state: Path, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "importer", *args, "--state-dir", str(state)], env=_env(),
                          capture_output=True, text=True, timeout=120, cwd=str(state.parent))
    assert done.returncode == 0, done.stderr
    return done.stdout


def _plan(state: Path) -> dict:
    return json.loads(_psimport(state, "preview", str(SAMPLES), "--sandbox", "--config", str(DEMO_CONFIG),
                                "--format", "json"))


def _kept(state: Path) -> list[dict]:
    """The decisions --sandbox runs kept: in the demo/ folder of the state dir."""
    return json.loads(_psimport(state / "demo", "decisions", "list", "--format", "json"))["decisions"]


def _lines_fit(text: str, width: int = 80) -> None:
    too_wide = [line for line in ANSI.sub("", text).splitlines() if len(line.rstrip()) > width]
    assert not too_wide, too_wide


def test_review_quit_half_way_come_back_finish_and_import(state):
    planned = _plan(state)
    review = {t["line"]: t for t in planned["transactions"] if t["action"] == "review"}
    assert sorted(review) == [443, 618, 642]
    creates = planned["summary"]["create"]

    child = _spawn(state)
    child.expect("3 rows to review")
    first = _screen(child)
    _lines_fit(first)
    # The row, why it is asked, and its candidates with date, amount, payee, days apart and score.
    assert "Row 1 of 3" in first and "everyday.ofx line 443" in first and "-129.92" in first
    assert "Asked because:" in first and f"{review[443]['duplicate_of']}" in first and "proposed" in first
    assert re.search(r"1\s+\d+\s+2026-10-\d\d\s+-129\.92\s+AGL.*days?\s+0\.\d\d", first)
    child.send("1")                                # the AGL bill is the PocketSmith one proposed
    second = _screen(child)
    assert "Row 2 of 3" in second and "line 618" in second
    child.send("q")                                # quit half-way
    child.expect(pexpect.EOF)
    said = ANSI.sub("", child.before)
    child.close()
    assert child.exitstatus == 0
    assert "Quit: 1 answer kept, 2 not decided yet" in said and "psimport review" in said
    assert [(d["line"], d["action"], d["duplicate_of"], d["source"]) for d in _kept(state)] == [
        (443, "duplicate", review[443]["duplicate_of"], "review")]

    child = _spawn(state)
    child.expect("2 rows to review; 1 decided before")
    again = _screen(child)
    assert "Row 1 of 2" in again and "line 618" in again   # never asked about the AGL bill again
    child.send("n")                                         # a slip: new ...
    child.expect("Row 2 of 2")
    _screen(child)
    child.send("b")                                         # ... back, and it shows what was answered
    back = _screen(child)
    assert "Row 1 of 2" in back and "Decided: new (review" in back
    child.send("1")                                         # the first coffee is the one PocketSmith holds
    last = _screen(child)
    assert "Row 2 of 2" in last and "line 642" in last and "taken" in last   # #N now belongs to line 618
    # Why it was asked ("line 618 fits as well") is stale now: every candidate is another row's.
    assert "Asked because: every candidate is another row's now: probably new" in last
    assert "fits as well" not in last
    child.send("1")                                         # a taken candidate: refused, never two rows as one
    child.expect("Candidate 1 is everyday.ofx line 618's already")
    child.send("x")
    child.expect("'x' is not a key here")
    child.send("n")                                         # the second coffee is new
    child.expect("What an import would now do")
    child.expect(r"Import now \((\d+) transactions to create\)\? \[y/N\]: ")
    assert int(child.match.group(1)) == creates + 1
    child.send("y\r")
    child.expect(r"created (\d+) transactions")
    assert int(child.match.group(1)) == creates + 1
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0

    # Every row created exactly as decided, and a later preview asks about none.
    after = _plan(state)
    assert after["summary"]["review"] == 0 and after["summary"]["create"] == 0
    lines = {t["line"]: t for t in after["transactions"] if t["transaction_account_id"] == 510001}
    assert lines[443]["decided"] and lines[443]["duplicate_of"] == review[443]["duplicate_of"]
    assert lines[618]["decided"] and lines[618]["duplicate_of"] == review[618]["duplicate_of"]
    assert lines[642]["reasons"][0].startswith("imported before by psimport")      # created by the import
    assert sorted((d["line"], d["action"]) for d in _kept(state)) == [(443, "duplicate"), (618, "duplicate"),
                                                                      (642, "create")]
    child = _spawn(state)
    child.expect("Nothing to review")
    child.expect(pexpect.EOF)


def test_ctrl_c_keeps_every_answer_given(state):
    child = _spawn(state)
    _screen(child)
    child.send("s")                                # skip the AGL bill: never import it
    _screen(child)
    child.sendintr()
    child.expect(r"Stopped: 1 answer kept")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    assert [(d["line"], d["action"]) for d in _kept(state)] == [(443, "skip")]
    plan = _plan(state)
    agl = next(t for t in plan["transactions"] if t["line"] == 443)
    assert agl["action"] == "skip" and agl["decided"] and plan["summary"]["review"] == 2


def test_all_goes_through_every_row_and_declining_imports_nothing(state, tmp_path):
    statement = tmp_path / "two.qif"
    statement.write_text("!Type:Bank\nD2026-11-01\nT-12.00\nPCorner shop\n^\nD2026-11-02\nT-30.00\nPPetrol\n^\n")
    child = pexpect.spawn(sys.executable, ["-m", "importer", "review", str(statement), "--account", "510001",
                                           "--sandbox", "--all", "--state-dir", str(state)],
                          env=_env(), encoding="utf-8", timeout=60, dimensions=(50, 80), cwd=str(tmp_path))
    child.expect("2 rows to go through")
    first = _screen(child)
    assert "No candidate in PocketSmith" in first and "[1-" not in first
    child.send("\r")                               # later: left undecided
    _screen(child)
    child.send("s")
    child.expect(r"Import now \(1 transaction to create\)\? \[y/N\]: ")
    child.send("n\r")
    child.expect("Nothing was imported")
    child.expect(pexpect.EOF)
    assert [(d["payee"], d["action"]) for d in _kept(state)] == [("Petrol", "skip")]


def test_review_without_a_terminal_says_how_to_decide_in_a_spreadsheet(state):
    done = subprocess.run([sys.executable, "-m", "importer", "review", str(SAMPLES), "--sandbox", "--state-dir",
                           str(state)], env=_env(), capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 3 and "--decisions plan.csv" in done.stderr


def test_every_candidate_is_scored_the_same_way_the_proposed_one_too(demo_sandbox, state):
    from importer.config import load_config
    from importer.dedupe import dedupe
    from importer.review import load_review
    from importer.write.journal import Journal
    with Journal.in_state_dir(state) as journal:
        session, _ = load_review([SAMPLES], client=demo_sandbox.client(), config=load_config(DEMO_CONFIG),
                                 journal=journal, target="sandbox")
    agl = next(i for i in session.items if i.row.record.line == 443)
    proposed = agl.candidates[0]
    assert proposed.proposed and proposed.txn.id == agl.row.duplicate_of
    # The preview's score weighs the whole statement; beside the others the screen shows it alone, as they are.
    assert proposed.score == dedupe([agl.row.record], [proposed.txn])[0].score
    for item in session.items:
        for candidate in item.candidates:
            assert candidate.score == dedupe([item.row.record], [candidate.txn])[0].score
