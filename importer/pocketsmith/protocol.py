"""What the pipeline and the writer need from PocketSmith, as Protocols: the real client, an export or a test double.

`TransactionSource` is what a plan reads (existing transactions and categories): the client
online, an `Export` offline. `Client` adds what routing statements to accounts and writing a
batch use. `importer.pocketsmith.client.PocketSmith` is the real one.
"""

from __future__ import annotations

from datetime import date
from typing import Protocol, runtime_checkable

from importer.pocketsmith.models import Category, PsTransaction, TransactionAccount

__all__ = ["TransactionSource", "Client"]


@runtime_checkable
class TransactionSource(Protocol):
    """Where a plan finds what PocketSmith already holds."""

    offline: bool
    """True for an export: categories are those it mentions, so unknown ones warn instead of stopping the run."""

    def transactions(self, account_id: int, start_date: date | None = None,
                     end_date: date | None = None) -> list[PsTransaction]:
        """The transactions of one transaction account, within the dates when given."""

    def categories(self) -> list[Category]:
        """The categories rules' category names resolve against."""


@runtime_checkable
class Client(TransactionSource, Protocol):
    """The PocketSmith operations an import uses, beyond reading."""

    def transaction_accounts(self) -> list[TransactionAccount]:
        """The user's transaction accounts: where statements can go."""

    def create_transaction(self, account_id: int, body: dict) -> PsTransaction:
        """Create one transaction; raises AmbiguousWrite when it may or may not exist afterwards."""

    def get_transaction(self, id: int) -> PsTransaction:
        """One transaction by id (ApiError with status 404 when it is gone)."""

    def delete_transaction(self, id: int) -> None:
        """Delete one transaction (already gone counts as done)."""
