"""What `psimport accounts` and `psimport categories` show, as rows for a table or JSON."""

from __future__ import annotations

from typing import IO

from importer.pocketsmith.models import Category, TransactionAccount
from importer.output.render import Column, console, print_table, write_json

__all__ = ["account_rows", "category_rows", "show_accounts", "show_categories"]

ACCOUNT_COLUMNS = [  # one line per account: id, name, number and balance whole at 80 columns; more when wider
    Column("id", "Id", justify="right", no_wrap=True),
    Column("name", "Name", no_wrap=True, ratio=4),
    Column("number", "Number", style="dim", no_wrap=True, ratio=2),
    Column("institution", "Institution", no_wrap=True, ratio=2, min_screen=110),
    Column("type", "Type", no_wrap=True),
    Column("balance_shown", "Balance", justify="right", no_wrap=True),
    Column("current_balance_date", "As of", style="dim", no_wrap=True, min_screen=95),
]


def account_rows(accounts: list[TransactionAccount]) -> list[dict]:
    return [{"id": a.id, "name": a.name, "number": a.number, "institution": a.institution,
             "currency": a.currency_code, "type": a.type, "current_balance": a.current_balance,
             "current_balance_date": a.current_balance_date} for a in accounts]


def category_rows(categories: list[Category]) -> list[dict]:
    """Flattened categories in tree order, each with its depth (0 for top level)."""
    return [{"id": c.id, "title": c.title, "path": c.path, "parent_id": c.parent_id, "depth": c.path.count(" > "),
             "is_transfer": c.is_transfer, "colour": c.colour} for c in categories]


def show_accounts(accounts: list[TransactionAccount], fmt: str, out: IO[str]) -> None:
    rows = account_rows(accounts)
    if fmt == "json":
        write_json({"accounts": rows}, out)
    else:
        for row in rows:
            row["balance_shown"] = " ".join(str(v) for v in (row["current_balance"], row["currency"]) if v is not None)
        print_table(rows, ACCOUNT_COLUMNS, title="Transaction accounts", screen=console(file=out), compact=True)


def show_categories(categories: list[Category], fmt: str, out: IO[str]) -> None:
    rows = category_rows(categories)
    if fmt == "json":
        write_json({"categories": rows}, out)
        return
    for row in rows:
        row["tree"] = "   " * row["depth"] + ("└─ " if row["depth"] else "") + row["title"]
    print_table(rows, [Column("id", "Id", justify="right", no_wrap=True), Column("tree", "Category", ratio=2),
                       Column("path", "Path (as rules.yaml takes it)", style="dim", ratio=3),
                       Column("is_transfer", "Transfer", no_wrap=True)], title="Categories",
                screen=console(file=out))
