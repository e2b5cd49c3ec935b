"""The rules engine: a RuleSet applied to rows, the first rule that sets a field winning it, labels accumulating."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Iterable, Iterator, Sequence

from importer.rules.compiler import SETTABLE, Prefilter, Test, always
from importer.rules.index import Columns
from importer.rules.subject import Subject, prepare_row

__all__ = ["Outcome", "outcome_json", "Rule", "RuleSet", "Firing", "Trace"]


@dataclass(slots=True)
class Outcome:
    """What the rules decided for one row, and which rule decided each part.

    `category` is the category's title (as written in the rules file when it did not resolve),
    `category_path` its `Parent > Child` path; `set_by` maps each decided field (and `labels`, the
    first rule that added one) to the rule name; `label_by` maps each label to the rule that added it.
    """

    category: str | None = None
    category_id: int | None = None
    category_path: str | None = None
    labels: list[str] = field(default_factory=list)
    payee: str | None = None
    note: str | None = None
    needs_review: bool | None = None
    is_transfer: bool | None = None
    skip: bool = False
    rules: list[str] = field(default_factory=list)
    set_by: dict[str, str] = field(default_factory=dict)
    label_by: dict[str, str] = field(default_factory=dict)


def outcome_json(outcome: Outcome) -> dict:
    return {"category": outcome.category, "category_id": outcome.category_id,
            "category_path": outcome.category_path, "labels": list(outcome.labels), "payee": outcome.payee,
            "note": outcome.note, "needs_review": outcome.needs_review, "is_transfer": outcome.is_transfer,
            "skip": outcome.skip, "rules": list(outcome.rules), "set_by": dict(outcome.set_by),
            "label_by": dict(outcome.label_by)}


@dataclass(slots=True)
class Firing:
    """One rule's part in one row's outcome.

    `won`: the fields it set (no earlier rule had); `added`: the labels it added (as it writes them);
    `blocked_by`: the earlier rules that had already set a field or added a label it would have, in
    file order; `stopped`: its `stop` ended the row.
    """

    rule: Rule
    won: tuple[str, ...]
    added: tuple[str, ...]
    blocked_by: tuple[Rule, ...]
    stopped: bool


@dataclass(slots=True)
class Trace:
    """How the rules reached one row's outcome: the rules that fired, in order, and those a stop cut off.

    `cut_off` are the rules after the stop whose conditions the row meets too: they never ran.
    """

    outcome: Outcome
    fired: list[Firing]
    cut_off: list[Rule]


@dataclass(eq=False)
class Rule:
    """One compiled rule: its test, its actions, and where it was written."""

    name: str
    line: int
    index: int
    condition: Any                     # the `if` mapping as written (None: every row)
    actions: dict[str, Any]
    test: Test
    prefilter: Prefilter | None
    category_id: int | None = None
    category_title: str | None = None
    category_path: str | None = None
    sets: tuple = ()
    labels: tuple[str, ...] = ()
    stop: bool = False

    @property
    def category(self) -> str | None:
        """The category as written in the rules file."""
        return self.actions.get("category")

    def matches(self, subject: Subject) -> bool:
        return self.test(prepare_row(subject))

    def _build(self) -> None:
        sets = []
        for name in SETTABLE:
            if name in self.actions:
                if name == "category":
                    sets.append((name, (self.category_title or self.category, self.category_path or self.category,
                                        self.category_id)))
                else:
                    sets.append((name, self.actions[name]))
        self.sets = tuple(sets)
        self.labels = tuple(self.actions.get("labels", ()))
        self.stop = bool(self.actions.get("stop"))



class RuleSet:
    """The rules of one file, in file order, compiled once."""

    def __init__(self, rules: list[Rule], path: str | None = None):
        self.rules = rules
        self.path = path

    def __len__(self) -> int:
        return len(self.rules)

    def resolve_categories(self, categories: Sequence, *, strict: bool = True) -> list[str]:
        """Give each rule's category its PocketSmith id (see importer.rules.categories.resolve_categories)."""
        from importer.rules.categories import resolve_categories
        return resolve_categories(self, categories, strict=strict)

    # applying --------------------------------------------------------------------------------

    def apply(self, subject: Subject) -> Outcome:
        return _fold(_matching_until_stop(self.rules, prepare_row(subject)))

    def apply_all(self, subjects: Iterable[Subject]) -> list[Outcome]:
        """The same as `apply` on each, faster: literals are found in all rows at once."""
        with collector_paused():
            return [_fold(rules) for rules in self._matching_per_row(subjects)]

    def trace_all(self, subjects: Iterable[Subject]) -> list[Trace]:
        """How each subject's outcome came about, from the very fold `apply_all` does (see Trace)."""
        with collector_paused():
            traces = []
            for matching in self._matching_per_row(subjects):
                fired: list[Firing] = []
                outcome = _fold(matching, fired)
                traces.append(Trace(outcome, fired, matching[len(fired):]))
            return traces

    def matches(self, subjects: Iterable[Subject]) -> list[list[int]]:
        """For each rule, the indexes of the subjects its conditions match, each rule on its own (no stop)."""
        return self._matches([prepare_row(s) for s in subjects])

    def _matches(self, rows: list[tuple]) -> list[list[int]]:
        columns = Columns(rows)
        out = []
        for rule in self.rules:
            test = rule.test
            if test is always:
                out.append(list(range(len(rows))))
                continue
            if rule.prefilter is None:
                out.append([i for i, row in enumerate(rows) if test(row)])
                continue
            candidates, exact = rule.prefilter.rows(columns)
            if exact:
                out.append(sorted(candidates))
            else:
                out.append([i for i in sorted(candidates) if test(rows[i])])
        return out

    def _matching_per_row(self, subjects: Iterable[Subject]) -> list[list[Rule]]:
        """For each subject, every rule whose conditions it meets, in file order (a stop not yet applied)."""
        rows = [prepare_row(s) for s in subjects]
        per_row: list[list[Rule]] = [[] for _ in rows]
        for rule, matched in zip(self.rules, self._matches(rows)):
            for i in matched:
                per_row[i].append(rule)
        return per_row


@contextmanager
def collector_paused() -> Iterator[None]:
    """The garbage collector paused while many rows' outcomes (or traces) are built and read.

    Hundreds of thousands of small lists and dicts, none in a cycle: the collector's full passes
    over them cost a third of the run and free nothing.
    """
    import gc
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def _matching_until_stop(rules: list[Rule], row: tuple) -> list[Rule]:
    matched = []
    for rule in rules:
        if rule.test(row):
            matched.append(rule)
            if rule.stop:
                break
    return matched


def _fold(matched: list[Rule], firings: list[Firing] | None = None) -> Outcome:
    """Apply the matching rules in order: the first rule to set a field wins it; labels accumulate; a stop ends it.

    With `firings`, each rule that fired is also appended to it as a Firing, read from what the fold
    has just recorded, so the trace and the outcome cannot disagree.
    """
    outcome = Outcome()
    set_by = outcome.set_by
    for rule in matched:
        outcome.rules.append(rule.name)
        if firings is not None:
            fields_before, labels_before = len(set_by), len(outcome.labels)
        for name, value in rule.sets:
            if name not in set_by:
                set_by[name] = rule.name
                if name == "category":
                    outcome.category, outcome.category_path, outcome.category_id = value
                else:
                    setattr(outcome, name, value)
        if rule.labels:
            _add_labels(outcome, rule)
        if firings is not None:
            firings.append(_firing(rule, outcome, fields_before, labels_before, firings))
        if rule.stop:
            break
    return outcome


def _add_labels(outcome: Outcome, rule: Rule) -> None:
    """The rule's labels the row does not have yet (compared without case), in the rule's order."""
    seen = {label.lower() for label in outcome.labels}
    for label in rule.labels:
        if label.lower() not in seen:
            seen.add(label.lower())
            outcome.labels.append(label)
            outcome.label_by[label] = rule.name
            outcome.set_by.setdefault("labels", rule.name)


def _firing(rule: Rule, outcome: Outcome, fields_before: int, labels_before: int, earlier: list[Firing]) -> Firing:
    """What `rule` just did to `outcome`: the fields and labels the fold recorded after the given counts."""
    won = tuple(islice(outcome.set_by, fields_before, None))
    if "labels" in won:  # the key that says who added the first label, not a field
        won = tuple(name for name in won if name != "labels")
    added = tuple(outcome.labels[labels_before:])
    if len(won) == len(rule.sets) and len(added) == len(rule.labels):
        return Firing(rule, won, added, (), rule.stop)  # it had its way in everything: nothing blocked it
    lost_fields = {name for name, _ in rule.sets}.difference(won)
    lost_labels = {label.lower() for label in rule.labels}.difference(label.lower() for label in added)
    blocked_by = tuple(firing.rule for firing in earlier
                       if lost_fields.intersection(firing.won)
                       or any(label.lower() in lost_labels for label in firing.added))
    return Firing(rule, won, added, blocked_by, rule.stop)
