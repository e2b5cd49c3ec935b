"""What layout inference adds to reading a CSV: a 100k-row file read with its mapping, then with `--mapping infer`.

Both runs parse the same generated file in this process (best of three, so load on the machine evens out);
the figure is their ratio. Target: inference adds at most 10%.

    python benchmarks/csv_inference.py            # 100,000 rows
    python benchmarks/csv_inference.py --quick    # 20,000 rows
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import date, timedelta
from decimal import Decimal

from importer.parsers import ParseOptions, parse_bytes


def generate(rows: int) -> bytes:
    """A Westpac-style file (a shipped mapping) with a running balance, oldest first."""
    rng = random.Random(7)
    payees = ["WOOLWORTHS 1234 SYDNEY", "COLES 0456", "SALARY ACME PTY LTD", "UBER *TRIP", "BP CONNECT 22"]
    lines = ["Bank Account,Date,Narrative,Debit Amount,Credit Amount,Balance,Categories,Serial"]
    balance = Decimal("5000.00")
    day = date(2020, 1, 1)
    for n in range(rows):
        amount = Decimal(rng.randint(100, 50000)) / 100
        credit = rng.random() < 0.1
        balance += amount if credit else -amount
        day += timedelta(days=rng.random() < 0.3)
        lines.append(f"032000123456,{day:%d/%m/%Y},{rng.choice(payees)},{'' if credit else amount},"
                     f"{amount if credit else ''},{balance},OTHER,")
    return ("\n".join(lines) + "\n").encode()


def best_of(runs: int, data: bytes, options: ParseOptions) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        statements = parse_bytes(data, "bench.csv", options)
        times.append(time.perf_counter() - start)
        assert sum(len(s.transactions) for s in statements) == data.count(b"\n") - 1
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 rows")
    args = parser.parse_args()
    rows = 20_000 if args.quick else 100_000
    data = generate(rows)
    best_of(1, data, ParseOptions(mapping="westpac"))   # warm: imports, compiled patterns
    best_of(1, data, ParseOptions(mapping="infer"))
    mapped = best_of(3, data, ParseOptions(mapping="westpac"))
    inferred = best_of(3, data, ParseOptions(mapping="infer"))
    print(f"{rows:,} rows: with its mapping {mapped:.3f} s, inferred {inferred:.3f} s: "
          f"{inferred / mapped:.3f}x ({(inferred / mapped - 1) * 100:+.1f}%; target at most +10%)")


if __name__ == "__main__":
    main()
