"""Suggestion quality: rules suggested from the older part of a household's history, scored on its next statements.

Each seed is one household over a year. PocketSmith holds its transactions as a bank feed gives them
(`original_payee` the feed's text, `payee` PocketSmith's tidy form of it, or the name the user gave the
merchant: "HJ 0412 PYRMONT" renamed "Hungry Jack's"), and half the households started with an upload of
statement files (NAME cut at 32 characters, the rest, or the whole text, in MEMO). The user's category is
the merchant's, with 2% slips. Merchants include brands that sell two things (a supermarket's fuel outlet
and phone plan, a ride-hailing app's food delivery) and a long tail seen once or twice.

`rules suggest` runs on the first nine months (the real `suggest_rules`, written out with
`suggestions_file` and loaded as a rules file); the last three months are scored as the next statements
would give them: the statement's own texts, which differ from the feed's ("HUNGRY JACKS PYRMONT", "DIRECT
DEBIT TELSTRA 88231004", NAME cut at 32). Coverage is the share of rows the rules categorise, precision the
share of those they categorise as the user would. The baseline is a multinomial naive Bayes over the words
of payee, original payee and memo, trained on the same nine months, which always answers.

    python benchmarks/suggest_quality.py [--quick] [--seeds N]
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _timing import report_targets  # noqa: E402

from importer.pocketsmith.models import PsTransaction  # noqa: E402
from importer.record import Transaction  # noqa: E402
from importer.rules import load_rules  # noqa: E402
from importer.rules.history import History  # noqa: E402
from importer.rules.subject import subject_from_record  # noqa: E402
from importer.rules.suggest import suggest_rules, suggestions_file  # noqa: E402

MONTHS, LEARN_MONTHS = 12, 9
NAME_LIMIT = 32


@dataclass(frozen=True)
class Brand:
    """A merchant: its category, how the feed and the statement write it, what the user may call it."""

    category: str
    feed: str              # PocketSmith's original_payee; {store} {place} {ref} filled in
    statement: str         # the statement's text before the NAME limit
    per_month: float       # how many transactions a month, on average
    low: float             # amount range (money out negative)
    high: float
    renamed: str | None = None   # the payee the user gives it in PocketSmith, when they rename it


BRANDS: dict[str, Brand] = {
    # Supermarkets, and the same brands' fuel outlets and phone plans.
    "woolworths": Brand("Groceries", "WOOLWORTHS {store} {place} NSW AU", "WOOLWORTHS {store} {place}", 5, -190, -12),
    "woolworths-petrol": Brand("Fuel", "WOOLWORTHS PETROL {store} {place} AU", "WOOLWORTHS PETROL {store} {place}",
                               1.5, -95, -35),
    "woolworths-mobile": Brand("Phone", "WOOLWORTHS MOBILE {ref}", "DIRECT DEBIT WOOLWORTHS MOBILE {ref}", 1,
                               -45, -45),
    "coles": Brand("Groceries", "COLES {store} {place} NSW AU", "COLES {store} {place}", 4, -180, -10),
    "coles-express": Brand("Fuel", "COLES EXPRESS {store} {place} NSW AU", "COLES EXPRESS {store} {place}", 1.5,
                           -95, -30),
    "aldi": Brand("Groceries", "ALDI STORES {place} NSW AU", "ALDI STORES - {place}", 3, -150, -15),
    "aldi-mobile": Brand("Phone", "ALDI MOBILE {ref}", "ALDI MOBILE {ref} SYDNEY", 1, -25, -25),
    # A ride-hailing app's rides and its food delivery.
    "uber": Brand("Transport", "UBER *TRIP HELP.UBER.COM SYDNEY AU", "UBER *TRIP {ref} SYDNEY", 3, -48, -9),
    "uber-eats": Brand("Takeaway", "UBER *EATS HELP.UBER.COM SYDNEY AU", "UBER *EATS {ref} SYDNEY", 2.5, -60, -18),
    # Feed and statement disagree; the user renamed the merchant.
    "hungry-jacks": Brand("Takeaway", "HJ {store} {place}", "HUNGRY JACKS {place}", 2, -24, -8, "Hungry Jack's"),
    "mcdonalds": Brand("Takeaway", "MCDONALDS {place} NSW", "MCDONALD'S {place} {store}", 2, -20, -6, "McDonald's"),
    "bws": Brand("Alcohol", "BWS LIQUOR {store} {place}", "BEER WINE SPIRITS {store} {place}", 1, -70, -20, "BWS"),
    "telstra": Brand("Phone", "TELSTRA CORP LTD", "DIRECT DEBIT TELSTRA {ref}", 1, -89, -89),
    "agl": Brand("Utilities", "AGL SALES PTY LTD", "BPAY AGL ENERGY {ref}", 0.34, -420, -180, "AGL Energy"),
    "sydney-water": Brand("Utilities", "SYDNEY WATER CORP", "BPAY SYDNEY WATER {ref}", 0.34, -260, -120),
    "fitness-first": Brand("Health & Fitness", "FITNESS FIRST AUSTRALIA", "DIRECT DEBIT FITNESS FIRST {ref}", 4.3,
                           -19.95, -19.95),
    "jb-hifi": Brand("Shopping", "JB HI FI {place} NSW AU", "JB HI-FI {store} {place}", 0.4, -400, -20, "JB Hi-Fi"),
    "seven-eleven": Brand("Fuel", "7-ELEVEN {store} {place} NSW AU", "7 ELEVEN {store} {place}", 1, -90, -20,
                          "7-Eleven"),
    # Texts alike on both sides, but for store numbers and places.
    "kmart": Brand("Shopping", "KMART {place} NSW AU", "KMART {store} {place}", 1.2, -120, -5),
    "bunnings": Brand("Home", "BUNNINGS {place} NSW AU", "BUNNINGS {store} {place}", 1, -250, -6),
    "chemist": Brand("Health & Fitness", "CHEMIST WAREHOUSE {place} NSW AU", "CHEMIST WAREHOUSE {place} {store}",
                     1, -80, -6),
    "netflix": Brand("Subscriptions", "NETFLIX.COM SYDNEY AU", "PAYPAL *NETFLIX.COM {ref}", 1, -16.99, -16.99),
    "spotify": Brand("Subscriptions", "SPOTIFY SYDNEY AU", "SPOTIFY P{ref} SYDNEY", 1, -11.99, -11.99),
    "daily-grind": Brand("Coffee", "SQ *DAILY GRIND {place} NSW AU", "SQ *DAILY GRIND {store} {place}", 14,
                         -5.5, -4.5),
    "salary": Brand("Salary", "SALARY ACME PTY LTD", "SALARY ACME PTY LTD {ref}", 2.17, 3100, 3100),
    "rent": Brand("Rent", "RAY WHITE RENTALS REF {store}", "TRANSFER TO RAY WHITE RENTALS REF {store}", 1,
                  -2150, -2150, "Rent"),
    "opal": Brand("Transport", "TRANSPORTFORNSW OPAL CHATSWOOD AU", "TRANSPORTFORNSW OPAL {ref}", 4, -50, -20,
                  "Opal top-up"),
    "wilson": Brand("Parking", "WILSON PARKING {place} NSW AU", "WILSON PARKING {store} {place}", 1, -30, -8),
    # Long texts: a statement cuts NAME at 32 characters.
    "botanic": Brand("Dining", "SMP*THE BOTANIC GARDENS RESTAURANT SYDNEY AU",
                     "SMP*THE BOTANIC GARDENS RESTAURANT SYDNEY", 0.5, -180, -60),
    "geographic": Brand("Shopping", "PAYPAL *AUSTRALIANGEOGRAPHICSHOP ONLINE AU",
                        "PAYPAL *AUSTRALIANGEOGRAPHICSHOP ONLINE SYDNEY", 0.4, -90, -15, "Australian Geographic"),
    "icebergs": Brand("Dining", "BONDI ICEBERGS CLUB BONDI BEACH NSW AU",
                      "EFTPOS PURCHASE {ref} BONDI ICEBERGS CLUB BONDI BEACH", 0.6, -140, -30, "Icebergs"),
    "nrma": Brand("Insurance", "NRMA INSURANCE {ref}", "DIRECT DEBIT PURCHASE NRMA INSURANCE POLICY {ref}", 1,
                  -112.4, -112.4),
}
# Always there: the pairs a rule could confuse, and the renamed ones.
CORE = ("woolworths", "woolworths-petrol", "coles", "coles-express", "aldi", "aldi-mobile", "uber", "uber-eats",
        "hungry-jacks", "telstra", "salary", "rent")

PLACES = ("BONDI JUNCTION", "PYRMONT", "NEWTOWN", "CHATSWOOD", "PARRAMATTA", "MARRICKVILLE", "ROSEBERY",
          "SURRY HILLS", "RANDWICK", "MANLY", "HURSTVILLE", "BURWOOD")
# The long tail: a kind of shop whose word may or may not say its category, a name, a place.
TAIL_KINDS = (("CAFE", "Coffee"), ("PIZZA", "Takeaway"), ("SUSHI", "Takeaway"), ("PHARMACY", "Health & Fitness"),
              ("HAIR", "Personal Care"), ("FLORIST", "Gifts"), ("BOOKS", "Shopping"), ("HARDWARE", "Home"),
              ("DENTAL", "Health & Fitness"), ("BAKERY", "Groceries"), ("", "Shopping"), ("", "Dining"),
              ("", "Personal Care"), ("PTY LTD", "Home"))
TAIL_NAMES = ("ROSSI", "KOWALSKI", "NGUYEN", "PATEL", "OKAFOR", "LINDQVIST", "MORETTI", "TANAKA", "OBRIEN",
              "HASSAN", "DUBOIS", "SILVA", "KIM", "WALSH", "BIANCHI", "FERREIRA", "MURPHY", "SCHMIDT", "COSTA",
              "HOLLOWAY", "ASHFORD", "BELLWOOD", "CRANBROOK", "DALTON", "ELMSWORTH", "FAIRLEIGH")
SLIP_RATE = 0.02          # the user filed a transaction under another category
UPLOADED_MONTHS = 2       # households that began with a file upload: its first months


def _fill(template: str, rng: random.Random, store: str, place: str) -> str:
    ref = "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(rng.choice((5, 6, 8))))
    if "{ref}" in template and rng.random() < 0.5:
        ref = "".join(rng.choice("0123456789") for _ in range(len(ref)))
    return template.format(store=store, place=place, ref=ref)


def _cut(text: str, whole_in_memo: bool) -> tuple[str, str | None]:
    """An OFX 1.x NAME and MEMO: NAME holds 32 characters; the rest (or, at some banks, the whole) goes to MEMO."""
    if len(text) <= NAME_LIMIT:
        return text, None
    return text[:NAME_LIMIT], text if whole_in_memo else text[NAME_LIMIT:].strip()


def _tidy_feed(text: str) -> str:
    """PocketSmith's tidy payee for a feed text: words without digits, state and country dropped, title case."""
    words = [w for w in text.split() if not any(ch.isdigit() for ch in w) and w not in ("NSW", "AU")]
    return " ".join(words).title()


@dataclass
class Household:
    history: list[PsTransaction]     # what PocketSmith holds for the learning months
    statement: list[Transaction]     # the next statements' rows, for the scored months
    truth: list[str]                 # the category the user gives each statement row


def build_household(seed: int) -> Household:
    rng = random.Random(seed)
    start = date(2024, 1, 1) + timedelta(days=rng.randint(0, 365))
    places = rng.sample(PLACES, 3)
    chosen = list(CORE) + rng.sample(sorted(set(BRANDS) - set(CORE)), rng.randint(10, 16))
    stores = {name: (rng.choice(places), f"{rng.randint(100, 9999):04d}") for name in chosen}
    uploaded = rng.random() < 0.5
    whole_in_memo = rng.random() < 0.4
    # Who renames: each renaming-prone merchant is renamed by most users, not all.
    renames = {name: BRANDS[name].renamed for name in chosen if BRANDS[name].renamed and rng.random() < 0.85}

    events: list[tuple[int, str, Decimal, str, str]] = []   # day, brand, amount, feed text, statement text
    days = (date(start.year + (start.month + MONTHS - 1) // 12, (start.month + MONTHS - 1) % 12 + 1, 1)
            - start).days
    for name in chosen:
        brand = BRANDS[name]
        place, store = stores[name]
        rate = brand.per_month * rng.uniform(0.6, 1.3) * 12 / 365
        for day in range(days):
            if rng.random() < rate:
                amount = Decimal(round(rng.uniform(brand.low, brand.high) * 100)) / 100
                # A shop now and then at another of the household's places.
                where = place if rng.random() < 0.8 else rng.choice(places)
                events.append((day, name, amount, _fill(brand.feed, rng, store, where),
                               _fill(brand.statement, rng, store, where)))
    tail_rows = rng.randint(40, 70)
    for _ in range(tail_rows):
        kind, category = rng.choice(TAIL_KINDS)
        name = f"{rng.choice(TAIL_NAMES)} {kind}".strip()
        text = f"{name} {rng.choice(places)}"
        for _ in range(rng.choice((1, 1, 1, 2))):
            events.append((rng.randrange(days), f"tail:{name}:{category}", -Decimal(rng.randint(500, 15000)) / 100,
                           f"{text} NSW AU", text))
    events.sort(key=lambda e: (e[0], e[1]))

    learn_until = start.replace(day=1)
    for _ in range(LEARN_MONTHS):
        learn_until = (learn_until + timedelta(days=32)).replace(day=1)
    upload_until = start + timedelta(days=30 * UPLOADED_MONTHS) if uploaded else start

    history: list[PsTransaction] = []
    statement: list[Transaction] = []
    truth: list[str] = []
    all_categories = sorted({b.category for b in BRANDS.values()} | {c for _, c in TAIL_KINDS})
    for n, (day, name, amount, feed, stated) in enumerate(events):
        when = start + timedelta(days=day)
        category = name.split(":")[2] if name.startswith("tail:") else BRANDS[name].category
        if when >= learn_until:
            text, memo = _cut(stated, whole_in_memo)
            statement.append(Transaction(date=when, amount=amount, payee=" ".join(text.split()), original_payee=text,
                                         memo=memo, external_id=f"S{seed}-{n}"))
            truth.append(category)
            continue
        given = category if rng.random() >= SLIP_RATE else rng.choice(all_categories)
        if when < upload_until:
            # PocketSmith's own file import: NAME as payee and original payee, MEMO as memo.
            text, memo = _cut(stated, whole_in_memo)
            payee, original, source = renames.get(name) or " ".join(text.split()), text, "file"
        else:
            payee, original, memo, source = renames.get(name) or _tidy_feed(feed), feed, None, "feed"
        history.append(PsTransaction(id=seed * 100_000 + n, date=when, amount=amount, payee=payee,
                                     original_payee=original, memo=memo, category_title=given,
                                     transaction_account_id=1, upload_source=source))
    return Household(history, statement, truth)


# ─── naive Bayes: the baseline that always answers ───────────────────────────────────────────────

def _words(*texts: str | None) -> list[str]:
    out: list[str] = []
    for text in texts:
        out.extend(w for w in "".join(ch if ch.isalpha() else " " for ch in (text or "").lower()).split()
                   if len(w) >= 2)
    return out


class NaiveBayes:
    """Multinomial naive Bayes over the words of payee, original payee and memo, Laplace-smoothed."""

    def __init__(self, documents: list[list[str]], labels: list[str]):
        self.priors = Counter(labels)
        self.word_counts: dict[str, Counter] = defaultdict(Counter)
        for words, label in zip(documents, labels):
            self.word_counts[label].update(words)
        self.vocabulary = {w for counts in self.word_counts.values() for w in counts}
        self.totals = {label: sum(counts.values()) for label, counts in self.word_counts.items()}
        self.n = len(labels)

    def predict(self, words: list[str]) -> str:
        size = len(self.vocabulary) + 1

        def log_posterior(label: str) -> float:
            counts, total = self.word_counts[label], self.totals[label]
            return (math.log(self.priors[label] / self.n)
                    + sum(math.log((counts[w] + 1) / (total + size)) for w in words if w in self.vocabulary))
        return max(sorted(self.priors), key=log_posterior)


# ─── scoring ─────────────────────────────────────────────────────────────────────────────────────

def score_household(household: Household, workdir: Path) -> dict[str, dict[str, int]]:
    history = History(household.history)
    suggestions = suggest_rules(history)
    path = workdir / "suggested.yaml"
    path.write_text(suggestions_file(suggestions, considered=len(household.history), min_support=3,
                                     min_confidence=0.9))
    outcomes = load_rules(path).apply_all([subject_from_record(row) for row in household.statement])
    ours = {"rows": len(outcomes), "answered": 0, "right": 0, "rules": len(suggestions)}
    for outcome, wanted in zip(outcomes, household.truth):
        if outcome.category is not None:
            ours["answered"] += 1
            ours["right"] += outcome.category == wanted
    bayes = NaiveBayes([_words(t.payee, t.original_payee, t.memo) for t in household.history],
                       [t.category_title for t in household.history])
    guesses = [bayes.predict(_words(row.payee, row.original_payee, row.memo)) for row in household.statement]
    right = sum(guess == wanted for guess, wanted in zip(guesses, household.truth))
    nb = {"rows": len(guesses), "answered": len(guesses), "right": right}
    return {"rules suggest": ours, "naive Bayes": nb}


def run(seeds: int) -> tuple[dict[str, dict[str, int]], float]:
    totals: dict[str, Counter] = {"rules suggest": Counter(), "naive Bayes": Counter()}
    elapsed = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(1, seeds + 1):
            household = build_household(seed)
            began = time.perf_counter()
            scores = score_household(household, Path(tmp))
            elapsed += time.perf_counter() - began
            for name, tally in scores.items():
                totals[name].update(tally)
    return {name: dict(t) for name, t in totals.items()}, elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 households instead of 40")
    parser.add_argument("--seeds", type=int, help="how many generated households")
    args = parser.parse_args()
    seeds = args.seeds or (10 if args.quick else 40)
    totals, elapsed = run(seeds)
    ours, nb = totals["rules suggest"], totals["naive Bayes"]
    print(f"Suggestion quality over {seeds} generated households (seeds 1..{seeds}): rules suggested from "
          f"{LEARN_MONTHS} months, scored on the next {MONTHS - LEARN_MONTHS} months' statements; "
          f"suggest + scoring took {elapsed:.2f} s; {ours['rules'] / seeds:.0f} rules a household.\n")
    print("| method | rows | categorised | coverage | right | wrong | precision |")
    print("|---|---|---|---|---|---|---|")
    for name, t in totals.items():
        wrong = t["answered"] - t["right"]
        print(f"| {name} | {t['rows']} | {t['answered']} | {100 * t['answered'] / t['rows']:.1f}% | {t['right']} | "
              f"{wrong} | {100 * t['right'] / max(1, t['answered']):.1f}% |")
    ours_wrong, nb_wrong = ours["answered"] - ours["right"], nb["answered"] - nb["right"]
    return report_targets([
        ("at least 85% of rows categorised", ours["answered"] >= 0.85 * ours["rows"]),
        (f"at most half the naive Bayes' wrong answers ({ours_wrong} against {nb_wrong})", ours_wrong * 2 <= nb_wrong),
    ])


if __name__ == "__main__":
    sys.exit(main())
