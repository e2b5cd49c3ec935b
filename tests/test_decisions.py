"""Decisions in a spreadsheet and decisions that stay decided: preview CSV → --decisions → the journal, against a
real sandbox over HTTP, in-process through the real command line."""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from importer.cli import cli
from importer.write.journal import Journal

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "sample_statements"
DEMO_CONFIG = SAMPLES / "psimport.yaml"
EVERYDAY, VISA = 510001, 510002
TODAY = datetime.now(timezone.utc).date().isoformat()




def _preview_json(run, sandbox, *extra, files=(SAMPLES,)):
    result = run("preview", *files, "--config", DEMO_CONFIG, "--format", "json", *extra, sandbox=sandbox)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _preview_csv(run, sandbox, path: Path, files=(SAMPLES,)) -> list[dict]:
    result = run("preview", *files, "--config", DEMO_CONFIG, "--format", "csv", "--out", path, sandbox=sandbox)
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def _write_csv(path: Path, rows: list[dict]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def _stored(sandbox):
    return Counter((t["transaction_account_id"], t["date"], t["amount"], t["payee"]) for t in sandbox.transactions())


def _by_line(plan: dict) -> dict[int, dict]:
    return {t["line"]: t for t in plan["transactions"] if t["transaction_account_id"] == EVERYDAY}


def test_the_spreadsheet_flow_decide_in_csv_import_then_nothing_is_left_for_review(demo_sandbox, run, tmp_path):
    rows = _preview_csv(run, demo_sandbox, tmp_path / "plan.csv")
    header = list(rows[0])
    assert header.index("decision") == header.index("action") + 1 and "duplicate_of" in header
    review = [r for r in rows if r["action"] == "review"]
    assert len(review) == 3 and all(r["decision"] == "" for r in rows)
    by_line = {int(r["line"]): r for r in review}
    agl, first_coffee, second_coffee = by_line[443], by_line[618], by_line[642]
    # AGL and the first coffee: the candidates proposed (their duplicate_of); the second coffee: new. Rows are found by identity, so the file's order does not matter: reversed here.
    agl["decision"] = "duplicate"
    first_coffee["decision"] = "duplicate"
    second_coffee["decision"] = "create"
    plan_csv = _write_csv(tmp_path / "decided.csv", list(reversed(rows)))
    before = _stored(demo_sandbox)

    shown = _preview_json(run, demo_sandbox, "--decisions", plan_csv)
    assert shown["summary"]["review"] == 0
    assert not (run.state / "journal.sqlite3").exists()                  # a preview keeps nothing

    result = run("import", SAMPLES, "--config", DEMO_CONFIG, "--decisions", plan_csv, "--yes", sandbox=demo_sandbox)
    assert result.exit_code == 0, result.output
    created = _stored(demo_sandbox) - before
    # Every row as decided: the second coffee created, the two duplicates not.
    coffee = (EVERYDAY, date.fromisoformat(second_coffee["date"]), Decimal("-4.50"), second_coffee["payee"])
    assert created[coffee] == 1
    assert not [k for k in created if k[2] == Decimal("-129.92")]
    assert sum(created.values()) == sum(1 for r in rows if r["action"] == "create") + 1

    after = _preview_json(run, demo_sandbox)
    assert after["summary"]["review"] == 0 and after["summary"]["create"] == 0
    lines = _by_line(after)
    assert lines[443]["decided"] and lines[443]["action"] == "duplicate"
    assert lines[443]["duplicate_of"] == int(agl["duplicate_of"])
    assert lines[443]["reasons"][0] == f"your decision on {TODAY}: same as #{agl['duplicate_of']}"
    assert lines[618]["decided"] and lines[618]["duplicate_of"] == int(first_coffee["duplicate_of"])
    assert lines[642]["action"] == "duplicate" and not lines[642]["decided"]    # created now: the journal knows it
    again = _preview_csv(run, demo_sandbox, tmp_path / "again.csv")
    assert {int(r["line"]): r["decision"] for r in again if r["decision"]} == {443: "duplicate", 618: "duplicate"}

    listed = json.loads(run("decisions", "list", "--format", "json").output)["decisions"]
    assert sorted((d["line"], d["action"], d["source"]) for d in listed) == [
        (443, "duplicate", "csv"), (618, "duplicate", "csv"), (642, "create", "csv")]


def test_a_same_as_decision_takes_that_transaction_from_dedupe(demo_sandbox, run, tmp_path):
    rows = _preview_csv(run, demo_sandbox, tmp_path / "plan.csv")
    first = next(r for r in rows if r["line"] == "618")
    first["decision"] = "duplicate"
    plan = _preview_json(run, demo_sandbox, "--decisions", _write_csv(tmp_path / "d.csv", rows))
    lines = _by_line(plan)
    taken = int(first["duplicate_of"])
    assert lines[618]["action"] == "duplicate" and lines[618]["decided"] and lines[618]["duplicate_of"] == taken
    # The other coffee that fitted it as well is decided afresh without it: nothing else matches, so new.
    assert lines[642]["action"] == "create" and lines[642]["duplicate_of"] != taken
    assert sum(1 for t in plan["transactions"] if t["duplicate_of"] == taken) == 1


@pytest.mark.parametrize("change,message", [
    (lambda r, rows: r.update(decision="maybe"), "decision 'maybe' is not one of create, duplicate, skip"),
    (lambda r, rows: r.update(decision="skip", external_id="no-such-row"), "no row of these statements has external_id"),
    (lambda r, rows: r.update(decision="duplicate",
                              duplicate_of=next(x["duplicate_of"] for x in rows if x["transaction_account_id"] ==
                                                str(VISA) and x["duplicate_of"])),
     "is a transaction of another account, not of 510001"),
    (lambda r, rows: r.update(decision="duplicate", duplicate_of="999999999"), "is not a PocketSmith transaction of"),
    (lambda r, rows: r.update(decision="duplicate", duplicate_of=""), "has no proposed PocketSmith transaction"),
    (lambda r, rows: r.update(decision="duplicate", duplicate_of=next(
        x["duplicate_of"] for x in rows if x["transaction_account_id"] == str(EVERYDAY) and x["duplicate_of"]
        and x["amount"] != r["amount"])), "and this row is"),
], ids=["unknown value", "no such row", "another account", "no such transaction", "no candidate", "another amount"])
def test_a_bad_decision_names_its_csv_line_and_nothing_is_written(demo_sandbox, run, tmp_path, change, message):
    rows = _preview_csv(run, demo_sandbox, tmp_path / "plan.csv")
    target = next(i for i, r in enumerate(rows) if r["action"] == "create" and r["transaction_account_id"] == str(EVERYDAY))
    rows[target]["decision"] = "create"          # a good one before it: still nothing is kept
    bad = target + 1
    while rows[bad]["action"] != "create" or rows[bad]["transaction_account_id"] != str(EVERYDAY):
        bad += 1
    change(rows[bad], rows)
    plan_csv = _write_csv(tmp_path / "bad.csv", rows)
    before = _stored(demo_sandbox)
    for command in ("preview", "import"):
        result = run(command, SAMPLES, "--config", DEMO_CONFIG, "--decisions", plan_csv, "--yes", sandbox=demo_sandbox) \
            if command == "import" else run(command, SAMPLES, "--config", DEMO_CONFIG, "--decisions", plan_csv,
                                            sandbox=demo_sandbox)
        assert result.exit_code == 2, result.output
        assert f"bad.csv, line {bad + 2}: " in result.output and message in result.output
    assert _stored(demo_sandbox) == before
    journal = run.state / "journal.sqlite3"
    assert not journal.exists() or (Journal(journal).decisions() == [] and Journal(journal).batches() == [])


def test_accept_review_is_kept_and_decisions_can_be_listed_and_forgotten(demo_sandbox, run):
    result = run("import", SAMPLES, "--config", DEMO_CONFIG, "--accept-review", "--yes", sandbox=demo_sandbox)
    assert result.exit_code == 0, result.output
    listed = json.loads(run("decisions", "list", "--format", "json").output)["decisions"]
    assert sorted((d["line"], d["action"], d["source"]) for d in listed) == [
        (443, "create", "accept-review"), (618, "create", "accept-review"), (642, "create", "accept-review")]
    table = run("decisions", "list")
    assert "3 decisions kept" in table.output and "AGL ENERGY" in table.output

    refused = run("decisions", "forget")
    assert refused.exit_code != 0 and "--all" in refused.output
    gone = run("decisions", "forget", str(listed[0]["id"]), "--yes")
    assert gone.exit_code == 0 and "Forgot 1 decision." in gone.output
    assert len(json.loads(run("decisions", "list", "--format", "json").output)["decisions"]) == 2
    assert "Forgot 2 decisions." in run("decisions", "forget", "--all", "--yes").output
    # The rows were created, so the journal still knows them: forgetting asks nothing again.
    assert _preview_json(run, demo_sandbox)["summary"]["review"] == 0


def _qif(path: Path, rows) -> Path:
    lines = ["!Type:Bank"]
    for day, amount, payee in rows:
        lines += [f"D{day}", f"T{amount}", f"P{payee}", "^"]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_decision_follows_the_row_into_an_overlapping_later_statement(sandbox, run, tmp_path):
    october = [("10/01/2026", "-12.00", "Corner shop"), ("10/02/2026", "-30.00", "Petrol"),
               ("10/03/2026", "-4.50", "Cafe"), ("10/03/2026", "-4.50", "Cafe")]
    later = october[1:] + [("10/05/2026", "-60.00", "Groceries")]
    first = _qif(tmp_path / "october.qif", october)
    second = _qif(tmp_path / "october-later.qif", later)
    rows = _preview_csv(run, sandbox, tmp_path / "plan.csv", files=(first, "--account", EVERYDAY, "--date-order", "mdy"))
    rows[1]["decision"] = "skip"                 # the petrol
    rows[3]["decision"] = "skip"                 # the second of two identical coffees
    result = run("import", first, "--account", EVERYDAY, "--date-order", "mdy", "--decisions", _write_csv(tmp_path / "d.csv", rows),
                 "--yes", sandbox=sandbox)
    assert result.exit_code == 0, result.output
    assert sorted((str(t["amount"]), t["payee"]) for t in sandbox.transactions()) == [
        ("-12.00", "Corner shop"), ("-4.50", "Cafe")]

    plan = _preview_json(run, sandbox, "--account", EVERYDAY, "--date-order", "mdy", files=(second,))
    got = [(t["payee"], t["action"], t["decided"]) for t in plan["transactions"]]
    assert got == [("Petrol", "skip", True), ("Cafe", "duplicate", False), ("Cafe", "skip", True),
                   ("Groceries", "create", False)]
    assert plan["transactions"][0]["reasons"] == [f"your decision on {TODAY}: skip"]
    # Both statements at once: the later copy repeats the decided row, it is not decided twice.
    both = _preview_json(run, sandbox, "--account", EVERYDAY, "--date-order", "mdy", files=(first, second))
    petrol = [t for t in both["transactions"] if t["payee"] == "Petrol"]
    assert [(t["action"], t["decided"]) for t in petrol] == [("skip", True), ("duplicate", False)]
    assert petrol[1]["reasons"][0].startswith("repeats october.qif line")


def test_decisions_list_and_preview_enrich_fit_80_columns(demo_sandbox, run, monkeypatch):
    assert run("import", SAMPLES, "--config", DEMO_CONFIG, "--accept-review", "--yes", sandbox=demo_sandbox).exit_code == 0
    monkeypatch.setenv("COLUMNS", "80")
    for args in (("decisions", "list"), ("preview", SAMPLES, "--config", DEMO_CONFIG, "--enrich", "--all")):
        result = run(*args, sandbox=demo_sandbox if args[0] == "preview" else None)
        assert result.exit_code == 0, result.output
        assert not [line for line in result.output.splitlines() if len(line) > 80]
    listed = run("decisions", "list").output
    assert "same as" not in listed and listed.count(" new ") == 3       # the whole decision, never cut


def _batch_of(result) -> str:
    """The batch an import made, from its "Undo with:" line (batches listed in the same second may sort either way)."""
    return re.search(r"psimport undo (\S+)", result.output).group(1)


def _new_agl(sandbox, before: set[int]) -> list[dict]:
    return [t for t in sandbox.transactions() if t["id"] not in before and t["payee"].startswith("AGL ENERGY")
            and str(t["amount"]) == "-129.92" and t["needs_review"] is not None]


def test_undo_forgets_the_decisions_its_import_was_given_and_keeps_those_made_in_review(demo_sandbox, run, tmp_path):
    held = {t["id"] for t in demo_sandbox.transactions()}
    result = run("import", SAMPLES, "--config", DEMO_CONFIG, "--accept-review", "--yes", sandbox=demo_sandbox)
    assert result.exit_code == 0, result.output
    assert [t["needs_review"] for t in _new_agl(demo_sandbox, held)] == [True]
    undone = run("undo", _batch_of(result), "--yes", sandbox=demo_sandbox)
    assert undone.exit_code == 0, undone.output
    assert "Forgot the 3 decisions this import was given (--accept-review)." in undone.output
    assert json.loads(run("decisions", "list", "--format", "json").output)["decisions"] == []
    # A plain import afterwards asks again about the rows for review: it creates none of them.
    plan = _preview_json(run, demo_sandbox)
    assert plan["summary"]["review"] == 3 and not any(t["decided"] for t in plan["transactions"])
    again = run("import", SAMPLES, "--config", DEMO_CONFIG, "--yes", sandbox=demo_sandbox)
    assert again.exit_code == 0 and not _new_agl(demo_sandbox, held)
    assert run("undo", _batch_of(again), "--yes", sandbox=demo_sandbox).exit_code == 0

    # A decision given to --decisions goes with its batch too; one made in review (kept apart) stays, and is said.
    rows = _preview_csv(run, demo_sandbox, tmp_path / "plan.csv")
    next(r for r in rows if r["line"] == "642")["decision"] = "create"
    journal = Journal(run.state / "journal.sqlite3")
    from importer.decisions import decision_for
    from importer.write.batches import preview_plan
    from importer.config import load_config
    plan_rows = preview_plan([SAMPLES], state_dir=run.state, config=load_config(DEMO_CONFIG),
                             source=demo_sandbox.client(), target=demo_sandbox.url.rstrip("/")).rows
    agl = next(r for r in plan_rows if r.record.line == 443 and r.account_id == EVERYDAY)
    journal.save_decisions([decision_for(agl, "create", None, target=demo_sandbox.url.rstrip("/"), source="review")])
    journal.close()
    result = run("import", SAMPLES, "--config", DEMO_CONFIG, "--decisions", _write_csv(tmp_path / "d.csv", rows), "--yes",
                 sandbox=demo_sandbox)
    assert result.exit_code == 0, result.output
    undone = run("undo", _batch_of(result), "--yes", sandbox=demo_sandbox)
    assert "Forgot the 1 decision this import was given (--decisions)." in undone.output
    assert "Kept 1 decision made in review on rows it created" in undone.output
    assert "psimport decisions forget" in undone.output
    left = json.loads(run("decisions", "list", "--format", "json").output)["decisions"]
    assert [(d["line"], d["source"]) for d in left] == [(443, "review")]


def test_a_kept_accept_review_decision_creates_its_row_flagged_needs_review(demo_sandbox, run):
    held = {t["id"] for t in demo_sandbox.transactions()}
    from importer.config import load_config
    from importer.decisions import accepted_reviews
    from importer.write.batches import preview_plan
    target = demo_sandbox.url.rstrip("/")
    plan = preview_plan([SAMPLES], state_dir=run.state, config=load_config(DEMO_CONFIG), source=demo_sandbox.client(),
                        target=target)
    with Journal(run.state / "journal.sqlite3") as journal:    # kept by an import whose batch is no longer known
        journal.save_decisions(accepted_reviews(plan, target))
    lines = _by_line(_preview_json(run, demo_sandbox))
    assert lines[443]["reasons"][0].startswith("accepted unseen by import --accept-review")
    assert lines[443]["needs_review"] is True
    assert run("import", SAMPLES, "--config", DEMO_CONFIG, "--yes", sandbox=demo_sandbox).exit_code == 0
    assert [t["needs_review"] for t in _new_agl(demo_sandbox, held)] == [True]


def _import_refused(run, sandbox, plan_csv, message):
    before = _stored(sandbox)
    result = run("import", SAMPLES, "--config", DEMO_CONFIG, "--decisions", plan_csv, "--yes", sandbox=sandbox)
    assert result.exit_code == 2, result.output
    assert message in result.output, result.output
    assert _stored(sandbox) == before
    assert Journal(run.state / "journal.sqlite3").decisions() == []


def test_the_rent_as_a_duplicate_of_the_electricity_bill_is_refused(demo_sandbox, run, tmp_path):
    rows = _preview_csv(run, demo_sandbox, tmp_path / "plan.csv")
    rent = next(i for i, r in enumerate(rows) if r["line"] == "166" and r["transaction_account_id"] == str(EVERYDAY))
    agl = next(r for r in rows if r["line"] == "443")
    rows[rent].update(decision="duplicate", duplicate_of=agl["duplicate_of"])
    _import_refused(run, demo_sandbox, _write_csv(tmp_path / "d.csv", rows),
                    f"d.csv, line {rent + 2}: duplicate_of {agl['duplicate_of']} is -129.92 (")


def test_a_transaction_two_rows_would_be_is_refused_unless_the_other_row_is_decided_too(demo_sandbox, run, tmp_path):
    rows = _preview_csv(run, demo_sandbox, tmp_path / "plan.csv")
    at = {int(r["line"]): i for i, r in enumerate(rows) if r["transaction_account_id"] == str(EVERYDAY)}
    third_coffee = rows[at[658]]["duplicate_of"]                 # dedupe matched line 658 to it
    assert rows[at[658]]["action"] == "duplicate" and third_coffee
    rows[at[618]].update(decision="duplicate", duplicate_of=third_coffee)
    path = _write_csv(tmp_path / "d.csv", rows)
    _import_refused(run, demo_sandbox, path, f"d.csv, line {at[618] + 2}: duplicate_of {third_coffee} is another "
                                             "row's already (dedupe matched it to everyday.ofx line 658)")
    # Two lines saying the same id: the second is refused.
    rows[at[618]].update(duplicate_of="")
    rows[at[642]].update(decision="duplicate")                    # its duplicate_of: the one proposed to both
    _import_refused(run, demo_sandbox, _write_csv(tmp_path / "d.csv", rows),
                    f"d.csv, line {at[642] + 2}: duplicate_of {rows[at[642]]['duplicate_of']} is another row's already "
                    f"(line {at[618] + 2} of this file decides it for everyday.ofx line 618)")
    # Deciding line 658 too (new) frees its transaction for line 618.
    rows[at[642]].update(decision="create", duplicate_of="")
    rows[at[618]].update(duplicate_of=third_coffee)
    rows[at[658]].update(decision="create")
    plan = _preview_json(run, demo_sandbox, "--decisions", _write_csv(tmp_path / "d.csv", rows))
    assert sum(1 for t in plan["transactions"] if t["duplicate_of"] == int(third_coffee)) == 1


def test_a_skip_you_decided_is_said_as_yours_not_the_rules(demo_sandbox, run, tmp_path):
    rows = _preview_csv(run, demo_sandbox, tmp_path / "plan.csv")
    for row in rows:
        if row["line"] in ("443", "642") and row["transaction_account_id"] == str(EVERYDAY):
            row["decision"] = "skip"
    decided = _write_csv(tmp_path / "d.csv", rows)
    first = run("import", SAMPLES, "--config", DEMO_CONFIG, "--decisions", decided, "--yes", sandbox=demo_sandbox)
    assert first.exit_code == 0, first.output
    assert "0 by rules, 2 by your decision." in " ".join(first.output.split())
    again = run("import", SAMPLES, "--config", DEMO_CONFIG, "--yes", sandbox=demo_sandbox)
    said = " ".join(again.output.split())
    assert "2 skipped by your decision" in said and "skipped by rules" not in said
    table = run("preview", SAMPLES, "--config", DEMO_CONFIG, sandbox=demo_sandbox).output
    assert "2 skipped by your decision" in table and "skipped by rules" not in table


def test_decisions_take_sandbox_and_an_unknown_id_is_bad_input(tmp_path, monkeypatch):
    """`--sandbox` as every other command takes it (the demo's journal); an unknown batch or decision id exits 2."""
    monkeypatch.chdir(tmp_path)

    def psimport(*args):
        return CliRunner().invoke(cli, [*map(str, args), "--state-dir", str(tmp_path / "state")])
    assert psimport("import", SAMPLES, "--sandbox", "--config", DEMO_CONFIG, "--accept-review", "--yes").exit_code == 0
    listed = psimport("decisions", "list", "--sandbox", "--format", "json")
    assert listed.exit_code == 0, listed.output
    assert len(json.loads(listed.output)["decisions"]) == 3
    unknown = psimport("decisions", "forget", "999", "--sandbox", "--yes")
    assert unknown.exit_code == 2 and "no decision 999" in unknown.output and "--sandbox" in unknown.output
    assert psimport("decisions", "forget", "--sandbox").exit_code == 2
    assert psimport("undo", "no-such-batch", "--sandbox", "--yes").exit_code == 2
    assert psimport("undo", "no-such-batch", "--yes", "--state-dir", tmp_path / "empty").exit_code == 2
    gone = psimport("decisions", "forget", "--all", "--sandbox", "--yes")
    assert gone.exit_code == 0 and "Forgot 3 decisions." in gone.output
