"""A local PocketSmith-compatible HTTP server: the API v2 subset psimport uses, over SQLite, with injectable faults.

Why the stdlib `ThreadingHTTPServer` and not an ASGI app under uvicorn: it needs no extra
dependency, starts in a few milliseconds inside a test's thread, and gives direct access to the
socket, which the "create commits, then the connection drops" fault needs.

Served under `/v2`: `GET /me`, `/users/{id}`, `/users/{id}/transaction_accounts`,
`/transaction_accounts/{id}`, `GET|POST /transaction_accounts/{id}/transactions`,
`GET /users/{id}/transactions`, `GET|PUT|DELETE /transactions/{id}`, `GET|POST /users/{id}/categories`,
`GET /categories/{id}`, `GET /users/{id}/category_rules`, `POST /categories/{id}/category_rules`,
`GET /users/{id}/labels`.
"""

from __future__ import annotations

import http.client
import random
import re
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs, urlencode, urlsplit

from importer.pocketsmith.wire import dumps_exact, loads_exact
from importer.sandbox.store import Store, TransactionFilter, to_cents

__all__ = ["Faults", "RequestRecord", "SandboxServer", "API_PREFIX"]

API_PREFIX = "/v2"
DEFAULT_PER_PAGE = 30
MAX_BODY_BYTES = 1 << 20
IDLE_SECONDS = 60.0         # a connection that sends nothing for this long is closed
_HOST_HEADER = re.compile(r"(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\]):\d{1,5}")


@dataclass
class Faults:
    """What the sandbox does wrong, on purpose; every field may be changed while it runs.

    Rates are probabilities per request drawn from a seeded RNG, so a run is repeatable.
    `inject()` queues one-shot faults for the next matching requests, for tests that need
    an exact sequence (two 429s, then success).
    """

    latency: float = 0.0                  # seconds added to every request
    rate_429: float = 0.0
    retry_after: float = 1.0              # seconds, sent in Retry-After with each 429
    rate_500: float = 0.0
    rate_drop_after_create: float = 0.0   # a transaction create commits, then the connection closes unanswered
    slow_seconds: float = 2.0             # how long a "slow" fault holds the answer back
    seed: int = 0
    queue: deque = field(default_factory=deque)

    def __post_init__(self):
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    def inject(self, *kinds: int | str, method: str | None = None, path: str | None = None) -> None:
        """Queue one-shot faults: an HTTP status (429, 500, 503...), "drop" (close before doing anything),
        "drop_after_commit" (do the work, then close unanswered) or "slow" (do the work, answer after
        `slow_seconds`). Each applies to the next request whose method and path (a regex) match."""
        for kind in kinds:
            self.queue.append((kind, method.upper() if method else None, re.compile(path) if path else None))

    def clear(self) -> None:
        self.queue.clear()

    def draw(self, method: str, path: str, is_create: bool) -> int | str | None:
        """The fault this request meets, if any."""
        with self._lock:
            for entry in list(self.queue):
                kind, want_method, want_path = entry
                if (want_method is None or want_method == method) and (want_path is None or want_path.search(path)):
                    self.queue.remove(entry)
                    return kind
            roll = self._rng.random()
            if roll < self.rate_429:
                return 429
            if roll < self.rate_429 + self.rate_500:
                return 500
            if is_create and self._rng.random() < self.rate_drop_after_create:
                return "drop_after_commit"
        return None


@dataclass(frozen=True)
class RequestRecord:
    """One request as the sandbox saw it (for tests counting attempts)."""

    method: str
    path: str
    query: str
    status: int | None      # None: the connection was dropped without an answer
    fault: int | str | None


class ApiProblem(Exception):
    """An error answer: status and PocketSmith's `{"error": ...}` message."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class SandboxServer:
    """The sandbox: `start()` serves in a daemon thread, `serve_forever()` in the foreground.

    `db_path` is the SQLite file (created and schema'd if new); `key` is a developer key
    accepted for the sandbox's user (the first user). A new, empty store is seeded first:
    `seed="demo"` (or `demo=True`) the demo household with its history, `"accounts"` its
    accounts, categories and rules without transactions, `"empty"` just a user.
    `max_per_page` and `honour_per_page` shape paging, to test clients against servers that
    give smaller pages than asked; `refuse_per_page_over` makes any GET asking for a bigger
    page than that a 400 naming per_page, as a server that validates it would answer.
    """

    def __init__(self, db_path: str | Path, key: str | None = None, host: str = "127.0.0.1", port: int = 0,
                 faults: Faults | None = None, demo: bool = False, seed: str | None = None,
                 max_per_page: int = 1000, honour_per_page: bool = True, refuse_per_page_over: int | None = None,
                 log: Callable[[str], None] | None = None, idle_seconds: float = IDLE_SECONDS):
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the sandbox only listens on loopback")
        seed = seed or ("demo" if demo else "empty")
        if seed not in ("demo", "accounts", "empty"):
            raise ValueError("seed is 'demo', 'accounts' or 'empty'")
        self.store = Store(db_path)
        if self.store.is_empty():
            from importer.sandbox import demo as demo_data
            if seed == "empty":
                demo_data.seed_empty_user(self.store)
            else:
                demo_data.seed_demo(self.store, history=seed == "demo")
        self.user_id = self.store.first_user_id()
        if key:
            self.store.add_key(key, self.user_id)
        self.key = key
        self.faults = faults or Faults()
        self.max_per_page = max_per_page
        self.honour_per_page = honour_per_page
        self.refuse_per_page_over = refuse_per_page_over
        self.log = log
        self.idle_seconds = idle_seconds
        self.requests: deque[RequestRecord] = deque(maxlen=100_000)
        self._httpd = _HTTPServer((host, port), _Handler)
        self._httpd.sandbox = self
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def request_origin(self) -> str:
        """The origin the request being handled was sent to (its Host header, when that names this
        machine), so links work for `--api-url http://localhost:PORT/v2` as for 127.0.0.1."""
        host = getattr(_CURRENT, "host", None) or ""
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        if name.strip("[]").lower() in ("127.0.0.1", "localhost", "::1") and _HOST_HEADER.fullmatch(host):
            return f"http://{host}"
        return self.origin

    @property
    def url(self) -> str:
        """The API base URL to give a client."""
        return self.origin + API_PREFIX

    def start(self) -> "SandboxServer":
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"sandbox-{self.port}", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        try:
            self._httpd.serve_forever(poll_interval=0.2)
        finally:
            self._httpd.server_close()
            self.store.close()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.store.close()

    def __enter__(self) -> "SandboxServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"SandboxServer(url={self.url!r}, db={str(self.store.path)!r})"

    # ─── request handling ─────────────────────────────────────────────────────────────────────

    def authenticate(self, headers) -> int:
        key = headers.get("X-Developer-Key")
        authorization = headers.get("Authorization") or ""
        if not key and authorization.lower().startswith("bearer "):
            key = authorization[7:].strip()
        if not key:
            raise ApiProblem(401, "An API key or OAuth access token is required (X-Developer-Key header)")
        user_id = self.store.user_for_key(key)
        if user_id is None:
            raise ApiProblem(401, "The developer key or access token is invalid or has been revoked")
        return user_id

    def dispatch(self, method: str, path: str, query: dict[str, list[str]], body: bytes | None,
                 headers) -> Reply:
        if not path.startswith(API_PREFIX + "/"):
            raise ApiProblem(404, f"No route matches {path}")
        route = path[len(API_PREFIX):]
        allowed = []
        for route_method, pattern, handler in ROUTES:
            match = pattern.fullmatch(route)
            if match is None:
                continue
            if route_method != method:
                allowed.append(route_method)
                continue
            user_id = self.authenticate(headers)
            if method == "GET" and self.refuse_per_page_over is not None and "per_page" in query \
                    and _query_int(query, "per_page", DEFAULT_PER_PAGE) > self.refuse_per_page_over:
                raise ApiProblem(400, f"per_page must be between 1 and {self.refuse_per_page_over}")
            payload = _json_body(body) if method in ("POST", "PUT") else None
            return handler(self, user_id, *[int(g) for g in match.groups()], query=query, body=payload)
        if allowed:
            raise ApiProblem(405, f"{method} is not allowed on {path}; use {', '.join(sorted(set(allowed)))}")
        raise ApiProblem(404, f"No route matches {path}")

    # ownership: another user's object is 403, a missing one 404, as the real API answers
    def _owned(self, user_id: int, table: str, id: int, label: str) -> None:
        owner = self.store.owner(table, id)
        if owner is None:
            raise ApiProblem(404, f"Couldn't find {label} with id {id}")
        if owner != user_id:
            raise ApiProblem(403, f"You do not have access to {label} {id}")

    def _own_user(self, user_id: int, id: int) -> None:
        if id != user_id:
            if self.store.user_json(id) is None:
                raise ApiProblem(404, f"Couldn't find User with id {id}")
            raise ApiProblem(403, f"You do not have access to User {id}")

    # handlers: (self, user_id, *path ints, query=, body=) -> Reply

    def get_me(self, user_id, query, body):
        return Reply(200, self.store.user_json(user_id))

    def get_user(self, user_id, id, query, body):
        self._own_user(user_id, id)
        return Reply(200, self.store.user_json(id))

    def list_transaction_accounts(self, user_id, id, query, body):
        self._own_user(user_id, id)
        return Reply(200, self.store.transaction_accounts_json(id))

    def get_transaction_account(self, user_id, id, query, body):
        self._owned(user_id, "transaction_accounts", id, "TransactionAccount")
        return Reply(200, self.store.transaction_account_json(id))

    def list_account_transactions(self, user_id, id, query, body):
        self._owned(user_id, "transaction_accounts", id, "TransactionAccount")
        return self._transaction_page([id], query)

    def list_user_transactions(self, user_id, id, query, body):
        self._own_user(user_id, id)
        return self._transaction_page(self.store.account_ids(id), query)

    def _transaction_page(self, account_ids: list[int], query: dict[str, list[str]]) -> Reply:
        start = _query_date(query, "start_date")
        end = _query_date(query, "end_date")
        if (start is None) != (end is None):
            raise ApiProblem(400, "start_date and end_date must be given together")
        if start and end and start > end:
            raise ApiProblem(400, "start_date must be on or before end_date")
        updated_since = _query_one(query, "updated_since")
        if updated_since is not None:
            updated_since = _utc_text(updated_since)
        kind = _query_one(query, "type")
        if kind not in (None, "debit", "credit"):
            raise ApiProblem(400, "type must be debit or credit")
        page = _query_int(query, "page", 1)
        if page < 1:
            raise ApiProblem(400, "page must be 1 or more")
        per_page = _query_int(query, "per_page", DEFAULT_PER_PAGE) if self.honour_per_page else DEFAULT_PER_PAGE
        per_page = max(1, min(per_page, self.max_per_page))
        flt = TransactionFilter(start, end, updated_since, kind, _query_one(query, "search"),
                                uncategorised=_query_one(query, "uncategorised") == "1",
                                needs_review=_query_one(query, "needs_review") == "1")
        rows, total = self.store.list_transactions(account_ids, flt, page, per_page)
        last = max(1, -(-total // per_page))
        return Reply(200, rows, {"Per-Page": str(per_page), "Total": str(total),
                                 "Link": self._links(query, page, last, per_page)})

    def _links(self, query: dict[str, list[str]], page: int, last: int, per_page: int) -> str:
        path = _CURRENT.path
        origin = self.request_origin()

        def link(number: int, rel: str) -> str:
            params = {k: v[-1] for k, v in query.items() if k not in ("page", "per_page")}
            params.update(page=str(number), per_page=str(per_page))
            return f'<{origin}{path}?{urlencode(params)}>; rel="{rel}"'

        parts = [link(1, "first")]
        if page > 1:
            parts.append(link(min(page - 1, last), "prev"))
        if page < last:
            parts.append(link(page + 1, "next"))
        parts.append(link(last, "last"))
        return ", ".join(parts)

    def create_transaction(self, user_id, id, query, body):
        self._owned(user_id, "transaction_accounts", id, "TransactionAccount")
        fields = _transaction_fields(self.store, user_id, body, create=True)
        fields["transaction_account_id"] = id
        fields.setdefault("original_payee", fields["payee"])
        fields["upload_source"] = "api"
        new_id = self.store.create_transaction(fields)
        return Reply(201, self.store.transaction_json(new_id))

    def get_transaction(self, user_id, id, query, body):
        self._owned(user_id, "transactions", id, "Transaction")
        return Reply(200, self.store.transaction_json(id))

    def update_transaction(self, user_id, id, query, body):
        self._owned(user_id, "transactions", id, "Transaction")
        if "splits" in body:
            raise ApiProblem(422, "The sandbox does not support splitting transactions")
        fields = _transaction_fields(self.store, user_id, body, create=False)
        if fields:
            self.store.update_transaction(id, fields)
        return Reply(200, self.store.transaction_json(id))

    def delete_transaction(self, user_id, id, query, body):
        self._owned(user_id, "transactions", id, "Transaction")
        self.store.delete_transaction(id)
        return Reply(204)

    def list_categories(self, user_id, id, query, body):
        self._own_user(user_id, id)
        return Reply(200, self.store.categories_json(id))

    def get_category(self, user_id, id, query, body):
        self._owned(user_id, "categories", id, "Category")
        return Reply(200, self.store.category_json(id))

    def create_category(self, user_id, id, query, body):
        self._own_user(user_id, id)
        title = body.get("title")
        if not isinstance(title, str) or not title.strip():
            raise ApiProblem(422, "Title can't be blank")
        parent_id = body.get("parent_id")
        if parent_id is not None:
            if isinstance(parent_id, bool) or not isinstance(parent_id, int):
                raise ApiProblem(422, "parent_id must be an integer")
            if self.store.owner("categories", parent_id) != user_id:
                raise ApiProblem(422, f"Parent category {parent_id} does not exist")
        for flag in ("is_transfer", "is_bill", "roll_up"):
            if flag in body and not isinstance(body[flag], bool):
                raise ApiProblem(422, f"{flag} must be true or false")
        colour = body.get("colour")
        if colour is not None and not (isinstance(colour, str) and re.fullmatch(r"#[0-9a-fA-F]{6}", colour)):
            raise ApiProblem(422, "Colour must be a CSS hex colour like #e0e7ff")
        refund = body.get("refund_behaviour")
        if refund not in (None, "debits_are_deductions", "credits_are_refunds"):
            raise ApiProblem(422, "refund_behaviour must be debits_are_deductions or credits_are_refunds")
        new_id = self.store.add_category(id, title.strip(), parent_id=parent_id, colour=colour,
                                         is_transfer=bool(body.get("is_transfer")), is_bill=bool(body.get("is_bill")),
                                         roll_up=bool(body.get("roll_up")), refund_behaviour=refund)
        return Reply(201, self.store.category_json(new_id))

    def list_category_rules(self, user_id, id, query, body):
        self._own_user(user_id, id)
        return Reply(200, self.store.category_rules_json(id))

    def create_category_rule(self, user_id, id, query, body):
        self._owned(user_id, "categories", id, "Category")
        matches = body.get("payee_matches")
        if not isinstance(matches, str) or not matches.strip():
            raise ApiProblem(422, "Payee matches can't be blank")
        if "category_id" in body and body["category_id"] != id:
            raise ApiProblem(422, f"category_id {body['category_id']!r} does not match the category in the path ({id})")
        rule_id = self.store.add_category_rule(user_id, id, matches.strip())
        if body.get("apply_to_all") is True or body.get("apply_to_uncategorised") is True:
            self.store.apply_rule_to_uncategorised(user_id, id, matches.strip(),
                                                   everything=body.get("apply_to_all") is True)
        # The spec documents 200 (not 201) for this create.
        return Reply(200, self.store.category_rule_json(rule_id))

    def list_labels(self, user_id, id, query, body):
        self._own_user(user_id, id)
        return Reply(200, self.store.labels(id))


# The request being handled, per thread: the Link header needs its path.
_CURRENT = threading.local()

ROUTES: list[tuple[str, re.Pattern, Callable]] = [(m, re.compile(p), h) for m, p, h in [
    ("GET", r"/me", SandboxServer.get_me),
    ("GET", r"/users/(\d+)", SandboxServer.get_user),
    ("GET", r"/users/(\d+)/transaction_accounts", SandboxServer.list_transaction_accounts),
    ("GET", r"/transaction_accounts/(\d+)", SandboxServer.get_transaction_account),
    ("GET", r"/transaction_accounts/(\d+)/transactions", SandboxServer.list_account_transactions),
    ("POST", r"/transaction_accounts/(\d+)/transactions", SandboxServer.create_transaction),
    ("GET", r"/users/(\d+)/transactions", SandboxServer.list_user_transactions),
    ("GET", r"/transactions/(\d+)", SandboxServer.get_transaction),
    ("PUT", r"/transactions/(\d+)", SandboxServer.update_transaction),
    ("DELETE", r"/transactions/(\d+)", SandboxServer.delete_transaction),
    ("GET", r"/users/(\d+)/categories", SandboxServer.list_categories),
    ("POST", r"/users/(\d+)/categories", SandboxServer.create_category),
    ("GET", r"/categories/(\d+)", SandboxServer.get_category),
    ("GET", r"/users/(\d+)/category_rules", SandboxServer.list_category_rules),
    ("POST", r"/categories/(\d+)/category_rules", SandboxServer.create_category_rule),
    ("GET", r"/users/(\d+)/labels", SandboxServer.list_labels),
]]

_CREATE_ROUTE = re.compile(r"/v2/transaction_accounts/\d+/transactions")


# ─── request validation, as the real API does it ─────────────────────────────────────────────

def _json_body(body: bytes | None) -> dict:
    if not body:
        return {}
    try:
        data = loads_exact(body)
    except (ValueError, UnicodeDecodeError):
        raise ApiProblem(400, "The request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ApiProblem(422, "The request body must be a JSON object")
    return data


def _query_one(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None


def _query_int(query, name: str, default: int) -> int:
    text = _query_one(query, name)
    if text is None or text == "":
        return default
    try:
        return int(text)
    except ValueError:
        raise ApiProblem(400, f"{name} must be a whole number") from None


def _query_date(query, name: str) -> date | None:
    text = _query_one(query, name)
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ApiProblem(400, f"{name} must be a date like 2026-11-24") from None


def _utc_text(text: str) -> str:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ApiProblem(400, "updated_since must be an ISO 8601 timestamp") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _transaction_fields(store: Store, user_id: int, body: dict, create: bool) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if create:
        missing = [name for name in ("payee", "amount", "date") if body.get(name) in (None, "")]
        if missing:
            raise ApiProblem(422, f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} required")
    if "payee" in body:
        payee = body["payee"]
        if not isinstance(payee, str) or not payee.strip():
            raise ApiProblem(422, "Payee can't be blank")
        if len(payee) > 255:
            raise ApiProblem(422, "Payee is too long (maximum is 255 characters)")
        fields["payee"] = payee.strip()
    if "amount" in body:
        fields["amount"] = _amount(body["amount"])
    if "date" in body:
        value = body["date"]
        try:
            if not isinstance(value, str):
                raise ValueError
            fields["date"] = date.fromisoformat(value)
        except ValueError:
            raise ApiProblem(422, f"Date {value!r} is not a valid date (expected YYYY-MM-DD)") from None
    for name in ("memo", "note", "cheque_number"):
        if name in body:
            value = body[name]
            if value is not None and not isinstance(value, str):
                raise ApiProblem(422, f"{name} must be a string")
            fields[name] = value or None
    for name in ("is_transfer", "needs_review"):
        if name in body:
            if not isinstance(body[name], bool):
                raise ApiProblem(422, f"{name} must be true or false")
            fields[name] = body[name]
    if "labels" in body:
        labels = body["labels"]
        if labels is None or labels == "":
            fields["labels"] = []
        elif not isinstance(labels, str):
            raise ApiProblem(422, 'labels must be a comma-separated string, like "lunch,mexican"')
        else:
            seen: dict[str, None] = {}
            for label in labels.split(","):
                if label.strip():
                    seen.setdefault(label.strip(), None)
            fields["labels"] = list(seen)
    if "category_id" in body:
        category_id = body["category_id"]
        if category_id is None or (category_id == "" and not create):
            fields["category_id"] = None
        elif isinstance(category_id, bool) or not isinstance(category_id, int):
            raise ApiProblem(422, "category_id must be an integer")
        elif store.owner("categories", category_id) != user_id:
            raise ApiProblem(422, f"Category {category_id} does not exist")
        else:
            fields["category_id"] = category_id
    return fields


def _amount(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, str)):
        raise ApiProblem(422, "Amount must be a number")
    try:
        amount = Decimal(value) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise ApiProblem(422, f"Amount {value!r} is not a number") from None
    if not amount.is_finite():
        raise ApiProblem(422, "Amount must be a number")
    try:
        to_cents(amount)
    except ValueError:
        raise ApiProblem(422, f"Amount {value} has more than two decimal places") from None
    if abs(amount) >= Decimal("1e13"):
        raise ApiProblem(422, "Amount is too large")
    return amount


# ─── HTTP plumbing ───────────────────────────────────────────────────────────────────────────

class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver listens with a backlog of 5: a burst of 200 concurrent connections got resets.
    request_queue_size = 1024
    sandbox: SandboxServer

    def handle_error(self, request, client_address):
        # A client that hung up mid-answer (a timeout test) is not a server error worth a traceback.
        import sys
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "psimport-sandbox/1"
    # Headers and body go out in two writes; with Nagle on, the body waits for a delayed ACK (~40 ms).
    disable_nagle_algorithm = True
    # Buffered: an answer's headers and body leave in one send (flushed after each request), not two,
    # which spares the client a wake-up and a read per request, and both sides a system call.
    wbufsize = 64 * 1024
    server: _HTTPServer

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        pass

    def parse_request(self) -> bool:
        """http.server's parse_request, with the header block read into a plain `RequestHeaders`: the stdlib hands
        each block of header lines to email's message parser, which cost more than the rest of reading a request
        (26 us of a create's 225 us). The request line, the limits, the errors and the Connection and Expect
        handling are the stdlib's (Python 3.11), only shorter."""
        self.command = None
        self.request_version = version = self.default_request_version
        self.close_connection = True
        self.requestline = requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        words = requestline.split()
        if not words:
            return False
        if len(words) >= 3:
            version = words[-1]
            try:
                if not version.startswith("HTTP/"):
                    raise ValueError
                numbers = version.split("/", 1)[1].split(".")
                if len(numbers) != 2 or not all(n.isdigit() and len(n) <= 10 for n in numbers):
                    raise ValueError
                version_number = int(numbers[0]), int(numbers[1])
            except (ValueError, IndexError):
                self.send_error(HTTPStatus.BAD_REQUEST, f"Bad request version ({version!r})")
                return False
            if version_number >= (1, 1) and self.protocol_version >= "HTTP/1.1":
                self.close_connection = False
            if version_number >= (2, 0):
                self.send_error(HTTPStatus.HTTP_VERSION_NOT_SUPPORTED, f"Invalid HTTP version ({version[5:]})")
                return False
            self.request_version = version
        if not 2 <= len(words) <= 3:
            self.send_error(HTTPStatus.BAD_REQUEST, f"Bad request syntax ({requestline!r})")
            return False
        command, path = words[:2]
        if len(words) == 2:
            self.close_connection = True
            if command != "GET":
                self.send_error(HTTPStatus.BAD_REQUEST, f"Bad HTTP/0.9 request type ({command!r})")
                return False
        self.command, self.path = command, ("/" + path.lstrip("/") if path.startswith("//") else path)
        try:
            self.headers = RequestHeaders.read(self.rfile)      # type: ignore[assignment]
        except http.client.LineTooLong as err:
            self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Line too long", str(err))
            return False
        except http.client.HTTPException as err:
            self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Too many headers", str(err))
            return False
        except ValueError as err:
            self.send_error(HTTPStatus.BAD_REQUEST, "Bad header line", str(err))
            return False
        connection = (self.headers.get("Connection") or "").lower()
        if connection == "close":
            self.close_connection = True
        elif connection == "keep-alive" and self.protocol_version >= "HTTP/1.1":
            self.close_connection = False
        expect = (self.headers.get("Expect") or "").lower()
        if expect == "100-continue" and self.protocol_version >= "HTTP/1.1" and self.request_version >= "HTTP/1.1":
            return self.handle_expect_100()
        return True

    def setup(self) -> None:
        # A socket timeout: a client that sends nothing (or less body than it promised) is dropped after
        # idle_seconds instead of holding a thread forever.
        self.timeout = self.server.sandbox.idle_seconds
        super().setup()

    def do_GET(self):
        self._serve("GET")

    def do_POST(self):
        self._serve("POST")

    def do_PUT(self):
        self._serve("PUT")

    def do_DELETE(self):
        self._serve("DELETE")

    def do_PATCH(self):
        self._serve("PATCH")

    def _serve(self, method: str) -> None:
        sandbox = self.server.sandbox
        started = time.perf_counter()
        parts = urlsplit(self.path)
        _CURRENT.path = parts.path
        _CURRENT.host = self.headers.get("Host")
        length = _content_length(self.headers.get("Content-Length"))
        if length is None:
            self.close_connection = True     # where its body ends is unknown: nothing after it can be read
            self._answer(Reply(400, {"error": "Content-Length must be a whole number of bytes"}), method, parts,
                         None, started)
            return
        if length > MAX_BODY_BYTES:
            self._answer(Reply(413, {"error": "Request body too large"}), method, parts, None, started)
            return
        body = self.rfile.read(length) if length else None
        faults = sandbox.faults
        if faults.latency:
            time.sleep(faults.latency)
        is_create = method == "POST" and _CREATE_ROUTE.fullmatch(parts.path) is not None
        fault = faults.draw(method, parts.path, is_create)
        if fault == "drop":
            self._drop(method, parts, fault)
            return
        if isinstance(fault, int):
            headers = {"Retry-After": _seconds_text(faults.retry_after)} if fault == 429 else {}
            message = {429: "Too many requests: slow down", 503: "Service temporarily unavailable"}.get(
                fault, HTTPStatus(fault).phrase)
            self._answer(Reply(fault, {"error": message}, headers), method, parts, fault, started)
            return
        try:
            reply = sandbox.dispatch(method, parts.path, parse_qs(parts.query, keep_blank_values=True),
                                     body, self.headers)
        except ApiProblem as problem:
            reply = Reply(problem.status, {"error": problem.message})
        if fault == "drop_after_commit":
            self._drop(method, parts, fault)
            return
        self._answer(reply, method, parts, fault, started, delay=faults.slow_seconds if fault == "slow" else 0)

    def _drop(self, method: str, parts, fault) -> None:
        self.server.sandbox.requests.append(RequestRecord(method, parts.path, parts.query, None, fault))
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _answer(self, reply: Reply, method: str, parts, fault, started: float, delay: float = 0) -> None:
        sandbox = self.server.sandbox
        sandbox.requests.append(RequestRecord(method, parts.path, parts.query, reply.status, fault))
        if delay:
            time.sleep(delay)
        payload = b"" if reply.status == 204 else dumps_exact(reply.body).encode("utf-8")
        try:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if reply.status != 204:
                self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if payload:
                self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        if sandbox.log:
            elapsed = (time.perf_counter() - started) * 1000
            sandbox.log(f"{method} {parts.path}{'?' + parts.query if parts.query else ''} → {reply.status} "
                        f"({elapsed:.0f} ms){' [fault ' + str(fault) + ']' if fault else ''}")


class RequestHeaders:
    """A request's header fields: `get(name)` is the first field of that name (any case), as email's message has it."""

    __slots__ = ("_fields",)

    def __init__(self, fields: list[tuple[str, str]]):
        self._fields = fields

    @classmethod
    def read(cls, stream) -> "RequestHeaders":
        """The header block from `stream`, up to and including its empty line; http.client's limits on a line's length
        and the number of lines. A line that is not `name: value` (nor a folded continuation) is a ValueError."""
        fields: list[tuple[str, str]] = []
        lines = 0
        max_line, max_headers = http.client._MAXLINE, http.client._MAXHEADERS  # type: ignore[attr-defined]
        while True:
            line = stream.readline(max_line + 1)
            if len(line) > max_line:
                raise http.client.LineTooLong("header line")
            lines += 1
            if lines > max_headers:
                raise http.client.HTTPException(f"got more than {max_headers} headers")
            if line in (b"\r\n", b"\n", b""):
                return cls(fields)
            text = line.decode("iso-8859-1").rstrip("\r\n")
            if text[0] in " \t" and fields:      # an obsolete folded line continues the field before it
                name, value = fields[-1]
                fields[-1] = (name, f"{value} {text.strip()}")
                continue
            name, colon, value = text.partition(":")
            if not colon or not name or name != name.strip():
                raise ValueError(f"not a header field: {text[:80]!r}")
            fields.append((name.lower(), value.strip(" \t")))

    def get(self, name: str, default: str | None = None) -> str | None:
        name = name.lower()
        for field_name, value in self._fields:
            if field_name == name:
                return value
        return default

    def __getitem__(self, name: str) -> str | None:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None


def _content_length(header: str | None) -> int | None:
    """The body's length from its header: 0 when there is none, None when it is not a whole number of bytes."""
    if header is None or not header.strip():
        return 0
    text = header.strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 19 else None


def _seconds_text(seconds: float) -> str:
    # Retry-After is whole seconds in the RFC; sub-second values keep tests fast and clients must cope.
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"
