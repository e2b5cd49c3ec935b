"""The user's history for the rules commands: the transactions PocketSmith (or an export) holds, as rules see them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Callable

from importer.errors import ConfigError
from importer.rules.subject import Subject, subject_from_existing

__all__ = ["History", "load_history", "history_subjects", "payee_text"]


@dataclass
class History:
    """Transactions PocketSmith already holds, with what is known about their accounts and categories.

    `accounts` (id → TransactionAccount) gives rules the account's name and currency; `categories` are
    the user's (online, with paths) or those an export mentions (offline, titles only).
    """

    transactions: list
    accounts: dict = field(default_factory=dict)
    categories: list = field(default_factory=list)

    def category_name(self, txn) -> str | None:
        """How the user's category for `txn` is shown: its path when known, else its title."""
        if txn.category_id is None:
            return txn.category_title
        category = self._by_id.get(txn.category_id)
        return (category.path or category.title) if category else txn.category_title

    @property
    def _by_id(self) -> dict:
        cached = getattr(self, "_category_index", None)
        if cached is None:
            cached = self._category_index = {c.id: c for c in self.categories}
        return cached


def load_history(*, existing: str | Path | None = None, since: datetime | None = None,
                 connect: Callable[[], Any] | None = None, where: str = "PocketSmith",
                 warn: Callable[[str], None] = lambda text: None) -> tuple[History, str, bool]:
    """The transactions the user already categorised: an `existing` export, or PocketSmith's, per account.

    Returns the history, where it came from (for the report's title) and whether it is offline.
    From PocketSmith (`connect()` gives the client) it is the last 365 days, or since `since`; with
    nothing in the last year, all of it, and a warning.
    """
    if existing is not None:
        if since is not None:
            raise ConfigError("--since picks history from PocketSmith; an --existing file is used whole")
        from importer.pocketsmith.export import Export
        export = Export.load(existing)
        return History(export.all, {}, export.categories()), str(existing), True
    client = connect()
    start = since.date() if since is not None else date.today() - timedelta(days=365)
    accounts = {a.id: a for a in client.transaction_accounts()}
    transactions = []
    for account_id in accounts:
        transactions.extend(client.transactions(account_id, start, None))
    source = f"{where} since {start.isoformat()}"
    if not transactions and since is None:
        # Nothing in the last year (an account not synced lately, or the demo's fixed dates): use all of it.
        for account_id in accounts:
            transactions.extend(client.transactions(account_id))
        source = f"{where}, all history"
        warn(f"no transactions in the last year; testing against all {len(transactions)} there are")
    return History(transactions, accounts, client.categories()), source, False


def history_subjects(history: History) -> list[Subject]:
    """Each history transaction as the rules see it: its account by id and name, its account's currency."""
    out = []
    for txn in history.transactions:
        account = history.accounts.get(txn.transaction_account_id)
        names = [str(txn.transaction_account_id)] if txn.transaction_account_id is not None else []
        if account is not None and account.name:
            names.append(account.name)
        out.append(subject_from_existing(txn, account=names or None,
                                         currency=getattr(account, "currency_code", None)))
    return out


def payee_text(txn) -> str:
    """The payee text of a history transaction that rules and suggestions read: as the bank wrote it, if known."""
    return txn.original_payee or txn.payee or ""
