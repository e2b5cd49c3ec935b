"""Shared fixtures: a real sandbox server on 127.0.0.1 (fresh SQLite per test) and a real client pointed at it.

`sandbox` has the demo household's accounts (510001 everyday, 510002 Visa, 510003 saver),
categories and rules but no transactions; `demo_sandbox` adds the bank-feed history that
overlaps sample_statements/; `make_sandbox(seed=..., faults=..., ...)` builds others. Each
handle has `.url`, `.key`, `.faults` (change them mid-test), `.db_path`, `.requests` (what the
server saw), `.transactions(account_id=None)` (the stored rows, Decimal amounts) and
`.client(**options)`.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from importer.pocketsmith.client import PocketSmith
from importer.sandbox.server import Faults, SandboxServer

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"


class SandboxHandle:
    """A running sandbox, as tests see it."""

    def __init__(self, server: SandboxServer, key: str, db_path: Path):
        self.server = server
        self.key = key
        self.db_path = db_path
        self._clients: list[PocketSmith] = []

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def faults(self) -> Faults:
        return self.server.faults

    @faults.setter
    def faults(self, value: Faults) -> None:
        self.server.faults = value

    @property
    def store(self):
        return self.server.store

    @property
    def user_id(self) -> int:
        return self.server.user_id

    @property
    def requests(self):
        return self.server.requests

    def transactions(self, account_id: int | None = None) -> list[dict]:
        """What the sandbox holds, read from SQLite directly (oldest first; Decimal amounts, date dates)."""
        return self.server.store.stored_transactions(account_id)

    def client(self, **options) -> PocketSmith:
        """A real client for this sandbox; fast retries unless told otherwise. Closed after the test."""
        options.setdefault("timeout", 5)
        options.setdefault("backoff", 0.005)
        options.setdefault("max_backoff", 0.05)
        made = PocketSmith(self.url, self.key, **options)
        self._clients.append(made)
        return made

    def close(self) -> None:
        for made in self._clients:
            made.close()
        self.server.stop()


@pytest.fixture
def make_sandbox(tmp_path):
    """Factory: make_sandbox(seed="accounts"|"demo"|"empty", faults=Faults(...), key=..., **server options)."""
    handles: list[SandboxHandle] = []

    def make(seed: str = "accounts", faults: Faults | None = None, key: str | None = None,
             **options) -> SandboxHandle:
        key = key or f"sk-test-{secrets.token_hex(12)}"
        db_path = tmp_path / f"sandbox-{len(handles)}.sqlite3"
        server = SandboxServer(db_path, key=key, seed=seed, faults=faults or Faults(), **options).start()
        handle = SandboxHandle(server, key, db_path)
        handles.append(handle)
        return handle

    yield make
    for handle in handles:
        handle.close()


@pytest.fixture
def sandbox(make_sandbox, request):
    """A fresh sandbox; parametrize indirectly with "demo", "accounts" or "empty" to choose its seed."""
    return make_sandbox(seed=getattr(request, "param", "accounts"))


@pytest.fixture
def demo_sandbox(make_sandbox):
    return make_sandbox(seed="demo")


@pytest.fixture
def client(sandbox):
    """A real PocketSmith client talking HTTP to `sandbox`."""
    return sandbox.client()
