"""Tuning against history: the `rules test` report on a small history whose right numbers are obvious, and suggestions."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal

import pytest

from importer.pocketsmith.models import Category, PsTransaction, TransactionAccount
from importer.rules import compile_rules, load_rules
from importer.pocketsmith.export import Export
from importer.rules.history import History
from importer.rules.report import tuning_report
from importer.rules.suggest import suggest_rules, suggestions_file
from importer.rules.sync import plan_push, pulled_entries

COFFEE = Category(11, "Coffee", 10, "Eating Out > Coffee")
TAKEAWAY = Category(12, "Takeaway", 10, "Eating Out > Takeaway")
GROCERIES = Category(1, "Groceries", None, "Groceries")
STREAMING = Category(51, "Streaming", 50, "Entertainment > Streaming")
SALARY = Category(81, "Salary", 80, "Income > Salary")
TRANSPORT = Category(22, "Public Transport", 20, "Transport > Public Transport")
CATEGORIES = [Category(10, "Eating Out", None, "Eating Out"), COFFEE, TAKEAWAY, GROCERIES,
              Category(50, "Entertainment", None, "Entertainment"), STREAMING, Category(80, "Income", None, "Income"),
              SALARY, Category(20, "Transport", None, "Transport"), TRANSPORT]
ACCOUNTS = {1: TransactionAccount(1, "Everyday", currency_code="AUD"), 2: TransactionAccount(2, "Visa")}
_ids = itertools.count(1)


def txn(original: str, category: Category | None, amount="-10.00", account=1, payee=None,
        on: date | None = None) -> PsTransaction:
    n = next(_ids)
    return PsTransaction(id=n, date=on or date(2024, 1, 1) + timedelta(days=n % 60), amount=Decimal(amount),
                         payee=payee or original.title(), original_payee=original,
                         category_id=category.id if category else None,
                         category_title=category.title if category else None, transaction_account_id=account,
                         type="debit" if Decimal(amount) < 0 else "credit")


def small_history() -> History:
    """17 transactions: 6 at the Daily Grind (4 filed as coffee, 2 as takeaway), 4 at Woolworths (1 not filed
    yet), 5 Netflix no rule covers, 2 salary."""
    rows = ([txn("EFTPOS THE DAILY GRIND", COFFEE) for _ in range(4)]
            + [txn("EFTPOS THE DAILY GRIND", TAKEAWAY) for _ in range(2)]
            + [txn("WOOLWORTHS 1234 SYDNEY", GROCERIES) for _ in range(3)] + [txn("WOOLWORTHS 1234 SYDNEY", None)]
            + [txn("PAYPAL *NETFLIX 4029357733", STREAMING, account=2) for _ in range(5)]
            + [txn("DIRECT CREDIT ACME SALARY", SALARY, amount="3000") for _ in range(2)])
    return History(rows, ACCOUNTS, CATEGORIES)


RULES = {"rules": [
    {"name": "coffee", "if": {"payee": {"contains": "grind"}}, "then": {"category": "Coffee"}},
    {"name": "grind-takeaway", "if": {"payee": {"contains": "daily grind"}}, "then": {"category": "Takeaway"}},
    {"name": "groceries", "if": {"payee": {"contains": "woolworths"}},
     "then": {"category": "Groceries", "stop": True}},
    {"name": "woolies-label", "if": {"original_payee": {"starts_with": "woolworths"}}, "then": {"labels": ["food"]}},
    {"name": "never", "if": {"payee": {"contains": "nothing like this"}}, "then": {"category": "Coffee"}},
    {"name": "salary", "if": {"amount": {"gt": 0}, "account": "everyday"},
     "then": {"category": "Income > Salary", "labels": ["income"]}},
    {"name": "income-label", "if": {"type": "credit"}, "then": {"labels": ["income"]}},
]}


@pytest.fixture
def report():
    ruleset = compile_rules(RULES)
    assert ruleset.resolve_categories(CATEGORIES) == []
    return tuning_report(ruleset, small_history(), top=5)


def rule_row(report, name):
    return next(r for r in report["rules"] if r["name"] == name)


def test_totals_coverage_and_the_contract_fields(report):
    assert set(report) >= {"total", "matched", "rules", "conflicts", "uncovered_payees"}
    assert (report["total"], report["matched"], report["categorised"], report["skipped"]) == (17, 12, 12, 0)
    assert report["coverage"] == round(12 / 17, 4)
    for row in report["rules"]:
        assert set(row) >= {"name", "matched", "agree", "disagree", "dead", "shadowed_by"}


def test_agree_and_disagree_compare_with_what_the_user_did(report):
    coffee = rule_row(report, "coffee")
    assert (coffee["matched"], coffee["agree"], coffee["disagree"], coffee["uncategorised"]) == (6, 4, 2, 0)
    assert coffee["disagreements"] == [{"payee": "the daily grind", "category": "Eating Out > Takeaway", "count": 2}]
    groceries = rule_row(report, "groceries")
    assert (groceries["matched"], groceries["agree"], groceries["disagree"], groceries["uncategorised"]) == (4, 3, 0, 1)
    salary = rule_row(report, "salary")
    assert (salary["matched"], salary["agree"], salary["disagree"]) == (2, 2, 0)
    label_only = rule_row(report, "income-label")
    assert (label_only["matched"], label_only["agree"], label_only["disagree"]) == (2, None, None)


def test_dead_and_shadowed_rules(report):
    assert rule_row(report, "never")["dead"] is True and rule_row(report, "never")["matched"] == 0
    # Every row it matches already has its category from `coffee`: it changes nothing.
    assert rule_row(report, "grind-takeaway")["shadowed_by"] == ["coffee"]
    # Cut off by the stop in `groceries` on all four rows: it never even fires.
    woolies = rule_row(report, "woolies-label")
    assert (woolies["matched"], woolies["would_match"], woolies["shadowed_by"], woolies["dead"]) == \
        (0, 4, ["groceries"], False)
    # Its only label was already added by `salary`.
    assert rule_row(report, "income-label")["shadowed_by"] == ["salary"]
    for name in ("coffee", "groceries", "salary"):
        assert rule_row(report, name)["shadowed_by"] == [] and not rule_row(report, name)["dead"]


def test_conflicts_pair_rules_on_the_same_rows_with_different_categories(report):
    assert report["conflicts"] == [{"rules": ["coffee", "grind-takeaway"],
                                    "categories": ["Eating Out > Coffee", "Eating Out > Takeaway"], "rows": 6}]


def test_uncovered_payees_with_their_usual_category(report):
    assert report["uncovered_payees"] == [{"payee": "netflix", "example": "PAYPAL *NETFLIX 4029357733", "count": 5,
                                           "category": "Entertainment > Streaming", "category_share": 1.0}]


def test_a_stop_that_cuts_nothing_off_does_not_count_and_skipped_rows_are_not_uncovered():
    history = History([txn("PENDING AUTH GRIND", None), txn("COLES", GROCERIES)], ACCOUNTS, CATEGORIES)
    ruleset = compile_rules({"rules": [
        {"name": "holds", "if": {"payee": {"starts_with": "pending"}}, "then": {"skip": True, "stop": True}},
        {"name": "coles", "if": {"payee": "coles"}, "then": {"category": "Groceries", "stop": True}},
        {"name": "after", "if": {"payee": "coles"}, "then": {"category": "Groceries"}},
    ]})
    ruleset.resolve_categories(CATEGORIES)
    report = tuning_report(ruleset, history)
    assert (report["skipped"], report["categorised"], report["uncovered_payees"]) == (1, 1, [])
    assert rule_row(report, "after")["shadowed_by"] == ["coles"]
    assert rule_row(report, "holds")["shadowed_by"] == []


def test_offline_categories_come_from_the_export_by_title():
    history = small_history()
    offline = History(history.transactions, {}, Export(history.transactions).categories())
    ruleset = compile_rules({"rules": [
        {"name": "coffee", "if": {"payee": {"contains": "grind"}}, "then": {"category": "Eating Out > Coffee"}},
        {"name": "gone", "if": {"payee": {"contains": "woolworths"}}, "then": {"category": "Household"}}]})
    warnings = ruleset.resolve_categories(offline.categories, strict=False)
    assert len(warnings) == 1 and "'Household'" in warnings[0]
    report = tuning_report(ruleset, offline)
    assert (rule_row(report, "coffee")["agree"], rule_row(report, "coffee")["disagree"]) == (4, 2)
    # Unresolved, it is still compared by title: nobody filed Woolworths under "Household".
    assert (rule_row(report, "gone")["agree"], rule_row(report, "gone")["disagree"]) == (0, 3)


# ─── suggestions ──────────────────────────────────────────────────────────────────────────────

def suggestion_history() -> History:
    woolworths = [("-12.40", 1), ("-187.35", 2), ("-50.00", 2), ("-80.10", 3), ("20.00", 3)]   # and a refund
    rows = ([txn("PAYPAL *NETFLIX 4029357733 AUS", STREAMING, "-16.99", on=date(2024, m, 3)) for m in range(1, 6)]
            + [txn("PAYPAL *NETFLIX 4029357733 AUS", None, "16.99")]                # a refund, never filed
            + [txn(f"WOOLWORTHS {store} SYDNEY NS AUS", GROCERIES, amount, on=date(2024, month, 9))
               for store, (amount, month) in zip((1234, 1234, 5678, 9012, 1234), woolworths)]
            + [txn("UBER *EATS HELP.UBER.COM", TAKEAWAY) for _ in range(2)]       # one key, two categories
            + [txn("UBER *TRIP HELP.UBER.COM", TRANSPORT) for _ in range(2)]
            + [txn("EFTPOS THE DAILY GRIND", COFFEE, "-4.50" if n < 5 else "-5.00", on=date(2024, 1 + n % 2, 5))
               for n in range(9)]
            + [txn("EFTPOS THE DAILY GRIND", TAKEAWAY, "-23.00", on=date(2024, 2, 20))]
            + [txn("ACME PAYROLL", SALARY, "2500.00", on=date(2024, m, 15)) for m in (1, 2, 3)]
            + [txn("SPOTIFY P2A9C1F07E", STREAMING) for _ in range(2)]            # below the support
            + [txn("ALDI STORES 92", None) for _ in range(4)])                    # never categorised
    return History(rows, ACCOUNTS, CATEGORIES)


def test_suggestions_with_support_and_confidence_above_the_thresholds():
    suggestions = suggest_rules(suggestion_history(), min_support=3, min_confidence=0.85)
    by_category = {s["then"]["category"]: s for s in suggestions}
    assert set(by_category) == {"Entertainment > Streaming", "Groceries", "Eating Out > Coffee", "Income > Salary"}
    netflix = by_category["Entertainment > Streaming"]
    assert (netflix["support"], netflix["confidence"], netflix["category_id"]) == (5, 1.0, 51)
    assert netflix["if"] == {"original_payee": {"contains": "netflix"}, "amount": {"lt": 0}}
    woolworths = by_category["Groceries"]
    assert woolworths["if"] == {"original_payee": {"contains": "woolworths"}} and woolworths["support"] == 5
    coffee = by_category["Eating Out > Coffee"]
    assert (coffee["support"], coffee["confidence"]) == (9, 0.9)
    assert coffee["if"] == {"original_payee": {"contains": "daily grind"}, "amount": {"lt": 0}}
    salary = by_category["Income > Salary"]
    assert salary["if"] == {"original_payee": {"contains": "acme payroll"}, "amount": {"gt": 0}}
    assert [s["name"] for s in suggestions] == ["daily-grind", "netflix", "woolworths", "acme-payroll"]
    stricter = suggest_rules(suggestion_history(), min_support=3, min_confidence=0.95)
    assert "Eating Out > Coffee" not in {s["then"]["category"] for s in stricter}
    assert {s["then"]["category"] for s in suggest_rules(suggestion_history(), min_support=2)} >= \
        {"Entertainment > Streaming", "Groceries"}


def test_money_out_and_money_in_to_one_payee_are_two_suggestions():
    transfers = Category(60, "Transfers", None, "Transfers")
    history = History([txn("TRANSFER TO SAVINGS 1234", transfers, amount="-250.00") for _ in range(4)]
                      + [txn("TRANSFER FROM EVERYDAY 5678", transfers, amount="250.00") for _ in range(3)],
                      ACCOUNTS, [transfers])
    suggestions = suggest_rules(history, min_support=3)
    assert sorted((s["support"], s["if"].get("amount")) for s in suggestions) == [(3, {"gt": 0}), (4, {"lt": 0})]


def amounts(suggestion: dict) -> tuple:
    return tuple(suggestion[name] for name in ("sign", "amount_min_cents", "amount_median_cents",
                                               "amount_max_cents", "months"))


def test_suggestions_say_the_sign_range_median_and_months_of_what_they_match():
    by_name = {s["name"]: s for s in suggest_rules(suggestion_history(), min_support=3, min_confidence=0.85)}
    assert amounts(by_name["netflix"]) == ("out", -1699, -1699, -1699, 5)
    # -187.35 -80.10 -50.00 -12.40 +20.00: the refund makes it mixed, so the rule has no amount condition.
    assert amounts(by_name["woolworths"]) == ("mixed", -18735, -5000, 2000, 3)
    # Ten rows (the takeaway one too): -23.00, 4 x -5.00, 5 x -4.50; the lower of the middle two is -5.00.
    assert amounts(by_name["daily-grind"]) == ("out", -2300, -500, -450, 2)
    assert amounts(by_name["acme-payroll"]) == ("in", 250000, 250000, 250000, 3)


def test_suggestions_leave_out_what_the_current_rules_categorise(tmp_path):
    current = compile_rules({"rules": [{"name": "netflix", "if": {"payee": {"contains": "netflix"}},
                                        "then": {"category": "Streaming"}}]})
    suggestions = suggest_rules(suggestion_history(), min_support=3, min_confidence=0.85, ruleset=current)
    assert "Entertainment > Streaming" not in {s["then"]["category"] for s in suggestions}
    assert "netflix" not in {s["name"] for s in suggestions}


def test_the_suggestions_file_loads_and_its_rules_match_their_examples(tmp_path):
    history = suggestion_history()
    suggestions = suggest_rules(history, min_support=3, min_confidence=0.85)
    path = tmp_path / "suggested.yaml"
    path.write_text(suggestions_file(suggestions, considered=len(history.transactions), min_support=3,
                                     min_confidence=0.85))
    text = path.read_text()
    assert "# 5 transactions, 100% Entertainment > Streaming, -16.99, 5 months; e.g. paypal *netflix" in text
    assert "# 9 transactions, 90% Eating Out > Coffee, -4.50 .. -23.00, 2 months; e.g. " in text
    assert "# 5 transactions, 100% Groceries, -187.35 .. 20.00, 3 months; e.g. " in text
    ruleset = load_rules(path)
    assert ruleset.resolve_categories(CATEGORIES) == []
    from importer.rules.history import history_subjects
    outcomes = ruleset.apply_all(history_subjects(history))
    for t, outcome in zip(history.transactions, outcomes):
        if t.original_payee.startswith("PAYPAL *NETFLIX"):
            # The refund is money in: the suggested rule, for money out only, leaves it alone.
            assert outcome.category_id == (STREAMING.id if t.amount < 0 else None)
    empty = suggestions_file([], considered=0, min_support=3, min_confidence=0.9)
    assert "Nothing to suggest" in empty and load_rules_text(tmp_path, empty).rules == []


def load_rules_text(tmp_path, text):
    path = tmp_path / "x.yaml"
    path.write_text(text)
    return load_rules(path)


# ─── PocketSmith's category rules ─────────────────────────────────────────────────────────────

def test_pull_turns_category_rules_into_contains_rules_with_full_paths(tmp_path):
    pulled = pulled_entries([{"id": 9, "payee_matches": "Netflix", "category": {"id": 51, "title": "Streaming"}},
                             {"id": 10, "payee_matches": "Daily Grind", "category": {"id": 11, "title": "Coffee"}},
                             {"id": 11, "payee_matches": "netflix", "category": {"id": 51, "title": "Streaming"}},
                             {"id": 12, "payee_matches": "", "category": {"id": 1, "title": "Groceries"}}],
                            CATEGORIES)
    assert [(e["name"], e["if"], e["then"]) for e in pulled] == [
        ("netflix", {"payee": {"contains": "Netflix"}}, {"category": "Entertainment > Streaming"}),
        ("daily-grind", {"payee": {"contains": "Daily Grind"}}, {"category": "Eating Out > Coffee"}),
        ("netflix-2", {"payee": {"contains": "netflix"}}, {"category": "Entertainment > Streaming"})]
    from importer.rules import dump_rules
    ruleset = load_rules_text(tmp_path, dump_rules(pulled))
    assert ruleset.resolve_categories(CATEGORIES) == []


def test_push_plans_only_simple_rules_and_never_moves_a_keyword():
    ruleset = compile_rules({"rules": [
        {"name": "coffee", "if": {"payee": {"contains": ["daily grind", "bean there"]}},
         "then": {"category": "Coffee", "stop": True}},
        {"name": "netflix", "if": {"payee": {"contains": "Netflix"}}, "then": {"category": "Streaming"}},
        {"name": "clash", "if": {"payee": {"contains": "uber"}}, "then": {"category": "Takeaway"}},
        {"name": "labelled", "if": {"payee": {"contains": "woolworths"}},
         "then": {"category": "Groceries", "labels": ["food"]}},
        {"name": "two-conditions", "if": {"payee": {"contains": "acme"}, "amount": {"gt": 0}},
         "then": {"category": "Salary"}},
        {"name": "regex", "if": {"payee": {"regex": "^acme"}}, "then": {"category": "Salary"}},
        {"name": "label-only", "if": {"payee": {"contains": "x"}}, "then": {"labels": ["x"]}},
    ]})
    ruleset.resolve_categories(CATEGORIES)
    existing = [{"id": 1, "payee_matches": "netflix", "category": {"id": 51, "title": "Streaming"}},
                {"id": 2, "payee_matches": "Uber", "category": {"id": 22, "title": "Public Transport"}}]
    plan = plan_push(ruleset, existing)
    assert [(c["rule"], c["payee_matches"], c["category_id"]) for c in plan.create] == \
        [("coffee", "daily grind", 11), ("coffee", "bean there", 11)]
    assert [(p["rule"], p["existing_id"]) for p in plan.present] == [("netflix", 1)]
    assert [(c["rule"], c["existing_category"]) for c in plan.clashes] == [("clash", "Public Transport")]
    assert {u["rule"] for u in plan.unsupported} == {"labelled", "two-conditions", "regex", "label-only"}


# ─── suggestions that cover more: the user's names, cut NAMEs, brands that sell two things ────────────

FUEL = Category(31, "Fuel", 30, "Transport > Fuel")
PHONE = Category(41, "Phone", 40, "Bills > Phone")
MORE = CATEGORIES + [FUEL, PHONE]


def categorise(suggestions, tmp_path, rows) -> list:
    """The suggestions written as a rules file, loaded, and run on statement rows: each row's category."""
    from importer.record import Transaction
    from importer.rules import subject_from_record
    path = tmp_path / "suggested.yaml"
    path.write_text(suggestions_file(suggestions, considered=0, min_support=3, min_confidence=0.9))
    records = [Transaction(date=date(2024, 6, 1), amount=Decimal(amount), payee=" ".join(name.split()),
                           original_payee=name, memo=memo) for name, memo, amount in rows]
    return [o.category for o in load_rules(path).apply_all([subject_from_record(r) for r in records])]


def test_a_merchant_the_user_renamed_is_known_by_that_name_on_the_next_statement(tmp_path):
    history = History([txn("HJ 0412 PYRMONT", TAKEAWAY, "-12.50", payee="Hungry Jack's") for _ in range(4)],
                      ACCOUNTS, MORE)
    (suggestion,) = suggest_rules(history)
    assert suggestion["if"] == {"payee": {"fuzzy": {"value": "hungry jacks", "score": 90}}, "amount": {"lt": 0}}
    assert suggestion["name"] == "hungry-jacks"
    found = categorise([suggestion], tmp_path, [("HUNGRY JACKS PYRMONT", None, "-9.95"),
                                                 ("HUNGRY JACK'S 0412", None, "-9.95"),
                                                 ("JACKSON HOTEL", None, "-9.95")])
    assert found == ["Eating Out > Takeaway"] * 2 + [None]


def test_the_user_spelling_of_a_name_is_looked_for_too(tmp_path):
    history = History([txn(f"MCDONALDS {town} NSW", TAKEAWAY, payee="McDonald's") for town in ("PYRMONT", "MANLY") * 2],
                      ACCOUNTS, MORE)
    (suggestion,) = suggest_rules(history)
    assert suggestion["if"]["original_payee"] == {"contains": ["mcdonalds", "mcdonald's"]}
    assert categorise([suggestion], tmp_path, [("MCDONALD'S PYRMONT 8412", None, "-8.00")]) == ["Eating Out > Takeaway"]


def test_a_name_cut_at_32_characters_is_continued_by_its_memo(tmp_path):
    cut = "EFTPOS PURCHASE 1766 BONDI ICEBE"       # 32 characters; the bank put the rest in MEMO
    assert len(cut) == 32
    history = History([txn("BONDI ICEBERGS CLUB BONDI BEACH", TAKEAWAY) for _ in range(3)]
                      + [PsTransaction(id=900 + n, date=date(2024, 3, n + 1), amount=Decimal("-40.00"), payee=cut,
                                       original_payee=cut, memo="RGS CLUB BONDI BEACH", category_id=TAKEAWAY.id,
                                       category_title=TAKEAWAY.title, transaction_account_id=1) for n in range(2)],
                      ACCOUNTS, MORE)
    (suggestion,) = suggest_rules(history)
    assert suggestion["support"] == 5 and suggestion["if"]["original_payee"] == {"contains": "bondi icebergs"}
    cut_elsewhere = "EFTPOS PURCHASE 176670 BONDI ICE"
    found = categorise([suggestion], tmp_path, [(cut_elsewhere, "BERGS CLUB BONDI BEACH", "-30.00"),
                                                 (cut_elsewhere, cut_elsewhere + "BERGS CLUB", "-30.00"),
                                                 (cut_elsewhere, None, "-30.00")])
    assert found == ["Eating Out > Takeaway"] * 2 + [None]


def test_a_brand_that_sells_two_things_gets_two_rules_and_neither_swallows_the_other(tmp_path):
    history = History([txn(f"WOOLWORTHS {store} BONDI", GROCERIES) for store in (1234, 5678) for _ in range(6)]
                      + [txn("WOOLWORTHS PETROL 0231 BONDI", FUEL, "-60.00") for _ in range(3)]
                      + [txn("ALDI STORES ROSEBERY", GROCERIES) for _ in range(12)]
                      + [txn("ALDI MOBILE 4471", PHONE, "-25.00")]
                      + [txn("UBER *TRIP HELP.UBER.COM", TRANSPORT) for _ in range(4)]
                      + [txn("UBER *EATS HELP.UBER.COM", TAKEAWAY) for _ in range(4)], ACCOUNTS, MORE)
    by_name = {s["name"]: s for s in suggest_rules(history)}
    assert by_name["woolworths"]["if"] == {"original_payee": {"contains": "woolworths"},
                                           "not": {"original_payee": {"contains": "woolworths petrol"}},
                                           "amount": {"lt": 0}}
    # One phone bill is too few for a rule of its own, but enough to keep the supermarket's rule off it.
    assert by_name["aldi"]["if"]["not"] == {"original_payee": {"contains": "aldi mobile"}}
    assert {by_name["woolworths-petrol"]["then"]["category"], by_name["uber-eats"]["then"]["category"]} == \
        {"Transport > Fuel", "Eating Out > Takeaway"}
    assert categorise(list(by_name.values()), tmp_path, [
        ("WOOLWORTHS 9999 MANLY", None, "-30.00"), ("WOOLWORTHS PETROL 7 MANLY", None, "-30.00"),
        ("ALDI MOBILE 4471", None, "-25.00"), ("UBER *EATS 4F7GH", None, "-21.00"), ("UBER *TRIP 93B", None, "-21.00"),
    ]) == ["Groceries", "Transport > Fuel", None, "Eating Out > Takeaway", "Transport > Public Transport"]


def test_words_that_say_a_kind_of_shop_across_merchants_cover_the_ones_seen_once(tmp_path):
    history = History([txn(f"{name} PHARMACY {town}", GROCERIES) for name, town in
                       (("ROSSI", "BONDI"), ("NGUYEN", "MANLY"), ("PATEL", "BONDI"), ("OKAFOR", "RYDE"))]
                      + [txn(f"{name} RYDE", TAKEAWAY) for name in ("SUSHI HUB", "PIZZA CO", "MAMAK")]
                      + [txn(f"{name} BONDI", COFFEE) for name in ("CAFE AMORE", "TOBYS", "BRAVO")],
                      ACCOUNTS, MORE)
    suggestions = suggest_rules(history)
    assert [(s["name"], s["if"]["original_payee"], s["support"]) for s in suggestions] == \
        [("pharmacy", {"contains": "pharmacy"}, 4)]
    # Suburbs follow many merchants too, but of every category: no rule.
    assert categorise(suggestions, tmp_path, [("KIM PHARMACY CHATSWOOD", None, "-15.00"),
                                              ("KIM BONDI", None, "-15.00")]) == ["Groceries", None]


def test_rules_test_reports_coverage_and_precision_older_and_newer():
    ruleset = compile_rules({"rules": [{"name": "coffee", "if": {"payee": {"contains": "grind"}},
                                        "then": {"category": "Coffee"}}]})
    ruleset.resolve_categories(CATEGORIES)
    old = [txn("THE DAILY GRIND", COFFEE, on=date(2024, 1, d)) for d in range(1, 21)]
    new = ([txn("THE DAILY GRIND", COFFEE, on=date(2024, 4, d)) for d in range(1, 4)]
           + [txn("THE DAILY GRIND", TAKEAWAY, on=date(2024, 4, 5))]
           + [txn("BEAN THERE", COFFEE, on=date(2024, 4, d)) for d in (6, 7)]
           + [txn("THE DAILY GRIND", None, on=date(2024, 4, 8))])       # not categorised: not counted
    report = tuning_report(ruleset, History(old + new, ACCOUNTS, CATEGORIES))
    assert report["by_period"] == [
        {"period": "older", "from": "2024-01-01", "to": "2024-03-14", "rows": 20, "categorised": 20, "agree": 20,
         "coverage": 1.0, "precision": 1.0},
        {"period": "newer", "from": "2024-03-15", "to": "2024-04-08", "rows": 6, "categorised": 4, "agree": 3,
         "coverage": 0.6667, "precision": 0.75}]
