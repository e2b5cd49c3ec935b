"""Spreadsheet statements (XLSX, XLS, ODS): one sheet's cells, as they hold them, read through the CSV mappings.

Many banks offer only a spreadsheet. Its first sheet (or `--sheet NAME`) is read with pandas'
`read_excel` on the python-calamine engine (fast, and it reads all three formats), every cell
as the value it holds: a date cell is a date, a number cell a number, text is text. The rows
then take the CSV path unchanged (`CsvParser.read_source`): the same mappings, header
signatures and shapes detect the layout, and the same reader reads it, row N of the sheet
being line N. Only the cells holding text are read as text (with the mapping's date format
and decimal mark); date and number cells are taken as they are, never printed and re-read.

A number cell is a binary float in the file. It becomes a Decimal through its shortest
round-trip text (`repr`), rounded to the 15 significant digits a spreadsheet shows (so a
computed 0.30000000000000004 is 0.3), and the reader gives a column's number cells the most
decimal places any of them has (12.5 beside 23.45 is 12.50). No arithmetic is done in float.
"""

from __future__ import annotations

import csv
import io
import math
import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from importer.errors import ConfigError, InputError
from importer.parsers.base import ParseOptions
from importer.parsers.csv.text import HEAD_RECORDS, Head, Records, Source
from importer.record import Statement

__all__ = ["SpreadsheetParser", "Sheet", "read_sheet", "sheet_kind", "SHEET_SUFFIXES"]

SHEET_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"      # the container of an Excel 97-2003 .xls
_ODS_MIMETYPE = b"mimetypeapplication/vnd.oasis.opendocument.spreadsheet"
_LINE = re.compile(r"\bline (\d+)")                  # in a sheet, line N is row N
SIGNIFICANT_DIGITS = 15                               # what a spreadsheet keeps and shows of a number

Cell = str | date | Decimal


def sheet_kind(head: bytes, filename: str) -> str | None:
    """"xlsx", "xls" or "ods" when the bytes are that kind of spreadsheet; None otherwise."""
    if head.startswith(b"PK\x03\x04"):
        if _ODS_MIMETYPE in head[:200]:
            return "ods"
        # An Office Open XML package: a workbook's parts live under xl/ (a document's under word/).
        if b"xl/" in head or (b"[Content_Types].xml" in head and b"word/" not in head and b"ppt/" not in head):
            return "xlsx"
        return None
    if head.startswith(_OLE_MAGIC) and (b"W\x00o\x00r\x00k\x00b\x00o\x00o\x00k" in head
                                        or b"B\x00o\x00o\x00k" in head
                                        or filename.lower().endswith(".xls")):
        return "xls"
    return None


class Sheet:
    """One sheet's cells: `rows` as text (what header signatures and shapes see) and `cells`, the
    date and number cells as the values they hold, by (row number, column index)."""

    def __init__(self, name: str, rows: list[list[str]], cells: dict[tuple[int, int], date | Decimal],
                 others: tuple[str, ...] = ()):
        self.name = name
        self.rows = rows
        self.cells = cells
        self.others = others        # the workbook's other sheets, for messages

    def csv_text(self) -> str:
        """The rows as CSV text, row N on line N: for anything that reads a file's text."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerows(self.rows)
        return out.getvalue()


def read_sheet(data: bytes, filename: str, sheet: str | None = None) -> Sheet:
    """The cells of the first sheet, or of the sheet named `sheet` (case does not matter)."""
    try:
        import pandas as pd  # type: ignore[import-untyped]
        import python_calamine  # noqa: F401  (pandas names it only when it is missing, less clearly)
    except ImportError as exc:
        raise ConfigError(f"reading spreadsheets needs pandas and python-calamine ({exc.name} is missing); "
                          "install them with: pip install pandas python-calamine") from None
    try:
        book = pd.ExcelFile(io.BytesIO(data), engine="calamine")
    except Exception as exc:    # the engine's own errors (a damaged zip, a password) have no common base
        raise InputError(f"cannot read this spreadsheet ({_reason(exc)}); open it in a spreadsheet program "
                         "and save it again, or export the statement as CSV", file=filename) from None
    names = list(book.sheet_names)
    if not names:
        raise InputError("the spreadsheet has no sheets", file=filename)
    if sheet is None:
        name = names[0]
    else:
        found = [n for n in names if n == sheet] or [n for n in names if n.casefold() == sheet.casefold()]
        if not found:
            raise InputError(f"no sheet named '{sheet}'; its sheets are: " + ", ".join(f"'{n}'" for n in names),
                             file=filename)
        name = found[0]
    try:
        frame = pd.read_excel(book, sheet_name=name, header=None, dtype=object, na_filter=False)
    except Exception as exc:
        raise InputError(f"cannot read sheet '{name}' ({_reason(exc)})", file=filename) from None
    rows: list[list[str]] = []
    cells: dict[tuple[int, int], date | Decimal] = {}
    for row_number, values in enumerate(frame.itertuples(index=False, name=None), start=1):
        texts = []
        for column, value in enumerate(values):
            typed = _cell_value(value)
            if isinstance(typed, str):
                texts.append(typed)
                continue
            cells[(row_number, column)] = typed
            texts.append(typed.isoformat() if isinstance(typed, date) else format(typed, "f"))
        rows.append(texts)
    while rows and not any(cell.strip() for cell in rows[-1]):
        rows.pop()
    if not rows:
        raise InputError(f"sheet '{name}' is empty" + ("; pass --sheet NAME for another of its sheets: " +
                                                       ", ".join(f"'{n}'" for n in names if n != name)
                                                       if len(names) > 1 else ""), file=filename)
    return Sheet(name, rows, cells, tuple(n for n in names if n != name))


def _reason(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__


def _cell_value(value: object) -> Cell:
    """A cell as psimport takes it: a date, a Decimal, or text (one line)."""
    if value is None:
        return ""
    if isinstance(value, bool):      # before int: a bool is an int
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):   # pandas' Timestamp too; a date-time cell's day is its date
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return ""                 # NaN: an empty or error cell
        return exact_decimal(value)
    if isinstance(value, (time, timedelta)):
        return str(value)
    text = str(value)
    return " ".join(text.splitlines()) if "\n" in text or "\r" in text else text


def exact_decimal(value: float) -> Decimal:
    """A number cell's value as the spreadsheet shows it: the float's shortest round-trip text, to 15
    significant digits, without trailing zeros (0.1 + 0.2 is 0.3, 1234.5 is 1234.5)."""
    number = Decimal(repr(value))
    if number.is_zero():
        return Decimal(0)
    digits = len(number.as_tuple().digits)
    if digits > SIGNIFICANT_DIGITS:
        number = number.quantize(Decimal(1).scaleb(number.adjusted() - SIGNIFICANT_DIGITS + 1))
    number = number.normalize()
    return number.quantize(Decimal(1)) if int(number.as_tuple().exponent) > 0 else number


class _SheetHead(Head):
    """A sheet's first rows as layout detection reads a file's head: already split, whatever delimiter
    or quote a mapping names."""

    def __init__(self, text: str, rows: list[list[str]], filename: str):
        super().__init__(text, filename)
        self.head_records = Records(rows[:HEAD_RECORDS], None)     # row i is on line i + 1: its row number

    def delimiter(self, quote: str) -> str:
        return ","

    def records(self, delimiter: str, quote: str) -> Records:
        return self.head_records


class SheetSource(Source):
    """A sheet as the CSV path's Source: its text is the rows as CSV (UTF-8), its head the first rows
    themselves, and `records` every row, for the reader."""

    def __init__(self, sheet: Sheet, filename: str):
        self.sheet = sheet
        self.csv_text = sheet.csv_text()
        self.records = Records(sheet.rows, None)
        self._sheet_head = _SheetHead(self.csv_text, sheet.rows, filename)
        super().__init__(self.csv_text.encode("utf-8"), filename)

    def text(self, preferred: str | None = None) -> str:
        return self.csv_text

    def head(self, preferred: str | None = None) -> Head:
        return self._sheet_head


class SpreadsheetParser:
    """XLSX, XLS and ODS statements, read through the CSV mappings (see the module docstring)."""

    name = "spreadsheet"

    def sniff(self, head: bytes, filename: str) -> float:
        return 0.95 if sheet_kind(head, filename) else 0.0

    def parse(self, data: bytes, filename: str, options: ParseOptions = ParseOptions()) -> list[Statement]:
        from importer.parsers.csv import CsvParser
        kind = sheet_kind(data[:4096], filename) or "xlsx"
        explicit = CsvParser.explicit_mapping(options)
        sheet = read_sheet(data, filename, options.sheet)
        source = SheetSource(sheet, filename)
        try:
            statements = CsvParser().read_source(source, filename, options, explicit, records=source.records,
                                                 cells=sheet.cells)
        except InputError as exc:
            # "statement.xlsx, sheet 'Transactions', row 7: ...": where a person looks in a spreadsheet.
            where = f"{filename}, sheet '{sheet.name}'" + (f", row {exc.line}" if exc.line else "")
            message = _LINE.sub(r"row \1", exc.message)
            if options.sheet is None and sheet.others:
                message += ("; that is the first sheet: pass --sheet NAME to read another ("
                            + ", ".join(f"'{n}'" for n in sheet.others) + ")")
            raise InputError(message, file=where) from None
        for statement in statements:
            kind_name = statement.format.partition(":")[2]
            statement.format = f"{kind}:{kind_name}"
        return statements
