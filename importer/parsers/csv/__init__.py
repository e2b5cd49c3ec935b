"""The CSV parser: sniff the text, pick the bank's layout, and read every row into Transactions.

Detection, in order: the header signature of a known mapping (user mappings first, then the
shipped ones), the shape of a headerless file whose values agree with the mapping, then the layout
inferred from the file itself (`infer`). Decimal mark and day/month order, where a mapping leaves them open,
are inferred from every row of the file, never from the first one alone.

The package, stage by stage: `text` (bytes to records), `mapping` (the mapping YAML model, its
loader, and where mappings are found), `layout` (which mapping fits a file), `infer` and `headers`
(a layout no mapping knows, from the rows and the header names), `values` (dates and amounts, and
their inference), `reader` (one file through one layout into Transactions).
"""

from __future__ import annotations

import codecs
import gc
import re
from collections import Counter
from datetime import date
from decimal import Decimal

from importer.errors import ImporterError, InputError
from importer.parsers.base import ParseOptions
from importer.parsers.csv.infer import infer_layout
from importer.parsers.csv.layout import GENERIC_NAMES, Layout, detect_layout, explicit_layout
from importer.parsers.csv.mapping import Mapping, find_mapping, normalise_cell
from importer.parsers.csv.reader import Reader
from importer.parsers.csv.text import HEAD_CHARS, Records, Source, looks_utf16le
from importer.record import Statement

__all__ = ["CsvParser", "CSV_SUFFIXES", "INFER"]

INFER = "infer"   # `--mapping infer`: every mapping ignored, the layout inferred from the file itself

CSV_SUFFIXES = (".csv", ".tsv", ".txt", ".dat", ".xls")

_NOT_CSV = re.compile(r"\s*(?:<|OFXHEADER|!Type:|!Account|!Option|:20:|\{)", re.I)
_OTHER_FORMAT_LINE = re.compile(r"^(?:!Type:|!Account|!Option|:\d{2}[A-Z]?:|<OFX>|<\?xml)", re.I | re.M)


class CsvParser:
    """Bank CSV exports, read through a mapping (shipped, the user's, or named with --mapping)."""

    name = "csv"

    def sniff(self, head: bytes, filename: str) -> float:
        """How sure this is a CSV statement: a known header 0.9, a known headerless shape 0.75, a layout
        inference can read 0.6, any consistent table 0.4; OFX, QIF, XML and binary data 0."""
        try:
            return self._sniff(head, filename)
        except ImporterError:
            return 0.1 if filename.lower().endswith(CSV_SUFFIXES) else 0.0

    def _sniff(self, head: bytes, filename: str) -> float:
        utf16 = looks_utf16le(head) or head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
        if not utf16:
            head = head.rstrip(b"\x00")
            if b"\x00" in head:
                return 0.0
        if not head.strip():
            return 0.0
        if utf16 and len(head) % 2:
            head = head[:-1]  # the sniffing window may cut a UTF-16 character in half
        source = Source(head, filename)
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
        try:
            infer_layout(source)
            return 0.6 + suffix_bonus     # its rows say what each column is: read by inference
        except ImporterError:
            pass
        head_records = source.head()
        records = head_records.records(head_records.delimiter('"'), '"')
        widths = Counter(len(r) for r in records.rows if len(r) > 1)
        if widths and widths.most_common(1)[0][1] >= 2:
            return 0.4 + suffix_bonus
        return 0.1 if suffix_bonus else 0.0

    @staticmethod
    def explicit_mapping(options: ParseOptions) -> Mapping | None:
        """The mapping `options` name (`--mapping`), or None when the layout is to be detected."""
        if not options.mapping or options.mapping == INFER:
            return None
        return find_mapping(options.mapping, options.mapping_dirs)

    def parse(self, data: bytes, filename: str, options: ParseOptions = ParseOptions()) -> list[Statement]:
        """Every row of the file, through the mapping named in `options` or the one detected."""
        explicit = self.explicit_mapping(options)
        source = Source(data, filename)
        if not source.text(explicit.encoding if explicit else None).strip():
            raise InputError("the file is empty; download the statement again", file=filename)
        return self.read_source(source, filename, options, explicit)

    def read_source(self, source: Source, filename: str, options: ParseOptions, explicit: Mapping | None = None,
                    *, records: Records | None = None,
                    cells: dict[tuple[int, int], date | Decimal] | None = None) -> list[Statement]:
        """A file's text (or a spreadsheet's rows: `records` and their typed `cells`) through the mapping
        named, else the one detected, else the one inferred: the one path every tabular statement takes."""
        infer = options.mapping == INFER
        notes: list[str] = []
        inferred = None
        chosen = ""     # how the mapping came to read this file, for a currency it states
        if explicit is not None:
            layout = explicit_layout(source.head(explicit.encoding), explicit)
            chosen = f"named by --mapping {explicit.name}"
        else:
            passed: list[str] = []
            layout = None if infer else detect_layout(source, options.mapping_dirs, passed)
            if layout is not None:
                chosen, guessed = _how_detected(layout)
                if guessed:
                    notes.append(f"read with the shipped mapping '{layout.mapping.name}' ("
                                 + ", ".join(x for x in (layout.mapping.bank, layout.mapping.currency) if x)
                                 + f"), {chosen}: if this is not that bank's file, pass --mapping infer to read "
                                   "its layout from the file itself, or --mapping NAME")
            else:
                inferred = infer_layout(source, options.date_order)
                if inferred.refusal is not None:
                    raise inferred.refusal
                layout = inferred.layout
                notes = [inferred.summary if records is None else inferred.sheet_summary, *inferred.warnings]
                notes += [f"your mapping '{name}' fits this header, but a header this generic (or a card's "
                          f"sign: charges_positive) is any bank's, so it reads a file only when named: "
                          f"--mapping {name}, or an accounts: entry with glob: and mapping: {name}"
                          for name in passed]
        if records is None:
            text = source.text(layout.mapping.encoding)
        else:
            # The rows are split already; the text is wanted only for the preamble above the header, where
            # a mapping's `account: pattern` looks. That pattern was written for the bank's CSV ("IBAN;(...)"),
            # so the cells are joined with the delimiter it names.
            mapping = layout.mapping
            above = records.rows[:layout.header_index if layout.header_index is not None else mapping.skip_lines]
            pattern = mapping.account_pattern.pattern if mapping.account_pattern is not None else ""
            delimiter = mapping.delimiter or next((d for d in (";", "\t", "|") if d in pattern), ",")
            text = "".join(delimiter.join(row) + "\n" for row in above)
        reader = Reader(text, filename, layout, options, records=records, cells=cells)
        del source  # the reader holds the one text it needs; the rest can go
        # Collecting a million rows trips the cyclic garbage collector over and over, for nothing:
        # rows hold only strings. Pausing it halves the time of a large file.
        collecting = gc.isenabled()
        gc.disable()
        try:
            statements = reader.statements()
        except InputError as exc:
            # A row the sample did not foresee: an amount in a money column inference left unread says why.
            late = inferred.late_money(text, filename) if inferred is not None and records is None else None
            if late is not None and (exc.line is None or late.line is None or late.line <= exc.line):
                raise late from None
            raise
        finally:
            if collecting:
                gc.enable()
        currency = layout.mapping.currency if inferred is None else None
        for statement in statements:
            statement.notes.extend(notes)
            if currency and statement.account.currency == currency:
                where = "shipped mapping" if layout.mapping.builtin else "mapping"
                statement.currency_source = f"the {where} '{layout.mapping.name}', {chosen}"
        return statements


def _how_detected(layout: Layout) -> tuple[str, bool]:
    """How detection chose this mapping, and whether that was a guess: a shipped mapping claiming a file
    by a header of names any bank writes, or a headerless file by the shape of its values, may be another
    bank's mapping (whose currency, sign and date order are then wrong for it)."""
    mapping = layout.mapping
    if layout.header_index is None:
        return "chosen by the shape of the file's values, the file having no header", mapping.builtin
    header = [c.strip() for c in layout.head.rows[layout.header_index] if c.strip()]
    if all(normalise_cell(cell) in GENERIC_NAMES for cell in header):
        return f"chosen by the file's header {', '.join(header)}, which any bank may write", mapping.builtin
    return "chosen by the file's header", False
