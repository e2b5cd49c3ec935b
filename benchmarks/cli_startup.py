"""Start-up of `psimport --help`, `psimport parse --help` and `import importer`, against the tree before the redesign.

The tree before the redesign (commit 513201e) is checked out into a temporary git worktree, removed
afterwards, and every command runs in fresh processes with PYTHONPATH at one tree or the other, from
a neutral folder, after one warm-up run each (so both have their bytecode compiled). The runs are
interleaved, a round at a time (this tree, the one before, the one before again, in a rotating order),
so a busy machine slows every tree alike.

Targets: no slower than before, and `psimport --help` within 3x `python -c "import click"`.
"No slower" is judged on CPU time (user + system of the process), as the median over the rounds of
(this tree's / the one before's in the same round). Once warm, start-up is all CPU: importing and
building the click commands. Wall time adds the waits for a core, which on the shared 2-core machine
move single medians by 10-30% while other work runs; the paired CPU ratio of a tree against itself
stays within about 2%. So 5% is allowed, or more when the same run's own noise says more: the tree
before is also timed against itself in every round (the "noise" column), and a difference smaller than
that cannot be told from it. Wall times and their paired ratio are shown beside, and a clock-free
figure: how many modules each command imports (`python -X importtime`), with any the tree before did
not import named under the table.

When a command got slower, find the module that did it with
    PYTHONPATH=<tree> python -X importtime -m importer --help 2>&1 | sort -t'|' -k2 -n | tail
for each tree (the second column is each module's cumulative import time in microseconds).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _timing import python, report_targets

ROOT = Path(__file__).resolve().parents[1]
BEFORE = "513201e"   # the last commit before the redesign of issue 9
MARGIN = 1.05


def _psimport() -> list[str]:
    """The installed `psimport` script run by this interpreter (what a user runs), else `python -m importer`."""
    script = Path(python()).parent / "psimport"
    return [python(), str(script)] if script.is_file() else [python(), "-m", "importer"]


def _commands() -> dict[str, list[str]]:
    return {'python -c "import importer"': [python(), "-c", "import importer"],
            "psimport --help": [*_psimport(), "--help"],
            "psimport parse --help": [*_psimport(), "parse", "--help"]}


def _run(argv: list[str], env: dict, cwd: str) -> tuple[float, float]:
    """One fresh process: (wall seconds, CPU seconds of the child, user + system)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _env(tree: Path) -> dict:
    return {**os.environ, "PYTHONPATH": str(tree), "COLUMNS": "100"}


def _check_tree(tree: Path, cwd: str) -> None:
    """Make sure PYTHONPATH really selects `tree` (an installed copy elsewhere must not answer instead)."""
    out = subprocess.run([python(), "-c", "import importer; print(importer.__file__)"], env=_env(tree), cwd=cwd,
                         capture_output=True, text=True, check=True).stdout.strip()
    if Path(out).resolve().parent != (tree / "importer").resolve():
        raise SystemExit(f"PYTHONPATH={tree} imports importer from {out}, not from that tree")


def _modules(argv: list[str], env: dict, cwd: str) -> set[str]:
    """The modules a command imports, from `python -X importtime` (no clock involved: the same on any machine)."""
    done = subprocess.run([argv[0], "-X", "importtime", *argv[1:]], env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, check=True)
    return {line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines()
            if line.startswith("import time:") and not line.rstrip().endswith("package")}


def measure(now: Path, before: Path, repeat: int, cwd: str) -> dict:
    """Per command: medians of wall time for each tree, and the paired ratios over the rounds.

    Every round runs every command on every tree (and the `import click` floor), so all the
    medians come from the same stretch of time, whatever else the machine was doing.
    """
    trees = {"now": _env(now), "before": _env(before), "again": _env(before)}
    floor = [python(), "-c", "import click"]
    commands = _commands()
    for argv in [floor, *commands.values()]:
        for env in trees.values():
            _run(argv, env, cwd)   # warm-up: bytecode compiled, files in the page cache
    runs: dict[str, dict[str, list[tuple[float, float]]]] = {label: {name: [] for name in trees} for label in commands}
    floor_runs = []
    for i in range(repeat):
        order = list(trees)[i % 3:] + list(trees)[:i % 3]
        for label, argv in commands.items():
            for name in order:
                runs[label][name].append(_run(argv, trees[name], cwd))
        floor_runs.append(_run(floor, trees["now"], cwd))

    def paired(times: dict, a: str, b: str, k: int) -> float:
        return statistics.median(x[k] / y[k] for x, y in zip(times[a], times[b]))

    results: dict = {"click": statistics.median(wall for wall, _ in floor_runs)}
    for label, times in runs.items():
        results[label] = {
            "now": statistics.median(wall for wall, _ in times["now"]),
            "before": statistics.median(wall for wall, _ in times["before"]),
            "wall": paired(times, "now", "before", 0), "cpu": paired(times, "now", "before", 1),
            "noise": paired(times, "again", "before", 1),
            "modules_now": _modules(commands[label], trees["now"], cwd),
            "modules_before": _modules(commands[label], trees["before"], cwd)}
    return results


def table(results: dict) -> str:
    click = results["click"]
    lines = [f"| command | before ({BEFORE}) | now | now / before, wall | now / before, CPU "
             "| noise, CPU (before / before) | now vs `import click` | modules imported, before → now |",
             "|---|---|---|---|---|---|---|---|",
             f'| `python -c "import click"` | | {click * 1000:.0f} ms | | | | 1.00x | |']
    for label, r in results.items():
        if label == "click":
            continue
        lines.append(f"| `{label}` | {r['before'] * 1000:.0f} ms | {r['now'] * 1000:.0f} ms | {r['wall']:.3f}x "
                     f"| {r['cpu']:.3f}x | {r['noise']:.3f}x | {r['now'] / click:.2f}x "
                     f"| {len(r['modules_before'])} → {len(r['modules_now'])} |")
    added = {label: sorted(r["modules_now"] - r["modules_before"]) for label, r in results.items() if label != "click"}
    lines += [f"\n`{label}` imports what the tree before did not: {', '.join(names)}"
              for label, names in added.items() if names]
    return "\n".join(lines)


def run(quick: bool = False) -> int:
    repeat = 7 if quick else 21
    scratch = tempfile.mkdtemp(prefix="psimport-startup-")
    before = Path(scratch) / "before"
    added = subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(before), BEFORE],
                           capture_output=True, text=True)
    if added.returncode:
        shutil.rmtree(scratch, ignore_errors=True)
        raise SystemExit(f"cannot check out {BEFORE}, the tree to compare with (a clone with its history is "
                         f"needed): {added.stderr.strip()}")
    try:
        neutral = tempfile.mkdtemp(dir=scratch)   # no importer/ in the working folder to shadow PYTHONPATH
        _check_tree(ROOT, neutral)
        _check_tree(before, neutral)
        results = measure(ROOT, before, repeat, neutral)
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(before)], check=False,
                       capture_output=True)
        shutil.rmtree(scratch, ignore_errors=True)
    how = "the installed script" if "-m" not in _psimport() else "python -m importer"
    print(f"Medians of {repeat} rounds, fresh processes; psimport run as {how}.")
    print(table(results))
    targets = []
    for label, r in results.items():
        if label == "click":
            continue
        margin = max(MARGIN, 1 + abs(r["noise"] - 1))
        why = "" if margin == MARGIN else ", widened to this run's noise"
        targets.append((f"{label} no slower than before (CPU now / before ≤ {margin:.3f}{why}): {r['cpu']:.3f}x",
                        r["cpu"] <= margin))
    targets.append((f"psimport --help within 3x `python -c \"import click\"`: "
                    f"{results['psimport --help']['now'] / results['click']:.2f}x",
                    results["psimport --help"]["now"] <= 3 * results["click"]))
    status = report_targets(targets)
    if status:
        print("\nFind the module that got slower: PYTHONPATH=<tree> python -X importtime -m importer --help")
    return status


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="7 rounds instead of 21.")
    sys.exit(run(parser.parse_args().quick))
