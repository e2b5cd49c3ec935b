"""The QIF parser: a Quicken Interchange Format export read into one Statement per account.

What it reads, and the choices it makes where QIF is vague:

- Transaction sections `!Type:Bank`, `Cash`, `CCard`, `Oth A`, `Oth L` and `Invst`; the lists Quicken
  exports beside them (`Cat`, `Class`, `Memorized`, `Prices`, `Security`, ...) are skipped whole, and an
  unknown `!Type:` is an error rather than a silent loss.
- Accounts: an `!Account` block (`N` name, `T` type) names the account of the sections after it; the
  last block read wins, which also covers `!Option:AutoSwitch` lists. Transactions before any
  `!Account` belong to an unnamed account (one per section type). Sections of one account merge.
- Fields: `D` date (the first one; a `D` inside a split is not the record's), `T` amount (`U` when `T`
  is missing), `P` payee, `M` memo, `N` cheque number when numeric, otherwise the record's `type`
  (`DEP`, `TXFR`, `ATM`...), `S`/`E`/`$` splits. `L` (category), `C` (cleared), `A` (address) and other
  codes are not carried: the common record has no place for them.
- Investment (`Invst`) records are all kept, `type` = the action (`Buy`, `Div`, `XIn`...). The amount is
  `T`, else `U`, else the `$` transfer amount, else quantity × price ± commission, else 0. QIF writes
  them unsigned, so actions that take cash out (`Buy`, `MiscExp`, `MargInt`, `XOut` and their `X`
  forms) are made negative and those that bring cash in positive; other actions keep the file's sign.
- Dates: `M/D/YY`, `M/D/YYYY`, `D/M/YYYY`, `D.M.YYYY`, `D-M-YYYY`, `YYYY-MM-DD`, Quicken's apostrophe
  years (`8/31' 0` = 2000-08-31, `2/10'2020`) and space padding (`8/ 1/97`). A two-digit year below 69
  is 20xx, otherwise 19xx (the rule of strptime's `%y`); after an apostrophe it is always 20xx. Day or
  month first is decided from the whole file: a first field above 12 means day first, a second field
  above 12 month first (both at once is an error naming the two lines); otherwise `date_order` from
  the command line or config settles it, and without one the error names an ambiguous line.
- Amounts: parentheses and a trailing minus mean negative; thousands separators (`,` `.` space `'`)
  are dropped; a lone comma followed by one or two digits is a decimal comma.
"""

from __future__ import annotations

import codecs
import re
from datetime import date
from decimal import Decimal

from importer.errors import InputError
from importer.parsers.base import ParseOptions
from importer.record import Account, Split, Statement, Transaction

__all__ = ["QifParser", "parse_amount", "TWO_DIGIT_YEAR_PIVOT"]

TWO_DIGIT_YEAR_PIVOT = 69

# Lower-cased `!Type:` names of the sections that hold an account's transactions → their usual spelling.
TRANSACTION_SECTIONS = {"bank": "Bank", "cash": "Cash", "ccard": "CCard", "oth a": "Oth A",
                        "oth l": "Oth L", "invst": "Invst"}
LIST_SECTIONS = {"cat", "class", "memorized", "memorised", "prices", "security", "invitem", "template",
                 "budget", "bill", "payee", "tag"}

# Invst actions whose cash moves out of, or into, the investment account.
CASH_OUT_ACTIONS = {"buy", "buyx", "miscexp", "miscexpx", "margint", "margintx", "xout", "withdrwx"}
CASH_IN_ACTIONS = {"sell", "sellx", "div", "divx", "intinc", "intincx", "cglong", "cglongx", "cgmid",
                   "cgmidx", "cgshort", "cgshortx", "rtrncap", "rtrncapx", "miscinc", "miscincx", "xin",
                   "contribx"}

# Field codes a headerless file may use; anything else before a `!Type:` line means it is not QIF.
BANK_FIELD_CODES = set("DTUPMNCLASE$%FX")

SKIP, TRANSACTIONS, INVESTMENTS, ACCOUNTS = range(4)

_SPLIT_CODES = frozenset("SE$")

_DATE = re.compile(r"\s*(\d{1,4})\s*[/.\-]\s*(\d{1,2})\s*(['/.\-])\s*(\d{1,4})\s*", re.ASCII)
_PLAIN_AMOUNT = re.compile(r"[-+]?\d+(?:\.\d+)?", re.ASCII)
# Thousands grouped Western (1,234,567) or Indian (12,34,567) style, after decimal commas are turned into points.
_GROUPED_AMOUNT = re.compile(r"(?:\d{1,3}(?:,\d{3})+|\d{1,2}(?:,\d{2})+,\d{3}|\d+)(?:\.\d+)?|\.\d+", re.ASCII)
_BINARY_CONTROL = re.compile(r"[\x00-\x08\x0e-\x19\x1b-\x1f\x7f]")
# Currency signs, and the spaces and apostrophes some locales group thousands with.
_AMOUNT_NOISE = str.maketrans("", "", "$€£¥ \u00a0\u202f\u2009'")

_DATE_FORMS = "12/31/2024, 31/12/2024, 12/31'24 or 2024-12-31"


class QifParser:
    """Quicken Interchange Format (.qif)."""

    name = "qif"

    def sniff(self, head: bytes, filename: str) -> float:
        """Sure when a QIF header line opens the file (after comments); the .qif suffix is a hint only."""
        if head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
            text = head.decode("utf-16", "replace")
        else:
            text = head.removeprefix(codecs.BOM_UTF8).decode("latin-1")
        is_qif_name = filename.lower().endswith(".qif")
        for line in text.splitlines()[:200]:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            lowered = line.lower()
            if lowered.startswith(("!type:", "!account", "!option:", "!clear:")):
                return 0.95
            if line[0] == "D" and _DATE.fullmatch(line[1:]):
                # A headerless list of records: plausible QIF, surer with the name.
                return 0.6 if is_qif_name else 0.3
            break
        return 0.15 if is_qif_name else 0.0

    def parse(self, data: bytes, filename: str, options: ParseOptions = ParseOptions()) -> list[Statement]:
        text = _decode(data, filename)
        return _QifReader(text, filename).read(options.date_order)


def _decode(data: bytes, filename: str) -> str:
    if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise InputError("the file starts as UTF-16 but is not; save it again as UTF-8",
                             file=filename) from None
    else:
        data = data.removeprefix(codecs.BOM_UTF8)
        if b"\x00" in data.rstrip(b"\x00\x1a"):
            raise InputError("this is a binary file, not a QIF statement", file=filename)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            try:
                text = data.decode("cp1252")
            except UnicodeDecodeError as exc:
                line = data.count(b"\n", 0, exc.start) + 1
                raise InputError("the file is neither UTF-8 nor Windows-1252 text; export it again or "
                                 "save it as UTF-8", file=filename, line=line) from None
    # Old DOS exports end with Ctrl-Z; some tools pad with NULs.
    text = text.rstrip("\x1a\x00")
    if not text.strip():
        raise InputError("the file is empty; download the statement again", file=filename)
    # A stray control character in a memo is tolerated; many of them mean the bytes are not text.
    sample = text[:8192]
    if len(_BINARY_CONTROL.findall(sample)) * 100 > len(sample):
        raise InputError("this is a binary file, not a QIF statement", file=filename)
    return text


def _split_lines(text: str) -> list[str]:
    # Not str.splitlines(): it also breaks on form feeds and Unicode separators, and line
    # numbers must match what an editor shows. Lone CRs are old Mac line ends.
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.split("\n")


def parse_amount(text: str, filename: str | None = None, line: int | None = None,
                 field: str = "amount") -> Decimal:
    """A QIF money value as a Decimal: `-1,234.56`, `(42.17)`, `1.234,56`, `12,5`, `100.00-`.

    Raises InputError naming the file and line when the text is not a number.
    """
    raw = text
    text = text.strip()
    if _PLAIN_AMOUNT.fullmatch(text):
        return Decimal(text)
    negative = False
    text = text.translate(_AMOUNT_NOISE)
    if text.startswith("(") and text.endswith(")"):
        negative, text = True, text[1:-1]
    if text.endswith("-"):
        negative, text = not negative, text[:-1]
    if text[:1] in ("-", "+"):
        negative, text = (not negative) if text[0] == "-" else negative, text[1:]
    comma, dot = text.rfind(","), text.rfind(".")
    if comma > dot >= 0:  # 1.234,56: the comma is the decimal point, dots group thousands
        text = text[:comma].replace(".", ",") + "." + text[comma + 1:]
    elif comma >= 0 > dot and text.count(",") == 1 and len(text) - comma - 1 in (1, 2):
        text = text[:comma] + "." + text[comma + 1:]  # 12,5 or 42,17; 1,000 stays thousands
    elif dot >= 0 > comma and text.count(".") > 1:
        text = text.replace(".", ",")  # 1.234.567
    if not _GROUPED_AMOUNT.fullmatch(text):
        raise InputError(f"cannot read the {field} {raw.strip()!r}; write it as a number like -1234.56",
                         file=filename, line=line)
    value = Decimal(text.replace(",", ""))
    return -value if negative and value else value


class _QifReader:
    """One pass over the lines collecting raw records, then dates settled for the whole file."""

    def __init__(self, text: str, filename: str):
        self.filename = filename
        self.lines = _split_lines(text)
        self.statements: dict[tuple, Statement] = {}
        self.raw_rows: dict[tuple, list[tuple]] = {}
        self.date_lines: dict[str, int] = {}  # each distinct date text → the first line it is on
        self.account_name: str | None = None
        self.account_type: str | None = None
        self.account_types: dict[str, str] = {}

    def read(self, date_order: str | None) -> list[Statement]:
        lines = self.lines
        filename = self.filename
        mode = TRANSACTIONS
        header_seen = False
        rows: list | None = None  # the current section's raw rows; made on first use when headerless
        section_type: str | None = None
        fields: list[int] = []
        for index, line in enumerate(lines):
            if not line:
                continue
            code = line[0]
            if code <= " ":
                line = line.strip()
                if not line:
                    continue
                lines[index] = line
                code = line[0]
            if code == "^":
                if fields:
                    rows = self._finish_record(mode, rows, fields)
                    fields = []
            elif code == "!":
                if fields:  # a record its exporter did not close with ^
                    self._finish_record(mode, rows, fields)
                    fields = []
                mode, section_type = self._header(line, index + 1)
                header_seen = True
                rows = self._rows_for(section_type) if mode in (TRANSACTIONS, INVESTMENTS) else None
            elif code == "#":
                continue
            elif mode != SKIP:
                if not header_seen and code not in BANK_FIELD_CODES:
                    raise InputError("this is not a QIF file: it should start with a line like "
                                     "'!Type:Bank'", file=filename, line=index + 1)
                fields.append(index)
        if fields:
            self._finish_record(mode, rows, fields)
        dates = _settle_dates(self.date_lines, filename, date_order)
        statements = []
        for key, statement in self.statements.items():
            statement.transactions = [
                Transaction(dates[day], amount, payee, payee, memo, None, cheque, None, None, filename,
                            line, kind, splits)
                for day, amount, payee, memo, cheque, line, kind, splits in self.raw_rows[key]]
            statements.append(statement)
        return statements

    def _finish_record(self, mode: int, rows: list | None, fields: list[int]) -> list | None:
        """File one ^-terminated record; returns the section's rows (made here for a headerless file)."""
        if mode == TRANSACTIONS:
            if rows is None:
                rows = self._rows_for(None)
            rows.append(self._bank_record(fields))
        elif mode == INVESTMENTS:
            rows.append(self._investment_record(fields))
        elif mode == ACCOUNTS:
            self._account_block(fields)
        return rows

    def _header(self, line: str, number: int) -> tuple[int, str | None]:
        lowered = line.strip().lower()
        if lowered.startswith("!type:"):
            name = " ".join(lowered[6:].split())
            if name in TRANSACTION_SECTIONS:
                return (INVESTMENTS if name == "invst" else TRANSACTIONS), TRANSACTION_SECTIONS[name]
            if name in LIST_SECTIONS:
                return SKIP, None
            raise InputError(f"unknown QIF section {line.strip()!r}; psimport reads Bank, Cash, CCard, "
                             "Oth A, Oth L and Invst sections", file=self.filename, line=number)
        if lowered == "!account":
            return ACCOUNTS, None
        if lowered.startswith(("!option:", "!clear:")):
            # Flags such as AutoSwitch: they change how Quicken lists accounts, not what a
            # record means, and the !Account blocks that follow them are read all the same.
            return SKIP, None
        raise InputError(f"unknown QIF header {line.strip()!r}; expected !Type:, !Account, !Option: "
                         "or !Clear:", file=self.filename, line=number)

    def _rows_for(self, section_type: str | None) -> list[tuple]:
        name = self.account_name
        key = (name,) if name is not None else (None, section_type)
        if key not in self.statements:
            account_type = (self.account_type or self.account_types.get(name)) if name else None
            self.statements[key] = Statement(
                file=self.filename, format="qif",
                account=Account(id=name, type=account_type or section_type))
            self.raw_rows[key] = []
        return self.raw_rows[key]

    def _account_block(self, fields: list[int]) -> None:
        name = kind = None
        for index in fields:
            line = self.lines[index]
            if line[0] == "N":
                name = line[1:].strip() or None
            elif line[0] == "T":
                kind = line[1:].strip() or None
        if name is None:
            return
        self.account_name = name
        self.account_type = kind
        if kind:
            self.account_types[name] = kind

    def _bank_record(self, fields: list[int]) -> tuple:
        """One bank record's raw row: date text, amount, payee, memo, cheque number, line, type, splits."""
        lines = self.lines
        first = fields[0] + 1
        at: dict[str, int] = {}  # each code's line: the last one, but the first D and the first U
        for index in fields:
            code = lines[index][0]
            if code not in at or code not in "DU":  # a later D or U does not replace the first
                at[code] = index
        day = self._record_date(at.get("D"), first)
        splits = tuple(self._split(part) for part in _split_parts(lines, fields)) \
            if "S" in at or "E" in at or "$" in at else ()
        amount = self._bank_amount(at.get("T"), at.get("U"), splits, first)
        payee = lines[at["P"]][1:].strip() if "P" in at else ""
        memo = (lines[at["M"]][1:].strip() or None) if "M" in at else None
        cheque, kind = _cheque_or_type(lines[at["N"]][1:].strip()) if "N" in at else (None, None)
        return (day, amount, payee, memo, cheque, first, kind, splits)

    def _record_date(self, index: int | None, first: int) -> str:
        """The text of the record's date line (at `index`), noted with the first line it is on for settling dates."""
        day = self.lines[index][1:].strip() if index is not None else ""
        if index is None or not day:
            raise InputError("the transaction has no date (a 'D' line); add one or remove the record",
                             file=self.filename, line=first)
        self.date_lines.setdefault(day, index + 1)
        return day

    def _bank_amount(self, amount_at: int | None, fallback_at: int | None, splits: tuple[Split, ...],
                     first: int) -> Decimal:
        """The `T` amount, else the `U` one, else the splits' sum; with none of them, an error."""
        for index in (amount_at, fallback_at):
            if index is not None:
                text = self.lines[index][1:]
                if _PLAIN_AMOUNT.fullmatch(text):
                    return Decimal(text)
                if text.strip():
                    return parse_amount(text, self.filename, index + 1)
        if splits:
            return sum((s.amount for s in splits), Decimal(0))
        raise InputError("the transaction has no amount (a 'T' line); add one or remove the record",
                         file=self.filename, line=first)

    def _split(self, part: list) -> Split:
        category, memo, amount_text, line = part
        if amount_text is None or not amount_text.strip():
            raise InputError("a split line has no amount (a '$' line after its 'S'); add one",
                             file=self.filename, line=line)
        return Split(category, memo, parse_amount(amount_text, self.filename, line, "split amount"))

    def _investment_record(self, fields: list[int]) -> tuple:
        lines = self.lines
        filename = self.filename
        first = fields[0] + 1
        values: dict[str, tuple[str, int]] = {}
        date_at = None
        for index in fields:
            line = lines[index]
            code = line[0]
            if code == "D":
                if date_at is None:
                    date_at = index
            elif code not in values:
                values[code] = (line[1:].strip(), index + 1)
        day = self._record_date(date_at, first)

        def number(code: str, what: str) -> Decimal | None:
            text, line = values.get(code, ("", first))
            return parse_amount(text, filename, line, what) if text else None

        action = values.get("N", ("", 0))[0] or None
        amount = number("T", "amount")
        if amount is None:
            amount = number("U", "amount")
        if amount is None:
            amount = number("$", "transfer amount")
        if amount is None:
            quantity, price = number("Q", "quantity"), number("I", "price")
            if quantity is not None and price is not None:
                commission = number("O", "commission") or Decimal(0)
                sells = action is not None and action.lower() in CASH_IN_ACTIONS
                amount = quantity * price - commission if sells else quantity * price + commission
            else:
                amount = Decimal(0)
        lowered = (action or "").lower()
        if lowered in CASH_OUT_ACTIONS:
            amount = -abs(amount)
        elif lowered in CASH_IN_ACTIONS:
            amount = abs(amount)
        payee = values.get("P", ("", 0))[0] or values.get("Y", ("", 0))[0]
        memo = values.get("M", ("", 0))[0] or None
        return (day, amount, payee, memo, None, first, action, ())


def _split_parts(lines: list[str], fields: list[int]) -> list[list]:
    """A record's `S`, `E` and `$` lines as [category, memo, amount text, line] each; an E or $ with no open
    split to fill starts one without a category."""
    splits: list[list] = []
    for index in fields:
        code, value = lines[index][0], lines[index][1:]
        if code not in _SPLIT_CODES:
            continue
        if code == "S":
            splits.append([value.strip() or None, None, None, index + 1])
        elif code == "E":
            if splits and splits[-1][1] is None and splits[-1][2] is None:
                splits[-1][1] = value.strip() or None
            else:
                splits.append([None, value.strip() or None, None, index + 1])
        elif splits and splits[-1][2] is None:
            splits[-1][2], splits[-1][3] = value, index + 1
        else:
            splits.append([None, None, value, index + 1])
    return splits


def _cheque_or_type(number: str) -> tuple[str | None, str | None]:
    """An `N` field: a cheque number when it is digits, else the record's type (`DEP`, `TXFR`, `ATM`...)."""
    if not number:
        return None, None
    if number.isascii() and number.isdigit():
        return number, None
    return None, number


def _settle_dates(date_lines: dict[str, int], filename: str, date_order: str | None) -> dict[str, date]:
    """Every distinct date text → its date, reading day/month order from the whole file."""
    parts: dict[str, tuple[bool, int, int, int, int]] = {}
    day_first_line = month_first_line = ambiguous_line = None
    for text, line in date_lines.items():
        match = _DATE.fullmatch(text)
        if match is None:
            raise InputError(f"cannot read the date {text!r}; QIF dates look like {_DATE_FORMS}",
                             file=filename, line=line)
        first, second, year_mark, third = match.groups()
        if len(first) == 4:
            if year_mark == "'" or len(third) > 2:
                raise InputError(f"cannot read the date {text!r}; QIF dates look like {_DATE_FORMS}",
                                 file=filename, line=line)
            parts[text] = (True, int(second), int(third), int(first), line)
            continue
        if len(first) == 3 or len(third) == 3:
            raise InputError(f"cannot read the date {text!r}; QIF dates look like {_DATE_FORMS}",
                             file=filename, line=line)
        year = int(third)
        if len(third) <= 2:
            year += 2000 if year_mark == "'" or year < TWO_DIGIT_YEAR_PIVOT else 1900
        a, b = int(first), int(second)
        parts[text] = (False, a, b, year, line)
        if a > 12 and b > 12:
            raise InputError(f"impossible date {text!r}: neither {a} nor {b} can be a month; correct it "
                             "in the file", file=filename, line=line)
        if a > 12:
            day_first_line = day_first_line or (line, text)
        elif b > 12:
            month_first_line = month_first_line or (line, text)
        elif a != b:
            ambiguous_line = ambiguous_line or (line, text)

    if day_first_line and month_first_line:
        raise InputError(f"dates disagree on day/month order: line {day_first_line[0]} "
                         f"({day_first_line[1]!r}) is day first but line {month_first_line[0]} "
                         f"({month_first_line[1]!r}) is month first; correct the file",
                         file=filename, line=max(day_first_line[0], month_first_line[0]))
    from_file = True
    if day_first_line:
        order = "dmy"
    elif month_first_line or not ambiguous_line:
        order = "mdy"
    elif date_order in ("dmy", "mdy"):
        order, from_file = date_order, False
    else:
        line, text = ambiguous_line
        raise InputError(f"cannot tell whether dates are day/month or month/day (e.g. {text!r}) and no "
                         "date in the file has a day above 12; pass --date-order dmy or --date-order mdy "
                         "(or set date_order in the config)", file=filename, line=line)

    settled: dict[str, date] = {}
    for text, (is_ymd, p, q, year, line) in parts.items():
        if is_ymd:
            month, day = p, q
        elif order == "dmy":
            day, month = p, q
        else:
            month, day = p, q
        try:
            settled[text] = date(year, month, day)
        except ValueError:
            hint = "correct it in the file" if from_file or is_ymd else \
                f"correct it in the file, or check --date-order (read as {order})"
            raise InputError(f"impossible date {text!r} (day {day}, month {month}, year {year}); {hint}",
                             file=filename, line=line) from None
    return settled
