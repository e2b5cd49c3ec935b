"""What layout inference adds to reading a CSV: a 100k-row file read with a mapping, then with `--mapping infer`.

Each way parses the same generated file in this process, CPU time, the fastest of 7 turns taken in rotation:
with the layout inference finds written as a mapping file (the cost of inferring it, alone), with the
shipped Westpac mapping (what a user of a known bank sees), and inferred. The figures are ratios.
Target: inference adds at most 10%. UTF-8 and cp1252 (the encoding detected) files.

    python benchmarks/csv_inference.py            # 100,000 rows
    python benchmarks/csv_inference.py --quick    # 20,000 rows
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from importer.parsers import ParseOptions, parse_bytes
from importer.parsers.csv.infer import infer_layout
from importer.parsers.csv.newmapping import mapping_text
from importer.parsers.csv.text import Source


def generate(rows: int, encoding: str = "utf-8") -> bytes:
    """A Westpac-style file (a shipped mapping) with a running balance, oldest first; in cp1252 a payee has
    accents, so the encoding has to be detected."""
    rng = random.Random(7)
    payees = ["WOOLWORTHS 1234 SYDNEY", "COLES 0456", "SALARY ACME PTY LTD", "UBER *TRIP", "BP CONNECT 22"]
    if encoding != "utf-8":
        payees[1] = "CAFÉ CRÈME 0456"
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
    return ("\n".join(lines) + "\n").encode(encoding)


def cpu_seconds(data: bytes, options: ParseOptions) -> float:
    """One parse's CPU time (less swayed than the wall clock by other work on a shared machine)."""
    start = time.process_time()
    statements = parse_bytes(data, "bench.csv", options)
    seconds = time.process_time() - start
    assert sum(len(s.transactions) for s in statements) == data.count(b"\n") - 1
    return seconds


def fastest(data: bytes, runs: dict[str, ParseOptions], rounds: int) -> dict[str, float]:
    """Each way's fastest of `rounds` runs, the ways taking turns so that a busy moment hits them alike."""
    best = {name: float("inf") for name in runs}
    for _ in range(rounds):
        for name, options in runs.items():
            best[name] = min(best[name], cpu_seconds(data, options))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 rows")
    args = parser.parse_args()
    rows, rounds = (20_000, 3) if args.quick else (100_000, 7)
    with tempfile.TemporaryDirectory() as folder:
        for encoding in ("utf-8", "cp1252"):
            data = generate(rows, encoding)
            # The same layout written as a mapping file: what inference costs beyond reading with it.
            same = Path(folder) / f"same_{encoding}.yaml"
            same.write_text(mapping_text(infer_layout(Source(data, "bench.csv")), "same", "bench.csv"), encoding="utf-8")
            runs = {"westpac": ParseOptions(mapping="westpac"), "same": ParseOptions(mapping=str(same)),
                    "infer": ParseOptions(mapping="infer")}
            fastest(data, runs, 1)   # warm: imports, compiled patterns, the mapping cache
            seconds = fastest(data, runs, rounds)
            inferred = seconds["infer"]
            print(f"{rows:,} rows, {encoding}: inferred {inferred:.3f} s CPU; with the same layout as a mapping file "
                  f"{seconds['same']:.3f} s ({inferred / seconds['same']:.3f}x, "
                  f"{(inferred / seconds['same'] - 1) * 100:+.1f}%); with the shipped westpac mapping "
                  f"{seconds['westpac']:.3f} s ({inferred / seconds['westpac']:.3f}x); target at most +10%")

if __name__ == "__main__":
    main()
