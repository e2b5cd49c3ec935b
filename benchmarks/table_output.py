"""A table of a big statement: `psimport parse FILE` (the first rows) against `--all` (every row) and `--format jsonl`.

    python benchmarks/table_output.py [--quick]

One generated QIF file of 200,000 bank records (20,000 with --quick), read by the real command in
fresh processes at 80 columns, output to /dev/null. Every row as a rich table (`--all`, what
`parse` printed before tables were bounded) is the baseline; `--format jsonl`, which writes every
row without laying out a table, shows what reading the file costs on its own. Each figure is the
median wall time of the runs (3 of each, 1 of `--all`) and the largest peak memory (the process's
maximum resident set size).

Targets: the bounded table answers within 1.5x the time of the JSON lines of the same file (so
the table costs next to nothing beyond reading the file) and within 10 s at 200,000 rows, in
under half the memory of the table of every row.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _timing import python, report_targets
from parse_qif import write_qif

ROOT = Path(__file__).resolve().parents[1]


def run_once(argv: list[str]) -> tuple[float, float]:
    """One fresh process at 80 columns: (wall seconds, peak resident memory in MB)."""
    env = {**os.environ, "COLUMNS": "80", "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    error = child.stderr.read().decode() if child.stderr else ""
    if child.returncode:
        raise SystemExit(f"{' '.join(argv)} failed ({child.returncode}): {error}")
    return seconds, usage.ru_maxrss / 1024      # Linux: KiB


def measure(argv: list[str], repeat: int) -> tuple[float, float]:
    runs = [run_once(argv) for _ in range(repeat)]
    return statistics.median(t for t, _ in runs), max(m for _, m in runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="20,000 records instead of 200,000")
    quick = parser.parse_args().quick
    records = 20_000 if quick else 200_000
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.qif"
        write_qif(path, records)
        parse = [python(), "-m", "importer", "parse", str(path)]
        results = {"`parse FILE` (table, first 50 rows)": (50, *measure(parse, 3)),
                   "`parse FILE --format jsonl`": (records, *measure(parse + ["--format", "jsonl"], 3)),
                   "`parse FILE --all` (table, every row: baseline)": (records, *measure(parse + ["--all"], 1))}
    _, table_s, table_mb = results["`parse FILE` (table, first 50 rows)"]
    _, jsonl_s, _ = results["`parse FILE --format jsonl`"]
    _, all_s, all_mb = results["`parse FILE --all` (table, every row: baseline)"]
    print(f"{records:,} QIF records, 80 columns, output to /dev/null\n")
    print("| command | rows shown | seconds | peak MB | time vs every row |")
    print("|---|---:|---:|---:|---:|")
    for label, (rows, seconds, mb) in results.items():
        print(f"| {label} | {rows:,} | {seconds:.2f} | {mb:.0f} | {seconds / all_s:.3f}x |")
    print(f"\nThe bounded table: {all_s / table_s:.0f}x faster than every row, {all_mb / table_mb:.1f}x less memory, "
          f"{table_s / jsonl_s:.2f}x the time of the JSON lines.")
    return report_targets([
        (f"bounded table within 1.5x the JSON lines ({table_s:.2f} s vs {jsonl_s:.2f} s)", table_s <= 1.5 * jsonl_s),
        (f"bounded table within 10 s at {records:,} rows ({table_s:.2f} s)", table_s <= 10),
        (f"under half the memory of every row ({table_mb:.0f} MB vs {all_mb:.0f} MB)", table_mb < all_mb / 2),
    ])


if __name__ == "__main__":
    sys.exit(main())
