"""The made-up demo household (the Nguyens): their accounts, merchants, and statement files, generated deterministically.

`python -m importer.sandbox.household sample_statements/` rewrites the three sample statements.
The demo seed (`demo.py`) reads those files back, so the sandbox's bank-feed history and the
statements always overlap the same way.
"""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

__all__ = ["USER_ID", "EVERYDAY", "CREDIT_CARD", "SAVINGS", "DemoAccount", "Merchant", "MERCHANTS",
           "StatementRow", "merchant_for", "everyday_rows", "creditcard_rows", "savings_rows",
           "STATEMENT_START", "STATEMENT_END", "HISTORY_START", "write_samples"]

USER_ID = 4711
STATEMENT_START = date(2026, 9, 1)
STATEMENT_END = date(2026, 11, 20)
HISTORY_START = date(2026, 5, 1)
CENT = Decimal("0.01")


@dataclass(frozen=True)
class DemoAccount:
    """One of the household's accounts, as the bank and as PocketSmith know it."""

    transaction_account_id: int
    account_id: int
    name: str
    number: str
    type: str                    # PocketSmith's transaction account type
    institution: str
    opening_balance: Decimal     # on HISTORY_START
    statement_file: str


EVERYDAY = DemoAccount(510001, 410001, "Everyday Account", "06200012345678", "bank", "Commonwealth Bank",
                       Decimal("2431.18"), "everyday.ofx")
CREDIT_CARD = DemoAccount(510002, 410002, "Visa Credit Card", "4564 XXXX XXXX 4321", "credits",
                          "Commonwealth Bank", Decimal("-612.40"), "creditcard.qif")
SAVINGS = DemoAccount(510003, 410003, "NetBank Saver", "06200087654321", "bank", "Commonwealth Bank",
                      Decimal("10480.55"), "savings.csv")
BANK_ID = "062-000"


@dataclass(frozen=True)
class Merchant:
    """How a merchant appears on a statement, how a bank feed cleans it, and where the Nguyens file it."""

    statement_text: str
    feed_payee: str
    category: str                # "Parent > Child" path in the demo category tree
    card: bool = True            # card purchases post 0-3 days after the purchase


MERCHANTS: dict[str, Merchant] = {m.statement_text: m for m in [
    Merchant("DIRECT CREDIT ACME PTY LTD SALARY", "Acme Pty Ltd", "Income > Salary", card=False),
    Merchant("BPAY RAY WHITE NEWTOWN RENT", "Ray White Newtown", "Housing > Rent", card=False),
    Merchant("TRANSFER TO SAVINGS 1234", "Transfer To Savings", "Transfers", card=False),
    Merchant("TRANSFER TO VISA CARD 4321", "Transfer To Visa Card", "Transfers", card=False),
    Merchant("EFTPOS PURCHASE THE DAILY GRIND", "The Daily Grind", "Eating Out > Coffee"),
    Merchant("SQ *BEAN THERE CAFE", "Bean There Cafe", "Eating Out > Coffee"),
    Merchant("WOOLWORTHS 1234 SYDNEY NS AUS", "Woolworths", "Groceries"),
    Merchant("COLES 0456 NEWTOWN NS AUS", "Coles", "Groceries"),
    Merchant("ALDI STORES 92 MARRICKVILLE", "Aldi", "Groceries"),
    Merchant("CALTEX STAR MART ENMORE NS AUS", "Caltex", "Transport > Fuel"),
    Merchant("BP EXPRESS ST PETERS NS AUS", "BP", "Transport > Fuel"),
    Merchant("TRANSPORTFORNSW OPAL CHIPPENDALE", "Transport for NSW", "Transport > Public Transport"),
    Merchant("AGL ENERGY LTD BPAY 1234567", "AGL Energy", "Bills > Electricity", card=False),
    Merchant("AUSSIE BROADBAND DIRECT DEBIT", "Aussie Broadband", "Bills > Internet", card=False),
    Merchant("TELSTRA DIRECT DEBIT 4470021", "Telstra", "Bills > Phone", card=False),
    Merchant("NRMA INSURANCE DIRECT DEBIT", "NRMA Insurance", "Bills > Insurance", card=False),
    Merchant("KMART 1047 BROADWAY NS AUS", "Kmart", "Shopping"),
    Merchant("REFUND KMART 1047 BROADWAY NS AUS", "Kmart", "Shopping"),
    Merchant("ATM WITHDRAWAL CBA NEWTOWN", "ATM Withdrawal", "Cash", card=False),
    Merchant("PAYPAL *NETFLIX 4029357733 AUS", "Netflix", "Entertainment > Streaming"),
    Merchant("SPOTIFY P2A9C1F07E SYDNEY", "Spotify", "Entertainment > Streaming"),
    Merchant("UBER *EATS HELP.UBER.COM NS AUS", "Uber Eats", "Eating Out > Takeaway"),
    Merchant("UBER *TRIP HELP.UBER.COM NS AUS", "Uber", "Transport > Public Transport"),
    Merchant("GUZMAN Y GOMEZ NEWTOWN NS AUS", "Guzman y Gomez", "Eating Out > Takeaway"),
    Merchant("MAMAK HAYMARKET NS AUS", "Mamak", "Eating Out > Restaurants"),
    Merchant("THAI POTHONG NEWTOWN NS AUS", "Thai Pothong", "Eating Out > Restaurants"),
    Merchant("AMAZON MKTPLC AU SYDNEY SOUTH", "Amazon Marketplace", "Shopping"),
    Merchant("JB HI FI BROADWAY NS AUS", "JB Hi-Fi", "Shopping"),
    Merchant("BUNNINGS 123000 ALEXANDRIA NS AUS", "Bunnings", "Shopping"),
    Merchant("CHEMIST WAREHOUSE 0123 NEWTOWN", "Chemist Warehouse", "Health"),
    Merchant("SECURE PARKING 4412 SYDNEY NS AUS", "Secure Parking", "Transport > Parking"),
    Merchant("DAN MURPHYS 4321 ALEXANDRIA NS AUS", "Dan Murphy's", "Groceries"),
    Merchant("PAYMENT RECEIVED THANK YOU", "Payment Received", "Transfers", card=False),
    Merchant("ANNUAL FEE", "Annual Fee", "Fees", card=False),
    Merchant("TRANSFER FROM EVERYDAY 5678", "Transfer From Everyday", "Transfers", card=False),
    Merchant("TRANSFER TO EVERYDAY 5678 CAR REPAIR", "Transfer To Everyday", "Transfers", card=False),
    Merchant("CREDIT INTEREST", "Credit Interest", "Income > Interest", card=False),
    Merchant("DIRECT CREDIT ATO TAX REFUND", "ATO", "Income > Tax Refund", card=False),
]}


def merchant_for(text: str) -> Merchant | None:
    """The merchant whose statement text `text` is (or starts with): how parsed rows find their category."""
    text = (text or "").strip().upper()
    if text in MERCHANTS:
        return MERCHANTS[text]
    best = None
    for key, merchant in MERCHANTS.items():
        if text.startswith(key) and (best is None or len(key) > len(best.statement_text)):
            best = merchant
    return best


@dataclass(frozen=True)
class StatementRow:
    """One line the bank prints: the posting date, signed amount, and the bank's description."""

    date: date
    amount: Decimal
    text: str
    memo: str | None = None


def _cents(rng: random.Random, low: str, high: str) -> Decimal:
    lo, hi = int(Decimal(low) * 100), int(Decimal(high) * 100)
    return (Decimal(rng.randint(lo, hi)) / 100).quantize(CENT)


def _days(start: date, end: date):
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)


# Paydays are every second Thursday; 2026-09-03 is one of them.
_PAYDAY_ANCHOR = date(2026, 9, 3)


def everyday_rows(start: date = STATEMENT_START, end: date = STATEMENT_END, seed: int = 1) -> list[StatementRow]:
    """The everyday account: salary, rent, weekly transfer to savings, coffee, groceries, fuel, bills."""
    rng = random.Random(f"everyday-{seed}-{start}")
    rows: list[StatementRow] = []
    add = rows.append
    for day in _days(start, end):
        weekday = day.weekday()
        if weekday == 3 and (day - _PAYDAY_ANCHOR).days % 14 == 0:
            add(StatementRow(day, Decimal("3245.67"), "DIRECT CREDIT ACME PTY LTD SALARY", "SALARY 004411"))
        if weekday == 0:
            add(StatementRow(day, Decimal("-640.00"), "BPAY RAY WHITE NEWTOWN RENT", "BPAY 96503 REF 1187"))
        if weekday == 4:
            add(StatementRow(day, Decimal("-250.00"), "TRANSFER TO SAVINGS 1234", "NETBANK TFR SAVINGS"))
        if weekday < 5 and rng.random() < 0.55:
            if weekday in (1, 3):
                add(StatementRow(day, Decimal("-5.20"), "SQ *BEAN THERE CAFE", "CARD 4321 VALUE DATE"))
            else:
                add(StatementRow(day, Decimal("-4.50"), "EFTPOS PURCHASE THE DAILY GRIND", "CARD 4321"))
        if weekday == 5:
            shop = "WOOLWORTHS 1234 SYDNEY NS AUS" if day.isocalendar().week % 2 else "COLES 0456 NEWTOWN NS AUS"
            add(StatementRow(day, -_cents(rng, "84", "231"), shop, "CARD 4321"))
        if weekday == 2 and rng.random() < 0.2:
            add(StatementRow(day, -_cents(rng, "18", "46"), "ALDI STORES 92 MARRICKVILLE", "CARD 4321"))
        if day.day in (7, 19) or (day.day == 29 and rng.random() < 0.5):
            station = "CALTEX STAR MART ENMORE NS AUS" if day.day != 19 else "BP EXPRESS ST PETERS NS AUS"
            add(StatementRow(day, -_cents(rng, "58", "92"), station, "CARD 4321"))
        if weekday == 0 and day.day <= 7:
            add(StatementRow(day, Decimal("-20.00"), "TRANSPORTFORNSW OPAL CHIPPENDALE", "CARD 4321"))
        if day.day == 5:
            add(StatementRow(day, Decimal("-79.00"), "AUSSIE BROADBAND DIRECT DEBIT", None))
        if day.day == 12:
            add(StatementRow(day, -_cents(rng, "118", "176"), "AGL ENERGY LTD BPAY 1234567", "BPAY 23796"))
        if day.day == 15:
            add(StatementRow(day, Decimal("-118.40"), "NRMA INSURANCE DIRECT DEBIT", "POLICY MOT0445127"))
        if day.day == 20:
            add(StatementRow(day, Decimal("-89.00"), "TELSTRA DIRECT DEBIT 4470021", None))
        if day.day == 25:
            add(StatementRow(day, Decimal("-850.00"), "TRANSFER TO VISA CARD 4321", "NETBANK TFR"))
    if start <= date(2026, 10, 10) <= end:
        # A purchase returned four days later: the refund is a credit with the same shop.
        rows.append(StatementRow(date(2026, 10, 10), Decimal("-29.00"), "KMART 1047 BROADWAY NS AUS", "CARD 4321"))
        rows.append(StatementRow(date(2026, 10, 14), Decimal("29.00"), "REFUND KMART 1047 BROADWAY NS AUS",
                                 "CARD 4321"))
    if start <= date(2026, 10, 21) <= end:
        # Two identical coffees on one day (a shout for a colleague): both must be imported.
        for _ in range(2):
            rows.append(StatementRow(date(2026, 10, 21), Decimal("-4.50"), "EFTPOS PURCHASE THE DAILY GRIND",
                                     "CARD 4321"))
    if start <= date(2026, 9, 26) <= end:
        rows.append(StatementRow(date(2026, 9, 26), Decimal("-100.00"), "ATM WITHDRAWAL CBA NEWTOWN", None))
    rows.sort(key=lambda r: r.date)
    return rows


def creditcard_rows(start: date = STATEMENT_START, end: date = STATEMENT_END, seed: int = 1) -> list[StatementRow]:
    """The Visa card: subscriptions, eating out, shopping, and the monthly payment from everyday."""
    rng = random.Random(f"creditcard-{seed}-{start}")
    rows: list[StatementRow] = []
    add = rows.append
    occasional = [
        ("UBER *EATS HELP.UBER.COM NS AUS", "24", "58"), ("GUZMAN Y GOMEZ NEWTOWN NS AUS", "17", "39"),
        ("MAMAK HAYMARKET NS AUS", "48", "96"), ("THAI POTHONG NEWTOWN NS AUS", "62", "118"),
        ("AMAZON MKTPLC AU SYDNEY SOUTH", "19", "149"), ("JB HI FI BROADWAY NS AUS", "39", "299"),
        ("BUNNINGS 123000 ALEXANDRIA NS AUS", "12", "87"), ("CHEMIST WAREHOUSE 0123 NEWTOWN", "9", "64"),
        ("SECURE PARKING 4412 SYDNEY NS AUS", "18", "32"), ("UBER *TRIP HELP.UBER.COM NS AUS", "14", "41"),
        ("DAN MURPHYS 4321 ALEXANDRIA NS AUS", "32", "85"),
    ]
    for day in _days(start, end):
        if day.day == 3:
            add(StatementRow(day, Decimal("-16.99"), "PAYPAL *NETFLIX 4029357733 AUS", None))
        if day.day == 11:
            add(StatementRow(day, Decimal("-13.99"), "SPOTIFY P2A9C1F07E SYDNEY", None))
        if day.day == 26:
            add(StatementRow(day, Decimal("850.00"), "PAYMENT RECEIVED THANK YOU", None))
        if rng.random() < 0.42:
            text, low, high = occasional[rng.randrange(len(occasional))]
            add(StatementRow(day, -_cents(rng, low, high), text, None))
    if start <= date(2026, 10, 1) <= end:
        add(StatementRow(date(2026, 10, 1), Decimal("-99.00"), "ANNUAL FEE", None))
    rows.sort(key=lambda r: r.date)
    return rows


def savings_rows(start: date = STATEMENT_START, end: date = STATEMENT_END, seed: int = 1) -> list[StatementRow]:
    """The saver: the weekly transfer in (a day after it leaves everyday), interest, a tax refund, one withdrawal."""
    rows: list[StatementRow] = []
    for day in _days(start, end):
        if day.weekday() == 0 and day - timedelta(days=3) >= start:
            rows.append(StatementRow(day, Decimal("250.00"), "TRANSFER FROM EVERYDAY 5678"))
        if (day + timedelta(days=1)).day == 1:
            rows.append(StatementRow(day, Decimal("19.00") + Decimal(day.month) * Decimal("0.37"),
                                     "CREDIT INTEREST"))
    if start <= date(2026, 9, 16) <= end:
        rows.append(StatementRow(date(2026, 9, 16), Decimal("1284.50"), "DIRECT CREDIT ATO TAX REFUND"))
    if start <= date(2026, 10, 27) <= end:
        rows.append(StatementRow(date(2026, 10, 27), Decimal("-1200.00"), "TRANSFER TO EVERYDAY 5678 CAR REPAIR"))
    rows.sort(key=lambda r: r.date)
    return rows


def balance_before(account: DemoAccount, day: date) -> Decimal:
    """The account balance at the start of `day`, replaying the generated history from HISTORY_START."""
    generator = {EVERYDAY: everyday_rows, CREDIT_CARD: creditcard_rows, SAVINGS: savings_rows}[account]
    if day <= HISTORY_START:
        return account.opening_balance
    earlier = generator(HISTORY_START, day - timedelta(days=1), seed=0)
    return account.opening_balance + sum((r.amount for r in earlier), Decimal(0))


# ─── writing the three files ────────────────────────────────────────────────────────────────────

def _ofx_time(day: date) -> str:
    # Sydney: AEDT from the first Sunday of October, AEST before; a reader must keep the local date.
    zone = "[+11:AEDT]" if day >= date(2026, 10, 4) else "[+10:AEST]"
    return f"{day:%Y%m%d}000000{zone}"


def render_ofx(rows: list[StatementRow], opening: Decimal) -> str:
    """OFX 1.02 SGML, as Australian banks' "Money / Quicken" downloads look."""
    lines = [
        "OFXHEADER:100", "DATA:OFXSGML", "VERSION:102", "SECURITY:NONE", "ENCODING:USASCII", "CHARSET:1252",
        "COMPRESSION:NONE", "OLDFILEUID:NONE", "NEWFILEUID:NONE", "",
        "<OFX>", "<SIGNONMSGSRSV1>", "<SONRS>", "<STATUS>", "<CODE>0", "<SEVERITY>INFO", "</STATUS>",
        "<DTSERVER>20261124083000[+11:AEDT]", "<LANGUAGE>ENG", "</SONRS>", "</SIGNONMSGSRSV1>",
        "<BANKMSGSRSV1>", "<STMTTRNRS>", "<TRNUID>1", "<STATUS>", "<CODE>0", "<SEVERITY>INFO", "</STATUS>",
        "<STMTRS>", "<CURDEF>AUD", "<BANKACCTFROM>", f"<BANKID>{BANK_ID}", f"<ACCTID>{EVERYDAY.number}",
        "<ACCTTYPE>CHECKING", "</BANKACCTFROM>", "<BANKTRANLIST>",
        f"<DTSTART>{_ofx_time(STATEMENT_START)}", f"<DTEND>{_ofx_time(STATEMENT_END)}",
    ]
    balance = opening
    per_day: dict[date, int] = {}
    for row in rows:
        balance += row.amount
        seq = per_day[row.date] = per_day.get(row.date, 0) + 1
        lines += ["<STMTTRN>", f"<TRNTYPE>{'CREDIT' if row.amount > 0 else 'DEBIT'}",
                  f"<DTPOSTED>{_ofx_time(row.date)}", f"<TRNAMT>{row.amount}",
                  f"<FITID>{row.date:%Y%m%d}{EVERYDAY.number[-4:]}{seq:03d}", f"<NAME>{row.text}"]
        if row.memo:
            lines.append(f"<MEMO>{row.memo}")
        lines.append("</STMTTRN>")
    lines += ["</BANKTRANLIST>", "<LEDGERBAL>", f"<BALAMT>{balance}", f"<DTASOF>{_ofx_time(STATEMENT_END)}",
              "</LEDGERBAL>", "<AVAILBAL>", f"<BALAMT>{balance}", f"<DTASOF>{_ofx_time(STATEMENT_END)}",
              "</AVAILBAL>", "</STMTRS>", "</STMTTRNRS>", "</BANKMSGSRSV1>", "</OFX>", ""]
    return "\r\n".join(lines)


def render_qif(rows: list[StatementRow]) -> str:
    """QIF for a credit card, day-first dates without zero padding (D/M/YYYY)."""
    lines = ["!Account", f"N{CREDIT_CARD.name}", "TCCard", "^", "!Type:CCard"]
    for row in rows:
        lines += [f"D{row.date.day}/{row.date.month}/{row.date.year}", f"T{row.amount}", f"P{row.text}"]
        if row.memo:
            lines.append(f"M{row.memo}")
        lines.append("^")
    return "\r\n".join(lines) + "\r\n"


def _signed(value: Decimal) -> str:
    return f"+{value}" if value >= 0 else str(value)


def render_cba_csv(rows: list[StatementRow], opening: Decimal) -> str:
    """CommBank NetBank's CSV export: no header, every field quoted, signed amounts and balances, newest first."""
    balance = opening
    lines = []
    for row in rows:
        balance += row.amount
        lines.append(f'"{row.date:%d/%m/%Y}","{_signed(row.amount)}","{row.text}","{_signed(balance)}"')
    return "\r\n".join(reversed(lines)) + "\r\n"


def write_samples(directory: str | Path) -> list[Path]:
    """Write everyday.ofx, creditcard.qif and savings.csv into `directory`."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    outputs = {
        EVERYDAY.statement_file: render_ofx(everyday_rows(), balance_before(EVERYDAY, STATEMENT_START)),
        CREDIT_CARD.statement_file: render_qif(creditcard_rows()),
        SAVINGS.statement_file: render_cba_csv(savings_rows(), balance_before(SAVINGS, STATEMENT_START)),
    }
    written = []
    for name, text in outputs.items():
        path = directory / name
        path.write_bytes(text.encode("ascii"))
        written.append(path)
    return written


if __name__ == "__main__":
    for written_path in write_samples(sys.argv[1] if len(sys.argv) > 1 else "sample_statements"):
        print(written_path)
