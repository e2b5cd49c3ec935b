"""preview, import, batches and undo from the command line, in-process, against a real sandbox over HTTP."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from importer.cli import cli

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "sample_statements"
DEMO_CONFIG = SAMPLES / "psimport.yaml"
EVERYDAY = 510001


@pytest.fixture
def run(tmp_path, monkeypatch):
    """psimport with a fresh state dir, run from an empty folder (no stray ./rules.yaml or ./psimport.yaml)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")    # each message on one line to match; test_screens.py checks 80 and 120
    state = tmp_path / "state"

    def invoke(*args, sandbox=None, input=None):
        if sandbox is not None:
            monkeypatch.setenv("POCKETSMITH_DEVELOPER_KEY", sandbox.key)
            args = (*args, "--api-url", sandbox.url)
        result = CliRunner().invoke(cli, [*map(str, args), "--state-dir", str(state)], input=input,
                                    catch_exceptions=False)
        return result
    return invoke


def _stored_counter(sandbox, account=None):
    return Counter((t["transaction_account_id"], t["date"], t["amount"], t["payee"])
                   for t in sandbox.transactions(account))


def _qif(path: Path, rows) -> Path:
    lines = ["!Type:Bank"]
    for day, amount, payee in rows:
        lines += [f"D{day}", f"T{amount}", f"P{payee}", "^"]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_the_readme_walkthrough_import_rerun_batches_undo_reimport(demo_sandbox, run):
    before = _stored_counter(demo_sandbox)
    preview = run("preview", SAMPLES, "--config", DEMO_CONFIG, "--format", "json", sandbox=demo_sandbox)
    assert preview.exit_code == 0, preview.output
    plan = json.loads(preview.output)
    to_create = [t for t in plan["transactions"] if t["action"] == "create"]
    assert to_create and plan["summary"]["duplicate"] > 0

    first = run("import", SAMPLES, "--config", DEMO_CONFIG, "--yes", sandbox=demo_sandbox)
    assert first.exit_code == 0, first.output
    batch_id = re.search(r"Batch (\S+): created (\d+) transactions", first.output).group(1)
    assert f"created {len(to_create)} transactions" in first.output
    assert f"skipped {plan['summary']['duplicate']} duplicates" in first.output and "For review, not created" in first.output
    assert "What each duplicate matched: `psimport preview --all` with the same files." in first.output
    created = _stored_counter(demo_sandbox) - before
    assert created == Counter((t["transaction_account_id"], date.fromisoformat(t["date"]), Decimal(t["amount"]),
                               t["payee"]) for t in to_create)
    assert not (before - _stored_counter(demo_sandbox))

    again = run("import", SAMPLES, "--config", DEMO_CONFIG, "--yes", sandbox=demo_sandbox)
    summary = plan["summary"]
    said = again.output.replace("\\\n", "").split()          # only that one sentence: no plan, no list of rows
    assert again.exit_code == 0 and " ".join(said) == (
        f"Nothing to import: {summary['duplicate'] + summary['create']} already in PocketSmith, "
        f"{summary['review']} for review; decide each with: psimport review {SAMPLES} --api-url "
        f"{demo_sandbox.url} --config {DEMO_CONFIG} --state-dir {Path.cwd() / 'state'}")
    assert _stored_counter(demo_sandbox) - before == created

    listed = json.loads(run("batches", "--format", "json").output)["batches"]
    assert [(b["id"], b["created"], b["status"]) for b in listed] == [(batch_id, len(to_create), "complete")]
    table = run("batches").output
    assert batch_id in table and "complete" in table

    refused = run("undo", batch_id, sandbox=demo_sandbox)          # no terminal, no --yes
    assert refused.exit_code != 0 and "--yes" in refused.output
    undone = run("undo", batch_id[:12], "--yes", sandbox=demo_sandbox)
    assert undone.exit_code == 0 and f"deleted {len(to_create)}" in undone.output
    assert _stored_counter(demo_sandbox) == before
    assert json.loads(run("batches", "--format", "json").output)["batches"][0]["status"] == "undone"

    reimport = run("import", SAMPLES, "--config", DEMO_CONFIG, "--yes", sandbox=demo_sandbox)
    assert reimport.exit_code == 0 and f"created {len(to_create)} transactions" in reimport.output
    assert _stored_counter(demo_sandbox) - before == created


def test_rules_set_the_fields_sent_and_review_rows_need_accepting(sandbox, run, tmp_path):
    statement = _qif(tmp_path / "s.qif", [("03/14/2024", "-4.50", "DAILY GRIND SURRY HILLS"),
                                          ("03/15/2024", "-60.00", "WOOLWORTHS 1234"),
                                          ("03/16/2024", "-1.00", "PENDING HOLD"),
                                          ("03/17/2024", "2500.00", "ACME PAYROLL")])
    rules = tmp_path / "rules.yaml"
    rules.write_text("""rules:
  - name: coffee
    if: {payee: {contains: daily grind}}
    then: {category: "Eating Out > Coffee", labels: [coffee, weekday], payee: The Daily Grind, note: flat white}
  - name: holds
    if: {payee: {starts_with: pending}}
    then: {skip: true}
  - name: pay
    if: {amount: {gt: 0}}
    then: {labels: [income], needs_review: true}
""")
    result = run("import", statement, "--account", EVERYDAY, "--rules", rules, "--yes", sandbox=sandbox)
    assert result.exit_code == 0, result.output
    assert "0 for review, 1 by rules" in result.output
    stored = {t["payee"]: t for t in sandbox.transactions(EVERYDAY)}
    assert set(stored) == {"The Daily Grind", "WOOLWORTHS 1234", "ACME PAYROLL"}
    coffee = stored["The Daily Grind"]
    assert (coffee["category_id"], coffee["labels"], coffee["note"], str(coffee["amount"])) == \
        (7011, ["coffee", "weekday"], "flat white", "-4.50")
    assert stored["ACME PAYROLL"]["needs_review"] and stored["ACME PAYROLL"]["labels"] == ["income"]
    assert not stored["WOOLWORTHS 1234"]["needs_review"]



def test_review_rows_are_created_only_when_accepted_and_then_flagged(sandbox, run, tmp_path):
    # A bank-feed row, and a wide review band: "same amount, 2 days later, a partly similar payee"
    # is then a possible duplicate, neither certain nor ruled out.
    (dinner,) = sandbox.store.add_transactions([{
        "transaction_account_id": EVERYDAY, "payee": "Dinner at Mamak", "original_payee": "DINNER AT MAMAK HAYMARKET",
        "amount": Decimal("-55.85"), "date": date(2024, 3, 14), "upload_source": "feed"}])
    config = tmp_path / "psimport.yaml"
    config.write_text("dedupe: {duplicate_threshold: 0.95, review_threshold: 0.3}\n")
    statement = _qif(tmp_path / "s.qif", [("03/16/2024", "-55.85", "HAYMARKET RESTAURANT"),
                                          ("03/19/2024", "-7.00", "Bakery")])
    plan = json.loads(run("preview", statement, "--account", EVERYDAY, "--format", "json", sandbox=sandbox).output)
    review, bakery = plan["transactions"]
    assert (review["action"], review["duplicate_of"], bakery["action"]) == ("review", dinner, "create")
    first = run("import", statement, "--account", EVERYDAY, "--yes", sandbox=sandbox)
    assert "1 for review" in first.output and "HAYMARKET RESTAURANT" in first.output
    assert sorted(t["payee"] for t in sandbox.transactions(EVERYDAY)) == ["Bakery", "Dinner at Mamak"]
    accepted = run("import", statement, "--account", EVERYDAY, "--yes", "--accept-review", sandbox=sandbox)
    assert accepted.exit_code == 0, accepted.output
    stored = {t["payee"]: t for t in sandbox.transactions(EVERYDAY)}
    assert set(stored) == {"Bakery", "Dinner at Mamak", "HAYMARKET RESTAURANT"}
    assert stored["HAYMARKET RESTAURANT"]["needs_review"] and not stored["Bakery"]["needs_review"]


def test_a_refused_row_exits_non_zero_saying_how_to_finish_and_the_rerun_does(sandbox, run, tmp_path):
    statement = _qif(tmp_path / "s.qif", [(f"03/{d}/2024", f"-{d}.00", f"Shop {d}") for d in range(13, 19)])
    sandbox.faults.inject(422, method="POST")
    failed = run("import", statement, "--account", EVERYDAY, "--yes", sandbox=sandbox)
    assert failed.exit_code == 5
    assert "unfinished" in failed.output and "run the same command again to finish" in failed.output
    assert f"psimport import {statement} --account {EVERYDAY} --yes" in failed.output
    assert "Traceback" not in failed.output
    assert len(sandbox.transactions(EVERYDAY)) == 5
    listed = json.loads(run("batches", "--format", "json").output)["batches"]
    assert listed[0]["status"] == "unfinished" and listed[0]["failed"] == 1
    finished = run("import", statement, "--account", EVERYDAY, "--yes", sandbox=sandbox)
    assert finished.exit_code == 0 and "is unfinished" in finished.output, finished.output
    assert sorted(t["payee"] for t in sandbox.transactions(EVERYDAY)) == [f"Shop {d}" for d in range(13, 19)]


def test_a_batch_left_open_with_nothing_to_create_is_completed_without_asking(sandbox, run, tmp_path):
    import sqlite3

    from importer.write.journal import JOURNAL_FILE
    statement = _qif(tmp_path / "s.qif", [("03/14/2024", "-4.50", "Coffee")])
    first = run("import", statement, "--account", EVERYDAY, "--yes", sandbox=sandbox)
    batch_id = re.search(r"Batch (\S+):", first.output).group(1)
    # What a Ctrl-C just after the last create used to leave: every row created, the batch still open.
    with sqlite3.connect(tmp_path / "state" / JOURNAL_FILE) as db:
        db.execute("UPDATE batches SET status = 'open', finished_at = NULL WHERE id = ?", (batch_id,))
    again = run("import", statement, "--account", EVERYDAY, sandbox=sandbox)     # no --yes, no terminal
    assert again.exit_code == 0, again.output
    assert "nothing left to create; marking it complete" in again.output and "(0 to create)" not in again.output
    assert json.loads(run("batches", "--format", "json").output)["batches"][0]["status"] == "complete"
    assert len(sandbox.transactions(EVERYDAY)) == 1


def test_the_import_question_names_where_and_no_ends_cleanly(sandbox, run, tmp_path, monkeypatch):
    import importer.cli
    monkeypatch.setattr(importer.cli, "_can_ask", lambda: True)
    statement = _qif(tmp_path / "s.qif", [("03/14/2024", "-4.50", "Coffee")])
    declined = run("import", statement, "--account", EVERYDAY, sandbox=sandbox, input="n\n")
    assert f"Create 1 transaction in PocketSmith ({sandbox.url})? [y/N]" in declined.stderr
    assert declined.exit_code == 1 and declined.stderr.rstrip().endswith("Nothing was imported.")
    assert "Aborted" not in declined.output and sandbox.transactions(EVERYDAY) == []
    accepted = run("import", statement, "--account", EVERYDAY, sandbox=sandbox, input="y\n")
    assert accepted.exit_code == 0 and len(sandbox.transactions(EVERYDAY)) == 1
    batch_id = re.search(r"Batch (\S+):", accepted.output).group(1)
    kept = run("undo", batch_id, sandbox=sandbox, input="n\n")
    assert f"Delete the 1 transaction batch {batch_id} created in PocketSmith ({sandbox.url})?" in kept.stderr
    assert kept.exit_code == 1 and "Nothing was deleted." in kept.stderr and len(sandbox.transactions(EVERYDAY)) == 1


def test_the_accept_review_question_stands_under_the_plan_it_carries_out(demo_sandbox, run, monkeypatch):
    """The plan above the question counts the rows for review as to create, as many as the question asks."""
    import importer.cli
    monkeypatch.setattr(importer.cli, "_can_ask", lambda: True)
    held = len(demo_sandbox.transactions(510001))
    declined = run("import", SAMPLES, "--config", DEMO_CONFIG, "--accept-review", sandbox=demo_sandbox, input="n\n")
    assert declined.exit_code == 1, declined.output
    assert "155 rows: 28 to create, 127 duplicates, 0 for review, 0 skipped" in declined.stdout
    assert f"Create 28 transactions in PocketSmith ({demo_sandbox.url})? [y/N]" in declined.stderr
    assert len(demo_sandbox.transactions(510001)) == held
    assert "no decisions" in run("decisions", "list", sandbox=demo_sandbox).output.lower()


def test_import_without_a_terminal_or_yes_refuses_and_creates_nothing(sandbox, run, tmp_path):
    statement = _qif(tmp_path / "s.qif", [("03/14/2024", "-4.50", "Coffee")])
    result = run("import", statement, "--account", EVERYDAY, sandbox=sandbox)
    assert result.exit_code != 0 and "--yes" in result.output
    assert sandbox.transactions(EVERYDAY) == []
    assert json.loads(run("batches", "--format", "json").output)["batches"] == []


def test_a_statement_without_an_account_lists_the_users_accounts(sandbox, run, tmp_path):
    statement = _qif(tmp_path / "s.qif", [("03/14/2024", "-4.50", "Coffee")])
    result = run("preview", statement, sandbox=sandbox)
    assert result.exit_code == 3 and "Traceback" not in result.output
    assert "510001  Everyday Account" in result.output and "--account" in result.output


def test_preview_formats_and_out_file(demo_sandbox, run, tmp_path):
    page = tmp_path / "preview.html"
    result = run("preview", SAMPLES, "--config", DEMO_CONFIG, "--format", "html", "--out", page, sandbox=demo_sandbox)
    assert result.exit_code == 0 and page.read_text().startswith("<!DOCTYPE html>")
    csv_text = run("preview", SAMPLES, "--config", DEMO_CONFIG, "--format", "csv", sandbox=demo_sandbox).output
    assert csv_text.splitlines()[0].startswith("index,file,line,transaction_account_id,action")
    table = run("preview", SAMPLES, "--config", DEMO_CONFIG, sandbox=demo_sandbox).output
    assert "to create" in table and "Summary" in table


def test_sandbox_runs_outside_the_clone_use_the_installed_sample_statements(run, tmp_path):
    from importer.config import samples_dir
    assert not (tmp_path / "sample_statements").exists()       # `run` works in an empty folder
    result = run("preview", "sample_statements/", "--sandbox", "--format", "json")
    assert result.exit_code == 0, result.output
    assert f"using the installed sample statements: {samples_dir()}" in result.stderr
    assert {Path(t["file"]).name for t in json.loads(result.stdout)["transactions"]} == \
        {"everyday.ofx", "creditcard.qif", "savings.csv"}
    one = run("preview", "sample_statements/everyday.ofx", "--sandbox", "--format", "json")
    assert one.exit_code == 0 and {t["file"] for t in json.loads(one.stdout)["transactions"]} == \
        {str(samples_dir() / "everyday.ofx")}
    elsewhere = run("preview", "sample_statements/", "--format", "json", "--existing", tmp_path / "x.json")
    assert elsewhere.exit_code != 0 and "sample_statements" in elsewhere.output   # only --sandbox falls back


def test_preview_out_into_a_missing_folder_is_one_error_line(tmp_path):
    empty = tmp_path / "export.json"
    empty.write_text("[]")
    out = tmp_path / "no such folder" / "preview.html"
    result = CliRunner().invoke(cli, ["preview", str(SAMPLES / "everyday.ofx"), "--account", str(EVERYDAY),
                                      "--existing", str(empty), "--out", str(out), "--state-dir", str(tmp_path)])
    assert result.exit_code != 0 and isinstance(result.exception, SystemExit)   # not an OSError traceback
    assert "Traceback" not in result.output
    assert result.output.startswith("Error: ") and str(out) in result.output and not out.exists()


@pytest.mark.parametrize("export,says", [("[1, 2]", "#1 is not a JSON object"),
                                          ('[{"id": 1, "amount": 5}]', "#1 is not a PocketSmith transaction (no date)")])
def test_an_export_that_is_not_transactions_is_one_error_line(tmp_path, export, says):
    path = tmp_path / "export.json"
    path.write_text(export)
    result = CliRunner().invoke(cli, ["preview", str(SAMPLES / "everyday.ofx"), "--account", str(EVERYDAY),
                                      "--existing", str(path), "--state-dir", str(tmp_path)])
    assert result.exit_code != 0 and isinstance(result.exception, SystemExit)   # not a traceback
    assert result.output.startswith(f"Error: {path}: transaction {says}")


def test_offline_preview_from_an_export_finds_duplicates_and_warns_of_unknown_categories(demo_sandbox, run,
                                                                                         tmp_path):
    import httpx
    response = httpx.get(f"{demo_sandbox.url}/transaction_accounts/{EVERYDAY}/transactions",
                         params={"per_page": 1000}, headers={"X-Developer-Key": demo_sandbox.key})
    export = tmp_path / "export.json"
    export.write_text(response.text)
    rules = tmp_path / "offline-rules.yaml"
    rules.write_text("rules:\n  - name: x\n    if: {amount: {lt: 0}}\n    then: {category: No Such Category}\n")
    online = json.loads(run("preview", SAMPLES / "everyday.ofx", "--account", EVERYDAY, "--format", "json",
                            sandbox=demo_sandbox).output)
    result = run("preview", SAMPLES / "everyday.ofx", "--account", EVERYDAY, "--existing", export,
                 "--rules", rules, "--format", "json")
    assert result.exit_code == 0, result.output
    offline = json.loads(result.output)
    assert [t["action"] for t in offline["transactions"]] == [t["action"] for t in online["transactions"]]
    spent = [t for t in offline["transactions"] if t["amount"].startswith("-")]
    assert all(t["category"] == "No Such Category" and t["category_id"] is None for t in spent)
    assert any("No Such Category" in w for w in offline["warnings"])


def test_undo_keeps_what_the_user_changed_and_says_so(sandbox, run, tmp_path):
    statement = _qif(tmp_path / "s.qif", [("03/14/2024", "-4.50", "Coffee"), ("03/15/2024", "-9.00", "Lunch")])
    result = run("import", statement, "--account", EVERYDAY, "--yes", sandbox=sandbox)
    batch_id = re.search(r"Batch (\S+):", result.output).group(1)
    coffee = next(t for t in sandbox.transactions(EVERYDAY) if t["payee"] == "Coffee")
    sandbox.client().update_transaction(coffee["id"], {"labels": ["mine"]})
    undone = run("undo", batch_id, "--yes", sandbox=sandbox)
    assert undone.exit_code == 0
    assert "deleted 1" in undone.output and f"kept #{coffee['id']}" in undone.output and "labels" in undone.output
    assert [t["payee"] for t in sandbox.transactions(EVERYDAY)] == ["Coffee"]


def test_undo_of_a_batch_imported_elsewhere_names_where(sandbox, run, tmp_path):
    statement = _qif(tmp_path / "s.qif", [("03/14/2024", "-4.50", "Coffee")])
    batch_id = re.search(r"Batch (\S+):", run("import", statement, "--account", EVERYDAY, "--yes",
                                               sandbox=sandbox).output).group(1)
    result = run("undo", batch_id, "--yes", "--api-url", "https://api.pocketsmith.com/v2")
    assert result.exit_code == 3 and sandbox.url in result.output
    assert len(sandbox.transactions(EVERYDAY)) == 1


def test_printed_follow_up_commands_keep_the_state_dir_and_api_url(sandbox, run, tmp_path):
    import shlex
    statement = _qif(tmp_path / "s.qif", [("03/14/2024", "-4.50", "Coffee"), ("03/15/2024", "-9.00", "Lunch")])
    imported = run("import", statement, "--account", EVERYDAY, "--yes", sandbox=sandbox).output
    batch_id = re.search(r"Batch (\S+):", imported).group(1)
    undo = shlex.split(re.search(r"Undo with: (.+)", imported).group(1))
    assert undo[:3] == ["psimport", "undo", batch_id]
    assert undo[undo.index("--state-dir") + 1] == str(tmp_path / "state")
    assert undo[undo.index("--api-url") + 1] == sandbox.url

    elsewhere = run("undo", batch_id, "--yes", "--api-url", "https://api.pocketsmith.com/v2").output
    hint = shlex.split(re.search(r"run: (.+)", elsewhere).group(1))
    assert hint[:3] == ["psimport", "undo", batch_id] and hint[hint.index("--api-url") + 1] == sandbox.url
    assert "https://api.pocketsmith.com/v2" not in hint
    done = CliRunner().invoke(cli, [*hint[1:], "--yes"], catch_exceptions=False)   # run from any folder
    assert done.exit_code == 0 and "deleted 2" in done.output, done.output
    assert sandbox.transactions(EVERYDAY) == []


def test_sandbox_anywhere_categorises_with_the_demo_rules_shipped_with_the_samples(run, tmp_path, monkeypatch):
    """Outside a clone (no ./rules.yaml), --sandbox uses the demo config shipped with the samples, and its rules."""
    import importer.config
    monkeypatch.setattr(importer.config, "samples_dir", lambda: SAMPLES)    # this tree's, as a wheel ships them
    monkeypatch.setenv("COLUMNS", "80")
    assert not (tmp_path / "rules.yaml").exists()
    here = run("preview", "sample_statements/", "--sandbox", "--format", "json")
    assert here.exit_code == 0, here.output
    rows = json.loads(here.stdout)["transactions"]
    assert {row["category"] for row in rows} >= {"Transfers", "Groceries"}
    note = [line for line in here.stderr.splitlines() if line.strip()]
    assert note[0].startswith("psimport: no sample_statements here;") and all(len(line) <= 80 for line in note)
    monkeypatch.chdir(REPO)                                                 # in the clone: the same result
    clone = run("preview", "sample_statements/", "--sandbox", "--format", "json")
    assert [row["category"] for row in json.loads(clone.stdout)["transactions"]] == [row["category"] for row in rows]


def test_the_shipped_demo_rules_are_the_worked_example():
    assert (SAMPLES / "rules.yaml").resolve() == (REPO / "rules.yaml").resolve()      # one file, not a copy
