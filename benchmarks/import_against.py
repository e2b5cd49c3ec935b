"""Import speed against another revision: the same `psimport import` run by this tree and by a git revision, in turn.

`import_speed.py` compares the default import with one request at a time; this compares two versions
of psimport on the same work, to show what a change did: the revision's files (`git archive`) go in a
scratch directory, and each run is the whole `psimport import` of one statement into a fresh sandbox
process (`--latency-ms 25`, the same data as `import_speed.py`), the two versions alternating and
swapping which goes first each round, so a burst of load on the shared machine falls on both. Each
version runs its own sandbox, whose CPU is shown beside the importing process's. Reports the medians:
wall time, psimport's CPU (and per create), the sandbox's CPU; every run must create every row exactly
once.

    python benchmarks/import_against.py main                 # 2,000 rows, 3 runs each
    python benchmarks/import_against.py HEAD~2 --rows 400 --runs 5
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import import_speed

ROOT = import_speed.ROOT


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("revision", help="a git revision to compare this working tree with (main, HEAD~2, ...)")
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="psimport-against-") as tmp:
        work = Path(tmp)
        other = work / "revision"
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.revision], capture_output=True, check=True)
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(other, filter="data")
        statement = work / "statement.qif"
        planned = import_speed.write_statement(statement, args.rows)
        trees = {f"{args.revision}": other, "this tree": ROOT}
        environments = {}
        for name, tree in trees.items():
            env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
            env.update(PYTHONPATH=str(tree), POCKETSMITH_DEVELOPER_KEY=import_speed.KEY,
                       PYTHONPYCACHEPREFIX=str(work / f"pycache-{len(environments)}"))
            environments[name] = env
        results: dict[str, list[dict]] = {name: [] for name in trees}
        order = list(trees)
        for round_number in range(args.runs + 1):        # round 0 warms up: bytecode, page cache
            for name in (order if round_number % 2 else order[::-1]):
                outcome = import_speed.run_import(work, environments[name], statement, None)
                if outcome["stored"] != planned:
                    raise SystemExit(f"{name}: the sandbox does not hold every row exactly once")
                if round_number:
                    results[name].append(outcome)
                    print(f"  {name}: {outcome['seconds']:.2f} s, CPU {outcome['cpu']:.2f} s", file=sys.stderr)

    print(f"\n### `psimport import` of {args.rows:,} new rows: {args.revision} against this tree "
          f"(medians of {args.runs}, alternating)\n")
    print("| version | time (s) | psimport CPU (s) | per create (ms) | sandbox CPU (s) | load | exactly once |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for name, outcomes in results.items():
        cpu = statistics.median(o["cpu"] for o in outcomes)
        print(f"| {name} | {statistics.median(o['seconds'] for o in outcomes):.2f} | {cpu:.2f} | "
              f"{cpu / args.rows * 1000:.2f} | {statistics.median(o['sandbox_cpu'] for o in outcomes):.2f} | "
              f"{statistics.median(o['load'] for o in outcomes):.1f} | yes |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
