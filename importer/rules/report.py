"""`rules test`: the rules run over the user's history, and how well each rule fits what the user did."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import combinations
from pathlib import Path
from typing import Any, Callable

from importer.rules.engine import Rule, RuleSet, Trace, collector_paused
from importer.rules.file import load_rules_for
from importer.rules.history import History, history_subjects, load_history, payee_text
from importer.rules.subject import match_key

__all__ = ["tuning_report", "rules_test_report"]


@dataclass
class _RuleTally:
    """One rule over the whole history: the rows it fired on, how it fared there, who left it nothing to do."""

    would_match: int = 0
    fired: int = 0
    changed: int = 0
    agree: int = 0
    disagree: int = 0
    uncategorised: int = 0
    blockers: set[Rule] = field(default_factory=set)
    disagreements: Counter = field(default_factory=Counter)

    def judge(self, rule: Rule, txn, history: History) -> None:
        """Compare the category `rule` gives `txn` with the one the user gave it."""
        if txn.category_id is None and not txn.category_title:
            self.uncategorised += 1
        elif _same_category(rule, txn):
            self.agree += 1
        else:
            self.disagree += 1
            self.disagreements[(match_key(payee_text(txn)) or payee_text(txn), history.category_name(txn))] += 1


def tuning_report(ruleset: RuleSet, history: History, *, top: int = 15) -> dict:
    """Run the rules over history and say, per rule and overall, how well they fit what the user did.

    Per rule: `matched` rows where it fired (not cut off by an earlier `stop`), of which `agree` the user
    had in the rule's category and `disagree` in another (null for rules that set no category);
    `dead` when its conditions match no row at all; `shadowed_by` the earlier rules that left it
    nothing to do on every row it matches. Also: conflicting pairs, coverage, and the most frequent
    payees no rule gives a category.
    """
    # Traces are hundreds of thousands of small objects, none in a cycle: reference counting frees
    # them all on return, so the collector need not walk them first.
    with collector_paused():
        traces = ruleset.trace_all(history_subjects(history))
        tallies = _tally_rules(ruleset.rules, traces, history)
        uncovered = [txn for trace, txn in zip(traces, history.transactions)
                     if not _categorises(trace) and not trace.outcome.skip]
        total = len(traces)
        categorised = sum(1 for trace in traces if _categorises(trace))
        return {"total": total, "matched": sum(1 for trace in traces if trace.fired), "categorised": categorised,
                "skipped": total - categorised - len(uncovered),
                "coverage": round(categorised / total, 4) if total else None,
                "rules": [_rule_row(rule, tallies[rule], ruleset.rules) for rule in ruleset.rules],
                "conflicts": _conflicts(ruleset.rules, traces),
                "uncovered_payees": _uncovered_payees(uncovered, history, top),
                "by_period": _by_period(ruleset, traces, history)}


def _tally_rules(rules: list[Rule], traces: list[Trace], history: History) -> dict[Rule, _RuleTally]:
    tallies = {rule: _RuleTally() for rule in rules}
    for trace, txn in zip(traces, history.transactions):
        for firing in trace.fired:
            tally = tallies[firing.rule]
            tally.would_match += 1
            tally.fired += 1
            # A stop changes the row only when it cut off a rule that would have matched it.
            if firing.won or firing.added or (firing.stopped and trace.cut_off):
                tally.changed += 1
            else:
                tally.blockers.update(firing.blocked_by)
            if firing.rule.category is not None:
                tally.judge(firing.rule, txn, history)
        for rule in trace.cut_off:
            tallies[rule].would_match += 1
            tallies[rule].blockers.add(trace.fired[-1].rule)
    return tallies


def _rule_row(rule: Rule, tally: _RuleTally, rules: list[Rule]) -> dict:
    has_category = rule.category is not None
    shadowed = tally.would_match > 0 and tally.changed == 0
    return {
        "name": rule.name, "line": rule.line,
        "category": (rule.category_path or rule.category) if has_category else None,
        "matched": tally.fired,
        "agree": tally.agree if has_category else None,
        "disagree": tally.disagree if has_category else None,
        "uncategorised": tally.uncategorised if has_category else None,
        "dead": tally.would_match == 0,
        "shadowed_by": [other.name for other in rules if other in tally.blockers] if shadowed else [],
        "would_match": tally.would_match,
        "disagreements": [{"payee": payee, "category": category, "count": count}
                          for (payee, category), count in tally.disagreements.most_common(3)],
    }


def _conflicts(rules: list[Rule], traces: list[Trace]) -> list[dict]:
    """Pairs of rules that fired on the same rows with different categories, most rows first."""
    pairs: Counter = Counter()
    for trace in traces:
        categorisers = [firing.rule for firing in trace.fired if firing.rule.category is not None]
        for a, b in combinations(categorisers, 2):
            if _category_key(a) != _category_key(b):
                pairs[(a, b)] += 1
    position = {rule: n for n, rule in enumerate(rules)}
    return [{"rules": [a.name, b.name], "categories": [a.category_path or a.category, b.category_path or b.category],
             "rows": count}
            for (a, b), count in sorted(pairs.items(), key=lambda item: (-item[1], position[item[0][0]],
                                                                         position[item[0][1]]))]


def _uncovered_payees(transactions: list, history: History, top: int) -> list[dict]:
    """The `top` commonest payee keys among `transactions`, each with the category the user mostly gave it."""
    categories_by_key: dict[str, Counter] = defaultdict(Counter)
    texts_by_key: dict[str, Counter] = defaultdict(Counter)
    for txn in transactions:
        text = payee_text(txn)
        key = match_key(text) or text.lower().strip()
        categories_by_key[key][history.category_name(txn)] += 1
        texts_by_key[key][text] += 1
    rows = []
    for key, categories in sorted(categories_by_key.items(), key=lambda item: (-sum(item[1].values()), item[0]))[:top]:
        count = sum(categories.values())
        known = Counter({c: n for c, n in categories.items() if c})
        best, best_count = known.most_common(1)[0] if known else (None, 0)
        rows.append({"payee": key, "example": texts_by_key[key].most_common(1)[0][0], "count": count,
                     "category": best, "category_share": round(best_count / count, 3) if best else None})
    return rows


def _by_period(ruleset: RuleSet, traces: list[Trace], history: History) -> list[dict]:
    """Coverage and precision over the transactions the user categorised, older and newer apart: the newer
    part is the last quarter of the history's dates, which shows whether the rules still fit what comes now.

    `coverage` is the share of those transactions the rules give a category, `precision` the share of
    those the rules file as the user did (null when the rules categorise none)."""
    dated = [txn.date for txn in history.transactions if txn.date is not None]
    if not dated:
        return []
    first, last = min(dated), max(dated)
    split = last - (last - first) * 3 // 12 if last > first else last
    by_name = {rule.name: rule for rule in ruleset.rules}
    tallies = {"older": [0, 0, 0], "newer": [0, 0, 0]}     # rows, categorised, as the user did
    for trace, txn in zip(traces, history.transactions):
        if txn.date is None or (txn.category_id is None and not txn.category_title):
            continue
        tally = tallies["newer" if txn.date >= split else "older"]
        tally[0] += 1
        if _categorises(trace):
            tally[1] += 1
            tally[2] += _same_category(by_name[trace.outcome.set_by["category"]], txn)
    bounds = {"older": (first, split - timedelta(days=1)), "newer": (split, last)}
    return [{"period": name, "from": bounds[name][0].isoformat(), "to": bounds[name][1].isoformat(), "rows": rows,
             "categorised": categorised, "agree": agree,
             "coverage": round(categorised / rows, 4) if rows else None,
             "precision": round(agree / categorised, 4) if categorised else None}
            for name, (rows, categorised, agree) in tallies.items() if rows]


def _categorises(trace: Trace) -> bool:
    return "category" in trace.outcome.set_by


def _same_category(rule: Rule, txn) -> bool:
    if rule.category_id is not None:
        return rule.category_id == txn.category_id
    # Offline and unresolved: compare by title, which is all an export gives.
    wanted = (rule.category_title or rule.category or "").rsplit(" > ", 1)[-1].lower()
    return wanted == (txn.category_title or "").lower()


def rules_test_report(rules_path: str | Path | None, config: Any, *, top: int = 15,
                      warn: Callable[[str], None] = lambda text: None, **history: Any) -> tuple[dict, str]:
    """`psimport rules test`: the rules file against the history `load_history(**history)` reads; and its source."""
    ruleset = load_rules_for(rules_path, config)
    past, source, offline = load_history(warn=warn, **history)
    for warning in ruleset.resolve_categories(past.categories, strict=not offline):
        warn(warning)
    return tuning_report(ruleset, past, top=top), source


def _category_key(rule: Rule) -> object:
    return rule.category_id if rule.category_id is not None else (rule.category or "").lower()
