"""The rules compiler: one rule's YAML `if` and `then` turned into a test closure, a column prefilter and actions.

Every mistake is a ConfigError naming the file, line and rule, with a "did you mean" for typos.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Callable

from importer.errors import ConfigError, did_you_mean
from importer.rules.subject import FIELD_INDEX, ROW_DATE, SEP, match_key, row_key
from importer.yamlfile import excerpt, line_of

if TYPE_CHECKING:
    from importer.rules.index import Columns

__all__ = ["Compiler", "Prefilter", "Test", "always", "fuzzy_score", "normalise_path", "FIELDS", "TEXT_OPERATORS",
           "NUMBER_OPERATORS", "DATE_OPERATORS", "ACTIONS", "RULE_KEYS", "SETTABLE"]

TEXT_FIELDS = ("payee", "original_payee", "memo", "currency")
ALIAS_FIELDS = ("account", "type")          # a subject may carry several names for these
FIELDS = TEXT_FIELDS + ALIAS_FIELDS + ("amount", "date")
TEXT_OPERATORS = ("equals", "contains", "starts_with", "ends_with", "regex", "fuzzy", "in")
NUMBER_OPERATORS = ("equals", "in", "lt", "le", "gt", "ge", "between")
DATE_OPERATORS = NUMBER_OPERATORS + ("weekday", "day_of_month")
COMBINATORS = ("all", "any", "not")
ACTIONS = ("category", "labels", "payee", "note", "needs_review", "is_transfer", "skip", "stop")
RULE_KEYS = ("name", "if", "then", "description")
# The order fields are decided in; also the order `explain` shows them.
SETTABLE = ("category", "payee", "note", "needs_review", "is_transfer", "skip")
FUZZY_DEFAULT_SCORE = 85

WEEKDAYS = {name: number for number, names in enumerate(
    [("mon", "monday"), ("tue", "tues", "tuesday"), ("wed", "wednesday"), ("thu", "thur", "thurs", "thursday"),
     ("fri", "friday"), ("sat", "saturday"), ("sun", "sunday")]) for name in names}


Test = Callable[[tuple], bool]
# Once an `all` is down to this share of the rows (or fewer than _FEW), testing each candidate costs less
# than narrowing further with the next, costlier part.
_FEW = 64
_FEW_SHARE = 16


@dataclass(frozen=True, slots=True)
class Prefilter:
    """The rows a condition can match, found from whole columns at once (for `apply_all`).

    `rows(columns)` gives (row indexes, exact): exact means those are precisely the matching rows,
    otherwise a superset that the row test still checks. `cost` orders the parts of an `all`.
    A condition without a prefilter (`not`, account, type) is tested on every row.
    """

    cost: int
    rows: Callable[["Columns"], tuple[set[int], bool]]



REGEX_SECONDS = 0.5    # for one regex on one text; a sane pattern takes microseconds


class Compiler:
    """Turns one rule's YAML into a test closure and a column prefilter, raising ConfigError on anything wrong."""

    def __init__(self, path: str | None, rule_name: str, rule_line: int | None):
        self.path = path
        self.rule_name = rule_name
        self.rule_line = rule_line

    def error(self, message: str, line: int | None = None) -> ConfigError:
        return ConfigError(f"rule {excerpt(self.rule_name)}: {message}", file=self.path, line=line or self.rule_line)

    line_of = staticmethod(line_of)

    def bounded_regex(self, fieldname: str, text: str, line: int | None) -> Callable[[str], bool]:
        """A test that `text` (a regex, valid for `re`) matches, run by the `regex` module with a time bound.

        A pattern such as `(a+)+$` backtracks for longer than the universe lasts on a 40-character
        payee; `re` cannot be stopped, `regex` can. Past REGEX_SECONDS on one text the rule stops
        the run with a message naming it, before anything is written.
        """
        import regex
        search = regex.compile(text, regex.IGNORECASE | regex.VERSION0).search
        problem = self.error(f"{fieldname}: regex {excerpt(text)} took over {REGEX_SECONDS} s on one text "
                             "(it backtracks catastrophically, as nested repeats like (a+)+ do); rewrite it "
                             "without a repeat inside a repeat", line)

        def check(value: str) -> bool:
            try:
                return search(value, timeout=REGEX_SECONDS) is not None
            except TimeoutError:
                raise problem from None
        return check

    # conditions -----------------------------------------------------------------------------

    def condition(self, node, line: int | None) -> tuple[Test, Prefilter | None]:
        if not isinstance(node, dict) or not node:
            raise self.error("a condition must be a non-empty mapping of fields (payee, amount, ...) or "
                             "all/any/not", line)
        parts = [self.condition_key(key, value, self.line_of(node, key, line)) for key, value in node.items()]
        return _all_of(parts)

    def condition_key(self, key, value, line) -> tuple[Test, Prefilter | None]:
        if key in ("all", "any"):
            if not isinstance(value, list) or not value:
                raise self.error(f"'{key}' takes a non-empty list of conditions", line)
            parts = [self.condition(item, getattr(item, "line", None) or line) for item in value]
            return _all_of(parts) if key == "all" else _any_of(parts)
        if key == "not":
            test, _ = self.condition(value, getattr(value, "line", None) or line)
            return (lambda row: not test(row)), None
        if key not in FIELDS:
            raise self.error(f"unknown condition '{key}'{did_you_mean(key, FIELDS + COMBINATORS)}; "
                             f"conditions are {', '.join(FIELDS + COMBINATORS)}", line)
        if not isinstance(value, dict):
            # Shorthand: a scalar means `equals`, a list means `in`.
            value = {"in" if isinstance(value, list) else "equals": value}
        if not value:
            raise self.error(f"'{key}' needs at least one operator", line)
        parts = [self.leaf(key, op, operand, self.line_of(value, op, line)) for op, operand in value.items()]
        return _all_of(parts)

    def leaf(self, fieldname: str, op, operand, line) -> tuple[Test, Prefilter | None]:
        if fieldname in TEXT_FIELDS or fieldname in ALIAS_FIELDS:
            allowed = TEXT_OPERATORS
        elif fieldname == "amount":
            allowed = NUMBER_OPERATORS
        else:
            allowed = DATE_OPERATORS
        if op not in allowed:
            known = set(TEXT_OPERATORS + DATE_OPERATORS)
            what = "unknown operator" if op not in known else "operator not available for this field"
            raise self.error(f"{fieldname}: {what} '{op}'{did_you_mean(op, allowed)}; {fieldname} takes "
                             f"{', '.join(allowed)}", line)
        if allowed is TEXT_OPERATORS:
            return self.text_leaf(fieldname, op, operand, line)
        if fieldname == "amount":
            return self.ordered_leaf(fieldname, op, operand, line, self.number)
        return self.date_leaf(op, operand, line)

    def texts(self, fieldname, op, operand, line, many: bool) -> list[str]:
        items = operand if isinstance(operand, list) else [operand]
        if not items or (not many and len(items) != 1):
            raise self.error(f"{fieldname} {op}: expected {'text or a list of texts' if many else 'one text'}",
                             line)
        out = []
        for item in items:
            if isinstance(item, bool) or item is None or isinstance(item, (dict, list)):
                raise self.error(f"{fieldname} {op}: expected text, got {item!r} (put it in quotes)", line)
            out.append(str(item).lower())
        return out

    def text_leaf(self, fieldname, op, operand, line) -> tuple[Test, Prefilter | None]:
        index = FIELD_INDEX[fieldname]
        aliased = fieldname in ALIAS_FIELDS
        if op == "regex":
            self.texts(fieldname, op, operand, line, many=False)
            try:
                # Compiled from the text as written: lowercasing `\S` or `\W` would change its meaning.
                pattern = re.compile(str(operand), re.IGNORECASE)
            except re.error as exc:
                raise self.error(f"{fieldname}: bad regex {str(operand)!r}: {exc}", line) from None
            check: Callable[[str], bool] = self.bounded_regex(fieldname, str(operand), line)
            literal = _required_literal(pattern)
            if literal:
                # Every match contains this text: find the few rows that have it, then run the regex on those.
                prefilter = Prefilter(0, lambda columns: (columns.rows_with(index, [literal])[0], False))
            else:
                prefilter = Prefilter(3, lambda columns: (columns.rows_where(index, check), True))
        elif op == "fuzzy":
            similar, prefilter = self.fuzzy(fieldname, index, operand, line)
            if aliased:
                return (lambda row: any(similar(match_key(alias)) for alias in row[index])), None
            return (lambda row: similar(row_key(row, index))), prefilter
        else:
            needles = self.texts(fieldname, op, operand, line, many=True)
            if op in ("contains", "starts_with", "ends_with") and any(not n for n in needles):
                raise self.error(f"{fieldname} {op}: an empty text would match every row", line)
            if op in ("equals", "in"):
                options = frozenset(needles)
                check = options.__contains__
                framed = [SEP + n + SEP for n in needles]
            elif op == "contains":
                if len(needles) == 1:
                    needle = needles[0]
                    check = lambda text: needle in text
                else:
                    check = lambda text: any(n in text for n in needles)
                framed = needles
            elif op == "starts_with":
                prefixes = tuple(needles)
                check = lambda text: text.startswith(prefixes)
                framed = [SEP + n for n in needles]
            else:
                suffixes = tuple(needles)
                check = lambda text: text.endswith(suffixes)
                framed = [n + SEP for n in needles]
            prefilter = Prefilter(0, lambda columns: columns.rows_with(index, framed))
        if aliased:
            return (lambda row: any(check(alias) for alias in row[index])), None
        return (lambda row: check(row[index])), prefilter

    def fuzzy(self, fieldname, index, operand, line):
        if isinstance(operand, dict):
            unknown = set(operand) - {"value", "score"}
            if unknown or "value" not in operand:
                raise self.error(f"{fieldname} fuzzy: expected {{value: TEXT, score: 1-100}}", line)
            value, score = operand["value"], operand.get("score", FUZZY_DEFAULT_SCORE)
        else:
            value, score = operand, FUZZY_DEFAULT_SCORE
        (text,) = self.texts(fieldname, "fuzzy", value, line, many=False)
        if isinstance(score, bool) or not isinstance(score, (int, Decimal)) or not 0 < score <= 100:
            raise self.error(f"{fieldname} fuzzy: score must be a number from 1 to 100, got {score!r}", line)
        needle = match_key(text)
        if not needle:
            raise self.error(f"{fieldname} fuzzy: {text!r} has no letters to compare", line)
        score = float(score)  # a similarity score, not money

        def similar(key: str) -> bool:
            return fuzzy_score(needle, key) >= score
        return similar, Prefilter(4, lambda columns: (columns.fuzzy_rows(index, needle, score), False))

    def number(self, fieldname, op, value, line) -> Decimal:
        if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
            raise self.error(f"{fieldname} {op}: expected a number, got {value!r}", line)
        try:
            number = Decimal(str(value).replace(",", ""))
        except InvalidOperation:
            raise self.error(f"{fieldname} {op}: expected a number, got {value!r}", line) from None
        if not number.is_finite():
            raise self.error(f"{fieldname} {op}: expected a finite number, got {value!r}", line)
        return number

    def day(self, fieldname, op, value, line) -> date:
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            raise self.error(f"{fieldname} {op}: expected a date YYYY-MM-DD, got {value!r}", line) from None

    def ordered_leaf(self, fieldname, op, operand, line, convert) -> tuple[Test, Prefilter]:
        index = FIELD_INDEX[fieldname]
        if op == "between":
            if not isinstance(operand, list) or len(operand) != 2:
                raise self.error(f"{fieldname} between: expected [low, high]", line)
            low, high = (convert(fieldname, op, v, line) for v in operand)
            if low > high:
                raise self.error(f"{fieldname} between: {low} is after {high}", line)
            return (lambda row: low <= row[index] <= high), \
                Prefilter(2, lambda columns: (columns.rows_between(index, low, high), True))
        if op == "in":
            if not isinstance(operand, list) or not operand:
                raise self.error(f"{fieldname} in: expected a non-empty list", line)
            options = frozenset(convert(fieldname, op, v, line) for v in operand)
            return (lambda row: row[index] in options), \
                Prefilter(1, lambda columns: (columns.rows_equal(index, options), True))
        bound = convert(fieldname, op, operand, line)
        if op == "equals":
            single = (bound,)
            return (lambda row: row[index] == bound), \
                Prefilter(1, lambda columns: (columns.rows_equal(index, single), True))
        below = op in ("lt", "le")
        inclusive = op in ("le", "ge")
        tests = {"lt": lambda row: row[index] < bound, "le": lambda row: row[index] <= bound,
                 "gt": lambda row: row[index] > bound, "ge": lambda row: row[index] >= bound}
        return tests[op], Prefilter(2, lambda columns: (columns.rows_beyond(index, bound, below, inclusive), True))

    def date_leaf(self, op, operand, line) -> tuple[Test, Prefilter]:
        if op == "weekday":
            items = operand if isinstance(operand, list) else [operand]
            days = set()
            for item in items:
                number = WEEKDAYS.get(str(item).lower()) if isinstance(item, str) else None
                if number is None:
                    raise self.error(f"date weekday: {item!r} is not a weekday (mon, tue, ... sun)", line)
                days.add(number)
            weekdays = frozenset(days)
            return (lambda row: row[ROW_DATE].weekday() in weekdays), \
                Prefilter(1, lambda columns: (columns.rows_on(_weekday, weekdays), True))
        if op == "day_of_month":
            items = operand if isinstance(operand, list) else [operand]
            days = set()
            for item in items:
                if isinstance(item, bool) or not isinstance(item, int) or item == 0 or not -31 <= item <= 31:
                    raise self.error(f"date day_of_month: {item!r} is not a day 1..31 (or -1 for the last)", line)
                days.add(item)
            wanted = frozenset(days)
            return (lambda row: bool(_month_days(row[ROW_DATE]) & wanted)), \
                Prefilter(1, lambda columns: (columns.rows_on(_month_days, wanted), True))
        return self.ordered_leaf("date", op, operand, line, self.day)

    # actions ---------------------------------------------------------------------------------

    def actions(self, node, line) -> dict[str, Any]:
        if not isinstance(node, dict) or not node:
            raise self.error(f"'then' must be a non-empty mapping of actions ({', '.join(ACTIONS)})", line)
        out: dict[str, Any] = {}
        for key, value in node.items():
            at = self.line_of(node, key, line)
            if key not in ACTIONS:
                raise self.error(f"unknown action '{key}'{did_you_mean(key, ACTIONS)}; actions are "
                                 f"{', '.join(ACTIONS)}", at)
            if key in ("needs_review", "is_transfer", "skip", "stop"):
                if not isinstance(value, bool):
                    raise self.error(f"{key}: expected true or false, got {value!r}", at)
                out[key] = value
            elif key == "labels":
                items = value if isinstance(value, list) else [value]
                labels: list[str] = []
                for item in items:
                    if not isinstance(item, str) or not item.strip():
                        raise self.error(f"labels: expected text or a list of texts, got {item!r}", at)
                    if "," in item:
                        raise self.error(f"labels: {item!r} has a comma; PocketSmith separates labels by commas",
                                         at)
                    if item.strip().lower() not in {x.lower() for x in labels}:
                        labels.append(item.strip())
                out[key] = labels
            else:
                if not isinstance(value, str) or not value.strip():
                    raise self.error(f"{key}: expected text, got {value!r}", at)
                if key == "category":
                    out["category_line"] = at
                    value = normalise_path(value)
                out[key] = str(value).strip()
        return out


def _required_literal(pattern: re.Pattern) -> str | None:
    """The longest plain text every match of `pattern` must contain (lowercased, ASCII), if any.

    Only the top level of the pattern is read: a run of literal characters there is in every match,
    whatever the optional groups and alternatives around it do.
    """
    try:
        from re import _constants, _parser
        parsed = _parser.parse(pattern.pattern, pattern.flags)
    except Exception:      # a private module: if it ever changes, the regex is simply run on every row
        return None
    best, run = "", []
    for op, argument in list(parsed.data) + [(None, None)]:
        if op is _constants.LITERAL and argument < 128:
            run.append(chr(argument).lower())
            continue
        if len(run) > len(best):
            best = "".join(run)
        run = []
    return best if len(best) >= 3 else None


def _weekday(day: date) -> tuple[int]:
    return (day.weekday(),)


def _month_days(day: date) -> frozenset[int]:
    """The day of the month counted from both ends: 31 October is {31, -1}."""
    return frozenset((day.day, day.day - calendar.monthrange(day.year, day.month)[1] - 1))


def normalise_path(name: str) -> str:
    return " > ".join(part.strip() for part in str(name).split(">"))


def _all_of(parts: list[tuple[Test, Prefilter | None]]) -> tuple[Test, Prefilter | None]:
    if len(parts) == 1:
        return parts[0]
    tests = tuple(test for test, _ in parts)
    filters = sorted((pre for _, pre in parts if pre is not None), key=lambda pre: pre.cost)
    complete = len(filters) == len(parts)

    def test(row):
        for check in tests:
            if not check(row):
                return False
        return True

    if not filters:
        return test, None

    def rows(columns):
        result: set[int] | None = None
        exact = complete
        for pre in filters:
            if result is not None and len(result) <= max(_FEW, len(columns.rows) // _FEW_SHARE):
                return result, False
            found, found_exact = pre.rows(columns)
            exact = exact and found_exact
            result = found if result is None else result & found
        return result, exact
    return test, Prefilter(filters[0].cost, rows)


def _any_of(parts: list[tuple[Test, Prefilter | None]]) -> tuple[Test, Prefilter | None]:
    if len(parts) == 1:
        return parts[0]
    tests = tuple(test for test, _ in parts)
    filters = [pre for _, pre in parts]

    def test(row):
        for check in tests:
            if check(row):
                return True
        return False

    if any(pre is None for pre in filters):
        return test, None

    def rows(columns):
        result: set[int] = set()
        exact = True
        for pre in filters:
            found, found_exact = pre.rows(columns)
            result |= found
            exact = exact and found_exact
        return result, exact
    return test, Prefilter(max(pre.cost for pre in filters), rows)


def fuzzy_score(needle: str, key: str) -> float:
    """How well `needle` appears in `key`, 0..100: partial alignment when the key is the longer text."""
    if not key:
        return 0.0
    from rapidfuzz import fuzz
    if len(key) >= len(needle):
        return fuzz.partial_ratio(needle, key)
    # A key shorter than the rule's text must resemble all of it ("cafe" is not "bean there cafe").
    return fuzz.ratio(needle, key)



def always(row) -> bool:
    return True
