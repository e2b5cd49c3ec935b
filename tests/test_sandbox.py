"""The sandbox server over raw HTTP: status codes, validation, paging headers, faults, persistence, the demo seed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from importer.config import samples_dir
from importer.sandbox.demo import CATEGORY_IDS, FEED_END
from importer.sandbox.household import (CREDIT_CARD, EVERYDAY, HISTORY_START, SAVINGS, STATEMENT_START,
                                        creditcard_rows, everyday_rows, merchant_for, savings_rows, write_samples)
from importer.sandbox.server import Faults, SandboxServer

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "sample_statements"
GENERATORS = {EVERYDAY: everyday_rows, CREDIT_CARD: creditcard_rows, SAVINGS: savings_rows}


@pytest.fixture
def http(sandbox):
    with httpx.Client(base_url=sandbox.url + "/", headers={"X-Developer-Key": sandbox.key}, timeout=5) as session:
        yield session


def _create(http, **fields):
    body = {"payee": "Coles", "amount": -12.5, "date": "2026-11-02", **fields}
    return http.post("transaction_accounts/510001/transactions", json=body)


# ─── status codes and validation ────────────────────────────────────────────────────────────

def test_create_is_201_delete_204_rule_200(http):
    created = _create(http, labels="food,weekly", category_id=CATEGORY_IDS["Groceries"], memo="CARD 4321")
    assert created.status_code == 201
    data = created.json()
    assert data["labels"] == ["food", "weekly"] and data["category"]["title"] == "Groceries"
    assert data["type"] == "debit" and data["original_payee"] == "Coles" and data["upload_source"] == "api"
    assert http.delete(f"transactions/{data['id']}").status_code == 204
    assert http.get(f"transactions/{data['id']}").status_code == 404
    rule = http.post("categories/7001/category_rules", json={"category_id": 7001, "payee_matches": "ALDI"})
    assert rule.status_code == 200 and rule.json()["category"]["id"] == 7001


@pytest.mark.parametrize("fields, message", [
    ({"payee": None}, "payee is required"),
    ({"amount": None, "date": None}, "amount, date are required"),
    ({"amount": "twelve"}, "is not a number"),
    ({"amount": -1.005}, "more than two decimal places"),
    ({"amount": True}, "Amount must be a number"),
    ({"date": "02/11/2026"}, "not a valid date"),
    ({"labels": ["food", "weekly"]}, "comma-separated string"),
    ({"category_id": 999999}, "does not exist"),
    ({"category_id": "7001"}, "must be an integer"),
    ({"is_transfer": "yes"}, "true or false"),
    ({"memo": 5}, "memo must be a string"),
    ({"payee": "x" * 256}, "too long"),
])
def test_create_validates_like_the_api(http, sandbox, fields, message):
    response = _create(http, **fields)
    assert response.status_code == 422
    assert message in response.json()["error"]
    assert sandbox.transactions() == []


def test_category_of_another_user_is_422(http, sandbox):
    other = sandbox.store.add_user(77, "other", "Other", "o@example.com")
    foreign = sandbox.store.add_category(other, "Theirs")
    assert _create(http, category_id=foreign).status_code == 422


def test_malformed_bodies_and_queries(http):
    bad_json = http.post("transaction_accounts/510001/transactions", content=b"{nope",
                         headers={"Content-Type": "application/json"})
    assert bad_json.status_code == 400 and "not valid JSON" in bad_json.json()["error"]
    assert http.post("transaction_accounts/510001/transactions", json=[1]).status_code == 422
    half_range = http.get("transaction_accounts/510001/transactions", params={"start_date": "2026-01-01"})
    assert half_range.status_code == 400 and "together" in half_range.json()["error"]
    assert http.get("transaction_accounts/510001/transactions", params={"type": "x"}).status_code == 400
    assert http.get("transaction_accounts/510001/transactions", params={"page": "two"}).status_code == 400


def test_auth_routes_and_ownership(sandbox, http):
    anonymous = httpx.get(sandbox.url + "/me")
    assert anonymous.status_code == 401 and "X-Developer-Key" in anonymous.json()["error"]
    wrong = httpx.get(sandbox.url + "/me", headers={"X-Developer-Key": "nope"})
    assert wrong.status_code == 401 and "nope" not in wrong.text
    bearer = httpx.get(sandbox.url + "/me", headers={"Authorization": f"Bearer {sandbox.key}"})
    assert bearer.status_code == 200
    assert http.get("nowhere").status_code == 404
    assert http.delete("me").status_code == 405
    assert http.get("users/4711/transaction_accounts").status_code == 200
    assert http.get("users/4712/transaction_accounts").status_code == 404
    other = sandbox.store.add_user(4712, "other", "Other", "o@example.com")
    assert http.get(f"users/{other}/transaction_accounts").status_code == 403


def test_update_uncategorises_with_empty_string_and_refuses_splits(http):
    created = _create(http, category_id=7001).json()
    updated = http.put(f"transactions/{created['id']}", json={"category_id": "", "note": "checked",
                                                               "amount": -13, "date": "2026-11-03"})
    assert updated.status_code == 200
    body = updated.json()
    assert body["category"] is None and body["note"] == "checked" and body["amount"] == -13
    assert body["date"] == "2026-11-03" and body["updated_at"] >= created["updated_at"]
    splits = http.put(f"transactions/{created['id']}", json={"splits": [{"amount": -1}]})
    assert splits.status_code == 422


def test_amounts_travel_as_exact_json_numbers(http, sandbox):
    created = http.post("transaction_accounts/510001/transactions",
                        content=b'{"payee":"Big","amount":1234567.89,"date":"2026-11-02"}',
                        headers={"Content-Type": "application/json"})
    assert b'"amount":1234567.89,' in created.content
    assert sandbox.transactions()[0]["amount"] == Decimal("1234567.89")


# ─── paging ─────────────────────────────────────────────────────────────────────────────────

def test_paging_headers(demo_sandbox):
    with httpx.Client(base_url=demo_sandbox.url + "/", headers={"X-Developer-Key": demo_sandbox.key}) as http:
        first = http.get("transaction_accounts/510002/transactions", params={"per_page": 10, "search": "uber"})
        total = int(first.headers["Total"])
        assert first.headers["Per-Page"] == "10" and total > 10
        links = first.links
        assert set(links) == {"first", "next", "last"}
        assert "search=uber" in links["next"]["url"] and "page=2" in links["next"]["url"]
        last = http.get(links["last"]["url"])
        assert set(last.links) == {"first", "prev", "last"}
        assert len(last.json()) == total - 10 * (int(re.search(r"page=(\d+)", links["last"]["url"])[1]) - 1)
        huge = http.get("transaction_accounts/510001/transactions", params={"per_page": 5000})
        assert huge.headers["Per-Page"] == "1000"


def test_closing_balances_follow_the_account_in_date_order(demo_sandbox):
    with httpx.Client(base_url=demo_sandbox.url + "/", headers={"X-Developer-Key": demo_sandbox.key}) as http:
        account = http.get("transaction_accounts/510003").json()
        rows = http.get("transaction_accounts/510003/transactions", params={"per_page": 1000}).json()
        page = http.get("transaction_accounts/510003/transactions", params={"per_page": 3, "page": 2}).json()
    oldest_first = list(reversed(rows))
    balance = Decimal(str(account["starting_balance"]))
    for row in oldest_first:
        balance += Decimal(str(row["amount"]))
        assert Decimal(str(row["closing_balance"])) == balance
    assert balance == Decimal(str(account["current_balance"]))
    by_id = {r["id"]: r["closing_balance"] for r in rows}
    assert all(by_id[r["id"]] == r["closing_balance"] for r in page)


# ─── faults ─────────────────────────────────────────────────────────────────────────────────

def test_fault_rates_are_seeded_and_repeatable(make_sandbox):
    runs = []
    for _ in range(2):
        sandbox = make_sandbox(faults=Faults(rate_429=0.3, rate_500=0.2, retry_after=0.5, seed=7))
        with httpx.Client(headers={"X-Developer-Key": sandbox.key}) as http:
            statuses = [http.get(sandbox.url + "/me") for _ in range(30)]
        runs.append([r.status_code for r in statuses])
        throttled = [r for r in statuses if r.status_code == 429]
        assert throttled and all(r.headers["Retry-After"] == "0.5" and "error" in r.json() for r in throttled)
    assert runs[0] == runs[1]
    assert set(runs[0]) == {200, 429, 500}


def test_injected_faults_match_method_and_path(sandbox, http):
    sandbox.faults.inject(503, method="POST", path=r"/transactions$")
    sandbox.faults.latency = 0.01
    assert http.get("me").status_code == 200
    assert http.post("users/4711/categories", json={"title": "Pets"}).status_code == 201
    assert _create(http).status_code == 503
    assert _create(http).status_code == 201
    assert [r.fault for r in sandbox.requests] == [None, None, 503, None]


def test_drop_after_commit_closes_without_an_answer(sandbox, http):
    sandbox.faults.inject("drop_after_commit", method="POST")
    with pytest.raises(httpx.RemoteProtocolError):
        _create(http)
    assert len(sandbox.transactions()) == 1
    assert sandbox.requests[-1].status is None


def _raw_exchange(sandbox, head: bytes) -> bytes:
    """Send `head` (a request line and header lines) on a fresh socket and return what comes back."""
    import socket
    from urllib.parse import urlsplit
    port = urlsplit(sandbox.url).port
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(head)
        conn.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    return answer


def test_request_headers_are_read_as_http_says(sandbox):
    # The sandbox reads header blocks itself (not with email's parser): names in any case, values trimmed, an
    # obsolete folded line joined to the field before it; the first field of a name counts.
    key = sandbox.key.encode()
    ok = _raw_exchange(sandbox, b"GET /v2/me HTTP/1.1\r\nhost: 127.0.0.1\r\nx-developer-KEY:   " + key +
                       b"  \r\nX-Developer-Key: wrong\r\nConnection: close\r\n\r\n")
    assert ok.startswith(b"HTTP/1.1 200 ") and b'"id":' in ok
    folded = _raw_exchange(sandbox, b"GET /v2/me HTTP/1.1\r\nAuthorization: Bearer\r\n " + key +
                           b"\r\nConnection: close\r\n\r\n")
    assert folded.startswith(b"HTTP/1.1 200 ")
    assert _raw_exchange(sandbox, b"GET /v2/me HTTP/1.1\r\nnot a header\r\n\r\n").startswith(b"HTTP/1.1 400 ")
    too_many = b"".join(b"X-Filler-%d: x\r\n" % i for i in range(101))
    assert _raw_exchange(sandbox, b"GET /v2/me HTTP/1.1\r\n" + too_many + b"\r\n").startswith(b"HTTP/1.1 431 ")
    long_line = b"X-Long: " + b"x" * 70_000 + b"\r\n"
    assert _raw_exchange(sandbox, b"GET /v2/me HTTP/1.1\r\n" + long_line + b"\r\n").startswith(b"HTTP/1.1 431 ")
    # A version it cannot read is answered as HTTP/0.9 is, without a status line, as http.server does.
    assert b"Error code: 505" in _raw_exchange(sandbox, b"GET /v2/me HTTP/2.0\r\n\r\n")
    assert b"Error code: 400" in _raw_exchange(sandbox, b"GET /v2/me HTTP/1.x\r\n\r\n")


# ─── persistence, the CLI server, the embedded sandbox ──────────────────────────────────────

def test_state_survives_a_restart(tmp_path):
    db = tmp_path / "keep.sqlite3"
    with SandboxServer(db, key="k1", seed="accounts") as server:
        created = httpx.post(server.url + "/transaction_accounts/510002/transactions", headers={"X-Developer-Key": "k1"},
                             json={"payee": "Kmart", "amount": -29, "date": "2026-10-10"}).json()
    with SandboxServer(db, key="k2") as server:
        for key in ("k1", "k2"):
            again = httpx.get(f"{server.url}/transactions/{created['id']}", headers={"X-Developer-Key": key})
            assert again.status_code == 200 and again.json()["payee"] == "Kmart"
        assert len(server.store.stored_transactions()) == 1


def test_a_burst_of_new_connections_is_served_not_dropped(sandbox):
    # The writer may open 64 connections at once; socketserver's default listen backlog (5) dropped some.
    from concurrent.futures import ThreadPoolExecutor

    from importer.write.writer import MAX_CONCURRENCY
    assert sandbox.server._httpd.request_queue_size >= MAX_CONCURRENCY
    for _ in range(3):
        client = sandbox.client(max_tries=1)      # fresh connections, every one opened in the same instant
        with ThreadPoolExecutor(MAX_CONCURRENCY) as pool:
            answers = list(pool.map(lambda _: client.transaction_account(510001).id, range(MAX_CONCURRENCY)))
        client.close()
        assert answers == [510001] * MAX_CONCURRENCY


def test_psimport_sandbox_command_serves_and_prints_url_and_key(tmp_path):
    env = {**os.environ, "PSIMPORT_STATE_DIR": str(tmp_path / "state"), "PSIMPORT_SANDBOX_RATE_429": "0"}
    process = subprocess.Popen([sys.executable, "-c", "from importer.cli import main; main()", "sandbox", "--port", "0", "--db",
                                str(tmp_path / "cli.sqlite3"), "--key", "cli-key", "--demo", "--latency-ms", "1"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    try:
        first = process.stdout.readline()
        url = re.search(r"(http://127\.0\.0\.1:\d+/v2)", first)[1]
        exports = [process.stdout.readline().strip() for _ in range(2)]
        assert exports == [f"export POCKETSMITH_API_URL={url}", "export POCKETSMITH_DEVELOPER_KEY=cli-key"]
        # --demo says how to preview the demo statements, with the config that maps them to the demo accounts.
        assert "their config maps them to the demo accounts" in process.stdout.readline()
        samples = samples_dir()
        assert process.stdout.readline().split() == ["psimport", "preview", str(samples),
                                                     "--config", str(samples / "psimport.yaml")]
        accounts = httpx.get(url + "/users/4711/transaction_accounts", headers={"X-Developer-Key": "cli-key"})
        assert [a["id"] for a in accounts.json()] == [510001, 510002, 510003]
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_embedded_sandbox_is_shared_per_state_dir_and_keeps_its_key(tmp_path):
    from importer.sandbox.embedded import embedded_sandbox
    server, key = embedded_sandbox(tmp_path)
    again, same_key = embedded_sandbox(tmp_path)
    assert again is server and same_key == key
    key_file = tmp_path / "sandbox" / "key"
    assert key_file.read_text().strip() == key and (key_file.stat().st_mode & 0o777) == 0o600
    assert (tmp_path / "sandbox" / "sandbox.sqlite3").is_file()
    assert len(server.store.stored_transactions()) > 200
    server.stop()


# ─── the demo household ─────────────────────────────────────────────────────────────────────

def test_committed_samples_are_what_the_generator_writes(tmp_path):
    for path in write_samples(tmp_path):
        assert path.read_bytes() == (SAMPLES / path.name).read_bytes(), f"regenerate {path.name}"


def test_samples_parse_back_to_the_generated_rows():
    from importer.parsers import ParseOptions, parse_file
    for account, generate in GENERATORS.items():
        options = ParseOptions(mapping="cba") if account is SAVINGS else ParseOptions()
        statements = parse_file(SAMPLES / account.statement_file, options)
        parsed = sorted((t.date, t.amount, t.original_payee.strip().upper())
                        for s in statements for t in s.transactions)
        assert parsed == sorted((r.date, r.amount, r.text) for r in generate()), account.statement_file


def test_sample_statements_have_what_the_demo_needs():
    everyday, card, saver = everyday_rows(), creditcard_rows(), savings_rows()
    assert 60 <= len(everyday) <= 120 and 30 <= len(card) <= 50 and 12 <= len(saver) <= 20
    assert all(STATEMENT_START <= r.date <= STATEMENT_START + timedelta(days=80) for r in everyday + card + saver)
    twins = [k for k, n in Counter((r.date, r.amount, r.text) for r in everyday).items() if n == 2]
    assert twins, "two identical purchases on one day"
    assert any(r.amount > 0 and r.text.startswith("REFUND") for r in everyday)
    assert any(r.date.day > 12 for r in card)
    assert all(merchant_for(r.text) is not None for r in everyday + card + saver)
    assert sum(1 for r in everyday if r.amount == Decimal("-4.50")) > 15
    csv_line = (SAMPLES / "savings.csv").read_text().splitlines()[0]
    assert re.fullmatch(r'"\d\d/\d\d/\d{4}","[+-]\d+\.\d\d","[^"]+","[+-]\d+\.\d\d"', csv_line)


def test_demo_feed_overlaps_the_statements_as_designed(demo_sandbox):
    stored = demo_sandbox.transactions()
    assert 250 <= len(stored) <= 600
    assert min(t["date"] for t in stored) >= HISTORY_START - timedelta(days=3)
    assert max(t["date"] for t in stored) <= FEED_END
    for account, generate in GENERATORS.items():
        feed = [t for t in stored if t["transaction_account_id"] == account.transaction_account_id]
        statement = [r for r in generate() if r.date <= FEED_END]
        unmatched = []
        pool = list(feed)
        for row in statement:
            match = next((t for t in pool if t["amount"] == row.amount and 0 <= (row.date - t["date"]).days <= 3
                          and t["original_payee"] == row.text), None)
            if match is None:
                unmatched.append(row)
            else:
                pool.remove(match)
        assert 0 < len(unmatched) < len(statement) * 0.25 or account is SAVINGS, account.name
        lags = [(r.date - t["date"]).days for r in statement for t in feed
                if t["original_payee"] == r.text and t["amount"] == r.amount and merchant_for(r.text).card]
        if account is not SAVINGS:
            assert max(lags) > 0, "card purchases appear in the feed before they post"
    manual = [t for t in stored if t["upload_source"] == "manual"]
    assert {t["payee"] for t in manual} == {"Woolies", "AGL electricity bill", "Dinner at Mamak"}
    from importer.sandbox.demo import _feed
    twins = [r for r in everyday_rows() if Counter((x.date, x.amount, x.text) for x in everyday_rows())
             [(r.date, r.amount, r.text)] == 2]
    assert len(twins) == 2 and len(_feed(EVERYDAY, twins, everything=False)) == 1, "one of two coffees synced"
    categorised = [t for t in stored if t["category_id"] is not None]
    assert len(categorised) > 0.85 * len(stored)
    assert any(t["labels"] for t in stored) and any(t["is_transfer"] for t in stored)
