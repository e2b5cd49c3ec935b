"""Transfers: what pairing both sides of transfers costs an offline preview of two statements.

`psimport preview everyday.ofx card.ofx --existing export.json --format json` of 10k + 10k rows (a year
of two accounts, 500 card repayments among them, amounts repeating like a household's), against the same
preview with `transfers: {enabled: false}` in its config: fresh processes, the two taking turns in one run so
that the machine's load falls on both alike; the medians of their CPU time (user + system, which other work
on the machine disturbs less than wall time) and of their wall time (target: at most 10% more). Every row is new (an empty export), the case where
every row is a candidate side and pairing's share of the preview is largest.

    python benchmarks/transfers_speed.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _timing import python, report_targets  # noqa: E402
from dedupe_speed import amount, merchants  # noqa: E402

EVERYDAY, CARD = 21, 22
START = date(2026, 1, 1)


def ofx(account: str, rows: list[tuple[date, Decimal, str]]) -> str:
    body = []
    for n, (day, value, name) in enumerate(rows):
        body.append(f"<STMTTRN><TRNTYPE>{'DEBIT' if value < 0 else 'CREDIT'}<DTPOSTED>{day:%Y%m%d}"
                    f"<TRNAMT>{value}<FITID>{account}-{n}<NAME>{name}</STMTTRN>")
    return "\n".join(["OFXHEADER:100", "DATA:OFXSGML", "VERSION:102", "", "<OFX><BANKMSGSRSV1><STMTTRNRS><STMTRS>",
                      "<CURDEF>AUD", f"<BANKACCTFROM><BANKID>1<ACCTID>{account}<ACCTTYPE>CHECKING</BANKACCTFROM>",
                      "<BANKTRANLIST>", *body, "</BANKTRANLIST></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>", ""])


def statements(rows: int, repayments: int, seed: int = 1) -> tuple[str, str]:
    """Two accounts' years: everyday spending and card spending, with `repayments` pairs between them."""
    rng = random.Random(seed)
    names = merchants(rng, 400)
    everyday, card = [], []
    for side in (everyday, card):
        for _ in range(rows - repayments):
            side.append((START + timedelta(days=rng.randrange(365)), amount(rng), rng.choice(names)))
    for _ in range(repayments):
        day, value = START + timedelta(days=rng.randrange(360)), Decimal(rng.randrange(5000, 200000)) / 100
        everyday.append((day, -value, "TRANSFER TO VISA CARD 4321"))
        card.append((day + timedelta(days=rng.randrange(0, 3)), value, "PAYMENT RECEIVED THANK YOU"))
    everyday.sort(key=lambda r: r[0])
    card.sort(key=lambda r: r[0])
    return ofx("0620001234", everyday), ofx("4564000000004321", card)


def timed(argv: list[str], cwd: Path) -> tuple[float, float]:
    """One fresh process: its wall time and its CPU time (user + system), in seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2k + 2k rows, 3 runs each")
    args = parser.parse_args()
    rows, repeat = (2_000, 3) if args.quick else (10_000, 5)
    folder = Path(tempfile.mkdtemp(prefix="psimport-transfers-"))
    try:
        everyday, card = statements(rows, repayments=rows // 20)
        (folder / "everyday.ofx").write_text(everyday)
        (folder / "card.ofx").write_text(card)
        (folder / "export.json").write_text("[]")
        accounts = (f"accounts:\n  - {{ofx_account: '0620001234', transaction_account_id: {EVERYDAY}}}\n"
                    f"  - {{ofx_account: '4564000000004321', transaction_account_id: {CARD}}}\n")
        (folder / "with.yaml").write_text(accounts)
        (folder / "without.yaml").write_text(accounts + "transfers: {enabled: false}\n")

        def argv(config: str) -> list[str]:
            return [python(), "-m", "importer", "preview", "everyday.ofx", "card.ofx", "--existing", "export.json",
                    "--config", config, "--format", "json", "--state-dir", str(folder / "state")]

        done = subprocess.run(argv("with.yaml"), cwd=folder, capture_output=True, text=True, check=True)
        plan = json.loads(done.stdout)
        paired = sum(1 for r in plan["transactions"] if r["transfer_with"])
        env_note = f"{rows:,} + {rows:,} rows, {rows // 20} repayments: {paired // 2} pairs found"
        runs: dict[str, list[tuple[float, float]]] = {"without.yaml": [], "with.yaml": []}
        for turn in range(repeat):
            for config in (("without.yaml", "with.yaml") if turn % 2 == 0 else ("with.yaml", "without.yaml")):
                runs[config].append(timed(argv(config), folder))
        wall = {c: statistics.median(w for w, _ in r) for c, r in runs.items()}
        cpu = {c: statistics.median(t for _, t in r) for c, r in runs.items()}
        ratio = cpu["with.yaml"] / cpu["without.yaml"]
        print(env_note)
        for config, label in (("without.yaml", "without transfers"), ("with.yaml", "with transfers")):
            print(f"preview {label:18} CPU {cpu[config]:.2f} s, wall {wall[config]:.2f} s (medians of {repeat})")
        print(f"with / without: CPU {ratio:.3f}x, wall {wall['with.yaml'] / wall['without.yaml']:.3f}x")
        return report_targets([("pairing adds at most 10% to the preview's CPU time", ratio <= 1.10),
                               ("every repayment paired", paired // 2 == rows // 20)])
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
