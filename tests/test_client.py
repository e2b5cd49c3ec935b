"""The PocketSmith client against the real sandbox over HTTP: paging, every error status, retries, ambiguity, the key."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal

import httpx
import pytest

from importer.errors import AmbiguousWrite, ApiError, ConfigError
from importer.pocketsmith.client import PocketSmith, RateLimited, check_base_url

EVERYDAY, VISA = 510001, 510002
COFFEE = 7011


def _body(**extra):
    body = {"payee": "The Daily Grind", "amount": Decimal("-4.50"), "date": date(2026, 11, 3)}
    body.update(extra)
    return body


def _attempts(sandbox, method: str, path_part: str) -> int:
    return sum(1 for r in sandbox.requests if r.method == method and path_part in r.path)


class Sleeps(list):
    """Records each wait the client asks for, and really waits (the waits are tiny)."""

    def __call__(self, seconds: float) -> None:
        import time
        self.append(seconds)
        time.sleep(seconds)


# ─── URL and key handling ───────────────────────────────────────────────────────────────────

def test_plain_http_to_a_remote_host_is_refused_before_any_network():
    sent = []
    transport = httpx.MockTransport(lambda request: sent.append(request) or httpx.Response(200, json={}))
    with pytest.raises(ConfigError, match="https is required") as caught:
        PocketSmith("http://example.com/v2", "sk-secret-123", transport=transport)
    assert sent == []
    assert "sk-secret-123" not in str(caught.value)
    # The message names every host plain http is accepted for (the test below checks each is).
    assert "localhost, 127.0.0.1 or ::1" in str(caught.value)


def test_a_cookie_pocketsmith_sets_is_never_sent_back():
    # The key is the whole authentication: the client keeps no cookie jar (httpx's cost a tenth of a create's CPU).
    sent = []

    def answer(request):
        sent.append(request)
        return httpx.Response(200, json={"id": 4711}, headers={"Set-Cookie": "session=abc123; Path=/"})

    client = PocketSmith("https://api.example.test/v2", "sk-test-key", transport=httpx.MockTransport(answer))
    client.me()
    client.me()
    assert len(sent) == 2 and "cookie" not in sent[1].headers
    assert not client._http.cookies


@pytest.mark.parametrize("url", ["http://127.0.0.1:8765/v2", "http://localhost:1/v2", "http://[::1]:9/v2",
                                 "https://api.pocketsmith.com/v2/"])
def test_loopback_http_and_any_https_are_accepted(url):
    assert check_base_url(url) == url.rstrip("/")


@pytest.mark.parametrize("url", ["ftp://api.pocketsmith.com/v2", "api.pocketsmith.com/v2", "http://10.0.0.1/v2"])
def test_other_urls_are_refused(url):
    with pytest.raises(ConfigError):
        check_base_url(url)


def test_from_env_without_a_key_says_how_to_set_one(monkeypatch):
    monkeypatch.delenv("POCKETSMITH_DEVELOPER_KEY", raising=False)
    monkeypatch.delenv("POCKETSMITH_ACCESS_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="POCKETSMITH_DEVELOPER_KEY"):
        PocketSmith.from_env("https://api.pocketsmith.com/v2")


def test_from_env_uses_developer_key_or_bearer_token(sandbox, monkeypatch):
    monkeypatch.setenv("POCKETSMITH_DEVELOPER_KEY", sandbox.key + "\n")  # a pasted trailing newline is fine
    with PocketSmith.from_env(sandbox.url) as client:
        assert client.user_id == 4711 and client.auth_kind == "developer key"
    monkeypatch.delenv("POCKETSMITH_DEVELOPER_KEY")
    monkeypatch.setenv("POCKETSMITH_ACCESS_TOKEN", sandbox.key)
    with PocketSmith.from_env(sandbox.url) as client:
        assert client.me()["id"] == 4711 and client.auth_kind == "bearer token"
    monkeypatch.delenv("POCKETSMITH_ACCESS_TOKEN")
    monkeypatch.setenv("POCKETSMITH_DEVELOPER_KEY", f"Bearer {sandbox.key}")   # the key variable takes a token too
    with PocketSmith.from_env(sandbox.url) as client:
        assert client.me()["id"] == 4711 and client.auth_kind == "bearer token"


def test_a_key_with_a_line_break_is_refused_without_echoing_it():
    with pytest.raises(ConfigError) as caught:
        PocketSmith("https://api.pocketsmith.com/v2", "abc\ndef-secret")
    assert "def-secret" not in str(caught.value)


def test_wrong_key_fails_cleanly_and_never_echoes_a_key(sandbox):
    wrong = "sk-wrong-key-0123456789"
    lines: list[str] = []
    client = PocketSmith(sandbox.url, wrong, log=lines.append)
    with pytest.raises(ApiError) as caught:
        client.transaction_accounts()
    client.close()
    error = caught.value
    assert error.status == 401
    assert "POCKETSMITH_DEVELOPER_KEY" in str(error)
    assert wrong not in str(error) and wrong not in repr(error) and wrong not in repr(client)
    assert lines and all(wrong not in line for line in lines)


def test_the_key_is_in_no_repr_log_or_error(sandbox):
    lines: list[str] = []
    logger = logging.getLogger("psimport-test")
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        client = sandbox.client(log=lines.append)
        logged = sandbox.client(log=logger)
        client.transaction_accounts()
        logged.categories()
        errors = []
        for call in (lambda: client.get_transaction(1), lambda: client.transaction_account(999),
                     lambda: client.create_transaction(EVERYDAY, _body(category_id=1))):
            with pytest.raises(ApiError) as caught:
                call()
            errors.append(caught.value)
    finally:
        logger.removeHandler(handler)
    assert lines and records
    everything = lines + [r.getMessage() for r in records] + [str(e) for e in errors] + [repr(e) for e in errors]
    everything += [repr(client), str(vars(client))]
    assert not [text for text in everything if sandbox.key in text]
    assert any(line.startswith("GET /v2/users/4711/transaction_accounts") and "→ 200" in line for line in lines)


def test_a_server_echoing_the_key_is_redacted():
    key = "sk-echoed-secret-42"

    def handler(request):
        return httpx.Response(403, json={"error": f"key {request.headers['X-Developer-Key']} lacks access"})

    client = PocketSmith("https://api.example.test/v2", key, transport=httpx.MockTransport(handler))
    with pytest.raises(ApiError) as caught:
        client.me()
    assert key not in str(caught.value) and "[redacted]" in str(caught.value)


# ─── every error status ─────────────────────────────────────────────────────────────────────

def test_403_carries_pocketsmiths_message_and_what_was_being_done(sandbox, client):
    other = sandbox.store.add_user(99, "someone", "Someone Else", "else@example.com")
    foreign = sandbox.store.add_transaction_account(other, "Not yours")
    with pytest.raises(ApiError) as caught:
        client.transaction_account(foreign)
    assert caught.value.status == 403
    assert f"reading transaction account {foreign}" in str(caught.value)
    assert "do not have access" in str(caught.value)


def test_404_for_a_missing_transaction(client):
    with pytest.raises(ApiError) as caught:
        client.get_transaction(12345)
    assert caught.value.status == 404 and "reading transaction 12345" in str(caught.value)
    assert caught.value.method == "GET" and caught.value.path == "/v2/transactions/12345"


def test_a_404_for_me_asks_whether_the_api_url_is_right(sandbox):
    without_v2 = sandbox.url.removesuffix("/v2")
    with pytest.raises(ApiError) as caught:
        PocketSmith(without_v2, sandbox.key).me()
    assert caught.value.status == 404
    assert f"is the API URL right ({without_v2})? It usually ends in /v2" in str(caught.value)


def test_422_carries_pocketsmiths_message(sandbox, client):
    with pytest.raises(ApiError) as caught:
        client.create_transaction(EVERYDAY, _body(category_id=424242))
    assert caught.value.status == 422
    assert "Category 424242 does not exist" in str(caught.value)
    assert sandbox.transactions() == []


def test_labels_with_a_comma_are_refused_before_sending(sandbox, client):
    with pytest.raises(ConfigError, match="comma"):
        client.create_transaction(EVERYDAY, _body(labels=["food, drink"]))
    assert _attempts(sandbox, "POST", "/transactions") == 0


def test_money_must_not_be_float(client):
    with pytest.raises(TypeError, match="float"):
        client.create_transaction(EVERYDAY, _body(amount=-4.5))


# ─── 429, 5xx, timeouts, dropped connections ────────────────────────────────────────────────

def test_429_waits_retry_after_then_succeeds(sandbox):
    sandbox.faults.retry_after = 0.05
    sandbox.faults.inject(429, 429, method="GET")
    sleeps, throttles = Sleeps(), []
    client = sandbox.client(sleep=sleeps, on_throttle=throttles.append)
    assert len(client.transaction_accounts()) == 3
    assert throttles == [0.05, 0.05]
    assert sleeps[:2] == [0.05, 0.05]
    assert [r.status for r in sandbox.requests if r.method == "GET"][:3] == [429, 429, 200]


def test_429_on_a_create_is_resent_because_nothing_was_done(sandbox):
    sandbox.faults.retry_after = 0.02
    sandbox.faults.inject(429, method="POST")
    client = sandbox.client(sleep=Sleeps())
    created = client.create_transaction(EVERYDAY, _body())
    assert [t["id"] for t in sandbox.transactions()] == [created.id]
    assert _attempts(sandbox, "POST", "/transactions") == 2


def test_429_raises_rate_limited_when_told_not_to_wait(sandbox):
    sandbox.faults.retry_after = 7
    sandbox.faults.inject(429)
    client = sandbox.client(wait_on_throttle=False)
    with pytest.raises(RateLimited) as caught:
        client.me()
    assert caught.value.retry_after == 7 and caught.value.status == 429


def test_500_on_reads_is_retried_with_backoff(sandbox):
    sandbox.faults.inject(500, 500, method="GET")
    sleeps = Sleeps()
    client = sandbox.client(sleep=sleeps)
    assert client.me()["id"] == 4711
    assert [r.status for r in sandbox.requests] == [500, 500, 200]
    assert len(sleeps) == 2 and all(0 < s <= 0.05 for s in sleeps)


def test_persistent_500_gives_up_after_max_tries(sandbox):
    sandbox.faults.rate_500 = 1.0
    client = sandbox.client(max_tries=3)
    with pytest.raises(ApiError) as caught:
        client.categories()
    assert caught.value.status == 500 and "3 times" in str(caught.value)
    assert len(sandbox.requests) == 3


def test_500_on_a_create_is_ambiguous_and_not_resent(sandbox, client):
    sandbox.faults.inject(500, method="POST")
    with pytest.raises(AmbiguousWrite) as caught:
        client.create_transaction(EVERYDAY, _body())
    assert caught.value.status == 500 and caught.value.body["payee"] == "The Daily Grind"
    assert _attempts(sandbox, "POST", "/transactions") == 1


def test_503_on_a_create_is_resent(sandbox, client):
    sandbox.faults.inject(503, method="POST")
    client.create_transaction(EVERYDAY, _body())
    assert len(sandbox.transactions()) == 1
    assert _attempts(sandbox, "POST", "/transactions") == 2


def test_read_timeout_is_retried(sandbox):
    sandbox.faults.slow_seconds = 1.0
    sandbox.faults.inject("slow", method="GET")
    client = sandbox.client(timeout=0.25)
    assert client.me()["id"] == 4711
    assert len(sandbox.requests) == 2


def test_create_timeout_is_ambiguous_and_the_transaction_exists(sandbox):
    sandbox.faults.slow_seconds = 1.0
    sandbox.faults.inject("slow", method="POST")
    client = sandbox.client(timeout=0.25)
    with pytest.raises(AmbiguousWrite, match="timed out"):
        client.create_transaction(EVERYDAY, _body())
    assert _attempts(sandbox, "POST", "/transactions") == 1
    assert len(sandbox.transactions(EVERYDAY)) == 1


def test_dropped_connection_after_create_is_ambiguous_and_settled_by_looking(sandbox, client):
    sandbox.faults.inject("drop_after_commit", method="POST")
    with pytest.raises(AmbiguousWrite) as caught:
        client.create_transaction(EVERYDAY, _body())
    assert "may or may not" in str(caught.value)
    stored = sandbox.transactions(EVERYDAY)
    assert len(stored) == 1 and stored[0]["amount"] == Decimal("-4.50")
    assert _attempts(sandbox, "POST", "/transactions") == 1
    found = client.find_transactions(EVERYDAY, date(2026, 11, 3), Decimal("-4.50"), "The Daily Grind")
    assert [t.id for t in found] == [stored[0]["id"]]


def test_drop_rate_fault_drops_every_create(sandbox, client):
    sandbox.faults.rate_drop_after_create = 1.0
    for day in (1, 2):
        with pytest.raises(AmbiguousWrite):
            client.create_transaction(EVERYDAY, _body(date=date(2026, 11, day)))
    assert len(sandbox.transactions()) == 2
    assert client.get_transaction(sandbox.transactions()[0]["id"]).payee == "The Daily Grind"


def test_dropped_connection_on_a_read_is_retried(sandbox, client):
    sandbox.faults.inject("drop", method="GET")
    assert client.labels() == []
    assert [r.status for r in sandbox.requests] == [None, 200, 200]  # dropped /labels, /me, /labels


def test_delete_retried_after_a_drop_counts_a_404_as_done(sandbox, client):
    created = client.create_transaction(EVERYDAY, _body())
    sandbox.faults.inject("drop_after_commit", method="DELETE")
    client.delete_transaction(created.id)
    assert sandbox.transactions() == []


def test_nothing_listening_is_a_clean_error_even_for_a_create(sandbox):
    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = PocketSmith(f"http://127.0.0.1:{port}/v2", sandbox.key, max_tries=2, backoff=0.001)
    with pytest.raises(ApiError, match="cannot reach") as caught:
        client.create_transaction(EVERYDAY, _body())
    assert not isinstance(caught.value, AmbiguousWrite)
    client.close()


# ─── paging ─────────────────────────────────────────────────────────────────────────────────

def _many(sandbox, count: int, account: int = EVERYDAY):
    rows = [{"transaction_account_id": account, "date": date(2026, 1, 1 + i % 28), "amount": Decimal(-i) / 4,
             "payee": f"Shop {i}"} for i in range(count)]
    return sandbox.store.add_transactions(rows)


def test_paging_follows_link_next_across_many_pages(sandbox):
    ids = _many(sandbox, 95)
    client = sandbox.client(per_page=10)
    got = client.transactions(EVERYDAY)
    assert sorted(t.id for t in got) == sorted(ids)
    pages = [r for r in sandbox.requests if r.path.endswith("/transactions")]
    assert len(pages) == 10
    assert all("per_page=10" in r.query for r in pages)


def test_paging_when_the_server_ignores_per_page(make_sandbox):
    sandbox = make_sandbox(honour_per_page=False)
    ids = _many(sandbox, 95)
    client = sandbox.client()   # asks for 1000, gets 30 a page
    assert sorted(t.id for t in client.transactions(EVERYDAY)) == sorted(ids)
    assert sum(1 for r in sandbox.requests if r.path.endswith("/transactions")) == 4


def test_paging_when_the_server_caps_pages_below_what_was_asked(make_sandbox):
    sandbox = make_sandbox(max_per_page=7)
    ids = _many(sandbox, 50)
    got = sandbox.client().transactions(EVERYDAY, date(2025, 12, 1), date(2026, 2, 1))
    assert len(got) == 50 and {t.id for t in got} == set(ids)


def test_a_refused_page_size_falls_back_to_100_and_goes_on(make_sandbox):
    # PocketSmith documents no per_page; a server that refuses 1000 (a 400 naming it) is asked for 100.
    sandbox = make_sandbox(refuse_per_page_over=100)
    ids = _many(sandbox, 250)
    client = sandbox.client()
    assert client.per_page == 1000
    assert sorted(t.id for t in client.transactions(EVERYDAY)) == sorted(ids)
    pages = [(r.status, r.query) for r in sandbox.requests if r.path.endswith("/transactions")]
    assert pages[0][0] == 400 and "per_page=1000" in pages[0][1]
    assert [status for status, _ in pages[1:]] == [200, 200, 200]
    assert all("per_page=100" in query for _, query in pages[1:])
    # Remembered: the next list of this client asks for 100 at once.
    client.categories()
    categories = [r for r in sandbox.requests if r.path.endswith("/categories")]
    assert [(r.status, "per_page=100" in r.query) for r in categories] == [(200, True)]


def test_a_400_about_something_else_is_not_retried_with_smaller_pages():
    calls = []

    def handler(request):
        calls.append(request.url.params.get("per_page"))
        return httpx.Response(400, json={"error": "start_date must be on or before end_date"})

    client = PocketSmith("https://api.example.test/v2", "sk-test-key", transport=httpx.MockTransport(handler))
    with pytest.raises(ApiError, match="start_date must be") as caught:
        client.transactions(EVERYDAY)
    assert caught.value.status == 400 and calls == ["1000"]


def test_a_page_size_refused_at_100_is_an_error_not_a_loop(make_sandbox):
    sandbox = make_sandbox(refuse_per_page_over=50)
    _many(sandbox, 20)
    with pytest.raises(ApiError, match="per_page must be between 1 and 50"):
        sandbox.client().transactions(EVERYDAY)
    assert sum(1 for r in sandbox.requests if r.path.endswith("/transactions")) == 2    # 1000, then 100


def test_a_next_link_to_another_host_is_not_followed():
    calls = []

    def handler(request):
        calls.append(str(request.url))
        if request.url.path == "/v2/me":
            return httpx.Response(200, json={"id": 1})
        return httpx.Response(200, json=[{"id": 1, "title": "A"}],
                              headers={"Link": '<https://evil.example/v2/users/1/categories?page=2>; rel="next"'})

    client = PocketSmith("https://api.example.test/v2", "k", transport=httpx.MockTransport(handler))
    with pytest.raises(ApiError, match="points away"):
        client.categories()
    assert not any("evil" in c for c in calls)


# ─── start-up ───────────────────────────────────────────────────────────────────────────────

def test_tls_is_verified_against_the_ca_bundle_for_https_and_trusts_nothing_for_loopback_http():
    import ssl

    from importer.pocketsmith.client import _tls_for
    assert _tls_for("https://api.pocketsmith.com/v2") is True       # httpx's default: certifi's bundle
    context = _tls_for("http://127.0.0.1:8765/v2")
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.get_ca_certs() == []     # any TLS attempted there would be refused


def test_each_thread_sends_on_a_connection_of_its_own_and_a_finished_threads_is_reused(sandbox):
    # One shared pool made every request scan every connection (most of a create's CPU at 32 in flight).
    client = PocketSmith(sandbox.url, sandbox.key)
    transport = client._http._transport

    def wave(threads: int) -> None:
        together = threading.Barrier(threads)

        def call() -> None:
            together.wait()                 # all in flight at once, none reusing another's connection
            assert client.me()["id"]

        workers = [threading.Thread(target=call) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

    wave(4)
    connections = [connection for _, connection in transport._owners]
    sockets = [connection._socket for connection in connections]
    assert len(connections) == 4 and None not in sockets
    wave(4)                                 # new threads take the ended ones' connections, kept alive
    assert [connection for _, connection in transport._owners] == connections
    assert [connection._socket for connection in connections] == sockets
    assert len(sandbox.server.requests) == 8
    client.close()
    assert transport._owners == [] and all(connection._socket is None for connection in connections)


def test_a_kept_connection_the_server_closed_is_not_used_again(make_sandbox):
    # The sandbox closes a connection idle for idle_seconds, as servers do: the next request must go on a new
    # one, not be written into the closed one (which would make a create's outcome unknown).
    sandbox = make_sandbox(idle_seconds=0.2)
    client = PocketSmith(sandbox.url, sandbox.key, max_tries=1)
    assert client.me()["id"]
    connection = client._http._transport._owners[0][1]
    first = connection._socket
    deadline = time.monotonic() + 10
    while not connection._closed_by_server() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert connection._closed_by_server()
    created = client.create_transaction(510001, {"payee": "Kmart", "amount": Decimal("-9.50"),
                                                 "date": date(2026, 10, 10)})
    assert created.amount == Decimal("-9.50") and connection._socket is not first
    client.close()


def _serve_raw(answers: list[bytes]):
    """A server on 127.0.0.1 that answers each request it reads (up to its empty line) with the next of
    `answers`, on one connection at a time; closes the connection after an answer ending in b"<close>"."""
    import socket
    listener = socket.create_server(("127.0.0.1", 0))
    requests: list[bytes] = []

    def serve() -> None:
        while answers:
            connection, _ = listener.accept()
            with connection, connection.makefile("rb") as reader:
                while answers:
                    request = b"".join(iter(lambda: reader.readline(), b"\r\n"))
                    if not request:
                        break
                    requests.append(request)
                    answer = answers.pop(0)
                    connection.sendall(answer.removesuffix(b"<close>"))
                    if answer.endswith(b"<close>"):
                        break
        listener.close()

    threading.Thread(target=serve, daemon=True).start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}/v2", requests


def test_answers_chunked_closing_or_informational_are_read_whole():
    body = b'{"id": 4711, "login": "chunked"}'
    chunked = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(part), part) for part in (body[:10], body[10:]))
    url, requests = _serve_raw([
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked +
        b"0\r\nX-Trailer: yes\r\n\r\n",
        b'HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\n{"id": 12}<close>',
        b'HTTP/1.0 200 OK\r\nX-Folded: one\r\n two\r\n\r\n{"id": 13}<close>',
    ])
    client = PocketSmith(url, "sk-test-key", max_tries=1)
    assert client.me() == {"id": 4711, "login": "chunked"}     # the same connection: kept after chunks
    assert client.me() == {"id": 12}                            # then closed by the server's word
    assert client.me() == {"id": 13}                            # a new one, its body ending with it
    assert [r.split(b"\r\n", 1)[0] for r in requests] == [b"GET /v2/me HTTP/1.1"] * 3
    assert all(b"X-Developer-Key: sk-test-key" in r and b"Host: 127.0.0.1:" in r for r in requests)
    client.close()


def test_an_answer_that_is_not_http_is_a_protocol_error_and_a_create_is_then_unknown():
    url, _ = _serve_raw([b"SSH-2.0-OpenSSH_9.6\r\n<close>",
                         b"HTTP/1.1 201 Created\r\nContent-Length: 5\r\n\r\n{}<close>"])
    client = PocketSmith(url, "sk-test-key", max_tries=1)
    with pytest.raises(ApiError, match="connection dropped"):
        client.me()
    with pytest.raises(AmbiguousWrite):                         # body cut short: it may have been created
        client.create_transaction(510001, {"payee": "Kmart", "amount": Decimal("-9.50"), "date": date(2026, 10, 10)})
    client.close()


def test_two_different_content_lengths_are_a_protocol_error_and_a_create_is_then_unknown():
    # Which bytes are this answer's body cannot be told: read as the first length, the rest would be taken
    # for the next request's answer.
    url, _ = _serve_raw([b'HTTP/1.1 201 Created\r\nContent-Length: 2\r\nContent-Length: 12\r\n\r\n{}{"id": 66}<close>'])
    client = PocketSmith(url, "sk-test-key", max_tries=1)
    with pytest.raises(AmbiguousWrite):
        client.create_transaction(510001, {"payee": "Kmart", "amount": Decimal("-9.50"), "date": date(2026, 10, 10)})
    client.close()


def test_an_https_client_verifies_with_certifis_bundle_loaded_once():
    import ssl
    client = PocketSmith("https://api.example.test/v2", "k")
    transport = client._http._transport
    context = transport._make()._ssl_context
    assert context is transport._make()._ssl_context
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.cert_store_stats()["x509_ca"] > 10


def test_a_client_loads_neither_trio_nor_httpxs_command_line_and_leaves_them_importable(sandbox):
    code = ("import sys, importlib.util\n"
            "from importer.pocketsmith.client import PocketSmith\n"
            f"client = PocketSmith({sandbox.url!r}, {sandbox.key!r})\n"
            "assert client.me()['id']\n"
            "print(sorted(m for m in ('trio', 'httpx._main', 'pygments') if m in sys.modules))\n"
            "import httpx._main\n"
            "if importlib.util.find_spec('trio'):\n"
            "    import trio\n"
            "print('importable')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["[]", "importable"]


# ─── money, filters and the other calls ─────────────────────────────────────────────────────

def test_request_bodies_carry_money_as_exact_json_numbers():
    bodies = []

    def handler(request):
        bodies.append(request.content.decode())
        return httpx.Response(201, json={"id": 1, "date": "2026-11-03", "amount": 0})

    client = PocketSmith("https://api.example.test/v2", "k", transport=httpx.MockTransport(handler))
    client.create_transaction(1, _body(amount=Decimal("0.1") + Decimal("0.2"), labels=["a", "b"]))
    client.create_transaction(1, _body(amount=Decimal("1234567.89")))
    assert '"amount":0.3,' in bodies[0] and '"labels":"a,b"' in bodies[0] and '"date":"2026-11-03"' in bodies[0]
    assert '"amount":1234567.89,' in bodies[1]


def test_money_arrives_exactly_in_the_sandbox_and_back(sandbox, client):
    first = client.create_transaction(EVERYDAY, _body(amount=Decimal("0.1") + Decimal("0.2")))
    second = client.create_transaction(EVERYDAY, _body(amount=Decimal("1234567.89")))
    assert first.amount == Decimal("0.3") and second.amount == Decimal("1234567.89")
    assert [t["amount"] for t in sandbox.transactions()] == [Decimal("0.30"), Decimal("1234567.89")]
    assert isinstance(client.transaction_account(EVERYDAY).current_balance, Decimal)
    opening = Decimal("2431.18")  # the demo everyday account's starting balance
    assert client.transaction_account(EVERYDAY).current_balance == opening + Decimal("1234568.19")


def test_create_update_delete_round_trip(sandbox, client):
    created = client.create_transaction(EVERYDAY, _body(memo="CARD 4321", note="shout", cheque_number="000123",
                                                         labels=["coffee", "work"], category_id=COFFEE,
                                                         needs_review=True, is_transfer=False))
    assert (created.memo, created.note, created.cheque_number) == ("CARD 4321", "shout", "000123")
    assert created.labels == ["coffee", "work"] and created.category_id == COFFEE and created.needs_review
    assert created.transaction_account_id == EVERYDAY
    updated = client.update_transaction(created.id, {"payee": "Daily Grind", "labels": ["coffee"],
                                                     "category_id": None, "needs_review": False})
    assert (updated.payee, updated.labels, updated.category_id, updated.needs_review) == \
        ("Daily Grind", ["coffee"], None, False)
    client.delete_transaction(created.id)
    assert sandbox.transactions() == []
    assert [r.status for r in sandbox.requests if r.method == "DELETE"] == [204]


def test_transactions_filters(demo_sandbox):
    client = demo_sandbox.client()
    october = client.transactions(EVERYDAY, date(2026, 10, 1), date(2026, 10, 31))
    assert october and all(date(2026, 10, 1) <= t.date <= date(2026, 10, 31) for t in october)
    debits = client.transactions(EVERYDAY, date(2026, 10, 1), date(2026, 10, 31), type="debit")
    assert debits and all(t.amount < 0 for t in debits) and len(debits) < len(october)
    grind = client.transactions(EVERYDAY, search="daily grind")
    assert grind and all(t.payee == "The Daily Grind" for t in grind)
    assert client.transactions(EVERYDAY, updated_since="2030-01-01T00:00:00+11:00") == []
    recent = client.transactions(EVERYDAY, updated_since=date(2026, 11, 1))
    assert recent and all(t.updated_at >= "2026-11-01" for t in recent)
    assert all(isinstance(t.amount, Decimal) for t in october)
    with pytest.raises(ValueError):
        client.transactions(EVERYDAY, type="refund")


def test_start_date_alone_is_sent_with_an_end_date(demo_sandbox):
    client = demo_sandbox.client()
    since = client.transactions(VISA, start_date=date(2026, 11, 1))
    assert since and all(t.date >= date(2026, 11, 1) for t in since)
    query = [r.query for r in demo_sandbox.requests if r.path.endswith("/transactions")][-1]
    assert "start_date=2026-11-01" in query and "end_date=" in query


def test_categories_rules_and_labels(demo_sandbox):
    client = demo_sandbox.client()
    categories = client.categories()
    paths = {c.path: c for c in categories}
    assert paths["Eating Out > Coffee"].id == COFFEE and paths["Eating Out > Coffee"].parent_id == 7010
    assert paths["Transfers"].is_transfer
    made = client.create_category("Bakery", parent_id=7010)
    assert made.path == "Eating Out > Bakery" and made.parent_id == 7010
    top = client.create_category("Pets")
    assert top.path == "Pets" and top.parent_id is None
    rule = client.create_category_rule(made.id, "BAKERS DELIGHT")
    assert rule["payee_matches"] == "BAKERS DELIGHT" and rule["category"]["id"] == made.id
    rules = client.category_rules()
    assert {(r["category"]["title"], r["payee_matches"]) for r in rules} >= {("Groceries", "Woolworths"),
                                                                            ("Bakery", "BAKERS DELIGHT")}
    assert {"coffee", "subscription", "car"} <= set(client.labels())
    assert [r.status for r in demo_sandbox.requests if r.method == "POST"] == [201, 201, 200]


def test_creates_from_many_threads(sandbox, client):
    def make(i):
        return client.create_transaction(EVERYDAY, _body(amount=Decimal(-i) / 100, payee=f"Shop {i}")).id

    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(make, range(1, 41)))
    assert len(set(ids)) == 40
    assert sorted(t["id"] for t in sandbox.transactions()) == sorted(ids)


def test_user_id_is_fetched_once_across_threads(sandbox, client):
    barrier = threading.Barrier(6)

    def read(_):
        barrier.wait()
        return client.user_id

    with ThreadPoolExecutor(6) as pool:
        assert set(pool.map(read, range(6))) == {4711}
    assert sum(1 for r in sandbox.requests if r.path == "/v2/me") == 1


def test_lenient_parsing_of_growing_enums_and_nulls():
    def handler(request):
        if request.url.path == "/v2/me":
            return httpx.Response(200, json={"id": 5})
        return httpx.Response(200, content=json.dumps([
            {"id": 1, "name": "Loan", "type": "investment_loan", "number": None, "current_balance": -1234567.89,
             "institution": None, "currency_code": None},
            {"id": 2}]).encode())

    client = PocketSmith("https://api.example.test/v2", "k", transport=httpx.MockTransport(handler))
    loan, bare = client.transaction_accounts()
    assert loan.type == "investment_loan" and loan.current_balance == Decimal("-1234567.89")
    assert bare.name == "" and bare.current_balance is None
