"""The CSV parser: sniff encoding and delimiter, pick the bank's mapping, and read every row into Transactions.

Detection, in order: the header signature of a known mapping (user mappings first, then the
shipped ones), the shape of a headerless file, then a generic reading of a header whose columns
plainly say what they are. Decimal mark and day/month order, where a mapping leaves them open,
are inferred from every row of the file, never from the first one alone.

Speed: a file without any quote character is split with `str.split` (three times faster than
the csv module); columns are converted whole, with a C-speed fast path for plain numbers and a
cache for dates (a statement has few distinct dates). Each fast path falls back to a per-value
pass that names the file, line and value of the first bad one.
"""

from __future__ import annotations

import codecs
import csv
import gc
import io
import re
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass
from datetime import date
from functools import partial
from decimal import Decimal, InvalidOperation
from itertools import compress, repeat
from pathlib import Path
from typing import Callable, Sequence

from importer.errors import ImporterError, InputError
from importer.mappings import (WRITING_A_MAPPING, Mapping, available_mappings, find_mapping, generic_mapping,
                               match_header, match_shape, normalise_cell)
from importer.parsers.base import ParseOptions
from importer.record import Account, Statement, Transaction

__all__ = ["CsvParser", "DateFormat", "AmountReader", "infer_date_format", "infer_decimal_mark",
           "decode_bytes", "sniff_delimiter"]

DELIMITERS = (",", ";", "\t", "|")
HEAD_CHARS = 64 * 1024
HEAD_RECORDS = 200
MAX_RECORD_LINES = 20          # a quoted field running longer than this has lost its closing quote
FALLBACK_ENCODINGS = ("cp1252", "latin-1")
UNICODE_ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "utf-16-le")
CSV_SUFFIXES = (".csv", ".tsv", ".txt", ".dat", ".xls")


# ─── bytes to text ─────────────────────────────────────────────────────────────────────────────

def decode_bytes(data: bytes, filename: str, preferred: str | None = None) -> tuple[str, str]:
    """The file's text and the encoding used.

    A BOM decides (UTF-8, UTF-16); otherwise UTF-8 if every byte sequence is valid UTF-8, else the
    mapping's `encoding`, else cp1252 (Windows Western, what most bank exports are), else Latin-1
    (which accepts any byte).
    """
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError:
            data = data[3:]
    elif data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise InputError("the file starts as UTF-16 but is not valid UTF-16; save it again as UTF-8",
                             file=filename) from None
    elif _looks_utf16le(data):
        try:
            return data.decode("utf-16-le"), "utf-16-le"
        except UnicodeDecodeError:
            pass
    data = data.rstrip(b"\x00")  # some exports pad the end with NUL bytes
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    for encoding in ((preferred,) if preferred else ()) + FALLBACK_ENCODINGS:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes any bytes")  # pragma: no cover


def _looks_utf16le(data: bytes) -> bool:
    # UTF-16 without a BOM: text where every second byte is zero.
    sample = data[:2048]
    return len(sample) >= 8 and sample[1::2].count(0) > 0.9 * (len(sample) // 2) and sample[0::2].count(0) == 0


def _normalise_newlines(text: str) -> str:
    # Excel on a Mac writes CR alone; some exports write CR CR LF. Each becomes one line break,
    # so line numbers match what an editor shows.
    if "\r" in text:
        text = text.replace("\r\r\n", "\n").replace("\r\n", "\n").replace("\r", "\n")
    return text


# ─── records ───────────────────────────────────────────────────────────────────────────────────

@dataclass
class Records:
    """Rows of cells and the physical line (1-based) each starts on."""

    rows: list[list[str]]
    lines: list[int] | None  # None: row i is on line i + 1 (no record spans lines)

    def line_of(self, index: int) -> int:
        return index + 1 if self.lines is None else self.lines[index]


def read_records(text: str, delimiter: str, quote: str, filename: str, limit: int | None = None,
                 lenient: bool = False) -> Records:
    """Split text into records: plain `str.split` when there is no quote character at all, else the csv module.

    `lenient` (for sniffing the head) returns the records before a broken one instead of raising."""
    if quote not in text:
        lines = text.split("\n", limit) if limit else text.split("\n")
        if limit and len(lines) > limit:
            lines = lines[:limit]
        return Records([line.split(delimiter) for line in lines], None)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, quotechar=quote, strict=False)
    rows: list[list[str]] = []
    starts: list[int] = []
    last = 0
    try:
        for row in reader:
            start = last + 1
            last = reader.line_num
            if last - start >= MAX_RECORD_LINES:
                if lenient:
                    break
                raise InputError(f"a quoted field opened on line {start} is still open on line {last}: "
                                 "a closing quote is missing", file=filename, line=start)
            rows.append(row)
            starts.append(start)
            if limit and len(rows) >= limit:
                break
    except csv.Error as exc:
        if not lenient:
            raise InputError(f"cannot read this line as CSV ({exc})", file=filename, line=last + 1) from None
    return Records(rows, starts)


def sniff_delimiter(text: str, quote: str = '"') -> str:
    """The delimiter that splits the most records into the same number (two or more) of fields.

    Equal support goes to the delimiter giving more fields: in `1,50;2,75` rows the semicolon
    (two fields) beats the decimal comma only if it gives more fields, which it does.
    """
    best = (0, 0, -1)
    choice = ","
    head = text[:HEAD_CHARS]
    for rank, delimiter in enumerate(DELIMITERS):
        records = read_records(head, delimiter, quote, "", limit=HEAD_RECORDS, lenient=True)
        counts = Counter(len(row) for row in records.rows if any(cell.strip() for cell in row))
        counts.pop(1, None)
        if not counts:
            continue
        fields, support = max(counts.items(), key=lambda item: (item[1], item[0]))
        score = (support, fields, -rank)
        if score > best:
            best, choice = score, delimiter
    return choice


# ─── dates ─────────────────────────────────────────────────────────────────────────────────────

MONTHS = {name: number for number, names in enumerate((
    ("jan", "january", "jän", "janv", "janvier", "januar", "januari"),
    ("feb", "february", "febr", "fév", "févr", "février", "februar", "februari"),
    ("mar", "march", "mär", "märz", "mars", "maart", "mrt"),
    ("apr", "april", "avr", "avril"),
    ("may", "mai", "mei"),
    ("jun", "june", "juin", "juni"),
    ("jul", "july", "juil", "juillet", "juli"),
    ("aug", "august", "août", "augustus"),
    ("sep", "sept", "september", "septembre"),
    ("oct", "october", "okt", "oktober", "octobre"),
    ("nov", "november", "novembre"),
    ("dec", "december", "dez", "dezember", "déc", "décembre"),
), start=1) for name in names}

_DIRECTIVE_PATTERNS = {
    "d": r"(?P<d>\d{1,2})", "m": r"(?P<m>\d{1,2})", "Y": r"(?P<Y>\d{4})", "y": r"(?P<y>\d{2})",
    "b": r"(?P<b>[^\W\d_]{3,5}\.?)", "B": r"(?P<b>[^\W\d_]{3,9}\.?)", "H": r"\d{1,2}", "I": r"\d{1,2}",
    "M": r"\d{2}", "S": r"\d{2}(?:[.,]\d+)?", "f": r"\d+", "p": r"[AaPp]\.?[Mm]\.?",
    "z": r"(?:Z|[+-]\d{2}:?\d{2})", "Z": r"[A-Za-z]{1,5}", "%": "%",
}
_TIME_SUFFIX = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:\s?[AaPp][Mm])?(?:\s?(?:Z|[+-]\d{2}:?\d{2}))?)?"


class DateFormat:
    """A strptime-like date format compiled to one regular expression, checked (31/02 is an error).

    Times (%H %M %S %p %z) are matched and ignored: the date is the one the bank printed, in its
    own time zone, never shifted to UTC.
    """

    def __init__(self, fmt: str, allow_time: bool = False):
        self.fmt = fmt
        parts = []
        i = 0
        while i < len(fmt):
            ch = fmt[i]
            if ch == "%" and i + 1 < len(fmt):
                parts.append(_DIRECTIVE_PATTERNS[fmt[i + 1]])
                i += 2
                continue
            parts.append(r"\s+" if ch == " " else re.escape(ch))
            i += 1
        self.regex = re.compile(r"\s*" + "".join(parts) + (_TIME_SUFFIX if allow_time else "") + r"\s*")

    def __repr__(self) -> str:
        return f"DateFormat({self.fmt!r})"

    def parse(self, text: str) -> date:
        """One date; ValueError says why not."""
        match = self.regex.fullmatch(text)
        if match is None:
            if not text.strip():
                raise ValueError("the row has no date")
            raise ValueError(f"'{text.strip()}' is not a date in the form {self.fmt}")
        groups = match.groupdict()
        if groups.get("Y"):
            year = int(groups["Y"])
        else:
            short = int(groups["y"])
            year = short + (2000 if short < 69 else 1900)  # strptime's pivot
        if groups.get("b"):
            month = MONTHS.get(groups["b"].rstrip(".").casefold())
            if month is None:
                raise ValueError(f"'{text.strip()}' has an unknown month name '{groups['b']}'")
        else:
            month = int(groups["m"])
        try:
            return date(year, month, int(groups["d"]))
        except ValueError:
            raise ValueError(f"'{text.strip()}' is not a real date (read as {self.fmt})") from None

    def parse_all(self, values: Sequence[str]) -> tuple[dict[str, date], int | None, str | None]:
        """Every distinct value parsed; on failure, the index of the first bad value and why."""
        parsed: dict[str, date] = {}
        for value in dict.fromkeys(values):
            try:
                parsed[value] = self.parse(value)
            except ValueError as exc:
                return parsed, values.index(value), str(exc)
        return parsed, None, None


_ORDERED_FORMATS: dict[str, tuple[str, ...]] = {
    "ymd": ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y.%m.%d.", "%Y%m%d", "%Y:%m:%d"),
    "dmy": ("%d/%m/%Y", "%d/%m/%y", "%d.%m.%Y", "%d.%m.%y", "%d-%m-%Y", "%d-%m-%y", "%d %b %Y", "%d %b %y",
            "%d-%b-%Y", "%d-%b-%y", "%d %B %Y", "%d. %B %Y", "%d/%b/%Y"),
    # Dotted dates are day-first wherever they are written, so no "%m.%d.%Y" here.
    "mdy": ("%m/%d/%Y", "%m/%d/%y", "%m-%d-%Y", "%m-%d-%y", "%b %d, %Y", "%B %d, %Y", "%b %d %Y"),
}


def _not_a_real_date(value: str, preferred_order: str | None) -> str | None:
    """Why a value written like a date (31/02/2026) is not one; None if no known format has its shape."""
    for order in sorted(_ORDERED_FORMATS, key=lambda order: order != preferred_order):
        for fmt in _ORDERED_FORMATS[order]:
            candidate = DateFormat(fmt, allow_time=True)
            if candidate.regex.fullmatch(value):
                try:
                    candidate.parse(value)
                except ValueError as exc:
                    return str(exc)
    return None


def infer_date_format(values: Sequence[str], preferred_order: str | None, filename: str,
                      line_of: Callable[[int], int], column: str) -> DateFormat:
    """The one date format that reads every value; day/month order settled by the data (a day over
    12 decides), else by `preferred_order`, else an error that says how to settle it."""
    distinct = [v for v in dict.fromkeys(values) if v.strip()]
    if not distinct:
        raise InputError(f"the '{column}' column is empty on every row", file=filename)
    fitting: list[tuple[str, DateFormat, dict[str, date]]] = []
    best_failure: tuple[int, int, str] | None = None  # (values read, index, message)
    for order, formats in _ORDERED_FORMATS.items():
        for fmt in formats:
            candidate = DateFormat(fmt, allow_time=True)
            parsed, bad, why = candidate.parse_all(distinct)
            if bad is None:
                fitting.append((order, candidate, parsed))
                break  # one format per order is enough
            if len(parsed) and (best_failure is None or len(parsed) > best_failure[0]):
                best_failure = (len(parsed), bad, why)
    if not fitting:
        if best_failure is not None:
            _, bad, why = best_failure
            index = values.index(distinct[bad])
            raise InputError(f"{why}; every other date in the column reads that way. Fix the value, or set "
                             f"date_format in a mapping", file=filename, line=line_of(index))
        index = values.index(distinct[0])
        unreal = _not_a_real_date(distinct[0], preferred_order)
        if unreal is not None:
            raise InputError(f"{unreal} in the '{column}' column; fix the value, or set date_format in a mapping",
                             file=filename, line=line_of(index))
        raise InputError(f"'{distinct[0].strip()}' in the '{column}' column is not a date psimport can read; "
                         f"set date_format in a mapping ({WRITING_A_MAPPING})", file=filename,
                         line=line_of(index))
    readings = {tuple(parsed[v] for v in distinct) for _, _, parsed in fitting}
    if len(readings) == 1:
        return fitting[0][1]
    if preferred_order:
        for order, candidate, _ in fitting:
            if order == preferred_order:
                return candidate
    example = next(v for v in distinct if len({parsed[v] for _, _, parsed in fitting}) > 1)
    orders = " or ".join(order for order, _, _ in fitting)
    raise InputError(f"the dates are ambiguous: every one (such as '{example.strip()}') reads as {orders}; "
                     "pass --date-order dmy|mdy|ymd, or set date_format in a mapping", file=filename,
                     line=line_of(values.index(example)))


# ─── amounts ───────────────────────────────────────────────────────────────────────────────────

_PLAIN_DOT = re.compile(r"[-+]?\d+(?:\.\d+)?")
_PLAIN_COMMA = re.compile(r"[-+]?\d+(?:,\d+)?")
# Anything but digits, marks, signs and line breaks sends a column to the careful reader.
_UNUSUAL_IN_NUMBERS = re.compile(r"[^\d.,\n+-]")
_NUMBER = {
    ".": re.compile(r"(?P<int>\d{1,3}(?:(?P<sep>[,' \u00a0\u202f])\d{3})(?:(?P=sep)\d{3})*|\d*)(?:\.(?P<frac>\d+))?"),
    ",": re.compile(r"(?P<int>\d{1,3}(?:(?P<sep>[.' \u00a0\u202f])\d{3})(?:(?P=sep)\d{3})*|\d*)(?:,(?P<frac>\d+))?"),
}
_SIGNS = frozenset("-+\u2212")  # a set, not a string: "" in "-+" would be true
_CURRENCY_EDGE = re.compile(r"^(?:[A-Z]{3}\b|[^\w\s.,()'\-+\u2212]{1,3})\s*|\s*(?:\b[A-Z]{3}|[^\w\s.,()'\-+\u2212]{1,3})$")


def _decimals(plain: list[str]) -> list[Decimal | None]:
    """Plain number strings to Decimal, blanks to None."""
    if "" in plain:
        return [Decimal(v) if v else None for v in plain]
    return list(map(Decimal, plain))


class AmountReader:
    """Reads bank amounts to Decimal: `-1,234.56`, `1.234,56`, `£1,183.23`, `+ £1,100.00`, `(42.17)`,
    `42.17-`, `11'373.94`, `-.46`, `1 234,56 €`. Thousands groups must be whole (`12,50` is not
    twelve hundred and fifty when the decimal mark is a dot): a misread is an error, never a guess."""

    def __init__(self, decimal_mark: str):
        self.mark = decimal_mark
        self.plain = _PLAIN_DOT if decimal_mark == "." else _PLAIN_COMMA
        self.number = _NUMBER[decimal_mark]
        self.unusual = _UNUSUAL_IN_NUMBERS

    def parse(self, text: str) -> Decimal | None:
        """One amount, None when blank; ValueError when it is not an amount."""
        if self.plain.fullmatch(text):
            return Decimal(text if self.mark == "." else text.replace(",", "."))
        value = text.strip()
        if not value:
            return None
        negative = False
        signs = 0
        if value.startswith("(") and value.endswith(")"):
            negative, signs, value = True, 1, value[1:-1].strip()
        for _ in range(3):  # a sign and a currency in either order, at either end
            previous = value
            if value[:1] in _SIGNS:
                negative ^= value[0] != "+"
                signs += 1
                value = value[1:].lstrip()
            if value[-1:] in _SIGNS:
                negative ^= value[-1] != "+"
                signs += 1
                value = value[:-1].rstrip()
            value = _CURRENCY_EDGE.sub("", value)
            if value == previous:
                break
        if signs > 1:
            raise ValueError(f"'{text.strip()}' is not an amount (more than one sign)")
        match = self.number.fullmatch(value) if value else None
        if match is None or not (match["int"] or match["frac"]):
            raise ValueError(f"'{text.strip()}' is not an amount (decimal mark '{self.mark}')")
        digits = re.sub(r"\D", "", match["int"] or "0")
        result = Decimal(f"{digits}.{match['frac']}" if match["frac"] else digits)
        return -result if negative else result

    def plain_values(self, values: list[str], joined: str | None = None) -> list[str] | None:
        """The values as Decimal() reads them, if every one is a plain number or blank (checked in one
        C-speed scan); None when some value needs the full reading (currency, thousands, brackets)."""
        if joined is None:
            joined = "\n".join(values)
        if self.unusual.search(joined):
            return None
        if self.mark == ",":
            if "." in joined:
                return None
            return joined.replace(",", ".").split("\n")
        return values if "," not in joined else None

    def parse_column(self, values: list[str], joined: str | None = None
                     ) -> tuple[list[Decimal | None], int | None, str | None]:
        """Every value converted (None for blanks); on failure, the index of the first bad value and why."""
        plain = self.plain_values(values, joined)
        if plain is not None:
            try:
                return _decimals(plain), None, None
            except InvalidOperation:
                pass  # "1.2.3" or a lone "-": the per-value pass below names it
        result: list[Decimal | None] = []
        cache: dict[str, Decimal | None] = {}
        parse = self.parse
        for index, value in enumerate(values):
            try:
                amount = cache[value]
            except KeyError:
                try:
                    amount = cache[value] = parse(value)
                except (ValueError, InvalidOperation) as exc:
                    return result, index, str(exc)
            result.append(amount)
        return result, None, None


_DOT_EVIDENCE = re.compile(r"\.\d{1,2}(?=[^\d.,]*$)|\.\d{4,}(?=[^\d.,]*$)|\d,\d{3}\.|\d,\d{3},\d{3}(?!\d)|"
                           r"'\d{3}\.", re.M)
_COMMA_EVIDENCE = re.compile(r",\d{1,2}(?=[^\d.,]*$)|,\d{4,}(?=[^\d.,]*$)|\d\.\d{3},|\d\.\d{3}\.\d{3}(?!\d)|"
                             r"'\d{3},", re.M)
_AMBIGUOUS_MARK = re.compile(r"[.,]\d{3}(?=[^\d.,]*$)", re.M)


def infer_decimal_mark(columns: Sequence[list[str] | str], fallback: str | None, filename: str,
                       line_of: Callable[[int], int]) -> str:
    """The decimal mark the amounts use, judged from every value of every amount column.

    `1.234,56` and `0,31` say comma; `1,234.56` and `7.80` say dot. A file that says both is an
    error naming a line of each; one that says neither (`1,234` alone could be either) takes the
    mapping's `decimal`, or is an error.
    """
    dot = comma = None
    for values in columns:
        joined = values if isinstance(values, str) else "\n".join(values)
        has_comma = "," in joined or "'" in joined
        if "." in joined:
            dot = dot or _first_evidence(_DOT_EVIDENCE, joined)
        if has_comma:
            comma = comma or _first_evidence(_COMMA_EVIDENCE, joined)
            if not dot and "." not in joined:
                dot = dot or _first_evidence(_DOT_EVIDENCE, joined)
        if dot and comma:
            break
    if dot and comma:
        raise InputError(f"the amounts mix decimal marks: '{dot[1]}' (line {line_of(dot[0])}) reads with a "
                         f"dot, '{comma[1]}' (line {line_of(comma[0])}) with a comma; set decimal in a mapping",
                         file=filename, line=line_of(comma[0]))
    if dot:
        return "."
    if comma:
        return ","
    if fallback:
        return fallback
    for values in columns:
        joined = values if isinstance(values, str) else "\n".join(values)
        found = _first_evidence(_AMBIGUOUS_MARK, joined)
        if found:
            raise InputError(f"cannot tell whether '{found[1]}' uses a decimal mark or a thousands separator; "
                             "set decimal: \".\" or \",\" in a mapping", file=filename, line=line_of(found[0]))
    return "."


def _first_evidence(pattern: re.Pattern, joined: str) -> tuple[int, str] | None:
    match = pattern.search(joined)
    if match is None:
        return None
    start = joined.rfind("\n", 0, match.start()) + 1
    end = joined.find("\n", match.end())
    return joined.count("\n", 0, match.start()), joined[start:end if end >= 0 else len(joined)].strip()


# ─── detection ─────────────────────────────────────────────────────────────────────────────────

@dataclass
class Layout:
    """What detection decided: the mapping, the delimiter, and which head record is the header."""

    mapping: Mapping
    delimiter: str
    header_index: int | None  # index into the head records; None for a headerless file
    head: Records
    confidence: float


class _Head:
    """The first records of a file, parsed with each delimiter on demand."""

    def __init__(self, text: str, filename: str):
        self.text = text[:HEAD_CHARS]
        if len(text) > HEAD_CHARS:
            self.text = self.text[:self.text.rfind("\n") + 1] or self.text
        self.filename = filename
        self.sniffed: dict[str, str] = {}
        self._records: dict[tuple[str, str], Records] = {}

    def delimiter(self, quote: str) -> str:
        if quote not in self.sniffed:
            self.sniffed[quote] = sniff_delimiter(self.text, quote)
        return self.sniffed[quote]

    def records(self, delimiter: str, quote: str) -> Records:
        key = (delimiter, quote)
        if key not in self._records:
            self._records[key] = read_records(self.text, delimiter, quote, self.filename, limit=HEAD_RECORDS,
                                              lenient=True)
        return self._records[key]


class _Source:
    """A file's bytes, decoded (once per encoding) as the mappings ask: a mapping's `encoding`
    applies only when the bytes are not UTF-8."""

    def __init__(self, data: bytes, filename: str):
        self.data = data
        self.filename = filename
        self._texts: dict[str, str] = {}
        self._chosen: dict[str | None, str] = {}
        self._heads: dict[str, _Head] = {}

    def _decode(self, preferred: str | None) -> tuple[str, str]:
        if preferred in self._chosen:
            encoding = self._chosen[preferred]
            return self._texts[encoding], encoding
        for encoding in self._chosen.values():
            if encoding in UNICODE_ENCODINGS:
                # A mapping's encoding applies only to files that are not Unicode: this one is.
                self._chosen[preferred] = encoding
                return self._texts[encoding], encoding
        text, encoding = decode_bytes(self.data, self.filename, preferred)
        self._chosen[preferred] = encoding
        if encoding not in self._texts:
            if "\x00" in text:
                raise InputError("the file holds binary data (NUL bytes), not CSV text; export it again as CSV",
                                 file=self.filename, line=text.count("\n", 0, text.index("\x00")) + 1)
            self._texts[encoding] = _normalise_newlines(text)
        return self._texts[encoding], encoding

    def text(self, preferred: str | None = None) -> str:
        return self._decode(preferred)[0]

    def head(self, preferred: str | None = None) -> _Head:
        text, encoding = self._decode(preferred)
        if encoding not in self._heads:
            self._heads[encoding] = _Head(text, self.filename)
        return self._heads[encoding]


def _skip_lines(records: Records, count: int) -> list[list[str]]:
    return [row for i, row in enumerate(records.rows) if records.line_of(i) > count]


def detect_layout(source: _Source, mapping_dirs: Sequence[Path]) -> Layout | None:
    """The best-fitting mapping for these head records: a header signature beats a headerless
    shape, an exact header beats a partial one, more signature cells beat fewer. Two built-in
    mappings fitting equally well is an error (name one with --mapping)."""
    scored: list[tuple[tuple, int, Layout]] = []
    for order, mapping in enumerate(available_mappings(mapping_dirs)):
        head = source.head(mapping.encoding)
        delimiter = mapping.delimiter or head.delimiter(mapping.quote)
        records = head.records(delimiter, mapping.quote)
        if mapping.header:
            found = match_header(mapping, records.rows)
            if found is not None:
                scored.append(((2,) + found.score, order,
                               Layout(mapping, delimiter, found.index, records, 0.9)))
        else:
            fitted = match_shape(mapping, _skip_lines(records, mapping.skip_lines)[:30])
            if fitted:
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


def _generic_layout(head: _Head) -> Layout | None:
    delimiter = head.delimiter('"')
    records = head.records(delimiter, '"')
    for index, row in enumerate(records.rows[:20]):
        if len([c for c in row if c.strip()]) >= 2:
            mapping = generic_mapping(row)
            if mapping is not None:
                return Layout(mapping, delimiter, index, records, 0.6)
    return None


def _unknown_layout(head: _Head) -> InputError:
    delimiter = head.delimiter('"')
    records = head.records(delimiter, '"')
    rows = [(i, row) for i, row in enumerate(records.rows) if any(c.strip() for c in row)]
    if not rows:
        return InputError("the file has no rows of data", file=head.filename)
    index, first = max(rows[:20], key=lambda item: len(item[1]))
    cells = ", ".join(c.strip() or "(empty)" for c in first)
    return InputError(f"no mapping knows this CSV layout (columns seen on line {records.line_of(index)}: "
                      f"{cells}). Pass --mapping NAME (see `psimport mappings`) or write a mapping for your bank "
                      f"and pass --mapping FILE ({WRITING_A_MAPPING})", file=head.filename,
                      line=records.line_of(index))


def _explicit_layout(head: _Head, mapping: Mapping) -> Layout:
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


# ─── the parser ────────────────────────────────────────────────────────────────────────────────

_NOT_CSV = re.compile(r"\s*(?:<|OFXHEADER|!Type:|!Account|!Option|:20:|\{)", re.I)
_OTHER_FORMAT_LINE = re.compile(r"^(?:!Type:|!Account|!Option|:\d{2}[A-Z]?:|<OFX>|<\?xml)", re.I | re.M)


class CsvParser:
    """Bank CSV exports, read through a mapping (shipped, the user's, or named with --mapping)."""

    name = "csv"

    def sniff(self, head: bytes, filename: str) -> float:
        """How sure this is a CSV statement: a known header 0.9, a known headerless shape 0.75, plainly
        named columns 0.6, any consistent table 0.4; OFX, QIF, XML and binary data 0."""
        try:
            return self._sniff(head, filename)
        except ImporterError:
            return 0.1 if filename.lower().endswith(CSV_SUFFIXES) else 0.0

    def _sniff(self, head: bytes, filename: str) -> float:
        utf16 = _looks_utf16le(head) or head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
        if not utf16:
            head = head.rstrip(b"\x00")
            if b"\x00" in head:
                return 0.0
        if not head.strip():
            return 0.0
        if utf16 and len(head) % 2:
            head = head[:-1]  # the sniffing window may cut a UTF-16 character in half
        source = _Source(head, filename)
        text = source.text()
        if _NOT_CSV.match(text) or _OTHER_FORMAT_LINE.search(text[:HEAD_CHARS]):
            return 0.0
        controls = sum(1 for ch in text[:4096] if ch < " " and ch not in "\t\n")
        if controls > 2:
            return 0.0
        suffix_bonus = 0.05 if filename.lower().endswith(CSV_SUFFIXES) else 0.0
        layout = detect_layout(source, ())
        if layout is not None:
            return layout.confidence + suffix_bonus
        head_records = source.head()
        if _generic_layout(head_records) is not None:
            return 0.6 + suffix_bonus
        records = head_records.records(head_records.delimiter('"'), '"')
        widths = Counter(len(r) for r in records.rows if len(r) > 1)
        if widths and widths.most_common(1)[0][1] >= 2:
            return 0.4 + suffix_bonus
        return 0.1 if suffix_bonus else 0.0

    def parse(self, data: bytes, filename: str, options: ParseOptions = ParseOptions()) -> list[Statement]:
        """Every row of the file, through the mapping named in `options` or the one detected."""
        explicit = find_mapping(options.mapping, options.mapping_dirs) if options.mapping else None
        source = _Source(data, filename)
        if not source.text(explicit.encoding if explicit else None).strip():
            raise InputError("the file is empty; download the statement again", file=filename)
        if explicit is not None:
            layout = _explicit_layout(source.head(explicit.encoding), explicit)
        else:
            layout = detect_layout(source, options.mapping_dirs) or _generic_layout(source.head())
            if layout is None:
                raise _unknown_layout(source.head())
        reader = _Reader(source.text(layout.mapping.encoding), filename, layout, options)
        del source  # the reader holds the one text it needs; the rest can go
        # Collecting a million rows trips the cyclic garbage collector over and over, for nothing:
        # rows hold only strings. Pausing it halves the time of a large file.
        collecting = gc.isenabled()
        gc.disable()
        try:
            return reader.statements()
        finally:
            if collecting:
                gc.enable()


class _Reader:
    """One file through one mapping: rows, then columns, then Transactions."""

    def __init__(self, text: str, filename: str, layout: Layout, options: ParseOptions):
        self.text = text
        self.file = filename
        self.layout = layout
        self.mapping = layout.mapping
        self.options = options
        self._columns: dict[int, list[str]] = {}
        self._joined_columns: dict[int, str] = {}
        self._roles: dict[int, str] = {}      # column index -> the mapping's name for it, for messages

    # ── rows ──

    def statements(self) -> list[Statement]:
        mapping = self.mapping
        header_line, header = self._header()
        self.header = header
        self.header_line = header_line
        indices = self._resolve_columns(header)
        self._roles = {index: role.split(".")[0] for role, index in reversed(indices.items())}
        count = self._uniform_columns(indices)
        if count is not None:
            self.lines = range(header_line + 1, header_line + 1 + count)
            preamble = self._preamble()
            self.text = ""
            return self._convert(count, indices, set(), {}, preamble)
        records = read_records(self.text, self.layout.delimiter, mapping.quote, self.file)
        self._check_quoting(records)
        first = self._first_data_index(records, header_line)
        rows, lines, pending, continued = self._data_rows(records, first, indices)
        self.lines = lines
        if not rows:
            raise InputError("the file has no transactions" + (" below its header" if header else ""),
                             file=self.file, line=header_line or None)
        preamble = self._preamble()
        del records
        self.text = ""
        # The columns come out, then the rows go: at a million rows they are most of the memory.
        self._take_columns(rows, indices)
        count = len(rows)
        rows.clear()
        return self._convert(count, indices, pending, continued, preamble)

    def _uniform_columns(self, indices: dict[str, int]) -> int | None:
        """The fast path for the common case, or None: no quotes anywhere, no blank lines and the
        same number of fields on every line below the header, and no row rules in the mapping.
        Then the whole body splits at once into one flat list of cells, and each column is a
        slice of it: no list per row at all."""
        mapping, text, delimiter = self.mapping, self.text, self.layout.delimiter
        if mapping.quote in text or mapping.drop or mapping.pending or mapping.continuation:
            return None
        start = 0
        for _ in range(self.header_line):
            start = text.find("\n", start) + 1
            if not start:
                return None
        body = text[start:].rstrip("\n")
        if not body:
            return None
        lines = body.split("\n")
        widths = set(map(str.count, lines, repeat(delimiter)))
        count = len(lines)
        del lines
        if len(widths) != 1:
            return None
        fields = widths.pop() + 1
        if fields <= max(indices.values()):
            return None
        cells = body.replace("\n", delimiter).split(delimiter)
        del body
        for index in set(indices.values()):
            self._columns[index] = cells[index::fields]
        dates = self._columns[indices["date"]]
        if "" in dates or any(map(str.isspace, dates)):
            self._columns.clear()
            return None  # a blank row (",,,,"): the row-by-row path skips those
        return count

    def _check_quoting(self, records: Records) -> None:
        # `..., "text"` (a space before the opening quote) leaves the field unquoted to every CSV
        # reader, so a delimiter inside it would silently shift the columns. Refuse the file.
        quote, delimiter = self.mapping.quote, self.layout.delimiter
        if records.lines is None:
            return
        pattern = re.compile(f"(?:^|{re.escape(delimiter)})[ \\t]+{re.escape(quote)}", re.M)
        for match in pattern.finditer(self.text):
            line = self.text.count("\n", 0, match.start()) + 1
            index = bisect_right(records.lines, line) - 1
            if index < 0:
                continue
            for cell in records.rows[index]:
                if cell[:1] in " \t" and cell.lstrip(" \t").startswith(quote):
                    raise InputError(f"a space stands before the opening quote of {cell.strip()[:40]!r}, so "
                                     "the quotes do not protect what is inside; remove the space after the "
                                     f"'{delimiter}' and try again", file=self.file, line=line)

    def _header(self) -> tuple[int, list[str] | None]:
        """The header's line and cells (from the head records detection used); (skip_lines, None) without one."""
        if self.layout.header_index is None:
            return self.mapping.skip_lines, None
        head_rows = self.layout.head
        line = head_rows.line_of(self.layout.header_index)
        return line, head_rows.rows[self.layout.header_index]

    @staticmethod
    def _first_data_index(records: Records, header_line: int) -> int:
        if records.lines is None:
            return header_line
        return bisect_right(records.lines, header_line)

    def _resolve_columns(self, header: list[str] | None) -> dict[str, int]:
        names = [normalise_cell(c) for c in header] if header is not None else []
        indices: dict[str, int] = {}
        for role, ref in self.mapping.column_refs().items():
            if isinstance(ref, int):
                indices[role] = ref
                continue
            key = normalise_cell(ref)
            if key not in names:
                seen = ", ".join(c.strip() for c in header or [] if c.strip())
                raise InputError(f"the '{self.mapping.name}' mapping reads a column '{ref}', which this header "
                                 f"lacks (columns: {seen})", file=self.file, line=self.header_line)
            indices[role] = names.index(key)
        return indices

    def _data_rows(self, records: Records, first: int, indices: dict[str, int]):
        mapping = self.mapping
        rows = records.rows[first:]
        while rows and not any(cell.strip() for cell in rows[-1]):
            rows.pop()
        line_of = records.line_of
        need = max(indices.values()) + 1
        date_i = indices["date"]
        amount_cols = [indices[r] for r in ("amount", "debit", "credit") if r in indices]
        simple = not (mapping.drop or mapping.pending or mapping.continuation)
        if simple and rows and min(map(len, rows)) >= need and all(map(any, rows)):
            lines = range(first + 1, first + 1 + len(rows)) if records.lines is None \
                else records.lines[first:first + len(rows)]
            return rows, lines, set(), {}
        kept: list[list[str]] = []
        lines: list[int] = []
        pending: set[int] = set()
        continued: dict[int, list[str]] = {}
        drop_columns = {n: indices[f"drop.{n}"] for n, rule in enumerate(mapping.drop) if rule.column is not None}
        pending_rule = mapping.pending
        pending_i = indices.get("pending", date_i)
        delimiter = self.layout.delimiter
        for offset, row in enumerate(rows):
            if len(row) < need:
                if not any(cell.strip() for cell in row):
                    continue
                row = row + [""] * (need - len(row))
            if not row[date_i].strip():
                if not any(cell.strip() for cell in row):
                    continue
                if mapping.continuation and kept and not any(row[i].strip() for i in amount_cols):
                    text = " ".join(cell.strip() for cell in row if cell.strip())
                    continued.setdefault(len(kept) - 1, []).append(text)
                    continue
            dropped = False
            for n, rule in enumerate(mapping.drop):
                if rule.kind == "matches":
                    dropped = bool(rule.pattern.search(row[drop_columns[n]]))
                elif rule.kind == "not_matches":
                    dropped = not rule.pattern.search(row[drop_columns[n]])
                elif rule.kind == "no_amount":
                    dropped = not any(row[i].strip() for i in amount_cols)
                elif rule.kind == "line_matches":
                    dropped = bool(rule.pattern.search(delimiter.join(row)))
                if dropped:
                    break
            if dropped:
                continue
            if pending_rule is not None and pending_rule.pattern.search(row[pending_i]):
                if not pending_rule.keep:
                    continue
                pending.add(len(kept))
            kept.append(row)
            lines.append(line_of(first + offset))
        return kept, lines, pending, continued

    def _preamble(self) -> str:
        """The lines above the first row of data (where some banks put the account number)."""
        if self.header_line <= 0:
            return ""
        return "\n".join(self.text.split("\n", self.header_line)[:self.header_line])

    # ── columns ──

    def _take_columns(self, rows: list[list[str]], indices: dict[str, int]) -> None:
        """Take out of the rows every column the mapping reads, once."""
        for index in set(indices.values()):
            if index not in self._columns:
                self._columns[index] = [row[index] for row in rows]

    def _column(self, index: int) -> list[str]:
        return self._columns[index]

    def _joined(self, index: int) -> str:
        # Amount columns keep their joined text: the decimal-mark inference and the plain-number
        # check both scan it.
        joined = self._joined_columns.get(index)
        if joined is None:
            joined = self._joined_columns[index] = "\n".join(self._columns[index])
        return joined

    def _fail(self, index: int, message: str) -> InputError:
        return InputError(message, file=self.file, line=self.lines[index])

    def _column_name(self, index: int) -> str:
        """The column as the header names it; without one, as the mapping does ('amount'), else by number."""
        if self.header is not None and index < len(self.header) and self.header[index].strip():
            return self.header[index].strip()
        return self._roles.get(index) or f"column {index + 1}"

    def _dates(self, index: int, pending: set[int]) -> list[date]:
        values = self._column(index)
        positions: Sequence[int] = range(len(values))
        usable = values
        if pending:
            positions = [i for i in positions if i not in pending]
            usable = [values[i] for i in positions]
        lines = self.lines

        def line_of(k: int) -> int:
            return lines[positions[k]]

        mapping = self.mapping
        if mapping.date_format == "auto":
            fmt = infer_date_format(usable, self.options.date_order or mapping.date_order, self.file, line_of,
                                    self._column_name(index))
        else:
            fmt = DateFormat(mapping.date_format)
        parsed, bad, why = fmt.parse_all(usable)
        if bad is not None:
            raise InputError(f"{why} (column '{self._column_name(index)}')", file=self.file, line=line_of(bad))
        if not pending:
            return list(map(parsed.__getitem__, values))
        newest = max(parsed.values(), default=None)
        if newest is None:
            raise self._fail(0, "every row is pending, so none has a date to go by")
        return [newest if i in pending else parsed[v] for i, v in enumerate(values)]

    def _amounts(self, reader: AmountReader, index: int) -> list[Decimal | None]:
        values = self._column(index)
        result, bad, why = reader.parse_column(values, self._joined(index))
        if bad is not None:
            raise self._fail(bad, f"cannot read the amount in '{self._column_name(index)}': {why}")
        return result

    def _texts(self, spec) -> list[str]:
        if spec is None:
            return [""] * self.count
        columns = [self._column(self._text_index[(id(spec), n)]) for n in range(len(spec.columns))]
        if len(columns) == 1:
            return columns[0]
        if spec.mode == "first":
            return [next((v for v in values if v.strip()), "") for values in zip(*columns)]
        separator = spec.separator
        return [separator.join(v.strip() for v in values if v.strip()) for values in zip(*columns)]

    def _convert(self, count: int, indices: dict[str, int], pending: set[int], continued: dict[int, list[str]],
                 preamble: str) -> list[Statement]:
        """The columns (already taken out) to Transactions, grouped into Statements."""
        mapping = self.mapping
        self.count = count
        self._text_index = {}
        for role, spec in (("payee", mapping.payee), ("memo", mapping.memo)):
            if spec is not None:
                for n in range(len(spec.columns)):
                    self._text_index[(id(spec), n)] = indices[f"{role}.{n}"]

        dates = self._dates(indices["date"], pending)

        amount_columns = [indices[r] for r in ("amount", "debit", "credit", "fee", "balance") if r in indices]
        decimal_mark = mapping.decimal or infer_decimal_mark(
            [self._joined(i) for i in amount_columns], None, self.file, lambda i: self.lines[i])
        reader = AmountReader(decimal_mark)
        amounts = self._money(reader, indices)
        if "fee" in indices:
            fees = self._amounts(reader, indices["fee"])
            amounts = [a - f if f else a for a, f in zip(amounts, fees)]
        if mapping.charges_positive:
            amounts = [-a for a in amounts]

        balances = self._amounts(reader, indices["balance"]) if "balance" in indices \
            else list(repeat(None, count))
        self._release(indices, ("date", "amount", "debit", "credit", "fee", "balance", "flag", "pending"))

        payees = self._texts(mapping.payee)
        memos = self._texts(mapping.memo)
        if continued:
            target = payees if mapping.continuation == "payee" else memos
            for index, extra in continued.items():
                target[index] = " ".join([target[index].strip()] + extra).strip()
        if mapping.memo is None:
            originals = payees
            memo_values = list(repeat(None, count))
        else:
            originals = [p if p.strip() else m for p, m in zip(payees, memos)]
            memo_values = [m.strip() or None for m in memos]
        cleaned = _clean_texts(originals)
        ids = self._optional_texts(indices.get("id"), count)
        cheques = self._optional_texts(indices.get("cheque_number"), count)
        types = self._optional_texts(indices.get("type"), count)
        if pending:
            types = ["pending" if i in pending else t for i, t in enumerate(types)]
        currencies = self._optional_texts(indices.get("currency"), count)
        if mapping.currency:
            currencies = [c or mapping.currency for c in currencies]

        fields = (dates, amounts, cleaned, originals, memo_values, ids, cheques, currencies, balances, self.lines,
                  types)
        if any(len(values) != count for values in fields):
            # zip below would silently drop rows: that is a bug, never a user's problem.
            raise RuntimeError(f"CSV columns of unequal length: {[len(values) for values in fields]}")
        transactions = list(map(_new_transaction, zip(
            dates, amounts, cleaned, originals, memo_values, ids, cheques, currencies, balances,
            repeat(self.file), self.lines, types, repeat(()))))
        accounts = self._optional_texts(indices["account"], count) if "account" in indices else None
        if any(rule.kind == "zero_amount" for rule in mapping.drop):
            nonzero = [bool(a) for a in amounts]
            transactions = list(compress(transactions, nonzero))
            if accounts is not None:
                accounts = list(compress(accounts, nonzero))
        return self._statements(transactions, accounts, preamble)

    def _release(self, indices: dict[str, int], roles: Sequence[str]) -> None:
        """Drop converted raw columns (and their joined text) that no other role still reads."""
        self._joined_columns.clear()
        done = {indices[role] for role in roles if role in indices}
        still_read = {index for role, index in indices.items() if role not in roles}
        for index in done - still_read:
            self._columns.pop(index, None)

    def _money(self, reader: AmountReader, indices: dict[str, int]) -> list[Decimal]:
        mapping = self.mapping
        if "amount" in indices:
            amounts = self._amounts(reader, indices["amount"])
            if mapping.flag is not None:
                amounts = self._flagged(amounts, indices["flag"])
        else:
            amounts = self._split_amounts(reader, indices)
        # Not `None in amounts`: that compares None with each Decimal, through the numbers ABCs.
        blank = next((i for i, a in enumerate(amounts) if a is None), None)
        if blank is not None:
            if mapping.blank_amount_is_zero:
                return [Decimal(0) if a is None else a for a in amounts]
            raise self._fail(blank, "the row has no amount; if such rows are notes, add "
                                    "`drop: [{no_amount: true}]` to the mapping")
        return amounts

    def _split_amounts(self, reader: AmountReader, indices: dict[str, int]) -> list[Decimal | None]:
        """Debit and credit columns to one signed amount: money out negative, in positive, whatever
        sign the bank printed; a row with both a debit and a credit is an error."""
        count = self.count
        blank = [""] * count
        debit_raw = self._column(indices["debit"]) if "debit" in indices else blank
        credit_raw = self._column(indices["credit"]) if "credit" in indices else blank
        debit_text = self._joined(indices["debit"]) if "debit" in indices else ""
        credit_text = self._joined(indices["credit"]) if "credit" in indices else ""
        debit_plain = reader.plain_values(debit_raw, debit_text)
        credit_plain = reader.plain_values(credit_raw, credit_text)
        if debit_plain is not None and credit_plain is not None \
                and debit_plain.count("") + credit_plain.count("") == count and "-" not in credit_text:
            # Fast path: exactly one of the two is filled on every row, plain numbers only.
            try:
                if "-" not in debit_text:
                    return [Decimal(c) if c else -Decimal(d) for d, c in zip(debit_plain, credit_plain)]
                return [Decimal(c) if c else -abs(Decimal(d)) for d, c in zip(debit_plain, credit_plain)]
            except InvalidOperation:
                pass  # the per-column pass below names the bad value
        debits = self._amounts(reader, indices["debit"]) if "debit" in indices else [None] * count
        credits = self._amounts(reader, indices["credit"]) if "credit" in indices else [None] * count
        amounts: list[Decimal | None] = []
        for i, (debit, credit) in enumerate(zip(debits, credits)):
            if credit is None or (not credit and debit):
                amounts.append(None if debit is None else -abs(debit))
            elif debit is None or not debit:
                amounts.append(abs(credit))
            else:
                raise self._fail(i, f"the row has both a debit ({debit}) and a credit ({credit})")
        return amounts

    def _flagged(self, amounts, flag_index: int) -> list[Decimal | None]:
        flag = self.mapping.flag
        result = []
        flags = self._column(flag_index)
        for i, (raw, amount) in enumerate(zip(flags, amounts)):
            if amount is None:
                result.append(None)
                continue
            value = raw.strip().casefold()
            if value in flag.credit or (not value and flag.default == "credit"):
                result.append(abs(amount))
            elif value in flag.debit or (not value and flag.default == "debit"):
                result.append(-abs(amount))
            else:
                expected = ", ".join(sorted(flag.debit | flag.credit))
                raise self._fail(i, f"the direction '{raw.strip()}' in "
                                    f"'{self._column_name(flag_index)}' is none of: {expected}")
        return result

    def _optional_texts(self, index: int | None, count: int) -> list[str | None]:
        if index is None:
            return list(repeat(None, count))
        return [value.strip().strip("'") or None for value in self._column(index)]

    # ── statements ──

    def _statements(self, transactions: list[Transaction], accounts: list[str | None] | None,
                    preamble: str) -> list[Statement]:
        mapping = self.mapping
        groups: dict[str | None, list[Transaction]] = {}
        if accounts is None:
            account_id = None
            if mapping.account_pattern is not None:
                found = mapping.account_pattern.search(preamble)
                if found:
                    account_id = "-".join(g for g in found.groups() if g) or found.group(0)
            groups[account_id] = transactions
        else:
            for account, txn in zip(accounts, transactions):
                groups.setdefault(account, []).append(txn)
        statements = []
        has_ids = "id" in self.mapping.column_refs()
        for account_id, rows in groups.items():
            if has_ids:
                _unique_ids(rows)
            currencies = {t.currency for t in rows if t.currency}
            currency = mapping.currency or (currencies.pop() if len(currencies) == 1 else None)
            statements.append(Statement(
                file=self.file, format=f"csv:{mapping.name}",
                account=Account(id=account_id, type=mapping.account_type, currency=currency),
                transactions=rows, closing_balance=_closing_balance(rows)))
        return statements


# tuple.__new__ through partial builds each Transaction without a Python-level call: a third
# faster than Transaction(...) at a million rows. zip supplies every field, in declaration order.
_new_transaction = partial(tuple.__new__, Transaction)
assert Transaction._fields[-1] == "splits" and len(Transaction._fields) == 13


def _clean_texts(values: list[str]) -> list[str]:
    # Collapsing runs of spaces is the costliest step at a million rows; skip values that need none.
    # NUL cannot occur in the text (such files are refused), so it separates values unambiguously.
    joined = "\x00".join(values)
    if not ("  " in joined or "\t" in joined or "\n" in joined or "\r" in joined or "\x00 " in joined
            or " \x00" in joined or joined[:1].isspace() or joined[-1:].isspace() or "\xa0" in joined):
        return values
    return [" ".join(v.split()) for v in values]


def _unique_ids(rows: list[Transaction]) -> None:
    # A bank id seen twice in one file would make dedupe treat two transactions as one.
    seen: dict[str, int] = {}
    for index, txn in enumerate(rows):
        if txn.external_id is None:
            continue
        times = seen.get(txn.external_id, 0)
        seen[txn.external_id] = times + 1
        if times:
            rows[index] = txn._replace(external_id=f"{txn.external_id}#{times + 1}")


def _closing_balance(rows: list[Transaction]) -> Decimal | None:
    first = next((t for t in rows if t.balance is not None), None)
    if first is None:
        return None
    last = next(t for t in reversed(rows) if t.balance is not None)
    # Exports list newest first or oldest first; the closing balance is the newest row's.
    return first.balance if first.date > last.date else last.balance
