"""Declarative checks of YAML data: what keys a file takes and what each holds, every problem reported at once.

A schema is built from a few specs and `check` runs data through it:

    DEDUPE = Keys({"window_days": Either(Whole(minimum=0), Keys({"before": Whole(minimum=0)})),
                   "pending_tolerance": Fraction()})
    values = check(DEDUPE, section, file="psimport.yaml", at="dedupe")

`check` returns the data in its Python form (a Fraction's "20%" as Decimal("0.20"), a Text as str, a
Whole as int), keeping the lines of mappings and lists read by importer.yamlfile. Problems (an unknown
key at any depth, with the key meant and the valid ones; a wrong type; a bad choice; a missing key)
become one ConfigError listing each with its file and line. A key given as null (`key:` and nothing)
counts as not given. Data built in code has no lines, and the messages then name the key alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from importer.errors import ConfigError, did_you_mean, every_problem
from importer.yamlfile import LineList, LineMap, WrittenInt, excerpt, line_of

__all__ = ["check", "Spec", "Keys", "ListOf", "Either", "Text", "Bool", "Whole", "Number", "Fraction", "OneOf",
           "Regex", "INVALID", "or_list"]


class _Invalid:
    """Stands in a checked mapping for a value that had a problem, so later checks treat the key as given."""

    def __repr__(self) -> str:
        return "INVALID"


INVALID: Any = _Invalid()


@dataclass
class _Run:
    """One check: the file it names and the problems found so far."""

    file: str | None
    problems: list[ConfigError] = field(default_factory=list)

    def problem(self, message: str, line: int | None) -> Any:
        self.problems.append(ConfigError(message, file=self.file, line=line))
        return INVALID


def check(spec: "Spec", data: Any, *, file: str | Path | None = None, at: str = "") -> Any:
    """`data` as `spec` says, in its Python form; else one ConfigError with every problem (see the module doc).

    `at` is where the data sits in its file ("dedupe"), so messages name keys as the user writes them.
    """
    run = _Run(None if file is None else str(file))
    value = spec.check(data, at, line_of(data), run)
    if run.problems:
        raise every_problem(run.problems, run.file)
    return value


def or_list(choices: Iterable[Any]) -> str:
    """Choices as "a, b or c"."""
    items = [str(c) for c in choices]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _name(at: str) -> str:
    return f"'{at}'" if at else "the file"


def _join(at: str, key: Any) -> str:
    return f"{at}.{key}" if at else str(key)


def _found(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return excerpt(value)


class Spec:
    """What one value must be. `what` describes it for messages ("a whole number")."""

    what = "a value"

    def accepts(self, value: Any) -> bool:
        """Whether `value` is of this spec's kind (Either picks the alternative that does)."""
        raise NotImplementedError

    def check(self, value: Any, at: str, line: int | None, run: _Run) -> Any:
        if not self.accepts(value):
            return run.problem(f"{_name(at)} must be {self.what}, not {_found(value)}", line)
        return self.convert(value, at, line, run)

    def convert(self, value: Any, at: str, line: int | None, run: _Run) -> Any:
        return value


Between = Callable[[LineMap, str], Iterator[tuple[str, "int | None"]]]


class Keys(Spec):
    """A mapping with known keys. `required` keys must be given; of `one_of` exactly one, of `any_of` at least one.

    `between` checks what no one key's spec can (which keys go together): given the checked mapping (a value
    with a problem is INVALID there, so a key given wrongly still counts as given) and where it sits, it
    yields (message, line) for each problem.
    """

    def __init__(self, fields: dict[str, Spec], *, required: Iterable[str] = (), one_of: Iterable[str] = (),
                 any_of: Iterable[str] = (), between: Between | None = None, what: str = "a mapping of keys"):
        self.fields = fields
        self.required = tuple(required)
        self.one_of = tuple(one_of)
        self.any_of = tuple(any_of)
        self.between = between
        self.what = what

    def accepts(self, value: Any) -> bool:
        return isinstance(value, dict)

    def convert(self, value: dict, at: str, line: int | None, run: _Run) -> LineMap:
        checked = LineMap()
        checked.line = getattr(value, "line", None) or line
        checked.key_lines = checked_lines = {}
        key_lines = getattr(value, "key_lines", {})
        fields = self.fields
        meant = []
        for key, item in value.items():
            key_line = key_lines.get(key, line)
            spec = fields.get(key) if isinstance(key, str) else None
            if spec is None:
                valid = list(fields)
                run.problem(f"unknown key {excerpt(_join(at, key))}{did_you_mean(key, valid)}; valid keys are: "
                            f"{', '.join(valid)}", key_line)
                import difflib
                meant += [(close, key_line) for close in difflib.get_close_matches(str(key), valid, n=1)]
            elif item is not None:
                checked[key] = spec.check(item, f"{at}.{key}" if at else key, key_line, run)
                checked_lines[key] = key_line
        # A misspelt key stands for the key meant, given with a problem: not also reported missing.
        for key, key_line in meant:
            if key not in checked:
                checked[key], checked_lines[key] = INVALID, key_line
        if self.required or self.one_of or self.any_of:
            self._check_presence(checked, at, run)
        if self.between is not None:
            for message, problem_line in self.between(checked, at):
                run.problem(message, problem_line)
        return checked

    def _check_presence(self, checked: LineMap, at: str, run: _Run) -> None:
        for key in self.required:
            if key not in checked:
                run.problem(f"'{_join(at, key)}' is required: {self.fields[key].what}", checked.line)
        given = [key for key in self.one_of if key in checked]
        if self.one_of and len(given) != 1:
            keys = or_list(f"'{key}'" for key in self.one_of)
            run.problem(f"{_name(at)} takes one of {keys}" + (f", not {len(given)}" if given else ""), checked.line)
        if self.any_of and not any(key in checked for key in self.any_of):
            run.problem(f"{_name(at)} needs at least one of {', '.join(self.any_of)}", checked.line)


class ListOf(Spec):
    """A list of `item`s; `single` also takes one item alone, as a list of one."""

    def __init__(self, item: Spec, *, min_items: int = 0, single: bool = False, what: str | None = None):
        self.item = item
        self.min_items = min_items
        self.single = single
        self.what = what or f"a list of {self.item.what}" + (f" (or {self.item.what} alone)" if single else "")

    def accepts(self, value: Any) -> bool:
        return isinstance(value, list) or (self.single and self.item.accepts(value))

    def convert(self, value: Any, at: str, line: int | None, run: _Run) -> LineList:
        items = value if isinstance(value, list) else [value]
        item_lines = getattr(items, "item_lines", None) or [line] * len(items)
        checked = LineList(self.item.check(item, f"{at}[{n}]", item_line, run)
                           for n, (item, item_line) in enumerate(zip(items, item_lines)))
        checked.line = getattr(items, "line", None) or line
        checked.item_lines = item_lines
        if len(checked) < self.min_items:
            run.problem(f"{_name(at)} must list at least {self.min_items} ({self.what})" if self.min_items > 1 else
                        f"{_name(at)} must not be an empty list ({self.what})", line)
        return checked


class Either(Spec):
    """The first of `alternatives` whose kind the value is (a number, or a mapping of keys, say)."""

    def __init__(self, *alternatives: Spec, what: str | None = None):
        self.alternatives = alternatives
        self.what = what or or_list(alternative.what for alternative in alternatives)

    def accepts(self, value: Any) -> bool:
        return any(alternative.accepts(value) for alternative in self.alternatives)

    def check(self, value: Any, at: str, line: int | None, run: _Run) -> Any:
        for alternative in self.alternatives:
            if alternative.accepts(value):
                return alternative.check(value, at, line, run)
        return super().check(value, at, line, run)


class Text(Spec):
    """A string (`numbers`: a number too, as written: an account number). `parse` turns it into its value,
    raising ValueError("must be ...") when it cannot."""

    def __init__(self, what: str = "text", *, nonempty: bool = False, numbers: bool = False,
                 parse: Callable[[str], Any] | None = None):
        self.what = what
        self.nonempty = nonempty
        self.numbers = numbers
        self.parse = parse

    def accepts(self, value: Any) -> bool:
        if isinstance(value, str):
            return True
        return self.numbers and isinstance(value, (int, Decimal, float)) and not isinstance(value, bool)

    def check(self, value: Any, at: str, line: int | None, run: _Run) -> Any:
        if isinstance(value, str) and self.parse is None and not self.nonempty:
            return value        # most of a file: plain text, nothing more to check
        return super().check(value, at, line, run)

    def convert(self, value: Any, at: str, line: int | None, run: _Run) -> Any:
        text = value if isinstance(value, str) else getattr(value, "text", None) or str(value)
        if self.nonempty and not text.strip():
            return run.problem(f"{_name(at)} must be {self.what}, not empty", line)
        if self.parse is None:
            return text
        try:
            return self.parse(text)
        except ValueError as exc:
            return run.problem(f"{_name(at)} {exc}", line)


class Regex(Text):
    """A regular expression, checked here and returned as written (its user compiles it with the flags it needs)."""

    def __init__(self, what: str = "a regular expression"):
        super().__init__(what, parse=_valid_regex)


def _valid_regex(text: str) -> str:
    try:
        re.compile(text)
    except re.error as exc:
        raise ValueError(f"is not a valid regular expression: {exc} (in {excerpt(text)})") from None
    return text


class Bool(Spec):
    """true or false (YAML 1.1 also reads yes, no, on and off so)."""

    what = "true or false"

    def accepts(self, value: Any) -> bool:
        return isinstance(value, bool)


class _Range(Spec):
    """A number within bounds; `text` also takes digits in quotes ("42")."""

    kind = "a number"

    def __init__(self, minimum: Any = None, maximum: Any = None, *, what: str | None = None, text: bool = False):
        self.minimum = minimum
        self.maximum = maximum
        self.text = text
        bounds = ("" if minimum is None and maximum is None else
                  f" from {minimum} to {maximum}" if minimum is not None and maximum is not None else
                  f" of {minimum} or more" if minimum is not None else f" of {maximum} or less")
        self.what = what or self.kind + bounds

    def accepts(self, value: Any) -> bool:
        return self._number(value) is not None

    def convert(self, value: Any, at: str, line: int | None, run: _Run) -> Any:
        number = self._number(value)
        if (self.minimum is not None and number < self.minimum) or (self.maximum is not None and number > self.maximum):
            return run.problem(f"{_name(at)} must be {self.what}, not {_found(value)}", line)
        return number

    def _number(self, value: Any) -> Any:
        raise NotImplementedError


class Whole(_Range):
    """An int (not a bool)."""

    kind = "a whole number"

    def convert(self, value: Any, at: str, line: int | None, run: _Run) -> Any:
        # YAML 1.1 reads 0510001 as octal, 0x1F as hex and 1:30 as base 60: never what a setting means.
        if isinstance(value, WrittenInt) and (value.text.lstrip("+-").startswith("0") or ":" in value.text):
            return run.problem(f"{_name(at)} is written {excerpt(value.text)}, which YAML reads as {int(value)}: "
                               "write the number plainly", line)
        return super().convert(value, at, line, run)

    def _number(self, value: Any) -> int | None:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if self.text and isinstance(value, str) and value.strip().isdigit():
            return int(value)
        return None


class Number(_Range):
    """A number, as Decimal (a float given in code is read through its shortest repr, as YAML would)."""

    def _number(self, value: Any) -> Decimal | None:
        if isinstance(value, bool):
            return None
        if isinstance(value, (int, Decimal)):
            number = Decimal(value)
        elif isinstance(value, float):
            number = Decimal(repr(value))
        else:
            return None
        return number if number.is_finite() else None


class Fraction(Spec):
    """A fraction from 0 up to (not including) 1, written 0.2 or as a percentage, "20%"; as Decimal."""

    what = "a fraction like 0.2 or a percentage like 20%"

    def accepts(self, value: Any) -> bool:
        return isinstance(value, (int, Decimal, float, str)) and not isinstance(value, bool)

    def convert(self, value: Any, at: str, line: int | None, run: _Run) -> Any:
        text = repr(value) if isinstance(value, float) else str(value).strip()
        try:
            fraction = Decimal(text[:-1]) / 100 if text.endswith("%") else Decimal(text)
        except InvalidOperation:
            fraction = None
        if fraction is None or not fraction.is_finite() or not 0 <= fraction < 1:
            return run.problem(f"{_name(at)} must be {self.what} (below 100%), not {_found(value)}", line)
        return fraction


class OneOf(Spec):
    """One of a few values (text compared as written; true is not 1)."""

    def __init__(self, *choices: Any, what: str | None = None):
        self.choices = choices
        self.what = what or or_list(_found(c) if isinstance(c, bool) else c for c in choices)

    def accepts(self, value: Any) -> bool:
        return isinstance(value, (str, int, Decimal, bool))

    def convert(self, value: Any, at: str, line: int | None, run: _Run) -> Any:
        for choice in self.choices:
            if value == choice and isinstance(value, bool) == isinstance(choice, bool):
                return choice
        return run.problem(f"{_name(at)} must be {self.what}, not {_found(value)}", line)
