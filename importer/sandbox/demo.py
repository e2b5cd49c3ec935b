"""Seeds a sandbox store: the demo household's accounts, categories, rules and bank-feed history overlapping the samples.

The overlap is read from the shipped sample statements themselves, so the feed and the files
cannot drift apart: most statement rows are already in PocketSmith as a bank feed would have
brought them (cleaned payee, the raw text as original_payee, card purchases dated 0-3 days
before they posted), a few were typed in by hand, some never arrived, and nothing after
FEED_END has synced yet.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Iterable

from importer.sandbox.household import (CREDIT_CARD, EVERYDAY, HISTORY_START, SAVINGS, STATEMENT_START, USER_ID,
                                        DemoAccount, StatementRow, creditcard_rows, everyday_rows, merchant_for,
                                        savings_rows)
from importer.sandbox.store import Store, utc_timestamp

__all__ = ["seed_demo", "seed_empty_user", "DEMO_ACCOUNTS", "CATEGORY_IDS", "FEED_END"]

FEED_END = date(2026, 11, 10)
DEMO_ACCOUNTS = (EVERYDAY, CREDIT_CARD, SAVINGS)
INSTITUTION_ID = 310001
SEEDED_AT = datetime(2026, 4, 28, 22, 15, 3, tzinfo=timezone.utc)

# (id, path, colour, is_transfer, is_bill); parents come before their children.
CATEGORIES = [
    (7001, "Groceries", "#4caf50", False, False),
    (7010, "Eating Out", "#ff9800", False, False),
    (7011, "Eating Out > Coffee", "#8d6e63", False, False),
    (7012, "Eating Out > Restaurants", "#ff7043", False, False),
    (7013, "Eating Out > Takeaway", "#ffb74d", False, False),
    (7020, "Transport", "#2196f3", False, False),
    (7021, "Transport > Fuel", "#1e88e5", False, False),
    (7022, "Transport > Public Transport", "#42a5f5", False, False),
    (7023, "Transport > Parking", "#90caf9", False, False),
    (7030, "Bills", "#9c27b0", False, True),
    (7031, "Bills > Electricity", "#ab47bc", False, True),
    (7032, "Bills > Internet", "#ba68c8", False, True),
    (7033, "Bills > Phone", "#ce93d8", False, True),
    (7034, "Bills > Insurance", "#7b1fa2", False, True),
    (7040, "Housing", "#795548", False, False),
    (7041, "Housing > Rent", "#6d4c41", False, True),
    (7050, "Entertainment", "#e91e63", False, False),
    (7051, "Entertainment > Streaming", "#ec407a", False, True),
    (7060, "Shopping", "#00bcd4", False, False),
    (7070, "Health", "#f44336", False, False),
    (7080, "Income", "#8bc34a", False, False),
    (7081, "Income > Salary", "#7cb342", False, False),
    (7082, "Income > Interest", "#9ccc65", False, False),
    (7083, "Income > Tax Refund", "#aed581", False, False),
    (7090, "Transfers", "#9e9e9e", True, False),
    (7100, "Fees", "#607d8b", False, False),
    (7110, "Cash", "#cddc39", False, False),
]
CATEGORY_IDS = {path: id for id, path, *_ in CATEGORIES}

# PocketSmith's own category rules the household already set up.
CATEGORY_RULES = [(9101, "Groceries", "Woolworths"), (9102, "Transport > Fuel", "Caltex"),
                  (9103, "Entertainment > Streaming", "Netflix"), (9104, "Income > Salary", "Acme Pty"),
                  (9105, "Eating Out > Coffee", "Daily Grind")]

LABELS_BY_CATEGORY = {"Eating Out > Coffee": ["coffee"], "Entertainment > Streaming": ["subscription"],
                      "Transport > Fuel": ["car"], "Transport > Parking": ["car"],
                      "Bills > Phone": ["tax-deductible"], "Bills > Internet": ["tax-deductible", "subscription"]}

# Statement rows the Nguyens typed in themselves (account, statement text, month) → (their payee, days off).
HAND_ENTERED = {
    (EVERYDAY.transaction_account_id, "WOOLWORTHS 1234 SYDNEY NS AUS", 10): ("Woolies", -1),
    (EVERYDAY.transaction_account_id, "AGL ENERGY LTD BPAY 1234567", 10): ("AGL electricity bill", 2),
    (CREDIT_CARD.transaction_account_id, "MAMAK HAYMARKET NS AUS", 10): ("Dinner at Mamak", 0),
}


def seed_empty_user(store: Store) -> None:
    """Just a user: for tests that build their own accounts."""
    store.add_user(USER_ID, "sandbox", "Sandbox User", "sandbox@example.com", created_at=utc_timestamp(SEEDED_AT))


def seed_demo(store: Store, history: bool = True, samples: Path | None = None) -> None:
    """The Nguyens: three accounts, a category tree, rules, and (with `history`) a few hundred transactions."""
    stamp = utc_timestamp(SEEDED_AT)
    store.add_user(USER_ID, "nguyen.family", "Linh & Minh Nguyen", "nguyens@example.com", created_at=stamp)
    store.add_institution(USER_ID, "Commonwealth Bank", id=INSTITUTION_ID, created_at=stamp)
    for account in DEMO_ACCOUNTS:
        store.add_transaction_account(
            USER_ID, account.name, id=account.transaction_account_id, account_id=account.account_id,
            number=account.number, type=account.type, institution_id=INSTITUTION_ID,
            starting_balance=account.opening_balance, starting_balance_date=HISTORY_START - timedelta(days=1),
            created_at=stamp)
    for id, path, colour, is_transfer, is_bill in CATEGORIES:
        parent, _, title = path.rpartition(" > ")
        store.add_category(USER_ID, title, id=id, parent_id=CATEGORY_IDS[parent] if parent else None,
                           colour=colour, is_transfer=is_transfer, is_bill=is_bill, created_at=stamp)
    for id, path, matches in CATEGORY_RULES:
        store.add_category_rule(USER_ID, CATEGORY_IDS[path], matches, id=id, created_at=stamp)
    if history:
        store.add_transactions(demo_transactions(samples))
    store.set_meta("seed", "demo" if history else "demo-accounts")


def demo_transactions(samples: Path | None = None) -> list[dict]:
    """Every seeded transaction: the generated history before the statements, then the feed's view of them."""
    rows: list[dict] = []
    generators = {EVERYDAY: everyday_rows, CREDIT_CARD: creditcard_rows, SAVINGS: savings_rows}
    for account, generate in generators.items():
        earlier = generate(HISTORY_START, STATEMENT_START - timedelta(days=1), seed=0)
        rows.extend(_feed(account, earlier, everything=True))
        rows.extend(_feed(account, statement_rows(account, samples), everything=False))
    return rows


def statement_rows(account: DemoAccount, samples: Path | None = None) -> list[StatementRow]:
    """The account's sample statement as parsed by psimport; the generator's rows if its parser is not usable."""
    from importer.config import samples_dir
    from importer.errors import ImporterError
    path = (samples or samples_dir()) / account.statement_file
    try:
        from importer.parsers import ParseOptions, parse_file
        options = ParseOptions(mapping="cba") if path.suffix == ".csv" else ParseOptions()
        statements = parse_file(path, options)
    except (ImportError, ImporterError, NotImplementedError):
        generate = {EVERYDAY: everyday_rows, CREDIT_CARD: creditcard_rows, SAVINGS: savings_rows}[account]
        return generate()
    return [StatementRow(t.date, t.amount, (t.original_payee or t.payee or "").strip(), t.memo)
            for s in statements for t in s.transactions]


def _digest(*parts: object) -> int:
    text = "|".join(str(p) for p in parts)
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def _feed(account: DemoAccount, rows: Iterable[StatementRow], everything: bool) -> list[dict]:
    """How these statement rows look in PocketSmith: from the bank feed, typed by hand, or not there."""
    out = []
    seen: dict[tuple, int] = {}
    hand_done: set[tuple] = set()
    account_id = account.transaction_account_id
    for index, row in enumerate(sorted(rows, key=lambda r: r.date)):
        if row.date > FEED_END:
            continue
        key = (row.date, row.amount, row.text.upper())
        occurrence = seen[key] = seen.get(key, 0) + 1
        merchant = merchant_for(row.text)
        category = merchant.category if merchant else None
        hand_key = (account_id, row.text.upper(), row.date.month)
        if not everything and hand_key in HAND_ENTERED and hand_key not in hand_done:
            hand_done.add(hand_key)
            payee, days_off = HAND_ENTERED[hand_key]
            day = row.date + timedelta(days=days_off)
            out.append(_transaction(account_id, day, row.amount, payee, payee, category, "manual", labels=[]))
            continue
        roll = _digest(account.number, row.date, row.amount, row.text, occurrence)
        if not everything and (roll % 100 < 7 or occurrence > 1):
            # Never synced: the importer should create it. A repeated identical row (two coffees on one
            # day) arrives only once, so the import must keep exactly one of the pair.
            continue
        lag = (roll // 100) % 4 if merchant is None or merchant.card else 0
        day = row.date - timedelta(days=lag)
        needs_review = roll % 17 == 0
        out.append(_transaction(
            account_id, day, row.amount, merchant.feed_payee if merchant else row.text.title(), row.text,
            None if needs_review else category, "data_feed", labels=LABELS_BY_CATEGORY.get(category or "", []),
            needs_review=needs_review))
    return out


def _transaction(account_id: int, day: date, amount: Decimal, payee: str, original_payee: str,
                 category: str | None, source: str, labels: list[str], needs_review: bool = False) -> dict:
    synced = utc_timestamp(datetime.combine(day + timedelta(days=1), time(3, 0), tzinfo=timezone.utc))
    return {"transaction_account_id": account_id, "date": day, "amount": amount, "payee": payee,
            "original_payee": original_payee, "category_id": CATEGORY_IDS.get(category) if category else None,
            "is_transfer": category == "Transfers", "needs_review": needs_review, "labels": labels,
            "upload_source": source, "status": "posted", "created_at": synced, "updated_at": synced}
