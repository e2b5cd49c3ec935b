"""The journal: batches, the row state machine, what counts as imported, durability, and the import lock."""

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from importer.errors import Busy, InputError
from importer.write.journal import Journal, NewRow, import_lock


def _rows(n, account=7, send=True):
    return [NewRow(row_index=i, account_id=account, external_id=f"FIT{i}", fingerprint=f"fp{i}",
                   action="create" if send else "duplicate", send=send,
                   body={"payee": f"Shop {i}", "amount": "-1.10", "date": "2024-01-0%d" % (i + 1)})
            for i in range(n)]


@pytest.fixture
def journal(tmp_path):
    with Journal.in_state_dir(tmp_path) as j:
        yield j


def _batch(journal, n=3, key="k1", **kw):
    return journal.create_batch(key=key, files=[{"path": "a.ofx", "sha256": "ab"}], accounts=[7],
                                plan={"summary": {}}, rows=_rows(n, **kw), existing={7: [1, 2]})


def test_a_batch_records_its_rows_planned_and_its_plan(journal):
    batch_id = _batch(journal)
    info = journal.batch(batch_id)
    assert info.counts == {"planned": 3}
    assert info.files == [{"path": "a.ofx", "sha256": "ab"}] and info.accounts == [7]
    assert info.existing == {7: [1, 2]}
    assert journal.plan_of(batch_id) == {"summary": {}}
    assert [r.row_index for r in journal.rows(batch_id)] == [0, 1, 2]
    assert journal.rows(batch_id)[0].body["amount"] == "-1.10"


def test_batches_begun_in_one_second_that_draw_the_same_suffix_get_ids_of_their_own(journal, monkeypatch):
    import secrets
    from datetime import datetime, timezone

    import importer.write.journal as journal_module

    class OneSecond(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime(2026, 12, 4, 21, 0, 0, tzinfo=timezone.utc)
    monkeypatch.setattr(journal_module, "datetime", OneSecond)
    draws = iter(["beef", "beef", "f00d"])
    monkeypatch.setattr(secrets, "token_hex", lambda n: next(draws))
    first, second = _batch(journal, key="a"), _batch(journal, key="b")
    assert first.endswith("-beef") and second.endswith("-f00d")
    assert journal.batch(second).counts == {"planned": 3}


def test_rows_not_to_send_are_kept_as_skipped(journal):
    batch_id = journal.create_batch(key="k", files=[], accounts=[7], plan={},
                                    rows=_rows(2) + [NewRow(5, 7, "FITX", "fp", "duplicate", False, None)])
    assert journal.batch(batch_id).counts == {"planned": 2, "skipped": 1}


def test_the_state_machine_is_enforced(journal):
    batch_id = _batch(journal)
    with pytest.raises(RuntimeError):
        journal.mark_created(batch_id, 0, 99, {})          # never sent
    journal.mark_sending(batch_id, 0)
    with pytest.raises(RuntimeError):
        journal.mark_sending(batch_id, 0)                   # already in flight
    journal.mark_created(batch_id, 0, 99, {"payee": "Shop 0"})
    row = journal.row(batch_id, 0)
    assert (row.state, row.ps_id, row.attempts) == ("created", 99, 1)
    journal.mark_sending(batch_id, 1)
    journal.mark_not_sent(batch_id, 1, "422 invalid")
    assert journal.row(batch_id, 1).state == "failed"
    journal.mark_sending(batch_id, 1)                       # a failed row may be sent again
    journal.mark_unknown(batch_id, 1, "connection dropped")
    assert journal.row(batch_id, 1).state == "sending"
    journal.mark_created(batch_id, 1, 100, {}, settled=True)
    assert journal.row(batch_id, 1).state == "settled"


def test_imported_and_claimed_cover_created_and_settled_rows_until_undone(journal):
    batch_id = _batch(journal)
    for i, ps_id in ((0, 50), (1, 51)):
        journal.mark_sending(batch_id, i)
        journal.mark_created(batch_id, i, ps_id, {}, settled=bool(i))
    journal.mark_sending(batch_id, 2)                        # unknown: not imported, not claimed
    assert journal.imported(7) == {"FIT0": 50, "FIT1": 51}
    assert journal.claimed_ids(7) == {50, 51}
    assert journal.imported(8) == {}
    journal.mark_undone(batch_id, 0)
    assert journal.imported(7) == {"FIT1": 51}
    assert journal.claimed_ids(7) == {51}
    assert journal.batches_with_unknown_rows([7]) == [batch_id]
    assert journal.batches_with_unknown_rows([8]) == []


def test_an_unfinished_batch_is_found_by_key_until_finished(journal):
    batch_id = _batch(journal, n=1)
    assert journal.find_unfinished("k1").id == batch_id
    assert journal.find_unfinished("other") is None
    assert journal.finish_batch(batch_id) is False           # a row is still planned
    journal.mark_sending(batch_id, 0)
    journal.mark_created(batch_id, 0, 9, {})
    assert journal.finish_batch(batch_id) is True
    assert journal.find_unfinished("k1") is None
    assert journal.batch(batch_id).status == "complete"


def test_accepting_review_rows_later_reopens_the_batch(journal):
    rows = [NewRow(0, 7, "A", "fa", "review", False, {"payee": "x", "amount": "1", "date": "2024-01-01"}),
            NewRow(1, 7, "B", "fb", "duplicate", False, None)]
    batch_id = journal.create_batch(key="k", files=[], accounts=[7], plan={}, rows=rows)
    journal.finish_batch(batch_id)
    assert journal.promote_review(batch_id, [0, 1]) == 1
    assert journal.batch(batch_id).status == "open"
    assert journal.row(batch_id, 0).state == "planned"


def test_batches_are_found_by_unique_prefix(journal):
    first = _batch(journal, key="a")
    assert journal.batch(first[:10]).id == first
    with pytest.raises(InputError, match="no batch"):
        journal.batch("nope")
    second = _batch(journal, key="b")
    if first[:15] == second[:15]:
        with pytest.raises(InputError, match="several"):
            journal.batch(first[:15])
    assert [b.id for b in journal.batches()][:2] == sorted([first, second], reverse=True)


def test_sending_is_on_disk_before_the_process_dies(tmp_path):
    # A child journals `sending` and is SIGKILLed at once; the row must still say sending.
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {os.getcwd()!r})
        from importer.write.journal import Journal, NewRow
        j = Journal.in_state_dir({str(tmp_path)!r})
        b = j.create_batch(key="k", files=[], accounts=[1], plan={{}},
                           rows=[NewRow(0, 1, "X", "f", "create", True, {{"payee": "p", "amount": "1",
                                                                           "date": "2024-01-01"}})])
        j.mark_sending(b, 0)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert result.returncode == -signal.SIGKILL
    with Journal.in_state_dir(tmp_path) as j:
        (batch,) = j.batches()
        assert j.rows(batch.id)[0].state == "sending"


def test_only_one_import_holds_the_lock(tmp_path):
    with import_lock(tmp_path):
        with pytest.raises(Busy, match="another psimport"):
            with import_lock(tmp_path):
                pass
    with import_lock(tmp_path):                              # released on exit
        pass


def test_imports_into_different_targets_do_not_see_each_other(journal):
    real = journal.create_batch(key="r", files=[], accounts=[7], plan={}, rows=_rows(1), target="https://api")
    sandbox = journal.create_batch(key="s", files=[], accounts=[7], plan={}, rows=_rows(1), target="sandbox")
    for batch_id, ps_id in ((real, 1), (sandbox, 2)):
        journal.mark_sending(batch_id, 0)
        journal.mark_created(batch_id, 0, ps_id, {})
    assert journal.imported(7, "sandbox") == {"FIT0": 2}
    assert journal.claimed_ids(7, "https://api") == {1}
    assert journal.batch(sandbox).target == "sandbox"


def test_changes_from_many_threads_are_group_committed_and_deferred_ones_are_read_back(journal):
    from concurrent.futures import ThreadPoolExecutor
    batch_id = journal.create_batch(key="k", files=[], accounts=[7], plan={}, rows=_rows(200))

    def one(index):
        journal.mark_sending(batch_id, index)                  # durable: committed when this returns
        journal.mark_created(batch_id, index, 1000 + index, {}, durable=False)

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(one, range(200)))
    assert journal.batch(batch_id).counts == {"created": 200}   # a read commits what is queued first
    with pytest.raises(RuntimeError, match="expected one of"):
        journal.mark_created(batch_id, 1, 5, {}, durable=False)  # not sending: the next commit says so
        journal.flush()


def test_a_deferred_change_survives_close(tmp_path):
    with Journal.in_state_dir(tmp_path) as j:
        batch_id = _batch(j, n=1)
        j.mark_sending(batch_id, 0)
        j.mark_created(batch_id, 0, 9, {}, durable=False)
    with Journal.in_state_dir(tmp_path) as j:
        assert j.row(batch_id, 0).state == "created"
