"""Run `psimport` (its arguments after this script's name) with clocks on: where an import's time goes.

Used by import_speed.py. Wraps, in this process only, the client's requests and the journal's
commits, and when the command ends writes to $PSIMPORT_PROBE_OUT a JSON object of times (seconds
since this script started; the parent adds the interpreter's own start-up):
`requests` [[method, kind, start, end, thread id]...], `commits` [[what, start, end, thread id]...],
`batch_created` (the batch and its rows in the journal), `writer_start`, `end`, and `limit` (the
largest number of requests in flight at once, with when it was first reached).
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import atexit  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _clock() -> float:
    return time.perf_counter() - STARTED


events: dict = {"requests": [], "commits": [], "batch_created": None, "writer_start": None, "end": None,
                "most_in_flight": 0, "most_in_flight_at": None}
_lock = threading.Lock()
_in_flight = 0


def _wrap_client() -> None:
    from importer.pocketsmith.client import PocketSmith

    send = PocketSmith._send

    def timed_send(self, method, url, *args, **kwargs):
        global _in_flight
        kind = "create" if kwargs.get("create") else ("list" if "transactions" in str(url) else "other")
        start = _clock()
        with _lock:
            _in_flight += 1
            if _in_flight > events["most_in_flight"]:
                events["most_in_flight"], events["most_in_flight_at"] = _in_flight, start
        try:
            return send(self, method, url, *args, **kwargs)
        finally:
            with _lock:
                _in_flight -= 1
            events["requests"].append([method, kind, start, _clock(), threading.get_ident()])

    PocketSmith._send = timed_send


def _wrap_journal() -> None:
    from importer.write import journal, writer

    def timed(name, function):
        def wrapper(*args, **kwargs):
            start = _clock()
            try:
                return function(*args, **kwargs)
            finally:
                events["commits"].append([name, start, _clock(), threading.get_ident()])
        return wrapper

    flush = journal.Journal.flush

    def timed_flush(self, *args, **kwargs):
        if not self._pending:      # nothing queued: no commit
            return flush(self, *args, **kwargs)
        return timed("commit", flush)(self, *args, **kwargs)

    journal.Journal.flush = timed_flush
    create_batch = journal.Journal.create_batch

    def timed_create_batch(self, *args, **kwargs):
        start = _clock()
        try:
            return create_batch(self, *args, **kwargs)
        finally:
            events["batch_created"] = _clock()
            events["commits"].append(["create_batch", start, _clock(), threading.get_ident()])

    journal.Journal.create_batch = timed_create_batch
    run = writer.Writer.run

    def timed_run(self, *args, **kwargs):
        events["writer_start"] = _clock()
        return run(self, *args, **kwargs)

    writer.Writer.run = timed_run


def _write() -> None:
    events["end"] = _clock()
    Path(os.environ["PSIMPORT_PROBE_OUT"]).write_text(json.dumps(events))


if __name__ == "__main__":
    _wrap_client()
    _wrap_journal()
    atexit.register(_write)
    from importer.cli import main

    sys.argv = ["psimport", *sys.argv[1:]]
    main()
