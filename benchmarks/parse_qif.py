"""QIF parsing speed: psimport's parser against quiffen on one generated file of bank records.

    python benchmarks/parse_qif.py [--quick]

The file is generated here (day-first dates, payees, memos, cheque numbers, every tenth record
split), so the figures need no corpus. Each parser reads the same file from disk; psimport is the
median of 3 runs, quiffen the median of 3 too unless one run takes longer than 20 s.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from importer.parsers.base import ParseOptions  # noqa: E402
from importer.parsers.qif import QifParser  # noqa: E402

PAYEES = ["Countdown Ponsonby", "Z Energy Newmarket", "Spotify", "Rent to J Smith", "Salary ACME Ltd",
          "The Daily Grind", "Mitre 10 Mega", "Kiwibank ATM", "Uber *Trip", "Netflix.com"]
SLOW_SECONDS = 20.0


def write_qif(path: Path, records: int, seed: int = 7) -> None:
    """A single-account bank QIF of `records` transactions, dates D/M/YYYY."""
    rng = random.Random(seed)
    out = ["!Account", "NEveryday", "TBank", "^", "!Type:Bank"]
    for number in range(records):
        day, month, year = rng.randint(1, 28), rng.randint(1, 12), rng.choice((2023, 2024))
        cents = rng.randint(-250_000, 400_000)
        amount = f"{cents / 100:,.2f}" if rng.random() < 0.3 else f"{cents // 100}.{abs(cents) % 100:02d}"
        if cents < 0 and amount[0] != "-":
            amount = "-" + amount.replace("-", "")
        out.append(f"D{day}/{month}/{year}")
        out.append(f"T{amount}")
        out.append(f"P{rng.choice(PAYEES)}")
        if number % 3 == 0:
            out.append(f"Mref {number}")
        if number % 7 == 0:
            out.append(f"N{1000 + number}")
        out.append("LGroceries")
        if number % 10 == 0:
            out.append("SGroceries")
            out.append("Efood")
            out.append(f"${amount}")
        out.append("^")
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


def time_ours(path: Path, repeat: int) -> tuple[float, int]:
    parser = QifParser()
    options = ParseOptions()
    times, count = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        statements = parser.parse(path.read_bytes(), str(path), options)
        times.append(time.perf_counter() - start)
        count = sum(len(s.transactions) for s in statements)
    return statistics.median(times), count


def time_quiffen(path: Path, repeat: int) -> tuple[float, int] | None:
    try:
        import quiffen
    except ImportError:
        return None
    times, count = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        qif = quiffen.Qif.parse(path, day_first=True)
        times.append(time.perf_counter() - start)
        count = sum(len(txns) for account in qif.accounts.values() for txns in account.transactions.values())
        if times[-1] > SLOW_SECONDS:
            break
    return statistics.median(times), count


def run(quick: bool) -> str:
    """Generate the file, time both parsers, and return the markdown table."""
    records = 20_000 if quick else 100_000
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.qif"
        write_qif(path, records)
        ours_seconds, ours_count = time_ours(path, 3)
        theirs = time_quiffen(path, 1 if quick else 3)
    if ours_count != records:
        raise SystemExit(f"psimport read {ours_count} records, expected {records}")
    ours_rate = records / ours_seconds
    rows = ["| parser | records | seconds | records/s | vs quiffen |", "|---|---:|---:|---:|---:|",
            f"| psimport QifParser | {ours_count:,} | {ours_seconds:.2f} | {ours_rate:,.0f} |"]
    if theirs is None:
        rows[-1] += " quiffen not installed |"
    else:
        quiffen_seconds, quiffen_count = theirs
        rows[-1] += f" {quiffen_seconds / ours_seconds:.1f}× faster |"
        rows.append(f"| quiffen {_quiffen_version()} | {quiffen_count:,} | {quiffen_seconds:.2f} | "
                    f"{records / quiffen_seconds:,.0f} | 1.0× |")
    target = "met" if ours_rate >= 100_000 else "NOT met"
    return "\n".join(rows) + f"\n\nTarget ≥100,000 records/s: {target}.\n"


def _quiffen_version() -> str:
    from importlib.metadata import version
    return version("quiffen")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="20k records, quiffen once")
    print(run(parser.parse_args().quick))


if __name__ == "__main__":
    main()
