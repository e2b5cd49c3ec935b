"""What rules see: one row (a statement's or PocketSmith's) as a Subject, and the plain tuple compiled tests read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Sequence

__all__ = ["Subject", "subject_from_record", "subject_from_existing", "prepare_row", "match_key", "row_key",
           "FIELD_INDEX", "SEP", "NAME_LIMIT", "whole_payee_text"]

# Row layout: a plain tuple indexed by these constants is the cheapest thing a compiled test can read.
ROW_PAYEE, ROW_ORIGINAL, ROW_MEMO, ROW_CURRENCY, ROW_ACCOUNT, ROW_TYPE, ROW_AMOUNT, ROW_DATE, ROW_KEYS = range(9)
FIELD_INDEX = {"payee": ROW_PAYEE, "original_payee": ROW_ORIGINAL, "memo": ROW_MEMO, "currency": ROW_CURRENCY,
          "account": ROW_ACCOUNT, "type": ROW_TYPE, "amount": ROW_AMOUNT, "date": ROW_DATE}
SEP = "\x00"


@dataclass(slots=True)
class Subject:
    """One row as the rules see it: the record as the file (or PocketSmith) had it.

    `account` is one name or several: the PocketSmith transaction account's id and name, and for
    statement rows the account number the file gives; a condition on `account` matches if it matches
    any of them. `type` is the bank's transaction type when the file gives one (OFX `POS`, `ATM`,
    `XFER`...); a condition on `type` also sees `debit` (amount < 0) or `credit` (amount >= 0).
    """

    payee: str | None
    original_payee: str | None
    memo: str | None
    amount: Decimal
    date: date
    account: str | Sequence[str] | None = None
    type: str | None = None
    currency: str | None = None



NAME_LIMIT = 32   # OFX 1.x NAME: banks cut the payee text here and carry the rest, or the whole, in MEMO


def whole_payee_text(name: str | None, memo: str | None) -> str | None:
    """The payee text as the bank wrote it: a NAME cut at 32 characters continued by its memo.

    Some banks put the whole text in MEMO (then it is the memo), others the rest: "EFTPOS PURCHASE 1766 BONDI
    ICE" + "BERGS CLUB" is "...BONDI ICEBERGS CLUB". A cut mid-word is glued back; a NAME ending in a space
    keeps it. Anything shorter than 32 characters, or without a memo, is the NAME itself."""
    if not name or not memo or len(name) < NAME_LIMIT:
        return name
    if memo.startswith(name.strip()):
        return memo
    return name + memo


def subject_from_record(txn, account: str | Sequence[str] | None = None) -> Subject:
    """A statement row (importer.record.Transaction) as the rules see it; a cut NAME continued by its memo."""
    return Subject(payee=txn.payee, original_payee=whole_payee_text(txn.original_payee, txn.memo), memo=txn.memo,
                   amount=txn.amount, date=txn.date, account=account, type=txn.type, currency=txn.currency)


def subject_from_existing(txn, account: str | Sequence[str] | None = None,
                          currency: str | None = None) -> Subject:
    """A transaction PocketSmith already holds (PsTransaction); `account` defaults to its account id. One an
    earlier file upload brought in has its cut NAME continued by its memo, as a statement row has."""
    if account is None and txn.transaction_account_id is not None:
        account = str(txn.transaction_account_id)
    return Subject(payee=txn.payee, original_payee=whole_payee_text(txn.original_payee or txn.payee, txn.memo),
                   memo=txn.memo,
                   amount=txn.amount, date=txn.date, account=account, type=txn.type, currency=currency)



@lru_cache(maxsize=4096)
def _aliases(value) -> tuple[str, ...]:
    """Lowercased names; cached, since every row of an account carries the same ones."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value.lower(),)
    return tuple(str(v).lower() for v in value if v is not None)


@lru_cache(maxsize=4096)
def _kinds(bank_type: str | None, debit: bool) -> tuple[str, ...]:
    kinds = _aliases(bank_type)
    sign = "debit" if debit else "credit"
    return kinds if sign in kinds else kinds + (sign,)


def prepare_row(subject: Subject) -> tuple:
    amount = subject.amount
    account = subject.account
    if account is not None and not isinstance(account, (str, tuple)):
        account = tuple(account)
    return ((subject.payee or "").lower(), (subject.original_payee or "").lower(), (subject.memo or "").lower(),
            (subject.currency or "").lower(), _aliases(account), _kinds(subject.type, amount < 0), amount,
            subject.date, {})


def match_key(text: str) -> str:
    """The payee key fuzzy conditions and history grouping use (importer.payee's, shared with dedupe)."""
    from importer.payee import match_key as shared
    return shared(text)


def row_key(row: tuple, index: int) -> str:
    keys = row[ROW_KEYS]
    key = keys.get(index)
    if key is None:
        key = keys[index] = match_key(row[index])
    return key
