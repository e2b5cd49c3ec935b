"""The PocketSmith API v2 client (httpx): auth, paging, retries, typed results, and a key that never leaks.

Retry policy, by what a failure can mean:

- 429 Too Many Requests is refused before PocketSmith does anything, so any request (a create
  too) waits `Retry-After` and is sent again. The writer can listen (`on_throttle`) or take the
  wait into its own hands (`wait_on_throttle=False` raises `RateLimited` with `.retry_after`).
- 503, and failures to connect at all (nothing was sent), are retried with jittered backoff.
- 500/502/504, timeouts and dropped connections are retried for reads, updates and deletes,
  which are safe to repeat. For a create they mean the transaction may or may not exist: the
  client raises `AmbiguousWrite` and never sends it again; the caller settles it by looking.
"""

from __future__ import annotations

import ipaddress
import logging
import random
import threading
import time
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Callable, Iterable
from urllib.parse import urlsplit

from importer.errors import AmbiguousWrite, ApiError, ConfigError
from importer.pocketsmith.models import (Category, PsTransaction, TransactionAccount, flatten_categories)
from importer.pocketsmith.wire import NotUsableJson, dumps_exact, loads_exact

if TYPE_CHECKING:
    import httpx

__all__ = ["PocketSmith", "RateLimited", "check_base_url", "KEY_HELP", "TRANSACTION_FIELDS"]

KEY_HELP = ("set POCKETSMITH_DEVELOPER_KEY to a developer key from PocketSmith (Settings > Security > "
            "Manage developer keys), or POCKETSMITH_ACCESS_TOKEN to an OAuth access token, or keep one with "
            "`psimport init`; or add --sandbox to try psimport against a local sandbox")

# The fields a transaction create or update may carry, and the Python types they take.
TRANSACTION_FIELDS: dict[str, tuple[type, ...]] = {
    "payee": (str,), "amount": (Decimal, int), "date": (date,), "memo": (str,), "note": (str,),
    "cheque_number": (str,), "labels": (list, tuple, str), "category_id": (int,), "needs_review": (bool,),
    "is_transfer": (bool,),
}

# PocketSmith documents no page size; community clients report 100 as the most it serves. The client
# asks for more (fewer round trips wherever it is served) and falls back to this when it is refused.
FALLBACK_PER_PAGE = 100

_URLS_KEPT = 256                         # parsed request URLs kept for reuse (see PocketSmith._url)
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}
_SAFE_STATUS_RETRY = {503}               # refused before anything happened: resend anything
_UNSAFE_STATUS_RETRY = {500, 502, 504}   # may have happened: resend only what is safe to repeat


class RateLimited(ApiError):
    """PocketSmith said 429 and the client was told not to wait (or the wait was too long)."""

    def __init__(self, message: str, retry_after: float, method: str | None = None, path: str | None = None):
        self.retry_after = retry_after
        super().__init__(message, status=429, method=method, path=path)


def _page_size_refused(exc: ApiError, asked: int) -> bool:
    """A 400 that names the page size, to a request asking more than the fallback: ask again with less."""
    text = str(exc).lower()
    return exc.status == 400 and asked > FALLBACK_PER_PAGE and ("per_page" in text or "per page" in text)


def check_base_url(url: str) -> str:
    """The API base URL, refused unless it is https (or plain http to this machine, for the sandbox)."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        raise ConfigError(f"the API URL must look like https://api.pocketsmith.com/v2, not {url!r}")
    if parts.scheme == "http" and not _is_loopback(host):
        raise ConfigError(f"https is required: refusing to send your PocketSmith key over plain http to {host}; "
                          "use an https:// API URL (plain http is allowed only to this machine, for a local "
                          "sandbox: localhost, 127.0.0.1 or ::1)")
    return url.strip().rstrip("/")


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@contextmanager
def _sync_httpx():
    """httpx loaded for a sync client, without its command line: httpx imports its command-line tool
    (pygments, rich), and while it loads `import httpx._main` fails as if those were absent, which httpx
    expects and handles; afterwards it imports normally. Only when this process has not loaded httpx yet: a
    program that already uses it keeps what it has.

    httpcore and h11 are not loaded at all (their import took about 115 ms, trio's 130 ms more where trio is
    installed): the client sends on connections of its own (`_Connection`); a transport handed to it, such
    as httpx.HTTPTransport, loads what it needs itself."""
    import sys
    absent = [name for name in ("httpx._main",) if "httpx" not in sys.modules and name not in sys.modules]
    for name in absent:
        sys.modules[name] = None     # type: ignore[assignment]  # `import name` raises ImportError
    try:
        import httpx
        yield httpx
    finally:
        for name in absent:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


def _tls_for(base_url: str):
    """What httpx verifies TLS with: certifi's CA bundle for https (httpx's default); for plain http to
    this machine (the sandbox), an SSL context that trusts no CA at all. No TLS happens there (redirects
    are not followed, every request goes to the base URL), and if one were attempted it would be
    refused, not accepted unverified; it spares loading the CA bundle, about 100 ms of start-up."""
    if urlsplit(base_url).scheme == "https":
        return True
    import ssl
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)     # verifies certificates and host names, trusts nothing


_SESSION_CLASS: "type[httpx.Client] | None" = None


def _session_class(httpx) -> "type[httpx.Client]":
    """httpx.Client without a cookie jar: PocketSmith's API is authenticated by the key alone and sets no
    cookies worth sending back, and httpx reads every response's headers into urllib's cookie machinery
    (a compatibility request and response built for each), about a tenth of the client's CPU a create.
    A Set-Cookie in an answer is simply not kept."""
    global _SESSION_CLASS
    if _SESSION_CLASS is None:
        class _NoCookies(httpx.Cookies):
            def extract_cookies(self, response) -> None:
                pass

        no_cookies = _NoCookies()

        class _Session(httpx.Client):
            @property
            def cookies(self):
                return no_cookies

            @cookies.setter
            def cookies(self, value) -> None:
                pass

        _SESSION_CLASS = _Session
    return _SESSION_CLASS


class _PerThreadTransport:
    """An httpx transport that gives each thread a kept-alive connection of its own (`_Connection`).

    The writer has up to 64 requests in flight from as many threads. In one shared httpcore pool every
    request scanned every connection, under the pool's lock, as it was queued, assigned and released (and
    polled each idle socket for expiry): at 32 in flight that was most of the client's CPU per create
    (benchmarks/import_speed.py). A thread sends one request at a time, so one connection of its own serves
    it and each request costs the same whatever the concurrency. A connection whose thread has ended (a
    batch's worker pool shut down) is handed to the next new thread, still open, so the connections number
    at most the threads alive at once."""

    def __init__(self, httpx, verify):
        if verify is True:
            # Loaded once, not once a thread: certifi's bundle, as httpx would load it.
            verify = httpx.create_ssl_context(verify=True, trust_env=False)
        verify.set_alpn_protocols(["http/1.1"])
        self._make = lambda: _Connection(httpx, verify)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._owners: list[tuple[threading.Thread, _Connection]] = []

    def _transport(self):
        transport = getattr(self._local, "transport", None)
        if transport is None:
            me = threading.current_thread()
            with self._lock:
                for i, (owner, spare) in enumerate(self._owners):
                    if not owner.is_alive():
                        self._owners[i] = (me, spare)
                        transport = spare
                        break
                else:
                    transport = self._make()
                    self._owners.append((me, transport))
            self._local.transport = transport
        return transport

    def handle_request(self, request):
        return self._transport().handle_request(request)

    def close(self) -> None:
        with self._lock:
            owners, self._owners = self._owners, []
        for _, transport in owners:
            transport.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


_MAX_LINE = 65536          # a status or header line longer than this is not HTTP worth reading
_MAX_HEADERS = 100


class _NotHttp(Exception):
    """The server's answer is not HTTP/1.1 the connection can go on with."""


class _Connection:
    """One HTTP/1.1 connection, kept alive from request to request: the transport a thread's requests go through
    (see _PerThreadTransport), in place of httpx's own (httpcore's pool and h11's state machine).

    A thread sends one request at a time and waits for its answer, so it needs no pool, no connection states and
    no events: the request leaves in one write, the answer is read in full, and the connection is kept when the
    server keeps it. httpcore and h11 cost about half of the client's CPU a create for that generality (the
    pool's locks and events, h11's event objects and header validation, in pure Python). What they guarantee and
    the retry policy relies on is kept: an idle connection the server has closed is noticed before a request
    is sent on it, and each failure is the httpx exception httpcore raises (ConnectError and ConnectTimeout
    while connecting, nothing sent; WriteError, WriteTimeout, ReadError, ReadTimeout and RemoteProtocolError
    after that). Only what httpx hands a transport is read: the request's method, URL, headers (Host and
    Content-Length among them) and content; the answer's body leaves decoded of chunking and as sent otherwise
    (httpx's Response undoes a Content-Encoding)."""

    def __init__(self, httpx, ssl_context):
        self._httpx = httpx
        self._ssl_context = ssl_context
        self._socket: Any = None
        self._reader: Any = None
        self._origin: tuple[bytes, str, int] | None = None

    def handle_request(self, request):
        import socket
        httpx = self._httpx
        timeouts = request.extensions.get("timeout", {})
        url = request.url
        origin = (url.raw_scheme, url.host, url.port or (443 if url.raw_scheme == b"https" else 80))
        if self._socket is not None and (origin != self._origin or self._closed_by_server()):
            self.close()
        if self._socket is None:
            self._connect(origin, timeouts.get("connect"), request)
        assert self._socket is not None
        head = [request.method.encode("ascii"), b" ", url.raw_path, b" HTTP/1.1\r\n"]
        for name, value in request.headers.raw:
            head += [name, b": ", value, b"\r\n"]
        head.append(b"\r\n")
        try:
            self._socket.settimeout(timeouts.get("write"))
            self._socket.sendall(b"".join(head) + request.content)
        except socket.timeout:
            self.close()
            raise httpx.WriteTimeout("timed out sending the request", request=request) from None
        except OSError as exc:
            self.close()
            raise httpx.WriteError(str(exc) or type(exc).__name__, request=request) from None
        try:
            self._socket.settimeout(timeouts.get("read"))
            status, reason, headers, body, keep = self._read_answer(request.method)
        except socket.timeout:
            self.close()
            raise httpx.ReadTimeout("timed out waiting for the answer", request=request) from None
        except _NotHttp as exc:
            self.close()
            raise httpx.RemoteProtocolError(str(exc), request=request) from None
        except OSError as exc:
            self.close()
            raise httpx.ReadError(str(exc) or type(exc).__name__, request=request) from None
        if not keep:
            self.close()
        return httpx.Response(status, headers=headers, content=body,
                              extensions={"http_version": b"HTTP/1.1", "reason_phrase": reason})

    def _connect(self, origin: tuple[bytes, str, int], timeout: float | None, request) -> None:
        import socket
        httpx = self._httpx
        scheme, host, port = origin
        try:
            connection = socket.create_connection((host, port), timeout)
        except socket.timeout:
            raise httpx.ConnectTimeout(f"timed out connecting to {host}:{port}", request=request) from None
        except OSError as exc:
            raise httpx.ConnectError(str(exc) or type(exc).__name__, request=request) from None
        try:
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if scheme == b"https":
                connection.settimeout(timeout)
                connection = self._ssl_context.wrap_socket(connection, server_hostname=host)
        except socket.timeout:
            connection.close()
            raise httpx.ConnectTimeout(f"timed out in the TLS handshake with {host}", request=request) from None
        except OSError as exc:          # ssl.SSLError among them: a certificate refused
            connection.close()
            raise httpx.ConnectError(str(exc) or type(exc).__name__, request=request) from None
        self._socket, self._origin = connection, origin
        self._reader = connection.makefile("rb")

    def _closed_by_server(self) -> bool:
        """Whether the idle connection has something to read: the server's close (or bytes nobody asked for),
        so no request may be sent on it; as httpcore checks a kept-alive connection before reusing it."""
        import select
        assert self._socket is not None
        if getattr(self._socket, "pending", None) and self._socket.pending():     # TLS bytes already decrypted
            return True
        try:
            if hasattr(select, "poll"):                  # any descriptor number, unlike select()
                poller = select.poll()
                poller.register(self._socket, select.POLLIN)
                return bool(poller.poll(0))
            return bool(select.select([self._socket], [], [], 0)[0])
        except (OSError, ValueError):
            return True

    def _line(self) -> bytes:
        line = self._reader.readline(_MAX_LINE + 1)
        if len(line) > _MAX_LINE:
            raise _NotHttp("the server sent a line too long to be HTTP")
        return line

    def _read_answer(self, method: str) -> tuple[int, bytes, list[tuple[bytes, bytes]], bytes, bool]:
        while True:
            line = self._line()
            if not line:
                raise _NotHttp("Server disconnected without sending a response.")
            version, _, rest = line.rstrip(b"\r\n").partition(b" ")
            code, _, reason = rest.partition(b" ")
            if version not in (b"HTTP/1.1", b"HTTP/1.0") or len(code) != 3 or not code.isdigit():
                raise _NotHttp(f"the server's answer does not start with an HTTP status line: {line[:60]!r}")
            status = int(code)
            headers = self._headers()
            if not 100 <= status < 200:
                break            # 1xx (100 Continue, 103 Early Hints) are followed by the answer itself
        fields = {name.lower(): value for name, value in reversed(headers)}
        connection = fields.get(b"connection", b"").lower()
        keep = connection != b"close" if version == b"HTTP/1.1" else connection == b"keep-alive"
        if method == "HEAD" or status in (204, 304):
            return status, reason, headers, b"", keep
        if b"chunked" in fields.get(b"transfer-encoding", b"").lower():
            return status, reason, headers, self._chunked(), keep
        lengths = {value.strip() for name, value in headers if name.lower() == b"content-length"}
        if len(lengths) > 1:       # which body is this answer's cannot be told: h11 refuses it too
            raise _NotHttp(f"the server sent {len(lengths)} different Content-Length headers")
        length = fields.get(b"content-length")
        if length is None:
            return status, reason, headers, self._reader.read(), False      # the body ends with the connection
        if not length.strip().isdigit():
            raise _NotHttp(f"the server sent a Content-Length that is not a number: {length[:40]!r}")
        return status, reason, headers, self._exactly(int(length)), keep

    def _headers(self) -> list[tuple[bytes, bytes]]:
        headers: list[tuple[bytes, bytes]] = []
        while True:
            line = self._line()
            if line in (b"\r\n", b"\n"):
                return headers
            if not line:
                raise _NotHttp("Server disconnected in the middle of the answer's headers.")
            if len(headers) >= _MAX_HEADERS:
                raise _NotHttp(f"the server sent more than {_MAX_HEADERS} header fields")
            if line[:1] in (b" ", b"\t") and headers:        # an obsolete folded line continues the field
                name, value = headers[-1]
                headers[-1] = (name, value + b" " + line.strip())
                continue
            name, colon, value = line.partition(b":")
            if not colon or not name or name != name.strip():
                raise _NotHttp(f"the server sent a header line that is not a field: {line[:60]!r}")
            headers.append((name, value.strip(b" \t\r\n")))

    def _exactly(self, size: int) -> bytes:
        body = self._reader.read(size)
        if len(body) != size:
            raise _NotHttp("Server disconnected in the middle of the answer's body.")
        return body

    def _chunked(self) -> bytes:
        parts: list[bytes] = []
        while True:
            size_text = self._line().split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise _NotHttp(f"the server sent a chunk size that is not a number: {size_text[:20]!r}") from None
            if size == 0:
                self._headers()              # the trailer, up to its empty line
                return b"".join(parts)
            parts.append(self._exactly(size))
            if self._line() not in (b"\r\n", b"\n"):
                raise _NotHttp("the server's chunk is not followed by a line end")

    def close(self) -> None:
        if self._socket is not None:
            reader, connection = self._reader, self._socket
            self._socket = self._reader = self._origin = None
            try:
                reader.close()
                connection.close()
            except OSError:
                pass


class _Secret:
    """Holds the key (or headers carrying it); its repr and str never show it."""

    __slots__ = ("_value",)

    def __init__(self, value: Any):
        self._value = value

    def reveal(self) -> Any:
        return self._value

    def __repr__(self) -> str:
        return "<redacted>"

    __str__ = __repr__

    def __reduce__(self):
        raise TypeError("the PocketSmith key cannot be pickled")


def _clean_key(value: str, name: str) -> str:
    value = value.strip()
    if not value or any(ch.isspace() or not ch.isprintable() or ord(ch) > 126 for ch in value):
        # Never echo it: say only what is wrong with it.
        raise ConfigError(f"{name} contains characters a PocketSmith key cannot have (spaces, line breaks or "
                          "non-ASCII); copy the key again")
    return value


class PocketSmith:
    """A PocketSmith API v2 client. Thread-safe: the writer creates transactions from several threads.

    Give either a developer key (sent as `X-Developer-Key`) or an OAuth `bearer_token`.
    `log` (a callable taking a line, or a logging.Logger) receives one line per request:
    method, path, status and time, with the key redacted. `on_throttle(retry_after)` is called
    on every 429; with `wait_on_throttle=False` a 429 raises `RateLimited` instead of waiting.
    It is the `importer.pocketsmith.protocol.Client` the pipeline and the writer use.
    """

    offline = False     # categories come from PocketSmith itself: unknown ones stop a run

    def __init__(self, base_url: str, developer_key: str | None = None, *, bearer_token: str | None = None,
                 transport: "httpx.BaseTransport | None" = None, timeout: float = 30, max_tries: int = 5,
                 log: Callable[[str], Any] | logging.Logger | None = None, backoff: float = 0.5,
                 max_backoff: float = 30.0, per_page: int = 1000, wait_on_throttle: bool = True,
                 on_throttle: Callable[[float], Any] | None = None, max_throttle_waits: int = 50,
                 max_retry_after: float = 300.0, sleep: Callable[[float], Any] = time.sleep):
        self.base_url = check_base_url(base_url)
        if (developer_key is None) == (bearer_token is None):
            raise ConfigError("give PocketSmith either a developer key or a bearer token: " + KEY_HELP)
        if developer_key is not None:
            self._auth_header = ("X-Developer-Key", _Secret(_clean_key(developer_key, "the developer key")))
        else:
            token = _clean_key(bearer_token or "", "the access token")
            self._auth_header = ("Authorization", _Secret(f"Bearer {token}"))
        self._bare_secret = _Secret(_clean_key(developer_key or bearer_token or "", "the key"))
        self.auth_kind = "developer key" if developer_key is not None else "bearer token"
        self.timeout = timeout
        self.max_tries = max(1, max_tries)
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.per_page = per_page
        self.wait_on_throttle = wait_on_throttle
        self.on_throttle = on_throttle
        self.max_throttle_waits = max_throttle_waits
        self.max_retry_after = max_retry_after
        self._sleep = sleep
        self._log = log
        self._random = random.Random()
        self._lock = threading.Lock()
        self._user_id: int | None = None
        self._origin = "{0.scheme}://{0.netloc}".format(urlsplit(self.base_url))
        self._urls: dict[str, "httpx.URL"] = {}

        with _sync_httpx() as httpx:
            self._httpx = httpx
            if transport is None:
                transport = _PerThreadTransport(httpx, _tls_for(self.base_url))
            self._http = _session_class(httpx)(
                base_url=self.base_url + "/", transport=transport, timeout=httpx.Timeout(timeout),
                headers={"Accept": "application/json", "User-Agent": "psimport (pocketsmith-importer)"},
                follow_redirects=False, trust_env=False)
        # Every request's headers, merged once: the client's own (Accept, User-Agent, httpx's Accept-Encoding...),
        # the key's, and for a body its type. httpx's build_request merges and validates them anew each request.
        name, secret = self._auth_header
        plain = httpx.Headers(self._http.headers)
        plain[name] = secret.reveal()
        with_body = httpx.Headers(plain)
        with_body["Content-Type"] = "application/json"
        self._headers = (_Secret(plain), _Secret(with_body))
        self._timeouts = self._http.timeout.as_dict()

    @classmethod
    def from_env(cls, base_url: str, log=None, **options) -> "PocketSmith":
        """A client with the key the commands use: POCKETSMITH_DEVELOPER_KEY (or an OAuth
        POCKETSMITH_ACCESS_TOKEN), else the one `psimport init` stored for this URL (keyring, key file).

        An OAuth token may also be given as POCKETSMITH_DEVELOPER_KEY="Bearer TOKEN" (the contract:
        the key variable takes OAuth bearer tokens too; README, "Configuration").
        """
        from importer.credentials import find_key
        check_base_url(base_url)  # refuse a bad URL before even looking for the key
        found = find_key(base_url)
        if found is None:
            from importer.credentials import kept_key_urls
            kept = [url for url in kept_key_urls() if url != base_url.rstrip("/")]
            if kept:
                # Keys are kept per API URL: a key kept for another one most often means this URL is mistyped.
                raise ConfigError(f"no PocketSmith key kept for {base_url}; keys are kept for: {', '.join(kept)}. "
                                  "Is --api-url right (it ends in /v2)? Or keep a key for this one with "
                                  "`psimport init --api-url URL`")
            raise ConfigError("no PocketSmith key: " + KEY_HELP)
        name = found.source.removeprefix("environment ")
        if found.bearer:
            return cls(base_url, bearer_token=_clean_key(found.key, name), log=log, **options)
        return cls(base_url, _clean_key(found.key, name), log=log, **options)

    def __repr__(self) -> str:
        return f"PocketSmith({self.base_url!r}, auth={self.auth_kind!r})"

    def __reduce__(self):
        raise TypeError("a PocketSmith client holds a key and cannot be pickled")

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "PocketSmith":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ─── the calls ────────────────────────────────────────────────────────────────────────────

    def me(self) -> dict:
        """The authorised user (`GET /me`)."""
        return self._json(self._send("GET", "me", doing="reading your PocketSmith user"))

    @property
    def user_id(self) -> int:
        with self._lock:
            if self._user_id is None:
                self._user_id = int(self.me()["id"])
            return self._user_id

    def transaction_accounts(self) -> list[TransactionAccount]:
        rows = self._get_all(f"users/{self.user_id}/transaction_accounts", doing="listing your transaction accounts")
        return [TransactionAccount.from_api(r) for r in rows]

    def transaction_account(self, id: int) -> TransactionAccount:
        data = self._json(self._send("GET", f"transaction_accounts/{int(id)}",
                                     doing=f"reading transaction account {id}"))
        return TransactionAccount.from_api(data)

    def transactions(self, account_id: int, start_date: date | None = None, end_date: date | None = None, *,
                     updated_since=None, type: str | None = None, search: str | None = None,
                     uncategorised: bool = False, needs_review: bool = False) -> list[PsTransaction]:
        """Every transaction of one transaction account that matches, across all pages.

        The API wants start_date and end_date together: one without the other is widened to
        the whole past or an open future.
        """
        params: dict[str, Any] = {}
        if start_date is not None or end_date is not None:
            params["start_date"] = (start_date or date(1970, 1, 1)).isoformat()
            params["end_date"] = (end_date or date(date.today().year + 10, 12, 31)).isoformat()
        if updated_since is not None:
            params["updated_since"] = updated_since.isoformat() if hasattr(updated_since, "isoformat") \
                else str(updated_since)
        if type is not None:
            if type not in ("debit", "credit"):
                raise ValueError("type is 'debit' or 'credit'")
            params["type"] = type
        if search:
            params["search"] = search
        if uncategorised:
            params["uncategorised"] = 1
        if needs_review:
            params["needs_review"] = 1
        rows = self._get_all(f"transaction_accounts/{int(account_id)}/transactions", params,
                             doing=f"listing transactions of transaction account {account_id}")
        return [PsTransaction.from_api(r) for r in rows]

    def user_transactions(self, start_date: date, end_date: date) -> list[PsTransaction]:
        """Every transaction in all the user's accounts between the dates: one paged listing instead of one
        per account (transfers look for their other side across accounts)."""
        rows = self._get_all(f"users/{self.user_id}/transactions",
                             {"start_date": start_date.isoformat(), "end_date": end_date.isoformat()},
                             doing="listing your transactions")
        return [PsTransaction.from_api(r) for r in rows]

    def get_transaction(self, id: int) -> PsTransaction:
        return PsTransaction.from_api(self._json(self._send("GET", f"transactions/{int(id)}",
                                                            doing=f"reading transaction {id}")))

    def create_transaction(self, account_id: int, body: dict) -> PsTransaction:
        """Create one transaction. Raises AmbiguousWrite when it may or may not have been created.

        `body`: payee, amount (Decimal), date (date) required; memo, note, cheque_number,
        labels (list of str, sent comma-separated), category_id, needs_review, is_transfer.
        """
        payload = transaction_body(body, create=True)
        response = self._send("POST", f"transaction_accounts/{int(account_id)}/transactions", payload,
                              create=True, doing=f"creating a transaction in transaction account {account_id}")
        return PsTransaction.from_api(self._json(response))

    def find_transactions(self, account_id: int, on: date, amount: Decimal | None = None,
                          payee: str | None = None, window_days: int = 0) -> list[PsTransaction]:
        """Transactions on a date (± window) with this amount and payee: a look for an unanswered create.

        The writer settles its own unknown outcomes with writer.settle_unknown, which also keeps
        identical rows apart and leaves out transactions other journal rows already claim.
        """
        from datetime import timedelta
        found = self.transactions(account_id, on - timedelta(days=window_days), on + timedelta(days=window_days))
        return [t for t in found if (amount is None or t.amount == amount)
                and (payee is None or payee in (t.payee, t.original_payee))]

    def update_transaction(self, id: int, body: dict) -> PsTransaction:
        payload = transaction_body(body, create=False)
        data = self._json(self._send("PUT", f"transactions/{int(id)}", payload, doing=f"updating transaction {id}"))
        if isinstance(data, dict) and isinstance(data.get("transaction"), dict):
            data = data["transaction"]
        return PsTransaction.from_api(data)

    def delete_transaction(self, id: int) -> None:
        self._send("DELETE", f"transactions/{int(id)}", doing=f"deleting transaction {id}", idempotent_delete=True)

    def categories(self) -> list[Category]:
        """Every category, flattened from the API's tree, each with its `Parent > Child` path."""
        tree = self._get_all(f"users/{self.user_id}/categories", doing="listing your categories")
        return flatten_categories(tree)

    def create_category(self, title: str, parent_id: int | None = None) -> Category:
        body: dict[str, Any] = {"title": title}
        if parent_id is not None:
            body["parent_id"] = int(parent_id)
        data = self._json(self._send("POST", f"users/{self.user_id}/categories", body, create=True,
                                     doing=f"creating the category {title!r}"))
        path = None
        if parent_id is not None:
            parent = next((c for c in self.categories() if c.id == int(parent_id)), None)
            path = f"{parent.path} > {data.get('title') or title}" if parent else None
        return Category.from_api(data, path)

    def labels(self) -> list[str]:
        return [str(label) for label in self._get_all(f"users/{self.user_id}/labels", doing="listing your labels")]

    def category_rules(self) -> list[dict]:
        """PocketSmith's own category rules: each with `category` (id, title...) and `payee_matches`."""
        return self._get_all(f"users/{self.user_id}/category_rules", doing="listing your category rules")

    def create_category_rule(self, category_id: int, payee_matches: str) -> dict:
        body = {"category_id": int(category_id), "payee_matches": payee_matches}
        return self._json(self._send("POST", f"categories/{int(category_id)}/category_rules", body, create=True,
                                     doing=f"creating a category rule for category {category_id}"))

    # ─── transport ────────────────────────────────────────────────────────────────────────────

    def _get_all(self, path: str, params: dict | None = None, *, doing: str) -> list:
        """Follow `Link: rel="next"` to the end; ask for big pages, never trust that we got them."""
        query = dict(params or {})
        query["per_page"] = self.per_page
        url: str = path
        seen: set[str] = set()
        items: list = []
        while True:
            try:
                response = self._send("GET", url, params=query, doing=doing)
            except ApiError as exc:
                if not (query and _page_size_refused(exc, query["per_page"])):
                    raise
                # PocketSmith documents no per_page; a server that refuses the size asked for gets the
                # most it is known to serve, for this list and every later one of this client.
                self.per_page = query["per_page"] = FALLBACK_PER_PAGE
                continue
            page = self._json(response)
            if not isinstance(page, list):
                raise ApiError(f"PocketSmith answered {doing} with something that is not a list",
                               status=response.status_code, method="GET", path=self._path_of(response))
            items.extend(page)
            next_url = (response.links.get("next") or {}).get("url")
            if not next_url or next_url in seen:
                break
            if not next_url.startswith(self._origin + "/"):
                # The key goes with every request: never follow a link off to another host.
                raise ApiError(f"PocketSmith's next-page link points away from {self._origin}; stopped {doing}",
                               method="GET", path=self._path_of(response))
            seen.add(next_url)
            url, query = next_url, None
        return _unique_by_id(items)

    def _send(self, method: str, url: str, body: dict | None = None, *, params: dict | None = None,
              create: bool = False, idempotent_delete: bool = False, doing: str):
        """One logical request, with the retry policy in the module docstring."""
        httpx = self._httpx
        content = dumps_exact(body).encode("utf-8") if body is not None else None
        headers = self._headers[content is not None].reveal()
        tries = 0
        throttled = 0
        uncertain = False   # an earlier attempt of this request may have reached the server
        while True:
            tries += 1
            started = time.perf_counter()
            # What httpx's build_request makes, from what is merged already: the absolute URL, every header, the
            # client's timeouts.
            request = httpx.Request(method, self._url(url), params=params, content=content, headers=headers,
                                    extensions={"timeout": self._timeouts})
            path = request.url.raw_path.decode("ascii", "replace")
            try:
                response = self._http.send(request)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                # Nothing reached PocketSmith: safe to try again, even for a create.
                self._note(method, path, f"not sent ({type(exc).__name__})", started)
                if tries >= self.max_tries:
                    raise ApiError(f"cannot reach PocketSmith at {self.base_url} while {doing} "
                                   f"({self._redact(str(exc)) or type(exc).__name__}) after {tries} tries; "
                                   f"{self._unreachable_hint()}", method=method, path=path) from None
                self._backoff(tries)
                continue
            except httpx.TransportError as exc:
                what = "timed out" if isinstance(exc, httpx.TimeoutException) else "connection dropped"
                self._note(method, path, what, started)
                if create:
                    raise _ambiguous(f"{what} while {doing}: it may or may not have been created", method, path,
                                     body) from None
                uncertain = True
                if tries >= self.max_tries:
                    raise ApiError(f"PocketSmith {what} while {doing}, {tries} times; try again later",
                                   method=method, path=path) from None
                self._backoff(tries)
                continue
            self._note(method, path, str(response.status_code), started)
            status = response.status_code
            if status < 300:
                return response
            if status == 429:
                retry_after = _retry_after(response.headers.get("Retry-After"))
                throttled += 1
                tries -= 1  # a 429 is a wait, not a failed try
                if self.on_throttle is not None:
                    self.on_throttle(retry_after)
                if not self.wait_on_throttle or throttled > self.max_throttle_waits \
                        or retry_after > self.max_retry_after:
                    raise RateLimited(f"PocketSmith is rate-limiting requests (asked to wait {retry_after:g} s) "
                                      f"while {doing}; try again later", retry_after, method, path)
                self._sleep(retry_after)
                continue
            if status == 404 and idempotent_delete and uncertain:
                return response  # the earlier, unanswered attempt did delete it
            retry = status in _SAFE_STATUS_RETRY or (status in _UNSAFE_STATUS_RETRY and not create)
            if status in _UNSAFE_STATUS_RETRY and create:
                raise _ambiguous(f"PocketSmith failed with {status} while {doing}: it may or may not have been "
                                 f"created", method, path, body, status)
            if retry and tries < self.max_tries:
                uncertain = uncertain or status in _UNSAFE_STATUS_RETRY
                retry_after = response.headers.get("Retry-After")
                self._backoff(tries, _retry_after(retry_after) if retry_after else None)
                continue
            raise self._refusal(response, method, path, doing, tries)

    def _url(self, path: str) -> "httpx.URL":
        """The absolute URL of a path (or of an absolute link) without a query, parsed once: httpx parses a
        relative one twice a request (as given, then joined to the base URL), a fifth of a create's CPU."""
        url = self._urls.get(path)
        if url is None:
            url = self._httpx.URL(path if "://" in path else f"{self.base_url}/{path}")
            if len(self._urls) < _URLS_KEPT:        # the few paths every create and listing use, not every id
                self._urls[path] = url
        return url

    def _unreachable_hint(self) -> str:
        """What to check when nothing answers at the URL: the URL itself, and for a local one, its server."""
        if urlsplit(self.base_url).hostname in ("127.0.0.1", "localhost", "::1"):
            return ("is the sandbox server running (psimport sandbox), and is --api-url the URL it printed "
                    "(ending in /v2)?")
        return "check the network, and --api-url (PocketSmith's is https://api.pocketsmith.com/v2)"

    def _refusal(self, response, method: str, path: str, doing: str, tries: int) -> ApiError:
        status = response.status_code
        message = self._error_message(response)
        if status == 401:
            text = f"PocketSmith did not accept the {self.auth_kind} (401 Unauthorized) while {doing}: " + KEY_HELP
        elif status == 403:
            text = f"PocketSmith refused access (403) while {doing}: {message}"
        elif status == 404:
            text = f"not found in PocketSmith (404) while {doing}: {message}"
            if path.rstrip("/").endswith("/me"):
                # Every API has /me: its 404 means the base URL is wrong, most often without /v2.
                text += f"; is the API URL right ({self.base_url})? It usually ends in /v2"
        elif status == 422:
            text = f"PocketSmith rejected the data (422) while {doing}: {message}"
        elif status >= 500:
            text = f"PocketSmith failed ({status}) while {doing}, {tries} times: {message}; try again later"
        else:
            text = f"PocketSmith answered {status} while {doing}: {message}"
        return ApiError(self._redact(text), status=status, method=method, path=path)

    def _error_message(self, response) -> str:
        try:
            data = loads_exact(response.content)
            message = data.get("error") if isinstance(data, dict) else None
        except ValueError:
            message = None
        if not message:
            message = response.reason_phrase or "no explanation given"
        return self._redact(str(message))[:500]

    def _json(self, response) -> Any:
        if response.status_code == 204 or not response.content:
            return None
        try:
            return loads_exact(response.content)
        except NotUsableJson as exc:
            raise ApiError(f"PocketSmith answered with JSON psimport will not read: {exc}",
                           status=response.status_code, path=self._path_of(response)) from None
        except ValueError:
            raise ApiError("PocketSmith answered with something that is not JSON", status=response.status_code,
                           path=self._path_of(response)) from None

    @staticmethod
    def _path_of(response) -> str:
        return response.request.url.raw_path.decode("ascii", "replace")

    def _backoff(self, tries: int, at_least: float | None = None) -> None:
        ceiling = min(self.max_backoff, self.backoff * (2 ** (tries - 1)))
        delay = ceiling / 2 + self._random.uniform(0, ceiling / 2)
        self._sleep(max(delay, at_least or 0))

    def _redact(self, text: str) -> str:
        secret = self._bare_secret.reveal()
        return text.replace(secret, "[redacted]") if secret else text

    def _note(self, method: str, path: str, outcome: str, started: float) -> None:
        if self._log is None:
            return
        elapsed = (time.perf_counter() - started) * 1000
        line = self._redact(f"{method} {path} → {outcome} ({elapsed:.0f} ms)")
        if isinstance(self._log, logging.Logger):
            self._log.info(line)
        else:
            self._log(line)


def transaction_body(body: dict, create: bool) -> dict:
    """The JSON body for a transaction create/update: labels comma-separated, dates ISO, money exact."""
    unknown = set(body) - set(TRANSACTION_FIELDS)
    if unknown:
        raise TypeError(f"unknown transaction fields: {', '.join(sorted(unknown))}")
    if create:
        missing = [k for k in ("payee", "amount", "date") if body.get(k) in (None, "")]
        if missing:
            raise TypeError(f"a transaction needs {', '.join(missing)}")
    out: dict[str, Any] = {}
    for key, value in body.items():
        if value is None:
            if key == "category_id" and not create:
                out[key] = ""   # the documented way to uncategorise
            continue
        if isinstance(value, float) or (isinstance(value, bool) and key not in ("needs_review", "is_transfer")):
            raise TypeError(f"{key} must not be {type(value).__name__}")
        if not isinstance(value, TRANSACTION_FIELDS[key]):
            raise TypeError(f"{key} must be {' or '.join(t.__name__ for t in TRANSACTION_FIELDS[key])}")
        if key == "date":
            out[key] = value.isoformat()
        elif key == "amount":
            out[key] = Decimal(value)
        elif key == "labels":
            labels = [value] if isinstance(value, str) else list(value)
            for label in labels:
                if "," in label:
                    raise ConfigError(f"the label {label!r} contains a comma, which PocketSmith uses to "
                                      "separate labels")
            out[key] = ",".join(label.strip() for label in labels if label.strip())
        else:
            out[key] = value
    return out


def _ambiguous(message: str, method: str, path: str, body: dict | None, status: int | None = None) -> AmbiguousWrite:
    error = AmbiguousWrite(message + "; look it up before sending it again", status=status, method=method, path=path)
    error.body = body
    return error


def _retry_after(value: str | None) -> float:
    """Retry-After as seconds: a number, or an HTTP date; missing or unreadable means one second."""
    if not value:
        return 1.0
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime
    from datetime import datetime, timezone
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return 1.0
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return max(0.0, (moment - datetime.now(timezone.utc)).total_seconds())


def _unique_by_id(items: Iterable[Any]) -> list:
    # Pages can shift while we walk them (a create lands mid-way): never return one object twice.
    seen: set = set()
    out = []
    for item in items:
        key = item.get("id") if isinstance(item, dict) else None
        if key is not None:
            if key in seen:
                continue
            seen.add(key)
        out.append(item)
    return out
