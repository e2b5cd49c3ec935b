"""Dedupe quality: generated households whose statements overlap PocketSmith, with ground truth per row.

Each seed is one everyday account over about four months:
- PocketSmith already holds: an old upload through PocketSmith's own file import (posting dates, statement
  text), an earlier psimport import (journal ids), a stretch the user typed by hand (nicknames like "Woolies",
  exact amounts, dates off by up to two days, some forgotten), then a bank feed (transaction dates, cleaned
  payees, raw `original_payee`, 2% of days' items missing) ending in pending items, some already superseded by
  their posted twin, restaurant pendings before the tip.
- The run imports two overlapping statements (last month's and this month's; posting dates trail the
  transaction by the bank's delay of 0-2 business days, a fifth of merchants a day sooner or later, 8% of
  items a day late, weekends to Monday; NAME cut at 32 characters with the rest in MEMO).
- Traps throughout: a weekday 4.50 coffee, two identical purchases on one day, refunds of the same amount,
  whole-dollar amounts at several shops on the same day, recurring identical salary/rent/gym amounts, and
  look-alikes of new rows in another account.

A row is "present" when PocketSmith holds its transaction in this account (or it repeats an earlier file's
row); otherwise "new". lost = new rows called duplicate; doubled = present rows created. The other tools'
matchers (benchmarks/baselines.py) see the files one after the other, as they would be imported, each
later file also seeing what the earlier one created.

Households with more runs (seeds from 1001) add a second weekday purchase at one price (a 7.90 juice,
a habit since the bank feed began), a bank posting a day or two after the purchase and running late more
often (15%), and a feed that drops 6% of those small purchases: where runs lose a row and double another
a few days apart.

    python benchmarks/dedupe_quality.py [--quick] [--seeds N] [--run-seeds M]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _timing import report_targets  # noqa: E402
from baselines import BASELINES  # noqa: E402

from importer.dedupe import dedupe  # noqa: E402
from importer.pocketsmith.models import PsTransaction  # noqa: E402
from importer.record import Transaction  # noqa: E402

ACCOUNT, OTHER_ACCOUNT = 11, 12
FILE_A, FILE_B = "statement-last-month.ofx", "statement-this-month.ofx"
# Day numbers relative to the household's start.
A_DAYS, B_DAYS = (0, 45), (38, 80)
UPLOAD_DAYS, PSIMPORT_DAYS, HAND_DAYS, FEED_FROM, FEED_TO, PENDING_FROM = (-20, 8), (9, 20), (21, 30), 31, 76, 74


@dataclass
class Merchant:
    clean: str                 # what PocketSmith's feed shows as payee
    statement: str             # the bank's statement text (before truncation to 32 characters)
    feed: str                  # the feed's raw original_payee
    nicknames: tuple[str, ...]  # what a person types by hand


MERCHANTS = {
    "coffee": Merchant("The Daily Grind", "SQ *DAILY GRIND 5521 SURRY HILLS", "SQ *DAILY GRIND SURRY HILLS NSW AU",
                       ("Daily Grind", "coffee daily grind", "Coffee")),
    "woolworths": Merchant("Woolworths", "WOOLWORTHS 1234 BONDI JUNCTION", "WOOLWORTHS 1234 BONDI JUNCTI NSW AU",
                           ("Woolies", "Woolworths", "woolies groceries")),
    "coles": Merchant("Coles", "COLES 0456 BONDI", "COLES 0456 BONDI NSW AU", ("Coles", "coles supermarket")),
    "aldi": Merchant("Aldi", "ALDI STORES - ROSEBERY", "ALDI STORES ROSEBERY NSW AU", ("Aldi",)),
    "caltex": Merchant("Caltex", "CALTEX WOOLLAHRA 0231", "CALTEX WOOLLAHRA WOOLLAHRA NSW AU", ("Caltex", "petrol")),
    "ampol": Merchant("Ampol", "AMPOL BONDI JUNCTION 44", "AMPOL BONDI JUNCTION NSW AU", ("Ampol fuel",)),
    "thai": Merchant("Chat Thai", "CHAT THAI HAYMARKET", "CHAT THAI HAYMARKET NSW AU", ("Chat Thai", "thai dinner")),
    "mamak": Merchant("Mamak", "MAMAK CHINATOWN 02", "MAMAK CHINATOWN HAYMARKET NSW AU", ("Mamak",)),
    "kmart": Merchant("Kmart", "KMART 1022 EASTGARDENS", "KMART EASTGARDENS NSW AU", ("Kmart",)),
    "parking": Merchant("Wilson Parking", "WILSON PARKING 2201 SYDNEY", "WILSON PARKING SYDNEY NSW AU", ("parking",)),
    "carwash": Merchant("Bondi Car Wash", "BONDI HAND CAR WASH", "BONDI HAND CAR WASH BONDI NSW AU", ("car wash",)),
    "canteen": Merchant("School Canteen", "FLEXISCHOOLS CANTEEN", "FLEXISCHOOLS CANTEEN SYDNEY AU", ("canteen",)),
    "atm": Merchant("ATM Withdrawal", "ATM WITHDRAWAL 9876 BONDI", "ATM WITHDRAWAL 9876 BONDI NSW AU", ("cash",)),
    "netflix": Merchant("Netflix", "PAYPAL *NETFLIX.COM 4029357733", "PAYPAL *NETFLIX.COM SYDNEY AU", ("Netflix",)),
    "spotify": Merchant("Spotify", "SPOTIFY P1A2B3C4D5 SYDNEY", "SPOTIFY SYDNEY AU", ("Spotify",)),
    "gym": Merchant("Fitness First", "DIRECT DEBIT FITNESS FIRST 88231", "FITNESS FIRST AUSTRALIA", ("gym",)),
    "salary": Merchant("Acme Pty Ltd", "SALARY ACME PTY LTD 000341", "SALARY ACME PTY LTD", ("Salary", "pay")),
    "rent": Merchant("Ray White Rentals", "TRANSFER TO RAY WHITE RENTALS REF 4471", "RAY WHITE RENTALS REF 4471",
                     ("Rent",)),
    "savings": Merchant("Transfer to Savings", "INTERNET TRANSFER TO SAVINGS 7788", "TRANSFER TO SAVINGS 7788",
                        ("savings",)),
    "geographic": Merchant("Australian Geographic", "PAYPAL *AUSTRALIANGEOGRAPHICSHOP ONLINE SYDNEY",
                           "PAYPAL *AUSTRALIANGEOGRAPHICSHOP ONLINE SYDNEY AU", ("Aust Geographic",)),
    "botanic": Merchant("Botanic Gardens Restaurant", "SMP*THE BOTANIC GARDENS RESTAURANT SYDNEY",
                        "SMP*THE BOTANIC GARDENS RESTAURANT SYDNEY AU", ("Botanic Gardens lunch",)),
    "bunnings": Merchant("Bunnings", "BUNNINGS 7734 ALEXANDRIA", "BUNNINGS ALEXANDRIA NSW AU", ("Bunnings",)),
    "chemist": Merchant("Chemist Warehouse", "CHEMIST WAREHOUSE BONDI 112", "CHEMIST WAREHOUSE BONDI NSW AU",
                        ("chemist",)),
}
# Only in the households with more runs (kept apart so the other households stay exactly as they were).
RUN_MERCHANTS = MERCHANTS | {
    "juice": Merchant("Boost Juice", "BOOST JUICE 0187 WORLD SQUARE", "BOOST JUICE WORLD SQUARE SYDNEY AU",
                      ("Boost", "juice"))}
TIPPED = {"thai", "mamak", "botanic"}
SMALL_RUNS = {"coffee", "juice"}   # a weekday purchase at one price


@dataclass
class Event:
    """One real transaction in the account."""

    key: int
    merchant: str
    tdate: int        # transaction day (what the feed carries)
    pdate: int        # posting day (what the statement carries)
    amount: Decimal
    pending_amount: Decimal
    refund: bool = False
    twin: bool = False    # a second identical purchase the same day


def _money(rng: random.Random, low: float, high: float) -> Decimal:
    return Decimal(rng.randint(int(low * 100), int(high * 100))) / 100


def _posting_lag(rng: random.Random, start: date, day: int, settles_after: int, late_share: float = 0.08) -> int:
    """Posting trails the purchase by a number of business days (a weekend purchase posts on a weekday
    even at zero delay), and now and then a batch runs a day late."""
    lag = 0
    steps = settles_after + (1 if rng.random() < late_share else 0)
    while steps or (start + timedelta(day + lag)).weekday() >= 5:
        lag += 1
        if (start + timedelta(day + lag)).weekday() < 5:
            steps = max(0, steps - 1)
    return lag


def generate_events(rng: random.Random, start: date, runs: bool = False) -> list[Event]:
    """A household's transactions. With `runs`, more runs of identical small purchases: a second weekday
    one at one price since the feed began, and a bank that posts a day or two after the purchase and runs
    late more often."""
    events: list[Event] = []

    # The bank posts card purchases after its own delay; a fifth of merchants settle a day sooner or later;
    # direct debits and transfers post the same day.
    bank_lag = rng.choice((1, 2)) if runs else rng.choice((0, 1, 1, 2))
    late_share = 0.15 if runs else 0.08
    settles = {name: max(0, bank_lag + (rng.choice((-1, 1)) if rng.random() < 0.2 else 0)) for name in sorted(MERCHANTS)}
    settles.update(dict.fromkeys(("salary", "rent", "gym", "savings", "netflix", "spotify"), 0))
    if runs:
        settles["juice"] = bank_lag

    def add(merchant: str, day: int, amount: Decimal, refund: bool = False, pending: Decimal | None = None,
            twin: bool = False):
        lag = _posting_lag(rng, start, day, settles[merchant], late_share)
        events.append(Event(len(events), merchant, day, day + lag, amount,
                            amount if pending is None else pending, refund, twin))

    salary = _money(rng, 2800, 4200)
    rent = -Decimal(rng.choice((1950, 2150, 2400)))
    for day in range(-30, 84):
        weekday = (start + timedelta(day)).weekday()
        if weekday < 5 and rng.random() < 0.93:
            add("coffee", day, Decimal("-4.50"))
            if rng.random() < 0.08:          # a second, identical coffee the same day
                add("coffee", day, Decimal("-4.50"), twin=True)
        if runs and day >= FEED_FROM and weekday < 5 and rng.random() < 0.8:   # a habit since the feed began
            add("juice", day, Decimal("-7.90"))
        if rng.random() < 0.35:
            amount = -_money(rng, 18, 190)
            add(rng.choice(("woolworths", "coles", "aldi")), day, amount)
            if rng.random() < 0.03:           # two identical purchases on one day, both real
                add(events[-1].merchant, day, amount, twin=True)
            if rng.random() < 0.04:           # refunded a few days later
                add(events[-1].merchant, day + rng.randint(2, 9), -amount, refund=True)
        if rng.random() < 0.14:
            add(rng.choice(("caltex", "ampol")), day, -_money(rng, 38, 96))
        if rng.random() < 0.12:
            bill = _money(rng, 35, 140)
            tip = (bill * Decimal(rng.choice((0, 0, 10, 15))) / 100).quantize(Decimal("0.01"))
            add(rng.choice(sorted(TIPPED)), day, -(bill + tip), pending=-bill)
        if rng.random() < 0.18:               # whole dollars at different shops, often on the same day
            for shop in rng.sample(("parking", "carwash", "canteen", "kmart"), rng.choice((1, 1, 2))):
                add(shop, day, -Decimal(rng.choice((10, 20, 20, 30))))
        if rng.random() < 0.06:
            add("atm", day, -Decimal(rng.choice((50, 100, 200))))
        if rng.random() < 0.08:
            add(rng.choice(("bunnings", "chemist", "kmart", "geographic")), day, -_money(rng, 6, 160))
            if events[-1].merchant == "kmart" and rng.random() < 0.2:
                add("kmart", day + rng.randint(1, 6), -events[-1].amount, refund=True)
        if rng.random() < 0.03:
            add("botanic", day, -_money(rng, 60, 180))
        if weekday == 0:
            add("gym", day, Decimal("-19.95"))
        if day % 14 == 3:
            add("salary", day, salary)
        if day % 30 == 1:
            add("rent", day, rent)
            add("netflix", day + 4, Decimal("-16.99"))
            add("spotify", day + 9, Decimal("-11.99"))
        if rng.random() < 0.04:
            add("savings", day, -Decimal(rng.choice((200, 500, 500, 1000))))
    return events


def _statement_text(event: Event) -> tuple[str, str | None]:
    text = RUN_MERCHANTS[event.merchant].statement
    if event.refund:
        text = "REFUND " + text
    # OFX 1.x NAME holds 32 characters: banks cut there and carry the rest in MEMO.
    if len(text) > 32:
        return text[:32], text[32:].strip() or None
    return text, None


def build_run(seed: int, runs: bool = False):
    """Statement rows, PocketSmith's transactions, the journal, the truth per row, and each row's situation
    and traps (for the breakdown). With `runs`, a household with more runs of identical small purchases,
    whose feed drops more of them (see generate_events)."""
    rng = random.Random(seed)
    start = date(2024, 1, 1) + timedelta(days=rng.randint(0, 300))
    day = lambda n: start + timedelta(days=n)  # noqa: E731
    events = generate_events(rng, start, runs)
    feed_misses = {name: (0.06 if runs and name in SMALL_RUNS else 0.02) for name in RUN_MERCHANTS}

    rows: list[Transaction] = []
    row_event: list[int] = []
    for name, (low, high) in ((FILE_A, A_DAYS), (FILE_B, B_DAYS)):
        line = 0
        for event in sorted(events, key=lambda e: (e.pdate, e.key)):
            if low <= event.pdate <= high:
                line += 1
                text, memo = _statement_text(event)
                rows.append(Transaction(date=day(event.pdate), amount=event.amount, payee=text, original_payee=text,
                                        memo=memo, external_id=f"FITID{seed}-{event.key}", file=name, line=line))
                row_event.append(event.key)

    existing: list[PsTransaction] = []
    journal: dict[str, int] = {}
    present: set[int] = set()
    held_as: dict[int, str] = {}
    elsewhere: set[int] = set()
    next_id = iter(range(seed * 1_000_000 + 1, seed * 1_000_000 + 999_999))

    def hold(event: Event, when: int, payee: str, original: str, source: str, status: str = "posted",
             amount: Decimal | None = None, memo: str | None = None, account: int = ACCOUNT) -> int:
        ps_id = next(next_id)
        existing.append(PsTransaction(id=ps_id, date=day(when), amount=event.amount if amount is None else amount,
                                      payee=payee, original_payee=original, memo=memo, status=status,
                                      transaction_account_id=account, upload_source=source))
        if account == ACCOUNT:
            present.add(event.key)
            if status == "pending":
                held_as[event.key] = "held: pending only"
            elif held_as.get(event.key) == "held: pending only":
                held_as[event.key] = "held: pending + its posted twin"
            else:
                held_as[event.key] = {"file": "held: PocketSmith's own upload", "api": "held: earlier psimport import",
                                      "manual": "held: typed by hand"}.get(source, "held: bank feed")
        else:
            elsewhere.add(event.key)
        return ps_id

    for event in events:
        merchant = RUN_MERCHANTS[event.merchant]
        text, memo = _statement_text(event)
        feed_raw = ("REFUND " if event.refund else "") + merchant.feed
        if UPLOAD_DAYS[0] <= event.pdate <= UPLOAD_DAYS[1]:
            hold(event, event.pdate, text.title(), text, "file", memo=memo)
        elif PSIMPORT_DAYS[0] <= event.pdate <= PSIMPORT_DAYS[1]:
            journal[f"FITID{seed}-{event.key}"] = hold(event, event.pdate, text, text, "api", memo=memo)
        elif HAND_DAYS[0] <= event.tdate <= HAND_DAYS[1] and event.pdate > PSIMPORT_DAYS[1]:
            if rng.random() < 0.7:
                # People type the brand mostly ("Woolies"), sometimes what it was ("petrol"); the date is
                # the day they remember, usually right, sometimes a day or two off.
                nickname = merchant.nicknames[0] if rng.random() < 0.8 else rng.choice(merchant.nicknames)
                off = rng.choices((0, -1, 1, -2, 2), (60, 12, 13, 7, 8))[0]
                hold(event, event.tdate + off, nickname, nickname, "manual")
        elif FEED_FROM <= event.tdate:
            if event.tdate >= PENDING_FROM:
                hold(event, event.tdate, merchant.clean, feed_raw, "feed", status="pending",
                     amount=event.pending_amount)
                if event.tdate <= FEED_TO and rng.random() < 0.5:   # posted twin arrived, pending not yet gone
                    hold(event, event.tdate, merchant.clean, feed_raw, "feed")
            elif event.tdate <= FEED_TO and rng.random() > feed_misses[event.merchant]:   # the feed misses some
                hold(event, event.tdate, merchant.clean, feed_raw, "feed")
        if event.key not in present and rng.random() < 0.04:
            # A look-alike in another account: a shared card bought the same thing the same day.
            hold(event, event.tdate, merchant.clean, feed_raw, "feed", account=OTHER_ACCOUNT)
    rng.shuffle(existing)

    truth: list[bool] = []
    labels: list[list[str]] = []
    seen_in_a: set[int] = set()
    by_key = {e.key: e for e in events}
    for row, key in zip(rows, row_event):
        event = by_key[key]
        if row.file == FILE_A:
            seen_in_a.add(key)
            truth.append(key in present)
        else:
            truth.append(key in present or key in seen_in_a)
        situation = ("repeat of last month's file" if row.file == FILE_B and key in seen_in_a
                     else held_as.get(key, "new: not in PocketSmith"))
        traps = [label for label, hit in (
            ("trap: weekday 4.50 coffee", event.merchant == "coffee"),
            ("trap: weekday 7.90 juice", event.merchant == "juice"),
            ("trap: identical purchase same day", event.twin),
            ("trap: refund of the same amount", event.refund),
            ("trap: whole dollars at several shops", event.merchant in ("parking", "carwash", "canteen", "atm")
             or (event.merchant == "kmart" and event.amount == event.amount.to_integral_value())),
            ("trap: look-alike in another account", key in elsewhere),
            ("trap: NAME cut at 32, rest in MEMO", row.memo is not None),
            ("trap: pending amount before the tip", event.pending_amount != event.amount
             and held_as.get(key) == "held: pending only")) if hit]
        labels.append([situation] + traps)
    return rows, existing, journal, truth, labels


def _run_baseline(matcher, rows, existing, journal):
    """A tool imports the files one at a time; what it created from one file is there for the next."""
    own = [e for e in existing if e.transaction_account_id == ACCOUNT]
    stored = dict(journal)
    actions: list[str] = []
    for name in (FILE_A, FILE_B):
        part = [r for r in rows if r.file == name]
        got = matcher(part, own, stored)
        actions.extend(got)
        for row, action in zip(part, got):
            if action == "create":
                ps_id = 900_000_000 + len(own)
                own = own + [PsTransaction(id=ps_id, date=row.date, amount=row.amount, payee=row.payee,
                                           original_payee=row.original_payee, memo=row.memo,
                                           transaction_account_id=ACCOUNT)]
                stored[row.external_id] = ps_id
    return actions


def _ours(rows, existing, journal):
    return [d.action for d in dedupe(rows, existing, imported=journal, account_id=ACCOUNT)]


def score(rows: list[Transaction], actions: list[str], truth: list[bool],
          labels: list[list[str]] | None = None, by_label: dict | None = None) -> dict[str, int]:
    """Errors counted per group of rows a person could not tell apart (same file, date, amount and text):
    two identical coffees posted on one day, one already in PocketSmith, are one duplicate and one create
    whichever way round they are called. With `labels`, errors and reviews are also added up per label
    in `by_label`."""
    groups: dict[tuple, list[int]] = {}
    for index, row in enumerate(rows):
        groups.setdefault((row.file, row.date, row.amount, row.original_payee, row.memo), []).append(index)
    lost = doubled = 0
    for members in groups.values():
        present = sum(truth[i] for i in members)
        called_duplicate = sum(actions[i] == "duplicate" for i in members)
        called_create = sum(actions[i] == "create" for i in members)
        group_lost = max(0, called_duplicate - present)
        group_doubled = max(0, called_create - (len(members) - present))
        lost += group_lost
        doubled += group_doubled
        if labels is not None:
            for index in members:
                for label in labels[index]:
                    tally = by_label.setdefault(label, {"rows": 0, "errors": 0, "review": 0})
                    tally["rows"] += 1
                    tally["review"] += actions[index] == "review"
            for label in labels[members[0]]:
                by_label[label]["errors"] += group_lost + group_doubled
    review = sum(1 for a in actions if a == "review")
    return {"rows": len(actions), "lost": lost, "doubled": doubled, "review": review}


RUN_SEEDS_FROM = 1001   # the households with more runs: seeds 1001, 1002, ...


def run(seeds: int, runs: bool = False) -> tuple[str, str, dict[str, dict[str, int]], float]:
    methods = {"psimport": _ours} | {name: (lambda f: (lambda r, e, j: _run_baseline(f, r, e, j)))(fn)
                                     for name, fn in BASELINES.items()}
    totals = {name: {"rows": 0, "lost": 0, "doubled": 0, "review": 0} for name in methods}
    by_label: dict[str, dict[str, dict[str, int]]] = {name: {} for name in methods}
    elapsed = 0.0
    first = RUN_SEEDS_FROM if runs else 1
    for seed in range(first, first + seeds):
        rows, existing, journal, truth, labels = build_run(seed, runs)
        for name, method in methods.items():
            began = time.perf_counter()
            actions = method(rows, existing, journal)
            if name == "psimport":
                elapsed += time.perf_counter() - began
            for k, v in score(rows, actions, truth, labels, by_label[name]).items():
                totals[name][k] += v
    lines = ["| matcher | rows | lost | doubled | review | lost+doubled | review % |",
             "|---|---|---|---|---|---|---|"]
    for name, t in totals.items():
        errors = t["lost"] + t["doubled"]
        lines.append(f"| {name} | {t['rows']} | {t['lost']} | {t['doubled']} | {t['review']} | "
                     f"{errors} ({100 * errors / t['rows']:.2f}%) | {100 * t['review'] / t['rows']:.2f}% |")
    names = list(methods)
    breakdown = ["| rows by situation and trap | rows | " + " | ".join(f"{n} errors" for n in names)
                 + " | psimport review |", "|---|---|" + "---|" * (len(names) + 1)]
    for label in sorted(by_label["psimport"], key=lambda x: (x.startswith("trap"), x)):
        ours = by_label["psimport"][label]
        breakdown.append(f"| {label} | {ours['rows']} | "
                         + " | ".join(str(by_label[n].get(label, {}).get("errors", 0)) for n in names)
                         + f" | {ours['review']} |")
    return "\n".join(lines), "\n".join(breakdown), totals, elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 + 10 households instead of 100 + 50")
    parser.add_argument("--seeds", type=int, help="how many generated households")
    parser.add_argument("--run-seeds", type=int, help="how many households with more runs of small purchases")
    args = parser.parse_args()
    seeds = args.seeds or (20 if args.quick else 100)
    run_seeds = args.run_seeds if args.run_seeds is not None else (10 if args.quick else 50)
    targets = []
    for title, count, runs in ((f"{seeds} generated households (seeds 1..{seeds})", seeds, False),
                               (f"{run_seeds} households with more runs of identical small purchases (seeds "
                                f"{RUN_SEEDS_FROM}..{RUN_SEEDS_FROM + run_seeds - 1})", run_seeds, True)):
        if not count:
            continue
        table, breakdown, totals, elapsed = run(count, runs)
        print(f"Dedupe quality over {title}; psimport took {elapsed:.2f} s.\n")
        print(table)
        print("\nErrors (lost + doubled) where they happened; a row may have several traps:\n")
        print(breakdown)
        print()
        ours = totals["psimport"]
        errors = ours["lost"] + ours["doubled"]
        where = "with more runs: " if runs else ""
        targets += [(f"{where}lost+doubled <= 0.5% of rows", errors <= 0.005 * ours["rows"]),
                    (f"{where}review <= 3% of rows", ours["review"] <= 0.03 * ours["rows"]),
                    (f"{where}fewer errors than every other matcher",
                     all(errors < t["lost"] + t["doubled"] for name, t in totals.items() if name != "psimport"))]
    return report_targets(targets)


if __name__ == "__main__":
    sys.exit(main())
