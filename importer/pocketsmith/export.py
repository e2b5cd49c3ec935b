"""An offline stand-in for PocketSmith's reads: a JSON export of its transactions (`--existing FILE.json`)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from importer.errors import InputError
from importer.pocketsmith.models import Category, PsTransaction, TransactionAccount

__all__ = ["Export", "load_export"]


class Export:
    """What an export says PocketSmith holds: its transactions, and the categories they mention.

    It follows `importer.pocketsmith.protocol.TransactionSource`, so a plan reads it as it reads
    the client. A transaction without its account could belong to any, so it is offered to every
    account. Categories are known by id and title only: an export has no paths or parents.
    `accounts` are the transaction accounts the export's transactions carry (with their
    currencies, which the currency check reads), by id.
    """

    offline = True

    def __init__(self, transactions: list[PsTransaction], path: str | None = None,
                 accounts: dict[int, TransactionAccount] | None = None):
        self.all = transactions
        self.path = path
        self.accounts = accounts or {}

    @classmethod
    def load(cls, path: str | Path) -> "Export":
        accounts: dict[int, TransactionAccount] = {}
        return cls(load_export(path, accounts), str(path), accounts)

    def transactions(self, account_id: int, start_date: date | None = None,
                     end_date: date | None = None) -> list[PsTransaction]:
        return [t for t in self.all
                if t.transaction_account_id in (None, account_id)
                and (start_date is None or t.date is None or t.date >= start_date)
                and (end_date is None or t.date is None or t.date <= end_date)]

    def categories(self) -> list[Category]:
        seen: dict[int, Category] = {}
        for txn in self.all:
            if txn.category_id is not None and txn.category_id not in seen:
                title = txn.category_title or ""
                seen[txn.category_id] = Category(id=int(txn.category_id), title=title, path=title)
        return list(seen.values())


def load_export(path: str | Path, accounts: dict[int, TransactionAccount] | None = None) -> list[PsTransaction]:
    """An `--existing` file: a JSON array of PocketSmith Transaction objects, as the API returns them.

    `accounts`, when given, receives the transaction accounts the transactions name (by id).

    Numbers are read straight into Decimal (`loads_exact`), so money never passes through float, and what
    cannot be money (NaN, 1e400, a 100,000-digit number) is refused as it is read.
    """
    from importer.limits import MAX_EXPORT_BYTES, read_bounded
    from importer.pocketsmith.wire import NotUsableJson, loads_exact
    path = Path(path)
    raw = read_bounded(path, MAX_EXPORT_BYTES, "an export")
    try:
        data = loads_exact(raw)
    except NotUsableJson as exc:
        raise InputError(f"not an export psimport can read: {exc}", file=str(path)) from None
    except ValueError as exc:     # JSONDecodeError, UnicodeDecodeError
        line = getattr(exc, "lineno", None)
        raise InputError(f"not valid JSON ({getattr(exc, 'msg', None) or getattr(exc, 'reason', exc)}); --existing "
                         "takes a JSON array of PocketSmith transactions", file=str(path), line=line) from None
    if isinstance(data, dict) and isinstance(data.get("transactions"), list):
        data = data["transactions"]
    if not isinstance(data, list):
        raise InputError("expected a JSON array of PocketSmith transactions", file=str(path))
    out = []
    for index, item in enumerate(data):
        if not isinstance(item, dict):
            raise InputError(f"transaction #{index + 1} is not a JSON object; --existing takes a JSON array of "
                             "PocketSmith transactions", file=str(path))
        missing = [key for key in ("id", "date", "amount") if item.get(key) is None]
        if missing:
            raise InputError(f"transaction #{index + 1} is not a PocketSmith transaction (no {', '.join(missing)})",
                             file=str(path))
        try:
            out.append(PsTransaction.from_api(item))
            account = item.get("transaction_account")
            if accounts is not None and isinstance(account, dict) and account.get("id") is not None \
                    and int(account["id"]) not in accounts:
                accounts[int(account["id"])] = TransactionAccount.from_api(account)
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            raise InputError(f"transaction #{index + 1} is not a PocketSmith transaction ({str(exc)[:200]})",
                             file=str(path)) from None
    return out
