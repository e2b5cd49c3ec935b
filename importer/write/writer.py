"""The batch writer: sends a journaled batch's creates concurrently, exactly once, and undoes batches.

One concurrency model: a thread pool over the thread-safe sync client. The work is a few
thousand independent POSTs that wait on the network, which threads do as well as asyncio
here (the GIL is free while a socket waits), and it keeps one client and one journal
connection rather than an async twin of each. How many requests are in flight adapts
(AIMD): a 429 halves it and pauses for Retry-After, each streak of successes as long as
the current limit adds one back, up to `--concurrency`.

Exactly once: a row is journaled `sending` before its POST (a window of rows in one commit,
ahead of their requests) and `created` after. A create whose outcome is unknown (dropped
connection, timeout, 5xx) stays `sending` and is settled by looking it up (same account, date,
amount and payee; not claimed by another journal row; not in PocketSmith before the batch was
planned), and only sent again when it is not there.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import Counter, deque
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Sequence

from importer.errors import AmbiguousWrite, ApiError, ImporterError
from importer.write.journal import DONE_STATES, BatchInfo, Journal, JournalRow
from importer.write.others import OtherWriter, check_no_other_writer
from importer.plan import fingerprint
from importer.pocketsmith.models import PsTransaction

if TYPE_CHECKING:
    from importer.pocketsmith.protocol import Client

__all__ = ["DEFAULT_CONCURRENCY", "START_CONCURRENCY", "AdaptiveLimit", "Writer", "WriteReport", "UndoReport",
           "IncompleteBatch", "snapshot", "changed_fields", "undo_batch", "settle_unknown"]

# Requests in flight: a batch starts at START_CONCURRENCY and, while PocketSmith answers without 429s,
# adds one after each run of successes as long as the current limit, up to DEFAULT_CONCURRENCY (or
# --concurrency). Measured (benchmarks/import_speed.py, 25 ms a request, 2 busy cores): 32 from the
# start made 400 rows 15-20% slower than 16 (32 connections to open, and more threads for the cores to
# serve, in a batch that takes a second), but 2,000 rows 15% faster (10.3-12.9x one at a time against
# 9.9-10.7x). Starting at 16 and growing gives each its better half: a few hundred rows stay near 16,
# a big batch runs at 32 after its first 400, and a server that minds sees the burst grow, not start big.
DEFAULT_CONCURRENCY = 32
START_CONCURRENCY = 16
MAX_CONCURRENCY = 64
# How many rows are sent between two looks for another import creating the same rows (one listing of
# their dates per account): a window at the default concurrency.
OTHER_WRITER_ROWS = 2 * DEFAULT_CONCURRENCY
# Consecutive errors after which PocketSmith is taken to be down and the batch stops.
FAILURE_STREAK_LIMIT = 10


class IncompleteBatch(ImporterError):
    """Some planned rows were not created; the message says what to run to finish."""

    def __init__(self, message: str, exit_code: int = 5):
        super().__init__(message)
        self.exit_code = exit_code


class AdaptiveLimit:
    """How many requests may be in flight: halved on a 429 (once per window), grown by one per streak.

    It starts at `start` (at most `maximum`; the maximum when not given) and grows by one after each run of
    successes as long as the current limit, up to `maximum`."""

    def __init__(self, maximum: int, *, start: int | None = None, clock: Callable[[], float] = time.monotonic):
        self.maximum = max(1, int(maximum))
        self.limit = self.maximum if start is None else max(1, min(int(start), self.maximum))
        self.in_flight = 0
        self.streak = 0
        self.epoch = 0              # bumped by each cut; a 429 from before the last cut does not cut again
        self.paused_until = 0.0
        self.throttles = 0
        self.lowest = self.limit
        self._clock = clock
        self._cond = threading.Condition()

    def try_acquire(self) -> int | None:
        """A slot's epoch if one is free now (and not paused), else None."""
        with self._cond:
            if self.in_flight >= self.limit or self._clock() < self.paused_until:
                return None
            self.in_flight += 1
            return self.epoch

    def wait_hint(self) -> float:
        """How long the caller may sleep before a slot could open."""
        with self._cond:
            return max(0.0, self.paused_until - self._clock())

    def release(self, success: bool) -> None:
        with self._cond:
            self.in_flight -= 1
            if success:
                self.streak += 1
                if self.streak >= self.limit and self.limit < self.maximum:
                    self.limit += 1
                    self.streak = 0
            self._cond.notify_all()

    def throttled(self, retry_after: float | None, epoch: int | None = None) -> None:
        """A 429: pause everyone for Retry-After and halve the limit, once per window of requests."""
        with self._cond:
            self.throttles += 1
            delay = 1.0 if retry_after is None else max(0.0, float(retry_after))
            self.paused_until = max(self.paused_until, self._clock() + delay)
            self.streak = 0
            if epoch is None or epoch == self.epoch:
                self.limit = max(1, self.limit // 2)
                self.lowest = min(self.lowest, self.limit)
                self.epoch += 1


def snapshot(txn: PsTransaction) -> dict[str, Any]:
    """The fields a user can change in PocketSmith, as created; undo compares against it."""
    return {"id": txn.id, "payee": txn.payee, "amount": str(txn.amount),
            "date": txn.date.isoformat() if txn.date else None, "category_id": txn.category_id,
            "labels": sorted(txn.labels or []), "note": txn.note or None, "memo": txn.memo or None,
            "cheque_number": txn.cheque_number or None, "is_transfer": bool(txn.is_transfer),
            "needs_review": bool(txn.needs_review), "transaction_account_id": txn.transaction_account_id,
            "updated_at": txn.updated_at}


def changed_fields(before: dict[str, Any], now: PsTransaction) -> list[str]:
    """Which user-editable fields differ from the snapshot (updated_at alone is not a change)."""
    after = snapshot(now)
    changed = []
    for key, value in before.items():
        if key in ("id", "updated_at"):
            continue
        if key == "amount":
            if Decimal(str(value)) != Decimal(after["amount"]):
                changed.append(key)
        elif key == "transaction_account_id" and (value is None or after[key] is None):
            continue
        elif after.get(key) != value:
            changed.append(key)
    return changed


@dataclass
class WriteReport:
    """What a run of the writer did to one batch."""

    batch_id: str
    planned: int = 0                      # rows the batch sends in total
    created: int = 0                      # created by this run
    settled: int = 0                      # unknown outcomes found in PocketSmith by lookup
    skipped_now: int = 0                  # found created by another batch meanwhile
    already_done: int = 0                 # created by earlier runs
    failed: list[tuple[int, str]] = field(default_factory=list)
    unknown: list[int] = field(default_factory=list)
    left: int = 0                         # still planned (not attempted)
    interrupted: bool = False
    stopped_reason: str | None = None
    other_writer: OtherWriter | None = None   # another import was found creating this batch's rows
    throttles: int = 0
    lowest_concurrency: int = 0
    elapsed: float = 0.0

    @property
    def complete(self) -> bool:
        # An interruption that came after the last row was journaled left nothing to do.
        return not (self.failed or self.unknown or self.left)


def _is_throttle(exc: ApiError) -> bool:
    return getattr(exc, "status", None) == 429


def _retry_after(exc: BaseException) -> float | None:
    value = getattr(exc, "retry_after", None)
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def _is_unknown(exc: ApiError) -> bool:
    """Outcomes a create cannot be sure about: settle by lookup rather than resend or give up."""
    if isinstance(exc, AmbiguousWrite):
        return True
    status = getattr(exc, "status", None)
    return status is None or status >= 500 or status == 408


def _body_for_client(row: JournalRow) -> dict[str, Any]:
    body = dict(row.body or {})
    body["amount"] = Decimal(str(body["amount"]))
    body["date"] = date.fromisoformat(str(body["date"]))
    return body


class Writer:
    """Creates a batch's planned rows through `client`, journaling each, with adaptive concurrency."""

    def __init__(self, client: "Client", journal: Journal, *, concurrency: int = DEFAULT_CONCURRENCY,
                 progress: Callable[[int, int], None] | None = None, settle_delay: float = 1.0,
                 settle_rounds: int = 4, sleep: Callable[[float], None] = time.sleep):
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.client = client
        self.journal = journal
        self.concurrency = min(int(concurrency), MAX_CONCURRENCY)
        self.progress = progress or (lambda done, total: None)
        self.settle_delay = settle_delay
        self.settle_rounds = settle_rounds
        self.sleep = sleep
        self.limit = AdaptiveLimit(self.concurrency, start=START_CONCURRENCY)
        self._stop = threading.Event()
        self._interrupted = False
        self._local = threading.local()
        self._since_check: list[JournalRow] | None = None   # rows sent since the last check for other writers
        self._hook_client()

    def _hook_client(self) -> None:
        # The client waits out each 429 itself (honouring Retry-After) and tells us, so the
        # whole batch slows down: no new requests until then, and fewer in flight after.
        previous = getattr(self.client, "on_throttle", None)
        if getattr(previous, "from_writer", False):
            previous = None          # an earlier Writer's hook on the same client: replaced, not chained

        def on_throttle(retry_after: float, *rest: Any) -> None:
            self.limit.throttled(retry_after, getattr(self._local, "epoch", None))
            if previous is not None:
                previous(retry_after, *rest)

        on_throttle.from_writer = True  # type: ignore[attr-defined]
        try:
            # Not part of the Client protocol: a client without the hook simply does not tell us.
            setattr(self.client, "on_throttle", on_throttle)
        except AttributeError:
            pass

    def stop(self) -> None:
        """Stop submitting; requests in flight finish and are journaled."""
        self._stop.set()

    # ─── the batch ─────────────────────────────────────────────────────────────────────────

    def run(self, batch_id: str) -> WriteReport:
        """Finish the batch: settle unknown outcomes, then send whatever is still planned.

        In the main thread, Ctrl-C (SIGINT) and SIGTERM only ask it to stop: nothing new is
        sent, what is in flight finishes and is journaled, and the report says `interrupted`.
        A second Ctrl-C interrupts at once (what was in flight is then settled next time).
        """
        with self._signals_stop():
            return self._run(batch_id)

    @contextmanager
    def _signals_stop(self) -> Iterator[None]:
        # A handler that raises KeyboardInterrupt could land mid-commit; one that sets a flag
        # the loop polls cannot, so the journal is never left with a half-done transaction.
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        import signal

        def stop(signum, frame):
            if self._stop.is_set():
                raise KeyboardInterrupt
            self._interrupted = True
            self._stop.set()

        previous = {}
        for signum in (signal.SIGINT, getattr(signal, "SIGTERM", None)):
            if signum is not None:
                previous[signum] = signal.signal(signum, stop)
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _run(self, batch_id: str) -> WriteReport:
        started = time.perf_counter()
        report = WriteReport(batch_id=batch_id)
        batch = self.journal.batch(batch_id)
        states = [state for _, state, _, has_body in self.journal.row_states(batch_id)
                  if has_body and state != "skipped"]
        report.planned = len(states)
        report.already_done = sum(1 for state in states if state in DONE_STATES)
        done = report.already_done
        self.progress(done, report.planned)
        try:
            for round_number in range(self.settle_rounds + 1):
                unknown = self.journal.rows(batch_id, ["sending"])
                if unknown:
                    if round_number and self.settle_delay:
                        # Give a create that is still being processed server-side time to land.
                        self.sleep(self.settle_delay)
                    found = settle_unknown(self.client, self.journal, unknown, batch.existing, batch.target)
                    report.settled += found
                    done += found
                    self.progress(done, report.planned)
                if self._stop.is_set() or report.stopped_reason:
                    break
                # Rows that failed in an earlier run are tried again once; this run's failures are final.
                todo = self.journal.rows(batch_id, ["planned", "failed"] if round_number == 0 else ["planned"])
                todo = self._drop_imported_elsewhere(todo, report, batch.target)
                if not todo:
                    if not self.journal.rows(batch_id, ["sending"]):
                        break
                    continue
                done = self._send(todo, report, done, batch)
            if self._since_check and not (self._stop.is_set() or report.stopped_reason):
                # A writer that sent its copies while this run sent its last window shows only now.
                check_no_other_writer(self.client, self.journal, batch, self._since_check)
        except OtherWriter as exc:
            report.other_writer = exc
            report.stopped_reason = "another import is creating the same rows"
        except ApiError as exc:
            report.stopped_reason = f"PocketSmith could not be reached to settle unknown outcomes ({exc})"
        finally:
            report.interrupted = self._interrupted
            report.elapsed = time.perf_counter() - started
            report.throttles = self.limit.throttles
            report.lowest_concurrency = self.limit.lowest
            self._tally(report)
        return report

    def _tally(self, report: WriteReport) -> None:
        rows = self.journal.row_states(report.batch_id)
        report.unknown = [index for index, state, _, _ in rows if state == "sending"]
        report.failed = [(index, error or "failed") for index, state, error, _ in rows if state == "failed"]
        report.left = sum(1 for _, state, _, _ in rows if state == "planned")
        if report.complete:
            self.journal.finish_batch(report.batch_id)

    def _drop_imported_elsewhere(self, rows: list[JournalRow], report: WriteReport,
                                 target: str) -> list[JournalRow]:
        """A row another batch created meanwhile (same external id, same account) is not sent twice."""
        keep = []
        imported: dict[int, dict[str, int]] = {}
        for row in rows:
            if row.external_id:
                if row.account_id not in imported:     # one query per account, not one per row
                    imported[row.account_id] = self.journal.imported(row.account_id, target)
                known = imported[row.account_id]
                if row.external_id in known:
                    self.journal.mark_skipped(row.batch_id, row.row_index,
                                              f"created meanwhile as PocketSmith {known[row.external_id]}")
                    report.skipped_now += 1
                    report.planned -= 1
                    continue
            keep.append(row)
        return keep

    def _send(self, rows: Sequence[JournalRow], report: WriteReport, done: int, batch: BatchInfo) -> int:
        pending = deque(rows)            # planned
        ready: deque[JournalRow] = deque()   # journaled `sending`, request not yet submitted
        in_flight: dict[Future, JournalRow] = {}
        # Each request's future is put here as it finishes: waiting on the queue costs the same however many are
        # in flight, where concurrent.futures.wait() hooks a waiter onto every one of them (and unhooks it) on
        # each call, a few times a create at 32 in flight.
        finished_queue: "queue.SimpleQueue[Future]" = queue.SimpleQueue()
        failure_streak = 0

        # The look for another writer runs in a thread of its own, holding back the window it clears, while
        # the rows already journaled go on being sent: made in the sending loop, each look (a listing, a round
        # trip) let the requests in flight run out before any more left.
        look: tuple[Future, list[JournalRow]] | None = None

        def top_up() -> None:
            # Rows are journaled `sending` a window at a time, in one commit, ahead of their
            # requests: one fsync per window instead of one in every request's path.
            nonlocal look
            if look is None:
                if len(ready) >= self.concurrency or not pending:
                    return
                window = [pending.popleft() for _ in range(min(2 * self.concurrency - len(ready), len(pending)))]
                # Before the first window and then every OTHER_WRITER_ROWS rows: has another import created
                # these rows, or the ones sent since the last look? None of the window is sent before it says.
                if self._since_check is not None and len(self._since_check) + len(window) < OTHER_WRITER_ROWS:
                    release(window)
                    return
                look = (checker.submit(check_no_other_writer, self.client, self.journal, batch,
                                       [*(self._since_check or ()), *window]), window)
            future, window = look
            if ready and not future.done():
                return
            look = None
            try:
                future.result()
            except OtherWriter as exc:
                pending.extendleft(reversed(window))
                report.other_writer = exc
                report.stopped_reason = "another import is creating the same rows"
                return
            self._since_check = []
            release(window)

        def release(window: list[JournalRow]) -> None:
            assert self._since_check is not None
            self._since_check.extend(window)
            # In `ready` first: if Ctrl-C lands mid-commit, the finally below still puts them back.
            ready.extend(window)
            self.journal.mark_sending_many(window[0].batch_id, [r.row_index for r in window])

        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="psimport-write") as pool, \
                ThreadPoolExecutor(max_workers=1, thread_name_prefix="psimport-look") as checker:
            try:
                while ready or pending or in_flight or look:
                    while not self._stop.is_set() and not report.stopped_reason:
                        top_up()
                        if not ready:
                            break
                        epoch = self.limit.try_acquire()
                        if epoch is None:
                            break
                        row = ready.popleft()
                        future = pool.submit(self._create, row, epoch)
                        in_flight[future] = row
                        future.add_done_callback(finished_queue.put)
                    if not in_flight:
                        if self._stop.is_set() or report.stopped_reason:
                            break
                        self.sleep(min(0.05, self.limit.wait_hint()) or 0.005)
                        continue
                    finished = _take_finished(finished_queue, timeout=0.25)
                    for future in finished:
                        row = in_flight.pop(future)
                        outcome, detail = future.result()
                        if outcome == "created":
                            report.created += 1
                            done += 1
                            failure_streak = 0
                            self.progress(done, report.planned)
                        elif outcome == "throttled":
                            pending.appendleft(row)
                        else:
                            failure_streak += 1
                            if failure_streak >= FAILURE_STREAK_LIMIT and not report.stopped_reason:
                                report.stopped_reason = (f"stopped after {failure_streak} errors in a row; "
                                                         f"the last: {detail}")
            finally:
                # Journaled `sending` but never submitted: definitely not sent. (If this is lost
                # with the process, a lookup finds nothing and the row is sent next time.)
                for row in ready:
                    self.journal.mark_not_sent(row.batch_id, row.row_index, durable=False)
        return done

    def _create(self, row: JournalRow, epoch: int) -> tuple[str, str | None]:
        """One row's request, already journaled `sending`; runs in a worker thread."""
        success = False
        self._local.epoch = epoch
        try:
            try:
                created = self.client.create_transaction(row.account_id, _body_for_client(row))
            except ApiError as exc:
                if _is_throttle(exc):
                    # The client gave up waiting: definitely not created, so it goes back in the queue.
                    self.limit.throttled(_retry_after(exc), epoch)
                    self.journal.mark_not_sent(row.batch_id, row.row_index, durable=False)
                    return "throttled", str(exc)
                if _is_unknown(exc):
                    self.journal.mark_unknown(row.batch_id, row.row_index, str(exc), durable=False)
                    return "unknown", str(exc)
                self.journal.mark_not_sent(row.batch_id, row.row_index, str(exc), durable=False)
                return "failed", str(exc)
            except Exception as exc:  # noqa: BLE001 - a transport error the client did not map: unknown
                self.journal.mark_unknown(row.batch_id, row.row_index, f"{type(exc).__name__}: {exc}",
                                          durable=False)
                return "unknown", str(exc)
            # Deferred to the next group commit: lost with the process, the row is still `sending`
            # and is settled by lookup, so this need not cost an fsync of its own.
            self.journal.mark_created(row.batch_id, row.row_index, created.id, snapshot(created), durable=False)
            success = True
            return "created", None
        finally:
            self.limit.release(success)


def _take_finished(finished: "queue.SimpleQueue[Future]", timeout: float) -> list[Future]:
    """The futures finished by now, waiting up to `timeout` for the first one."""
    try:
        taken = [finished.get(timeout=timeout)]
    except queue.Empty:
        return []
    while True:
        try:
            taken.append(finished.get_nowait())
        except queue.Empty:
            return taken


def settle_unknown(client: "Client", journal: Journal, rows: Iterable[JournalRow],
                   existing: dict[int, list[int]] | None = None, target: str = "") -> int:
    """Look up rows whose create has an unknown outcome; found → settled, not found → planned again.

    A PocketSmith transaction settles a row when it has the row's account, date, amount and
    payee, no journal row claims it, and it was not in PocketSmith when the batch was planned.
    Identical rows take distinct transactions. Returns how many were found.
    """
    by_account: dict[int, list[JournalRow]] = {}
    for row in rows:
        by_account.setdefault(row.account_id, []).append(row)
    found = 0
    for account_id, account_rows in by_account.items():
        dates = [date.fromisoformat(r.body["date"]) for r in account_rows]
        candidates = client.transactions(account_id, min(dates), max(dates))
        excluded = journal.claimed_ids(account_id, target) | set((existing or {}).get(account_id, ()))
        pool: dict[str, list[PsTransaction]] = {}
        for txn in sorted(candidates, key=lambda t: t.id):
            if txn.id in excluded or txn.date is None:
                continue
            pool.setdefault(fingerprint(account_id, txn.date.isoformat(), txn.amount, txn.payee), []).append(txn)
        keys = {row.row_index: fingerprint(account_id, row.body["date"], Decimal(str(row.body["amount"])),
                                           row.body["payee"]) for row in account_rows}
        # More unexplained copies of a row than this batch's unanswered creates of it could have made:
        # another import made them, and none is claimed (check_no_other_writer says the rest).
        asked = Counter(keys.values())
        foreign = [txn for key, txns in pool.items() if key in asked and len(txns) > asked[key] for txn in txns]
        if foreign:
            raise OtherWriter(account_rows[0].batch_id, account_id, foreign)
        for row in sorted(account_rows, key=lambda r: r.row_index):
            key = keys[row.row_index]
            matches = pool.get(key)
            if matches:
                txn = matches.pop(0)
                journal.mark_created(row.batch_id, row.row_index, txn.id, snapshot(txn), settled=True)
                found += 1
            else:
                journal.mark_not_sent(row.batch_id, row.row_index)
    return found


# ─── undo ──────────────────────────────────────────────────────────────────────────────────

@dataclass
class UndoReport:
    batch_id: str
    deleted: int = 0
    gone: int = 0                                            # already deleted in PocketSmith
    kept: list[tuple[int, int, list[str]]] = field(default_factory=list)   # (row, ps id, changed fields)
    failed: list[tuple[int, str]] = field(default_factory=list)
    abandoned: int = 0                                       # planned rows never sent, now dropped

    @property
    def complete(self) -> bool:
        return not self.failed


def undo_batch(client: "Client", journal: Journal, batch_id: str, *, concurrency: int = START_CONCURRENCY,
               progress: Callable[[int, int], None] | None = None) -> UndoReport:
    """Delete what a batch created, keeping (and listing) any transaction changed in PocketSmith since."""
    batch = journal.batch(batch_id)
    report = UndoReport(batch_id=batch.id)
    unknown = journal.rows(batch.id, ["sending"])
    if unknown:
        settle_unknown(client, journal, unknown, batch.existing, batch.target)
    for row in journal.rows(batch.id, ["planned", "failed"]):
        journal.mark_skipped(row.batch_id, row.row_index, "not sent: the batch was undone first")
        report.abandoned += 1
    rows = journal.rows(batch.id, DONE_STATES)
    progress = progress or (lambda done, total: None)
    lock = threading.Lock()
    done = 0

    def undo_one(row: JournalRow) -> None:
        nonlocal done
        try:
            try:
                current = client.get_transaction(row.ps_id)
            except ApiError as exc:
                if getattr(exc, "status", None) == 404:
                    journal.mark_undone(row.batch_id, row.row_index, "already deleted in PocketSmith")
                    with lock:
                        report.gone += 1
                    return
                raise
            changed = changed_fields(row.snapshot or {}, current) if row.snapshot else []
            if changed:
                journal.note(row.batch_id, row.row_index, "kept by undo: changed in PocketSmith ("
                             + ", ".join(changed) + ")")
                with lock:
                    report.kept.append((row.row_index, row.ps_id, changed))
                return
            try:
                client.delete_transaction(row.ps_id)
            except ApiError as exc:
                if getattr(exc, "status", None) != 404:
                    raise
            journal.mark_undone(row.batch_id, row.row_index)
            with lock:
                report.deleted += 1
        except ApiError as exc:
            with lock:
                report.failed.append((row.row_index, str(exc)))
        finally:
            with lock:
                done += 1
                progress(done, len(rows))

    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, MAX_CONCURRENCY)),
                            thread_name_prefix="psimport-undo") as pool:
        list(pool.map(undo_one, rows))
    report.kept.sort()
    report.failed.sort()
    if report.complete:
        journal.finish_batch(batch.id)
        journal.mark_batch_undone(batch.id)
    return report
