"""Client round trips: fetching one account's transactions from the sandbox, by page size, with simulated latency.

Generated data: N transactions in one sandbox account. The client asks for 1000 a page
(PocketSmith documents no per_page at all); the baseline in the same run is a client that leaves
per_page to the server (30), and one at 100 (what community clients report as the most PocketSmith
serves); and psimport's client against a server that refuses pages over 100 with a 400 naming
per_page, where it falls back to 100 and goes on. Each request also pays a simulated network
latency, because round trips, not bytes, dominate against the real API. Also: sequential creates,
to show the per-request overhead of the client and sandbox.

    python benchmarks/client_paging.py [--quick]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from importer.pocketsmith.client import PocketSmith  # noqa: E402
from importer.sandbox.server import Faults, SandboxServer  # noqa: E402

ACCOUNT = 510001


def seed(server: SandboxServer, count: int) -> None:
    rng = random.Random(3)
    start = date(2024, 1, 1)
    server.store.add_transactions(
        {"transaction_account_id": ACCOUNT, "date": start + timedelta(days=rng.randrange(900)),
         "amount": Decimal(rng.randrange(-20000, 5000)) / 100, "payee": f"Merchant {rng.randrange(400)}"}
        for _ in range(count))


def fetch(server: SandboxServer, per_page: int) -> tuple[float, int, int]:
    before = len(server.requests)
    with PocketSmith(server.url, "bench-key", per_page=per_page) as client:
        client.user_id  # noqa: B018 - not part of the fetch
        before = len(server.requests)
        started = time.perf_counter()
        rows = client.transactions(ACCOUNT, date(2024, 1, 1), date(2026, 12, 31))
        elapsed = time.perf_counter() - started
    return elapsed, len(server.requests) - before, len(rows)


def creates(server: SandboxServer, count: int) -> float:
    with PocketSmith(server.url, "bench-key") as client:
        client.user_id  # noqa: B018
        started = time.perf_counter()
        for i in range(count):
            client.create_transaction(ACCOUNT, {"payee": f"Bench {i}", "amount": Decimal("-1.25"),
                                                "date": date(2026, 11, 1)})
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller data, for a smoke run")
    args = parser.parse_args()
    count = 3_000 if args.quick else 20_000
    latency_ms = 20
    with tempfile.TemporaryDirectory() as scratch:
        server = SandboxServer(Path(scratch) / "bench.sqlite3", key="bench-key", seed="accounts").start()
        try:
            seed(server, count)
            server.faults = Faults(latency=latency_ms / 1000)
            results = [(label, *fetch(server, per_page)) for label, per_page in
                       [("server default (30 a page): baseline", 30), ("100 a page", 100),
                        ("1000 a page (psimport)", 1000)]]
            server.refuse_per_page_over = 100
            results.append(("1000 a page (psimport), server refusing over 100: falls back", *fetch(server, 1000)))
            server.refuse_per_page_over = None
            server.faults = Faults()
            create_count = 200 if args.quick else 1000
            create_seconds = creates(server, create_count)
        finally:
            server.stop()
    baseline = results[0][1]
    print(f"## Fetching {count:,} transactions of one account, {latency_ms} ms simulated latency per request\n")
    print("| client | round trips | time | vs baseline |")
    print("|---|---|---|---|")
    for label, seconds, trips, rows in results:
        assert rows == count, f"{label}: got {rows} of {count}"
        print(f"| {label} | {trips} | {seconds:.2f} s | {seconds / baseline:.2f}× |")
    print(f"\nSequential creates, no latency: {create_count} in {create_seconds:.2f} s "
          f"({create_seconds / create_count * 1000:.1f} ms each, client + sandbox on this machine)")


if __name__ == "__main__":
    main()
