"""The import journal: every batch and every row's state, in SQLite, so imports happen exactly once.

A row goes planned → sending → created. `sending` is committed (and fsync'd) before its request
leaves, so after a crash a `sending` row means "the outcome is unknown": it is settled by looking
the transaction up, never by sending it again blindly. Rows PocketSmith already had, or that the
user chose not to import, are kept as `skipped` so a batch records its whole plan.

    planned ──▶ sending ──▶ created ──▶ undone
       ▲           │  └───▶ settled (unknown outcome, found by lookup) ──▶ undone
       └───────────┴──────▶ failed (definitely not created; sent again by the next run)
"""

from __future__ import annotations

import errno
import json
import secrets
import sqlite3
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from importer.config import make_private_dir, pid_lock, private_file
from importer.errors import Busy, ConfigError, InputError

__all__ = ["Journal", "BatchInfo", "JournalRow", "NewRow", "JOURNAL_FILE", "DONE_STATES", "OPEN_STATES",
           "import_lock", "import_running", "StoredDecision", "Update", "state_file_problem", "state_file_problems"]

JOURNAL_FILE = "journal.sqlite3"
LOCK_FILE = "import.lock"
DONE_STATES = ("created", "settled")
OPEN_STATES = ("planned", "sending", "failed")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (
    id          TEXT PRIMARY KEY,
    created_at  TEXT NOT NULL,
    key         TEXT NOT NULL,
    files       TEXT NOT NULL,          -- JSON [{"path", "sha256"}]
    accounts    TEXT NOT NULL,          -- JSON [transaction account id]
    plan        TEXT NOT NULL,          -- JSON: the preview document of the plan
    existing    TEXT NOT NULL,          -- JSON {account id: [ids PocketSmith held when planned]}
    status      TEXT NOT NULL,          -- open | complete
    finished_at TEXT,
    undone_at   TEXT,
    target      TEXT NOT NULL DEFAULT '' -- where it was imported: an API URL, or "sandbox"
);
CREATE INDEX IF NOT EXISTS batches_key ON batches(key, status);
CREATE TABLE IF NOT EXISTS rows (
    batch_id    TEXT NOT NULL REFERENCES batches(id),
    row_index   INTEGER NOT NULL,
    account_id  INTEGER NOT NULL,
    external_id TEXT,
    fingerprint TEXT NOT NULL,
    action      TEXT NOT NULL,          -- the plan's action: create | review | duplicate | skip
    state       TEXT NOT NULL,          -- planned | sending | created | settled | failed | skipped | undone
    body        TEXT,                   -- JSON create body, amount as a decimal string
    ps_id       INTEGER,
    snapshot    TEXT,                   -- JSON: the transaction as created, to tell later user edits
    error       TEXT,
    attempts    INTEGER NOT NULL DEFAULT 0,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (batch_id, row_index)
);
CREATE INDEX IF NOT EXISTS rows_account ON rows(account_id, state);
CREATE INDEX IF NOT EXISTS rows_state ON rows(batch_id, state);
-- A person's decision on a statement row (review, --decisions, --accept-review), applied by every later plan
-- of the same row: its identity is the transaction account and the row's external id (the bank's, or the
-- stable synthetic one), so an overlapping later statement's copy of the row is decided too.
CREATE TABLE IF NOT EXISTS decisions (
    id           INTEGER PRIMARY KEY,
    target       TEXT NOT NULL,         -- where the rows go: an API URL, or "sandbox"
    account_id   INTEGER NOT NULL,
    external_id  TEXT NOT NULL,
    action       TEXT NOT NULL,         -- create | duplicate | skip
    duplicate_of INTEGER,               -- for duplicate: the PocketSmith transaction it is
    source       TEXT NOT NULL,         -- review | csv | accept-review
    decided_at   TEXT NOT NULL,
    row          TEXT NOT NULL,         -- JSON {"date", "amount", "payee", "file", "line"}: what it was about
    batch_id     TEXT,                  -- the import that recorded it (--decisions, --accept-review); NULL: review
    UNIQUE (target, account_id, external_id)
);
-- What `import --enrich` fills into a PocketSmith transaction's empty fields: journaled `sending` before its
-- PUT, with the values before, so a rerun finishes it exactly once and `undo` puts them back.
CREATE TABLE IF NOT EXISTS updates (
    batch_id    TEXT NOT NULL REFERENCES batches(id),
    row_index   INTEGER NOT NULL,
    ps_id       INTEGER NOT NULL,
    fields      TEXT NOT NULL,          -- JSON: the values to fill in
    before      TEXT NOT NULL,          -- JSON: those fields' values when planned (empty)
    state       TEXT NOT NULL,          -- planned | sending | done | failed | undone
    error       TEXT,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (batch_id, row_index)
);
"""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _dumps(value: Any) -> str:
    return json.dumps(value, default=_plain, ensure_ascii=False, separators=(",", ":"))


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


@dataclass(frozen=True)
class NewRow:
    """A plan row as the journal first records it."""

    row_index: int
    account_id: int
    external_id: str | None
    fingerprint: str
    action: str
    send: bool                       # planned for a create, or kept as skipped
    body: Mapping[str, Any] | None


@dataclass(frozen=True)
class JournalRow:
    batch_id: str
    row_index: int
    account_id: int
    external_id: str | None
    fingerprint: str
    action: str
    state: str
    body: dict | None
    ps_id: int | None
    snapshot: dict | None
    error: str | None
    attempts: int
    updated_at: str

    @property
    def amount(self) -> Decimal:
        return Decimal(self.body["amount"])


@dataclass(frozen=True)
class StoredDecision:
    """A person's decision on one statement row, as the journal keeps it."""

    target: str
    account_id: int
    external_id: str
    action: str                      # create | duplicate | skip
    duplicate_of: int | None
    source: str                      # review | csv | accept-review
    row: dict                        # date, amount, payee, file, line: what the row was, to list it
    decided_at: str | None = None    # set when saved
    id: int | None = None
    batch_id: str | None = None      # the import that recorded it (so its undo forgets it); None from review


@dataclass(frozen=True)
class Update:
    """What an enriching import fills into one PocketSmith transaction, and those fields' values before."""

    row_index: int
    ps_id: int
    fields: dict
    before: dict
    state: str = "planned"
    error: str | None = None


@dataclass(frozen=True)
class BatchInfo:
    id: str
    created_at: str
    key: str
    files: list[dict]
    accounts: list[int]
    status: str
    finished_at: str | None
    undone_at: str | None
    counts: dict[str, int]
    existing: dict[int, list[int]]
    target: str = ""
    running: bool = False       # an import is working on it now (list_batches sets it; see import_running)
    updates: dict[str, int] | None = None      # import --enrich: its updates by state

    @property
    def filled(self) -> int:
        """PocketSmith transactions whose empty fields this batch filled in (and has not emptied again)."""
        return (self.updates or {}).get("done", 0)

    @property
    def created(self) -> int:
        return sum(self.counts.get(s, 0) for s in DONE_STATES)

    @property
    def unfinished(self) -> int:
        return sum(self.counts.get(s, 0) for s in OPEN_STATES)


def state_file_problem(path: Path, exc: BaseException, what: str, fresh_start: str) -> ConfigError:
    """What to do about a state file SQLite cannot use: the disk is full (free space and run the same command
    again: nothing was sent that the journal does not record), or the file is damaged (move it aside;
    `fresh_start` says what starting without it costs)."""
    full = (isinstance(exc, OSError) and exc.errno == errno.ENOSPC) \
        or getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "disk is full" in str(exc)
    if full:
        return ConfigError(f"the disk is full, so {what} cannot be written; free space, then run the same command "
                           "again (every request sent is in the journal, so it finishes exactly once)", file=str(path))
    return ConfigError(f"{what} is damaged ({exc}); move it aside (for instance to {Path(path).name}.damaged) and "
                       f"run the same command again: {fresh_start}", file=str(path))


@contextmanager
def state_file_problems(path: Path, what: str, fresh_start: str) -> Iterator[None]:
    """SQLite's (and the OS's) errors about a state file itself, damaged or on a full disk, as a
    state_file_problem; a locked database or an SQL mistake passes through unchanged."""
    try:
        yield
    except sqlite3.DatabaseError as exc:
        if isinstance(exc, sqlite3.OperationalError) and not _about_the_file(exc):
            raise
        raise state_file_problem(path, exc, what, fresh_start) from None
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
        raise state_file_problem(path, exc, what, fresh_start) from None


def _about_the_file(exc) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN,
                               sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)
    return any(text in str(exc) for text in ("disk is full", "disk I/O error", "unable to open"))


# What starting a new journal costs, said when one is damaged.
_NEW_JOURNAL = ("psimport starts a new journal, which no longer knows what earlier imports created, so undo cannot "
                "delete them (dedupe still finds them in PocketSmith)")


def storage_problems(path: Path) -> Any:
    """The journal's SQLite errors about its file (damaged, disk full) as a ConfigError saying what to do."""
    return state_file_problems(path, "the import journal", _NEW_JOURNAL)


class Journal:
    """The SQLite journal in the state dir. Safe to share between the writer's threads."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        make_private_dir(self.path.parent, "the state dir")
        private_file(self.path)
        # One connection guarded by a lock: SQLite serialises writers anyway. Row changes are
        # group-committed (see `flush`), because with synchronous=FULL each commit is an fsync,
        # and an fsync (0.2 to 7 ms measured here) per row would cap a batch at a few hundred rows/s.
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        self._lock = threading.RLock()
        self._pending: list[_Change] = []
        self._pending_lock = threading.Lock()
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            # FULL: a committed `sending` survives power loss too, not only a killed process.
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise state_file_problem(self.path, exc, "the import journal", _NEW_JOURNAL) from None

    def _migrate(self) -> None:
        # Journals from before a column existed get it, empty; nothing else changes shape.
        columns = {r[1] for r in self._db.execute("PRAGMA table_info(batches)")}
        if "target" not in columns:
            self._db.execute("ALTER TABLE batches ADD COLUMN target TEXT NOT NULL DEFAULT ''")
        if "batch_id" not in {r[1] for r in self._db.execute("PRAGMA table_info(decisions)")}:
            self._db.execute("ALTER TABLE decisions ADD COLUMN batch_id TEXT")

    @classmethod
    def in_state_dir(cls, state_dir: str | Path) -> "Journal":
        return cls(Path(state_dir) / JOURNAL_FILE)

    @classmethod
    def existing_in(cls, state_dir: str | Path) -> "Journal | None":
        """The state dir's journal if there is one yet (reading it creates nothing)."""
        path = Path(state_dir) / JOURNAL_FILE
        return cls(path) if path.is_file() else None

    def close(self) -> None:
        with self._lock:
            self.flush()
            self._db.close()

    def __enter__(self) -> "Journal":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock, storage_problems(self.path):
            self.flush()
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _query(self, sql: str, args: Iterable[Any] = ()) -> list[tuple]:
        with self._lock, storage_problems(self.path):
            self.flush()
            return self._db.execute(sql, tuple(args)).fetchall()

    def flush(self, until: "_Change | None" = None) -> None:
        """Commit every queued row change in one transaction: one fsync for many rows (group commit).

        Whoever needs a change durable commits all that are queued by then; threads queueing
        meanwhile are taken by the next commit. With `until`, return as soon as it is committed.
        """
        with self._lock, storage_problems(self.path):
            if until is not None and until.done:
                return
            with self._pending_lock:
                changes, self._pending = self._pending, []
            if not changes:
                return
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for change in changes:
                    cursor = self._db.execute(change.sql, change.args)
                    if cursor.rowcount != 1:
                        state = self._db.execute("SELECT state FROM rows WHERE batch_id = ? AND row_index = ?",
                                                 (change.batch_id, change.row_index)).fetchone()
                        # A programming error, not a user's: the state machine was not followed.
                        change.error = RuntimeError(f"journal row {change.batch_id}#{change.row_index} is "
                                                    f"{state and state[0]!r}, expected one of {change.expect}")
            except BaseException:
                self._db.execute("ROLLBACK")
                with self._pending_lock:
                    self._pending[:0] = changes
                raise
            self._db.execute("COMMIT")
            for change in changes:
                change.done = True
            stray = [c.error for c in changes if c.error is not None and not c.durable and c is not until]
            if stray:
                raise stray[0]

    # ─── batches ───────────────────────────────────────────────────────────────────────────

    def create_batch(self, *, key: str, files: list[dict], accounts: list[int], plan: dict,
                     rows: Iterable[NewRow], existing: Mapping[int, Iterable[int]] | None = None,
                     target: str = "", updates: Iterable["Update"] = (),
                     decisions: Iterable["StoredDecision"] = ()) -> str:
        """Record a batch, all its rows, its updates (import --enrich) and the decisions its import was given
        (--decisions, --accept-review: kept as this batch's, so its undo forgets them) in one transaction;
        returns its id."""
        now = datetime.now(timezone.utc)
        stamp = now.isoformat(timespec="seconds")
        existing_json = {str(k): sorted(set(v)) for k, v in (existing or {}).items()}
        with self._transaction() as db:
            # An id is the second and a random suffix: two batches begun in one second (an inbox's files) may
            # draw the same suffix, so a taken id is drawn again rather than refused.
            while True:
                batch_id = f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
                if db.execute("SELECT 1 FROM batches WHERE id = ?", (batch_id,)).fetchone() is None:
                    break
            db.execute("INSERT INTO batches (id, created_at, key, files, accounts, plan, existing, status, target)"
                       " VALUES (?, ?, ?, ?, ?, ?, ?, 'open', ?)",
                       (batch_id, stamp, key, _dumps(files), _dumps(sorted(set(accounts))), _dumps(plan),
                        _dumps(existing_json), target))
            db.executemany(
                "INSERT INTO rows (batch_id, row_index, account_id, external_id, fingerprint, action, state,"
                " body, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                ((batch_id, r.row_index, r.account_id, r.external_id, r.fingerprint, r.action,
                  "planned" if r.send else "skipped", None if r.body is None else _dumps(r.body), stamp)
                 for r in rows))
            db.executemany("INSERT INTO updates (batch_id, row_index, ps_id, fields, before, state, updated_at)"
                           " VALUES (?, ?, ?, ?, ?, 'planned', ?)",
                           ((batch_id, u.row_index, u.ps_id, _dumps(u.fields), _dumps(u.before), stamp)
                            for u in updates))
            self._save_decisions(db, decisions, batch_id)
        return batch_id

    def _batch_from(self, row: tuple) -> BatchInfo:
        batch_id = row[0]
        counts = dict(self._query("SELECT state, count(*) FROM rows WHERE batch_id = ? GROUP BY state",
                                  (batch_id,)))
        existing = {int(k): v for k, v in json.loads(row[9]).items()}
        updates = dict(self._query("SELECT state, count(*) FROM updates WHERE batch_id = ? GROUP BY state",
                                   (batch_id,)))
        return BatchInfo(id=batch_id, created_at=row[1], key=row[2], files=json.loads(row[3]),
                         accounts=json.loads(row[4]), status=row[5], finished_at=row[6], undone_at=row[7],
                         counts=counts, existing=existing, target=row[10], updates=updates)

    _BATCH_COLUMNS = ("id, created_at, key, files, accounts, status, finished_at, undone_at, plan, existing,"
                      " target")

    def batch(self, batch_id: str) -> BatchInfo:
        """A batch by id or unique id prefix; an InputError (bad input, exit 2) naming the choices otherwise."""
        found = self._query(f"SELECT {self._BATCH_COLUMNS} FROM batches WHERE id = ?", (batch_id,))
        if not found and batch_id:
            found = self._query(f"SELECT {self._BATCH_COLUMNS} FROM batches WHERE id LIKE ? ESCAPE '\\'"
                                " ORDER BY id", (_like_prefix(batch_id),))
        if len(found) == 1:
            return self._batch_from(found[0])
        if not found:
            raise InputError(f"no batch '{batch_id}' in the journal ({self.path}); "
                              "`psimport batches` lists them")
        raise InputError(f"'{batch_id}' matches several batches ({', '.join(r[0] for r in found)}); "
                          "give more of the id")

    def batches(self) -> list[BatchInfo]:
        """Every batch, newest first."""
        return [self._batch_from(r) for r in
                self._query(f"SELECT {self._BATCH_COLUMNS} FROM batches ORDER BY created_at DESC, id DESC")]

    def plan_of(self, batch_id: str) -> dict:
        return json.loads(self._query("SELECT plan FROM batches WHERE id = ?", (batch_id,))[0][0])

    def plan_part(self, batch_id: str, path: str) -> Any:
        """One part of a batch's plan (`$.coverage`), picked out by SQLite without reading the whole plan
        into Python; None when the plan has no such part."""
        found = self._query("SELECT json_extract(plan, ?) FROM batches WHERE id = ?", (path, batch_id))[0][0]
        return None if found is None else json.loads(found) if isinstance(found, str) else found

    def find_unfinished(self, key: str) -> BatchInfo | None:
        """The newest open batch planned from the same files for the same accounts."""
        found = self._query(f"SELECT {self._BATCH_COLUMNS} FROM batches WHERE key = ? AND status = 'open'"
                            " ORDER BY created_at DESC, id DESC LIMIT 1", (key,))
        return self._batch_from(found[0]) if found else None

    def batches_with_unknown_rows(self, accounts: Iterable[int], target: str = "") -> list[str]:
        """Batches into `target` holding `sending` rows (outcome unknown) in any of these accounts."""
        accounts = list(accounts)
        if not accounts:
            return []
        marks = ",".join("?" * len(accounts))
        return [r[0] for r in self._query(
            f"SELECT DISTINCT r.batch_id FROM rows r JOIN batches b ON b.id = r.batch_id WHERE r.state = 'sending'"
            f" AND r.account_id IN ({marks}) AND b.target = ? ORDER BY r.batch_id", (*accounts, target))]

    def finish_batch(self, batch_id: str) -> bool:
        """Mark the batch complete if no row is left to send; True if it is."""
        with self._transaction() as db:
            left = db.execute("SELECT count(*) FROM rows WHERE batch_id = ? AND state IN (?, ?, ?)",
                              (batch_id, *OPEN_STATES)).fetchone()[0]
            left += db.execute("SELECT count(*) FROM updates WHERE batch_id = ? AND state IN (?, ?, ?)",
                               (batch_id, *OPEN_STATES)).fetchone()[0]
            if left:
                return False
            db.execute("UPDATE batches SET status = 'complete', finished_at = coalesce(finished_at, ?)"
                       " WHERE id = ?", (_now(), batch_id))
            return True

    def mark_batch_undone(self, batch_id: str) -> None:
        with self._transaction() as db:
            db.execute("UPDATE batches SET undone_at = ? WHERE id = ?", (_now(), batch_id))

    # ─── rows ──────────────────────────────────────────────────────────────────────────────

    _ROW_COLUMNS = ("batch_id, row_index, account_id, external_id, fingerprint, action, state, body, ps_id,"
                    " snapshot, error, attempts, updated_at")

    @staticmethod
    def _row_from(r: tuple) -> JournalRow:
        return JournalRow(batch_id=r[0], row_index=r[1], account_id=r[2], external_id=r[3], fingerprint=r[4],
                          action=r[5], state=r[6], body=json.loads(r[7]) if r[7] else None, ps_id=r[8],
                          snapshot=json.loads(r[9]) if r[9] else None, error=r[10], attempts=r[11],
                          updated_at=r[12])

    def rows(self, batch_id: str, states: Iterable[str] | None = None) -> list[JournalRow]:
        """A batch's rows in plan order, optionally only those in some states."""
        sql = f"SELECT {self._ROW_COLUMNS} FROM rows WHERE batch_id = ?"
        args: list[Any] = [batch_id]
        if states is not None:
            states = list(states)
            sql += f" AND state IN ({','.join('?' * len(states))})"
            args += states
        return [self._row_from(r) for r in self._query(sql + " ORDER BY row_index", args)]

    def row_states(self, batch_id: str) -> list[tuple[int, str, str | None, bool]]:
        """Each row's index, state, error and whether it carries a create body, in plan order: what counting a
        batch needs, without decoding every row's body and snapshot."""
        return [(index, state, error, bool(has_body)) for index, state, error, has_body in self._query(
            "SELECT row_index, state, error, body IS NOT NULL FROM rows WHERE batch_id = ? ORDER BY row_index",
            (batch_id,))]

    def row(self, batch_id: str, row_index: int) -> JournalRow:
        return self._row_from(self._query(f"SELECT {self._ROW_COLUMNS} FROM rows WHERE batch_id = ? AND"
                                          " row_index = ?", (batch_id, row_index))[0])

    def imported(self, account_id: int, target: str = "") -> dict[str, int]:
        """external id → PocketSmith id of every row created in this account of `target` and not undone."""
        return {ext: ps_id for ext, ps_id in self._query(
            "SELECT r.external_id, r.ps_id FROM rows r JOIN batches b ON b.id = r.batch_id"
            " WHERE r.account_id = ? AND b.target = ? AND r.state IN (?, ?) AND r.external_id IS NOT NULL"
            " ORDER BY r.updated_at", (account_id, target, *DONE_STATES))}

    def created_by(self, account_ids: Iterable[int], target: str = "") -> dict[int, tuple[str, str]]:
        """PocketSmith id → the batch that created it and the row's action in its plan (create, or review when it was
        accepted), for these accounts of `target` (not undone)."""
        ids = list(account_ids)
        return {ps_id: (batch_id, action) for ps_id, batch_id, action in self._query(
            "SELECT r.ps_id, r.batch_id, r.action FROM rows r JOIN batches b ON b.id = r.batch_id WHERE b.target = ?"
            f" AND r.account_id IN ({','.join('?' * len(ids))}) AND r.state IN (?, ?) AND r.ps_id IS NOT NULL",
            (target, *ids, *DONE_STATES))}

    def claimed_ids(self, account_id: int, target: str = "") -> set[int]:
        """PocketSmith ids the journal already attributes to a row (created or settled, not undone)."""
        return {r[0] for r in self._query(
            "SELECT r.ps_id FROM rows r JOIN batches b ON b.id = r.batch_id WHERE r.account_id = ?"
            " AND b.target = ? AND r.state IN (?, ?) AND r.ps_id IS NOT NULL", (account_id, target, *DONE_STATES))}

    def _set(self, batch_id: str, row_index: int, sql: str, args: tuple, expect: tuple[str, ...],
             durable: bool = True) -> None:
        """Queue a row's state change; with `durable`, return only once it is committed to disk."""
        change = _Change(batch_id, row_index, expect, durable,
                         f"UPDATE rows SET {sql}, updated_at = ? WHERE batch_id = ? AND row_index = ?"
                         f" AND state IN ({','.join('?' * len(expect))})",
                         (*args, _now(), batch_id, row_index, *expect))
        with self._pending_lock:
            self._pending.append(change)
        if durable:
            self.flush(until=change)
            if change.error is not None:
                raise change.error

    def mark_sending(self, batch_id: str, row_index: int) -> None:
        """Committed before the request leaves: from here on the outcome is unknown until answered."""
        self._set(batch_id, row_index, "state = 'sending', attempts = attempts + 1, error = NULL", (),
                  ("planned", "failed"))

    def mark_sending_many(self, batch_id: str, row_indexes: Iterable[int]) -> None:
        """Several rows `sending` in one commit, ahead of their requests.

        Marking a row early is safe: if the process dies before its request leaves, the row
        is looked up, not found, and sent. It keeps the fsync out of each request's path.
        """
        changes = [_Change(batch_id, index, ("planned", "failed"), True,
                           "UPDATE rows SET state = 'sending', attempts = attempts + 1, error = NULL, updated_at = ?"
                           " WHERE batch_id = ? AND row_index = ? AND state IN (?, ?)",
                           (_now(), batch_id, index, "planned", "failed")) for index in row_indexes]
        if not changes:
            return
        with self._pending_lock:
            self._pending.extend(changes)
        self.flush(until=changes[-1])
        for change in changes:
            if change.error is not None:
                raise change.error

    # The changes after a request may be deferred (durable=False) to the next commit: if they are
    # lost with the process, the row is still `sending`, and a lookup settles it the same way.

    def mark_created(self, batch_id: str, row_index: int, ps_id: int, snapshot: Mapping[str, Any],
                     settled: bool = False, durable: bool = True) -> None:
        self._set(batch_id, row_index, "state = ?, ps_id = ?, snapshot = ?, error = NULL",
                  ("settled" if settled else "created", int(ps_id), _dumps(snapshot)), ("sending",), durable)

    def mark_not_sent(self, batch_id: str, row_index: int, error: str | None = None, durable: bool = True) -> None:
        """The create definitely did not happen (refused, throttled, or not found by a lookup)."""
        state = "failed" if error else "planned"
        self._set(batch_id, row_index, "state = ?, error = ?", (state, error), ("sending",), durable)

    def mark_unknown(self, batch_id: str, row_index: int, error: str, durable: bool = True) -> None:
        """The outcome is unknown: the row stays `sending` until a lookup settles it."""
        self._set(batch_id, row_index, "error = ?", (error,), ("sending",), durable)

    def mark_skipped(self, batch_id: str, row_index: int, reason: str) -> None:
        """A planned row found to exist already (created meanwhile by another batch)."""
        self._set(batch_id, row_index, "state = 'skipped', error = ?", (reason,), ("planned", "failed"))

    def promote_review(self, batch_id: str, row_indexes: Iterable[int]) -> int:
        """Review rows the user now accepts become planned; returns how many."""
        indexes = list(row_indexes)
        with self._transaction() as db:
            changed = 0
            for index in indexes:
                changed += db.execute("UPDATE rows SET state = 'planned', updated_at = ? WHERE batch_id = ?"
                                      " AND row_index = ? AND action = 'review' AND state = 'skipped'"
                                      " AND body IS NOT NULL", (_now(), batch_id, index)).rowcount
            if changed:
                db.execute("UPDATE batches SET status = 'open', finished_at = NULL WHERE id = ?", (batch_id,))
            return changed

    def mark_undone(self, batch_id: str, row_index: int, note: str | None = None) -> None:
        self._set(batch_id, row_index, "state = 'undone', error = ?", (note,), DONE_STATES)

    def note(self, batch_id: str, row_index: int, text: str) -> None:
        """Attach a message to a row without changing its state (e.g. why undo kept it)."""
        with self._transaction() as db:
            db.execute("UPDATE rows SET error = ? WHERE batch_id = ? AND row_index = ?",
                       (text, batch_id, row_index))


    # ─── a person's decisions ──────────────────────────────────────────────────────────────

    _DECISION_COLUMNS = ("id, target, account_id, external_id, action, duplicate_of, source, decided_at, row,"
                         " batch_id")

    def save_decisions(self, decisions: Iterable["StoredDecision"]) -> None:
        """Keep decisions (replacing any earlier one on the same row), committed before this returns."""
        with self._transaction() as db:
            self._save_decisions(db, decisions, None)

    @staticmethod
    def _save_decisions(db: sqlite3.Connection, decisions: Iterable["StoredDecision"], batch_id: str | None) -> None:
        db.executemany(
            "INSERT INTO decisions (target, account_id, external_id, action, duplicate_of, source, decided_at,"
            " row, batch_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (target, account_id, external_id)"
            " DO UPDATE SET action = excluded.action, duplicate_of = excluded.duplicate_of,"
            " source = excluded.source, decided_at = excluded.decided_at, row = excluded.row,"
            " batch_id = excluded.batch_id",
            ((d.target, d.account_id, d.external_id, d.action, d.duplicate_of, d.source,
              d.decided_at or _now(), _dumps(d.row), batch_id) for d in decisions))

    def decisions(self, target: str | None = None, account_ids: Iterable[int] | None = None) -> list["StoredDecision"]:
        """Kept decisions, oldest first; only those into `target` and these accounts when given."""
        sql = f"SELECT {self._DECISION_COLUMNS} FROM decisions WHERE 1 = 1"
        args: list[Any] = []
        if target is not None:
            sql += " AND target = ?"
            args.append(target)
        if account_ids is not None:
            ids = list(account_ids)
            sql += f" AND account_id IN ({','.join('?' * len(ids))})"
            args += ids
        return [self._decision_from(r) for r in self._query(sql + " ORDER BY decided_at, id", args)]

    @staticmethod
    def _decision_from(r: tuple) -> "StoredDecision":
        return StoredDecision(id=r[0], target=r[1], account_id=r[2], external_id=r[3], action=r[4], duplicate_of=r[5],
                              source=r[6], decided_at=r[7], row=json.loads(r[8]), batch_id=r[9])

    def decisions_on_batch(self, batch_id: str) -> tuple[list["StoredDecision"], list["StoredDecision"]]:
        """The decisions a batch's import recorded, and the others kept on rows it created (from review, or
        another import): what its undo forgets, and what it leaves."""
        found = [self._decision_from(r) for r in self._query(
                     f"SELECT {', '.join('d.' + c.strip() for c in self._DECISION_COLUMNS.split(','))}"
                     " FROM decisions d JOIN batches b ON b.id = ? AND d.target = b.target"
                     " WHERE d.batch_id = b.id OR EXISTS (SELECT 1 FROM rows r WHERE r.batch_id = b.id"
                     " AND r.account_id = d.account_id AND r.external_id = d.external_id AND r.state != 'skipped')"
                     " ORDER BY d.decided_at, d.id", (batch_id,))]
        return [d for d in found if d.batch_id == batch_id], [d for d in found if d.batch_id != batch_id]

    def forget_decisions(self, ids: Iterable[int] | None = None) -> int:
        """Remove these decisions (every one when `ids` is None); returns how many went."""
        with self._transaction() as db:
            if ids is None:
                return db.execute("DELETE FROM decisions").rowcount
            return sum(db.execute("DELETE FROM decisions WHERE id = ?", (int(i),)).rowcount for i in ids)

    # ─── updates (import --enrich) ─────────────────────────────────────────────────────────

    def updates(self, batch_id: str, states: Iterable[str] | None = None) -> list["Update"]:
        """A batch's updates in plan order, optionally only those in some states."""
        sql = "SELECT row_index, ps_id, fields, before, state, error FROM updates WHERE batch_id = ?"
        args: list[Any] = [batch_id]
        if states is not None:
            states = list(states)
            sql += f" AND state IN ({','.join('?' * len(states))})"
            args += states
        return [Update(row_index=r[0], ps_id=r[1], fields=json.loads(r[2]), before=json.loads(r[3]), state=r[4],
                       error=r[5]) for r in self._query(sql + " ORDER BY row_index", args)]

    def set_update_state(self, batch_id: str, row_index: int, state: str, error: str | None = None) -> None:
        """Committed (and fsync'd) before this returns: `sending` goes to disk before its PUT leaves."""
        with self._transaction() as db:
            db.execute("UPDATE updates SET state = ?, error = ?, updated_at = ? WHERE batch_id = ? AND row_index = ?",
                       (state, error, _now(), batch_id, row_index))
            if state in OPEN_STATES:
                db.execute("UPDATE batches SET status = 'open', finished_at = NULL WHERE id = ?", (batch_id,))


@dataclass(eq=False)
class _Change:
    """A queued row update, committed with others by `Journal.flush`."""

    batch_id: str
    row_index: int
    expect: tuple[str, ...]
    durable: bool
    sql: str
    args: tuple
    done: bool = False
    error: Exception | None = None


def _like_prefix(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


@contextmanager
def import_lock(state_dir: str | Path) -> Iterator[None]:
    """One import or undo at a time per state dir.

    Settling an unknown outcome by lookup is only sound if no other process is still
    sending that row; the OS drops the lock when its holder dies, even by SIGKILL.
    """
    path = make_private_dir(state_dir, "the state dir")
    with pid_lock(path / LOCK_FILE, lambda holder: Busy(f"another psimport import or undo is running (pid {holder}) "
                                                        f"with the state dir {path}; wait for it to finish")):
        yield


def import_running(state_dir: str | Path) -> bool:
    """Whether an import or undo holds the state dir's lock right now (one that died holds nothing)."""
    path = Path(state_dir) / LOCK_FILE
    try:
        import fcntl
        handle = open(path, encoding="ascii")
    except (ImportError, OSError):
        return False
    with handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return False
