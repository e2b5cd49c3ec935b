"""The rules engine: every operator and action, the order semantics, validation errors, category resolution."""

from __future__ import annotations

import textwrap
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from importer.errors import ConfigError
from importer.pocketsmith.models import Category, PsTransaction
from importer.record import Transaction
from importer.rules import (Subject, compile_rules, dump_rules, find_rules_file, load_rules, subject_from_existing,
                            subject_from_record)

CATEGORIES = [
    Category(1, "Groceries", None, "Groceries"),
    Category(10, "Eating Out", None, "Eating Out"),
    Category(11, "Coffee", 10, "Eating Out > Coffee"),
    Category(20, "Transport", None, "Transport"),
    Category(21, "Fuel", 20, "Transport > Fuel"),
    Category(30, "Car", None, "Car"),
    Category(31, "Fuel", 30, "Car > Fuel"),
]


def subject(payee="EFTPOS THE DAILY GRIND", amount="-4.50", day=date(2024, 3, 4), original_payee=None,
            memo=None, account=None, type=None, currency="AUD") -> Subject:
    return Subject(payee=payee, original_payee=original_payee if original_payee is not None else payee, memo=memo,
                   amount=Decimal(amount), date=day, account=account, type=type, currency=currency)


def rules_file(tmp_path, text: str, name="rules.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def one_rule(condition: dict):
    return compile_rules({"rules": [{"name": "r", "if": condition, "then": {"labels": ["hit"]}}]})


def matches(condition: dict, s: Subject) -> bool:
    ruleset = one_rule(condition)
    by_one = ruleset.apply(s).rules == ["r"]
    # The column path must agree with the row path on every case.
    assert ruleset.apply_all([s])[0].rules == (["r"] if by_one else [])
    return by_one


# ─── conditions ───────────────────────────────────────────────────────────────────────────────

@pytest.mark.parametrize("condition,expected", [
    ({"payee": {"contains": "daily grind"}}, True),
    ({"payee": {"contains": "DAILY GRIND"}}, True),                   # case-insensitive both ways
    ({"payee": {"contains": ["nope", "grind"]}}, True),               # a list: any of them
    ({"payee": {"contains": "grinder"}}, False),
    ({"payee": {"starts_with": "eftpos"}}, True),
    ({"payee": {"starts_with": ["visa", "pos"]}}, False),
    ({"payee": {"ends_with": "grind"}}, True),
    ({"payee": {"ends_with": "eftpos"}}, False),
    ({"payee": {"equals": "eftpos the daily grind"}}, True),
    ({"payee": {"equals": "the daily grind"}}, False),
    ({"payee": {"in": ["x", "EFTPOS THE DAILY GRIND"]}}, True),
    ({"payee": {"in": ["x", "y"]}}, False),
    ({"payee": "eftpos the daily grind"}, True),                       # a bare value means equals
    ({"payee": ["a", "eftpos the daily grind"]}, True),                # a bare list means in
    ({"payee": {"regex": r"^eftpos\s+the"}}, True),
    ({"payee": {"regex": r"^the"}}, False),                           # anchored: search, not fullmatch
    ({"payee": {"regex": r"DAILY\s\w+$"}}, True),
    ({"payee": {"fuzzy": "daily grnd"}}, True),                        # typo within the default score
    ({"payee": {"fuzzy": {"value": "dialy grind", "score": 80}}}, True),
    ({"payee": {"fuzzy": {"value": "bean there cafe", "score": 80}}}, False),
])
def test_text_operators(condition, expected):
    assert matches(condition, subject()) is expected


def test_fuzzy_compares_payee_keys_and_a_short_key_must_resemble_all_of_the_text():
    rule = {"payee": {"fuzzy": {"value": "Bean There Cafe", "score": 90}}}
    assert matches(rule, subject("SQ *BEAN THERE CAFE"))          # processor prefix dropped by the key
    assert matches(rule, subject("BEAN THERE CAFE SYDNEY"))
    assert not matches(rule, subject("CAFE"))                     # a substring of ours is not a match
    assert not matches(rule, subject(""))


def test_each_text_field_is_its_own():
    s = subject(payee="Netflix", original_payee="PAYPAL *NETFLIX 4029357733", memo="Ref 77", currency="aud")
    assert matches({"original_payee": {"starts_with": "paypal"}}, s)
    assert not matches({"payee": {"starts_with": "paypal"}}, s)
    assert matches({"memo": {"regex": r"ref \d+"}}, s)
    assert matches({"currency": "AUD"}, s)
    assert not matches({"memo": {"contains": "x"}}, subject(memo=None))
    assert matches({"memo": {"equals": ""}}, subject(memo=None))  # no memo reads as empty text


def test_account_matches_any_of_its_names():
    s = subject(account=("510001", "Everyday Account", "06200012345678"))
    assert matches({"account": "everyday account"}, s)
    assert matches({"account": {"equals": "510001"}}, s)
    assert matches({"account": {"ends_with": "5678"}}, s)
    assert not matches({"account": {"contains": "visa"}}, s)
    assert matches({"account": "Visa"}, subject(account="VISA"))
    assert not matches({"account": "510001"}, subject(account=None))


def test_type_sees_the_banks_type_and_debit_or_credit():
    assert matches({"type": "pos"}, subject(type="POS"))
    assert matches({"type": "debit"}, subject(type="POS"))
    assert not matches({"type": "credit"}, subject(type="POS"))
    assert matches({"type": "credit"}, subject(amount="12.00", type=None))
    assert matches({"type": {"in": ["atm", "debit"]}}, subject(type=None))


@pytest.mark.parametrize("condition,amount,expected", [
    ({"lt": 0}, "-0.01", True), ({"lt": 0}, "0", False),
    ({"le": "-4.50"}, "-4.50", True), ({"le": -4.5}, "-4.49", False),
    ({"gt": 100}, "100.01", True), ({"gt": 100}, "100", False),
    ({"ge": 100}, "100.00", True), ({"ge": 100}, "99.99", False),
    ({"equals": "-4.5"}, "-4.50", True), ({"equals": -4.5}, "-4.51", False),
    ({"between": [-10, -4.5]}, "-4.50", True), ({"between": [-10, -4.5]}, "-10.00", True),
    ({"between": [-10, -4.5]}, "-10.01", False),
    ({"in": [-4.5, -5.2]}, "-5.20", True), ({"in": [-4.5, -5.2]}, "-5.21", False),
    ({"ge": -50, "lt": 0}, "-20", True),                                  # several operators: all of them
])
def test_amount_operators(condition, amount, expected):
    assert matches({"amount": condition}, subject(amount=amount)) is expected


def test_amounts_in_rules_are_decimal_never_float(tmp_path):
    # 0.1 as a float is 0.1000000000000000055...; read as Decimal it equals the statement's 0.10.
    path = rules_file(tmp_path, """
        rules:
          - name: dime
            if: {amount: {equals: 0.10}}
            then: {labels: [dime]}
          - name: sum
            if: {amount: {between: [0.29, 0.31]}}
            then: {labels: [sum]}
    """)
    ruleset = load_rules(path)
    assert ruleset.apply(subject(amount="0.1")).labels == ["dime"]
    assert ruleset.apply(subject(amount=str(Decimal("0.1") + Decimal("0.2")))).labels == ["sum"]


@pytest.mark.parametrize("condition,day,expected", [
    ({"equals": "2024-03-04"}, date(2024, 3, 4), True),
    ({"lt": date(2024, 3, 4)}, date(2024, 3, 4), False),
    ({"le": date(2024, 3, 4)}, date(2024, 3, 4), True),
    ({"gt": "2024-03-04"}, date(2024, 3, 5), True),
    ({"ge": "2024-03-05"}, date(2024, 3, 4), False),
    ({"between": ["2024-03-01", "2024-03-31"]}, date(2024, 3, 31), True),
    ({"between": ["2024-03-01", "2024-03-31"]}, date(2024, 4, 1), False),
    ({"in": ["2024-12-25", "2024-03-04"]}, date(2024, 3, 4), True),
    ({"weekday": "mon"}, date(2024, 3, 4), True),
    ({"weekday": ["Saturday", "sun"]}, date(2024, 3, 4), False),
    ({"weekday": ["sat", "sun"]}, date(2024, 3, 9), True),
    ({"day_of_month": 4}, date(2024, 3, 4), True),
    ({"day_of_month": [1, 15]}, date(2024, 3, 4), False),
    ({"day_of_month": -1}, date(2024, 2, 29), True),        # the last day, leap year
    ({"day_of_month": -1}, date(2023, 2, 28), True),
    ({"day_of_month": -1}, date(2024, 2, 28), False),
    ({"day_of_month": [-2]}, date(2024, 4, 29), True),
])
def test_date_operators(condition, day, expected):
    assert matches({"date": condition}, subject(day=day)) is expected


def test_all_any_not_and_several_keys_meaning_all():
    s = subject(payee="COLES 0456 NEWTOWN", amount="-50", day=date(2024, 3, 9))
    assert matches({"payee": {"contains": "coles"}, "amount": {"lt": 0}}, s)
    assert not matches({"payee": {"contains": "coles"}, "amount": {"gt": 0}}, s)
    assert matches({"any": [{"payee": {"contains": "woolworths"}}, {"payee": {"contains": "coles"}}]}, s)
    assert not matches({"any": [{"payee": {"contains": "aldi"}}, {"amount": {"gt": 0}}]}, s)
    assert matches({"all": [{"payee": {"contains": "coles"}}, {"date": {"weekday": "sat"}}]}, s)
    assert not matches({"not": {"payee": {"contains": "coles"}}}, s)
    assert matches({"not": {"payee": {"contains": "aldi"}}, "any": [{"amount": {"lt": -10}}, {"memo": "x"}]}, s)
    nested = {"any": [{"all": [{"payee": {"starts_with": "coles"}}, {"not": {"amount": {"lt": -100}}}]},
                      {"memo": {"regex": "never"}}]}
    assert matches(nested, s)


# ─── actions and their order ──────────────────────────────────────────────────────────────────

def test_every_action_and_which_rule_set_it():
    ruleset = compile_rules({"rules": [
        {"name": "coffee", "if": {"payee": {"contains": "grind"}},
         "then": {"category": "Eating Out > Coffee", "labels": ["coffee"], "payee": "The Daily Grind",
                  "note": "flat white", "needs_review": True, "is_transfer": False}},
    ]})
    ruleset.resolve_categories(CATEGORIES)
    outcome = ruleset.apply(subject())
    assert (outcome.category, outcome.category_path, outcome.category_id) == ("Coffee", "Eating Out > Coffee", 11)
    assert outcome.labels == ["coffee"]
    assert outcome.payee == "The Daily Grind"
    assert outcome.note == "flat white"
    assert outcome.needs_review is True and outcome.is_transfer is False and outcome.skip is False
    assert outcome.rules == ["coffee"]
    assert outcome.set_by == {"category": "coffee", "payee": "coffee", "note": "coffee", "needs_review": "coffee",
                              "is_transfer": "coffee", "labels": "coffee"}
    assert outcome.label_by == {"coffee": "coffee"}


def test_nothing_matched_means_nothing_decided():
    outcome = compile_rules({"rules": [{"name": "r", "if": {"payee": "x"}, "then": {"skip": True}}]}).apply(subject())
    assert outcome.rules == [] and outcome.category is None and outcome.labels == [] and outcome.skip is False
    assert outcome.needs_review is None and outcome.set_by == {}


def test_first_rule_to_set_a_field_wins_and_labels_accumulate_without_repeats():
    ruleset = compile_rules({"rules": [
        {"name": "first", "if": {"amount": {"lt": 0}}, "then": {"note": "first", "labels": ["a", "Shared"]}},
        {"name": "second", "if": {"payee": {"contains": "grind"}},
         "then": {"note": "second", "payee": "Grind", "labels": ["shared", "b"]}},
        {"name": "third", "if": {"payee": {"contains": "daily"}}, "then": {"payee": "Daily", "labels": ["c", "a"]}},
    ]})
    outcome = ruleset.apply(subject())
    assert outcome.rules == ["first", "second", "third"]
    assert outcome.note == "first" and outcome.set_by["note"] == "first"
    assert outcome.payee == "Grind" and outcome.set_by["payee"] == "second"
    assert outcome.labels == ["a", "Shared", "b", "c"]
    assert outcome.label_by == {"a": "first", "Shared": "first", "b": "second", "c": "third"}


def test_conditions_see_the_row_as_the_file_had_it_not_a_rename():
    ruleset = compile_rules({"rules": [
        {"name": "rename", "if": {"payee": {"contains": "grind"}}, "then": {"payee": "Coffee Shop"}},
        {"name": "sees-new-name", "if": {"payee": {"contains": "coffee shop"}}, "then": {"labels": ["renamed"]}},
        {"name": "sees-old-name", "if": {"payee": {"contains": "daily grind"}}, "then": {"labels": ["original"]}},
    ]})
    outcome = ruleset.apply(subject())
    assert outcome.rules == ["rename", "sees-old-name"]
    assert outcome.labels == ["original"]


def test_stop_ends_the_rules_for_that_row_only():
    ruleset = compile_rules({"rules": [
        {"name": "stopper", "if": {"payee": {"contains": "grind"}}, "then": {"labels": ["x"], "stop": True}},
        {"name": "later", "if": {"amount": {"lt": 0}}, "then": {"category": "Groceries", "labels": ["y"]}},
    ]})
    stopped, other = ruleset.apply_all([subject(), subject(payee="COLES")])
    assert stopped.rules == ["stopper"] and stopped.labels == ["x"] and stopped.category is None
    assert other.rules == ["later"] and other.category == "Groceries"
    assert ruleset.apply(subject()) == stopped


def test_skip_sets_the_rows_action_and_an_earlier_skip_false_keeps_it():
    ruleset = compile_rules({"rules": [
        {"name": "keep-big", "if": {"amount": {"lt": -1000}}, "then": {"skip": False}},
        {"name": "holds", "if": {"memo": {"regex": "^pending"}}, "then": {"skip": True}},
    ]})
    held = ruleset.apply(subject(memo="PENDING AUTH 1"))
    assert held.skip is True and held.set_by["skip"] == "holds"
    big = ruleset.apply(subject(memo="PENDING AUTH 2", amount="-2000"))
    assert big.skip is False and big.rules == ["keep-big", "holds"] and big.set_by["skip"] == "keep-big"


def test_a_rule_without_if_matches_every_row():
    ruleset = compile_rules({"rules": [{"name": "all", "then": {"labels": ["imported"]}}]})
    assert [o.labels for o in ruleset.apply_all([subject(), subject(payee="X")])] == [["imported"], ["imported"]]


# ─── the fast path agrees with the plain one ──────────────────────────────────────────────────

PROPERTY_RULES = compile_rules({"rules": [
    {"name": "grind", "if": {"payee": {"contains": ["grind", "bean"]}}, "then": {"category": "Coffee"}},
    {"name": "exact", "if": {"payee": {"in": ["coles", "aldi"]}}, "then": {"category": "Groceries", "stop": True}},
    {"name": "starts", "if": {"original_payee": {"starts_with": "pos"}, "amount": {"lt": 0}},
     "then": {"labels": ["pos"]}},
    {"name": "ends", "if": {"payee": {"ends_with": "au"}}, "then": {"labels": ["au"], "note": "au"}},
    {"name": "regex", "if": {"memo": {"regex": r"ref \d{2}"}}, "then": {"labels": ["ref"], "skip": True}},
    {"name": "fuzzy", "if": {"payee": {"fuzzy": {"value": "woolworths", "score": 85}}}, "then": {"category": "G"}},
    {"name": "amounts", "if": {"amount": {"between": [-20, -5]}, "not": {"payee": {"contains": "x"}}},
     "then": {"needs_review": True}},
    {"name": "equal-amount", "if": {"amount": {"in": [-4.5, 3]}}, "then": {"labels": ["fixed"]}},
    {"name": "days", "if": {"any": [{"date": {"weekday": ["sat", "sun"]}}, {"date": {"day_of_month": [-1, 1]}}]},
     "then": {"labels": ["day"], "is_transfer": True}},
    {"name": "dated", "if": {"date": {"ge": "2024-01-10", "lt": "2024-01-20"}}, "then": {"labels": ["mid"]}},
    {"name": "typed", "if": {"type": "credit", "account": {"contains": "visa"}}, "then": {"payee": "Card"}},
    {"name": "gt", "if": {"amount": {"gt": 0}, "payee": {"regex": "^a"}}, "then": {"labels": ["a+"]}},
]})

WORDS = ["grind", "bean", "coles", "aldi", "pos ", "woolworths", "wolworths", "au", "x", "a", "\x00", "Ref 12",
         "ref", "ΣΑΣ", " "]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(
    st.lists(st.sampled_from(WORDS), max_size=4).map("".join),
    st.lists(st.sampled_from(WORDS), max_size=3).map("".join),
    st.one_of(st.none(), st.sampled_from(["ref 12", "REF 9", "note"])),
    st.integers(-3000, 500).map(lambda c: Decimal(c) / 100),
    st.dates(date(2024, 1, 1), date(2024, 2, 29)),
    st.sampled_from([None, "Visa", ("1", "visa card"), ("2", "Everyday")]),
), max_size=25))
def test_apply_all_gives_exactly_what_apply_gives_row_by_row(rows):
    subjects = [Subject(payee=p, original_payee=o, memo=m, amount=a, date=d, account=acc, type=None, currency=None)
                for p, o, m, a, d, acc in rows]
    assert PROPERTY_RULES.apply_all(subjects) == [PROPERTY_RULES.apply(s) for s in subjects]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["note", "payee", "skip", "is_transfer"]),
                          st.booleans(), st.lists(st.sampled_from("abcd"), max_size=3)), min_size=1, max_size=6))
def test_first_setter_wins_and_labels_accumulate_for_any_rule_list(specs):
    rules = []
    for n, (field, matching, labels) in enumerate(specs):
        value = True if field in ("skip", "is_transfer") else f"v{n}"
        rules.append({"name": f"r{n}", "if": {"payee": "grind" if matching else "nope"},
                      "then": {field: value, **({"labels": labels} if labels else {})}})
    outcome = compile_rules({"rules": rules}).apply(subject(payee="grind"))
    fired = [(n, spec) for n, spec in enumerate(specs) if spec[1]]
    assert outcome.rules == [f"r{n}" for n, _ in fired]
    for field in ("note", "payee", "skip", "is_transfer"):
        setters = [n for n, spec in fired if spec[0] == field]
        if setters:
            assert outcome.set_by[field] == f"r{setters[0]}"
    expected_labels = []
    for _, spec in fired:
        for label in spec[2]:
            if label not in expected_labels:
                expected_labels.append(label)
    assert outcome.labels == expected_labels


# ─── validation: file, line, rule ─────────────────────────────────────────────────────────────

BAD = {
    "unknown operator": ("""
        rules:
          - name: coffee
            if:
              payee: {containz: grind}
            then: {labels: [x]}
        """, 4, "rule 'coffee': payee: unknown operator 'containz' (did you mean 'contains'?)"),
    "unknown field": ("""
        rules:
          - name: coffee
            if: {payeee: {contains: grind}}
            then: {labels: [x]}
        """, 3, "unknown condition 'payeee' (did you mean 'payee'?)"),
    "operator for another field": ("""
        rules:
          - name: money
            if: {amount: {contains: "4.50"}}
            then: {labels: [x]}
        """, 3, "amount: operator not available for this field 'contains'"),
    "bad regex": ("""
        rules:
          - name: ok
            if: {payee: {contains: a}}
            then: {labels: [x]}
          - name: broken
            if:
              memo:
                regex: "(unclosed"
            then: {labels: [x]}
        """, 8, "rule 'broken': memo: bad regex '(unclosed'"),
    "bad number": ("""
        rules:
          - name: n
            if: {amount: {lt: ten}}
            then: {labels: [x]}
        """, 3, "amount lt: expected a number, got 'ten'"),
    "bad date": ("""
        rules:
          - name: d
            if: {date: {ge: "2024-13-01"}}
            then: {labels: [x]}
        """, 3, "date ge: expected a date YYYY-MM-DD"),
    "bad weekday": ("""
        rules:
          - name: w
            if: {date: {weekday: [sat, funday]}}
            then: {labels: [x]}
        """, 3, "'funday' is not a weekday"),
    "bad day of month": ("""
        rules:
          - name: dom
            if: {date: {day_of_month: 32}}
            then: {labels: [x]}
        """, 3, "32 is not a day 1..31"),
    "between backwards": ("""
        rules:
          - name: b
            if: {amount: {between: [10, -10]}}
            then: {labels: [x]}
        """, 3, "amount between: 10 is after -10"),
    "between not a pair": ("""
        rules:
          - name: b
            if: {amount: {between: 10}}
            then: {labels: [x]}
        """, 3, "expected [low, high]"),
    "fuzzy score": ("""
        rules:
          - name: f
            if: {payee: {fuzzy: {value: grind, score: 150}}}
            then: {labels: [x]}
        """, 3, "score must be a number from 1 to 100"),
    "empty contains": ("""
        rules:
          - name: e
            if: {payee: {contains: ""}}
            then: {labels: [x]}
        """, 3, "an empty text would match every row"),
    "boolean where text goes": ("""
        rules:
          - name: yes-no
            if: {payee: {equals: no}}
            then: {labels: [x]}
        """, 3, "expected text, got False (put it in quotes)"),
    "any not a list": ("""
        rules:
          - name: a
            if: {any: {payee: x}}
            then: {labels: [x]}
        """, 3, "'any' takes a non-empty list of conditions"),
    "not not a mapping": ("""
        rules:
          - name: n
            if: {not: [payee]}
            then: {labels: [x]}
        """, 3, "a condition must be a non-empty mapping"),
    "empty if": ("""
        rules:
          - name: e
            if: {}
            then: {labels: [x]}
        """, 3, "a condition must be a non-empty mapping"),
    "unknown action": ("""
        rules:
          - name: a
            if: {payee: x}
            then:
              category: Groceries
              lables: [x]
        """, 6, "rule 'a': unknown action 'lables' (did you mean 'labels'?)"),
    "label with a comma": ("""
        rules:
          - name: a
            if: {payee: x}
            then: {labels: ["a,b"]}
        """, 4, "has a comma"),
    "flag not a boolean": ("""
        rules:
          - name: a
            if: {payee: x}
            then: {needs_review: "yes please"}
        """, 4, "needs_review: expected true or false"),
    "no then": ("""
        rules:
          - name: lonely
            if: {payee: x}
        """, 2, "rule 'lonely': it has no 'then'"),
    "unknown rule key": ("""
        rules:
          - name: typo
            iff: {payee: x}
            then: {labels: [x]}
        """, 3, "rule 'typo': unknown key 'iff' (did you mean 'if'?)"),
    "duplicate name": ("""
        rules:
          - name: same
            then: {labels: [x]}
          - name: same
            then: {labels: [y]}
        """, 4, "rule 'same': the name is already used by the rule on line 2"),
    "rule not a mapping": ("""
        rules:
          - just text
        """, 2, "rule #1: expected a mapping"),
    "rules not a list": ("""
        rules: {name: x}
        """, 1, "'rules' must be a list of rules"),
    "unknown top-level key": ("""
        rulez: []
        """, 1, "unknown top-level key 'rulez' (did you mean 'rules'?)"),
    "key given twice": ("""
        rules:
          - name: twice
            if: {payee: {contains: a}, payee: {contains: b}}
            then: {labels: [x]}
        """, 3, "'payee' is given twice"),
    "malformed YAML": ("""
        rules:
          - name: broken
            if: {payee: {contains: a}
            then: {labels: [x]}
        """, 4, "not valid YAML"),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_every_validation_error_names_file_line_and_rule(tmp_path, case):
    text, line, message = BAD[case]
    path = rules_file(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_rules(path)
    error = caught.value
    assert error.file == str(path)
    assert error.line == line, str(error)
    assert message in error.message, str(error)
    assert str(error).startswith(f"{path}, line {line}: ")


def test_a_missing_or_non_mapping_rules_file(tmp_path):
    with pytest.raises(ConfigError, match="rules file not found"):
        load_rules(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="must be a mapping with a 'rules:' list"):
        load_rules(rules_file(tmp_path, "just text\n"))
    assert load_rules(rules_file(tmp_path, "rules: []\n")).rules == []
    # The README's shape, said out loud: an empty file or a bare list is a mistake, not "no rules".
    for text, found in (("# nothing yet\n", "empty"), ("", "empty"),
                        ("- name: a\n  then: {labels: [x]}\n", "a bare list")):
        with pytest.raises(ConfigError) as caught:
            load_rules(rules_file(tmp_path, text))
        assert caught.value.message.startswith(f"the rules file is {found}; it must be a mapping with a 'rules:' "
                                               "list, such as\n  rules:\n    - name: coffee")


def test_every_problem_of_a_rules_file_is_reported_at_once(tmp_path):
    path = rules_file(tmp_path, """
        rules:
          - name: coffee
            if: {payee: {regex: "(oops"}}
            then: {labels: [coffee]}
          - name: fine
            if: {payee: tea}
            then: {labels: [tea]}
          - name: typo
            iff: {payee: x}
            then: {lables: [x]}
          - name: coffee
        """)
    with pytest.raises(ConfigError) as caught:
        load_rules(path)
    lines = str(caught.value).splitlines()
    assert lines[0] == f"{path}: 5 problems:"
    assert [line.split(": ", 2)[:2] for line in lines[1:]] == [
        [f"  {path}, line 3", "rule 'coffee'"], [f"  {path}, line 9", "rule 'typo'"],
        [f"  {path}, line 10", "rule 'typo'"], [f"  {path}, line 11", "rule 'coffee'"],
        [f"  {path}, line 11", "rule 'coffee'"]]
    assert "bad regex" in lines[1] and "unknown key 'iff'" in lines[2] and "unknown action 'lables'" in lines[3]
    assert "already used by the rule on line 2" in lines[4] and "no 'then'" in lines[5]


def test_an_unknown_top_level_key_is_reported_with_the_problems_of_the_rules(tmp_path):
    path = rules_file(tmp_path, """
        rule:
          - name: a
        rules:
          - name: b
            if: {payee: {regex: "(oops"}}
            then: {labels: [b]}
        """)
    with pytest.raises(ConfigError) as caught:
        load_rules(path)
    lines = str(caught.value).splitlines()
    assert lines[0] == f"{path}: 2 problems:"
    assert lines[1].startswith(f"  {path}, line 1: unknown top-level key 'rule' (did you mean 'rules'?)")
    assert lines[2].startswith(f"  {path}, line 5: rule 'b': payee: bad regex")


def test_amounts_in_rules_are_exact_decimals(tmp_path):
    ruleset = load_rules(rules_file(tmp_path, """
        rules:
          - name: rent
            if: {amount: {equals: -1234.10}}
            then: {labels: [rent]}
        """))
    assert ruleset.rules[0].condition["amount"]["equals"] == Decimal("-1234.10")


def test_every_unknown_category_is_reported_at_once(tmp_path):
    from importer.pocketsmith.models import Category
    ruleset = load_rules(rules_file(tmp_path, """
        rules:
          - name: a
            then: {category: Petrol}
          - name: b
            then: {category: Coffee}
          - name: c
            then: {category: Fod}
        """))
    with pytest.raises(ConfigError) as caught:
        ruleset.resolve_categories([Category(id=1, title="Coffee"), Category(id=2, title="Food")])
    message = str(caught.value)
    assert message.splitlines()[0].endswith(": 2 problems:")
    assert "rule 'a': category 'Petrol' does not exist" in message and "rule 'c': category 'Fod'" in message


# ─── categories ───────────────────────────────────────────────────────────────────────────────

def test_categories_resolve_by_title_or_path(tmp_path):
    ruleset = load_rules(rules_file(tmp_path, """
        rules:
          - {name: by-title, if: {payee: a}, then: {category: groceries}}
          - {name: by-path, if: {payee: b}, then: {category: "Eating Out>Coffee"}}
          - {name: child-title, if: {payee: c}, then: {category: Coffee}}
          - {name: path-of-a-clash, if: {payee: d}, then: {category: Car > Fuel}}
    """))
    assert ruleset.resolve_categories(CATEGORIES) == []
    resolved = {r.name: (r.category_id, r.category_path) for r in ruleset.rules}
    assert resolved == {"by-title": (1, "Groceries"), "by-path": (11, "Eating Out > Coffee"),
                        "child-title": (11, "Eating Out > Coffee"), "path-of-a-clash": (31, "Car > Fuel")}
    outcome = ruleset.apply(subject(payee="b"))
    assert (outcome.category, outcome.category_id, outcome.category_path) == ("Coffee", 11, "Eating Out > Coffee")


def test_an_ambiguous_category_names_every_candidate_path(tmp_path):
    path = rules_file(tmp_path, """
        rules:
          - name: fuel
            if: {payee: caltex}
            then:
              labels: [car]
              category: Fuel
    """)
    ruleset = load_rules(path)
    with pytest.raises(ConfigError) as caught:
        ruleset.resolve_categories(CATEGORIES)
    error = caught.value
    assert (error.file, error.line) == (str(path), 6)
    assert "rule 'fuel': category 'Fuel' is ambiguous" in error.message
    assert "'Car > Fuel' (id 31)" in error.message and "'Transport > Fuel' (id 21)" in error.message


def test_an_unknown_category_is_an_error_online_and_a_warning_offline(tmp_path):
    path = rules_file(tmp_path, """
        rules:
          - name: coffee
            if: {payee: grind}
            then: {category: Eating Out > Cofee}
    """)
    ruleset = load_rules(path)
    with pytest.raises(ConfigError) as caught:
        ruleset.resolve_categories(CATEGORIES, strict=True)
    assert (caught.value.line, caught.value.file) == (4, str(path))
    assert "category 'Eating Out > Cofee' does not exist in PocketSmith (did you mean 'Eating Out > Coffee'?)" \
        in caught.value.message
    warnings = ruleset.resolve_categories(CATEGORIES, strict=False)
    assert len(warnings) == 1 and "line 4" in warnings[0] and "kept by name" in warnings[0]
    outcome = ruleset.apply(subject(payee="grind"))
    assert (outcome.category, outcome.category_id) == ("Eating Out > Cofee", None)


def test_offline_a_path_resolves_by_its_last_part_against_an_exports_titles():
    exported = [Category(11, "Coffee", None, "Coffee"), Category(1, "Groceries", None, "Groceries")]
    ruleset = compile_rules({"rules": [{"name": "c", "if": {"payee": "x"}, "then": {"category": "Eating Out > Coffee"}}]})
    assert ruleset.resolve_categories(exported, strict=False) == []
    assert ruleset.rules[0].category_id == 11
    with pytest.raises(ConfigError):
        ruleset.resolve_categories(exported, strict=True)


# ─── records, files, writing ──────────────────────────────────────────────────────────────────

def test_subjects_from_a_statement_row_and_from_pocketsmith():
    txn = Transaction(date(2024, 1, 2), Decimal("-4.50"), "The Daily Grind", "EFTPOS THE DAILY GRIND", memo="CARD",
                      currency="AUD", type="POS")
    s = subject_from_record(txn, ["510001", "Everyday"])
    assert (s.payee, s.original_payee, s.memo, s.amount, s.type, s.currency, s.account) == \
        ("The Daily Grind", "EFTPOS THE DAILY GRIND", "CARD", Decimal("-4.50"), "POS", "AUD", ["510001", "Everyday"])
    held = PsTransaction(id=1, date=date(2024, 1, 2), amount=Decimal("12"), payee="Acme", original_payee="",
                         transaction_account_id=510001, type="credit")
    s = subject_from_existing(held)
    assert (s.original_payee, s.account, s.type) == ("Acme", "510001", "credit")


def test_which_rules_file(tmp_path, monkeypatch):
    from importer.config import Config
    monkeypatch.chdir(tmp_path)
    assert find_rules_file(None, Config()) is None
    (tmp_path / "rules.yaml").write_text("rules: []\n")
    assert find_rules_file(None, Config()) == tmp_path.joinpath("rules.yaml").relative_to(tmp_path)
    config = Config(path=tmp_path / "conf" / "psimport.yaml", data={"rules": "mine.yaml"})
    assert find_rules_file(None, config) == tmp_path / "conf" / "mine.yaml"
    assert str(find_rules_file("other.yaml", config)) == "other.yaml"


def test_dump_rules_writes_a_file_that_loads_back_the_same(tmp_path):
    entries = [{"name": "coffee", "comment": "12 transactions",
                "if": {"original_payee": {"contains": 'say "hi": #1'}, "amount": {"lt": Decimal("-4.50")},
                       "date": {"ge": date(2024, 1, 1)}},
                "then": {"category": "Eating Out > Coffee", "labels": ["coffee", "a b"], "needs_review": True}},
               {"name": "needs quoting: yes", "then": {"skip": True}}]
    path = tmp_path / "dumped.yaml"
    path.write_text(dump_rules(entries, header=["made by a test"]))
    ruleset = load_rules(path)
    assert [r.name for r in ruleset.rules] == ["coffee", "needs quoting: yes"]
    assert ruleset.rules[0].condition == entries[0]["if"]
    assert ruleset.rules[0].actions["labels"] == ["coffee", "a b"]
    assert ruleset.apply(subject(payee='SAY "HI": #1 there', amount="-5", day=date(2024, 2, 1))).rules == \
        ["coffee", "needs quoting: yes"]
    assert dump_rules([]).endswith("rules: []\n")


def test_the_worked_example_loads_and_uses_every_operator_and_action():
    from pathlib import Path
    ruleset = load_rules(Path(__file__).resolve().parents[1] / "rules.yaml")
    text = (Path(__file__).resolve().parents[1] / "rules.yaml").read_text()
    for word in ("equals", "contains", "starts_with", "ends_with", "regex", "fuzzy", "in:", "lt:", "le:", "gt:",
                 "ge:", "between", "weekday", "day_of_month", "all:", "any:", "not:", "payee:", "original_payee:",
                 "memo:", "amount:", "date:", "account:", "type:", "currency:"):
        assert word in text, word
    actions = set().union(*(rule.actions for rule in ruleset.rules))
    assert {"category", "labels", "payee", "note", "needs_review", "is_transfer", "skip", "stop"} <= actions
