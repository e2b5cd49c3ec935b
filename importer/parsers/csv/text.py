"""CSV text: bytes decoded to text, text split into records, the delimiter sniffed, and the file's head cached."""

from __future__ import annotations

import codecs
import csv
import io
from collections import Counter
from dataclasses import dataclass

from importer.errors import InputError

__all__ = ["decode_bytes", "looks_utf16le", "normalise_newlines", "Records", "read_records", "sniff_delimiter",
           "Head", "Source", "HEAD_CHARS", "HEAD_RECORDS", "UNICODE_ENCODINGS"]

DELIMITERS = (",", ";", "\t", "|")
HEAD_CHARS = 64 * 1024
HEAD_RECORDS = 200
MAX_RECORD_LINES = 20          # a quoted field running longer than this has lost its closing quote
FALLBACK_ENCODINGS = ("cp1252", "latin-1")
UNICODE_ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "utf-16-le")


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
    elif looks_utf16le(data):
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


def looks_utf16le(data: bytes) -> bool:
    # UTF-16 without a BOM: text where every second byte is zero.
    sample = data[:2048]
    return len(sample) >= 8 and sample[1::2].count(0) > 0.9 * (len(sample) // 2) and sample[0::2].count(0) == 0


def normalise_newlines(text: str) -> str:
    # Excel on a Mac writes CR alone; some exports write CR CR LF. Each becomes one line break,
    # so line numbers match what an editor shows. In a file whose lines end in LF, a CR alone is
    # text inside a cell (it becomes a space), not a line: counting it would shift every line after it.
    if "\r" in text:
        text = text.replace("\r\r\n", "\n").replace("\r\n", "\n")
        if "\n" not in text:
            text = text.replace("\r", "\n")
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
            if last > start:
                row = _one_line_cells(row)
            rows.append(row)
            starts.append(start)
            if limit and len(rows) >= limit:
                break
    except csv.Error as exc:
        if not lenient:
            raise InputError(f"cannot read this line as CSV ({exc})", file=filename, line=last + 1) from None
    return Records(rows, starts)


def _one_line_cells(row: list[str]) -> list[str]:
    """A record that spans lines, its quoted line breaks as spaces: a cell is one line of text, and the
    columns are joined with newlines to be scanned (where a newline inside a cell would miscount rows)."""
    return [cell.replace("\n", " ") if "\n" in cell else cell for cell in row]


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



# ─── a file's text, decoded once per encoding ────────────────────────────────────────────────────

class Head:
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


class Source:
    """A file's bytes, decoded (once per encoding) as the mappings ask: a mapping's `encoding`
    applies only when the bytes are not UTF-8."""

    def __init__(self, data: bytes, filename: str):
        self.data = data
        self.filename = filename
        self._texts: dict[str, str] = {}
        self._chosen: dict[str | None, str] = {}
        self._heads: dict[str, Head] = {}

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
            self._texts[encoding] = normalise_newlines(text)
        return self._texts[encoding], encoding

    def text(self, preferred: str | None = None) -> str:
        return self._decode(preferred)[0]

    def head(self, preferred: str | None = None) -> Head:
        text, encoding = self._decode(preferred)
        if encoding not in self._heads:
            self._heads[encoding] = Head(text, self.filename)
        return self._heads[encoding]
