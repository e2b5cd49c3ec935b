"""A household's monthly statement and what PocketSmith already holds of it, for the start-up and write benchmarks.

`statement_rows(count)` gives `count` statement rows over about three months with the repeats a real
account has: a weekday 4.50 coffee, weekly rent and gym, a fortnightly salary, lunches at round amounts,
groceries and fuel at a few shops, one-off purchases. `feed_copies(rows, count)` gives PocketSmith's
bank-feed copy of the oldest `count` of them (transaction date 0-2 days before the posting date, the
feed's cleaned payee, 2% missing), so dedupe meets real blocks: identical amounts a few days apart.
`seed_sandbox` writes them into a sandbox database before its process starts.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

ACCOUNT = 510001            # the sandbox's "Everyday Account" (seed "accounts")
START = date(2026, 6, 1)


def _money(rng: random.Random, low: float, high: float) -> Decimal:
    return Decimal(round(rng.uniform(low, high), 2)).quantize(Decimal("0.01"))


def statement_rows(count: int, seed: int = 7) -> list[tuple[date, date, Decimal, str, str]]:
    """(transaction date, posting date, amount, statement text, feed payee), in posting order."""
    rng = random.Random(seed)
    events = []
    day = 0
    while len(events) < count:
        when = START + timedelta(days=day)
        weekday = when.weekday()
        if weekday < 5:
            events.append((when, Decimal("-4.50"), "THE DAILY GRIND SURRY HILLS NS AUS", "The Daily Grind"))
            events.append((when, -Decimal(rng.choice((12, 14, 15, 16, 18))), "SUBWAY PITT ST SYDNEY NS AUS", "Subway"))
        if weekday == 0:
            events.append((when, Decimal("-550.00"), "RENT RAY WHITE REALTY 0042", "Ray White"))
            events.append((when, Decimal("-19.95"), "FITNESS FIRST MEMBERSHIP", "Fitness First"))
        if weekday == 3 and day // 7 % 2 == 0:
            events.append((when, Decimal("2345.67"), "SALARY ACME PTY LTD 99812", "Acme Pty Ltd"))
        for _ in range(rng.choice((0, 1, 1, 2))):
            shop = rng.choice((("WOOLWORTHS 1234 SYDNEY NS AUS", "Woolworths"), ("COLES 0567 NEWTOWN NS AUS", "Coles"),
                               ("ALDI STORES 88 MARRICKVILLE", "Aldi")))
            events.append((when, -_money(rng, 8, 160), *shop))
        if rng.random() < 0.3:
            events.append((when, -_money(rng, 40, 95), "CALTEX ST PETERS NS AUS", "Caltex"))
        for _ in range(rng.choice((0, 1, 2))):
            n = rng.randrange(400)
            events.append((when, -_money(rng, 3, 300), f"MERCHANT {n:03d} SYDNEY NS AUS", f"Merchant {n:03d}"))
        day += 1
    rows = []
    for when, amount, text, feed in events[:count]:
        posted = when + timedelta(days=rng.choice((0, 1, 1, 2)))
        rows.append((when, posted, amount, text, feed))
    rows.sort(key=lambda r: (r[1], r[3]))
    return rows


def feed_copies(rows, count: int, seed: int = 8) -> list[dict]:
    """The bank feed's copy of the oldest rows (by transaction date), `count` of them, as sandbox/API fields;
    the feed missed one row in fifty of that stretch."""
    rng = random.Random(seed)
    kept = [r for r in sorted(rows, key=lambda r: r[0]) if rng.random() > 0.02][:count]
    return [{"transaction_account_id": ACCOUNT, "date": when, "amount": amount, "payee": feed,
             "original_payee": text, "upload_source": "feed"} for when, _, amount, text, feed in kept]


def write_ofx(rows, path: Path) -> None:
    """An OFX 1.02 (SGML) statement, NAME cut at 32 characters as banks do."""
    lines = ["OFXHEADER:100", "DATA:OFXSGML", "VERSION:102", "SECURITY:NONE", "ENCODING:USASCII",
             "CHARSET:1252", "COMPRESSION:NONE", "OLDFILEUID:NONE", "NEWFILEUID:NONE", "",
             "<OFX><BANKMSGSRSV1><STMTTRNRS><TRNUID>1<STATUS><CODE>0<SEVERITY>INFO</STATUS><STMTRS>"
             "<CURDEF>AUD<BANKACCTFROM><BANKID>062000<ACCTID>12345678<ACCTTYPE>CHECKING</BANKACCTFROM>"
             f"<BANKTRANLIST><DTSTART>{rows[0][1]:%Y%m%d}<DTEND>{rows[-1][1]:%Y%m%d}"]
    for i, (_, posted, amount, text, _) in enumerate(rows):
        lines.append(f"<STMTTRN><TRNTYPE>{'DEBIT' if amount < 0 else 'CREDIT'}<DTPOSTED>{posted:%Y%m%d}"
                     f"<TRNAMT>{amount}<FITID>B{i:06d}<NAME>{text[:32]}</STMTTRN>")
    lines.append(f"</BANKTRANLIST><LEDGERBAL><BALAMT>0.00<DTASOF>{rows[-1][1]:%Y%m%d}</LEDGERBAL></STMTRS>"
                 "</STMTTRNRS></BANKMSGSRSV1></OFX>")
    path.write_text("\n".join(lines) + "\n", encoding="ascii")


def seed_sandbox(db: Path, transactions: list[dict], export: Path | None = None) -> None:
    """A sandbox database (the demo accounts and categories, as `psimport sandbox` seeds a new one) holding
    `transactions`; with `export`, also the account's transactions as the API returns them, in one JSON array
    (for `preview --existing`)."""
    from importer.pocketsmith.wire import dumps_exact
    from importer.sandbox.demo import seed_demo
    from importer.sandbox.store import Store, TransactionFilter

    store = Store(db)
    try:
        seed_demo(store, history=False)
        store.add_transactions(transactions)
        if export is not None:
            listed, _ = store.list_transactions([ACCOUNT], TransactionFilter(), 1, len(transactions) + 1)
            export.write_text(dumps_exact(listed), encoding="utf-8")
    finally:
        store.close()
