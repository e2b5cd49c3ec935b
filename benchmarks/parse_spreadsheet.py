"""Spreadsheet statements: `psimport parse` of an XLSX against the CSV of the same rows, and against the engine alone.

    python benchmarks/parse_spreadsheet.py [--quick]

The statement is generated here (openpyxl, write-only): a Starling-style sheet (Date, Counter Party,
Reference, Type, Amount (GBP), Balance (GBP)), date cells and number cells, 20k rows (5k with
--quick), and the same rows as the bank's CSV. Each figure is the median of 5 fresh processes
(the methods taking turns) of `psimport parse FILE --format jsonl`, start-up included; "engine"
is the bare `pandas.read_excel` (calamine) of the sheet into Python values, with pandas' import. The target: reading a sheet
costs at most 2x the engine alone (psimport's own work, the mapping and the rows to Transactions,
is not the larger part), and stays within a few times the CSV.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
from datetime import date, timedelta
from pathlib import Path

from _timing import python, report_targets, run_median

ROOT = Path(__file__).resolve().parents[1]
HEADER = ["Date", "Counter Party", "Reference", "Type", "Amount (GBP)", "Balance (GBP)"]
REPEAT = 5
PAYEES = ["Tesco", "Pret A Manger", "Transport for London", "Acme Ltd", "Amazon", "Netflix"]


def rows(count: int, seed: int = 5) -> list[list]:
    rng = random.Random(seed)
    day, balance, out = date(2023, 1, 1), 500_000, []
    for _ in range(count):
        day += timedelta(days=rng.random() < 0.3)
        cents = rng.randint(1, 40_000) * (1 if rng.random() < 0.15 else -1)
        balance += cents
        out.append([day, rng.choice(PAYEES), f"REF {rng.randint(1, 99999)}", "CARD", cents / 100, balance / 100])
    return out


def write_files(folder: Path, count: int) -> tuple[Path, Path]:
    import openpyxl
    data = rows(count)
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Statement")
    sheet.append(HEADER)
    for row in data:
        sheet.append(row)
    xlsx = folder / "statement.xlsx"
    book.save(xlsx)
    csv = folder / "statement.csv"
    csv.write_text(",".join(HEADER) + "\n" + "".join(
        f"{d:%d/%m/%Y},{p},{r},{t},{a:.2f},{b:.2f}\n" for d, p, r, t, a, b in data), encoding="utf-8")
    return xlsx, csv


ENGINE = ("import sys, pandas as pd; f = pd.read_excel(sys.argv[1], engine='calamine', header=None, dtype=object, "
          "na_filter=False); list(f.itertuples(index=False, name=None))")


def run(quick: bool) -> str:
    count = 5_000 if quick else 20_000
    with tempfile.TemporaryDirectory() as tmp:
        xlsx, csv = write_files(Path(tmp), count)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        parse = [python(), "-m", "importer", "parse", "--format", "jsonl"]
        commands = {"sheet": [*parse, str(xlsx)], "csv": [*parse, str(csv)],
                    "engine": [python(), "-c", ENGINE, str(xlsx)]}
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(REPEAT):             # the methods take turns, so a busy machine slows each alike
            for name, argv in commands.items():
                times[name].append(run_median(argv, repeat=1, env=env))
        sheet_time, csv_time, engine_time = (statistics.median(times[name]) for name in commands)
    lines = [f"{count:,} rows: XLSX {sheet_time:.2f} s, the same CSV {csv_time:.2f} s "
             f"({sheet_time / csv_time:.1f}x); pandas.read_excel (calamine) alone {engine_time:.2f} s "
             f"(psimport {sheet_time / engine_time:.2f}x the engine)"]
    ok = report_targets([("at most 2x the engine alone", sheet_time <= 2 * engine_time)]) == 0
    return "\n".join(lines) + ("" if ok else "\n(target not met)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="5k rows instead of 20k")
    print(run(parser.parse_args().quick))


if __name__ == "__main__":
    main()
