"""Rules engine speed: 200 generated rules against 100k generated transactions (target: apply_all within 3 s).

Payee texts repeat as they do on real statements (each merchant has a few store numbers and towns;
4,000 distinct texts in all); the engine indexes each field's distinct values once. A second run has every
payee text different, the worst case.
Baseline in the same run: a naive interpreter that walks each rule's YAML conditions for every row
(re-lowercasing text and looking regexes up per call). Also: the compiled engine row by row (`apply`),
and, for `rules suggest`, its pandas history analytics against the Counter-only grouping it replaced.

    python benchmarks/rules_speed.py [--quick]
"""

from __future__ import annotations

import argparse
import random
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from importer.rules import Subject, load_rules  # noqa: E402

CATEGORIES = ["Groceries", "Eating Out > Coffee", "Eating Out > Takeaway", "Eating Out > Restaurants",
              "Transport > Fuel", "Transport > Parking", "Transport > Public Transport", "Bills > Electricity",
              "Bills > Internet", "Bills > Phone", "Shopping", "Health", "Entertainment > Streaming",
              "Income > Salary", "Transfers", "Fees", "Cash"]
SYLLABLES = ["ka", "lo", "mi", "ran", "tor", "vel", "zu", "pe", "qua", "sen", "dor", "fi", "gal", "hu", "jen",
             "bri", "cos", "mar", "nel", "ost"]
SUFFIXES = ["CAFE", "MART", "STORES", "PTY LTD", "BAKERY", "FUEL", "PHARMACY", "KITCHEN", "ENERGY", "TELECOM"]
TOWNS = ["SYDNEY NS AUS", "NEWTOWN", "MARRICKVILLE NS", "ENMORE NS AUS", "BROADWAY", "PARRAMATTA NSW", ""]


def merchant_names(rng: random.Random, count: int) -> list[str]:
    names = set()
    while len(names) < count:
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).upper()
        names.add(f"{word} {rng.choice(SUFFIXES)}")
    return sorted(names)


def generate_rules(rng: random.Random, merchants: list[str], count: int = 200) -> str:
    """A rules file like a real household's: mostly payee literals, some amounts, regexes, dates, fuzzy."""
    lines = ["rules:"]
    for n in range(count):
        merchant = merchants[n % len(merchants)].lower()
        word = merchant.split()[0]
        category = rng.choice(CATEGORIES)
        kind = n % 20
        if kind < 13:
            cond = f'{{payee: {{contains: "{word}"}}}}'
        elif kind == 13:
            other = merchants[(n + 7) % len(merchants)].split()[0].lower()
            cond = f'{{payee: {{contains: ["{word}", "{other}"]}}, amount: {{lt: 0}}}}'
        elif kind == 14:
            cond = f'{{payee: {{contains: "{word}"}}, amount: {{between: [-80, -5]}}}}'
        elif kind == 15:
            cond = f'{{original_payee: {{regex: "^(eftpos |visa )?{word}\\\\b"}}}}'
        elif kind == 16:
            cond = f'{{any: [{{payee: {{starts_with: "{word}"}}}}, {{memo: {{contains: "{word}"}}}}]}}'
        elif kind == 17:
            cond = f'{{memo: {{regex: "ref {n}\\\\d+"}}, date: {{weekday: [sat, sun]}}}}'
        elif kind == 18:
            cond = f'{{payee: {{fuzzy: {{value: "{merchant}", score: 90}}}}}}' if n < 60 else \
                f'{{payee: {{equals: "{merchant}"}}}}'
        else:
            cond = f'{{amount: {{equals: -{n}.95}}, date: {{day_of_month: [1, 15, -1]}}}}'
        then = f'{{category: "{category}"' + (", labels: [tax]" if n % 7 == 0 else "") + \
            (", stop: true" if n % 11 == 0 else "") + "}"
        lines += [f"  - name: rule-{n:03d}", f"    if: {cond}", f"    then: {then}"]
    return "\n".join(lines) + "\n"


def generate_subjects(rng: random.Random, merchants: list[str], count: int, unique: bool = False) -> list[Subject]:
    """Transactions whose payee texts repeat as on real statements: each merchant has a few stores.

    `unique`: the worst case instead, every payee text different (a reference number in each).
    """
    start = date(2025, 1, 1)
    stores = [f"{m} {rng.randint(1, 9999)} {rng.choice(TOWNS)}".strip() for m in merchants for _ in range(4)]
    strangers = [f"{rng.choice(SYLLABLES).upper()}{rng.choice(SYLLABLES).upper()} {rng.randint(100, 999)}"
                 for _ in range(3000)]
    out = []
    for i in range(count):
        text = rng.choice(stores) if rng.random() < 0.75 else rng.choice(strangers)
        if unique:
            text = f"{text} REF{i:06d}"
        amount = Decimal(rng.randint(-30000, 5000)) / 100
        out.append(Subject(payee=text.title(), original_payee=text, memo=f"REF {rng.randint(1, 99999)}",
                           amount=amount, date=start + timedelta(days=rng.randint(0, 364)),
                           account=("510001", "Everyday Account"), type="POS", currency="AUD"))
    return out


# ─── the baseline: interpret the YAML per row ────────────────────────────────────────────────

def naive_text(subject: Subject, name: str) -> str:
    return (getattr(subject, name) or "").lower()


def naive_test(cond: dict, s: Subject) -> bool:
    for key, spec in cond.items():
        if key == "all":
            if not all(naive_test(c, s) for c in spec):
                return False
            continue
        if key == "any":
            if not any(naive_test(c, s) for c in spec):
                return False
            continue
        if key == "not":
            if naive_test(spec, s):
                return False
            continue
        for op, value in spec.items():
            if key == "amount":
                v = s.amount
                ok = {"lt": lambda: v < Decimal(str(value)), "equals": lambda: v == Decimal(str(value)),
                      "between": lambda: Decimal(str(value[0])) <= v <= Decimal(str(value[1]))}[op]()
            elif key == "date":
                days = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
                if op == "weekday":
                    ok = s.date.weekday() in {days[d] for d in value}
                else:
                    ok = s.date.day in value
            else:
                text = naive_text(s, key)
                needles = value if isinstance(value, list) else [value]
                if op == "contains":
                    ok = any(str(n).lower() in text for n in needles)
                elif op == "starts_with":
                    ok = any(text.startswith(str(n).lower()) for n in needles)
                elif op == "equals":
                    ok = text == str(value).lower()
                elif op == "regex":
                    ok = re.search(value, text, re.IGNORECASE) is not None
                else:  # fuzzy
                    from rapidfuzz import fuzz

                    from importer.payee import match_key
                    needle, key = match_key(value["value"]), match_key(text)
                    scorer = fuzz.partial_ratio if len(key) >= len(needle) else fuzz.ratio
                    ok = bool(key) and scorer(needle, key) >= value["score"]
            if not ok:
                return False
    return True


def naive_apply(rules: list[dict], s: Subject) -> dict:
    decided: dict = {}
    for rule in rules:
        if naive_test(rule["if"], s):
            for key, value in rule["then"].items():
                decided.setdefault(key, value)
            if rule["then"].get("stop"):
                break
    return decided


def timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def suggest_history(rng: random.Random, merchants: list[str], count: int):
    """A categorised history like a household's year: each merchant mostly one category and one sign."""
    from importer.pocketsmith.models import Category, PsTransaction
    from importer.rules.history import History
    categories = [Category(n + 1, name.rsplit(" > ", 1)[-1], None, name) for n, name in enumerate(CATEGORIES)]
    habits = {m: (rng.choice(categories), rng.choice([-1, -1, -1, 1]), rng.randint(300, 30000)) for m in merchants}
    stores = [(m, f"{m} {rng.randint(1, 9999)} {rng.choice(TOWNS)}".strip()) for m in merchants for _ in range(4)]
    start = date(2025, 1, 1)
    out = []
    for i in range(count):
        merchant, text = rng.choice(stores)
        category, sign, typical = habits[merchant]
        if rng.random() < 0.05:
            category = rng.choice(categories)
        if rng.random() < 0.02:
            sign = -sign
        amount = Decimal(sign * rng.randint(typical // 2, typical * 2)) / 100
        out.append(PsTransaction(id=i + 1, date=start + timedelta(days=rng.randint(0, 364)), amount=amount,
                                 payee=text.title(), original_payee=text, category_id=category.id,
                                 category_title=category.title, transaction_account_id=1))
    return History(out, {}, categories)


def counter_grouping(history, min_support: int = 3, min_confidence: float = 0.9) -> list[tuple]:
    """The baseline: `rules suggest`'s grouping before pandas (Counters of payee key × category and × text)."""
    from collections import defaultdict

    from importer.payee import match_key
    by_key: dict = defaultdict(Counter)
    texts: dict = defaultdict(Counter)
    for txn in history.transactions:
        text = txn.original_payee or txn.payee or ""
        key = match_key(text)
        if key:
            by_key[key][history.category_name(txn)] += 1
            texts[key][text.lower()] += 1
    drafts = []
    for key, categories in by_key.items():
        category, count = categories.most_common(1)[0]
        if count >= min_support and count / sum(categories.values()) >= min_confidence:
            drafts.append((key, category, count, [t for t, _ in texts[key].most_common(50)]))
    return drafts


def merchant_grouping(history, min_support: int = 3, min_confidence: float = 0.9) -> list[dict]:
    """The grouping `rules suggest` does now: each transaction's merchant, the tree of their leading words,
    a draft per phrase mostly in one category (importer.rules.merchants)."""
    from importer.rules.merchants import merchant_drafts, merchants_of
    from importer.rules.suggest import _history_frame
    frame = _history_frame(history.transactions, history)
    return merchant_drafts(merchants_of(history.transactions), frame["category"].tolist(), frame["cents"].tolist(),
                           min_support, min_confidence)


def suggest_analytics(quick: bool) -> list[str]:
    """`rules suggest` over a generated history: pandas (grouping, and the whole command) against the old
    Counter grouping; pandas' import, paid once per run of the command, measured in a fresh process."""
    from importer.payee import match_key
    from importer.rules.suggest import suggest_rules
    count = 20_000 if quick else 100_000
    rng = random.Random(7)
    history = suggest_history(rng, merchant_names(rng, 800), count)
    for txn in history.transactions:     # warm the payee-key cache once, so neither side pays for it
        match_key(txn.original_payee)
    import_times = []
    for _ in range(3):
        out = subprocess.run([sys.executable, "-c", "import time;t=time.perf_counter();import pandas;"
                              "print(time.perf_counter()-t)"], capture_output=True, text=True, check=True).stdout
        import_times.append(float(out))
    import_time = sorted(import_times)[1]
    import pandas  # noqa: F401  (imported here so the timings below exclude it; its cost is the line above)
    counter_time = min(timed(counter_grouping, history)[0] for _ in range(3))
    merchant_time, drafts = min((timed(merchant_grouping, history) for _ in range(3)), key=lambda r: r[0])
    suggest_time, suggestions = timed(lambda: suggest_rules(history))
    return [
        f"| baseline: Counter grouping, {count:,} rows (old `rules suggest`) | {counter_time:.3f} s | 1.00x |",
        f"| merchant tree: who each row was with, drafts by leading words ({len(drafts)} drafts) | "
        f"{merchant_time:.3f} s | {merchant_time / counter_time:.2f}x |",
        f"| whole `suggest_rules` ({len(suggestions)} rules; mostly checking each as a rule) | {suggest_time:.2f} s | — |",
        f"| import pandas, once per command (fresh process, median of 3) | {import_time:.2f} s | "
        f"{import_time / counter_time:.1f}x |",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10k rows instead of 100k")
    args = parser.parse_args()
    rows = 10_000 if args.quick else 100_000
    naive_rows = 2_000 if args.quick else 10_000
    rng = random.Random(2024)
    merchants = merchant_names(rng, 250)
    text = generate_rules(rng, merchants)
    subjects = generate_subjects(rng, merchants, rows)
    import yaml
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rules.yaml"
        path.write_text(text)
        load_time, ruleset = timed(load_rules, path)
    raw_rules = yaml.safe_load(text)["rules"]

    # apply_all first, while the payee-key cache is cold: the figure includes computing the keys.
    all_time, outcomes = timed(ruleset.apply_all, subjects)
    unique_time, _ = timed(ruleset.apply_all, generate_subjects(random.Random(5), merchants, rows, unique=True))
    row_time, one_by_one = timed(lambda: [ruleset.apply(s) for s in subjects])
    naive_time, naive = timed(lambda: [naive_apply(raw_rules, s) for s in subjects[:naive_rows]])
    assert outcomes == one_by_one, "apply_all and apply disagree"
    assert [o.category for o in outcomes[:naive_rows]] == [n.get("category") for n in naive], \
        "the baseline and the engine disagree"
    matched = sum(1 for o in outcomes if o.rules)

    naive_rate = naive_rows / naive_time
    print(f"{len(ruleset.rules)} rules, {rows:,} transactions ({matched:,} matched by a rule); "
          f"loading and compiling the rules: {load_time * 1000:.0f} ms\n")
    print("| method | time | rows/s | vs baseline |")
    print("|---|---|---|---|")
    print(f"| baseline: naive interpreter ({naive_rows:,} rows) | {naive_time:.2f} s | {naive_rate:,.0f} | 1.0x |")
    print(f"| compiled, row by row (`apply`) | {row_time:.2f} s | {rows / row_time:,.0f} | "
          f"{rows / row_time / naive_rate:.1f}x |")
    print(f"| compiled, whole columns (`apply_all`) | {all_time:.2f} s | {rows / all_time:,.0f} | "
          f"{rows / all_time / naive_rate:.1f}x |")
    print(f"| `apply_all`, worst case: every payee text different | {unique_time:.2f} s | "
          f"{rows / unique_time:,.0f} | {rows / unique_time / naive_rate:.1f}x |")
    print()
    print("| `rules suggest` | time | vs Counter |")
    print("|---|---|---|")
    for line in suggest_analytics(args.quick):
        print(line)
    target = 3.0 * rows / 100_000
    print(f"\ntarget: apply_all within {target:.1f} s for {rows:,} rows: "
          f"{'met' if all_time <= target else 'NOT met'}")


if __name__ == "__main__":
    main()
