"""`import --enrich`: fill only the empty fields of the PocketSmith transactions statement rows duplicate, through
PUT /transactions/{id} against a real sandbox; a rerun sends nothing; undo empties them again, keeping the
user's changes."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from click.testing import CliRunner

from importer.cli import cli
from importer.enrich import fills_for
from importer.plan import Action, PlanRow
from importer.pocketsmith.models import PsTransaction
from importer.record import Transaction

EVERYDAY = 510001
GROCERIES, COFFEE, ELECTRICITY = "Groceries", "Eating Out > Coffee", "Bills > Electricity"


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")

    def invoke(*args, sandbox):
        monkeypatch.setenv("POCKETSMITH_DEVELOPER_KEY", sandbox.key)
        return CliRunner().invoke(cli, [*map(str, args), "--api-url", sandbox.url, "--state-dir",
                                        str(tmp_path / "state")], catch_exceptions=False)
    return invoke


@pytest.fixture
def household(sandbox, tmp_path):
    """Three feed transactions, a statement that duplicates them (and one new row), and rules."""
    client = sandbox.client()
    ids = {c.path: c.id for c in client.categories()}
    feed = [  # what the bank feed created: cleaned payees, no memo; the coffee categorised by the user
        {"payee": "Woolworths", "amount": Decimal("-87.35"), "date": date(2026, 11, 2)},
        {"payee": "Daily Grind", "amount": Decimal("-4.75"), "date": date(2026, 11, 3), "category_id": ids[COFFEE]},
        {"payee": "AGL", "amount": Decimal("-129.92"), "date": date(2026, 11, 4), "memo": "typed by me"},
    ]
    held = [client.create_transaction(EVERYDAY, body) for body in feed]
    statement = tmp_path / "november.qif"
    statement.write_text("!Type:Bank\n"
                         "D2026-11-02\nT-87.35\nPWOOLWORTHS 1234 SYDNEY\nMCARD 4321 VALUE DATE 01/11\nN000123\n^\n"
                         "D2026-11-03\nT-4.75\nPDAILY GRIND SURRY HILLS\nMCARD 4321\n^\n"
                         "D2026-11-04\nT-129.92\nPAGL ENERGY BPAY\nMBPAY 23796\n^\n"
                         "D2026-11-05\nT-12.00\nPNEWSAGENT\n^\n")
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n"
                     "  - name: groceries\n    if: {payee: {contains: woolworths}}\n"
                     f"    then: {{category: '{GROCERIES}', labels: [food], note: weekly shop}}\n"
                     "  - name: coffee\n    if: {payee: {contains: grind}}\n"
                     f"    then: {{category: '{ELECTRICITY}', labels: [coffee]}}\n")
    return held, statement, rules, ids


def _puts(sandbox) -> list[str]:
    return [r.path for r in sandbox.requests if r.method == "PUT"]


def test_enrich_fills_only_empty_fields_a_rerun_sends_nothing_and_undo_restores(sandbox, household, run):
    (groceries, coffee, agl), statement, rules, ids = household
    args = (statement, "--account", EVERYDAY, "--rules", rules)

    shown = run("preview", *args, "--enrich", sandbox=sandbox)
    assert shown.exit_code == 0, shown.output
    assert "2 to fill in by import --enrich (their empty fields only)" in shown.output
    assert f"{groceries.id}  memo: WOOLWORTHS 1234 SYDNEY CARD 4321 VALUE DATE 01/11; note: weekly shop; " \
           f"labels: food; category: {GROCERIES}; cheque number: 000123" in shown.output
    plan = json.loads(run("preview", *args, "--format", "json", sandbox=sandbox).output)
    fills = {t["duplicate_of"]: t["enrich"] for t in plan["transactions"] if t["action"] == "duplicate"}
    # The user's category on the coffee stays; the memo typed on the AGL bill stays.
    assert fills[coffee.id] == {"memo": "DAILY GRIND SURRY HILLS CARD 4321", "labels": ["coffee"]}
    assert fills[agl.id] == {}
    assert _puts(sandbox) == []                                   # previews send nothing

    result = run("import", *args, "--enrich", "--yes", sandbox=sandbox)
    assert result.exit_code == 0, result.output
    assert "created 1 transactions" in result.output
    assert "Filled in 7 empty fields of 2 transactions PocketSmith already held." in result.output
    client = sandbox.client()
    now = client.get_transaction(groceries.id)
    assert (now.memo, now.note, now.labels, now.category_id, now.cheque_number) == (
        "WOOLWORTHS 1234 SYDNEY CARD 4321 VALUE DATE 01/11", "weekly shop", ["food"], ids[GROCERIES], "000123")
    assert now.payee == "Woolworths" and now.amount == Decimal("-87.35")       # nothing else touched
    now = client.get_transaction(coffee.id)
    assert (now.memo, now.labels, now.category_id) == ("DAILY GRIND SURRY HILLS CARD 4321", ["coffee"], ids[COFFEE])
    assert client.get_transaction(agl.id).memo == "typed by me"
    assert sorted(_puts(sandbox)) == sorted(f"/v2/transactions/{i}" for i in (groceries.id, coffee.id))
    batch = json.loads(run("batches", "--format", "json", sandbox=sandbox).output)["batches"][0]
    assert (batch["created"], batch["filled"], batch["status"]) == (1, 2, "complete")

    again = run("import", *args, "--enrich", "--yes", sandbox=sandbox)
    assert again.exit_code == 0 and "Nothing to import" in again.output
    assert len(_puts(sandbox)) == 2                               # a rerun sends nothing

    # The user edits the note in PocketSmith; undo empties what it filled and leaves the note alone.
    client.update_transaction(groceries.id, {"note": "for the party"})
    undone = run("undo", batch["id"], "--yes", sandbox=sandbox)
    assert undone.exit_code == 0, undone.output
    assert "emptied 6 fields it had filled in 2 transactions; left alone 1 changed" in undone.output
    assert f"kept #{groceries.id}'s note: changed in PocketSmith since" in undone.output
    now = client.get_transaction(groceries.id)
    assert (now.memo, now.note, now.labels, now.category_id, now.cheque_number) == (
        None, "for the party", [], None, None)
    now = client.get_transaction(coffee.id)
    assert (now.memo, now.labels, now.category_id) == (None, [], ids[COFFEE])
    assert not [t for t in sandbox.transactions(EVERYDAY) if t["payee"] == "NEWSAGENT"]   # the create undone too


def _row(**fields) -> PlanRow:
    record = Transaction(date(2026, 11, 2), Decimal("-87.35"), "WOOLWORTHS", "WOOLWORTHS 1234", memo="CARD 4321")
    matched = PsTransaction(id=9, date=date(2026, 11, 2), amount=Decimal("-87.35"), payee="Woolworths",
                            **fields.pop("matched", {}))
    return PlanRow(index=0, record=record, account_id=1, action=fields.pop("action", Action.DUPLICATE),
                   matched=matched, duplicate_of=9, **fields)


def test_fills_are_only_for_duplicates_of_posted_transactions_and_never_replace_a_value():
    assert fills_for(_row(category_id=5, labels=["food"])) == {"memo": "WOOLWORTHS 1234 CARD 4321",
                                                                "labels": ["food"], "category_id": 5}
    assert fills_for(_row(category_id=5, matched={"category_id": 7, "labels": ["mine"], "memo": "x"})) == {}
    assert fills_for(_row(action=Action.REVIEW, category_id=5)) == {}
    assert fills_for(_row(category_id=5, matched={"status": "pending"})) == {}     # the feed replaces it
    assert fills_for(_row(duplicate_of_row=3, category_id=5)) == {}                # its first copy fills
