"""The rules engine: load and validate rules.yaml, resolve its categories, and decide each row's category, labels and flags."""

from __future__ import annotations

import calendar
import re
from bisect import bisect_left, bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from importer.errors import ConfigError, did_you_mean

__all__ = ["load_rules", "load_rules_for", "compile_rules", "find_rules_file", "dump_rules", "RuleSet", "Rule", "Subject", "Outcome",
           "subject_from_record", "subject_from_existing", "categories_seen", "outcome_json", "match_key",
           "FIELDS", "TEXT_OPERATORS", "NUMBER_OPERATORS", "DATE_OPERATORS", "ACTIONS"]

# ─── the format ───────────────────────────────────────────────────────────────────────────────

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

# Row layout: a plain tuple indexed by these constants is the cheapest thing a compiled test can read.
_PAYEE, _ORIGINAL, _MEMO, _CURRENCY, _ACCOUNT, _TYPE, _AMOUNT, _DATE, _KEYS = range(9)
_INDEX = {"payee": _PAYEE, "original_payee": _ORIGINAL, "memo": _MEMO, "currency": _CURRENCY,
          "account": _ACCOUNT, "type": _TYPE, "amount": _AMOUNT, "date": _DATE}
_SEP = "\x00"


# ─── what rules see, and what they decide ─────────────────────────────────────────────────────

@dataclass(slots=True)
class Subject:
    """One row as the rules see it: the record as the file (or PocketSmith) had it.

    `account` is one name or several: the PocketSmith transaction account's id and name, and for
    statement rows the account number the file gives; a condition on `account` matches if it matches
    any of them. `type` is the bank's transaction type when the file gives one (OFX `POS`, `ATM`,
    `XFER`...); a condition on `type` also sees `debit` (amount < 0) or `credit` (amount >= 0).
    """

    payee: str | None
    original_payee: str | None
    memo: str | None
    amount: Decimal
    date: date
    account: str | Sequence[str] | None = None
    type: str | None = None
    currency: str | None = None


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


def subject_from_record(txn, account: str | Sequence[str] | None = None) -> Subject:
    """A statement row (importer.record.Transaction) as the rules see it."""
    return Subject(payee=txn.payee, original_payee=txn.original_payee, memo=txn.memo, amount=txn.amount,
                   date=txn.date, account=account, type=txn.type, currency=txn.currency)


def subject_from_existing(txn, account: str | Sequence[str] | None = None,
                          currency: str | None = None) -> Subject:
    """A transaction PocketSmith already holds (PsTransaction); `account` defaults to its account id."""
    if account is None and txn.transaction_account_id is not None:
        account = str(txn.transaction_account_id)
    return Subject(payee=txn.payee, original_payee=txn.original_payee or txn.payee, memo=txn.memo,
                   amount=txn.amount, date=txn.date, account=account, type=txn.type, currency=currency)


def categories_seen(transactions) -> list:
    """The categories an `--existing` export mentions (id and title; their parents are unknown)."""
    from importer.pocketsmith.models import Category
    seen: dict[int, Category] = {}
    for txn in transactions:
        if txn.category_id is not None and txn.category_id not in seen:
            title = txn.category_title or ""
            seen[txn.category_id] = Category(id=int(txn.category_id), title=title, path=title)
    return list(seen.values())


@lru_cache(maxsize=4096)
def _aliases(value) -> tuple[str, ...]:
    """Lowercased names; cached, since every row of an account carries the same ones."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value.lower(),)
    return tuple(str(v).lower() for v in value if v is not None)


@lru_cache(maxsize=4096)
def _kinds(bank_type: str | None, debit: bool) -> tuple[str, ...]:
    kinds = _aliases(bank_type)
    sign = "debit" if debit else "credit"
    return kinds if sign in kinds else kinds + (sign,)


def _prepare(subject: Subject) -> tuple:
    amount = subject.amount
    account = subject.account
    if account is not None and not isinstance(account, (str, tuple)):
        account = tuple(account)
    return ((subject.payee or "").lower(), (subject.original_payee or "").lower(), (subject.memo or "").lower(),
            (subject.currency or "").lower(), _aliases(account), _kinds(subject.type, amount < 0), amount,
            subject.date, {})


def match_key(text: str) -> str:
    """The payee key fuzzy conditions and history grouping use (importer.payee's, shared with dedupe)."""
    from importer.payee import match_key as shared
    return shared(text)


def _row_key(row: tuple, index: int) -> str:
    keys = row[_KEYS]
    key = keys.get(index)
    if key is None:
        key = keys[index] = match_key(row[index])
    return key


# ─── loading YAML with line numbers ───────────────────────────────────────────────────────────

class _Map(dict):
    """A YAML mapping that remembers its line and each key's line."""

    line: int = 0
    key_lines: dict


class _Text(str):
    """A YAML string that remembers its line (for errors about a category or a regex)."""

    line: int = 0


def _loader_class():
    import yaml

    class LineLoader(yaml.SafeLoader):
        pass

    def construct_map(loader, node):
        data = _Map()
        data.line = node.start_mark.line + 1
        data.key_lines = {}
        yield data
        loader.flatten_mapping(node)
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                raise ConfigError("a mapping key must be plain text", line=key_node.start_mark.line + 1) from None
            if key in data:
                raise ConfigError(f"'{key}' is given twice in one mapping", line=key_node.start_mark.line + 1)
            data[key] = loader.construct_object(value_node, deep=True)
            data.key_lines[key] = key_node.start_mark.line + 1

    def construct_str(loader, node):
        text = _Text(loader.construct_scalar(node))
        text.line = node.start_mark.line + 1
        return text

    def construct_decimal(loader, node):
        # Money never passes through float: 12.30 in rules.yaml is Decimal("12.30").
        text = loader.construct_scalar(node).replace("_", "")
        try:
            return Decimal(text)
        except InvalidOperation:
            return text

    LineLoader.add_constructor("tag:yaml.org,2002:map", construct_map)
    LineLoader.add_constructor("tag:yaml.org,2002:str", construct_str)
    LineLoader.add_constructor("tag:yaml.org,2002:float", construct_decimal)
    return LineLoader


def _read_yaml(text: str, path: str):
    import yaml
    loader = _loader_class()(text)
    try:
        return loader.get_single_data()
    except ConfigError as exc:
        raise ConfigError(exc.message, file=path, line=exc.line) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"not valid YAML: {problem}", file=path,
                          line=None if mark is None else mark.line + 1) from None
    finally:
        loader.dispose()


# ─── compiling ────────────────────────────────────────────────────────────────────────────────

Test = Callable[[tuple], bool]
# Once an `all` is down to this share of the rows (or fewer than _FEW), testing each candidate costs less
# than narrowing further with the next, costlier part.
_FEW = 64
_FEW_SHARE = 16


@dataclass(frozen=True, slots=True)
class _Prefilter:
    """The rows a condition can match, found from whole columns at once (for `apply_all`).

    `rows(columns)` gives (row indexes, exact): exact means those are precisely the matching rows,
    otherwise a superset that the row test still checks. `cost` orders the parts of an `all`.
    A condition without a prefilter (`not`, account, type) is tested on every row.
    """

    cost: int
    rows: Callable[["_Columns"], tuple[set[int], bool]]


class _Compiler:
    """Turns one rule's YAML into a test closure and a column prefilter, raising ConfigError on anything wrong."""

    def __init__(self, path: str | None, rule_name: str, rule_line: int | None):
        self.path = path
        self.rule_name = rule_name
        self.rule_line = rule_line

    def error(self, message: str, line: int | None = None) -> ConfigError:
        return ConfigError(f"rule '{self.rule_name}': {message}", file=self.path, line=line or self.rule_line)

    @staticmethod
    def line_of(mapping, key=None, default=None) -> int | None:
        if key is not None and isinstance(mapping, _Map) and key in mapping.key_lines:
            return mapping.key_lines[key]
        return getattr(mapping, "line", None) or default

    # conditions -----------------------------------------------------------------------------

    def condition(self, node, line: int | None) -> tuple[Test, _Prefilter | None]:
        if not isinstance(node, dict) or not node:
            raise self.error("a condition must be a non-empty mapping of fields (payee, amount, ...) or "
                             "all/any/not", line)
        parts = [self.condition_key(key, value, self.line_of(node, key, line)) for key, value in node.items()]
        return _all_of(parts)

    def condition_key(self, key, value, line) -> tuple[Test, _Prefilter | None]:
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

    def leaf(self, fieldname: str, op, operand, line) -> tuple[Test, _Prefilter | None]:
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

    def text_leaf(self, fieldname, op, operand, line) -> tuple[Test, _Prefilter | None]:
        index = _INDEX[fieldname]
        aliased = fieldname in ALIAS_FIELDS
        if op == "regex":
            self.texts(fieldname, op, operand, line, many=False)
            try:
                # Compiled from the text as written: lowercasing `\S` or `\W` would change its meaning.
                pattern = re.compile(str(operand), re.IGNORECASE)
            except re.error as exc:
                raise self.error(f"{fieldname}: bad regex {str(operand)!r}: {exc}", line) from None
            search = pattern.search
            check: Callable[[str], bool] = lambda text: search(text) is not None
            literal = _required_literal(pattern)
            if literal:
                # Every match contains this text: find the few rows that have it, then run the regex on those.
                prefilter = _Prefilter(0, lambda columns: (columns.rows_with(index, [literal])[0], False))
            else:
                prefilter = _Prefilter(3, lambda columns: (columns.rows_where(index, check), True))
        elif op == "fuzzy":
            similar, prefilter = self.fuzzy(fieldname, index, operand, line)
            if aliased:
                return (lambda row: any(similar(match_key(alias)) for alias in row[index])), None
            return (lambda row: similar(_row_key(row, index))), prefilter
        else:
            needles = self.texts(fieldname, op, operand, line, many=True)
            if op in ("contains", "starts_with", "ends_with") and any(not n for n in needles):
                raise self.error(f"{fieldname} {op}: an empty text would match every row", line)
            if op in ("equals", "in"):
                options = frozenset(needles)
                check = options.__contains__
                framed = [_SEP + n + _SEP for n in needles]
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
                framed = [_SEP + n for n in needles]
            else:
                suffixes = tuple(needles)
                check = lambda text: text.endswith(suffixes)
                framed = [n + _SEP for n in needles]
            prefilter = _Prefilter(0, lambda columns: columns.rows_with(index, framed))
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
            return _fuzzy_score(needle, key) >= score
        return similar, _Prefilter(4, lambda columns: (columns.fuzzy_rows(index, needle, score), False))

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

    def ordered_leaf(self, fieldname, op, operand, line, convert) -> tuple[Test, _Prefilter]:
        index = _INDEX[fieldname]
        if op == "between":
            if not isinstance(operand, list) or len(operand) != 2:
                raise self.error(f"{fieldname} between: expected [low, high]", line)
            low, high = (convert(fieldname, op, v, line) for v in operand)
            if low > high:
                raise self.error(f"{fieldname} between: {low} is after {high}", line)
            return (lambda row: low <= row[index] <= high), \
                _Prefilter(2, lambda columns: (columns.rows_between(index, low, high), True))
        if op == "in":
            if not isinstance(operand, list) or not operand:
                raise self.error(f"{fieldname} in: expected a non-empty list", line)
            options = frozenset(convert(fieldname, op, v, line) for v in operand)
            return (lambda row: row[index] in options), \
                _Prefilter(1, lambda columns: (columns.rows_equal(index, options), True))
        bound = convert(fieldname, op, operand, line)
        if op == "equals":
            single = (bound,)
            return (lambda row: row[index] == bound), \
                _Prefilter(1, lambda columns: (columns.rows_equal(index, single), True))
        below = op in ("lt", "le")
        inclusive = op in ("le", "ge")
        tests = {"lt": lambda row: row[index] < bound, "le": lambda row: row[index] <= bound,
                 "gt": lambda row: row[index] > bound, "ge": lambda row: row[index] >= bound}
        return tests[op], _Prefilter(2, lambda columns: (columns.rows_beyond(index, bound, below, inclusive), True))

    def date_leaf(self, op, operand, line) -> tuple[Test, _Prefilter]:
        if op == "weekday":
            items = operand if isinstance(operand, list) else [operand]
            days = set()
            for item in items:
                number = WEEKDAYS.get(str(item).lower()) if isinstance(item, str) else None
                if number is None:
                    raise self.error(f"date weekday: {item!r} is not a weekday (mon, tue, ... sun)", line)
                days.add(number)
            weekdays = frozenset(days)
            return (lambda row: row[_DATE].weekday() in weekdays), \
                _Prefilter(1, lambda columns: (columns.rows_on(_weekday, weekdays), True))
        if op == "day_of_month":
            items = operand if isinstance(operand, list) else [operand]
            days = set()
            for item in items:
                if isinstance(item, bool) or not isinstance(item, int) or item == 0 or not -31 <= item <= 31:
                    raise self.error(f"date day_of_month: {item!r} is not a day 1..31 (or -1 for the last)", line)
                days.add(item)
            wanted = frozenset(days)
            return (lambda row: bool(_month_days(row[_DATE]) & wanted)), \
                _Prefilter(1, lambda columns: (columns.rows_on(_month_days, wanted), True))
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
                    value = _normalise_path(value)
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


def _normalise_path(name: str) -> str:
    return " > ".join(part.strip() for part in str(name).split(">"))


def _all_of(parts: list[tuple[Test, _Prefilter | None]]) -> tuple[Test, _Prefilter | None]:
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
    return test, _Prefilter(filters[0].cost, rows)


def _any_of(parts: list[tuple[Test, _Prefilter | None]]) -> tuple[Test, _Prefilter | None]:
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
    return test, _Prefilter(max(pre.cost for pre in filters), rows)


def _fuzzy_score(needle: str, key: str) -> float:
    """How well `needle` appears in `key`, 0..100: partial alignment when the key is the longer text."""
    if not key:
        return 0.0
    from rapidfuzz import fuzz
    if len(key) >= len(needle):
        return fuzz.partial_ratio(needle, key)
    # A key shorter than the rule's text must resemble all of it ("cafe" is not "bean there cafe").
    return fuzz.ratio(needle, key)


class _Columns:
    """The rows one field at a time, indexed on demand, so a condition finds its rows in all of them at once.

    Statements repeat themselves (the same payees, amounts and dates over and over), so each field is
    reduced to its distinct values first, each with the rows that hold it. Distinct texts are joined
    into one string (separated by NUL), so a literal is found with `str.find` at C speed; distinct
    amounts and dates are sorted once for ranges. Returned sets are new: callers may combine them freely.
    """

    def __init__(self, rows: list[tuple]):
        self.rows = rows
        self._cache: dict[tuple, Any] = {}

    def _cached(self, key: tuple, build: Callable[[], Any]):
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = build()
        return found

    def distinct(self, index: int) -> tuple[list, list[list[int]]]:
        """The field's distinct values, and for each the rows that have it."""
        def build():
            groups: dict[Any, list[int]] = {}
            for i, row in enumerate(self.rows):
                value = row[index]
                rows = groups.get(value)
                if rows is None:
                    groups[value] = [i]
                else:
                    rows.append(i)
            return list(groups), list(groups.values())
        return self._cached(("distinct", index), build)

    def _rows_of(self, index: int, positions: Iterable[int]) -> set[int]:
        groups = self.distinct(index)[1]
        found: set[int] = set()
        for position in positions:
            found.update(groups[position])
        return found

    def _joined(self, index: int) -> tuple[str, list[int], bool]:
        def build():
            texts = self.distinct(index)[0]
            starts = []
            position = 1
            for text in texts:
                starts.append(position)
                position += len(text) + 1
            starts.append(position)        # sentinel: where a text after the last would start
            joined = _SEP + _SEP.join(texts) + _SEP
            # A NUL inside a text would blur the boundaries: the answer is then only a superset.
            clean = joined.count(_SEP) == len(texts) + 1
            return joined, starts, clean
        return self._cached(("joined", index), build)

    def rows_with(self, index: int, framed: list[str]) -> tuple[set[int], bool]:
        joined, starts, clean = self._joined(index)
        last = len(starts) - 1
        hits: set[int] = set()
        find = joined.find
        for needle in framed:
            # A needle framed by the separator starts one character before its text.
            lead = 1 if needle.startswith(_SEP) else 0
            position = find(needle)
            while position >= 0:
                text = bisect_right(starts, position + lead) - 1
                hits.add(text)
                if text + 1 >= last:
                    break
                position = find(needle, starts[text + 1] - 1)
        return self._rows_of(index, hits), clean

    def rows_where(self, index: int, check: Callable[[str], bool]) -> set[int]:
        return self._rows_of(index, [i for i, text in enumerate(self.distinct(index)[0]) if check(text)])

    def _sorted(self, index: int) -> tuple[list, list[int]]:
        def build():
            values = self.distinct(index)[0]
            order = sorted(range(len(values)), key=values.__getitem__)
            return [values[i] for i in order], order
        return self._cached(("sorted", index), build)

    def rows_between(self, index: int, low, high) -> set[int]:
        ordered, order = self._sorted(index)
        return self._rows_of(index, order[bisect_left(ordered, low):bisect_right(ordered, high)])

    def rows_beyond(self, index: int, bound, below: bool, inclusive: bool) -> set[int]:
        ordered, order = self._sorted(index)
        if below:
            return self._rows_of(index, order[:(bisect_right if inclusive else bisect_left)(ordered, bound)])
        return self._rows_of(index, order[(bisect_left if inclusive else bisect_right)(ordered, bound):])

    def rows_equal(self, index: int, options: Iterable) -> set[int]:
        positions = self._cached(("positions", index),
                                 lambda: {value: i for i, value in enumerate(self.distinct(index)[0])})
        return self._rows_of(index, [positions[o] for o in options if o in positions])

    def rows_on(self, keys_of: Callable[[date], Iterable[int]], wanted: frozenset) -> set[int]:
        days = self.distinct(_DATE)[0]
        return self._rows_of(_DATE, [i for i, day in enumerate(days) if not wanted.isdisjoint(keys_of(day))])

    def fuzzy_rows(self, index: int, needle: str, score: float) -> set[int]:
        from rapidfuzz import fuzz, process
        keys = self._cached(("keys", index), lambda: [match_key(text) for text in self.distinct(index)[0]])
        found: set[int] = set()
        # Superset of _fuzzy_score's verdict: either scorer reaching the score keeps the text for the exact test.
        for scorer in (fuzz.partial_ratio, fuzz.ratio):
            for _, _, position in process.extract_iter(needle, keys, scorer=scorer, score_cutoff=score):
                found.add(position)
        return self._rows_of(index, found)


# ─── rules and rule sets ──────────────────────────────────────────────────────────────────────

@dataclass(eq=False)
class Rule:
    """One compiled rule: its test, its actions, and where it was written."""

    name: str
    line: int
    index: int
    condition: Any                     # the `if` mapping as written (None: every row)
    actions: dict[str, Any]
    test: Test
    prefilter: _Prefilter | None
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
        return self.test(_prepare(subject))

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


def _always(row) -> bool:
    return True


class RuleSet:
    """The rules of one file, in file order, compiled once."""

    def __init__(self, rules: list[Rule], path: str | None = None):
        self.rules = rules
        self.path = path

    def __len__(self) -> int:
        return len(self.rules)

    def resolve_categories(self, categories: Sequence, *, strict: bool = True) -> list[str]:
        """Give each rule's category its PocketSmith id, by title or `Parent > Child` path.

        strict (online): an unknown or ambiguous category is a ConfigError naming the rules file, line,
        rule and, when ambiguous, the candidate paths. Not strict (offline, categories from an export):
        such categories keep their name with no id, and the warnings are returned.
        """
        by_path: dict[str, list] = defaultdict(list)
        by_title: dict[str, list] = defaultdict(list)
        for category in categories:
            by_path[_normalise_path(category.path or category.title).lower()].append(category)
            by_title[(category.title or "").strip().lower()].append(category)
        warnings: list[str] = []
        errors: list[ConfigError] = []
        for rule in self.rules:
            name = rule.category
            if name is None:
                continue
            key = name.lower()
            leaf = key.rsplit(" > ", 1)[-1]
            found = by_path.get(key) or ([] if " > " in key else by_title.get(key, []))
            if not found and not strict and " > " in key:
                # An export names categories by title only, so a path can only be checked by its last part.
                found = by_title.get(leaf, [])
            where = dict(file=self.path, line=rule.actions.get("category_line", rule.line))
            rule.category_id = rule.category_title = rule.category_path = None
            if len(found) == 1:
                category = found[0]
                rule.category_id = category.id
                rule.category_title = category.title
                rule.category_path = category.path or category.title
            elif found:
                paths = ", ".join(sorted(f"'{c.path or c.title}' (id {c.id})" for c in found))
                message = f"rule '{rule.name}': category '{name}' is ambiguous: {paths}; write the full path"
                if strict:
                    errors.append(ConfigError(message, **where))
                warnings.append(str(ConfigError(message, **where)))
            else:
                known = sorted({c.path or c.title for c in categories})
                hint = did_you_mean(name, known)
                message = f"rule '{rule.name}': category '{name}' does not exist in PocketSmith{hint}"
                if strict:
                    errors.append(ConfigError(message, **where))
                warnings.append(str(ConfigError(f"rule '{rule.name}': category '{name}' is not among the "
                                                f"export's categories; kept by name, without an id", **where)))
            rule._build()
        if errors:
            raise _every_problem(errors, self.path)
        return warnings

    # applying --------------------------------------------------------------------------------

    def apply(self, subject: Subject) -> Outcome:
        return _fold(_matching_until_stop(self.rules, _prepare(subject)))

    def apply_all(self, subjects: Iterable[Subject]) -> list[Outcome]:
        """The same as `apply` on each, faster: literals are found in all rows at once."""
        import gc
        collecting = gc.isenabled()
        # Hundreds of thousands of small lists and dicts, none in a cycle: the collector's full passes
        # over them cost a third of the run and free nothing.
        gc.disable()
        try:
            rows = [_prepare(s) for s in subjects]
            per_row: list[list[Rule]] = [[] for _ in rows]
            for rule, matched in zip(self.rules, self._matches(rows)):
                for i in matched:
                    per_row[i].append(rule)
            return [_fold(rules) for rules in per_row]
        finally:
            if collecting:
                gc.enable()

    def matches(self, subjects: Iterable[Subject]) -> list[list[int]]:
        """For each rule, the indexes of the subjects its conditions match, each rule on its own (no stop)."""
        return self._matches([_prepare(s) for s in subjects])

    def _matches(self, rows: list[tuple]) -> list[list[int]]:
        columns = _Columns(rows)
        out = []
        for rule in self.rules:
            test = rule.test
            if test is _always:
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


def _matching_until_stop(rules: list[Rule], row: tuple) -> list[Rule]:
    matched = []
    for rule in rules:
        if rule.test(row):
            matched.append(rule)
            if rule.stop:
                break
    return matched


def _fold(matched: list[Rule]) -> Outcome:
    """Apply the matching rules in order: the first rule to set a field wins it; labels accumulate."""
    outcome = Outcome()
    if not matched:
        return outcome
    set_by = outcome.set_by
    for rule in matched:
        outcome.rules.append(rule.name)
        for name, value in rule.sets:
            if name in set_by:
                continue
            set_by[name] = rule.name
            if name == "category":
                outcome.category, outcome.category_path, outcome.category_id = value
            elif name == "payee":
                outcome.payee = value
            elif name == "note":
                outcome.note = value
            elif name == "needs_review":
                outcome.needs_review = value
            elif name == "is_transfer":
                outcome.is_transfer = value
            else:
                outcome.skip = value
        if rule.labels:
            seen = {label.lower() for label in outcome.labels}
            for label in rule.labels:
                if label.lower() not in seen:
                    seen.add(label.lower())
                    outcome.labels.append(label)
                    outcome.label_by[label] = rule.name
                    set_by.setdefault("labels", rule.name)
        if rule.stop:
            break
    return outcome


# ─── loading ──────────────────────────────────────────────────────────────────────────────────

def load_rules(path) -> RuleSet:
    """Read, validate and compile a rules file; any problem is a ConfigError naming file, line and rule."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError("rules file not found", file=str(path)) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"rules file is not UTF-8 text ({exc.reason})", file=str(path)) from None
    data = _read_yaml(text, str(path))
    if not isinstance(data, dict):
        # compile_rules takes a bare list from code; a file says what it is, as the README shows.
        found = "empty" if data is None else "a bare list" if isinstance(data, list) else f"just {data!r}"
        raise ConfigError(f"the rules file is {found}; it must be a mapping with a 'rules:' list, such as\n"
                          "  rules:\n    - name: coffee\n      if: {payee: {contains: coffee}}\n"
                          "      then: {category: Coffee}", file=str(path))
    return compile_rules(data, str(path))


def compile_rules(data, path: str | None = None) -> RuleSet:
    """Validate and compile rules given as data (`{"rules": [...]}` or the list itself)."""
    if data is None:
        data = {"rules": []}
    if isinstance(data, dict):
        unknown = [k for k in data if k != "rules"]
        if unknown:
            key = unknown[0]
            raise ConfigError(f"unknown top-level key '{key}'{did_you_mean(key, ['rules'])}; a rules file is "
                              "a mapping with one key, 'rules'", file=path, line=_Compiler.line_of(data, key))
        items = data.get("rules") or []
        list_line = _Compiler.line_of(data, "rules")
    elif isinstance(data, list):
        items, list_line = data, None
    else:
        raise ConfigError("a rules file must be a mapping with a 'rules:' list", file=path)
    if not isinstance(items, list):
        raise ConfigError("'rules' must be a list of rules", file=path, line=list_line)
    rules: list[Rule] = []
    names: dict[str, int] = {}
    errors: list[ConfigError] = []      # every problem, so a file is fixed in one pass, not a run per mistake
    for index, item in enumerate(items):
        line = getattr(item, "line", None) or list_line
        if not isinstance(item, dict):
            errors.append(ConfigError(f"rule #{index + 1}: expected a mapping with name, if, then; got {item!r}",
                                      file=path, line=line))
            continue
        raw_name = item.get("name", f"#{index + 1}")
        name = str(raw_name).strip() if raw_name is not None else f"#{index + 1}"
        compiler = _Compiler(path, name, line)
        problems = [compiler.error(f"unknown key '{key}'{did_you_mean(key, RULE_KEYS)}; a rule has "
                                   f"{', '.join(RULE_KEYS)}", _Compiler.line_of(item, key, line))
                    for key in item if key not in RULE_KEYS]
        if not name or isinstance(raw_name, (dict, list, bool)):
            problems.append(compiler.error("a rule's name must be text", line))
        elif name in names:
            problems.append(compiler.error(f"the name is already used by the rule on line {names[name]}", line))
        else:
            names[name] = line
        test, prefilter, actions = _always, None, {}
        if "if" in item:
            try:
                test, prefilter = compiler.condition(item["if"], _Compiler.line_of(item, "if", line))
            except ConfigError as exc:
                problems.append(exc)
        if "then" not in item:
            problems.append(compiler.error("it has no 'then': a rule needs at least one action", line))
        else:
            try:
                actions = compiler.actions(item["then"], _Compiler.line_of(item, "then", line))
            except ConfigError as exc:
                problems.append(exc)
        if problems:
            errors.extend(problems)
            continue
        rule = Rule(name=name, line=line or 0, index=index, condition=item.get("if"), actions=actions,
                    test=test, prefilter=prefilter)
        rule._build()
        rules.append(rule)
    if errors:
        raise _every_problem(errors, path)
    return RuleSet(rules, path)


def _every_problem(errors: list[ConfigError], path: str | None) -> ConfigError:
    """One error for all of a rules file's problems, each on its own line as `file, line N: rule 'x': ...`."""
    if len(errors) == 1:
        return errors[0]
    listed = "\n".join(f"  {error}" for error in errors)
    return ConfigError(f"{len(errors)} problems:\n{listed}", file=path)


def find_rules_file(option: str | Path | None, config=None) -> Path | None:
    """The rules file to use: --rules, else the config's `rules:` path, else ./rules.yaml if present."""
    if option:
        return Path(option)
    if config is not None:
        configured = (getattr(config, "data", None) or {}).get("rules")
        if configured:
            configured = Path(str(configured)).expanduser()
            if not configured.is_absolute() and getattr(config, "path", None) is not None:
                configured = Path(config.path).parent / configured
            return configured
    local = Path("rules.yaml")
    return local if local.is_file() else None


def load_rules_for(option: str | Path | None, config=None, *, required: bool = True) -> RuleSet | None:
    """The rules a run uses (see find_rules_file); without any, None, or a ConfigError if `required`."""
    path = find_rules_file(option, config)
    if path is None:
        if not required:
            return None
        raise ConfigError("no rules file: pass --rules FILE, set rules: in psimport.yaml, or create ./rules.yaml")
    return load_rules(path)


# ─── writing ──────────────────────────────────────────────────────────────────────────────────

def dump_rules(entries: Iterable[dict], header: Sequence[str] = ()) -> str:
    """A rules file from rule dicts (name, if, then, optional comment), one compact rule per three lines.

    Strings are written JSON-quoted, which YAML reads back exactly; the result loads with load_rules.
    """
    lines = [f"# {line}" for line in header]
    lines.append("rules:")
    count = 0
    for entry in entries:
        count += 1
        if entry.get("comment"):
            lines.append(f"  # {entry['comment']}")
        name = str(entry["name"])
        lines.append(f"  - name: {name if re.fullmatch(r'[A-Za-z][A-Za-z0-9_-]*', name) else _flow(name)}")
        if entry.get("if") is not None:
            lines.append(f"    if: {_flow(entry['if'])}")
        lines.append(f"    then: {_flow(entry['then'])}")
    if not count:
        lines[-1] = "rules: []"
    return "\n".join(lines) + "\n"


def _flow(value) -> str:
    import json
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_flow_key(k)}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return json.dumps(str(value), ensure_ascii=False)


def _flow_key(key) -> str:
    import json
    return key if re.fullmatch(r"[a-z_]+", str(key)) else json.dumps(str(key), ensure_ascii=False)
