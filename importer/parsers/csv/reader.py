"""CSV rows to Transactions: one file through one layout, column by column, with the line of every bad value.

Speed: a file without any quote character is split with `str.split` (three times faster than
the csv module); columns are converted whole, with a C-speed fast path for plain numbers and a
cache for dates (a statement has few distinct dates). Each fast path falls back to a per-value
pass that names the file, line and value of the first bad one.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import partial
from itertools import compress, repeat
from typing import Any, Mapping, Sequence

from importer.errors import InputError
from importer.parsers.base import ParseOptions
from importer.parsers.csv.headers import currency_code, is_pending
from importer.parsers.csv.layout import Layout
from importer.parsers.csv.mapping import normalise_cell
from importer.parsers.csv.text import Records, read_records
from importer.parsers.csv.values import (
    AmbiguousDates,
    AmountReader,
    DateFormat,
    infer_date_format,
    infer_decimal_mark,
)
from importer.record import Account, Foreign, Statement, Transaction

__all__ = ["Reader"]


# A currency written in an amount cell: a three-letter code at either end, or a symbol.
_CELL_CURRENCY = re.compile(r"(?<![A-Za-z])[A-Z]{3}(?![A-Za-z])|[£€$¥₹₩₽₺₪₫฿₴₦₱円元]")
# Symbols one currency owns; `$` and `¥` are several countries', so they name none (only a mix with another).
_SYMBOL_CURRENCY = {"£": "GBP", "€": "EUR", "₹": "INR", "₩": "KRW", "₽": "RUB", "₺": "TRY", "₪": "ILS",
                    "₫": "VND", "฿": "THB", "₴": "UAH", "₦": "NGN", "₱": "PHP", "円": "JPY", "元": "CNY"}
_KNOWN_CODES = frozenset(_SYMBOL_CURRENCY.values()) | frozenset((
    "USD AUD NZD CAD CHF JPY CNY HKD SGD SEK NOK DKK PLN CZK HUF RON BGN ISK MXN BRL ZAR EUR GBP").split())

class Reader:
    """One file through one mapping: rows, then columns, then Transactions.

    A spreadsheet comes as `records` already split (its rows, each on the line of its row number)
    and `cells`, the values its cells hold as dates and Decimals by (row number, column index):
    those are taken as they are, and only cells holding text are read as text.
    """

    def __init__(self, text: str, filename: str, layout: Layout, options: ParseOptions,
                 records: Records | None = None, cells: Mapping[tuple[int, int], date | Decimal] | None = None):
        self.text = text
        self._source = text    # kept (the caller holds it anyway) to show a refused row's other cells
        self.file = filename
        self.layout = layout
        self.mapping = layout.mapping
        self.options = options
        self.records = records
        self.cells = cells or {}
        self._number_cells: dict[int, dict[int, Decimal]] = {}
        self._columns: dict[int, list[str]] = {}
        self._joined_columns: dict[int, str] = {}
        self._roles: dict[int, str] = {}      # column index -> the mapping's name for it, for messages
        self.left_out_pending = 0             # rows a drop rule left out because their status says pending

    # ── rows ──

    def statements(self) -> list[Statement]:
        mapping = self.mapping
        header_line, header = self._header()
        self.header = header
        self.header_line = header_line
        indices = self._resolve_columns(header)
        self._roles = {index: role.split(".")[0] for role, index in reversed(indices.items())}
        count = self._uniform_columns(indices) if self.records is None else None
        if count is not None:
            self.lines = range(header_line + 1, header_line + 1 + count)
            preamble = self._preamble()
            self.text = ""
            return self._convert(count, indices, set(), {}, preamble)
        if self.records is not None:
            records = self.records
        else:
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
                                 f"lacks (columns: {seen}); --mapping infer reads the file from its own "
                                 "columns (`psimport mappings new FILE` writes that reading as a mapping)",
                                 file=self.file, line=self.header_line)
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
            numbers = range(first + 1, first + 1 + len(rows)) if records.lines is None \
                else records.lines[first:first + len(rows)]
            return rows, numbers, set(), {}
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
                if rule.kind == "matches" and is_pending(row[drop_columns[n]]):
                    self.left_out_pending += 1
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

    def _typed(self, index: int, kind: type) -> dict[int, Any]:
        """The rows whose cell in this column holds a value of `kind` (a spreadsheet's date or number cell)."""
        if not self.cells:
            return {}
        cells, lines = self.cells, self.lines
        found = {}
        for position in range(len(lines)):
            value = cells.get((lines[position], index))
            if isinstance(value, kind):
                found[position] = value
        return found

    def _dates(self, index: int, pending: set[int]) -> list[date]:
        values = self._column(index)
        typed = self._typed(index, date)
        if typed and len(typed) == len(values) and not pending:
            return [typed[i] for i in range(len(values))]
        positions: Sequence[int] = range(len(values))
        usable = values
        if pending or typed:
            positions = [i for i in positions if i not in pending and i not in typed]
            usable = [values[i] for i in positions]
        lines = self.lines

        def line_of(k: int) -> int:
            return lines[positions[k]]

        mapping = self.mapping
        try:
            if typed and not usable:
                fmt = DateFormat("%Y-%m-%d")        # every date is a date cell: nothing is read as text
            elif mapping.date_format == "auto":
                fmt = infer_date_format(usable, self.options.date_order or mapping.date_order, self.file, line_of,
                                        self._column_name(index))
            else:
                fmt = DateFormat(mapping.date_format)
            parsed, bad, why = fmt.parse_all(usable)
            if bad is not None:
                raise InputError(f"{why} (column '{self._column_name(index)}')", file=self.file,
                                 line=line_of(bad))
        except AmbiguousDates:
            raise     # a question, not a bad date: `mappings new` asks it
        except InputError as exc:
            if exc.line is None or exc.line not in lines:
                raise
            raise InputError(exc.message + self._date_error_advice(index, lines.index(exc.line)),
                             file=self.file, line=exc.line) from None
        if not pending and not typed:
            return list(map(parsed.__getitem__, values))
        newest = max([*parsed.values(), *typed.values()], default=None)
        if newest is None:
            raise self._fail(0, "every row is pending, so none has a date to go by")
        return [typed[i] if i in typed else newest if i in pending else parsed[v] for i, v in enumerate(values)]

    def _date_error_advice(self, index: int, row: int) -> str:
        """What a date error adds: which mapping read the file (a user with several wants to know), and,
        when this row and every one below it hold text with no digit where the date belongs (`Closing
        balance`, `Total`), the drop rule that leaves such a footer out."""
        mapping = self.mapping
        if mapping.path is None and mapping.name == "inferred":
            return "; read with the layout inferred from the file"
        where = f"{'the shipped ' if mapping.builtin else ''}mapping '{mapping.name}'"
        if mapping.path is not None and not mapping.builtin:
            where += f" ({mapping.path})"
        advice = f"; read with {where}"
        below = [cell.strip() for cell in self._column(index)[row:]]
        if not all(cell and not any(ch.isdigit() for ch in cell) for cell in below):
            return advice
        # As a person writes the pattern: spaces unescaped, and a group only for more than one text.
        texts = list(dict.fromkeys(re.escape(cell).replace("\\ ", " ") for cell in below))
        leads = (texts[0] if len(texts) == 1 else "(" + "|".join(texts) + ")").replace("'", "''")
        lines = {1: "it", 2: "it and the line below"}.get(len(below), f"it and the {len(below) - 1} lines below")
        if index == 0:
            rule = f"{{line_matches: '^{leads}'}}"
        else:
            name = self._column_name(index).replace("'", "''")
            rule = f"{{column: '{name}', matches: '^{leads}$'}}"
        return (f"{advice}; {lines} look{'s' if len(below) == 1 else ''} like a footer (summary lines after the "
                f"last transaction): add `drop: [{rule}]` to the mapping to leave them out")

    def _amounts(self, reader: AmountReader, index: int) -> list[Decimal | None]:
        values = self._column(index)
        typed = self._number_cells.get(index)
        result, bad, why = reader.parse_column(values, self._joined(index))
        if bad is not None:
            raise self._fail(bad, f"cannot read the amount in '{self._column_name(index)}': {why}")
        if typed:
            result = [typed.get(i, amount) for i, amount in enumerate(result)]
        return result

    def _take_numbers(self, indices: list[int]) -> dict[int, dict[int, Decimal]]:
        """The number cells of a spreadsheet's money columns, by column and row, each to the most decimal
        places any of them has and at least cents (12.5 beside 23.45 is 12.50; a cell holds a number, not
        how it is shown), or whole when every one is (yen). Their text is blanked, so the text reading
        (and the decimal-mark inference) sees only the cells that hold text."""
        found = {index: self._typed(index, Decimal) for index in indices}
        exponents = [int(d.as_tuple().exponent) for typed in found.values() for d in typed.values()]
        if not exponents:
            return {}
        finest = min(exponents)
        places = Decimal(1).scaleb(min(finest, -2) if finest < 0 else 0)
        for index, typed in found.items():
            column = self._columns[index]
            for position in typed:
                column[position] = ""
            self._joined_columns.pop(index, None)
        return {index: {position: value.quantize(places) for position, value in typed.items()}
                for index, typed in found.items() if typed}

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
        self._number_cells = self._take_numbers(amount_columns) if self.cells else {}
        decimal_mark = mapping.decimal or infer_decimal_mark(
            [self._joined(i) for i in amount_columns], None, self.file, lambda i: self.lines[i])
        reader = AmountReader(decimal_mark)
        cell_currencies = self._cell_currencies(indices)
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
        # A currency column may write `€`, `eur` or `Euro`: each is read as its ISO code, so it is checked
        # against the account's like `EUR` (a value naming no one currency, `$`, stays as written).
        currencies = [c and (currency_code(c) or c) for c in self._optional_texts(indices.get("currency"), count)]
        if cell_currencies is not None:
            currencies = [c or cell for c, cell in zip(currencies, cell_currencies)]
        if mapping.currency:
            currencies = [c or mapping.currency for c in currencies]

        foreign = self._foreign(reader, indices, count)
        fields = (dates, amounts, cleaned, originals, memo_values, ids, cheques, currencies, balances, self.lines,
                  types, foreign)
        if any(len(values) != count for values in fields):
            # zip below would silently drop rows: that is a bug, never a user's problem.
            raise RuntimeError(f"CSV columns of unequal length: {[len(values) for values in fields]}")
        transactions = list(map(_new_transaction, zip(
            dates, amounts, cleaned, originals, memo_values, ids, cheques, currencies, balances,
            repeat(self.file), self.lines, types, repeat(()), foreign)))
        accounts = self._optional_texts(indices["account"], count) if "account" in indices else None
        if any(rule.kind == "zero_amount" for rule in mapping.drop):
            nonzero = [bool(a) for a in amounts]
            transactions = list(compress(transactions, nonzero))
            if accounts is not None:
                accounts = list(compress(accounts, nonzero))
        return self._statements(transactions, accounts, preamble)

    def _foreign(self, reader: AmountReader, indices: dict[str, int], count: int) -> list[Foreign | None]:
        """The `original_amount`, `original_currency` and `exchange_rate` columns: a row's amount abroad."""
        if "original_amount" not in indices and "original_currency" not in indices:
            return list(repeat(None, count))
        amounts = self._amounts(reader, indices["original_amount"]) if "original_amount" in indices \
            else list(repeat(None, count))
        currencies = self._optional_texts(indices.get("original_currency"), count)
        rates = self._amounts(reader, indices["exchange_rate"]) if "exchange_rate" in indices \
            else list(repeat(None, count))
        mine = self.mapping.currency
        return [Foreign(amount, currency.upper(), rate) if currency and currency.upper() != mine and
                (amount is not None or rate is not None) else None
                for amount, currency, rate in zip(amounts, currencies, rates)]

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
            raise self._fail(blank, self._no_amount_advice(blank, indices))
        return amounts

    def _no_amount_advice(self, row: int, indices: dict[str, int]) -> str:
        """Why a row without an amount is refused, and what to do: a cell of a column the mapping does not read
        that could be the row's money is named (leaving such a row out would lose, say, a salary); only a
        row holding no such cell is offered `drop: [{no_amount: true}]`."""
        # The cell shapes inference reads money by (imported here: inference is not needed to read a file).
        from importer.parsers.csv.infer import could_be_money

        line = self.lines[row]
        cells: list[str] = []
        if self.records is not None:
            index = next((i for i in range(len(self.records.rows)) if self.records.line_of(i) == line), None)
            cells = self.records.rows[index] if index is not None else []
        elif self._source:
            start = 0
            for _ in range(line - 1):
                start = self._source.find("\n", start) + 1
            end = self._source.find("\n", start)
            found = read_records(self._source[start:end if end >= 0 else None], self.layout.delimiter,
                                 self.mapping.quote, self.file, lenient=True).rows
            cells = found[0] if found else []
        read = {index for role, index in indices.items() if not role.startswith("drop.")}   # balance among them
        for index, cell in enumerate(cells):
            if index not in read and could_be_money(cell.strip()):
                return (f"the row has no amount, and '{self._column_name(index)}' holds {cell.strip()} on it, which "
                        "the mapping does not read as money; if that is this row's money, read that column "
                        "(columns.amount, or columns.debit and columns.credit) in the mapping")
        return "the row has no amount; if such rows are notes, add `drop: [{no_amount: true}]` to the mapping"

    def _cell_currencies(self, indices: dict[str, int]) -> list[str | None] | None:
        """The currency each row's amount cell is written in (`-45,67 PLN`, `£-4.50`), so the statement has a
        currency the account's can be checked against; None when no cell names one. A file whose cells name
        two currencies is an error at the first row that differs (its amounts are not one account's)."""
        roles = [r for r in ("amount", "debit", "credit") if r in indices]
        joined = "\n".join(self._joined(indices[r]) for r in roles)
        if not _CELL_CURRENCY.search(joined):
            return None
        found: list[str | None] = [None] * self.count
        first: tuple[str, str] | None = None   # (currency, as written)
        for role in roles:
            for row, cell in enumerate(self._column(indices[role])):
                match = _CELL_CURRENCY.search(cell)
                if match is None or not any(ch.isdigit() for ch in cell):
                    continue
                written = match.group(0)
                code = _SYMBOL_CURRENCY.get(written, written)
                if first is None:
                    first = (code, written)
                elif code != first[0]:
                    raise self._fail(row, f"the amount '{cell.strip()}' is in {written}, and earlier rows in "
                                          f"{first[1]}: one statement holds one account's currency; export each "
                                          "currency's statement separately")
                found[row] = code if code in _KNOWN_CODES else None
        return found

    def _split_amounts(self, reader: AmountReader, indices: dict[str, int]) -> list[Decimal | None]:
        """Debit and credit columns to one signed amount: money out negative, in positive, whatever
        sign the bank printed; a row with both a debit and a credit is an error."""
        count = self.count
        blank = [""] * count
        debit_raw = self._column(indices["debit"]) if "debit" in indices else blank
        credit_raw = self._column(indices["credit"]) if "credit" in indices else blank
        # A side the mapping does not read is a blank on every row, one line each, like the side it does read.
        no_side = "\n".join(blank)
        debit_text = self._joined(indices["debit"]) if "debit" in indices else no_side
        credit_text = self._joined(indices["credit"]) if "credit" in indices else no_side
        debit_plain = reader.plain_values(debit_raw, debit_text)
        credit_plain = reader.plain_values(credit_raw, credit_text)
        if not self.cells and debit_plain is not None and credit_plain is not None \
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
            closing = _closing_balance(rows)
            statements.append(Statement(
                file=self.file, format=f"csv:{mapping.name}",
                account=Account(id=account_id, type=mapping.account_type, currency=currency),
                transactions=rows, closing_balance=closing[0], closing_date=closing[1]))
        if self.left_out_pending and statements:
            count = self.left_out_pending
            statements[0].notes.append(f"left out {count} pending row{'s' if count != 1 else ''} (not booked yet; "
                                       "they come in a later statement, once booked)")
        return statements


# tuple.__new__ through partial builds each Transaction without a Python-level call: a third
# faster than Transaction(...) at a million rows. zip supplies every field, in declaration order.
_new_transaction = partial(tuple.__new__, Transaction)
assert Transaction._fields[-1] == "foreign" and len(Transaction._fields) == 14


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


def _closing_balance(rows: list[Transaction]) -> tuple[Decimal | None, date | None]:
    """The balance column's closing balance and its date: the newest row's."""
    first = next((t for t in rows if t.balance is not None), None)
    if first is None:
        return None, None
    last = next(t for t in reversed(rows) if t.balance is not None)
    # Exports list newest first or oldest first; the closing balance is the newest row's.
    newest = first if first.date > last.date else last
    return newest.balance, newest.date
