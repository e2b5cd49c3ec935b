"""`importer.Sandbox`: a PocketSmith sandbox a script or a test runs inside its own process, and closes with the block.

    with importer.Sandbox(demo=True) as sandbox:
        client = sandbox.client()          # a real PocketSmith client, over HTTP to 127.0.0.1
        sandbox.export("export.json")      # what it holds, as an `--existing` file

Unlike the `--sandbox` of the command line (one per state dir, kept between runs), this one lives
in a temporary folder that goes with it, unless it is given a database file to keep.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Literal

from importer.config import make_dir
from importer.errors import ConfigError, InputError

if TYPE_CHECKING:
    from importer.pocketsmith.client import PocketSmith
    from importer.sandbox.server import Faults, SandboxServer

__all__ = ["Sandbox", "Seed"]

Seed = Literal["demo", "accounts", "empty"]
_EXPORT_PAGE = 1000


class Sandbox:
    """A PocketSmith-compatible API serving from a daemon thread on 127.0.0.1, from the moment it is made.

    A new database is seeded with `seed`: "demo" (the demo household with its history; what
    `demo=True` asks for), "accounts" (its accounts, categories and rules, no transactions: the
    default) or "empty" (just a user). `path` is a SQLite file to keep (reopened, not reseeded,
    if it exists); without one the database lives in a temporary folder removed by `close()`.
    `key` is the developer key it accepts (a random one by default). `faults` (a
    `importer.sandbox.server.Faults`) makes it fail on purpose; `port`, `max_per_page`,
    `honour_per_page` and `log` are passed to `importer.sandbox.server.SandboxServer`.
    """

    def __init__(self, path: str | Path | None = None, *, demo: bool = False, seed: Seed | None = None,
                 key: str | None = None, faults: "Faults | None" = None, port: int = 0, max_per_page: int = 1000,
                 honour_per_page: bool = True, log: Callable[[str], None] | None = None):
        from importer.sandbox.server import SandboxServer
        if demo and seed not in (None, "demo"):
            raise ValueError(f"demo=True asks for the demo seed, not {seed!r}: give one or the other")
        self._clients: list[PocketSmith] = []
        self._cleanup: Callable[[], object] | None = None
        if path is None:
            folder = tempfile.mkdtemp(prefix="psimport-sandbox-")
            # Removed at exit even if close() never is: a script's sandbox leaves nothing behind.
            self._cleanup = weakref.finalize(self, shutil.rmtree, folder, ignore_errors=True)
            path = Path(folder) / "sandbox.sqlite3"
        else:
            make_dir(Path(path).parent, "the sandbox's database")
        self.path = Path(path)
        self.key = key or f"sandbox-{secrets.token_urlsafe(18)}"
        try:
            self.server: SandboxServer = SandboxServer(
                self.path, key=self.key, port=port, faults=faults, seed=seed or ("demo" if demo else "accounts"),
                max_per_page=max_per_page, honour_per_page=honour_per_page, log=log).start()
        except OSError as exc:
            self._remove_folder()
            raise ConfigError(f"cannot start a sandbox on 127.0.0.1:{port} ({exc.strerror})") from None
        except BaseException:
            self._remove_folder()
            raise
        self._closed = False

    @property
    def url(self) -> str:
        """The API base URL (`http://127.0.0.1:PORT/v2`), for a client or `POCKETSMITH_API_URL`."""
        return self.server.url

    @property
    def faults(self) -> "Faults":
        """What the sandbox does wrong on purpose; change its fields, or set a new one, while it runs."""
        return self.server.faults

    @faults.setter
    def faults(self, value: "Faults") -> None:
        self.server.faults = value

    def client(self, **options: Any) -> "PocketSmith":
        """A real `importer.PocketSmith` client for this sandbox; `options` are the client's (timeout, backoff...).

        It is closed when the sandbox is, or earlier by the caller.
        """
        from importer.pocketsmith.client import PocketSmith
        made = PocketSmith(self.url, self.key, **options)
        self._clients.append(made)
        return made

    def export(self, path: str | Path, account_id: int | None = None) -> Path:
        """Write the sandbox's transactions (one account's, or all) as the API returns them: an `--existing` file.

        That is the file `importer.preview(..., existing=path)` and `psimport preview --existing` read.
        """
        from importer.pocketsmith.wire import dumps_exact
        from importer.sandbox.store import TransactionFilter
        store, user_id = self.server.store, self.server.user_id
        assert user_id is not None, "every seed makes the sandbox's user"
        accounts = [account_id] if account_id is not None else store.account_ids(user_id)
        transactions: list[dict[str, Any]] = []
        page = 1
        while True:
            rows, total = store.list_transactions(accounts, TransactionFilter(), page, _EXPORT_PAGE)
            transactions += rows
            if not rows or len(transactions) >= total:
                break
            page += 1
        path = Path(path)
        try:
            path.write_text(dumps_exact(transactions), encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot write the export there ({exc.strerror})", file=str(path)) from None
        return path

    def close(self) -> None:
        """Close the clients it made, stop serving, and remove its temporary folder (a given `path` is kept)."""
        if self._closed:
            return
        self._closed = True
        for made in self._clients:
            made.close()
        self.server.stop()
        self._remove_folder()

    stop = close

    def _remove_folder(self) -> None:
        if self._cleanup is not None:
            self._cleanup()

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else self.url
        return f"Sandbox({state}, db={str(self.path)!r})"
