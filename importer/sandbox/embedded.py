"""The sandboxes psimport starts itself: embedded behind `--sandbox` (one per state dir, demo-seeded), or for `psimport sandbox`."""

from __future__ import annotations

import os
import secrets
import threading
from pathlib import Path

from importer.config import make_private_dir
from importer.write.journal import state_file_problems
from importer.errors import ConfigError
from importer.sandbox.server import Faults, SandboxServer

__all__ = ["sandbox_dir", "sandbox_key", "embedded_sandbox", "foreground_sandbox", "serving_demo",
           "demo_server_url"]

SERVING_FILE = "serving"     # the URL `psimport sandbox` serves the demo's database at, while it runs

_lock = threading.Lock()
_running: dict[Path, SandboxServer] = {}


def sandbox_dir(state_dir: Path) -> Path:
    """Where the sandbox keeps its SQLite file and key: apart from the journal, under the state dir."""
    return Path(state_dir) / "sandbox"


def sandbox_key(state_dir: Path) -> str:
    """The sandbox's developer key, made once and kept beside its database (it opens only the sandbox)."""
    directory = make_private_dir(sandbox_dir(state_dir), "the sandbox's folder")
    path = directory / "key"
    if path.is_file():
        key = path.read_text(encoding="ascii").strip()
        if key:
            return key
    key = f"sandbox-{secrets.token_urlsafe(18)}"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    return key


def embedded_sandbox(state_dir: Path) -> tuple[SandboxServer, str]:
    """A sandbox serving from a daemon thread on a free loopback port, and its key."""
    directory = sandbox_dir(state_dir).resolve()
    with _lock:
        server = _running.get(directory)
        if server is None:
            key = sandbox_key(directory.parent)
            with state_file_problems(directory / "sandbox.sqlite3", "the sandbox's database",
                                     "psimport makes a new sandbox with the demo household"):
                server = SandboxServer(directory / "sandbox.sqlite3", key=key, seed="demo").start()
            _running[directory] = server
        return server, server.key


def demo_server_url(demo_dir: Path) -> str | None:
    """The URL a `psimport sandbox` serving the demo's database (under `demo_dir`) listens on, if one runs."""
    try:
        return (sandbox_dir(demo_dir) / SERVING_FILE).read_text(encoding="ascii").strip() or None
    except OSError:
        return None


class serving_demo:
    """While `psimport sandbox` serves the demo's database, its URL is kept beside it: a run whose API URL is
    that one keeps its journal in the demo's folder too, so `--sandbox` (same data) sees the same batches."""

    def __init__(self, demo_dir: Path, url: str):
        self.path = sandbox_dir(demo_dir) / SERVING_FILE
        self.url = url

    def __enter__(self):
        self.path.write_text(self.url + "\n", encoding="ascii")
        return self

    def __exit__(self, *exc):
        if demo_server_url(self.path.parent.parent) == self.url:    # not another server's, started since
            self.path.unlink(missing_ok=True)


def foreground_sandbox(state_dir: Path, *, db_path: Path | None = None, key: str | None = None, port: int = 0,
                       faults: Faults | None = None, demo: bool = False, max_per_page: int = 1000,
                       refuse_per_page_over: int | None = None, log=None) -> tuple[SandboxServer, Path]:
    """A sandbox for `psimport sandbox` to serve, and its SQLite file.

    Without `db_path` it shares the embedded sandbox's database and key under the state dir;
    with one and no `key`, a fresh random key is made.
    """
    if db_path is None:
        db_path = sandbox_dir(state_dir) / "sandbox.sqlite3"
        key = key or sandbox_key(state_dir)
    key = key or secrets.token_urlsafe(18)
    make_private_dir(Path(db_path).parent, "the sandbox's database")
    try:
        server = SandboxServer(db_path, key=key, port=port, faults=faults, seed="demo" if demo else "accounts",
                               max_per_page=max_per_page, refuse_per_page_over=refuse_per_page_over, log=log)
    except OSError as exc:
        raise ConfigError(f"cannot listen on 127.0.0.1:{port} ({exc.strerror}); pick another --port") from None
    return server, db_path
