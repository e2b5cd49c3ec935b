"""Hostile input: the time a preview takes with huge payees, against the same preview with ordinary ones.

Issue 15 measured 50 s for one row whose payee was 20,000 characters against an existing transaction's
20,000 (same amount), and no end for 1 MB against 100 KB. Each case here is the whole `psimport preview`
command in a fresh process (offline, an --existing export of one transaction), timed against the
baseline: the same two-row statement and export with 20-character payees, in the same run. Also the
regex rule `(a+)+$` on 28 characters (23 s with Python's re), against a plain `contains` rule.

    python benchmarks/hostile_input.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _text(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.ascii_uppercase + " ") for _ in range(n))


def _preview_seconds(folder: Path, statement_chars: int, export_chars: int) -> float:
    rng = random.Random(statement_chars + export_chars)
    statement = folder / f"s{statement_chars}.csv"
    statement.write_text(f"Date,Description,Amount\n2024-05-01,{_text(rng, statement_chars)},-4.50\n"
                         "2024-05-02,COFFEE,-3.00\n")
    export = folder / f"e{export_chars}.json"
    export.write_text(json.dumps([{"id": 1, "date": "2024-05-01", "amount": -4.5, "payee": _text(rng, export_chars),
                                   "original_payee": _text(rng, export_chars), "transaction_account": {"id": 1}}]))
    return _run(["preview", str(statement), "--account", "1", "--existing", str(export), "--format", "json"])


def _rule_seconds(folder: Path, condition: str) -> float:
    statement = folder / "regex.csv"
    statement.write_text(f"Date,Description,Amount\n2024-05-01,{'a' * 28}b,-4.50\n")
    rules = folder / "rules.yaml"
    rules.write_text(f"rules:\n  - name: r\n    if: {{payee: {condition}}}\n    then: {{category: X}}\n")
    return _run(["rules", "explain", str(statement), "--rules", str(rules), "--format", "json"])


def _run(args: list[str]) -> float:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "importer", *args], env=env, capture_output=True, timeout=600)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"psimport {' '.join(args[:2])} failed: {done.stderr.decode()[-500:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the 20,000-character case")
    quick = parser.parse_args().quick
    with tempfile.TemporaryDirectory() as folder:
        folder_path = Path(folder)
        baseline = min(_preview_seconds(folder_path, 20, 20) for _ in range(3))
        print(f"preview, 20-character payees (baseline): {baseline:.2f} s")
        cases = [(20_000, 20_000)] + ([] if quick else [(100_000, 1_000_000)])
        for statement_chars, export_chars in cases:
            took = _preview_seconds(folder_path, statement_chars, export_chars)
            print(f"preview, a {statement_chars:,}-character payee against {export_chars:,}: {took:.2f} s "
                  f"({took / baseline:.2f}x the baseline)")
        plain = _rule_seconds(folder_path, "{contains: aaa}")
        nested = _rule_seconds(folder_path, '{regex: "(a+)+$"}')
        print(f"rules explain, (a+)+$ on 28 characters: {nested:.2f} s ({nested / plain:.2f}x a contains rule, "
              f"{plain:.2f} s)")


if __name__ == "__main__":
    main()
