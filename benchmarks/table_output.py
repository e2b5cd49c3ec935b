"""A table of a big statement: `psimport parse FILE` (the first rows) against `--all` (every row) and `--format jsonl`.

    python benchmarks/table_output.py [--quick]

One generated QIF file of 200,000 bank records (20,000 with --quick), read by the real command in
fresh processes at 80 columns, output to /dev/null. Every row as a rich table (`--all`, what
`parse` printed before tables were bounded) is the baseline; `--format jsonl`, which writes every
row without laying out a table, shows what reading the file costs on its own. Each figure is the
median of the runs (3 of each, 1 of `--all`): wall time, CPU time (user + system, which other work on
a shared machine moves much less than the wall clock, so the targets are judged on it), and the
largest peak memory (the process's maximum resident set size).

Targets: the bounded table takes within 1.5x the CPU of the JSON lines of the same file (so the
table costs next to nothing beyond reading the file) and within 10 s at 200,000 rows, in under
half the memory of the table of every row.
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


def run_once(argv: list[str]) -> tuple[float, float, float]:
    """One fresh process at 80 columns: (wall seconds, CPU seconds, peak resident memory in MB)."""
    env = {**os.environ, "COLUMNS": "80", "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    error = child.stderr.read().decode() if child.stderr else ""
    if child.returncode:
        raise SystemExit(f"{' '.join(argv)} failed ({child.returncode}): {error}")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024      # Linux: KiB


def measure(argv: list[str], repeat: int) -> tuple[float, float, float]:
    runs = [run_once(argv) for _ in range(repeat)]
    return (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs), max(r[2] for r in runs))


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
    _, _, table_cpu, table_mb = results["`parse FILE` (table, first 50 rows)"]
    _, _, jsonl_cpu, _ = results["`parse FILE --format jsonl`"]
    _, _, all_cpu, all_mb = results["`parse FILE --all` (table, every row: baseline)"]
    print(f"{records:,} QIF records, 80 columns, output to /dev/null\n")
    print("| command | rows shown | wall s | CPU s | peak MB | CPU vs every row |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, (rows, seconds, cpu, mb) in results.items():
        print(f"| {label} | {rows:,} | {seconds:.2f} | {cpu:.2f} | {mb:.0f} | {cpu / all_cpu:.3f}x |")
    print(f"\nThe bounded table: {all_cpu / table_cpu:.0f}x less CPU than every row, {all_mb / table_mb:.1f}x less "
          f"memory, {table_cpu / jsonl_cpu:.2f}x the CPU of the JSON lines.")
    return report_targets([
        (f"bounded table within 1.5x the JSON lines' CPU ({table_cpu:.2f} s vs {jsonl_cpu:.2f} s)",
         table_cpu <= 1.5 * jsonl_cpu),
        (f"bounded table within 10 s of CPU at {records:,} rows ({table_cpu:.2f} s)", table_cpu <= 10),
        (f"under half the memory of every row ({table_mb:.0f} MB vs {all_mb:.0f} MB)", table_mb < all_mb / 2),
    ])


if __name__ == "__main__":
    sys.exit(main())
