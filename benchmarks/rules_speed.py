"""Rules engine speed: 200 generated rules against 100k generated transactions (target: apply_all within 3 s).

Payee texts repeat as they do on real statements (each merchant has a few store numbers and towns;
4,000 distinct texts in all); the engine indexes each field's distinct values once. A second run has every
payee text different, the worst case.
Baseline in the same run: a naive interpreter that walks each rule's YAML conditions for every row
(re-lowercasing text and looking regexes up per call). Also: the compiled engine row by row (`apply`),
and, for `rules suggest`, grouping payee × category with a plain Counter against pandas.

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


def suggest_grouping(quick: bool) -> list[str]:
    """Payee key × category counts for `rules suggest`: Counter against pandas (import included)."""
    rng = random.Random(7)
    count = 20_000 if quick else 100_000
    keys = [f"merchant {rng.randint(0, 800)}" for _ in range(count)]
    cats = [rng.choice(CATEGORIES) for _ in range(count)]
    start = time.perf_counter()
    counts = Counter(zip(keys, cats))
    per_key = Counter(keys)
    best = {}
    for (key, cat), n in counts.items():
        if n > best.get(key, ("", 0))[1]:
            best[key] = (cat, n)
    shares = {k: n / per_key[k] for k, (_, n) in best.items()}
    counter_time = time.perf_counter() - start
    script = (
        "import time,random,sys;t=time.perf_counter();import pandas as pd;imp=time.perf_counter()-t;"
        f"rng=random.Random(7);C={CATEGORIES!r};"
        f"k=[f'merchant {{rng.randint(0, 800)}}' for _ in range({count})];c=[rng.choice(C) for _ in range({count})];"
        "t=time.perf_counter();df=pd.DataFrame({'k':k,'c':c});g=df.groupby(['k','c']).size().reset_index(name='n');"
        "tot=df.groupby('k').size();g=g.sort_values('n').drop_duplicates('k',keep='last');"
        "g['share']=g['n']/g['k'].map(tot);print(imp, time.perf_counter()-t)")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    import_time, pandas_time = (float(x) for x in out.split())
    assert len(shares) == len(set(keys))
    return [
        f"| suggest grouping, {count:,} rows: Counter | {counter_time:.3f} s | 1.00x |",
        f"| suggest grouping: pandas groupby (+ {import_time:.2f} s import) | {pandas_time:.3f} s "
        f"(+import {pandas_time + import_time:.2f} s) | {(pandas_time + import_time) / counter_time:.1f}x slower |",
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
    print("| grouping | time | vs Counter |")
    print("|---|---|---|")
    for line in suggest_grouping(args.quick):
        print(line)
    target = 3.0 * rows / 100_000
    print(f"\ntarget: apply_all within {target:.1f} s for {rows:,} rows: "
          f"{'met' if all_time <= target else 'NOT met'}")


if __name__ == "__main__":
    main()
