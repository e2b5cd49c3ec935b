"""The plan: statement → transaction account, one decision per row in the files' order, the create body, and its views."""

import csv
import io
import json
import re
from datetime import date
from decimal import Decimal

import pytest

from importer.accounts import account_rules, mapping_for_file, resolve_targets
from importer.errors import ConfigError
from importer.plan import ACTIONS, build_plan, fingerprint
from importer.pocketsmith.models import PsTransaction, TransactionAccount
from importer.output.html import plan_html
from importer.output.preview import plan_csv, show_plan
from importer.record import Account, Statement, Transaction

KNOWN = [TransactionAccount(id=11, name="Everyday", number="062-000 1234 5678"),
         TransactionAccount(id=12, name="Visa", number="4111"),
         TransactionAccount(id=13, name="Saver", number=None)]


def _statement(file, fmt, account_id=None, rows=()):
    return Statement(file=file, format=fmt, account=Account(id=account_id),
                     transactions=[Transaction(date=date(2024, 1, d), amount=Decimal(a), payee=p, original_payee=p,
                                               external_id=f"{file}-{i}", file=file, line=i + 1)
                                   for i, (d, a, p) in enumerate(rows)]).finish()


# ─── accounts ──────────────────────────────────────────────────────────────────────────────

def test_config_entries_map_by_ofx_account_qif_name_and_glob():
    rules = account_rules([{"ofx_account": "99887766", "transaction_account_id": 11},
                           {"qif_account": "Visa Credit Card", "transaction_account_id": 12},
                           {"glob": "savings*.csv", "mapping": "cba", "transaction_account_id": 13}])
    statements = [_statement("/x/everyday.ofx", "ofx", "99887766"),
                  _statement("/x/card.qif", "qif", "Visa  credit card"),
                  _statement("/x/savings-2024.csv", "csv:cba")]
    targets = resolve_targets(statements, rules=rules, known=KNOWN)
    assert [t.account_id for t in targets] == [11, 12, 13]
    assert "ofx_account" in targets[0].how
    assert mapping_for_file("/x/savings-2024.csv", rules) == "cba"
    assert mapping_for_file("/x/other.csv", rules) is None


def test_an_entry_matches_only_when_all_its_keys_do():
    rules = account_rules([{"glob": "savings*.csv", "mapping": "cba", "transaction_account_id": 13}])
    with pytest.raises(ConfigError):
        resolve_targets([_statement("/x/savings.csv", "csv:westpac")], rules=rules, known=KNOWN)


def test_a_unique_account_number_is_matched_automatically():
    (target,) = resolve_targets([_statement("a.ofx", "ofx", "06200012345678")], known=KNOWN)
    assert target.account_id == 11 and "auto-matched" in target.how


def test_an_unmapped_statement_lists_the_users_accounts_and_how_to_map():
    with pytest.raises(ConfigError) as caught:
        resolve_targets([_statement("stmt.ofx", "ofx", "555")], known=KNOWN)
    message = str(caught.value)
    assert "stmt.ofx" in message and "555" in message
    for account in KNOWN:
        assert f"{account.id}  {account.name}" in message
    assert 'ofx_account: "555"' in message and "--account" in message


def test_every_unmapped_statement_gets_a_config_line_with_the_account_it_plainly_is():
    statements = [_statement("/x/card.qif", "qif", "visa"), _statement("/x/old.ofx", "ofx", "9999 5678"),
                  _statement("/x/savings.csv", "csv:cba"), _statement("/x/other.ofx", "ofx", "555")]
    with pytest.raises(ConfigError) as caught:
        resolve_targets(statements, known=KNOWN)
    lines = str(caught.value).splitlines()
    config = lines[lines.index("  accounts:") + 1:]
    assert config == [
        '    - {qif_account: "visa", transaction_account_id: 12}   # card.qif: Visa (same name)',
        '    - {ofx_account: "9999 5678", transaction_account_id: 11}   # old.ofx: Everyday (number ending 5678)',
        '    - {glob: "savings*.csv", mapping: cba, transaction_account_id: ID}   # savings.csv: ID from your accounts',
        '    - {ofx_account: "555", transaction_account_id: ID}   # other.ofx: ID from your accounts']


def test_account_option_targets_every_statement_of_one_account_and_is_checked():
    statements = [_statement("a.qif", "qif"), _statement("b.qif", "qif")]
    assert {t.account_id for t in resolve_targets(statements, account=12, known=KNOWN)} == {12}
    with pytest.raises(ConfigError, match="not one of yours"):
        resolve_targets(statements, account=99, known=KNOWN)
    two = [_statement("a.ofx", "ofx", "1"), _statement("b.ofx", "ofx", "2")]
    with pytest.raises(ConfigError, match="one account"):
        resolve_targets(two, account=11, known=KNOWN)


@pytest.mark.parametrize("entry,problem", [
    ({"ofx_account": "1"}, "transaction_account_id"),
    ({"transaction_account_id": 3}, "needs at least one of ofx_account"),
    ({"ofx_acount": "1", "transaction_account_id": 3}, "unknown key"),
    ("savings", "must be a mapping"),
])
def test_bad_config_entries_are_config_errors(entry, problem):
    with pytest.raises(ConfigError, match=problem):
        account_rules([entry], "psimport.yaml")


# ─── build_plan ────────────────────────────────────────────────────────────────────────────

class RecordingDedupe:
    """Marks rows whose payee starts with DUP as duplicates of PocketSmith id 900, REV as review."""

    def __init__(self):
        self.calls = []

    def __call__(self, records, existing, *, imported, settings):
        self.calls.append(([r.payee for r in records], [e.id for e in existing], dict(imported)))
        out = []
        for r in records:
            if r.payee.startswith("DUP"):
                out.append({"action": "duplicate", "duplicate_of": 900, "score": 0.97,
                            "reasons": ["same amount", "payee 97%"], "matched": existing[0]})
            elif r.payee.startswith("REV"):
                out.append({"action": "review", "duplicate_of": 900, "score": 0.6, "reasons": ["payee 60%"]})
            elif r.external_id in imported:
                out.append({"action": "duplicate", "duplicate_of": imported[r.external_id],
                            "reasons": ["imported before (journal)"]})
            else:
                out.append({"action": "create", "reasons": []})
        return out


def _two_account_plan(ruleset=None, imported=None):
    existing = PsTransaction(id=900, date=date(2024, 1, 2), amount=Decimal("-4.50"), payee="Coffee")
    statements = [_statement("a.ofx", "ofx", "A", [(2, "-4.50", "DUP coffee"), (3, "-9.99", "Netflix"),
                                                   (4, "100.00", "Salary")]),
                  _statement("b.qif", "qif", "B", [(5, "-20.00", "REV Shop"), (6, "-3.00", "=cmd|' /C calc'!A0")]),
                  _statement("c.ofx", "ofx", "A", [(7, "-1.00", "Parking")])]
    dedupe = RecordingDedupe()
    plan = build_plan(statements, targets=[11, 12, 11], existing_by_account={11: [existing]},
                      ruleset=ruleset, imported=imported or {}, settings=object(), dedupe=dedupe,
                      accounts={a.id: a for a in KNOWN})
    return plan, dedupe


def test_rows_keep_the_files_order_and_dedupe_sees_each_account_once():
    plan, dedupe = _two_account_plan(imported={11: {"c.ofx-0": 777}})
    assert [r.index for r in plan.rows] == list(range(6))
    assert [r.record.payee for r in plan.rows][:3] == ["DUP coffee", "Netflix", "Salary"]
    assert [r.action for r in plan.rows] == ["duplicate", "create", "create", "review", "create", "duplicate"]
    assert dedupe.calls[0] == (["DUP coffee", "Netflix", "Salary", "Parking"], [900], {"c.ofx-0": 777})
    assert dedupe.calls[1][0] == ["REV Shop", "=cmd|' /C calc'!A0"] and dedupe.calls[1][2] == {}
    assert plan.rows[5].duplicate_of == 777
    summary = plan.summary.as_json()
    assert summary == {"total": 6, "create": 3, "duplicate": 2, "review": 1, "skip": 0,
                       "money_in": "100.00", "money_out": "-12.99"}


def test_rules_rename_categorise_label_and_skip():
    from importer.rules import compile_rules
    from importer.pocketsmith.models import Category
    rules = compile_rules({"rules": [
        {"name": "netflix", "if": {"payee": {"contains": "netflix"}},
         "then": {"category": "Subscriptions", "labels": ["tv"], "payee": "Netflix Inc", "note": "monthly"}},
        {"name": "salary", "if": {"amount": {"gt": 0}}, "then": {"labels": ["income"], "is_transfer": False}},
        {"name": "ignore-parking", "if": {"payee": {"equals": "parking"}}, "then": {"skip": True}},
        {"name": "dups-too", "if": {"payee": {"starts_with": "dup"}}, "then": {"skip": True}},
    ]})
    rules.resolve_categories([Category(id=55, title="Subscriptions")], strict=True)
    plan, _ = _two_account_plan(ruleset=rules)
    netflix, salary, parking, dup = plan.rows[1], plan.rows[2], plan.rows[5], plan.rows[0]
    assert (netflix.payee, netflix.category, netflix.category_id, netflix.labels, netflix.note) == \
        ("Netflix Inc", "Subscriptions", 55, ["tv"], "monthly")
    assert netflix.rules == ["netflix"] and salary.labels == ["income"]
    assert parking.action == "skip" and "ignore-parking" in parking.reasons[-1]
    assert dup.action == "duplicate"            # a duplicate stays one, showing what it matched
    body = netflix.body()
    assert body == {"payee": "Netflix Inc", "amount": Decimal("-9.99"), "date": "2024-01-03", "note": "monthly",
                    "category_id": 55, "labels": ["tv"], "needs_review": False, "is_transfer": False}
    assert isinstance(body["amount"], Decimal)
    assert plan.rows[3].body(accepted_review=True)["needs_review"] is True


PREVIEW_ROW_KEYS = {"external_id", "date", "amount", "payee", "original_payee", "memo", "file", "line",
                    "transaction_account_id", "action", "duplicate_of", "score", "reasons", "category",
                    "category_id", "labels", "rules", "note", "needs_review", "is_transfer"}


def test_preview_json_has_the_contract_shape():
    plan, _ = _two_account_plan()
    out = io.StringIO()
    show_plan(plan, "json", out)
    doc = json.loads(out.getvalue())
    assert {"total", "create", "duplicate", "review", "skip"} <= set(doc["summary"])
    assert len(doc["transactions"]) == 6
    for row in doc["transactions"]:
        assert PREVIEW_ROW_KEYS <= set(row)
        assert row["action"] in ACTIONS
        assert isinstance(row["amount"], str) and re.fullmatch(r"-?\d+\.\d\d", row["amount"])
        assert row["score"] is None or 0 <= row["score"] <= 1
    assert doc["transactions"][0]["duplicate_of"] == 900
    assert doc["transactions"][0]["matched"]["payee"] == "Coffee"
    assert [a["transaction_account_id"] for a in doc["accounts"]] == [11, 12]


def test_preview_csv_is_spreadsheet_safe():
    plan, _ = _two_account_plan()
    out = io.StringIO()
    plan_csv(plan, out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("index,file,line")
    assert "'=cmd|' /C calc'!A0" in out.getvalue()
    assert ",-4.50," in lines[1]                 # a negative amount stays a number
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert {(r["needs_review"], r["is_transfer"]) for r in rows} == {("false", "false")}   # never blank


def test_preview_html_is_self_contained_and_escaped():
    plan, _ = _two_account_plan()
    plan.rows[1].payee = "<script>alert('x')</script>"
    page = plan_html(plan)
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page
    assert not re.search(r"""(src|href)=["']?https?:|@import|url\(""", page)
    assert '<ul class="bars out">' in page and 'class="sortable"' in page and page.count("<tr class=") == 6


def test_preview_html_charts_money_out_and_in_apart_so_transfers_do_not_cancel():
    from importer.output.html import category_totals
    plan, _ = _two_account_plan()
    plan.rows[1].category = plan.rows[2].category = "Transfers"       # -9.99 out and 100.00 in
    assert category_totals(plan, outgoing=True) == [("Transfers", Decimal("-9.99"), 1),
                                                    ("Uncategorised", Decimal("-4.00"), 2)]
    assert category_totals(plan, outgoing=False) == [("Transfers", Decimal("100.00"), 1)]
    summary = plan.summary.as_json()
    for outgoing, total in ((True, summary["money_out"]), (False, summary["money_in"])):
        assert sum(t for _, t, _ in category_totals(plan, outgoing)) == Decimal(total)   # the bars add up
    page = plan_html(plan)
    assert 'title="Transfers: -9.99 (1)"' in page and 'title="Transfers: 100.00 (1)"' in page
    assert f"<h3>Money out: {summary['money_out']}</h3>" in page
    assert f"<h3>Money in: {summary['money_in']}</h3>" in page


def test_preview_html_lists_rows_to_create_first_and_offers_a_filter_for_each_action_present():
    plan, _ = _two_account_plan()
    page = plan_html(plan)
    order = re.findall(r'<tr class="(\w+)">', page)
    assert order == ["create"] * 4 + ["review", "duplicate"]             # then each kind in the files' order
    assert [re.sub(r"<.*?>", "", cell) for cell in re.findall(r'<td class="payee">(.*?)</td>', page)][:2] == \
        ["Netflix", "Salary"]
    labels = re.findall(r'<label for="show-(\w+)">', page)
    assert labels == ["all", "create", "review", "duplicate"]           # nothing skipped: no button for it
    assert '#show-review:checked ~ .rows tbody tr:not(.review){display:none}' in page   # works without script
    assert page.count('<td class="date">') == len(plan.rows) and "td.date,td.amount,td.index{white-space:nowrap}" in page
    assert "@media (max-width:700px)" in page and "<details>" in page    # a card a row on a phone; reasons a tap away


def test_fingerprint_ignores_case_spacing_and_trailing_zeros():
    assert fingerprint(1, "2024-01-02", Decimal("-4.5"), "Daily  Grind") == \
        fingerprint(1, "2024-01-02", Decimal("-4.50"), "daily grind")
    assert fingerprint(1, "2024-01-02", Decimal("-4.5"), "x") != fingerprint(2, "2024-01-02", Decimal("-4.5"), "x")


def _table(plan, show_all=False) -> str:
    out = io.StringIO()
    show_plan(plan, "table", out, show_all=show_all)
    return out.getvalue()


def test_preview_table_groups_by_account_then_action_and_ends_with_the_summary(monkeypatch):
    monkeypatch.setenv("COLUMNS", "120")
    plan, _ = _two_account_plan()
    text = _table(plan, show_all=True)
    order = [text.index(t) for t in ("Account 11 · Everyday\n3 to create", "1 already in PocketSmith",
                                     "Account 12 · Visa · b.qif\n1 to create", "1 for review: possibly",
                                     "Summary")]
    assert order == sorted(order)
    assert "same as #900 (same day)" in text and "maybe #900" in text
    assert "a.ofx:2" in text and "c.ofx:1" in text and "Source" in text   # several files: each row says which
    assert "Line" in text.split("Account 12")[1]                           # one file: in the heading


def test_preview_table_counts_duplicates_unless_all_are_asked_for():
    plan, _ = _two_account_plan()
    text = _table(plan)
    assert "1 already in PocketSmith (--all lists them)" in text
    assert "DUP coffee" not in text and "#900 (same day)" not in text
    assert "DUP coffee" in _table(plan, show_all=True)


@pytest.mark.parametrize("columns", [80, 100])
def test_preview_table_is_one_line_per_row_and_never_splits_dates_or_amounts(monkeypatch, columns):
    from rich.cells import cell_len
    monkeypatch.setenv("COLUMNS", str(columns))
    plan, _ = _two_account_plan()
    long = "A PAYEE NAME FAR TOO LONG FOR ANY TERMINAL COLUMN " * 3
    plan.rows[1].payee = long
    plan.rows[3].reasons = ["same amount; 3 days later; payee 41% similar to 'REV Shop Pty Ltd of Sydney'"]
    lines = _table(plan, show_all=True).splitlines()
    assert max(cell_len(line) for line in lines) <= columns
    for row in plan.rows:      # each row on exactly one line, its date and amount whole
        (line,) = [line for line in lines if row.record.date.isoformat() in line]
        assert f" {row.record.amount} " in line
    assert long not in "".join(lines) and "A PAYEE NAME" in "".join(lines) and "…" in "".join(lines)
