"""Start-up of a monthly import: `psimport preview` and `psimport import` of a 400-row statement against `parse` of it.

The statement (`_monthly.py`: a weekday coffee, weekly rent and gym, a fortnightly salary, lunches,
groceries, one-offs) has 400 rows; PocketSmith holds the bank feed's copy of the oldest 200. Every
command is the whole `psimport` in a fresh process, in rounds (each round runs every command once,
in a rotating order, so a busy machine slows all of them alike):

- `psimport parse statement.ofx`: the baseline, what reading the file costs;
- `psimport preview statement.ofx --account ID --existing export.json`: offline, the 200 as a file;
- `psimport preview statement.ofx --account ID`: against a `psimport sandbox` process holding the 200;
- `psimport import statement.ofx --account ID --yes` run again after the import: start-up, the fetch of
  what PocketSmith holds, dedupe and the plan, with nothing left to send (`Nothing to import`);
- `psimport --help`, for scale.

Cost is CPU time (user + system) of the psimport process, as the median over the rounds of (this
command's / parse's in the same round); once warm, start-up is CPU (imports, building commands,
reading, matching), and the CPU of a child is not stretched by waits for a core the way its wall time
is. Wall medians are shown beside. Bytecode is compiled once in a warm-up (into a scratch
PYTHONPYCACHEPREFIX, as an installed copy has it), whatever PYTHONDONTWRITEBYTECODE says.
Target (issue 14): preview and import at most 2x parse.

Then `python -X importtime` of each command, three times: the import time by top-level package (each
module's least self time, summed), the largest first, and whether scipy, pandas or httpx were imported
at all.

    python benchmarks/preview_startup.py            # 15 rounds
    python benchmarks/preview_startup.py --quick    # 5 rounds
"""

from __future__ import annotations

import argparse
import collections
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _monthly import ACCOUNT, feed_copies, seed_sandbox, statement_rows, write_ofx  # noqa: E402
from _timing import python, report_targets, start_sandbox  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
KEY = "sk-bench-startup-0123456789"
ROWS, EXISTING = 400, 200
WATCHED = ("scipy", "pandas", "numpy", "httpx", "rapidfuzz", "rich")


def _run(argv: list[str], env: dict, cwd: Path) -> tuple[float, float]:
    """One fresh process: (wall seconds, CPU seconds of the child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


class SandboxProcess:
    """`psimport sandbox` on a free port, serving `db`."""

    def __init__(self, db: Path, env: dict, cwd: Path):
        self.process, self.url = start_sandbox("--db", str(db), "--key", KEY, env=env, cwd=cwd)

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def import_profile(argv: list[str], env: dict, cwd: Path, runs: int = 3) -> tuple[collections.Counter, set[str]]:
    """`python -X importtime`: milliseconds of import by top-level package (each module's least self time
    over `runs` runs, summed: a busy machine inflates single runs), and every package imported."""
    least: dict[str, int] = {}
    for _ in range(runs):
        done = subprocess.run([argv[0], "-X", "importtime", *argv[1:]], env=env, cwd=cwd,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for line in done.stderr.splitlines():
            if line.startswith("import time:") and "self [us]" not in line:
                own, _, name = line.split(":", 1)[1].split("|")
                least[name.strip()] = min(least.get(name.strip(), 1 << 62), int(own))
    by_package: collections.Counter = collections.Counter()
    for name, microseconds in least.items():
        by_package[name.split(".")[0]] += microseconds / 1000
    return by_package, set(by_package)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 rounds instead of 15")
    args = parser.parse_args()
    rounds = 5 if args.quick else 15
    with tempfile.TemporaryDirectory(prefix="psimport-startup-") as scratch:
        work = Path(scratch)
        env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
        env.update(PYTHONPATH=str(ROOT), PYTHONPYCACHEPREFIX=str(work / "pycache"), COLUMNS="100",
                   POCKETSMITH_DEVELOPER_KEY=KEY)
        rows = statement_rows(ROWS)
        write_ofx(rows, work / "statement.ofx")
        feed = feed_copies(rows, EXISTING)
        seed_sandbox(work / "held.sqlite3", feed, export=work / "export.json")
        seed_sandbox(work / "imported.sqlite3", feed)
        held = SandboxProcess(work / "held.sqlite3", env, work)
        imported = SandboxProcess(work / "imported.sqlite3", env, work)
        try:
            psimport = [python(), "-m", "importer"]
            statement = ["statement.ofx", "--account", str(ACCOUNT)]
            # The import to run again: done once here, so the journal and the sandbox hold its rows.
            again = [*psimport, "import", *statement, "--yes", "--api-url", imported.url, "--state-dir", "imported"]
            _run(again, env, work)
            commands = {
                "psimport parse statement.ofx (baseline)": [*psimport, "parse", "statement.ofx"],
                "psimport preview --existing export.json": [*psimport, "preview", *statement, "--existing",
                                                            "export.json", "--state-dir", "offline"],
                "psimport preview (sandbox process)": [*psimport, "preview", *statement, "--api-url", held.url,
                                                       "--state-dir", "online"],
                "psimport import, run again: nothing to send": again,
                "psimport --help": [*psimport, "--help"],
            }
            for argv in commands.values():
                _run(argv, env, work)     # warm-up: bytecode compiled, files in the page cache
            times: dict[str, list[tuple[float, float]]] = {label: [] for label in commands}
            labels = list(commands)
            for i in range(rounds):
                for label in labels[i % len(labels):] + labels[:i % len(labels)]:
                    times[label].append(_run(commands[label], env, work))
            profiles = {label: import_profile(argv, env, work) for label, argv in commands.items()}
        finally:
            held.close()
            imported.close()

    baseline = labels[0]
    print(f"### Start-up: a {ROWS}-row OFX statement, PocketSmith holding {EXISTING} of its rows "
          f"(medians of {rounds} rounds, fresh processes)\n")
    print("| command | CPU | wall | CPU vs parse | wall vs parse |")
    print("|---|---:|---:|---:|---:|")
    ratios = {}
    for label in labels:
        cpu = statistics.median(c for _, c in times[label])
        wall = statistics.median(w for w, _ in times[label])
        ratios[label] = statistics.median(c / b for (_, c), (_, b) in zip(times[label], times[baseline]))
        wall_ratio = statistics.median(w / b for (w, _), (b, _) in zip(times[label], times[baseline]))
        print(f"| `{label}` | {cpu * 1000:.0f} ms | {wall * 1000:.0f} ms | {ratios[label]:.2f}x | {wall_ratio:.2f}x |")

    print("\n### Import time by package (`python -X importtime`, least of 3 runs, self times summed, ms)\n")
    print("| command | total | largest | " + " | ".join(WATCHED) + " |")
    print("|---|---:|---|" + "---|" * len(WATCHED))
    for label, (by_package, imported_packages) in profiles.items():
        largest = ", ".join(f"{name} {ms:.0f}" for name, ms in by_package.most_common(5))
        flags = " | ".join(f"{by_package[name]:.0f}" if name in imported_packages else "-" for name in WATCHED)
        print(f"| `{label}` | {sum(by_package.values()):.0f} | {largest} | {flags} |")

    targets = [(f"{label} at most 2x parse (CPU): {ratios[label]:.2f}x", ratios[label] <= 2.0)
               for label in labels[1:4]]
    targets.append(("no command imports scipy or pandas for this statement",
                    not any({"scipy", "pandas"} & packages for _, packages in profiles.values())))
    return report_targets(targets)


if __name__ == "__main__":
    sys.exit(main())
