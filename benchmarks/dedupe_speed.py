"""Dedupe speed: matching time and memory as statement rows and existing transactions grow, and the whole
offline preview against merely loading its inputs.

1. Matching, after loading: `dedupe()` of 10k statement rows against 1M existing transactions of one account
   (target <= 2 s), with the peak memory it adds, in a fresh process per size. The existing transactions all
   fall inside the statement's year (the worst case: nothing can be skipped by date), 8 in 10 rows have a
   feed twin a business day earlier, and amounts and payees repeat like a household's.
2. Scaling: rows at 1/4, 1/2 and all of 10k against 1M, and existing at 1/4, 1/2 and all of 1M against 10k.
3. Offline preview: `psimport preview statement.ofx --account 11 --existing export.json --format json` of
   5k rows against a 300k-transaction export, against a process that only loads the export
   (`load_export`) and reads the statement (`parse_file`); medians of fresh processes (target <= 4x).

    python benchmarks/dedupe_speed.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _timing import python, report_targets, run_median  # noqa: E402

ACCOUNT = 11
START = date(2024, 1, 1)
WORDS = ("WOOLWORTHS COLES ALDI CALTEX AMPOL KMART TARGET BUNNINGS OFFICEWORKS CHEMIST BAKERY CAFE SUSHI THAI "
         "PIZZA BURGER PARKING TOLL UBER TAXI CINEMA GYM PHARMACY NEWSAGENT FLORIST BUTCHER GROCER DELI BAR PUB "
         "HOTEL AIRLINE BOOKS MUSIC GAMES PETS GARDEN HARDWARE ELECTRICAL TELCO ENERGY WATER COUNCIL SCHOOL").split()
PLACES = ("SYDNEY BONDI NEWTOWN PARRAMATTA CHATSWOOD MANLY SURRY HILLS RANDWICK MELBOURNE CARLTON FITZROY "
          "BRISBANE PERTH HOBART").split()


def merchants(rng: random.Random, count: int) -> list[str]:
    return [f"{rng.choice(WORDS)} {rng.choice(WORDS)} {rng.randint(1, 9999)} {rng.choice(PLACES)}"
            for _ in range(count)]


def amount(rng: random.Random) -> Decimal:
    cents = int(rng.lognormvariate(8.0, 1.3)) + 1     # median ~30.00, a long tail to thousands
    if rng.random() < 0.15:
        cents = cents // 100 * 100 or 100               # whole dollars
    return Decimal(-cents if rng.random() < 0.9 else cents) / 100


def household(rows: int, existing: int, seed: int = 1, days: int = 365):
    """Statement rows (8 in 10 with a feed twin) and `existing` PocketSmith transactions of one account.

    The PocketSmith objects are built in their final order, as `load_export` builds them, so they lie in
    memory in list order."""
    from importer.pocketsmith.models import PsTransaction
    from importer.record import Transaction

    rng = random.Random(seed)
    names = merchants(rng, 3000)
    statement, held = [], []
    for i in range(rows):
        when = START + timedelta(days=rng.randrange(days))
        name = rng.choice(names)
        value = amount(rng)
        posted = when + timedelta(days=1 if when.weekday() < 4 else 7 - when.weekday())
        statement.append(Transaction(date=posted, amount=value, payee=name[:32], original_payee=name[:32],
                                     memo=name[32:] or None, external_id=f"T{i}", file="statement.ofx",
                                     line=i + 1))
        if rng.random() < 0.8 and len(held) < existing:
            held.append((when, value, name))
    while len(held) < existing:
        held.append((START + timedelta(days=rng.randrange(days)), amount(rng), rng.choice(names)))
    statement.sort(key=lambda t: (t.date, t.line))
    rng.shuffle(held)
    # Fresh date, Decimal and text objects, made one transaction after another, as parsing JSON makes them.
    held = [PsTransaction(id=i + 1, date=date.fromordinal(when.toordinal()), amount=Decimal(str(value)),
                          payee=name.split()[0].title(), original_payee=name + " AU",
                          transaction_account_id=ACCOUNT, upload_source="feed")
            for i, (when, value, name) in enumerate(held)]
    return statement, held


def measure_match(rows: int, existing: int) -> dict:
    """In this process: build the data, then time dedupe() alone and the peak memory it adds."""
    statement, held = household(rows, existing)
    began = time.perf_counter()
    import numpy  # noqa: F401  (imported by the first dedupe() of a process; timed apart)
    import rapidfuzz.process  # noqa: F401
    import scipy.optimize  # noqa: F401
    imports = time.perf_counter() - began
    from importer.dedupe import dedupe

    loaded_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    began, cpu = time.perf_counter(), time.process_time()
    decisions = dedupe(statement, held, account_id=ACCOUNT)
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    counts = {a: sum(d.action == a for d in decisions) for a in ("create", "duplicate", "review")}
    return {"rows": rows, "existing": existing, "seconds": seconds, "cpu": cpu, "imports": imports,
            "loaded_mb": loaded_peak,
            "added_mb": max(0.0, peak - loaded_peak), **counts}


def run_match(rows: int, existing: int) -> dict:
    out = subprocess.run([python(), __file__, "--measure-match", str(rows), str(existing)],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def write_ofx(statement, path: Path) -> None:
    lines = ["OFXHEADER:100", "DATA:OFXSGML", "VERSION:102", "SECURITY:NONE", "ENCODING:USASCII",
             "CHARSET:1252", "COMPRESSION:NONE", "OLDFILEUID:NONE", "NEWFILEUID:NONE", "",
             "<OFX><BANKMSGSRSV1><STMTTRNRS><TRNUID>1<STATUS><CODE>0<SEVERITY>INFO</STATUS><STMTRS>"
             "<CURDEF>AUD<BANKACCTFROM><BANKID>062000<ACCTID>12345678<ACCTTYPE>CHECKING</BANKACCTFROM>"
             f"<BANKTRANLIST><DTSTART>{statement[0].date:%Y%m%d}<DTEND>{statement[-1].date:%Y%m%d}"]
    for t in statement:
        memo = f"<MEMO>{t.memo}" if t.memo else ""
        lines.append(f"<STMTTRN><TRNTYPE>{'DEBIT' if t.amount < 0 else 'CREDIT'}<DTPOSTED>{t.date:%Y%m%d}"
                     f"<TRNAMT>{t.amount}<FITID>{t.external_id}<NAME>{t.payee}{memo}</STMTTRN>")
    lines.append("</BANKTRANLIST><LEDGERBAL><BALAMT>0.00<DTASOF>20241231</LEDGERBAL></STMTRS></STMTTRNRS>"
                 "</BANKMSGSRSV1></OFX>")
    path.write_text("\n".join(lines) + "\n", encoding="ascii")


def write_export(held, path: Path) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write("[")
        for i, e in enumerate(held):
            out.write(("," if i else "") + json.dumps({
                "id": e.id, "date": e.date.isoformat(), "amount": float(e.amount), "payee": e.payee,
                "original_payee": e.original_payee, "memo": None, "note": None, "labels": [],
                "category": None, "status": e.status or "posted", "type": "debit" if e.amount < 0 else "credit",
                "upload_source": e.upload_source, "needs_review": False, "is_transfer": False,
                "transaction_account": {"id": e.transaction_account_id, "name": "Everyday"}}))
        out.write("]")


def run_preview(rows: int, existing: int, repeat: int) -> dict:
    statement, held = household(rows, existing, seed=2)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        write_ofx(statement, work / "statement.ofx")
        write_export(held, work / "export.json")
        load_only = ("from importer.pocketsmith.export import load_export; from importer.parsers import parse_file; "
                     "load_export('export.json'); parse_file('statement.ofx')")
        psimport = shutil.which("psimport")
        preview = ([psimport] if psimport else [python(), "-m", "importer"]) + [
            "preview", "statement.ofx", "--account", str(ACCOUNT), "--existing", "export.json",
            "--format", "json", "--out", "preview.json"]
        env = {"PSIMPORT_STATE_DIR": str(work / "state"), "PATH": "/usr/bin:/bin", "HOME": str(work)}
        baseline = run_median([python(), "-c", load_only], repeat, cwd=work, env=env)
        whole = run_median(preview, repeat, cwd=work, env=env)
        summary = json.loads((work / "preview.json").read_text())["summary"]
        size_mb = (work / "export.json").stat().st_size / 1e6
    return {"rows": rows, "existing": existing, "baseline": baseline, "preview": whole, "summary": summary,
            "export_mb": size_mb}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the sizes, fewer repeats")
    parser.add_argument("--measure-match", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure_match:
        print(json.dumps(measure_match(*args.measure_match)))
        return 0
    scale = 10 if args.quick else 1
    rows, existing = 10_000 // scale, 1_000_000 // scale
    sizes = sorted({(rows // 4, existing), (rows // 2, existing), (rows, existing),
                    (rows, existing // 4), (rows, existing // 2)}, key=lambda s: (s[1], s[0]))
    results = [run_match(r, e) for r, e in sizes]
    print("### Matching (after loading), fresh process each\n")
    print("| rows | existing | dedupe() wall | CPU | memory added | loaded data | create / duplicate / review |")
    print("|---|---|---|---|---|---|---|")
    for m in results:
        print(f"| {m['rows']:,} | {m['existing']:,} | {m['seconds']:.2f} s | {m['cpu']:.2f} s "
              f"| {m['added_mb']:.0f} MB | {m['loaded_mb']:.0f} MB | {m['create']} / {m['duplicate']} / {m['review']} |")
    print(f"\nImporting numpy, scipy.optimize and rapidfuzz, which the first call of a process needs, took "
          f"{results[-1]['imports']:.2f} s more (not included above).")
    full = next(m for m in results if (m["rows"], m["existing"]) == (rows, existing))
    by_rows = [m for m in results if m["existing"] == existing]
    by_existing = [m for m in results if m["rows"] == rows]
    growth_rows = full["cpu"] / by_rows[0]["cpu"] / (rows / by_rows[0]["rows"])
    growth_existing = full["cpu"] / by_existing[0]["cpu"] / (existing / by_existing[0]["existing"])
    print(f"\nCPU time per unit at full size over CPU time per unit at a quarter: rows {growth_rows:.2f}, "
          f"existing {growth_existing:.2f} (1.00 = linear; below 1 = better than linear).")

    preview = run_preview(5_000 // scale, 300_000 // scale, 2 if args.quick else 3)
    ratio = preview["preview"] / preview["baseline"]
    print(f"\n### Offline preview, {preview['rows']:,} rows against a {preview['existing']:,}-transaction export "
          f"({preview['export_mb']:.0f} MB)\n")
    print("| process | median | ratio |\n|---|---|---|")
    print(f"| load the export + read the statement | {preview['baseline']:.2f} s | 1.00x |")
    print(f"| `psimport preview --existing --format json` | {preview['preview']:.2f} s | {ratio:.2f}x |")
    print(f"\nPreview summary: {preview['summary']}")
    targets = [(f"matching {rows:,} x {existing:,} <= 2 s", full["seconds"] <= 2.0),
               ("no worse than linear in rows or existing (<= 1.25)", max(growth_rows, growth_existing) <= 1.25),
               ("offline preview within 4x of loading", ratio <= 4.0)]
    return report_targets(targets)


if __name__ == "__main__":
    sys.exit(main())
