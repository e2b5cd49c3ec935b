"""`rules test`: the rules run over the user's history, and how well each rule fits what the user did."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from importer.rules.engine import RuleSet
from importer.rules.file import load_rules_for
from importer.rules.history import History, history_subjects, load_history, payee_text
from importer.rules.subject import match_key

__all__ = ["tuning_report", "rules_test_report"]


def _same_category(rule, txn) -> bool:
    if rule.category_id is not None:
        return rule.category_id == txn.category_id
    # Offline and unresolved: compare by title, which is all an export gives.
    wanted = (rule.category_title or rule.category or "").rsplit(" > ", 1)[-1].lower()
    return wanted == (txn.category_title or "").lower()


@dataclass
class _RuleTally:
    fired: int = 0
    contributed: int = 0
    agree: int = 0
    disagree: int = 0
    uncategorised: int = 0
    blockers: Counter = field(default_factory=Counter)
    disagreements: Counter = field(default_factory=Counter)


def tuning_report(ruleset: RuleSet, history: History, *, top: int = 15) -> dict:
    """Run the rules over history and say, per rule and overall, how well they fit what the user did.

    Per rule: `matched` rows where it fired (not cut off by an earlier `stop`), of which `agree` the user
    had in the rule's category and `disagree` in another (null for rules that set no category);
    `dead` when its conditions match no row at all; `shadowed_by` the earlier rules that left it
    nothing to do on every row it matches. Also: conflicting pairs, coverage, and the most frequent
    payees no rule gives a category.
    """
    subjects = history_subjects(history)
    transactions = history.transactions
    rules = ruleset.rules
    isolated = ruleset.matches(subjects)
    per_row: list[list[int]] = [[] for _ in subjects]
    for r, rows in enumerate(isolated):
        for i in rows:
            per_row[i].append(r)
    tallies = [_RuleTally() for _ in rules]
    conflicts: Counter = Counter()
    matched_rows = categorised = skipped = 0
    uncovered: dict[str, Counter] = defaultdict(Counter)
    uncovered_texts: dict[str, Counter] = defaultdict(Counter)

    for i, matching in enumerate(per_row):
        txn = transactions[i]
        decided: dict[str, int] = {}
        labels: dict[str, int] = {}
        stopped_by: int | None = None
        categorisers: list[int] = []
        for position, r in enumerate(matching):
            rule, tally = rules[r], tallies[r]
            if stopped_by is not None:
                tally.blockers[stopped_by] += 1
                continue
            tally.fired += 1
            contributed = False
            blockers = set()
            for name, _ in rule.sets:
                if name in decided:
                    blockers.add(decided[name])
                else:
                    decided[name] = r
                    contributed = True
            for label in rule.labels:
                if label.lower() in labels:
                    blockers.add(labels[label.lower()])
                else:
                    labels[label.lower()] = r
                    contributed = True
            if rule.stop:
                stopped_by = r
                # A stop only matters when a later rule would have matched this row.
                contributed = contributed or position + 1 < len(matching)
            if contributed:
                tally.contributed += 1
            else:
                for blocker in blockers:
                    tally.blockers[blocker] += 1
            if rule.category is not None:
                categorisers.append(r)
                if txn.category_id is None and not txn.category_title:
                    tally.uncategorised += 1
                elif _same_category(rule, txn):
                    tally.agree += 1
                else:
                    tally.disagree += 1
                    tally.disagreements[(match_key(payee_text(txn)) or payee_text(txn),
                                         history.category_name(txn))] += 1
        if matching:
            matched_rows += 1
        for a_pos, a in enumerate(categorisers):
            for b in categorisers[a_pos + 1:]:
                if _category_key(rules[a]) != _category_key(rules[b]):
                    conflicts[(a, b)] += 1
        if "category" in decided:
            categorised += 1
        elif "skip" in decided and rules[decided["skip"]].actions.get("skip"):
            skipped += 1
        else:
            text = payee_text(txn)
            key = match_key(text) or text.lower().strip()
            uncovered[key][history.category_name(txn)] += 1
            uncovered_texts[key][text] += 1

    rule_rows = []
    for rule, rows, tally in zip(rules, isolated, tallies):
        has_category = rule.category is not None
        shadowed = bool(rows) and tally.contributed == 0
        rule_rows.append({
            "name": rule.name, "line": rule.line,
            "category": (rule.category_path or rule.category) if has_category else None,
            "matched": tally.fired,
            "agree": tally.agree if has_category else None,
            "disagree": tally.disagree if has_category else None,
            "uncategorised": tally.uncategorised if has_category else None,
            "dead": not rows,
            "shadowed_by": [rules[b].name for b in sorted(tally.blockers)] if shadowed else [],
            "would_match": len(rows),
            "disagreements": [{"payee": payee, "category": category, "count": count}
                              for (payee, category), count in tally.disagreements.most_common(3)],
        })
    conflict_rows = [{"rules": [rules[a].name, rules[b].name],
                      "categories": [rules[a].category_path or rules[a].category,
                                     rules[b].category_path or rules[b].category],
                      "rows": count}
                     for (a, b), count in sorted(conflicts.items(), key=lambda item: (-item[1], item[0]))]
    uncovered_rows = []
    for key, categories in sorted(uncovered.items(), key=lambda item: (-sum(item[1].values()), item[0]))[:top]:
        count = sum(categories.values())
        known = Counter({c: n for c, n in categories.items() if c})
        best, best_count = known.most_common(1)[0] if known else (None, 0)
        uncovered_rows.append({"payee": key, "example": uncovered_texts[key].most_common(1)[0][0],
                               "count": count, "category": best,
                               "category_share": round(best_count / count, 3) if best else None})
    total = len(transactions)
    return {"total": total, "matched": matched_rows, "categorised": categorised, "skipped": skipped,
            "coverage": round(categorised / total, 4) if total else None,
            "rules": rule_rows, "conflicts": conflict_rows, "uncovered_payees": uncovered_rows}


def rules_test_report(rules_path: str | Path | None, config: Any, *, top: int = 15,
                      warn: Callable[[str], None] = lambda text: None, **history: Any) -> tuple[dict, str]:
    """`psimport rules test`: the rules file against the history `load_history(**history)` reads; and its source."""
    ruleset = load_rules_for(rules_path, config)
    past, source, offline = load_history(warn=warn, **history)
    for warning in ruleset.resolve_categories(past.categories, strict=not offline):
        warn(warning)
    return tuning_report(ruleset, past, top=top), source


def _category_key(rule) -> object:
    return rule.category_id if rule.category_id is not None else (rule.category or "").lower()
