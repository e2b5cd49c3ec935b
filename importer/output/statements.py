"""What `psimport parse` and `psimport mappings` show, in every format they offer, built on render.py."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import IO

from importer.record import Statement, statement_json, transaction_json
from importer.output.render import Column, console, dumps, left_out, print_table, write_csv, write_json

TRANSACTION_COLUMNS = [  # the ids are in --format json/csv; a terminal row has no room for them
    Column("line", "Line", justify="right", style="dim", no_wrap=True),
    Column("date", "Date", no_wrap=True),
    Column("amount", "Amount", justify="right", no_wrap=True),
    Column("payee", "Payee", ratio=2, no_wrap=True),
    Column("memo", "Memo", style="dim", ratio=3, no_wrap=True, hide_empty=True),
    Column("balance", "Balance", justify="right", style="dim", no_wrap=True, hide_empty=True),
]


def show_statements(statements: list[Statement], fmt: str, out: IO[str], limit: int | None = None,
                    see_all: str | None = None) -> None:
    """`psimport parse` output; a table shows the first `limit` rows of each statement, and says how many it left out
    and (`see_all`, else parse's options) how to see the rest."""
    if fmt == "json":
        out.write('{"statements": [')
        for i, statement in enumerate(statements):
            out.write(",\n" if i else "\n")
            out.write(dumps(statement_json(statement)))
        out.write("\n]}\n")
    elif fmt == "jsonl":
        _write_records_jsonl(statements, out)
    elif fmt == "csv":
        columns = [Column("file"), Column("account")] + [Column(k) for k in (
            "line", "date", "amount", "payee", "original_payee", "memo", "external_id", "cheque_number",
            "currency", "balance", "type")]
        write_csv(_flat_records(statements), columns, out)
    else:
        _statement_tables(statements, out, limit, see_all)


def _flat_records(statements: list[Statement]):
    for statement in statements:
        for txn in statement.transactions:
            row = transaction_json(txn)
            row["file"] = statement.file
            row["account"] = statement.account.id
            yield row


def _write_records_jsonl(statements: list[Statement], out: IO[str]) -> None:
    """`parse --format jsonl`: the rows of _flat_records, formatted straight from each Transaction.

    Building and encoding a dict per row was over half the end-to-end time of parsing a 100k-row
    OFX file; this writes the same objects, key for key (tests/test_ofx.py compares the two), about
    three times faster. Rows with splits or a foreign amount take the general path.
    """
    from json.encoder import encode_basestring as quote  # the escaping json.dumps(ensure_ascii=False) does

    write = out.write
    for statement in statements:
        file, account = statement.file, statement.account.id
        tail = f', "file": {quote(file)}, "account": {"null" if account is None else quote(account)}}}'
        lines: list[str] = []
        iso_dates: dict = {}  # statements repeat their dates; isoformat() is a fifth of a row's cost
        for txn in statement.transactions:
            day, amount, payee, original, memo, external_id, cheque, currency, balance, _, line, kind, splits, \
                foreign = txn
            if splits or foreign:
                lines.append(dumps({**transaction_json(txn), "file": file, "account": account}))
                continue
            iso = iso_dates.get(day)
            if iso is None:
                iso = iso_dates[day] = day.isoformat()
            lines.append(
                f'{{"date": "{iso}", "amount": "{amount}", "payee": {"null" if payee is None else quote(payee)}, '
                f'"original_payee": {"null" if original is None else quote(original)}, '
                f'"memo": {"null" if memo is None else quote(memo)}, '
                f'"external_id": {"null" if external_id is None else quote(external_id)}, '
                f'"cheque_number": {"null" if cheque is None else quote(cheque)}, '
                f'"currency": {"null" if currency is None else quote(currency)}, '
                f'"balance": {"null" if balance is None else quote(str(balance))}, '
                f'"line": {"null" if line is None else line}, "type": {"null" if kind is None else quote(kind)}, '
                f'"splits": [], "foreign": null{tail}')
            if len(lines) == 2000:
                lines.append("")
                write("\n".join(lines))
                lines = []
        if lines:
            lines.append("")
            write("\n".join(lines))


def _statement_tables(statements: list[Statement], out: IO[str], limit: int | None, see_all: str | None) -> None:
    screen = console(file=out)
    for statement in statements:
        if not statement.transactions:
            continue  # e.g. the quiet days of a daily MT940 file: the summary still lists them
        rows = [transaction_json(t) for t in statement.transactions[:limit]]
        account = statement.account
        title = f"{statement.file}  [dim]{statement.format}[/dim]"
        if account.id:
            title += f"  account {account.id}"
        if account.currency:
            title += f" ({account.currency})"
        print_table(rows, TRANSACTION_COLUMNS, title=title, screen=screen,
                    row_style=lambda r: "red" if r["amount"].startswith("-") else "green")
        if len(rows) < len(statement.transactions):
            shown, total = len(rows), len(statement.transactions)
            screen.print(f"first {shown:,} of {total:,} rows; {see_all}" if see_all
                         else left_out(shown, total, formats="json/jsonl/csv"), style="dim")
    summary = account_summary(statements)
    print_table(summary, [Column("file", ratio=2, no_wrap=True), Column("account", ratio=1, no_wrap=True),
                          Column("count", justify="right", no_wrap=True),
                          Column("first", no_wrap=True), Column("last", no_wrap=True),
                          Column("money_in", "In", justify="right", no_wrap=True),
                          Column("money_out", "Out", justify="right", no_wrap=True),
                          Column("closing_balance", "Closing", justify="right", no_wrap=True)],
                title="Summary", screen=screen, compact=True)


def account_summary(statements: list[Statement]) -> list[dict]:
    """Per statement: count, date range, total in and out."""
    rows = []
    for statement in statements:
        # Zero in the statement's own precision: "0.00", not "0", beside "-235.20".
        zero = Decimal(0).scaleb(min((t.amount.as_tuple().exponent for t in statement.transactions), default=-2))
        money_in = sum((t.amount for t in statement.transactions if t.amount > 0), zero)
        money_out = sum((t.amount for t in statement.transactions if t.amount < 0), zero)
        rows.append({"file": Path(statement.file).name, "account": statement.account.id or "",
                     "count": len(statement.transactions), "first": statement.start, "last": statement.end,
                     "money_in": money_in, "money_out": money_out,
                     "closing_balance": statement.closing_balance})
    return rows


def show_mappings(mappings: list, fmt: str, out: IO[str]) -> None:
    """`psimport mappings`: every CSV layout, the user's first."""
    rows = [{"name": m.name, "bank": m.bank, "country": m.country or "",
             "detected_by": "header" if m.header else "shape (no header)",
             "source": "built-in" if m.builtin else str(m.path),
             "documented_at": m.documented_at or ""}
            for m in mappings]
    if fmt == "json":
        write_json({"mappings": rows}, out)
        return
    print_table(rows, [Column("name", "Name"), Column("bank", "Bank", max_width=40), Column("country", "Country"),
                       Column("detected_by", "Detected by"), Column("source", "Source", style="dim")],
                title=f"{len(rows)} CSV mappings", screen=console(file=out))
