"""Typed, lenient views of the PocketSmith API objects the importer uses (fields may be null or missing)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

__all__ = ["money", "Category", "TransactionAccount", "PsTransaction", "flatten_categories"]


def money(value: Any) -> Decimal | None:
    """A JSON number as Decimal, through its text, never through float arithmetic; a ValueError for what
    cannot be an amount (NaN, infinity, more than a quadrillion, text that is no number)."""
    if value is None or value == "":
        return None
    if isinstance(value, float):
        # json gave us a float: repr() is the shortest text that round-trips, i.e. what was sent.
        value = Decimal(repr(value))
    elif not isinstance(value, Decimal):
        text = str(value)
        try:
            value = Decimal(text) if len(text) <= 40 else None
        except ArithmeticError:
            value = None
        if value is None:
            raise ValueError(f"{text[:20]!r} is not an amount")
    if not value.is_finite() or value.adjusted() >= 15:
        raise ValueError(f"{str(value)[:20]} is not an amount")
    return value


def _date(value: Any) -> date | None:
    if not value:
        return None
    return date.fromisoformat(str(value)[:10])


@dataclass(slots=True)
class Category:
    id: int
    title: str
    parent_id: int | None = None
    path: str = ""              # "Parent > Child"
    is_transfer: bool = False
    colour: str | None = None

    @classmethod
    def from_api(cls, data: dict, path: str | None = None) -> "Category":
        title = data.get("title") or ""
        return cls(id=int(data["id"]), title=title, parent_id=data.get("parent_id"),
                   path=path or title, is_transfer=bool(data.get("is_transfer")), colour=data.get("colour"))


def flatten_categories(tree: list[dict], prefix: str = "") -> list[Category]:
    """The API's category tree as a flat list, each with its `Parent > Child` path."""
    flat: list[Category] = []
    for node in tree or []:
        path = f"{prefix} > {node.get('title') or ''}" if prefix else (node.get("title") or "")
        flat.append(Category.from_api(node, path))
        flat.extend(flatten_categories(node.get("children") or [], path))
    return flat


@dataclass(slots=True)
class TransactionAccount:
    id: int
    name: str
    number: str | None = None
    type: str | None = None           # enum may grow (e.g. "investment_loan"): kept as text
    currency_code: str | None = None
    current_balance: Decimal | None = None
    current_balance_date: date | None = None
    institution: str | None = None

    @classmethod
    def from_api(cls, data: dict) -> "TransactionAccount":
        institution = data.get("institution") or {}
        return cls(id=int(data["id"]), name=data.get("name") or "", number=data.get("number"),
                   type=data.get("type"), currency_code=data.get("currency_code"),
                   current_balance=money(data.get("current_balance")),
                   current_balance_date=_date(data.get("current_balance_date")),
                   institution=institution.get("title") if isinstance(institution, dict) else None)


@dataclass(slots=True)
class PsTransaction:
    """A transaction PocketSmith already holds (from the API or an `--existing` export)."""

    id: int
    date: date
    amount: Decimal
    payee: str = ""
    original_payee: str = ""
    memo: str | None = None
    note: str | None = None
    cheque_number: str | None = None
    labels: list[str] = field(default_factory=list)
    category_id: int | None = None
    category_title: str | None = None
    transaction_account_id: int | None = None
    status: str | None = None          # "pending" or "posted"
    type: str | None = None
    needs_review: bool = False
    is_transfer: bool = False
    upload_source: str | None = None
    updated_at: str | None = None
    closing_balance: Decimal | None = None     # the account's balance after this transaction, as PocketSmith says

    @classmethod
    def from_api(cls, data: dict) -> "PsTransaction":
        category = data.get("category") or {}
        account = data.get("transaction_account") or {}
        return cls(
            id=int(data["id"]), date=_date(data.get("date")), amount=money(data.get("amount")) or Decimal(0),
            payee=data.get("payee") or "", original_payee=data.get("original_payee") or "",
            memo=data.get("memo"), note=data.get("note"), cheque_number=data.get("cheque_number"),
            labels=list(data.get("labels") or []),
            category_id=category.get("id") if isinstance(category, dict) else None,
            category_title=category.get("title") if isinstance(category, dict) else None,
            transaction_account_id=account.get("id") if isinstance(account, dict) else None,
            status=data.get("status"), type=data.get("type"),
            needs_review=bool(data.get("needs_review")), is_transfer=bool(data.get("is_transfer")),
            upload_source=data.get("upload_source"), updated_at=data.get("updated_at"),
            closing_balance=money(data.get("closing_balance")),
        )

