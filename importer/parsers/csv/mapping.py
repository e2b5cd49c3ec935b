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
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Iterator

from importer.errors import ConfigError
from importer.schema import Bool, Either, Keys, ListOf, OneOf, Regex, Text, Whole, check
from importer.yamlfile import excerpt, line_of, read_yaml_file

__all__ = ["Mapping", "TextSpec", "Flag", "DropRule", "Pending", "load_mapping", "mapping_from_dict",
           "available_mappings", "find_mapping", "where_user_mappings_are", "mapping_yaml", "normalise_cell",
           "MAPPING_SCHEMA", "SHAPE_KINDS", "WRITING_A_MAPPING"]

WRITING_A_MAPPING = "docs/mappings.md"   # how to infer or write a mapping for a new bank

ColumnRef = str | int

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
    original_amount: ColumnRef | None = None       # a row's amount in the currency it was paid in, abroad
    original_currency: ColumnRef | None = None
    exchange_rate: ColumnRef | None = None
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
        for role in ("date", "amount", "debit", "credit", "fee", "balance", "id", "cheque_number",
                     "original_amount", "original_currency", "exchange_rate"):
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


# ─── the schema: every key a mapping takes ────────────────────────────────────────────────────

def _encoding(text: str) -> str:
    import codecs
    try:
        codecs.lookup(text)
    except LookupError:
        raise ValueError(f"is {excerpt(text)}, not an encoding Python knows (utf-8, cp1252, latin-1, ...)") from None
    return text


def _delimiter(text: str) -> str:
    delimiter = {"\\t": "\t", "tab": "\t"}.get(text, text)
    if len(delimiter) != 1:
        raise ValueError("must be one character (use \"\\t\" for tab)")
    return delimiter


def _quote(text: str) -> str:
    if len(text) != 1:
        raise ValueError("must be one character")
    return text


def _date_format(text: str) -> str:
    if text == "auto":
        return text
    for match in re.finditer(r"%(.)", text):
        if match.group(1) not in DATE_DIRECTIVES:
            raise ValueError(f"uses %{match.group(1)}, which psimport does not read; "
                             "use %d %m %Y %y %b %B (and %H %M %S %p %z %Z for times, which are ignored)")
    if not re.search(r"%[dY]|%y", text):
        raise ValueError("must contain a day and a year (for example %d/%m/%Y)")
    return text


def _problems_between_keys(data: dict, at: str) -> Iterator[tuple[str, int | None]]:
    """What no one key's check can see: which columns go together, and a headerless file's column names."""
    columns = data.get("columns")
    if isinstance(columns, dict):
        line = line_of(columns)
        given = {role for role in ("amount", "debit", "credit", "flag", "payee", "memo") if role in columns}
        if not given & {"amount", "debit", "credit"}:
            yield "give 'columns.amount', or 'columns.debit' and 'columns.credit'", line
        elif "amount" in given and given & {"debit", "credit"}:
            yield "give either 'columns.amount' or 'columns.debit'/'columns.credit', not both", line
        if "flag" in given and "amount" not in given:
            yield ("'columns.flag' goes with 'columns.amount' (an unsigned amount and its direction)",
                   line_of(columns, "flag"))
        if not given & {"payee", "memo"}:
            yield "give 'columns.payee' (or at least 'columns.memo') so each row has a description", line
    if data.get("header") is False:
        if "signature" in data:
            yield ("'signature' lists header cells, but 'header' is false; use 'shape' for a headerless file",
                   line_of(data, "signature"))
        for key, name, line in _column_names(data):
            yield f"'{key}' names a column ({excerpt(name)}), but the file has no header; use a 0-based number", line
    signature = data.get("signature")
    if isinstance(signature, list) and len({isinstance(cells, list) for cells in signature}) > 1:
        yield ("'signature' mixes header cells and lists of them: give one list of cells, or a list of such lists",
               line_of(data, "signature"))
    if data.get("quote", '"') == data.get("delimiter"):
        yield "'quote' must be a character other than the delimiter", line_of(data, "quote", line_of(data, "delimiter"))
    for n, rule in enumerate(data.get("drop") or ()):
        if isinstance(rule, dict) and ("column" in rule) != ("matches" in rule or "not_matches" in rule):
            yield ((f"'drop[{n}]' needs a 'column' to test" if "column" not in rule else
                    f"'drop[{n}].column' goes with 'matches' or 'not_matches' only"), line_of(rule))


def _column_names(data: dict) -> Iterator[tuple[str, str, int | None]]:
    """Every column given by name rather than number: (key, name, line)."""
    def names(key: str, value: Any, line: int | None) -> Iterator[tuple[str, str, int | None]]:
        if isinstance(value, str):
            yield key, value, line
        elif isinstance(value, list):
            for n, item in enumerate(value):
                yield from names(f"{key}[{n}]", item, line_of(value, n, line))
        elif isinstance(value, dict):
            for inner in ("column", "join", "first"):
                if inner in value:
                    yield from names(f"{key}.{inner}", value[inner], line_of(value, inner, line))

    columns = data.get("columns")
    if isinstance(columns, dict):
        for role, value in columns.items():
            yield from names(f"columns.{role}", value, line_of(columns, role))
    for n, rule in enumerate(data.get("drop") or ()):
        yield from names(f"drop[{n}]", rule, line_of(rule))
    if "pending" in data:
        yield from names("pending", data["pending"], line_of(data, "pending"))


_COLUMN = Either(Whole(minimum=0), Text(nonempty=True), what="a column name or a 0-based column number")
_COLUMN_LIST = ListOf(_COLUMN, min_items=1, what="a list of columns")
_TEXT_SPEC = Either(_COLUMN, _COLUMN_LIST,
                    Keys({"join": _COLUMN_LIST, "first": _COLUMN_LIST, "separator": Text()}, one_of=("join", "first")),
                    what="a column, a list of columns to join, or {first: [columns]}")
_FLAG_VALUES = ListOf(Text("a flag value", numbers=True), single=True, what="a list of flag values")
_TRUE = OneOf(True, what="true")
_DROP_KINDS = ("matches", "not_matches", "zero_amount", "no_amount", "line_matches")

# Every key a mapping takes, and what each holds (the README's "Writing a mapping for your bank").
MAPPING_SCHEMA = Keys({
    "name": Text("a name", nonempty=True),
    "bank": Text(),
    "country": Text(),
    "documented_at": Text(),
    "encoding": Text(parse=_encoding),
    "delimiter": Text(parse=_delimiter),
    "quote": Text(parse=_quote),
    "skip_lines": Whole(minimum=0, what="a whole number of lines"),
    "header": Bool(),
    "signature": ListOf(Either(ListOf(Text("a header cell", numbers=True), min_items=1),
                               Text("a header cell", numbers=True)),
                        min_items=1, what="a list of header cells (or a list of such lists)"),
    "shape": ListOf(OneOf(*SHAPE_KINDS), min_items=1, what="a list of column kinds: " + ", ".join(SHAPE_KINDS)),
    "columns": Keys({
        "date": _COLUMN, "amount": _COLUMN, "debit": _COLUMN, "credit": _COLUMN,
        "flag": Keys({"column": _COLUMN, "debit": _FLAG_VALUES, "credit": _FLAG_VALUES,
                      "default": OneOf("debit", "credit")}, required=("column", "debit", "credit"),
                     what="a mapping like {column: 'Af Bij', debit: [Af], credit: [Bij]}"),
        "fee": _COLUMN, "payee": _TEXT_SPEC, "memo": _TEXT_SPEC, "balance": _COLUMN, "id": _COLUMN,
        "cheque_number": _COLUMN, "currency": _COLUMN, "account": _COLUMN, "type": _COLUMN,
        "original_amount": _COLUMN, "original_currency": _COLUMN, "exchange_rate": _COLUMN,
    }, required=("date",), what="a mapping of roles (date, amount, payee, ...) to columns"),
    "date_format": Text(parse=_date_format),
    "date_order": OneOf("dmy", "mdy", "ymd"),
    "decimal": OneOf(".", ",", what='"." or ","'),
    "sign": OneOf("normal", "charges_positive",
                  what="normal (money out is negative) or charges_positive (Amex style)"),
    "drop": ListOf(Keys({"column": _COLUMN, "matches": Regex(), "not_matches": Regex(), "zero_amount": _TRUE,
                         "no_amount": _TRUE, "line_matches": Regex()}, one_of=_DROP_KINDS,
                        what="a mapping like {column: Status, matches: '(?i)pending'}"),
                   what="a list of rules like {column: Status, matches: '(?i)pending'}"),
    "pending": Keys({"column": _COLUMN, "matches": Regex(), "keep": Bool()}, required=("matches",),
                    what="a mapping like {matches: '(?i)^pending$', keep: true}"),
    "continuation": OneOf("payee", "memo", what="payee or memo (where a continued row's text goes)"),
    "blank_amount": OneOf("error", "zero"),
    "currency": Text(),
    "account_type": Text(),
    "account": Keys({"pattern": Regex()}, required=("pattern",), what="a mapping like {pattern: 'Account (\\d+)'}"),
    "notes": Text(),
}, required=("columns",), between=_problems_between_keys)


# ─── loading ──────────────────────────────────────────────────────────────────────────────────

def load_mapping(path: str | Path, builtin: bool = False) -> Mapping:
    """Read and check one mapping YAML; a ConfigError names the file and the line of every problem."""
    path = Path(path)
    return mapping_from_dict(read_yaml_file(path, "mapping"), path=path, builtin=builtin)


def mapping_from_dict(data: Any, path: Path | None = None, name: str | None = None,
                      builtin: bool = False) -> Mapping:
    """A Mapping from YAML data (or data built in code), checked against MAPPING_SCHEMA: every problem at once."""
    where = str(path) if path else f"mapping '{name or '?'}'"
    if not isinstance(data, dict):
        raise ConfigError(f"a mapping must be a YAML mapping of keys (see {WRITING_A_MAPPING})", file=where)
    return _build(check(MAPPING_SCHEMA, data, file=where), path=path, name=name, builtin=builtin)


def _build(data: dict, *, path: Path | None, name: str | None, builtin: bool) -> Mapping:
    """The Mapping of checked data (MAPPING_SCHEMA's Python forms)."""
    name = data.get("name") or name or (path.stem if path else "custom")
    columns = data["columns"]
    signature = data.get("signature")
    alternatives = [] if signature is None else signature if isinstance(signature[0], list) else [signature]
    account = data.get("account")
    return Mapping(
        name=name, bank=data.get("bank") or name, country=data.get("country"),
        documented_at=data.get("documented_at"), path=path, encoding=data.get("encoding"),
        delimiter=data.get("delimiter"), quote=data.get("quote", '"'), skip_lines=data.get("skip_lines", 0),
        header=data.get("header", True),
        signatures=tuple(tuple(normalise_cell(cell) for cell in cells) for cells in alternatives),
        header_cells=tuple(alternatives[0]) if alternatives else (), shape=tuple(data.get("shape", ())),
        date=columns["date"], amount=columns.get("amount"), debit=columns.get("debit"), credit=columns.get("credit"),
        flag=_flag(columns.get("flag")), fee=columns.get("fee"), payee=_text_spec(columns.get("payee")),
        memo=_text_spec(columns.get("memo")), balance=columns.get("balance"), id=columns.get("id"),
        cheque_number=columns.get("cheque_number"), currency_column=columns.get("currency"),
        account_column=columns.get("account"), type_column=columns.get("type"),
        original_amount=columns.get("original_amount"), original_currency=columns.get("original_currency"),
        exchange_rate=columns.get("exchange_rate"),
        date_format=data.get("date_format", "auto"), date_order=data.get("date_order"), decimal=data.get("decimal"),
        charges_positive=data.get("sign") == "charges_positive",
        drop=tuple(_drop_rule(rule) for rule in data.get("drop", ())), pending=_pending(data.get("pending")),
        continuation=data.get("continuation"), blank_amount_is_zero=data.get("blank_amount") == "zero",
        currency=data.get("currency"), account_type=data.get("account_type"),
        account_pattern=None if account is None else re.compile(account["pattern"]), builtin=builtin)


def _text_spec(value: Any) -> TextSpec | None:
    if value is None:
        return None
    if isinstance(value, dict):
        mode = "join" if "join" in value else "first"
        return TextSpec(tuple(value[mode]), mode, value.get("separator", " "))
    return TextSpec(tuple(value) if isinstance(value, list) else (value,))


def _flag(value: dict | None) -> Flag | None:
    if value is None:
        return None
    debit, credit = (frozenset(cell.strip().casefold() for cell in value[side]) for side in ("debit", "credit"))
    return Flag(value["column"], debit, credit, value.get("default"))


def _drop_rule(rule: dict) -> DropRule:
    kind = next(kind for kind in _DROP_KINDS if kind in rule)
    if kind in ("zero_amount", "no_amount"):
        return DropRule(kind)
    return DropRule(kind, rule.get("column"), re.compile(rule[kind]))


def _pending(value: dict | None) -> Pending | None:
    if value is None:
        return None
    return Pending(value.get("column"), re.compile(value["matches"]), value.get("keep", True))


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
    for directory in extra_dirs:
        # A user mapping's file name works as well as the name inside it (my-bank.yaml, name: mybank).
        for suffix in (".yaml", ".yml"):
            path = Path(directory) / f"{name_or_path}{suffix}"
            if path.is_file():
                return load_mapping(path)
    names = ", ".join(sorted(m.name for m in mappings))
    raise ConfigError(f"unknown mapping '{name_or_path}'; known mappings: {names}. "
                      f"{where_user_mappings_are(extra_dirs)}; or pass the path of a mapping YAML file "
                      f"(see {WRITING_A_MAPPING})")


def where_user_mappings_are(extra_dirs: Iterable[Path]) -> str:
    """The folders psimport reads user mappings from, for messages that send a user there."""
    folders = [str(d) for d in extra_dirs]
    if not folders:
        return "No folder of user mappings is configured (the config's mappings_dir: names one)"
    return "psimport reads your mappings (NAME.yaml) from " + ", ".join(folders)


def mapping_yaml(name_or_path: str, extra_dirs: Iterable[Path] = ()) -> str:
    """The YAML text of a mapping, to start one's own from (`psimport mappings NAME`)."""
    mapping = find_mapping(name_or_path, extra_dirs)
    if mapping.path is None:
        raise ConfigError(f"mapping '{name_or_path}' has no YAML file to show")
    return mapping.path.read_text(encoding="utf-8")
