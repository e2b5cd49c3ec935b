"""CSV mappings: the YAML model of a bank's layout, its loader and validator, and where mappings are found.

A mapping is data, not code: it names which columns hold the date, the amount (or debit and
credit, or an amount and a direction flag), the payee and so on, and how the bank writes them.
The shipped mappings live in `mappings/*.yaml` (installed as `importer.builtin_mappings`);
users add their own in `<config dir>/mappings/` or pass one with `--mapping FILE`.
The README section "Writing a mapping for your bank" documents every key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Sequence

from importer.errors import ConfigError, ImporterError, did_you_mean
from importer.yamlfile import read_yaml_file

__all__ = ["Mapping", "TextSpec", "Flag", "DropRule", "Pending", "load_mapping", "mapping_from_dict",
           "available_mappings", "find_mapping", "mapping_yaml", "normalise_cell", "SHAPE_KINDS", "WRITING_A_MAPPING"]

WRITING_A_MAPPING = "README section 'Writing a mapping for your bank'"

ColumnRef = str | int

TOP_LEVEL_KEYS = ("name", "bank", "country", "documented_at", "encoding", "delimiter", "quote", "skip_lines",
                  "header", "signature", "shape", "columns", "date_format", "date_order", "decimal", "sign",
                  "drop", "pending", "continuation", "blank_amount", "currency", "account_type", "account",
                  "notes")
COLUMN_KEYS = ("date", "amount", "debit", "credit", "flag", "fee", "payee", "memo", "balance", "id",
               "cheque_number", "currency", "account", "type")
FLAG_KEYS = ("column", "debit", "credit", "default")
DROP_KEYS = ("column", "matches", "not_matches", "zero_amount", "no_amount", "line_matches")
PENDING_KEYS = ("column", "matches", "keep")
ACCOUNT_KEYS = ("pattern",)
TEXT_KEYS = ("join", "first", "separator")
SHAPE_KINDS = ("date", "amount", "signed_amount", "amount_or_blank", "text", "nonblank", "blank", "any")
DATE_DIRECTIVES = set("dmyYbBHMSIpzZf%")


@dataclass(frozen=True)
class TextSpec:
    """Where a text field comes from: one column, several joined, or the first non-empty of several."""

    columns: tuple[ColumnRef, ...]
    mode: str = "join"  # "join" or "first"
    separator: str = " "


@dataclass(frozen=True)
class Flag:
    """A column whose value says whether an unsigned amount is money out (debit) or in (credit)."""

    column: ColumnRef
    debit: frozenset[str]
    credit: frozenset[str]
    default: str | None = None  # what an empty flag means: "debit", "credit" or None (an error)


@dataclass(frozen=True)
class DropRule:
    """Rows to leave out on purpose: pending holds, zero amounts, footers, summary rows."""

    kind: str  # "matches", "not_matches", "zero_amount", "no_amount", "line_matches"
    column: ColumnRef | None = None
    pattern: re.Pattern | None = None


@dataclass(frozen=True)
class Pending:
    """Rows whose date cell is a placeholder such as "Pending": kept (dated as the newest posted row) or dropped."""

    column: ColumnRef | None
    pattern: re.Pattern
    keep: bool = True


@dataclass(frozen=True)
class Mapping:
    """One bank's CSV layout, loaded from YAML (see the module docstring and the README)."""

    name: str
    bank: str = ""
    country: str | None = None
    documented_at: str | None = None
    path: Path | None = None
    encoding: str | None = None
    delimiter: str | None = None
    quote: str = '"'
    skip_lines: int = 0
    header: bool = True
    signatures: tuple[tuple[str, ...], ...] = ()
    header_cells: tuple[str, ...] = ()  # the first signature as written, for messages
    shape: tuple[str, ...] = ()
    date: ColumnRef | None = None
    amount: ColumnRef | None = None
    debit: ColumnRef | None = None
    credit: ColumnRef | None = None
    flag: Flag | None = None
    fee: ColumnRef | None = None
    payee: TextSpec | None = None
    memo: TextSpec | None = None
    balance: ColumnRef | None = None
    id: ColumnRef | None = None
    cheque_number: ColumnRef | None = None
    currency_column: ColumnRef | None = None
    account_column: ColumnRef | None = None
    type_column: ColumnRef | None = None
    date_format: str = "auto"
    date_order: str | None = None
    decimal: str | None = None
    charges_positive: bool = False
    drop: tuple[DropRule, ...] = ()
    pending: Pending | None = None
    continuation: str | None = None  # "payee" or "memo"
    blank_amount_is_zero: bool = False
    currency: str | None = None
    account_type: str | None = None
    account_pattern: re.Pattern | None = None
    builtin: bool = False

    @property
    def source(self) -> str:
        return str(self.path) if self.path else f"mapping '{self.name}'"

    def column_refs(self) -> dict[str, ColumnRef]:
        """Every column the mapping reads, by role (text specs as role.N)."""
        refs: dict[str, ColumnRef] = {}
        for role in ("date", "amount", "debit", "credit", "fee", "balance", "id", "cheque_number"):
            value = getattr(self, role)
            if value is not None:
                refs[role] = value
        for role, value in (("currency", self.currency_column), ("account", self.account_column),
                            ("type", self.type_column)):
            if value is not None:
                refs[role] = value
        if self.flag is not None:
            refs["flag"] = self.flag.column
        for role, spec in (("payee", self.payee), ("memo", self.memo)):
            if spec is not None:
                for n, ref in enumerate(spec.columns):
                    refs[f"{role}.{n}"] = ref
        for n, rule in enumerate(self.drop):
            if rule.column is not None:
                refs[f"drop.{n}"] = rule.column
        if self.pending is not None and self.pending.column is not None:
            refs["pending"] = self.pending.column
        return refs


@lru_cache(maxsize=8192)
def normalise_cell(cell: str) -> str:
    """A header cell as compared with signatures: no BOM, stray quotes or repeated spaces; case-folded."""
    return " ".join(cell.replace("\ufeff", "").strip().strip('"').split()).casefold()


# ─── loading and validation ────────────────────────────────────────────────────────────────────

def load_mapping(path: str | Path, builtin: bool = False) -> Mapping:
    """Read and check one mapping YAML; a ConfigError names the file and the bad key."""
    path = Path(path)
    return mapping_from_dict(read_yaml_file(path, "mapping"), path=path, builtin=builtin)


def mapping_from_dict(data: Any, path: Path | None = None, name: str | None = None,
                      builtin: bool = False) -> Mapping:
    """Build a Mapping from already-parsed YAML data, checking every key."""
    where = str(path) if path else f"mapping '{name or '?'}'"

    def fail(message: str) -> ConfigError:
        return ConfigError(message, file=where)

    if not isinstance(data, dict):
        raise fail("a mapping must be a YAML mapping of keys (see the " + WRITING_A_MAPPING + ")")
    _check_keys(data, TOP_LEVEL_KEYS, "", fail)
    name = str(data.get("name") or name or (path.stem if path else "custom"))
    header = _boolean(data.get("header", True), "header", fail)
    columns = data.get("columns")
    if not isinstance(columns, dict):
        raise fail("'columns' is required: a mapping of roles (date, amount, payee, ...) to columns")
    _check_keys(columns, COLUMN_KEYS, "columns.", fail)

    def ref(key: str, value: Any = None) -> ColumnRef | None:
        value = columns.get(key) if value is None else value
        return _column_ref(value, f"columns.{key}", header, fail)

    date_ref = ref("date")
    if date_ref is None:
        raise fail("'columns.date' is required")
    amount, debit, credit = ref("amount"), ref("debit"), ref("credit")
    flag = _flag(columns.get("flag"), header, fail)
    if amount is None and debit is None and credit is None:
        raise fail("give 'columns.amount', or 'columns.debit' and 'columns.credit'")
    if amount is not None and (debit is not None or credit is not None):
        raise fail("give either 'columns.amount' or 'columns.debit'/'columns.credit', not both")
    if flag is not None and amount is None:
        raise fail("'columns.flag' goes with 'columns.amount' (an unsigned amount and its direction)")
    payee = _text_spec(columns.get("payee"), "columns.payee", header, fail)
    memo = _text_spec(columns.get("memo"), "columns.memo", header, fail)
    if payee is None and memo is None:
        raise fail("give 'columns.payee' (or at least 'columns.memo') so each row has a description")

    signatures = _signatures(data.get("signature"), fail)
    shape = _shape(data.get("shape"), fail)
    if not header and signatures:
        raise fail("'signature' lists header cells, but 'header' is false; use 'shape' for a headerless file")

    date_format = str(data.get("date_format", "auto"))
    _check_date_format(date_format, fail)
    date_order = data.get("date_order")
    if date_order is not None and date_order not in ("dmy", "mdy", "ymd"):
        raise fail("'date_order' must be dmy, mdy or ymd")
    decimal = data.get("decimal")
    if decimal is not None and decimal not in (".", ","):
        raise fail("'decimal' must be \".\" or \",\"")
    sign = data.get("sign", "normal")
    if sign not in ("normal", "charges_positive"):
        raise fail("'sign' must be normal (money out is negative) or charges_positive (Amex style)")
    delimiter = data.get("delimiter")
    if delimiter is not None:
        delimiter = {"\\t": "\t", "tab": "\t"}.get(str(delimiter), str(delimiter))
        if len(delimiter) != 1:
            raise fail("'delimiter' must be one character (use \"\\t\" for tab)")
    quote = str(data.get("quote", '"'))
    if len(quote) != 1 or quote == delimiter:
        raise fail("'quote' must be one character, other than the delimiter")
    encoding = data.get("encoding")
    if encoding is not None:
        import codecs
        try:
            codecs.lookup(str(encoding))
        except LookupError:
            raise fail(f"unknown encoding '{encoding}'") from None
    skip_lines = data.get("skip_lines", 0)
    if not isinstance(skip_lines, int) or isinstance(skip_lines, bool) or skip_lines < 0:
        raise fail("'skip_lines' must be a whole number of lines")
    continuation = data.get("continuation")
    if continuation is not None and continuation not in ("payee", "memo"):
        raise fail("'continuation' must be payee or memo (where a continued row's text goes)")
    blank_amount = data.get("blank_amount", "error")
    if blank_amount not in ("error", "zero"):
        raise fail("'blank_amount' must be error or zero")
    account_pattern = None
    if data.get("account") is not None:
        account = data["account"]
        if not isinstance(account, dict):
            raise fail("'account' must be a mapping like {pattern: 'Account (\\d+)'}")
        _check_keys(account, ACCOUNT_KEYS, "account.", fail)
        account_pattern = _regex(account.get("pattern"), "account.pattern", fail)

    return Mapping(
        name=name, bank=str(data.get("bank") or name), country=_optional_str(data.get("country")),
        documented_at=_optional_str(data.get("documented_at")), path=path, encoding=encoding,
        delimiter=delimiter, quote=quote, skip_lines=skip_lines, header=header, signatures=signatures,
        header_cells=_first_signature_as_written(data.get("signature")),
        shape=shape, date=date_ref, amount=amount, debit=debit, credit=credit, flag=flag, fee=ref("fee"),
        payee=payee, memo=memo, balance=ref("balance"), id=ref("id"), cheque_number=ref("cheque_number"),
        currency_column=ref("currency"), account_column=ref("account"), type_column=ref("type"),
        date_format=date_format, date_order=date_order, decimal=decimal,
        charges_positive=(sign == "charges_positive"), drop=_drop_rules(data.get("drop"), header, fail),
        pending=_pending(data.get("pending"), header, fail), continuation=continuation,
        blank_amount_is_zero=(blank_amount == "zero"), currency=_optional_str(data.get("currency")),
        account_type=_optional_str(data.get("account_type")), account_pattern=account_pattern,
        builtin=builtin)


def _check_keys(data: dict, valid: Sequence[str], prefix: str, fail) -> None:
    for key in data:
        if key not in valid:
            raise fail(f"unknown key '{prefix}{key}'{did_you_mean(key, valid)}; valid keys are: {', '.join(valid)}")


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _boolean(value: Any, key: str, fail) -> bool:
    if not isinstance(value, bool):
        raise fail(f"'{key}' must be true or false")
    return value


def _column_ref(value: Any, key: str, header: bool, fail) -> ColumnRef | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise fail(f"'{key}' must be a column name or a 0-based column number")
    if isinstance(value, int):
        if value < 0:
            raise fail(f"'{key}' must be a column name or a 0-based column number")
        return value
    if isinstance(value, str):
        if not header:
            raise fail(f"'{key}' names a column ('{value}'), but the file has no header; use a 0-based number")
        return value
    raise fail(f"'{key}' must be a column name or a 0-based column number")


def _text_spec(value: Any, key: str, header: bool, fail) -> TextSpec | None:
    if value is None:
        return None
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return TextSpec((_column_ref(value, key, header, fail),))
    if isinstance(value, list):
        if not value:
            raise fail(f"'{key}' must list at least one column")
        return TextSpec(tuple(_column_ref(v, key, header, fail) for v in value))
    if isinstance(value, dict):
        _check_keys(value, TEXT_KEYS, key + ".", fail)
        if ("join" in value) == ("first" in value):
            raise fail(f"'{key}' takes either 'join: [columns]' or 'first: [columns]'")
        mode = "join" if "join" in value else "first"
        cols = value[mode]
        if not isinstance(cols, list) or not cols:
            raise fail(f"'{key}.{mode}' must be a list of columns")
        separator = str(value.get("separator", " "))
        return TextSpec(tuple(_column_ref(v, key, header, fail) for v in cols), mode, separator)
    raise fail(f"'{key}' must be a column, a list of columns to join, or {{first: [columns]}}")


def _flag(value: Any, header: bool, fail) -> Flag | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise fail("'columns.flag' must be a mapping like {column: 'Af Bij', debit: [Af], credit: [Bij]}")
    _check_keys(value, FLAG_KEYS, "columns.flag.", fail)
    column = _column_ref(value.get("column"), "columns.flag.column", header, fail)
    if column is None:
        raise fail("'columns.flag.column' is required")

    def values(key: str) -> frozenset[str]:
        raw = value.get(key)
        if raw is None:
            raise fail(f"'columns.flag.{key}' is required: the flag values that mean {key}")
        items = raw if isinstance(raw, list) else [raw]
        return frozenset(str(v).strip().casefold() for v in items)

    default = value.get("default")
    if default is not None and default not in ("debit", "credit"):
        raise fail("'columns.flag.default' must be debit or credit")
    return Flag(column, values("debit"), values("credit"), default)


def _regex(value: Any, key: str, fail) -> re.Pattern:
    if not isinstance(value, str):
        raise fail(f"'{key}' must be a regular expression (a string)")
    try:
        return re.compile(value)
    except re.error as exc:
        raise fail(f"'{key}' is not a valid regular expression: {exc}") from None


def _drop_rules(value: Any, header: bool, fail) -> tuple[DropRule, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise fail("'drop' must be a list of rules")
    rules = []
    for n, item in enumerate(value):
        key = f"drop[{n}]"
        if not isinstance(item, dict):
            raise fail(f"'{key}' must be a mapping like {{column: Status, matches: '(?i)pending'}}")
        _check_keys(item, DROP_KEYS, key + ".", fail)
        if item.get("zero_amount") is True:
            rules.append(DropRule("zero_amount"))
        elif item.get("no_amount") is True:
            rules.append(DropRule("no_amount"))
        elif "line_matches" in item:
            rules.append(DropRule("line_matches", pattern=_regex(item["line_matches"], key + ".line_matches",
                                                                  fail)))
        elif "matches" in item or "not_matches" in item:
            kind = "matches" if "matches" in item else "not_matches"
            column = _column_ref(item.get("column"), key + ".column", header, fail)
            if column is None:
                raise fail(f"'{key}' needs a 'column' to test")
            rules.append(DropRule(kind, column, _regex(item[kind], f"{key}.{kind}", fail)))
        else:
            raise fail(f"'{key}' needs one of: matches/not_matches (with column), zero_amount: true, "
                       "no_amount: true, line_matches")
    return tuple(rules)


def _pending(value: Any, header: bool, fail) -> Pending | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise fail("'pending' must be a mapping like {matches: '(?i)^pending$', keep: true}")
    _check_keys(value, PENDING_KEYS, "pending.", fail)
    keep = _boolean(value.get("keep", True), "pending.keep", fail)
    return Pending(_column_ref(value.get("column"), "pending.column", header, fail),
                   _regex(value.get("matches"), "pending.matches", fail), keep)


def _signatures(value: Any, fail) -> tuple[tuple[str, ...], ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not value:
        raise fail("'signature' must be a list of header cells (or a list of such lists)")
    alternatives = value if all(isinstance(v, list) for v in value) else [value]
    result = []
    for alt in alternatives:
        if not alt or not all(isinstance(c, (str, int, Decimal)) and not isinstance(c, bool) for c in alt):
            raise fail("'signature' must be a list of header cells (or a list of such lists)")
        result.append(tuple(normalise_cell(str(c)) for c in alt))
    return tuple(result)


def _first_signature_as_written(value: Any) -> tuple[str, ...]:
    if not value:
        return ()
    first = value[0] if isinstance(value[0], list) else value
    return tuple(str(cell) for cell in first)


def _shape(value: Any, fail) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not value:
        raise fail("'shape' must list the kind of each column: " + ", ".join(SHAPE_KINDS))
    for kind in value:
        if kind not in SHAPE_KINDS:
            raise fail(f"unknown shape kind '{kind}'; kinds are: {', '.join(SHAPE_KINDS)}")
    return tuple(value)


def _check_date_format(fmt: str, fail) -> None:
    if fmt == "auto":
        return
    for match in re.finditer(r"%(.)", fmt):
        if match.group(1) not in DATE_DIRECTIVES:
            raise fail(f"'date_format' uses %{match.group(1)}, which psimport does not read; "
                       "use %d %m %Y %y %b %B (and %H %M %S %p %z %Z for times, which are ignored)")
    if not re.search(r"%[dY]|%y", fmt):
        raise fail("'date_format' must contain a day and a year (for example %d/%m/%Y)")


# ─── finding mappings ──────────────────────────────────────────────────────────────────────────

@lru_cache(maxsize=8)
def _load_dir(directory: str, mtime_ns: int, builtin: bool) -> tuple[Mapping, ...]:
    # Keyed by the folder's mtime, so an edited or added user mapping is picked up in a long process.
    found = []
    for path in sorted(Path(directory).glob("*.y*ml")):
        if path.suffix.lower() in (".yaml", ".yml") and not path.name.startswith("."):
            found.append(load_mapping(path, builtin=builtin))
    return tuple(found)


def _mappings_in(directory: Path, builtin: bool) -> tuple[Mapping, ...]:
    try:
        mtime = directory.stat().st_mtime_ns
    except OSError:
        return ()
    return _load_dir(str(directory), mtime, builtin)


def available_mappings(extra_dirs: Iterable[Path] = ()) -> list[Mapping]:
    """User mappings first (in the order of `extra_dirs`), then the built-in ones; a user mapping
    with a built-in's name replaces it."""
    from importer.config import builtin_mappings_dir
    seen: set[str] = set()
    result: list[Mapping] = []
    sources = [(Path(d), False) for d in extra_dirs] + [(builtin_mappings_dir(), True)]
    for directory, builtin in sources:
        for mapping in _mappings_in(directory, builtin):
            key = mapping.name.casefold()
            if key not in seen:
                seen.add(key)
                result.append(mapping)
    return result


def find_mapping(name_or_path: str, extra_dirs: Iterable[Path] = ()) -> Mapping:
    """A mapping by name (user dirs, then built-in) or by path to a YAML file; a ConfigError lists the names."""
    candidate = Path(name_or_path).expanduser()
    looks_like_path = candidate.suffix.lower() in (".yaml", ".yml") or "/" in name_or_path or "\\" in name_or_path
    if looks_like_path:
        if not candidate.is_file():
            raise ConfigError("mapping file not found", file=str(candidate))
        return load_mapping(candidate)
    from importer.config import builtin_mappings_dir
    for directory in [Path(d) for d in extra_dirs] + [builtin_mappings_dir()]:
        # The usual case, a file named after its mapping, without reading all the others.
        for suffix in (".yaml", ".yml"):
            path = directory / f"{name_or_path}{suffix}"
            if path.is_file():
                mapping = load_mapping(path, builtin=directory == builtin_mappings_dir())
                if mapping.name.casefold() == name_or_path.casefold():
                    return mapping
    mappings = available_mappings(extra_dirs)
    for mapping in mappings:
        if mapping.name.casefold() == name_or_path.casefold():
            return mapping
    names = ", ".join(sorted(m.name for m in mappings))
    raise ConfigError(f"unknown mapping '{name_or_path}'; known mappings: {names}. "
                      f"Or pass a mapping YAML file (see the {WRITING_A_MAPPING})")


def mapping_yaml(name_or_path: str, extra_dirs: Iterable[Path] = ()) -> str:
    """The YAML text of a mapping, to start one's own from (`psimport mappings NAME`)."""
    mapping = find_mapping(name_or_path, extra_dirs)
    if mapping.path is None:
        raise ImporterError(f"mapping '{name_or_path}' has no YAML file to show")
    return mapping.path.read_text(encoding="utf-8")
