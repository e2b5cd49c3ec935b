"""Money that adds up: balance checks, running-balance breaks, gaps and overlaps, transfers, foreign amounts.

Through the command line against a real sandbox over HTTP (its accounts: 510001 Everyday, starting at
2431.18; 510002 Visa, number ending 4321; 510003 Saver, starting at 10480.55), offline against an
export the sandbox wrote, and the pairing itself on plain plan rows.
"""

from __future__ import annotations

import csv
import json
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from importer import Sandbox
from importer.cli import cli
from importer.parsers import ParseOptions, parse_file
from importer.plan import Action, PlanRow
from importer.pocketsmith.models import PsTransaction
from importer.record import Statement, Transaction
from importer.transfers import TransferSettings, apply_transfers, pair_transfers

EVERYDAY, VISA, SAVER = 510001, 510002, 510003
EVERYDAY_START, SAVER_START = Decimal("2431.18"), Decimal("10480.55")


@pytest.fixture
def run(tmp_path, monkeypatch):
    """psimport in a fresh folder and state dir; `sandbox=` points it at that sandbox."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")

    def invoke(*args, sandbox=None):
        if sandbox is not None:
            monkeypatch.setenv("POCKETSMITH_DEVELOPER_KEY", sandbox.key)
            args = (*args, "--api-url", sandbox.url)
        result = CliRunner().invoke(cli, [*map(str, args), "--state-dir", str(tmp_path / "state")],
                                    catch_exceptions=False)
        return result
    return invoke


def _ofx(path: Path, rows, balance: Decimal | None = None, as_of: date | None = None,
         account: str = "06200012345678") -> Path:
    """An OFX 1 statement: rows of (date, amount, name, extra tags)."""
    body = []
    for n, (day, amount, name, *extra) in enumerate(rows):
        body += ["<STMTTRN>", f"<TRNTYPE>{'DEBIT' if amount < 0 else 'CREDIT'}", f"<DTPOSTED>{day:%Y%m%d}",
                 f"<TRNAMT>{amount}", f"<FITID>T{n:04d}{day:%Y%m%d}", f"<NAME>{name}", *extra, "</STMTTRN>"]
    start, end = min(r[0] for r in rows), max(r[0] for r in rows)
    ledger = [] if balance is None else ["<LEDGERBAL>", f"<BALAMT>{balance}", f"<DTASOF>{(as_of or end):%Y%m%d}",
                                         "</LEDGERBAL>"]
    path.write_text("\n".join([
        "OFXHEADER:100", "DATA:OFXSGML", "VERSION:102", "SECURITY:NONE", "ENCODING:USASCII", "CHARSET:1252",
        "COMPRESSION:NONE", "OLDFILEUID:NONE", "NEWFILEUID:NONE", "", "<OFX>", "<BANKMSGSRSV1>", "<STMTTRNRS>",
        "<TRNUID>1", "<STMTRS>", "<CURDEF>AUD", "<BANKACCTFROM>", "<BANKID>062-000", f"<ACCTID>{account}",
        "<ACCTTYPE>CHECKING", "</BANKACCTFROM>", "<BANKTRANLIST>", f"<DTSTART>{start:%Y%m%d}",
        f"<DTEND>{end:%Y%m%d}", *body, "</BANKTRANLIST>", *ledger, "</STMTRS>", "</STMTTRNRS>",
        "</BANKMSGSRSV1>", "</OFX>", ""]))
    return path


def _qif(path: Path, rows) -> Path:
    lines = ["!Type:CCard"]
    for day, amount, payee in rows:
        lines += [f"D{day:%Y-%m-%d}", f"T{amount}", f"P{payee}", "^"]
    path.write_text("\n".join(lines) + "\n")
    return path


def _feed(sandbox, account: int, rows) -> list[int]:
    """Transactions the bank feed already brought into PocketSmith: (date, amount, payee)."""
    return sandbox.store.add_transactions([{"transaction_account_id": account, "date": day, "amount": amount,
                                            "payee": payee, "upload_source": "feed"} for day, amount, payee in rows])


def _preview(run, *args, sandbox=None) -> dict:
    result = run("preview", *args, "--format", "json", sandbox=sandbox)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _balance(plan: dict, account: int) -> dict:
    (entry,) = [b for b in plan["balances"] if b["transaction_account_id"] == account]
    return entry


# ── balance check ────────────────────────────────────────────────────────────────────────────

def test_a_balance_that_agrees_in_preview_json_table_and_import(sandbox, run, tmp_path):
    _feed(sandbox, EVERYDAY, [(date(2026, 9, 2), Decimal("-50.00"), "WOOLWORTHS"),
                              (date(2026, 9, 5), Decimal("-20.00"), "COLES")])
    closing = EVERYDAY_START - Decimal("50.00") - Decimal("20.00") - Decimal("30.00")
    statement = _ofx(tmp_path / "everyday.ofx", [(date(2026, 9, 2), Decimal("-50.00"), "WOOLWORTHS"),
                                                 (date(2026, 9, 5), Decimal("-20.00"), "COLES"),
                                                 (date(2026, 9, 8), Decimal("-30.00"), "BP EXPRESS")],
                     balance=closing, as_of=date(2026, 9, 10))
    plan = _preview(run, statement, "--account", EVERYDAY, sandbox=sandbox)
    assert plan["summary"]["create"] == 1 and plan["summary"]["duplicate"] == 2
    assert _balance(plan, EVERYDAY) == {
        "transaction_account_id": EVERYDAY, "date": "2026-09-10", "statement_closing": str(closing),
        "pocketsmith_after": str(closing), "difference": "0.00", "status": "agrees", "reason": None}
    assert not [w for w in plan["warnings"] if "balance" in w]

    table = run("preview", statement, "--account", EVERYDAY, sandbox=sandbox)
    (line,) = [line for line in table.output.splitlines() if "Everyday Account" in line and "2026-09-10" in line]
    assert str(closing) in line and line.rstrip(" │").endswith("agrees")

    page = tmp_path / "plan.html"
    assert run("preview", statement, "--account", EVERYDAY, "--format", "html", "--out", page,
               sandbox=sandbox).exit_code == 0
    html = page.read_text()
    assert "<summary>Balances: 1 agrees</summary>" in html
    assert f"Balance of Everyday Account on 2026-09-10: statement {closing}, after import {closing}: agrees" in html

    done = run("import", statement, "--account", EVERYDAY, "--yes", sandbox=sandbox)
    assert done.exit_code == 0, done.output
    assert "agrees" in done.output                              # the plan an import shows before it writes
    again = sandbox.client().transaction_accounts()
    assert next(a for a in again if a.id == EVERYDAY).current_balance == closing


def test_a_balance_that_differs_by_a_row_the_file_lost_offline(run, tmp_path):
    with Sandbox() as sandbox:          # the feed's interest, created over HTTP, then exported as the API lists it
        sandbox.client().create_transaction(SAVER, {"payee": "CREDIT INTEREST", "amount": Decimal("19.00"),
                                                     "date": date(2026, 9, 1)})
        export = sandbox.export(tmp_path / "export.json", SAVER)
    # CommBank's export, newest first; the bank's -100.00 on 10 Sep is missing from the file.
    statement = tmp_path / "savings.csv"
    statement.write_text('"14/09/2026","+250.00","TRANSFER FROM EVERYDAY 5678","+10899.55"\n'
                         '"07/09/2026","+250.00","TRANSFER FROM EVERYDAY 5678","+10749.55"\n'
                         '"01/09/2026","+19.00","CREDIT INTEREST","+10499.55"\n')
    plan = _preview(run, statement, "--account", SAVER, "--mapping", "cba", "--existing", export)
    entry = _balance(plan, SAVER)
    assert entry["status"] == "differs" and entry["difference"] == "-100.00"
    assert entry["statement_closing"] == "10899.55" and entry["pocketsmith_after"] == "10999.55"
    assert "a row the export lost" in entry["reason"] and "line 1" in entry["reason"]
    breaks = [w for w in plan["warnings"] if w.startswith("savings.csv line")]
    assert breaks == ["savings.csv line 1: the running balance breaks: 10749.55 (line 2) + 250.00 = 10999.55, "
                      "but the file says 10899.55 (off by -100.00): a row the export lost between 7 Sep 2026 and "
                      "14 Sep 2026, or rows out of order"]
    assert any(w.startswith(f"{SAVER}: the balance on 14 Sep 2026 differs by -100.00") for w in plan["warnings"])


def test_a_statement_without_a_closing_balance_is_unknown_and_says_why(sandbox, run, tmp_path):
    card = _qif(tmp_path / "card.qif", [(date(2026, 9, 3), Decimal("-12.00"), "NETFLIX")])
    plan = _preview(run, card, "--account", VISA, sandbox=sandbox)
    assert _balance(plan, VISA)["status"] == "unknown"
    assert _balance(plan, VISA)["reason"] == "the statement gives no closing balance"


def test_a_difference_that_the_rows_for_review_make_up_says_so(sandbox, run, tmp_path):
    _feed(sandbox, EVERYDAY, [(date(2026, 9, 2), Decimal("-4.50"), "Daily Grind")])
    rows = [(date(2026, 9, 1), Decimal("-4.50"), "EFTPOS THE DAILY GRIND"),
            (date(2026, 9, 3), Decimal("-4.50"), "EFTPOS THE DAILY GRIND")]
    statement = _ofx(tmp_path / "everyday.ofx", rows, balance=EVERYDAY_START - Decimal("9.00"))
    plan = _preview(run, statement, "--account", EVERYDAY, sandbox=sandbox)
    assert plan["summary"]["review"] == 2
    entry = _balance(plan, EVERYDAY)
    assert entry["difference"] == "-4.50"
    assert entry["reason"].startswith("1 of the 2 rows for review, not created, makes up the difference")


def test_the_advice_on_rows_for_review_names_the_new_and_the_duplicates_and_never_accept_review(demo_sandbox, run):
    """The demo: two coffees and a bill for review, one coffee new. --accept-review would create all three."""
    samples = Path(__file__).resolve().parents[1] / "sample_statements"
    config = samples / "psimport.yaml"
    entry = _balance(_preview(run, samples, "--config", config, sandbox=demo_sandbox), EVERYDAY)
    assert entry["difference"] == "-4.50"
    reason = entry["reason"]
    assert "accept-review" not in reason
    assert "probably new: everyday.ofx line 618 or everyday.ofx line 642 (the same amount)" in reason
    assert "probably duplicates: everyday.ofx line 443, and the other of those" in reason
    # The command to run next, with this run's options (the state dir, the config, the sandbox's URL).
    assert re.search(r"answer each with: psimport review \S*everyday\.ofx --api-url \S+ --config \S+ --state-dir", reason)

    # Created all the same: the difference is now the rows created twice, and it says which and by which batch.
    imported = run("import", samples, "--config", config, "--accept-review", "--yes", sandbox=demo_sandbox)
    batch = re.search(r"psimport undo (\S+)", imported.output).group(1)
    entry = _balance(_preview(run, samples, "--config", config, sandbox=demo_sandbox), EVERYDAY)
    assert entry["difference"] == "134.42"
    reason = entry["reason"]
    assert reason.startswith(f"rows created twice by batch {batch}, though PocketSmith held them already, make up "
                             "the difference (everyday.ofx line 443 as #")
    assert "everyday.ofx line 618 as #" in reason and f"psimport undo {batch}" in reason


def test_the_plan_accept_review_shows_is_the_one_it_creates_and_names_the_probable_duplicates(demo_sandbox, run):
    """The plan shown before confirming counts the rows for review as created, its balance after import adds
    them, and it names the ones the balance says PocketSmith holds already; the import then does just that."""
    samples = Path(__file__).resolve().parents[1] / "sample_statements"
    config = samples / "psimport.yaml"
    imported = run("import", samples, "--config", config, "--accept-review", "--yes", sandbox=demo_sandbox)
    assert imported.exit_code == 0, imported.output
    text = " ".join(re.sub(r"[│╭╮╰╯─]", " ", imported.output).split())
    assert "155 rows: 28 to create, 127 duplicates, 0 for review, 0 skipped" in text
    assert re.search(r"Everyday Account 2026-11-20 7351\.22 7216\.80 differs by 134\.42", text)
    assert ("the 3 rows for review that --accept-review creates include probable duplicates, which would be "
            "created twice: everyday.ofx line 443, and everyday.ofx line 618 or everyday.ofx line 642 "
            "(the same amount)") in text
    assert re.search(r"created 28 transactions; skipped 127 duplicates, 0 for review", text)
    # What the plan said PocketSmith would hold after the import is what it holds.
    entry = _balance(_preview(run, samples, "--config", config, sandbox=demo_sandbox), EVERYDAY)
    assert (entry["pocketsmith_after"], entry["difference"]) == ("7216.80", "134.42")


# ── gaps and overlaps ─────────────────────────────────────────────────────────────────────────

def test_a_feed_gap_that_the_statement_fills(sandbox, run, tmp_path):
    feed_days = [date(2026, 9, d) for d in range(1, 31, 2)] + [date(2026, 10, d) for d in (1, 2, 18, 20, 22, 24)]
    rows = [(day, Decimal("-3.00") - Decimal(n), f"SHOP {n}") for n, day in enumerate(feed_days)]
    _feed(sandbox, EVERYDAY, rows)
    in_the_gap = [(date(2026, 10, d), Decimal("-7.00"), "KMART") for d in (5, 9, 14)]
    statement = _ofx(tmp_path / "everyday.ofx", rows + in_the_gap)
    plan = _preview(run, statement, "--account", EVERYDAY, sandbox=sandbox)
    (coverage,) = plan["coverage"]
    assert coverage["feed_pauses"] == [{"start": "2026-10-03", "end": "2026-10-17", "rows_to_create": 3}]
    assert coverage["notes"] == [f"{EVERYDAY} Everyday Account: the feed has nothing from 3 Oct 2026 to 17 Oct 2026; "
                                 "this statement fills it (3 rows to create)"]
    table = run("preview", statement, "--account", EVERYDAY, sandbox=sandbox)
    assert "note: 510001 Everyday Account: the feed has nothing from 3 Oct 2026 to 17 Oct 2026" in table.output


def test_a_statement_that_leaves_days_uncovered_since_the_last_import(sandbox, run, tmp_path):
    august = _qif(tmp_path / "august.qif", [(date(2026, 8, d), Decimal("-10.00") - d, f"SHOP {d}")
                                            for d in (1, 9, 17, 31)])
    assert run("import", august, "--account", VISA, "--yes", sandbox=sandbox).exit_code == 0
    september = _qif(tmp_path / "september.qif", [(date(2026, 9, d), Decimal("-20.00") - d, f"CAFE {d}")
                                                  for d in (10, 18, 30)])
    plan = _preview(run, september, "--account", VISA, sandbox=sandbox)
    (coverage,) = plan["coverage"]
    assert [(p["start"], p["end"]) for p in coverage["imported_before"]] == [("2026-08-01", "2026-08-31")]
    (warning,) = [w for w in plan["warnings"] if "uncovered" in w]
    assert warning.startswith(f"{VISA} Visa Credit Card: this statement leaves 1 Sep 2026 to 9 Sep 2026 uncovered "
                              "(since the import of batch ")
    # The same August file again overlaps its own import all the way, and leaves nothing uncovered.
    again = _preview(run, august, "--account", VISA, sandbox=sandbox)
    assert "overlaps the import of batch" in again["coverage"][0]["notes"][0]
    assert not [w for w in again["warnings"] if "uncovered" in w]


# ── transfers ─────────────────────────────────────────────────────────────────────────────────

def _household(tmp_path: Path, extra_config: str = "") -> Path:
    config = tmp_path / "psimport.yaml"
    config.write_text("accounts:\n"
                      f"  - {{glob: 'everyday*.ofx', transaction_account_id: {EVERYDAY}}}\n"
                      f"  - {{glob: 'card*.qif', transaction_account_id: {VISA}}}\n" + extra_config)
    return config


def _two_statements(tmp_path: Path) -> list[Path]:
    everyday = _ofx(tmp_path / "everyday.ofx", [
        (date(2026, 10, 1), Decimal("-850.00"), "TRANSFER TO VISA CARD 4321"),
        (date(2026, 10, 2), Decimal("-120.00"), "JB HI FI BROADWAY"),
        (date(2026, 10, 5), Decimal("-300.00"), "TRANSFER TO SAVINGS"),
        (date(2026, 10, 15), Decimal("-400.00"), "TRANSFER TO VISA CARD 4321"),
        (date(2026, 10, 16), Decimal("3245.67"), "SALARY ACME"),
    ])
    card = _qif(tmp_path / "card.qif", [
        (date(2026, 10, 2), Decimal("850.00"), "PAYMENT RECEIVED THANK YOU"),
        (date(2026, 10, 3), Decimal("120.00"), "REFUND JB HI FI BROADWAY"),
        (date(2026, 10, 7), Decimal("-42.00"), "AMAZON MKTPLC"),
        (date(2026, 10, 16), Decimal("400.00"), "PAYMENT RECEIVED THANK YOU"),
    ])
    return [everyday, card]


def test_both_sides_of_two_repayments_and_one_already_in_pocketsmith_are_paired(sandbox, run, tmp_path):
    (saver_side,) = _feed(sandbox, SAVER, [(date(2026, 10, 6), Decimal("300.00"), "TRANSFER FROM EVERYDAY 5678")])
    config = _household(tmp_path, "transfers: {category: Transfers}\n")
    files = _two_statements(tmp_path)
    plan = _preview(run, *files, "--config", config, sandbox=sandbox)
    rows = {(Path(r["file"]).name, r["line"]): r for r in plan["transactions"]}
    by_payee = {(Path(r["file"]).name, r["date"], r["payee"]): r for r in plan["transactions"]}
    out_850 = by_payee[("everyday.ofx", "2026-10-01", "TRANSFER TO VISA CARD 4321")]
    in_850 = by_payee[("card.qif", "2026-10-02", "PAYMENT RECEIVED THANK YOU")]
    out_400 = by_payee[("everyday.ofx", "2026-10-15", "TRANSFER TO VISA CARD 4321")]
    in_400 = by_payee[("card.qif", "2026-10-16", "PAYMENT RECEIVED THANK YOU")]
    out_300 = by_payee[("everyday.ofx", "2026-10-05", "TRANSFER TO SAVINGS")]
    assert out_850["transfer_with"] == {"index": in_850["index"]} and in_850["transfer_with"] == {"index": out_850["index"]}
    assert out_400["transfer_with"] == {"index": in_400["index"]} and in_400["transfer_with"] == {"index": out_400["index"]}
    assert out_300["transfer_with"] == {"transaction_id": saver_side}
    paired = [out_850, in_850, out_400, in_400, out_300]
    assert all(r["is_transfer"] and r["category"] == "Transfers" and r["category_id"] for r in paired)
    others = [r for r in rows.values() if r not in paired]
    assert len(others) == 4 and not any(r["is_transfer"] or r["transfer_with"] for r in others)
    assert out_300["reasons"][-1] == f"transfer to {SAVER} NetBank Saver: #{saver_side} in PocketSmith (1 day later)"
    assert in_850["reasons"][-1] == (f"transfer from {EVERYDAY} Everyday Account: line {out_850['line']} of "
                                     "everyday.ofx (1 day earlier)")

    sheet = list(csv.DictReader(run("preview", *files, "--config", config, "--format", "csv",
                                    sandbox=sandbox).output.splitlines()))
    assert {r["index"]: r["transfer_with"] for r in sheet if r["transfer_with"]} == {
        str(out_850["index"]): f"index {in_850['index']}", str(in_850["index"]): f"index {out_850['index']}",
        str(out_400["index"]): f"index {in_400['index']}", str(in_400["index"]): f"index {out_400['index']}",
        str(out_300["index"]): f"#{saver_side}"}

    table = run("preview", *files, "--config", config, sandbox=sandbox)
    (line,) = [line for line in table.output.splitlines() if "TRANSFER TO SAVINGS" in line]
    assert f"#{saver_side}" in line and "Transfers" in line

    done = run("import", *files, "--config", config, "--yes", sandbox=sandbox)
    assert done.exit_code == 0, done.output
    stored = [t for t in sandbox.transactions() if t["id"] != saver_side]
    marked = sorted((t["transaction_account_id"], t["amount"]) for t in stored if t["is_transfer"])
    assert marked == [(EVERYDAY, Decimal("-850.00")), (EVERYDAY, Decimal("-400.00")), (EVERYDAY, Decimal("-300.00")),
                      (VISA, Decimal("400.00")), (VISA, Decimal("850.00"))]
    assert len(stored) == 9
    assert not next(t for t in sandbox.transactions(SAVER) if t["id"] == saver_side)["is_transfer"]   # not ours


def test_a_rule_with_is_transfer_false_keeps_its_rows_out_of_every_pair(sandbox, run, tmp_path):
    config = _household(tmp_path)
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - name: not-a-repayment\n    if: {payee: {contains: payment received}}\n"
                     "    then: {is_transfer: false}\n")
    plan = _preview(run, *_two_statements(tmp_path), "--config", config, "--rules", rules, sandbox=sandbox)
    assert not any(r["transfer_with"] for r in plan["transactions"] if "VISA" in r["payee"] or
                   "PAYMENT" in r["payee"])
    assert not any(r["is_transfer"] for r in plan["transactions"])


def _row(index: int, account: int, day: date, amount: str, payee: str, file: str = "a.ofx") -> PlanRow:
    record = Transaction(day, Decimal(amount), payee, payee, file=file, line=index + 1)
    return PlanRow(index=index, record=record, account_id=account, action=Action.CREATE, payee=payee)


def test_a_repayment_that_two_accounts_fit_alike_is_not_paired_and_says_so():
    rows = [_row(0, EVERYDAY, date(2026, 10, 1), "-500.00", "TRANSFER OUT"),
            _row(1, VISA, date(2026, 10, 2), "500.00", "PAYMENT RECEIVED", "card.qif"),
            _row(2, SAVER, date(2026, 10, 2), "500.00", "TRANSFER IN", "saver.csv")]
    pairs, unsure = pair_transfers(rows, {}, {})
    assert pairs == []
    apply_transfers(pairs, unsure, rows)
    assert not any(r.is_transfer for r in rows)
    assert rows[0].reasons == ["maybe a transfer with line 2 of card.qif or line 3 of saver.csv: which of them "
                               "cannot be told, so it is not paired (a rule with is_transfer can say)"]
    assert "line 1 of a.ofx" in rows[1].reasons[0]


def test_identical_transfers_are_interchangeable_and_pair_one_to_one():
    rows = [_row(0, EVERYDAY, date(2026, 10, 1), "-50.00", "TRANSFER TO SAVINGS"),
            _row(1, EVERYDAY, date(2026, 10, 1), "-50.00", "TRANSFER TO SAVINGS"),
            _row(2, SAVER, date(2026, 10, 1), "50.00", "TRANSFER FROM EVERYDAY", "saver.csv")]
    pairs, unsure = pair_transfers(rows, {}, {})
    apply_transfers(pairs, unsure, rows)
    assert [r.is_transfer for r in rows].count(True) == 2 and rows[2].transfer_with in ({"index": 0}, {"index": 1})
    assert unsure == {}


def test_a_run_of_equal_daily_transfers_pairs_every_day_with_the_next():
    days = [date(2026, 10, d) for d in range(1, 11)]
    rows = [_row(k, EVERYDAY, day, "-50.00", "TRANSFER TO SAVINGS") for k, day in enumerate(days)]
    rows += [_row(10 + k, SAVER, date.fromordinal(day.toordinal() + 1), "50.00", "TRANSFER FROM EVERYDAY",
                  "saver.csv") for k, day in enumerate(days)]
    pairs, unsure = pair_transfers(rows, {}, {})         # one cluster of 20 sides: importer.assignment
    assert sorted((p.out.row.index, p.into.row.index) for p in pairs) == [(k, 10 + k) for k in range(10)]
    assert unsure == {}


def test_the_closer_date_and_the_other_accounts_digits_win():
    rows = [_row(0, EVERYDAY, date(2026, 10, 1), "-200.00", "TFR 4321"),
            _row(1, VISA, date(2026, 10, 4), "200.00", "PAYMENT", "card.qif"),
            _row(2, SAVER, date(2026, 10, 2), "200.00", "TRANSFER IN", "saver.csv")]
    pairs, _ = pair_transfers(rows, {}, {VISA: ["4564 XXXX XXXX 4321"], SAVER: ["06200087650009"]})
    assert [(p.out.row.index, p.into.row.index) for p in pairs] == [(0, 1)]      # the Visa's digits, 3 days later
    late = [_row(0, EVERYDAY, date(2026, 10, 10), "-80.00", "TRANSFER"),
            _row(1, SAVER, date(2026, 10, 3), "80.00", "TRANSFER IN", "saver.csv")]
    assert pair_transfers(late, {}, {})[0] == []        # money does not arrive a week before it leaves
    held = {SAVER: [PsTransaction(id=9, date=date(2026, 10, 11), amount=Decimal("80.00"), payee="TRANSFER IN",
                                  transaction_account_id=SAVER)]}
    (pair,) = pair_transfers(late, held, {}, TransferSettings(days=2))[0]
    assert pair.into.held.id == 9


# ── foreign amounts ───────────────────────────────────────────────────────────────────────────

def test_a_foreign_ofx_row_is_kept_and_its_original_goes_into_the_note(sandbox, run, tmp_path):
    statement = _ofx(tmp_path / "everyday.ofx", [
        (date(2026, 9, 3), Decimal("-64.31"), "AMAZON US", "<ORIGCURRENCY>", "<CURRATE>1.5312", "<CURSYM>USD",
         "</ORIGCURRENCY>"),
        (date(2026, 9, 4), Decimal("-5.00"), "COFFEE")])
    (parsed,) = parse_file(statement)
    assert parsed.transactions[0].foreign == (Decimal("-42.00"), "USD", Decimal("1.5312"))
    assert parsed.transactions[1].foreign is None
    parse_json = json.loads(run("parse", statement, "--format", "json").output)
    assert parse_json["statements"][0]["transactions"][0]["foreign"] == {"amount": "-42.00", "currency": "USD",
                                                                         "rate": "1.5312"}
    plan = _preview(run, statement, "--account", EVERYDAY, sandbox=sandbox)
    assert [r["note"] for r in plan["transactions"]] == ["USD 42.00 @ 1.5312", None]
    assert run("import", statement, "--account", EVERYDAY, "--yes", sandbox=sandbox).exit_code == 0
    (stored,) = [t for t in sandbox.transactions(EVERYDAY) if t["payee"] == "AMAZON US"]
    assert stored["amount"] == Decimal("-64.31") and stored["note"] == "USD 42.00 @ 1.5312"


def test_a_foreign_camt_entry_and_a_csv_column_are_kept(tmp_path):
    camt = tmp_path / "statement.xml"
    camt.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">'
        "<BkToCstmrStmt><GrpHdr><MsgId>1</MsgId></GrpHdr><Stmt><Id>S1</Id>"
        "<Acct><Id><IBAN>NL91ABNA0417164300</IBAN></Id><Ccy>EUR</Ccy></Acct>"
        '<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">100.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>'
        "<Dt><Dt>2024-03-31</Dt></Dt></Bal>"
        '<Ntry><Amt Ccy="EUR">38.20</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts>BOOK</Sts>'
        "<BookgDt><Dt>2024-03-05</Dt></BookgDt><NtryDtls><TxDtls><AmtDtls>"
        '<InstdAmt><Amt Ccy="USD">42.00</Amt><CcyXchg><SrcCcy>USD</SrcCcy><TrgtCcy>EUR</TrgtCcy>'
        "<XchgRate>0.9095</XchgRate></CcyXchg></InstdAmt></AmtDtls>"
        "<RltdPties><Cdtr><Nm>AMAZON US</Nm></Cdtr></RltdPties></TxDtls></NtryDtls></Ntry>"
        "</Stmt></BkToCstmrStmt></Document>\n")
    (statement,) = parse_file(camt)
    assert statement.transactions[0].amount == Decimal("-38.20")
    assert statement.transactions[0].foreign == (Decimal("-42.00"), "USD", Decimal("0.9095"))
    assert (statement.closing_balance, statement.closing_date) == (Decimal("100.00"), date(2024, 3, 31))

    mapping = tmp_path / "card.yaml"
    mapping.write_text("name: card-abroad\ncolumns: {date: Date, amount: Amount, payee: Description, "
                       "original_amount: Foreign amount, original_currency: Currency, exchange_rate: Rate}\n"
                       "date_format: '%Y-%m-%d'\ncurrency: AUD\n")
    csv = tmp_path / "card.csv"
    csv.write_text("Date,Amount,Description,Foreign amount,Currency,Rate\n"
                   "2026-09-03,-64.31,AMAZON US,-42.00,USD,1.5312\n2026-09-04,-5.00,COFFEE,,,\n")
    (statement,) = parse_file(csv, ParseOptions(mapping=str(mapping)))
    assert [t.foreign for t in statement.transactions] == [(Decimal("-42.00"), "USD", Decimal("1.5312")), None]


def test_earlier_imports_come_from_the_plans_coverage_or_for_older_batches_their_rows(tmp_path):
    from importer.balances import earlier_imports
    from importer.write.journal import Journal
    with Journal.in_state_dir(tmp_path) as journal:
        older = journal.create_batch(key="a", files=[], accounts=[VISA], rows=[], plan={"transactions": [
            {"transaction_account_id": VISA, "date": "2026-08-09"}, {"transaction_account_id": VISA, "date": "2026-08-02"},
            {"transaction_account_id": EVERYDAY, "date": "2026-07-01"}]})
        newer = journal.create_batch(key="b", files=[], accounts=[VISA], rows=[], plan={"transactions": [], "coverage": [
            {"transaction_account_id": VISA, "statement": {"start": "2026-09-01", "end": "2026-09-30"}}]})
        elsewhere = journal.create_batch(key="c", files=[], accounts=[VISA], rows=[], target="https://elsewhere",
                                         plan={"transactions": [{"transaction_account_id": VISA, "date": "2026-10-01"}]})
        periods = earlier_imports(journal, [VISA])
    assert sorted((p.start, p.end, p.label) for p in periods[VISA]) == [
        (date(2026, 8, 2), date(2026, 8, 9), older), (date(2026, 9, 1), date(2026, 9, 30), newer)]
    assert elsewhere not in {p.label for p in periods[VISA]} and EVERYDAY not in periods


def test_an_account_whose_opening_balance_was_never_set_says_so(sandbox, run, tmp_path):
    joint = sandbox.store.add_transaction_account(sandbox.user_id, "Joint Account", number="0620001111",
                                                  starting_balance_date=date(2026, 1, 1))
    rows = [(date(2026, 9, 2), Decimal("300.00"), "SALARY"), (date(2026, 9, 9), Decimal("200.00"), "SALARY")]
    statement = _ofx(tmp_path / "joint.ofx", rows, balance=Decimal("1500.00"), account="0620001111")
    plan = _preview(run, statement, "--account", joint, sandbox=sandbox)
    entry = _balance(plan, joint)
    assert (entry["status"], entry["pocketsmith_after"], entry["difference"]) == ("differs", "500.00", "1000.00")
    assert entry["reason"] == ("an opening balance never set: the statement opens at 1000.00; set it as the "
                               "account's starting balance in PocketSmith")


def test_two_statements_of_one_account_that_leave_days_between_them(sandbox, run, tmp_path):
    early = _qif(tmp_path / "early.qif", [(date(2026, 8, d), Decimal("-9.00") - d, f"SHOP {d}") for d in (1, 5, 10)])
    late = _qif(tmp_path / "late.qif", [(date(2026, 8, d), Decimal("-9.00") - d, f"SHOP {d}") for d in (20, 31)])
    plan = _preview(run, early, late, "--account", VISA, sandbox=sandbox)
    assert [w for w in plan["warnings"] if "uncovered" in w] == [
        f"{VISA} Visa Credit Card: these statements leave 11 Aug 2026 to 19 Aug 2026 uncovered (between early.qif "
        "and late.qif, and PocketSmith has nothing in between)"]
    _feed(sandbox, VISA, [(date(2026, 8, 15), Decimal("-4.00"), "BAKERY")])      # the feed has those days
    plan = _preview(run, early, late, "--account", VISA, sandbox=sandbox)
    assert not [w for w in plan["warnings"] if "uncovered" in w]
    assert plan["coverage"][0]["notes"] == [f"{VISA} Visa Credit Card: 11 Aug 2026 to 19 Aug 2026 (between early.qif "
                                            "and late.qif) is covered by PocketSmith's own 1 transaction"]


def test_the_other_side_in_an_account_outside_the_run_is_found_with_one_listing(sandbox, run, tmp_path):
    (saver_side,) = _feed(sandbox, SAVER, [(date(2026, 10, 6), Decimal("300.00"), "TRANSFER FROM EVERYDAY 5678")])
    _feed(sandbox, VISA, [(date(2026, 10, 6), Decimal("300.00"), "REFUND JB HI FI")])     # no transfer: no words
    statement = _ofx(tmp_path / "everyday.ofx", [(date(2026, 10, 5), Decimal("-300.00"), "TRANSFER TO SAVINGS")])
    sandbox.requests.clear()
    plan = _preview(run, statement, "--account", EVERYDAY, sandbox=sandbox)
    assert plan["transactions"][0]["transfer_with"] == {"transaction_id": saver_side}
    listings = [r.path for r in sandbox.requests if r.method == "GET" and r.path.endswith("/transactions")]
    assert sum("/users/" in path for path in listings) == 1
    assert not any(f"transaction_accounts/{other}/" in path for path in listings for other in (VISA, SAVER))


def _statement_with_balances(rows) -> Statement:
    return Statement(file="bank.csv", format="csv", transactions=[
        Transaction(day, Decimal(amount), "X", "X", balance=Decimal(balance), line=n + 2)
        for n, (day, amount, balance) in enumerate(rows)])


def test_running_balances_read_in_time_order_whatever_the_files_order():
    from importer.balances import running_balance_breaks
    oldest_first = [(date(2026, 9, 1), "10.00", "110.00"), (date(2026, 9, 2), "-5.00", "105.00"),
                    (date(2026, 9, 3), "-5.00", "100.00")]
    assert running_balance_breaks(_statement_with_balances(oldest_first)) == []
    assert running_balance_breaks(_statement_with_balances(oldest_first[::-1])) == []
    shuffled = [oldest_first[1], oldest_first[0], oldest_first[2]]
    assert running_balance_breaks(_statement_with_balances(shuffled)) == []
    same_day = [(date(2026, 9, 1), "-5.00", "95.00"), (date(2026, 9, 1), "-3.00", "92.00")]
    assert running_balance_breaks(_statement_with_balances(same_day[::-1])) == []     # the balances say the order
    swapped = [(date(2026, 9, 1), "10.00", "110.00"), (date(2026, 9, 2), "-3.00", "102.00"),
               (date(2026, 9, 2), "-5.00", "105.00"), (date(2026, 9, 3), "1.00", "103.00")]
    (found,) = running_balance_breaks(_statement_with_balances(swapped))
    assert found.message() == ("bank.csv line 3: the running balance breaks, and adds up with lines 3 and 4 the "
                               "other way round: rows out of order in the export (or as read)")


@pytest.mark.parametrize("relative", ["csv/csv2ofx__schwab-checking.csv", "csv/cvigo-beancount-importers__ZKB_Sample.csv",
                                      "csv/reds-importers__Main_Checking_Account_Transactions.csv"])
def test_real_exports_whose_balances_add_up_show_no_break(corpus, relative):
    from importer.balances import running_balance_breaks
    statements = [s.finish() for s in parse_file(corpus.path(relative))]
    assert any(t.balance is not None for s in statements for t in s.transactions)
    assert [b.message() for s in statements for b in running_balance_breaks(s)] == []


def test_a_real_export_whose_balance_column_breaks_names_the_line(corpus):
    from importer.balances import running_balance_breaks
    (statement,) = parse_file(corpus.path("csv/ofxstatement-lloyds__sample-statement.csv"))
    (found,) = running_balance_breaks(statement)        # 6039.58 - 5.97 is not the 6029.49 the file says
    assert (found.row.line, found.expected, found.found) == (6, Decimal("6033.61"), Decimal("6029.49"))
