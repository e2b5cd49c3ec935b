"""The common record: one bank transaction, and the Statement (account, period, balances) holding them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from operator import itemgetter
from typing import NamedTuple

from importer.errors import InputError
from importer.text import one_line

__all__ = ["Split", "Foreign", "Transaction", "Account", "Statement", "one_line_texts", "refuse_impossible_amounts",
           "assign_synthetic_ids", "transaction_json", "statement_json", "foreign_text"]


class Split(NamedTuple):
    """One line of a split transaction (QIF `S`/`E`/`$`)."""

    category: str | None
    memo: str | None
    amount: Decimal


class Foreign(NamedTuple):
    """The amount as it was in another currency, beside the account's: `amount` in `currency`, at `rate`.

    `rate` is account-currency units per unit of `currency` (the statement's own figure, or None when it
    gives none), so the account's amount is about `amount * rate`.
    """

    amount: Decimal | None
    currency: str
    rate: Decimal | None = None


def foreign_text(foreign: Foreign) -> str:
    """The original amount as a note says it: `USD 42.00 @ 1.5312` (the amount unsigned; the rate when known)."""
    amount = "" if foreign.amount is None else f" {abs(foreign.amount)}"
    rate = "" if foreign.rate is None else f" @ {foreign.rate}"
    return f"{foreign.currency}{amount}{rate}"


class Transaction(NamedTuple):
    """One transaction as a statement gives it.

    A NamedTuple rather than a frozen dataclass: it is immutable all the same, and it is
    built about four times faster, which matters at a million CSV rows.
    `amount` is signed (negative = money out); `payee` is the cleaned-up text and
    `original_payee` the text as the file has it. `foreign` is the original amount and currency when
    the statement gives one beside the account's (a card purchase abroad).
    """

    date: date
    amount: Decimal
    payee: str
    original_payee: str
    memo: str | None = None
    external_id: str | None = None
    cheque_number: str | None = None
    currency: str | None = None
    balance: Decimal | None = None
    file: str | None = None
    line: int | None = None
    type: str | None = None
    splits: tuple[Split, ...] = ()
    foreign: Foreign | None = None


@dataclass(slots=True)
class Account:
    """The bank account a statement belongs to, as far as the file tells."""

    id: str | None = None
    bank_id: str | None = None
    type: str | None = None
    currency: str | None = None


@dataclass(slots=True)
class Statement:
    """The transactions of one account from one file, in the file's order."""

    file: str
    format: str
    account: Account = field(default_factory=Account)
    transactions: list[Transaction] = field(default_factory=list)
    start: date | None = None
    end: date | None = None
    closing_balance: Decimal | None = None
    closing_date: date | None = None        # the day `closing_balance` is as of, when the file says
    notes: list[str] = field(default_factory=list)   # what the parser inferred, to say on stderr and in warnings
    # Where `account.currency` came from when a mapping said it rather than the file ("the shipped mapping
    # 'anz', chosen by the file's shape"), so a currency mismatch can say the mapping may be the wrong one.
    currency_source: str | None = None

    def finish(self) -> "Statement":
        """Fill what can be derived: one-line texts, synthetic ids, and the period when the file gave none."""
        one_line_texts(self)
        refuse_impossible_amounts(self)
        note_sub_cent_amounts(self)
        assign_synthetic_ids(self)
        if self.transactions:
            dates = [t.date for t in self.transactions]
            self.start = self.start or min(dates)
            self.end = self.end or max(dates)
        return self


def one_line_texts(statement: Statement) -> None:
    """Payees and memos as one line of text: newlines, tabs, escapes and other control characters become spaces.

    A statement's text is untrusted; a newline in a payee would break a table row, and a rule
    written from it would break (or add to) a YAML file. One isprintable() over each field's texts
    joined lets an ordinary file through at C speed (30 ms at a million rows); only a file with a
    control character somewhere is looked at row by row.
    """
    rows = statement.transactions
    if all("".join(values).isprintable() for values in (
            map(_PAYEE, rows), map(_ORIGINAL_PAYEE, rows), (t.memo for t in rows if t.memo))):
        return
    for index, txn in enumerate(rows):
        if txn.payee.isprintable() and txn.original_payee.isprintable() and (txn.memo or "").isprintable():
            continue
        memo = None if txn.memo is None else one_line(txn.memo)
        rows[index] = txn._replace(payee=one_line(txn.payee), original_payee=one_line(txn.original_payee),
                                   memo=memo or None)


_PAYEE, _ORIGINAL_PAYEE = itemgetter(2), itemgetter(3)
_AMOUNT, _BALANCE = itemgetter(1), itemgetter(8)

# No bank account moves a quadrillion in one row: an amount this big is a damaged file (or a hostile
# one: a 100,000-digit number), refused at its line rather than carried to a preview or a request.
TOO_BIG = Decimal("1e15")


def refuse_impossible_amounts(statement: Statement) -> None:
    """An InputError at the first row whose amount or balance is a quadrillion or more."""
    rows = statement.transactions
    if not rows:
        return
    # min() and max() run in C; the rows are walked only when one is out of bounds.
    amounts = list(map(_AMOUNT, rows))
    balances = [b for b in map(_BALANCE, rows) if b is not None]
    if -TOO_BIG < min(amounts) and max(amounts) < TOO_BIG \
            and (not balances or (-TOO_BIG < min(balances) and max(balances) < TOO_BIG)):
        return
    for txn in rows:
        for value in (txn.amount, txn.balance):
            if value is not None and not -TOO_BIG < value < TOO_BIG:
                text = str(value)
                raise InputError(f"the amount {text[:20]}{'…' if len(text) > 20 else ''} is too big to be money; "
                                 "the file is damaged or not from a bank", file=statement.file, line=txn.line)


# The currencies whose minor unit is a thousandth (ISO 4217): the only ones an amount of 12.345 can be money in.
THREE_DECIMAL_CURRENCIES = frozenset({"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"})
_CENT = Decimal("0.01")


def sub_cent_rows(statement: Statement) -> list[Transaction]:
    """The rows whose amount has a non-zero digit past the cents (12.345; 12.340 is 12.34)."""
    rows = statement.transactions
    # One quantize a row in C (11 ms for 100,000 rows); the rows are collected only when one is found.
    if not any(amount != amount.quantize(_CENT) for amount in map(_AMOUNT, rows)):
        return []
    return [txn for txn in rows if txn.amount != txn.amount.quantize(_CENT)]


def note_sub_cent_amounts(statement: Statement) -> None:
    """Say how amounts with three decimal places are read: as written, to the thousandth (dinars have three).
    An account in a currency with two cannot hold them: preview and import refuse them there
    (`accounts.check_decimal_places`), rather than PocketSmith rounding them without a word."""
    rows = sub_cent_rows(statement)
    if not rows:
        return
    shown = ", ".join(f"line {t.line}: {t.amount}" if t.line else str(t.amount) for t in rows[:3])
    currency = statement.account.currency
    if currency in THREE_DECIMAL_CURRENCIES:
        statement.notes.append(f"{len(rows)} amount{'s' if len(rows) > 1 else ''} with three decimal places "
                               f"({shown}{', …' if len(rows) > 3 else ''}): read as written ({currency} has three)")
        return
    mark = " (if the file's decimal mark separates thousands here, set `decimal:` in a mapping)" \
        if statement.format.partition(":")[0] in ("csv", "xlsx", "xls", "ods") else ""
    statement.notes.append(
        f"{len(rows)} amount{'s' if len(rows) > 1 else ''} with more than two decimal places "
        f"({shown}{', …' if len(rows) > 3 else ''}): read as written, to the thousandth and beyond{mark}; an "
        f"account in a currency with two decimal places cannot hold them, so preview and import refuse them there "
        f"({', '.join(sorted(THREE_DECIMAL_CURRENCIES))} have three)")


def assign_synthetic_ids(statement: Statement) -> None:
    """Give every row without a bank id a stable one.

    The id hashes account, date, amount, payee and memo plus the row's occurrence among
    identical rows, so the same file read again gives the same ids and two identical
    coffees on one day stay two.
    """
    if all(t.external_id for t in statement.transactions):
        return
    account = statement.account.id or ""
    seen: dict[tuple, int] = {}
    rows = statement.transactions
    for index, txn in enumerate(rows):
        if txn.external_id:
            continue
        key = (txn.date, txn.amount, txn.original_payee, txn.memo)
        occurrence = seen.get(key, 0)
        seen[key] = occurrence + 1
        text = f"{account}|{txn.date.isoformat()}|{txn.amount}|{txn.original_payee}|{txn.memo or ''}|{occurrence}"
        digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=10).hexdigest()
        rows[index] = txn._replace(external_id=f"ps-{digest}")


def transaction_json(txn: Transaction) -> dict:
    """The contract's RECORD shape (README, "Reading statements"): money as decimal strings, absent values null."""
    return {
        "date": txn.date.isoformat(),
        "amount": str(txn.amount),
        "payee": txn.payee,
        "original_payee": txn.original_payee,
        "memo": txn.memo,
        "external_id": txn.external_id,
        "cheque_number": txn.cheque_number,
        "currency": txn.currency,
        "balance": None if txn.balance is None else str(txn.balance),
        "line": txn.line,
        "type": txn.type,
        "splits": [{"category": s.category, "memo": s.memo, "amount": str(s.amount)} for s in txn.splits],
        "foreign": None if txn.foreign is None else {
            "amount": None if txn.foreign.amount is None else str(txn.foreign.amount),
            "currency": txn.foreign.currency,
            "rate": None if txn.foreign.rate is None else str(txn.foreign.rate)},
    }


def statement_json(statement: Statement) -> dict:
    """The contract's statement shape for `parse --format json`."""
    account = statement.account
    return {
        "file": statement.file,
        "format": statement.format,
        "account": {"id": account.id, "bank_id": account.bank_id, "type": account.type,
                    "currency": account.currency},
        "start": statement.start.isoformat() if statement.start else None,
        "end": statement.end.isoformat() if statement.end else None,
        "closing_balance": None if statement.closing_balance is None else str(statement.closing_balance),
        "closing_date": statement.closing_date.isoformat() if statement.closing_date else None,
        "transactions": [transaction_json(t) for t in statement.transactions],
    }
