"""Dedupe's ten days typed by hand: decisions from the generator's own odds there, beside psimport's.

In `dedupe_quality.py`'s households a person typed ten days of purchases by hand: 70% of them, each dated
the day they remember (right 60% of the time, a day or two off otherwise). For the weekday 4.50 coffee
that stretch is a run of identical rows against fewer typed entries a day or two astray, and which typed
entry is which statement row often cannot be told. This script asks how well it could be told.

For every coffee row a typed entry could be, it computes the exact probability that PocketSmith holds
it, summed over every way the typed entries can be those rows, with the generator's own odds, which no
real matcher knows: the typing rate (70%), the date offsets and their odds, the coffee's posting lag in
business days and how often it runs a day late (15% in the households with more runs, 8% otherwise).
The rows a typed entry could be are taken two ways: those whose purchase is in the typed days (from the
truth), and those a matcher can see (the first file's coffee rows psimport matched to nothing but a typed
entry, within six days of the typed entries). Then, for every pair of thresholds (create at or below the
lower, duplicate at or above the upper, review between), the whole benchmark's errors and reviews are
counted with psimport's own decisions everywhere else.

With `--margins`, psimport's own trade-off instead: both benchmark sets again with each of its two review
margins for runs (how close a swap must be to be a coin toss: `_AMBIGUITY_MARGIN_TYPED` where a typed
entry is in the swap, `_AMBIGUITY_MARGIN_COUNTED` in a run whose lag was counted) set wider or narrower.

    python benchmarks/dedupe_typed_bound.py [--quick] [--margins]
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import dedupe_quality as quality  # noqa: E402

import importer.dedupe as dedupe_module  # noqa: E402
from importer.dedupe import dedupe  # noqa: E402

COFFEE = Decimal("-4.50")
TYPED_SHARE = 0.7
# The generator's odds of the date typed being this many days from the purchase (dedupe_quality.build_run).
OFFSET_ODDS = {0: 0.60, -1: 0.12, 1: 0.13, -2: 0.07, 2: 0.08}
# One band for both sets: the households with more runs' best with review within target (a full run's
# output), checked on the first set, which did not choose it.
SHARED_BAND = (0.20, 0.76)


def _business_days_before(start: date, day: int, count: int) -> int:
    """The day `count` business days before `day` (days counted from `start`)."""
    while count:
        day -= 1
        if (start + timedelta(day)).weekday() < 5:
            count -= 1
    return day


def _held_probabilities(rows, existing, start: date, events, runs: bool, decisions=None) -> dict[int, float]:
    """Row index -> the exact probability that PocketSmith holds that coffee row, for the rows a typed entry
    could be: those whose purchase is in the typed days (from the truth), or with psimport's `decisions`
    the rows a matcher can see: the first file's coffee rows that psimport did not match to anything but a
    typed entry, dated within six days of the typed entries (the stretch's edges included)."""
    typed_ids = {e.id for e in existing if e.upload_source == "manual" and e.transaction_account_id == quality.ACCOUNT}
    if decisions is None:
        by_key = {e.key: e for e in events}
        event_of = {i: by_key[int(r.external_id.rsplit("-", 1)[1])] for i, r in enumerate(rows)}
        stretch = [i for i, r in enumerate(rows) if r.file == quality.FILE_A and r.amount == COFFEE
                   and quality.HAND_DAYS[0] <= event_of[i].tdate <= quality.HAND_DAYS[1]
                   and event_of[i].pdate > quality.PSIMPORT_DAYS[1]]
    else:
        typed_days = [(e.date - start).days for e in existing if e.id in typed_ids]
        if not typed_days:
            return {}
        stretch = [i for i, r in enumerate(rows) if r.file == quality.FILE_A and r.amount == COFFEE
                   and min(typed_days) - 6 <= (r.date - start).days <= max(typed_days) + 6
                   and (decisions[i].duplicate_of is None or decisions[i].duplicate_of in typed_ids)]
    # The coffee's usual posting lag, in business days, from the generator's own events.
    lags = Counter(sum(1 for d in range(e.tdate + 1, e.pdate + 1) if (start + timedelta(d)).weekday() < 5)
                   for e in events if e.merchant == "coffee")
    usual = lags.most_common(1)[0][0]
    late = 0.15 if runs else 0.08
    bought = {i: {_business_days_before(start, (rows[i].date - start).days, usual): 1 - late,
                  _business_days_before(start, (rows[i].date - start).days, usual + 1): late} for i in stretch}
    typed = [(e.date - start).days for e in existing if e.upload_source == "manual" and e.amount == COFFEE
             and e.transaction_account_id == quality.ACCOUNT]

    def fits(entry: int, row: int) -> float:
        return TYPED_SHARE * sum(p * OFFSET_ODDS.get(entry - day, 0.0) for day, p in bought[row].items())

    held = dict.fromkeys(stretch, 0.0)
    total = 0.0

    def assign(k: int, used: frozenset, weight: float) -> None:
        # Every typed entry is one of the stretch's rows; a row no entry is was forgotten (30%).
        nonlocal total
        if k == len(typed):
            weight *= (1 - TYPED_SHARE) ** (len(stretch) - len(used))
            total += weight
            for row in used:
                held[row] += weight
            return
        for row in stretch:
            if row not in used:
                w = fits(typed[k], row)
                if w:
                    assign(k + 1, used | {row}, weight * w)

    assign(0, frozenset(), 1.0)
    return {row: p / total for row, p in held.items()} if total else {}


def households(count: int, runs: bool, bound: bool = True):
    """Per household: rows, truth, psimport's actions, and (with `bound`) the typed-stretch odds."""
    first = quality.RUN_SEEDS_FROM if runs else 1
    for seed in range(first, first + count):
        rng = random.Random(seed)     # build_run draws the same start and events from the same seed
        start = date(2024, 1, 1) + timedelta(days=rng.randint(0, 300))
        events = quality.generate_events(rng, start, runs)
        rows, existing, journal, truth, _ = quality.build_run(seed, runs)
        decisions = dedupe(rows, existing, imported=journal, account_id=quality.ACCOUNT)
        actions = [d.action for d in decisions]
        if not bound:
            yield rows, truth, actions, {}, {}
            continue
        yield (rows, truth, actions, _held_probabilities(rows, existing, start, events, runs),
               _held_probabilities(rows, existing, start, events, runs, decisions))


def totals(data, band: tuple[float, float] | None, visible: bool = False) -> tuple[int, int, int]:
    """(errors, reviews, rows) of the whole benchmark: psimport's decisions, and in the typed stretch the
    best possible ones with `band` (None: psimport's own there too); `visible`: over the rows a matcher can
    see as the typed entries' (see _held_probabilities)."""
    errors = reviews = count = 0
    for rows, truth, actions, held_truth, held_visible in data:
        held = held_visible if visible else held_truth
        chosen = list(actions)
        if band is not None:
            low, high = band
            for row, p in held.items():
                chosen[row] = "duplicate" if p >= high else "create" if p <= low else "review"
        got = quality.score(rows, chosen, truth)
        errors += got["lost"] + got["doubled"]
        reviews += got["review"]
        count += got["rows"]
    return errors, reviews, count


def margins(quick: bool) -> None:
    """psimport's errors and reviews on both sets with each run margin moved, the other at its default."""
    sets = ((True, 10 if quick else 50), (False, 20 if quick else 100))
    print("| margin | value | more runs: lost+doubled, review | first set: lost+doubled, review |")
    print("|---|---:|---:|---:|")
    for name in ("_AMBIGUITY_MARGIN_TYPED", "_AMBIGUITY_MARGIN_COUNTED"):
        default = getattr(dedupe_module, name)
        for value in sorted({default, 0.5, 1.0, 1.5, 2.0}):
            setattr(dedupe_module, name, value)
            try:
                cells = []
                for runs, count in sets:
                    errors, reviews, _ = totals(households(count, runs, bound=False), None)
                    cells.append(f"{errors}, {reviews}")
            finally:
                setattr(dedupe_module, name, default)
            mark = " (default)" if value == default else ""
            print(f"| `{name}` | {value}{mark} | {cells[0]} | {cells[1]} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 + 10 households instead of 100 + 50")
    parser.add_argument("--margins", action="store_true", help="psimport's own trade-off: its run margins moved")
    args = parser.parse_args()
    if args.margins:
        margins(args.quick)
        return 0
    grid = [x / 50 for x in range(51)]
    for title, count, runs in (("households", 10 if args.quick else 50, True),
                               ("households", 20 if args.quick else 100, False)):
        data = list(households(count, runs))
        errors, reviews, rows = totals(data, None)
        cap_errors, cap_reviews = int(0.005 * rows), int(0.03 * rows)
        kind = "with more runs" if runs else "of the first set"
        print(f"{count} {title} {kind}: {rows} rows. Targets: lost+doubled <= {cap_errors}, review <= {cap_reviews}.\n")
        print("| decisions | coffee rows decided by the odds | lost+doubled | review |")
        print("|---|---:|---:|---:|")
        print(f"| psimport | | {errors} ({100 * errors / rows:.2f}%) | {reviews} ({100 * reviews / rows:.2f}%) |")
        for visible in (False, True):
            decided = sum(len(h[4 if visible else 3]) for h in data)
            frontier: dict[int, tuple[int, tuple[float, float]]] = {}
            for low in grid:
                for high in grid[grid.index(low):]:
                    e, r, _ = totals(data, (low, high), visible)
                    if e not in frontier or r < frontier[e][0]:
                        frontier[e] = (r, (low, high))
            points = [(e, r, band) for e, (r, band) in frontier.items()]
            best = [("fewest reviews with lost+doubled <= target",
                     min(((e, r, b) for e, r, b in points if e <= cap_errors), key=lambda p: p[1], default=None)),
                    ("fewest errors with review <= target",
                     min(((e, r, b) for e, r, b in points if r <= cap_reviews), default=None)),
                    ("fewest errors with no more reviews than psimport",
                     min(((e, r, b) for e, r, b in points if r <= reviews), default=None))]
            rows_are = "the rows a matcher can see as the typed entries'" if visible else "the typed days' rows (truth)"
            for what, point in best:
                if point is None:
                    print(f"| the generator's odds over {rows_are}: {what} | {decided} | none | |")
                    continue
                e, r, (low, high) = point
                print(f"| the generator's odds over {rows_are}: {what} (create <= {low:.2f} < review < "
                      f"{high:.2f} <= duplicate) | {decided} | {e} ({100 * e / rows:.2f}%) | "
                      f"{r} ({100 * r / rows:.2f}%) |")
        e, r, _ = totals(data, SHARED_BAND, visible=True)
        print(f"| the generator's odds over the rows a matcher can see, one band for both sets (create <= "
              f"{SHARED_BAND[0]:.2f} < review < {SHARED_BAND[1]:.2f} <= duplicate) | "
              f"{sum(len(h[4]) for h in data)} | {e} ({100 * e / rows:.2f}%) | {r} ({100 * r / rows:.2f}%) |")
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
