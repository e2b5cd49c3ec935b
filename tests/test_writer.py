"""The writer against a real sandbox over HTTP: every planned row created once, whatever the faults; settle, resume, undo."""

from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import pytest

from importer.write.journal import Journal, NewRow
from importer.sandbox.server import Faults
from importer.write.writer import AdaptiveLimit, Writer, undo_batch

EVERYDAY, VISA = 510001, 510002
COFFEE = 7011


def _bodies(n, account=EVERYDAY, start=date(2024, 3, 1)):
    """Rows with every field the writer sends; a pair of identical coffees on one day among them."""
    rows = []
    for i in range(n):
        body = {"payee": f"Shop {i % 7}", "amount": str(Decimal(-100 - i) / 100), "date":
                (start + timedelta(days=i % 5)).isoformat(), "needs_review": i % 4 == 0, "is_transfer": i % 9 == 0}
        if i % 3 == 0:
            body.update(memo=f"memo {i}", note=f"note {i}", cheque_number=str(1000 + i))
        if i % 2 == 0:
            body.update(labels=["imported", f"l{i % 3}"], category_id=COFFEE)
        rows.append((account, body))
    coffee = {"payee": "Daily Grind", "amount": "-4.50", "date": start.isoformat(), "needs_review": False,
              "is_transfer": False}
    rows += [(account, dict(coffee)), (account, dict(coffee))]
    return rows


def _batch(journal, rows, existing=None, target="test"):
    return journal.create_batch(
        key="k", files=[], accounts=sorted({a for a, _ in rows}), plan={}, target=target, existing=existing,
        rows=[NewRow(i, account, f"X{i}", f"fp{i}", "create", True, body) for i, (account, body) in enumerate(rows)])


def _key(txn):
    """A stored sandbox transaction reduced to what the importer sent."""
    return (txn["transaction_account_id"], txn["date"].isoformat(), txn["amount"], txn["payee"], txn["memo"],
            txn["note"], txn["cheque_number"], tuple(txn["labels"]), txn["category_id"], txn["needs_review"],
            txn["is_transfer"])


def _planned_key(account, body):
    return (account, body["date"], Decimal(body["amount"]), body["payee"], body.get("memo"), body.get("note"),
            body.get("cheque_number"), tuple(body.get("labels", ())), body.get("category_id"),
            body["needs_review"], body["is_transfer"])


def assert_exactly_once(sandbox, rows, journal, batch_id):
    """What the sandbox holds is exactly the planned rows, each once, and the journal knows each one's id."""
    stored = [t for a in {a for a, _ in rows} for t in sandbox.transactions(a)]
    assert Counter(_key(t) for t in stored) == Counter(_planned_key(a, b) for a, b in rows)
    journaled = journal.rows(batch_id)
    assert all(r.state in ("created", "settled") for r in journaled), Counter(r.state for r in journaled)
    assert sorted(r.ps_id for r in journaled) == sorted(t["id"] for t in stored)


@pytest.fixture
def journal(tmp_path):
    with Journal(tmp_path / "state" / "journal.sqlite3") as j:
        yield j


def test_every_row_is_created_once_with_its_fields(sandbox, journal):
    rows = _bodies(30) + _bodies(6, account=VISA)
    batch_id = _batch(journal, rows)
    seen = []
    report = Writer(sandbox.client(), journal, concurrency=8, progress=lambda d, t: seen.append((d, t))).run(batch_id)
    assert report.complete and report.created == len(rows) and report.settled == 0
    assert_exactly_once(sandbox, rows, journal, batch_id)
    assert seen[-1] == (len(rows), len(rows))
    assert journal.batch(batch_id).status == "complete"
    posts = [r for r in sandbox.requests if r.method == "POST"]
    assert len(posts) == len(rows)


def test_faults_of_every_kind_still_end_exactly_once(make_sandbox, journal):
    sandbox = make_sandbox(faults=Faults(latency=0.002, rate_429=0.1, retry_after=0.02, rate_500=0.1,
                                         rate_drop_after_create=0.1, seed=7))
    rows = _bodies(60)
    batch_id = _batch(journal, rows)
    report = Writer(sandbox.client(), journal, concurrency=8, settle_delay=0).run(batch_id)
    assert report.complete, report
    faults = Counter(r.fault for r in sandbox.requests if r.fault)
    assert faults[429] and faults[500] and faults["drop_after_commit"], faults
    assert report.settled >= faults["drop_after_commit"]       # each committed-then-dropped create was found
    assert report.throttles >= 1
    assert_exactly_once(sandbox, rows, journal, batch_id)


def test_a_create_that_committed_unanswered_is_found_not_resent(sandbox, journal):
    rows = _bodies(5)
    sandbox.faults.inject("drop_after_commit", method="POST")
    batch_id = _batch(journal, rows)
    report = Writer(sandbox.client(), journal, concurrency=1, settle_delay=0).run(batch_id)
    assert report.complete and report.settled == 1 and report.created == len(rows) - 1
    assert sum(r.method == "POST" for r in sandbox.requests) == len(rows)
    assert journal.row(batch_id, 0).state == "settled"
    assert_exactly_once(sandbox, rows, journal, batch_id)


def test_a_create_that_never_arrived_is_looked_up_then_sent_again(sandbox, journal):
    rows = _bodies(3)
    sandbox.faults.inject("drop", method="POST")                  # closed before doing anything
    batch_id = _batch(journal, rows)
    report = Writer(sandbox.client(), journal, concurrency=1, settle_delay=0).run(batch_id)
    assert report.complete and report.settled == 0
    assert sum(r.method == "POST" for r in sandbox.requests) == len(rows) + 1
    assert journal.row(batch_id, 0).attempts == 2
    assert_exactly_once(sandbox, rows, journal, batch_id)


def test_resume_settles_rows_a_dead_process_left_sending(sandbox, journal):
    # Rows 0-1 (the identical coffees) and 2: the dead process POSTed 0 and 1 and was killed before
    # journaling the answers; row 2 was journaled `sending` but its request never left.
    coffee = {"payee": "Daily Grind", "amount": "-4.50", "date": "2024-03-01", "needs_review": False,
              "is_transfer": False}
    rows = [(EVERYDAY, dict(coffee)), (EVERYDAY, dict(coffee)), (EVERYDAY, dict(coffee, payee="Bakery"))] + \
        _bodies(4)[:4]
    client = sandbox.client()
    # An identical coffee PocketSmith held before the batch was planned must not be claimed.
    before = client.create_transaction(EVERYDAY, {"payee": "Daily Grind", "amount": Decimal("-4.50"),
                                                  "date": date(2024, 3, 1)})
    batch_id = _batch(journal, rows, existing={EVERYDAY: [before.id]})
    for index in (0, 1, 2):
        journal.mark_sending(batch_id, index)
    from importer.write.writer import _body_for_client
    for index in (0, 1):
        client.create_transaction(EVERYDAY, _body_for_client(journal.row(batch_id, index)))
    posts_before = sum(r.method == "POST" for r in sandbox.requests)
    report = Writer(client, journal, concurrency=4, settle_delay=0).run(batch_id)
    assert report.complete and report.settled == 2
    assert sum(r.method == "POST" for r in sandbox.requests) - posts_before == len(rows) - 2
    ids = {journal.row(batch_id, i).ps_id for i in (0, 1)}
    assert len(ids) == 2 and before.id not in ids
    stored = sandbox.transactions(EVERYDAY)
    assert len(stored) == len(rows) + 1
    assert Counter(_key(t) for t in stored if t["id"] != before.id) == Counter(_planned_key(a, b) for a, b in rows)


def test_refused_rows_fail_the_batch_and_are_tried_again_by_the_next_run(sandbox, journal):
    rows = _bodies(3) + [(EVERYDAY, {"payee": "Bad", "amount": "-1.00", "date": "2024-03-02",
                                     "category_id": 1, "needs_review": False, "is_transfer": False})]
    batch_id = _batch(journal, rows)
    report = Writer(sandbox.client(), journal, settle_delay=0).run(batch_id)
    bad = len(rows) - 1
    assert not report.complete and [i for i, _ in report.failed] == [bad] and "422" in report.failed[0][1]
    assert journal.batch(batch_id).status == "open"
    again = Writer(sandbox.client(), journal, settle_delay=0).run(batch_id)
    assert again.created == 0 and len(again.failed) == 1 and journal.row(batch_id, bad).attempts == 2
    assert len(sandbox.transactions(EVERYDAY)) == len(rows) - 1


def test_stopping_lets_requests_in_flight_finish_and_a_rerun_completes(make_sandbox, journal):
    sandbox = make_sandbox(faults=Faults(latency=0.01))
    rows = _bodies(40)
    batch_id = _batch(journal, rows)
    writer = Writer(sandbox.client(), journal, concurrency=4, settle_delay=0)
    writer.progress = lambda done, total: writer.stop() if done >= 10 else None
    first = writer.run(batch_id)
    assert not first.complete and first.left > 0 and not first.unknown
    assert 10 <= first.created < len(rows)
    assert len(sandbox.transactions(EVERYDAY)) == first.created       # everything sent was journaled
    second = Writer(sandbox.client(), journal, concurrency=4, settle_delay=0).run(batch_id)
    assert second.complete and second.already_done == first.created
    assert_exactly_once(sandbox, rows, journal, batch_id)


def test_a_row_created_meanwhile_by_another_batch_is_not_sent_again(sandbox, journal):
    rows = _bodies(3)
    first = _batch(journal, rows)
    Writer(sandbox.client(), journal, settle_delay=0).run(first)
    second = _batch(journal, rows)                                      # same external ids, same account
    report = Writer(sandbox.client(), journal, settle_delay=0).run(second)
    assert report.complete and report.created == 0 and report.skipped_now == len(rows)
    assert len(sandbox.transactions(EVERYDAY)) == len(rows)


def test_undo_deletes_what_the_batch_created_but_keeps_what_the_user_changed(sandbox, journal):
    rows = _bodies(8)
    batch_id = _batch(journal, rows)
    client = sandbox.client()
    Writer(client, journal, settle_delay=0).run(batch_id)
    changed, gone = journal.row(batch_id, 1), journal.row(batch_id, 2)
    client.update_transaction(changed.ps_id, {"note": "I checked this one"})
    client.delete_transaction(gone.ps_id)
    report = undo_batch(client, journal, batch_id)
    assert (report.deleted, report.gone) == (len(rows) - 2, 1)
    assert [(r, ps_id) for r, ps_id, _ in report.kept] == [(1, changed.ps_id)]
    assert report.kept[0][2] == ["note"]
    assert [t["id"] for t in sandbox.transactions(EVERYDAY)] == [changed.ps_id]
    assert journal.imported(EVERYDAY, "test") == {"X1": changed.ps_id}     # undone rows may come again
    assert journal.batch(batch_id).undone_at is not None


def test_the_limit_starts_at_its_start_and_grows_by_one_per_run_of_successes_to_the_maximum():
    limit = AdaptiveLimit(6, start=4)
    held = [limit.try_acquire() for _ in range(4)]
    assert None not in held and limit.try_acquire() is None              # 4 in flight, no more yet
    for _ in range(4):
        limit.release(True)
    assert limit.limit == 5                                               # a run of 4 successes: one more
    for _ in range(5):
        assert limit.try_acquire() is not None
        limit.release(True)
    assert limit.limit == 6
    for _ in range(30):
        assert limit.try_acquire() is not None
        limit.release(True)
    assert limit.limit == 6                                               # never past the maximum
    assert AdaptiveLimit(3, start=16).limit == 3 and AdaptiveLimit(5).limit == 5


def test_a_writer_starts_at_16_in_flight_and_may_grow_to_its_concurrency(sandbox, journal):
    from importer.write.writer import START_CONCURRENCY
    assert Writer(sandbox.client(), journal, concurrency=32).limit.limit == START_CONCURRENCY == 16
    assert Writer(sandbox.client(), journal, concurrency=8).limit.limit == 8
    assert Writer(sandbox.client(), journal, concurrency=32).limit.maximum == 32


def test_the_limit_halves_once_per_window_pauses_and_grows_back():
    now = [100.0]
    limit = AdaptiveLimit(8, clock=lambda: now[0])
    epochs = [limit.try_acquire() for _ in range(8)]
    assert limit.try_acquire() is None                                   # all 8 in flight
    limit.throttled(2.0, epochs[0])
    limit.throttled(2.0, epochs[1])                                      # same window: no second cut
    assert limit.limit == 4 and limit.throttles == 2
    for _ in range(8):
        limit.release(False)
    assert limit.try_acquire() is None                                   # paused for Retry-After
    now[0] += 2.0
    for _ in range(4):
        assert limit.try_acquire() is not None
    assert limit.try_acquire() is None
    for _ in range(4):
        limit.release(True)                                              # a streak as long as the limit
    assert limit.limit == 5
    limit.throttled(None, limit.epoch)
    assert limit.limit == 2 and limit.lowest == 2


def test_ctrl_c_in_the_main_thread_only_asks_the_writer_to_stop(make_sandbox, journal):
    import os
    import signal
    sandbox = make_sandbox(faults=Faults(latency=0.01))
    rows = _bodies(40)
    batch_id = _batch(journal, rows)
    writer = Writer(sandbox.client(), journal, concurrency=4, settle_delay=0)
    sent = []

    def progress(done, total):
        if done >= 8 and not sent:
            sent.append(done)
            os.kill(os.getpid(), signal.SIGINT)      # lands in this (the main) thread's handler

    writer.progress = progress
    report = writer.run(batch_id)
    assert report.interrupted and not report.complete and not report.unknown
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler   # put back
    assert Counter(r.state for r in journal.rows(batch_id)) == {"created": report.created,
                                                                "planned": len(rows) - report.created}
    assert Writer(sandbox.client(), journal, settle_delay=0).run(batch_id).complete
    assert_exactly_once(sandbox, rows, journal, batch_id)


def test_ctrl_c_after_the_last_create_leaves_a_complete_batch(sandbox, journal):
    import os
    import signal
    rows = _bodies(6)
    batch_id = _batch(journal, rows)
    writer = Writer(sandbox.client(), journal, concurrency=2, settle_delay=0)

    def progress(done, total):
        if total and done == total:
            os.kill(os.getpid(), signal.SIGINT)      # Ctrl-C just as the last create is journaled

    writer.progress = progress
    report = writer.run(batch_id)
    assert report.interrupted and report.complete and report.left == 0 and not report.unknown
    assert journal.batch(batch_id).status == "complete"
    assert_exactly_once(sandbox, rows, journal, batch_id)


def test_what_other_batches_imported_is_read_once_per_account_not_once_per_row(sandbox, journal, monkeypatch):
    # The journal query grows with every import ever made; asked per row it made a big batch's start slow.
    rows = _bodies(40) + _bodies(5, account=VISA)
    batch_id = _batch(journal, rows)
    asked = []
    imported = journal.imported
    monkeypatch.setattr(journal, "imported", lambda account, target="": asked.append(account) or imported(account,
                                                                                                          target))
    Writer(sandbox.client(), journal, concurrency=4, settle_delay=0).run(batch_id)
    assert sorted(asked) == [EVERYDAY, VISA]
    assert_exactly_once(sandbox, rows, journal, batch_id)


def test_the_look_for_another_writer_runs_beside_the_sends_and_still_stops_the_batch(sandbox, journal, monkeypatch):
    # Another import creates rows 20-29 of this batch while it runs: a look (now made beside the requests in
    # flight, not in their way) finds them before this batch has sent them all, and the batch stops.
    from importer.write import writer as writer_module
    from importer.write.others import OtherWriter
    monkeypatch.setattr(writer_module, "OTHER_WRITER_ROWS", 8)
    rows = [(EVERYDAY, {"payee": f"Shop {i}", "amount": str(Decimal(-100 - i) / 100), "date": "2024-03-01",
                        "needs_review": False, "is_transfer": False}) for i in range(30)]
    batch_id = _batch(journal, rows)
    client, other = sandbox.client(), sandbox.client()
    sent = []
    create = client.create_transaction

    def create_and_meanwhile_the_other_import(account_id, body):
        made = create(account_id, body)
        sent.append(body["payee"])
        if len(sent) == 6:
            for account, later in rows[20:]:
                other.create_transaction(account, {**later, "amount": Decimal(later["amount"]),
                                                   "date": date.fromisoformat(later["date"])})
        return made

    monkeypatch.setattr(client, "create_transaction", create_and_meanwhile_the_other_import)
    report = Writer(client, journal, concurrency=2, settle_delay=0).run(batch_id)
    assert isinstance(report.other_writer, OtherWriter) and not report.complete
    states = {r.row_index: r.state for r in journal.rows(batch_id)}
    assert all(states[i] == "created" for i in range(6))
    assert any(states[i] == "planned" for i in range(20, 30))        # stopped before sending them all
