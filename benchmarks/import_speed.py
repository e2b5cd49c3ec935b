"""Import speed: the whole `psimport import` of N new rows against a sandbox that takes 25 ms a request, and where the time goes.

Generated data: a QIF statement of N distinct rows (and a pair of identical ones) for one account, in
date order at five a day, and a sandbox holding a year of 1,000 other transactions of that account
(credits, so none matches a row), of which the import fetches those in the statement's period for
dedupe, like any other. (The statement's dates matter since issue 15: about every 64 rows the writer
lists the account's transactions over those rows' dates, looking for another import's copies, so a
statement whose consecutive rows were days apart made each look list hundreds of transactions.) Each run is the whole
command in a fresh process (start-up, parse, the fetch, plan, journal, creates) against a fresh
`psimport sandbox` process with `--latency-ms 25`, timed from the parent's side: nothing is left
out. Bytecode is compiled once beforehand (into a scratch PYTHONPYCACHEPREFIX, as an installed
copy has it), whatever PYTHONDONTWRITEBYTECODE says. The baseline in the same run is
`--concurrency 1` (one request at a time); the default (16 in flight, growing to 32 while the
server keeps up) is compared with it, at 400 rows (target ≥6x) and 2,000 (target ≥12x, full mode;
the median of 3 default runs there). Every run must end with every row in the sandbox exactly
once.

Where the time goes: the default run is repeated under `_import_probe.py`, which times (in that
process only) each request and each journal commit, and the table splits the run into start-up
(interpreter, imports, reading and planning until the first request), the fetch of what PocketSmith
holds, planning and journaling the batch, the first window (rows journaled `sending` before the first
create leaves), sending, and the tail; with the journal's commits, how soon the most requests were in
flight (the ramp) and how many were in flight on average.

Full mode also shows other concurrency levels, a server that refuses pages over 100 (the client
falls back to 100 and goes on), and faults (429s with Retry-After; 429s, 500s and dropped creates
together), which must still land every row exactly once.

    python benchmarks/import_speed.py            # 400 and 2,000 rows, about two minutes
    python benchmarks/import_speed.py --quick    # 400 rows: baseline, default, the breakdown
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from importer.write.writer import DEFAULT_CONCURRENCY, START_CONCURRENCY  # noqa: E402

from _timing import start_sandbox  # noqa: E402  # beside this script

ACCOUNT = 510001
KEY = "sk-bench-import-0123456789"
LATENCY_MS = 25
HELD = 1000
ROWS_A_DAY = 5


def write_statement(path: Path, count: int) -> Counter:
    """A QIF of `count` rows in date order, five a day as a busy account has them (400 rows: 80 days), with
    distinct payees and amounts, plus two identical coffees."""
    rows = []
    start = date(2019, 1, 1)
    for i in range(count - 2):
        day = start + timedelta(days=i // ROWS_A_DAY)
        rows.append((day, Decimal(-(100 + 7 * i)) / 100, f"Merchant {i}"))
    rows += [(start + timedelta(days=10), Decimal("-4.50"), "Daily Grind")] * 2
    rows.sort(key=lambda row: row[0])
    lines = ["!Type:Bank"]
    for day, amount, payee in rows:
        lines += [f"D{day:%m/%d/%Y}", f"T{amount}", f"P{payee}", "^"]
    path.write_text("\n".join(lines) + "\n")
    return Counter(rows)


def seed_held(db: Path) -> Counter:
    """A sandbox database (`psimport sandbox`'s accounts) holding HELD credits of the account in 2019."""
    from importer.sandbox.demo import seed_demo
    from importer.sandbox.store import Store

    held = [(date(2019, 1, 1) + timedelta(days=i * 7 % 365), Decimal(1000 + i) / 100 + 500, f"Transfer in {i}")
            for i in range(HELD)]
    store = Store(db)
    try:
        seed_demo(store, history=False)
        store.add_transactions({"transaction_account_id": ACCOUNT, "date": d, "amount": a, "payee": p,
                                "upload_source": "feed"} for d, a, p in held)
    finally:
        store.close()
    return Counter(held)


class Sandbox:
    """`psimport sandbox` in its own process, on a free port, with faults."""

    def __init__(self, directory: Path, env: dict, *options: str):
        self.db = directory / "sandbox.sqlite3"
        self.held = seed_held(self.db)
        self.process, self.url = start_sandbox("--db", str(self.db), "--key", KEY, "--latency-ms", str(LATENCY_MS),
                                               *options, env=env, cwd=directory)

    def stored(self) -> Counter:
        """What the import added: the account's transactions less the ones seeded."""
        with sqlite3.connect(f"file:{self.db}?mode=ro", uri=True) as conn:
            rows = conn.execute("SELECT date, amount_cents, payee FROM transactions WHERE transaction_account_id = ?",
                                (ACCOUNT,)).fetchall()
        return Counter((date.fromisoformat(d), Decimal(c) / 100, p) for d, c, p in rows) - self.held

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the sandbox process has used so far (Linux /proc)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def run_import(workdir: Path, env: dict, statement: Path, concurrency: int | None, *sandbox_options: str,
               probe: bool = False) -> dict:
    """One timed `psimport import` into a fresh sandbox; checks what the sandbox holds afterwards."""
    directory = Path(tempfile.mkdtemp(dir=workdir))
    sandbox = Sandbox(directory, env, *sandbox_options)
    try:
        entry = [str(ROOT / "benchmarks" / "_import_probe.py")] if probe else ["-m", "importer"]
        command = [sys.executable, *entry, "import", str(statement), "--account", str(ACCOUNT), "--yes",
                   "--api-url", sandbox.url, "--state-dir", str(directory / "state")]
        if concurrency is not None:
            command += ["--concurrency", str(concurrency)]
        probe_out = directory / "probe.json"
        sandbox_before = sandbox.cpu_seconds()
        children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        result = subprocess.run(command, env={**env, "PSIMPORT_PROBE_OUT": str(probe_out)}, capture_output=True,
                                text=True, cwd=directory)
        elapsed = time.perf_counter() - started
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (children.ru_utime - children_before.ru_utime) + (children.ru_stime - children_before.ru_stime)
        sandbox_cpu = sandbox.cpu_seconds() - sandbox_before
        if result.returncode != 0:
            raise SystemExit(f"import failed ({result.returncode}): {result.stderr}")
        found = re.search(r"asked to slow down (\d+) times; requests in flight went down to (\d+)", result.stdout)
        outcome = {"seconds": elapsed, "stored": sandbox.stored(), "cpu": cpu, "sandbox_cpu": sandbox_cpu,
                   "load": os.getloadavg()[0],
                   "throttles": int(found.group(1)) if found else 0, "lowest": int(found.group(2)) if found else None}
        if probe:
            outcome["probe"] = json.loads(probe_out.read_text())
        return outcome
    finally:
        sandbox.close()


def breakdown(outcome: dict) -> list[tuple[str, float, str]]:
    """The probed run split into its phases: (phase, seconds, what happened in it)."""
    events = outcome["probe"]
    interpreter = outcome["seconds"] - events["end"]      # before the probe's first line ran, and exiting
    requests = sorted(events["requests"], key=lambda r: r[2])
    creates = [r for r in requests if r[1] == "create"]
    batch_created = events["batch_created"]
    fetches = [r for r in requests if r[1] != "create" and r[3] <= batch_created]
    looks = [r for r in requests if r[1] != "create" and r[2] >= batch_created]   # for another import's copies
    first_request = requests[0][2]
    first_create, last_create = creates[0][2], max(r[3] for r in creates)
    fetch_end = max(r[3] for r in fetches)
    commits = [c for c in events["commits"] if c[0] == "commit"]
    sending_commits = [c for c in commits if first_create <= c[1] <= last_create]
    commit_seconds = sum(c[2] - c[1] for c in sending_commits)
    look_seconds = sum(r[3] - r[2] for r in looks)
    busy = sum(r[3] - r[2] for r in creates)
    span = last_create - first_create
    ramp = events["most_in_flight_at"] - first_create
    lists = sum(1 for r in fetches if r[1] == "list")
    return [
        ("start-up: interpreter, imports, parse, accounts", interpreter + first_request,
         "until the first request"),
        ("fetch what PocketSmith holds", fetch_end - first_request,
         f"{len(fetches)} reads ({lists} of transactions)"),
        ("dedupe, rules, the batch into the journal", batch_created - fetch_end, "one commit"),
        ("first window", first_create - batch_created,
         "the first look for another import's copies, its rows journaled `sending`, the first create"),
        ("sending", span, f"{len(creates)} creates, {busy / span:.1f} in flight on average; the most "
                          f"({events['most_in_flight']}) {ramp * 1000:.0f} ms after the first; "
                          f"{len(sending_commits)} journal commits, {commit_seconds * 1000:.0f} ms; "
                          f"{len(looks)} looks for another import's copies beside the sends, "
                          f"{look_seconds * 1000:.0f} ms"),
        ("tail: last commit, report, exit", events["end"] - last_create, ""),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="400 rows only: baseline, default and the breakdown")
    args = parser.parse_args()

    targets = []
    with tempfile.TemporaryDirectory(prefix="psimport-bench-") as tmp:
        workdir = Path(tmp)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env.update(PYTHONPATH=str(ROOT), PYTHONPYCACHEPREFIX=str(workdir / "pycache"),
                   POCKETSMITH_DEVELOPER_KEY=KEY)
        sizes = [400] if args.quick else [400, 2000]
        defaults = 1 if args.quick else 3      # the default's runs are short: a burst of load moves one a lot
        tables = []
        probed = None
        for count in sizes:
            statement = workdir / f"statement-{count}.qif"
            planned = write_statement(statement, count)
            run_import(workdir, env, statement, None)      # warm-up: bytecode, page cache, the sandbox's too
            runs = [("one at a time (baseline)", 1, ())]
            runs += [(f"default ({START_CONCURRENCY} in flight, growing to {DEFAULT_CONCURRENCY}), run {n}", None, ())
                     for n in range(1, defaults + 1)]
            if not args.quick and count == 400:
                runs += [(f"--concurrency {n}", n, ()) for n in (8, 16, 64)]
                runs += [("default, server refusing pages over 100", None, ("--refuse-per-page-over", "100")),
                         ("default, 10% 429 (Retry-After 0.2 s)", None, ("--rate-429", "0.1", "--retry-after", "0.2")),
                         ("default, 5% 429 + 5% 500 + 5% dropped creates", None,
                          ("--rate-429", "0.05", "--retry-after", "0.2", "--rate-500", "0.05", "--rate-drop", "0.05"))]
            results = []
            for name, concurrency, options in runs:
                outcome = run_import(workdir, env, statement, concurrency, *options)
                results.append((name, outcome))
                print(f"  {count}: {name}: {outcome['seconds']:.2f} s", file=sys.stderr)
            if count == 400:
                probed = run_import(workdir, env, statement, None, probe=True)
                results.append(("default, probed (below)", probed))
            baseline = results[0][1]["seconds"]
            default = statistics.median(o["seconds"] for _, o in results[1:1 + defaults])
            tables.append((count, planned, baseline, results))
            target = 6 if count == 400 else 12
            targets.append((f"{count:,} rows: default at least {target}x one at a time (median of {defaults}): "
                            f"{baseline / default:.1f}x", baseline / default >= target))
            exact = all(o["stored"] == planned for _, o in results)
            targets.append((f"{count:,} rows: every run created every row exactly once", exact))

    for count, planned, baseline, results in tables:
        print(f"\n### `psimport import` of {count:,} new rows, sandbox latency {LATENCY_MS} ms a request, "
              f"{ROWS_A_DAY} rows a day, a year of {HELD:,} other transactions held, start-up included, 2 cores\n")
        print("| run | time (s) | creates/s | vs one at a time | psimport CPU (s) | sandbox CPU (s) | load | "
              "429s seen | lowest in flight | exactly once |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        for name, outcome in results:
            print(f"| {name} | {outcome['seconds']:.2f} | {count / outcome['seconds']:.0f} | "
                  f"{baseline / outcome['seconds']:.1f}x | {outcome['cpu']:.2f} | {outcome['sandbox_cpu']:.2f} | "
                  f"{outcome['load']:.1f} | {outcome['throttles']} | {outcome['lowest'] or '-'} | "
                  f"{'yes' if outcome['stored'] == planned else 'NO'} |")
        print("\nCPU: of the psimport process and of the sandbox process during the run; load: the machine's "
              "1-minute load average as the run ended (2 cores).")
    if probed is not None:
        phases = breakdown(probed)
        print(f"\n### Where the time goes: the default import of 400 rows ({probed['seconds']:.2f} s)\n")
        print("| phase | time | share | |")
        print("|---|---:|---:|---|")
        for phase, seconds, note in phases:
            print(f"| {phase} | {seconds * 1000:.0f} ms | {seconds / probed['seconds']:.0%} | {note} |")
        print(f"\nThe network alone, for the sending phase: 400 requests × {LATENCY_MS} ms at {START_CONCURRENCY} in "
              f"flight (where a batch starts) is {400 / START_CONCURRENCY * LATENCY_MS:.0f} ms, at "
              f"{DEFAULT_CONCURRENCY} {400 / DEFAULT_CONCURRENCY * LATENCY_MS:.0f} ms.")
    print()
    for label, ok in targets:
        print(f"- {label}: {'met' if ok else 'NOT met'}")
    return 0 if all(ok for _, ok in targets) else 1


if __name__ == "__main__":
    sys.exit(main())
