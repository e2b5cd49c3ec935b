"""CSV layout detection: which mapping (or plainly named header) fits a file, and where its header is."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Sequence

from importer.errors import InputError
from importer.parsers.csv.mapping import (
    Mapping,
    available_mappings,
    normalise_cell,
)
from importer.parsers.csv.text import Head, Records, Source
from importer.parsers.csv.values import ORDERED_FORMATS, DateFormat, infer_decimal_mark, settle_year_position

__all__ = ["Layout", "claims_by_header", "detect_layout", "explicit_layout", "HeaderMatch",
           "match_header", "match_shape", "date_orders", "parse_with_order", "values_agree"]

@dataclass
class Layout:
    """What detection decided: the mapping, the delimiter, and which head record is the header."""

    mapping: Mapping
    delimiter: str
    header_index: int | None  # index into the head records; None for a headerless file
    head: Records
    confidence: float



# ─── detection ─────────────────────────────────────────────────────────────────────────────────

@dataclass(frozen=True)
class HeaderMatch:
    """Where a mapping's header signature was found, and how well it fits."""

    index: int          # index of the header record among the records given
    exact: bool         # the header is exactly the signature (beyond empty trailing cells)
    cells: int          # how many signature cells matched: the more, the more specific

    @property
    def score(self) -> tuple[int, int, int]:
        return (2 if self.exact else 1, self.cells, -self.index)


def _trimmed(cells: Sequence[str]) -> list[str]:
    normal = [normalise_cell(c) for c in cells]
    while normal and not normal[-1]:
        normal.pop()
    return normal


def _is_subsequence(needle: Sequence[str], haystack: Sequence[str]) -> bool:
    position = 0
    for cell in haystack:
        if position < len(needle) and cell == needle[position]:
            position += 1
    return position == len(needle)


def match_header(mapping: Mapping, records: Sequence[Sequence[str]], max_preamble: int = 40) -> HeaderMatch | None:
    """The first record (within the preamble allowance) whose cells carry one of the mapping's
    signatures, in order; None if none does."""
    if not mapping.header or not mapping.signatures:
        return None
    for index, cells in enumerate(records[:max_preamble]):
        normal = _trimmed(cells)
        if not normal:
            continue
        best: HeaderMatch | None = None
        for signature in mapping.signatures:
            if normal == list(signature):
                found = HeaderMatch(index, True, len(signature))
            elif _is_subsequence(signature, normal):
                found = HeaderMatch(index, False, len(signature))
            else:
                continue
            if best is None or found.score > best.score:
                best = found
        if best is not None:
            return best
    return None


_DATE_LIKE = re.compile(
    r"\s*(?:\d{1,4}[-/.: ]\d{1,2}[-/.: ]\d{1,4}\.?|\d{8}|\d{1,2}[- ][A-Za-z]{3,9}\.?[- ]\d{2,4}"
    r"|[A-Za-z]{3,9}\.? \d{1,2},? \d{4})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?(?: ?[AaPp][Mm])?\S*(?: ?[+-]\d{2}:?\d{2})?)?\s*")
_AMOUNT_LIKE = re.compile(r"\s*\(?\s*[-+\u2212]?\s*(?:[^\w\s.,()+-]{1,3}|[A-Z]{3})?\s*[-+\u2212]?\s*"
                          r"(?:\d[\d.,' \u00a0]*|[.,]\d+)\s*(?:[^\w\s.,()+-]{1,3}|[A-Z]{3})?\s*[-+]?\s*\)?\s*")
_SIGNED_AMOUNT = re.compile(r"\s*[-+]\s*\d[\d.,]*\s*")


def _kind_fits(kind: str, cell: str) -> bool:
    if kind in ("any", "text"):
        return True
    if kind == "blank":
        return not cell.strip()
    if kind == "nonblank":
        return bool(cell.strip())
    if kind == "date":
        return bool(_DATE_LIKE.fullmatch(cell))
    if kind == "signed_amount":
        return bool(_SIGNED_AMOUNT.fullmatch(cell))
    if kind == "amount":
        return bool(_AMOUNT_LIKE.fullmatch(cell)) and any(ch.isdigit() for ch in cell)
    if kind == "amount_or_blank":
        return not cell.strip() or (bool(_AMOUNT_LIKE.fullmatch(cell)) and any(ch.isdigit() for ch in cell))
    return False


@cache
def _order_formats(order: str) -> tuple[DateFormat, ...]:
    return tuple(DateFormat(fmt, allow_time=True) for fmt in ORDERED_FORMATS[order])


def _reading(values: Sequence[str], order: str) -> DateFormat | None:
    """The first of an order's formats that reads every value as a real date."""
    for candidate in _order_formats(order):
        if candidate.parse_all(values)[1] is None:
            return candidate
    return None


def date_orders(values: Sequence[str], settle: bool = True) -> set[str]:
    """The orders (dmy, mdy, ymd) in which every value reads as a real date; two of them when no value
    settles the order (03/04/2024), none when the values are not all dates. `settle`: two-digit years
    read year first and day first are settled by the span of dates each reading gives, where it can."""
    distinct = list(dict.fromkeys(v for v in values if v.strip()))
    if not distinct:
        return set()
    found = {order: fmt for order in ORDERED_FORMATS if (fmt := _reading(distinct, order)) is not None}
    if len(found) > 1:
        # "2024-01-05" reads the same in every order that reads it: one reading, not an ambiguity.
        dates = {order: [fmt.parse(v) for v in distinct] for order, fmt in found.items()}
        if len({tuple(d) for d in dates.values()}) == 1:
            return {next(iter(found))}
        if settle:
            return settle_year_position(dates, {order: fmt.fmt for order, fmt in found.items()})
    return set(found)


def parse_with_order(value: str, order: str) -> date | None:
    """One date read in the given order (for comparing the dates of two columns)."""
    fmt = _reading([value], order)
    return fmt.parse(value) if fmt is not None else None


def values_agree(mapping: Mapping, records: Sequence[Sequence[str]]) -> bool:
    """Whether a headerless file's values confirm a mapping its shape fits: the dates read in the mapping's
    order and some date proves that order (`13/02` for day first), and the amounts use its decimal mark.
    A shape alone (`date, text, amount`) fits many banks; the values decide which it can be."""
    width = len(mapping.shape)
    rows = [list(r) + [""] * (width - len(r)) for r in records if any(c.strip() for c in r)]
    date_columns = [i for i, kind in enumerate(mapping.shape) if kind == "date"]
    for index in date_columns:
        values = [r[index].strip() for r in rows if _DATE_LIKE.fullmatch(r[index])]
        if not values:
            return False
        if mapping.date_format != "auto":
            fmt = DateFormat(mapping.date_format, allow_time=True)
            if fmt.parse_all(values)[1] is not None:
                return False
            order = _format_order(mapping.date_format)
        else:
            order = mapping.date_order
        orders = date_orders(values)
        # No real date at all (31/02) is the reader's to report at its line, with the mapping that fits.
        # A shipped mapping needs a date that proves its order; the user's own (`mappings new` wrote the
        # answer to "which order?" into it) needs only dates that read in it.
        if order is not None and orders and (order not in orders if not mapping.builtin else orders != {order}):
            return False
    if mapping.decimal:
        amounts = [i for i, kind in enumerate(mapping.shape) if kind in ("amount", "signed_amount", "amount_or_blank")]
        joined = ["\n".join(r[i] for r in rows) for i in amounts]
        try:
            mark = infer_decimal_mark(joined, mapping.decimal, "", lambda i: i + 1)
        except InputError:
            return False
        if mark != mapping.decimal:
            return False
    return True


def _format_order(fmt: str) -> str | None:
    """dmy, mdy or ymd for a format whose day and month could swap; None when they cannot (a month name)."""
    if "%b" in fmt or "%B" in fmt:
        return None
    positions = {d: fmt.find(f"%{d}") for d in "dmYy"}
    year = max(positions["Y"], positions["y"])
    if positions["d"] < 0 or positions["m"] < 0:
        return None
    if year < positions["m"]:
        return "ymd"
    return "dmy" if positions["d"] < positions["m"] else "mdy"


def match_shape(mapping: Mapping, records: Sequence[Sequence[str]]) -> int:
    """How many records in a row fit a headerless mapping's shape (0 if any record does not)."""
    if mapping.header or not mapping.shape:
        return 0
    shape = mapping.shape
    fitted = misfits = 0
    for cells in records:
        if not any(c.strip() for c in cells):
            continue
        cells = list(cells)
        while len(cells) > len(shape) and not cells[-1].strip():
            cells.pop()
        if len(cells) == len(shape) and all(_kind_fits(kind, cell) for kind, cell in zip(shape, cells)):
            fitted += 1
        elif not fitted:
            return 0  # the first row must fit: otherwise it is a header or another layout
        else:
            # A later row that does not fit (a typo, a junk row) is the reading's business: it
            # will say what is wrong with that line, which beats "unknown layout".
            misfits += 1
    if misfits > max(1, fitted // 10):
        return 0
    return fitted


# ─── choosing a layout ─────────────────────────────────────────────────────────────────────────

def _skip_lines(records: Records, count: int) -> list[list[str]]:
    return [row for i, row in enumerate(records.rows) if records.line_of(i) > count]


# Header names many banks and tools write: a header made of these alone says nothing about whose file it is.
GENERIC_NAMES = frozenset((
    "date", "transaction date", "posted date", "posting date", "value date", "description", "details", "payee",
    "name", "memo", "notes", "note", "reference", "narrative", "amount", "debit", "credit", "balance", "type",
    "category", "currency", "status", "id", "transaction id", "money in", "money out", "paid in", "paid out",
    "withdrawals", "deposits", "account", "merchant", "time",
))


def claims_by_header(mapping: Mapping) -> bool:
    """Whether the mapping may claim a file by its header alone. A user's mapping whose header is generic
    (`Date,Description,Amount`: any bank's), or that flips the sign (`sign: charges_positive`, a card's)
    with a header of names any bank uses, reads a file only when named (`--mapping`, or an `accounts:` entry
    with `glob:` and `mapping:`): claiming another bank's file would read it silently wrong."""
    if mapping.builtin or not mapping.signatures:
        return True
    from importer.parsers.csv.headers import is_exact_name
    for signature in mapping.signatures:
        if all(cell in GENERIC_NAMES for cell in signature):
            return False
        if mapping.charges_positive and all(is_exact_name(cell) for cell in signature):
            return False
    return True


def detect_layout(source: Source, mapping_dirs: Sequence[Path], passed: list[str] | None = None) -> Layout | None:
    """The best-fitting mapping for these head records: a header signature beats a headerless
    shape, an exact header beats a partial one, more signature cells beat fewer. Two built-in
    mappings fitting equally well is an error (name one with --mapping). The names of user mappings
    whose header fits but may not claim a file by it (`claims_by_header`) go into `passed`."""
    scored: list[tuple[tuple, int, Layout]] = []
    for order, mapping in enumerate(available_mappings(mapping_dirs)):
        head = source.head(mapping.encoding)
        delimiter = mapping.delimiter or head.delimiter(mapping.quote)
        records = head.records(delimiter, mapping.quote)
        if mapping.header:
            found = match_header(mapping, records.rows)
            if found is not None and not claims_by_header(mapping):
                if passed is not None:
                    passed.append(mapping.name)
                continue
            if found is not None:
                scored.append(((2,) + found.score, order,
                               Layout(mapping, delimiter, found.index, records, 0.9)))
        else:
            rows = _skip_lines(records, mapping.skip_lines)
            fitted = match_shape(mapping, rows[:30])
            if fitted and values_agree(mapping, rows):
                constrained = sum(kind not in ("any", "text") for kind in mapping.shape)
                scored.append(((1, constrained, len(mapping.shape), 0), order,
                               Layout(mapping, delimiter, None, records, 0.75)))
    if not scored:
        return None
    scored.sort(key=lambda item: (item[0], -item[1]), reverse=True)
    (best_score, _, best), rest = scored[0], scored[1:]
    rivals = [layout for score, _, layout in rest if score == best_score]
    if rivals and best.mapping.builtin and rivals[0].mapping.builtin:
        raise InputError(f"this file fits both the '{best.mapping.name}' and '{rivals[0].mapping.name}' "
                         "mappings equally; pass --mapping NAME", file=source.filename)
    return best


def explicit_layout(head: Head, mapping: Mapping) -> Layout:
    delimiter = mapping.delimiter or head.delimiter(mapping.quote)
    records = head.records(delimiter, mapping.quote)
    if not mapping.header:
        return Layout(mapping, delimiter, None, records, 1.0)
    if mapping.signatures:
        found = match_header(mapping, records.rows)
        if found is None:
            # Asked for by name, the mapping may read its columns in any order: a row holding every
            # column it names is the header, even when the bank has moved them about.
            named = {normalise_cell(ref) for ref in mapping.column_refs().values() if isinstance(ref, str)}
            for index, row in enumerate(records.rows[:40]):
                if named and named <= {normalise_cell(cell) for cell in row}:
                    return Layout(mapping, delimiter, index, records, 1.0)
            seen = next(((i, r) for i, r in enumerate(records.rows) if any(c.strip() for c in r)), None)
            where = (f"; the first row (line {records.line_of(seen[0])}) has: " +
                     ", ".join(c.strip() for c in seen[1])) if seen else ""
            raise InputError(f"the header the '{mapping.name}' mapping expects "
                             f"({', '.join(mapping.header_cells)}) is not in this file{where}",
                             file=head.filename)
        return Layout(mapping, delimiter, found.index, records, 1.0)
    for index, row in enumerate(records.rows):
        if records.line_of(index) > mapping.skip_lines and any(c.strip() for c in row):
            return Layout(mapping, delimiter, index, records, 1.0)
    raise InputError("the file has no header row", file=head.filename)
