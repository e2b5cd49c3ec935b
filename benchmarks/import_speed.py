"""Import speed: `psimport import` creating N transactions in a sandbox that takes 20 ms per request.

Generated data: a QIF statement of N distinct rows (and a pair of identical ones) for one
account. Each run is the whole command in a fresh process (parse, plan, journal, creates)
against a fresh `psimport sandbox` process with `--latency-ms 20`. The baseline in the same run
is `--concurrency 1` (one request at a time); the default setting is compared with it, and in
full mode other concurrency levels show where the default comes from. Then the same import
with faults injected (10% 429s; then 429s, 500s and dropped creates together) must still
end with every row in the sandbox exactly once. Prints a markdown table.

    python benchmarks/import_speed.py            # 2,000 creates
    python benchmarks/import_speed.py --quick    # 300 creates
"""

from __future__ import annotations

import argparse
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from importer.write.writer import DEFAULT_CONCURRENCY  # noqa: E402

ACCOUNT = 510001
KEY = "sk-bench-import-0123456789"
LATENCY_MS = 20


def write_statement(path: Path, count: int) -> Counter:
    """A QIF of `count` rows: distinct payees and amounts over a year, plus two identical coffees."""
    rows = []
    start = date(2019, 1, 1)
    for i in range(count - 2):
        day = start + timedelta(days=i % 365)
        rows.append((day, Decimal(-(100 + 7 * i)) / 100, f"Merchant {i}"))
    rows += [(date(2019, 6, 13), Decimal("-4.50"), "Daily Grind")] * 2
    lines = ["!Type:Bank"]
    for day, amount, payee in rows:
        lines += [f"D{day:%m/%d/%Y}", f"T{amount}", f"P{payee}", "^"]
    path.write_text("\n".join(lines) + "\n")
    return Counter(rows)


class Sandbox:
    """`psimport sandbox` in its own process, on a free port, with faults."""

    def __init__(self, directory: Path, *faults: str):
        self.db = directory / "sandbox.sqlite3"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "importer", "sandbox", "--port", "0", "--db", str(self.db), "--key", KEY,
             "--latency-ms", str(LATENCY_MS), "--state-dir", str(directory), *faults],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        line = self.process.stdout.readline()
        found = re.search(r"(http://127\.0\.0\.1:\d+/v2)", line)
        if not found:
            self.process.kill()
            raise SystemExit(f"the sandbox did not start: {line}")
        self.url = found.group(1)

    def stored(self) -> Counter:
        with sqlite3.connect(f"file:{self.db}?mode=ro", uri=True) as conn:
            rows = conn.execute("SELECT date, amount_cents, payee FROM transactions WHERE transaction_account_id = ?",
                                (ACCOUNT,)).fetchall()
        return Counter((date.fromisoformat(d), Decimal(c) / 100, p) for d, c, p in rows)

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def run_import(workdir: Path, statement: Path, concurrency: int | None, *faults: str) -> dict:
    """One timed `psimport import` into a fresh sandbox; checks what the sandbox holds afterwards."""
    directory = Path(tempfile.mkdtemp(dir=workdir))
    sandbox = Sandbox(directory, *faults)
    try:
        command = [sys.executable, "-m", "importer", "import", str(statement), "--account", str(ACCOUNT), "--yes",
                   "--api-url", sandbox.url, "--state-dir", str(directory / "state")]
        if concurrency is not None:
            command += ["--concurrency", str(concurrency)]
        env = {**os.environ, "POCKETSMITH_DEVELOPER_KEY": KEY}
        started = time.perf_counter()
        result = subprocess.run(command, env=env, capture_output=True, text=True, cwd=directory)
        elapsed = time.perf_counter() - started
        if result.returncode != 0:
            raise SystemExit(f"import failed ({result.returncode}): {result.stderr}")
        found = re.search(r"asked to slow down (\d+) times; requests in flight went down to (\d+)", result.stdout)
        return {"seconds": elapsed, "stored": sandbox.stored(),
                "throttles": int(found.group(1)) if found else 0, "lowest": int(found.group(2)) if found else None}
    finally:
        sandbox.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="300 creates instead of 2,000")
    parser.add_argument("--count", type=int, help="how many creates")
    args = parser.parse_args()
    count = args.count or (300 if args.quick else 2000)
    levels = [4, 8, 32] if not args.quick else []

    with tempfile.TemporaryDirectory(prefix="psimport-bench-") as tmp:
        workdir = Path(tmp)
        statement = workdir / "statement.qif"
        planned = write_statement(statement, count)
        runs = [("one at a time (baseline)", 1, ()), (f"default ({DEFAULT_CONCURRENCY})", None, ())]
        runs += [(f"--concurrency {n}", n, ()) for n in levels]
        runs += [("default, 10% 429 (Retry-After 0.2 s)", None, ("--rate-429", "0.1", "--retry-after", "0.2")),
                 ("default, 5% 429 + 5% 500 + 5% dropped creates", None,
                  ("--rate-429", "0.05", "--retry-after", "0.2", "--rate-500", "0.05", "--rate-drop", "0.05"))]
        results = []
        for name, concurrency, faults in runs:
            outcome = run_import(workdir, statement, concurrency, *faults)
            results.append((name, outcome))
            print(f"  {name}: {outcome['seconds']:.1f} s", file=sys.stderr)

    baseline = results[0][1]["seconds"]
    print(f"\n### `psimport import`: {count:,} creates, sandbox latency {LATENCY_MS} ms per request, 2 cores\n")
    print("| run | time (s) | creates/s | vs one at a time | 429s seen | lowest in flight | exactly once |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for name, outcome in results:
        exact = outcome["stored"] == planned
        print(f"| {name} | {outcome['seconds']:.1f} | {count / outcome['seconds']:.0f} | "
              f"{baseline / outcome['seconds']:.1f}x | {outcome['throttles']} | {outcome['lowest'] or '-'} | "
              f"{'yes' if exact else 'NO'} |")
    if not all(o["stored"] == planned for _, o in results):
        raise SystemExit("a run did not end with every row exactly once")


if __name__ == "__main__":
    main()
