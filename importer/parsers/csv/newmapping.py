"""`psimport mappings new`: an inferred layout written as a commented mapping file, checked by reading the file through it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from importer.parsers.csv.infer import Inferred, LayoutQuestion, infer_layout
from importer.parsers.csv.layout import Layout, claims_by_header
from importer.parsers.csv.mapping import mapping_from_dict
from importer.parsers.csv.text import Records, Source

if TYPE_CHECKING:
    from importer.record import Statement

__all__ = ["NewMapping", "new_mapping", "mapping_text"]

_WHY = {"date": "the date of each row", "amount": "the signed amount (negative is money out)",
        "debit": "money out", "credit": "money in", "flag": "which way the amount goes",
        "fee": "a fee taken from the amount", "balance": "the running balance", "payee": "the payee",
        "memo": "more text about the row", "type": "the bank's kind of transaction", "currency": "the currency"}
_MONEY_ROLES = ("amount", "debit", "credit", "fee", "balance")


@dataclass
class NewMapping:
    """A mapping written from an inference: its YAML text, and the file's statements read through it."""

    name: str
    text: str
    statements: list["Statement"]
    summary: str
    claims: bool = True   # whether it claims files by their header (not when the header is any bank's)


def new_mapping(data: bytes, filename: str, name: str, date_order: str | None = None,
                sign: str | None = None, date_column: str | None = None,
                debit_column: str | None = None, encoding: str | None = None) -> NewMapping:
    """Infer a file's layout and write it as a commented mapping named `name`, checked by reading the
    file through it. What it cannot settle is a LayoutQuestion (`date_order`, `sign`, `columns.date`,
    `columns.debit`, `encoding`): ask it, and call again with the answer."""
    from importer.parsers.base import ParseOptions
    from importer.parsers.csv.reader import Reader
    from importer.parsers.csv.values import AmbiguousDates
    from importer.yamlfile import read_yaml
    from importer.parsers.spreadsheet import SheetSource, read_sheet, sheet_kind
    source = Source(data, filename)
    sheet = None
    if sheet_kind(data[:4096], filename):
        # A spreadsheet's first sheet, its cells as they hold them: inferred and read as `parse` reads it.
        sheet = read_sheet(data, filename)
        source = SheetSource(sheet, filename)
    inferred = infer_layout(source, date_order, sign, date_column, debit_column, encoding)
    if inferred.refusal is not None:
        raise inferred.refusal
    if date_order:
        inferred.data.setdefault("date_order", date_order)
    if sign == "normal" and "sign" not in inferred.data:
        inferred.data["sign"] = "normal"
    text = mapping_text(inferred, name, filename)
    # Read back through the one loader and its schema, so what is written is what psimport will read.
    mapping = mapping_from_dict(read_yaml(text, f"{name}.yaml"), name=name)
    layout = Layout(mapping, inferred.layout.delimiter, inferred.layout.header_index, inferred.layout.head, 1.0)
    try:
        statements = Reader(source.text(mapping.encoding), filename, layout, ParseOptions(date_order=date_order),
                            records=None if sheet is None else Records(sheet.rows, None),
                            cells=None if sheet is None else sheet.cells).statements()
    except AmbiguousDates as exc:
        meaning = {"dmy": "day first", "mdy": "month first", "ymd": "year first"}
        raise LayoutQuestion(str(exc.message), file=filename, line=exc.line, key="date_order",
                             answers={order: f"{exc.example} is {meaning[order]}" for order in exc.orders}) from None
    summary = inferred.summary if sheet is None else inferred.sheet_summary
    return NewMapping(name, text, [s.finish() for s in statements], summary, claims_by_header(mapping))


def mapping_text(inferred: Inferred, name: str, filename: str) -> str:
    """The inferred layout as a mapping YAML, a comment on each key (YAML written by the serializer)."""
    import yaml

    def dump(pair: dict[str, Any]) -> str:
        # One key a line, its value in flow style (`flag: {column: D/K, debit: [d], credit: [k]}`), so each
        # line can carry its comment; the serializer quotes whatever needs quoting.
        ((key, value),) = pair.items()
        text = yaml.safe_dump(value, allow_unicode=True, default_flow_style=True, sort_keys=False, width=1000)
        return f"{key}: " + text.removesuffix("\n...\n").strip()

    data = inferred.data
    lines = [f"# psimport mapping for files like {PurePath(filename).name}, inferred by `psimport mappings new`.",
             "# Check each column against your file; docs/mappings.md explains every key.",
             "# What psimport inferred:"]
    lines += [f"#   {note}" for note in [*inferred.notes, *inferred.warnings]]
    lines.append(dump({"name": name}))
    lines.append(dump({"bank": name}) + "   # the bank's name, for you")
    if "signature" in data:
        lines.append(dump({"signature": data["signature"]}) + "   # the header that identifies this layout")
    else:
        lines.append(dump({"header": False}) + "   # no header row: the file is recognised by its shape")
        lines.append(dump({"shape": _shape(inferred)}))
        if data.get("skip_lines"):
            lines.append(dump({"skip_lines": data["skip_lines"]}) + "   # lines above the first row of data")
    for key, why in (("encoding", "not Unicode: the bytes are read in this code page"),
                     ("delimiter", "what separates the columns")):
        if key in data:
            lines.append(dump({key: data[key]}) + f"   # {why}")
    lines.append("columns:")
    for role, value in data["columns"].items():
        why = _WHY.get(role, role)
        if role == "amount" and data.get("sign") == "charges_positive":
            why = "the amount (positive is a charge, money out: see sign below)"
        lines.append("  " + dump({role: value}) + f"   # {why}")
    for key, why in (("sign", "money out is positive in this file"),
                     ("drop", "rows left out"), ("pending", "rows not booked yet"),
                     ("continuation", "rows with no date or amount continue the row above"),
                     ("blank_amount", "a row without an amount reads as 0 (this file's were notes, with no "
                                      "other number on the row; leave this out if another file's may not be)"),
                     ("date_format", "how dates are written (auto: worked out from every row)"),
                     ("date_order", "day/month order the rows showed")):
        if key in data:
            lines.append(dump({key: data[key]}) + f"   # {why}")
    return "\n".join(lines) + "\n"


def _shape(inferred: Inferred) -> list[str]:
    columns = inferred.data["columns"]
    width = inferred.width
    kinds = ["any"] * width
    for role, value in columns.items():
        index = value["column"] if isinstance(value, dict) else value
        if isinstance(index, int) and index < width:
            kinds[index] = "date" if role == "date" else "amount_or_blank" if role in _MONEY_ROLES else kinds[index]
    return kinds
