"""RuleSet.trace_all: which rules fired on each row, what each won, added or was blocked by, and where a stop cut in."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from importer.rules import Subject, compile_rules


def subject(payee="EFTPOS THE DAILY GRIND", amount="-4.50") -> Subject:
    return Subject(payee=payee, original_payee=payee, memo=None, amount=Decimal(amount), date=date(2024, 3, 4),
                   account=None, type=None, currency="AUD")


def by_name(ruleset):
    return {rule.name: rule for rule in ruleset.rules}


def test_the_first_rule_to_set_a_field_wins_it_and_blocks_the_later_ones():
    ruleset = compile_rules({"rules": [
        {"name": "first", "if": {"amount": {"lt": 0}}, "then": {"note": "first", "category": "Coffee"}},
        {"name": "second", "if": {"payee": {"contains": "grind"}}, "then": {"note": "second", "payee": "Grind"}},
    ]})
    rules = by_name(ruleset)
    [trace] = ruleset.trace_all([subject()])
    first, second = trace.fired
    assert (first.rule, first.won, first.added, first.blocked_by, first.stopped) == \
        (rules["first"], ("category", "note"), (), (), False)
    assert (second.rule, second.won, second.blocked_by) == (rules["second"], ("payee",), (rules["first"],))
    assert trace.cut_off == []
    assert trace.outcome.note == "first" and trace.outcome.payee == "Grind"


def test_labels_accumulate_and_one_already_there_in_another_case_names_the_rule_that_added_it():
    ruleset = compile_rules({"rules": [
        {"name": "first", "if": {"amount": {"lt": 0}}, "then": {"labels": ["a", "Shared"]}},
        {"name": "second", "if": {"payee": {"contains": "grind"}}, "then": {"labels": ["shared", "b"]}},
        {"name": "third", "if": {"payee": {"contains": "daily"}}, "then": {"labels": ["c"]}},
    ]})
    rules = by_name(ruleset)
    [trace] = ruleset.trace_all([subject()])
    assert [(f.rule.name, f.added, f.blocked_by) for f in trace.fired] == [
        ("first", ("a", "Shared"), ()), ("second", ("b",), (rules["first"],)), ("third", ("c",), ())]
    assert all(f.won == () for f in trace.fired)
    assert trace.outcome.labels == ["a", "Shared", "b", "c"]


def test_a_stop_ends_the_row_and_the_rules_it_cut_off_are_named():
    ruleset = compile_rules({"rules": [
        {"name": "stopper", "if": {"payee": {"contains": "grind"}}, "then": {"labels": ["x"], "stop": True}},
        {"name": "later", "if": {"amount": {"lt": 0}}, "then": {"category": "Groceries"}},
        {"name": "elsewhere", "if": {"payee": {"contains": "coles"}}, "then": {"note": "coles"}},
    ]})
    rules = by_name(ruleset)
    stopped, other = ruleset.trace_all([subject(), subject(payee="COLES")])
    [firing] = stopped.fired
    assert firing.rule is rules["stopper"] and firing.stopped and firing.added == ("x",)
    assert stopped.cut_off == [rules["later"]]
    assert stopped.outcome.category is None and stopped.outcome.rules == ["stopper"]
    assert [f.rule.name for f in other.fired] == ["later", "elsewhere"] and other.cut_off == []
    assert not any(f.stopped for f in other.fired)


def test_a_rule_left_nothing_to_do_wins_nothing_and_names_every_rule_in_its_way():
    ruleset = compile_rules({"rules": [
        {"name": "notes", "if": {"amount": {"lt": 0}}, "then": {"note": "n", "labels": ["tax"]}},
        {"name": "unrelated", "if": {"amount": {"lt": 0}}, "then": {"needs_review": True}},
        {"name": "payees", "if": {"payee": {"contains": "grind"}}, "then": {"payee": "Grind"}},
        {"name": "shadowed", "if": {"payee": {"contains": "daily"}},
         "then": {"payee": "Daily", "note": "d", "labels": ["TAX"]}},
    ]})
    rules = by_name(ruleset)
    [trace] = ruleset.trace_all([subject()])
    shadowed = trace.fired[-1]
    assert shadowed.rule is rules["shadowed"]
    assert (shadowed.won, shadowed.added) == ((), ())
    assert shadowed.blocked_by == (rules["notes"], rules["payees"])   # file order, each once; not "unrelated"


def test_no_matching_rule_is_an_empty_trace():
    ruleset = compile_rules({"rules": [{"name": "r", "if": {"payee": "x"}, "then": {"skip": True}}]})
    [trace] = ruleset.trace_all([subject()])
    assert trace.fired == [] and trace.cut_off == [] and trace.outcome == ruleset.apply(subject())


FIELDS = ["note", "payee", "skip", "is_transfer", "category"]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.lists(st.sampled_from(FIELDS), max_size=3, unique=True),
                          st.sampled_from(["grind", "daily", "coles", None]),
                          st.lists(st.sampled_from(["a", "A", "b", "c"]), max_size=2, unique_by=str.lower),
                          st.booleans()).filter(lambda spec: spec[0] or spec[2] or spec[3]), min_size=1, max_size=7),
       st.lists(st.sampled_from(["THE DAILY GRIND", "COLES", "DAILY NEWS", "ALDI"]), max_size=6))
def test_the_trace_is_the_outcome_apply_gives_told_rule_by_rule(specs, payees):
    rules = []
    for n, (fields, word, labels, stop) in enumerate(specs):
        then = {f: (True if f in ("skip", "is_transfer") else f"v{n}") for f in fields}
        then.update({"labels": labels} if labels else {}, **({"stop": True} if stop else {}))
        rules.append({"name": f"r{n}", **({"if": {"payee": {"contains": word}}} if word else {}), "then": then})
    ruleset = compile_rules({"rules": rules})
    subjects = [subject(payee=p) for p in payees]
    traces = ruleset.trace_all(subjects)
    assert [t.outcome for t in traces] == ruleset.apply_all(subjects) == [ruleset.apply(s) for s in subjects]
    matching = ruleset.matches(subjects)
    for row, trace in enumerate(traces):
        outcome = trace.outcome
        assert [f.rule.name for f in trace.fired] == outcome.rules
        assert [f.rule for f in trace.fired] + trace.cut_off == [r for r, rows in zip(ruleset.rules, matching)
                                                                if row in rows]
        assert all(not f.stopped for f in trace.fired[:-1])
        assert not trace.cut_off or trace.fired[-1].stopped
        won = {field: f.rule.name for f in trace.fired for field in f.won}
        assert won == {field: name for field, name in outcome.set_by.items() if field != "labels"}
        assert [label for f in trace.fired for label in f.added] == outcome.labels
        assert {label: f.rule.name for f in trace.fired for label in f.added} == outcome.label_by
        rules_by_name = by_name(ruleset)
        label_owner = {label.lower(): name for label, name in outcome.label_by.items()}
        for position, firing in enumerate(trace.fired):
            # What it would have set but did not win: the rule that had already set it is among its blockers,
            # and its blockers are only such rules, all of them earlier.
            owners = {won[name] for name, _ in firing.rule.sets if name not in firing.won}
            owners |= {label_owner[label.lower()] for label in firing.rule.labels if label not in firing.added}
            assert set(firing.blocked_by) == {rules_by_name[name] for name in owners}
            assert all(blocker in [f.rule for f in trace.fired[:position]] for blocker in firing.blocked_by)
