"""Two writers at once: another import creating this batch's rows in the same accounts, found before more is sent.

PocketSmith has no idempotency key, so two imports of the same statement from two state dirs (two
machines, or a copied config) would each plan every row as new and create it: every row doubled. And a
lookup that settles an unanswered create could claim the other run's transaction. Neither journal
knows the other, but PocketSmith shows it: a transaction that matches a row of this batch (account,
date, amount, payee), that PocketSmith did not hold when the batch was planned and that this journal
did not create, is someone else's, unless an unanswered create of this batch with the same
fingerprint could have made it. More such transactions than this batch's unanswered creates of that
fingerprint means another writer. The writer looks before its first window of creates, then every
OTHER_WRITER_ROWS rows (over the rows sent since the last look and those about to be), after its last window, and
before settling; finding one, it stops.

The limit: if both runs lose a create of the same row at the same moment, one may claim the other's;
nothing is doubled in PocketSmith then, but both journals claim that transaction.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Iterable

from importer.errors import ImporterError
from importer.plan import fingerprint
from importer.text import plural

if TYPE_CHECKING:
    from importer.pocketsmith.models import PsTransaction
    from importer.pocketsmith.protocol import Client
    from importer.write.journal import BatchInfo, Journal, JournalRow

__all__ = ["OtherWriter", "check_no_other_writer"]


class OtherWriter(ImporterError):
    """Another import is creating this batch's rows: the batch stopped before sending more."""

    exit_code = 5

    def __init__(self, batch_id: str, account_id: int, foreign: list["PsTransaction"]):
        self.batch_id = batch_id
        self.account_id = account_id
        self.foreign = foreign
        first = foreign[0]
        example = f"#{first.id} {first.date} {first.amount} {first.payee[:40]!r}"
        super().__init__(
            f"another import is creating the rows of batch {batch_id} in PocketSmith account {account_id}: it holds "
            f"{plural(len(foreign), 'transaction')} matching rows of this batch (same date, amount and payee; e.g. "
            f"{example}) that it did not hold when the batch was planned and that this journal did not create. "
            "Two imports of the same statements at once (from two state dirs or machines) would double every "
            "row, so psimport stopped before sending more or claiming any of them")


def _row_fingerprint(row: "JournalRow") -> str:
    body = row.body or {}
    return fingerprint(row.account_id, body["date"], Decimal(str(body["amount"])), body["payee"])


def check_no_other_writer(client: "Client", journal: "Journal", batch: "BatchInfo",
                          rows: Iterable["JournalRow"]) -> None:
    """Raise OtherWriter when PocketSmith holds more copies of any of `rows` (rows of `batch`) than this
    journal and this batch's unanswered creates explain; one listing per account, over the rows' dates."""
    by_account: dict[int, list["JournalRow"]] = {}
    for row in rows:
        if row.body is not None:
            by_account.setdefault(row.account_id, []).append(row)
    for account_id, account_rows in by_account.items():
        dates = [date.fromisoformat(r.body["date"]) for r in account_rows if r.body]
        wanted = {_row_fingerprint(r) for r in account_rows}
        listed = [txn for txn in client.transactions(account_id, min(dates), max(dates)) if txn.date is not None
                  and fingerprint(account_id, txn.date.isoformat(), txn.amount, txn.payee) in wanted]
        if not listed:
            continue
        # Read after the listing, unanswered first and claimed second: a create of this run that lands
        # meanwhile is then counted as unanswered, or claimed, or both; never neither.
        unknown = Counter(_row_fingerprint(r) for r in journal.rows(batch.id, ["sending"]) if r.body is not None)
        explained = journal.claimed_ids(account_id, batch.target) | set(batch.existing.get(account_id, ()))
        unexplained: dict[str, list["PsTransaction"]] = {}
        for txn in listed:
            if txn.id not in explained and txn.date is not None:
                key = fingerprint(account_id, txn.date.isoformat(), txn.amount, txn.payee)
                unexplained.setdefault(key, []).append(txn)
        foreign = [txn for key, txns in unexplained.items() if len(txns) > unknown[key] for txn in txns]
        if foreign:
            raise OtherWriter(batch.id, account_id, sorted(foreign, key=lambda t: t.id))
