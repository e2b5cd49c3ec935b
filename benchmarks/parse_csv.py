"""CSV parsing speed: psimport's CSV parser against pandas and a plain csv.DictReader + strptime baseline.

    python benchmarks/parse_csv.py [--quick]

Each file is generated here: Date (DD/MM/YYYY), Description, Debit, Credit, Balance, as a bank
writes them, oldest first over three years, unquoted. Every method turns every row into Decimal amounts and
date objects (no floats); psimport also detects the layout and infers the date order and decimal
mark from every row (loading its mappings is part of the parse time). Each figure is the median
of 3 runs, each in a fresh process, the methods taking turns; imports are timed apart; peak
memory is the child's max RSS, interpreter and imports included. `--quick` stops at 100k rows.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PAYEES = ["WOOLWORTHS 1234 SYDNEY", "COLES EXPRESS PARRAMATTA", "THE DAILY GRIND CAFE", "SALARY ACME PTY LTD",
          "TRANSFER TO SAVINGS", "NETFLIX.COM", "UBER *TRIP HELP.UBER.COM", "BP CONNECT WANAKA",
          "ATM WITHDRAWAL 009775", "DIRECT DEBIT AGL ENERGY"]
METHODS = ("psimport", "psimport-quoted", "pandas", "dictreader")
TARGET_SECONDS = 3.0


def write_statement(path: Path, rows: int, quoted: bool = False, seed: int = 11) -> None:
    """`rows` transactions, oldest first, with a running balance, spread over three years."""
    rng = random.Random(seed)
    day = 738_000  # proleptic ordinal of 2021-07-21
    per_day = 3 * 365 / rows
    balance = 250_000
    from datetime import date as _date
    out = ["Date,Description,Debit,Credit,Balance"]
    for _ in range(rows):
        if rng.random() < per_day:
            day += 1
        cents = rng.randint(1, 60_000)
        credit = rng.random() < 0.2
        balance += cents if credit else -cents
        text = f"{rng.choice(PAYEES)} {rng.randint(1, 9999)}"
        amount = f"{cents // 100}.{cents % 100:02d}"
        fields = [_date.fromordinal(day).strftime("%d/%m/%Y"), text, "" if credit else amount,
                  amount if credit else "", f"{'-' if balance < 0 else ''}{abs(balance) // 100}.{abs(balance) % 100:02d}"]
        out.append(",".join(f'"{f}"' for f in fields) if quoted else ",".join(fields))
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


# ─── the methods, each run in a child process ──────────────────────────────────────────────────

def import_psimport() -> None:
    import importer.parsers.csv  # noqa: F401
    import importer.parsers.base  # noqa: F401


def run_psimport(path: Path) -> int:
    from importer.parsers.base import ParseOptions
    from importer.parsers.csv import CsvParser
    statements = CsvParser().parse(path.read_bytes(), str(path), ParseOptions())
    return sum(len(s.transactions) for s in statements)


def import_pandas() -> None:
    import pandas  # noqa: F401
    import importer.record  # noqa: F401


def run_pandas(path: Path) -> int:
    from decimal import Decimal

    import pandas as pd

    from importer.record import Transaction
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, engine="c")
    dates = [d.date() for d in pd.to_datetime(frame["Date"], format="%d/%m/%Y")]
    debits = [Decimal(v) if v else None for v in frame["Debit"]]
    credits = [Decimal(v) if v else None for v in frame["Credit"]]
    balances = [Decimal(v) for v in frame["Balance"]]
    amounts = [-d if d is not None else c for d, c in zip(debits, credits)]
    payees = frame["Description"].tolist()
    rows = [Transaction(d, a, p, p, balance=b) for d, a, p, b in zip(dates, amounts, payees, balances)]
    return len(rows)


def import_dictreader() -> None:
    import csv  # noqa: F401
    import datetime  # noqa: F401
    import decimal  # noqa: F401
    import importer.record  # noqa: F401


def run_dictreader(path: Path) -> int:
    import csv
    from datetime import datetime
    from decimal import Decimal

    from importer.record import Transaction
    rows = []
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            debit, credit = row["Debit"], row["Credit"]
            amount = -Decimal(debit) if debit else Decimal(credit)
            rows.append(Transaction(datetime.strptime(row["Date"], "%d/%m/%Y").date(), amount,
                                    row["Description"], row["Description"], balance=Decimal(row["Balance"])))
    return len(rows)


RUNNERS = {"psimport": (import_psimport, run_psimport), "psimport-quoted": (import_psimport, run_psimport),
           "pandas": (import_pandas, run_pandas), "dictreader": (import_dictreader, run_dictreader)}


def child(method: str, path: Path) -> None:
    import resource
    importer_, runner = RUNNERS[method]
    start = time.perf_counter()
    importer_()
    imported = time.perf_counter()
    count = runner(path)
    seconds = time.perf_counter() - imported
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "import": imported - start, "rows": count, "peak_mb": peak_mb}))


def measure_all(paths: dict[str, Path], repeat: int) -> dict[str, dict]:
    """Each method `repeat` times, in turns, so a busy moment on the machine hits all of them alike."""
    runs: dict[str, list[dict]] = {method: [] for method in METHODS}
    for _ in range(repeat):
        for method in METHODS:
            done = subprocess.run([sys.executable, __file__, "--child", method, str(paths[method])],
                                  capture_output=True, text=True, check=True)
            runs[method].append(json.loads(done.stdout))
    return {method: {"seconds": statistics.median(r["seconds"] for r in results),
                     "import": statistics.median(r["import"] for r in results),
                     "rows": results[0]["rows"], "peak_mb": max(r["peak_mb"] for r in results)}
            for method, results in runs.items()}


def run(quick: bool = False) -> str:
    sizes = (10_000, 100_000) if quick else (10_000, 100_000, 1_000_000)
    lines = ["| rows | method | parse (median of 3) | rows/s | import | peak memory | speed vs DictReader |",
             "|---|---|---|---|---|---|---|"]
    verdicts = []
    with tempfile.TemporaryDirectory() as folder:
        for rows in sizes:
            plain, quoted = Path(folder) / f"plain-{rows}.csv", Path(folder) / f"quoted-{rows}.csv"
            write_statement(plain, rows)
            write_statement(quoted, rows, quoted=True)
            paths = {method: quoted if method == "psimport-quoted" else plain for method in METHODS}
            results = measure_all(paths, 3)
            for method, result in results.items():
                if result["rows"] != rows:
                    raise SystemExit(f"{method} read {result['rows']} rows of {rows}")
            baseline = results["dictreader"]["seconds"]
            for method in METHODS:
                r = results[method]
                lines.append(f"| {rows:,} | {method} | {r['seconds']:.3f} s | {rows / r['seconds']:,.0f} | "
                             f"{r['import'] * 1000:.0f} ms | {r['peak_mb']:.0f} MB | {baseline / r['seconds']:.2f}x |")
            if rows == 1_000_000:
                ours = results["psimport"]["seconds"]
                verdicts.append(f"Target: 1M rows in ≤ {TARGET_SECONDS:.0f} s through psimport's parser: "
                                f"{ours:.2f} s, {'met' if ours <= TARGET_SECONDS else 'NOT met'} "
                                f"(csv.DictReader took {baseline:.2f} s in the same run).")
    return "\n".join(lines + [""] + verdicts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10k and 100k rows only")
    parser.add_argument("--child", nargs=2, metavar=("METHOD", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
    else:
        print(run(args.quick))


if __name__ == "__main__":
    main()
