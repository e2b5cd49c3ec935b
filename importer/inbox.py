"""`psimport import --inbox DIR`: every statement in a folder that the config routes, one batch a file, moved when done.

The monthly routine: download the statements into one folder, run one command (or let cron run
it). Each statement file is imported as its own batch (so one bad file holds up only itself),
and a file whose every row is now in PocketSmith is moved to `DIR/imported/YYYY-MM/`. A file
stays where it is, with the reason, when it has rows left for review, could not be read, is not
routed to an account by the config, or its batch did not finish. A lock in the folder keeps two
runs (two cron jobs, or cron and a person) from working on it at once.
"""

from __future__ import annotations

import shlex
import shutil
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

from importer.errors import Busy, ConfigError, ImporterError, InputError

if TYPE_CHECKING:
    from importer.config import Config
    from importer.pocketsmith.protocol import Client
    from importer.write.batches import ImportResult

__all__ = ["InboxResult", "FileOutcome", "run_inbox", "inbox_files", "inbox_lock", "IMPORTED_DIR",
           "NEEDS_A_PERSON_EXIT"]

IMPORTED_DIR = "imported"
LOCK_FILE = ".psimport-inbox.lock"
NEEDS_A_PERSON_EXIT = 6      # the run went fine, and some files wait for a person (the summary says why)


@dataclass
class FileOutcome:
    """What happened to one file: `imported` (moved), `ignored` (not a statement), or `left` with `why`."""

    path: Path
    status: str
    created: int = 0
    duplicates: int = 0
    review: int = 0
    why: str = ""
    moved_to: Path | None = None


@dataclass
class InboxResult:
    inbox: Path
    outcomes: list[FileOutcome] = field(default_factory=list)

    def with_status(self, status: str) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.status == status]

    @property
    def needs_a_person(self) -> bool:
        return bool(self.with_status("left"))

    @property
    def created(self) -> int:
        return sum(o.created for o in self.outcomes)

    @property
    def duplicates(self) -> int:
        return sum(o.duplicates for o in self.outcomes)


def inbox_files(inbox: Path) -> list[Path]:
    """The files directly in the inbox, in name order: not its imported/ folder, hidden files or the lock."""
    if not inbox.is_dir():
        raise ConfigError("the inbox folder does not exist; create it, or give another with --inbox DIR",
                          file=str(inbox))
    return sorted(p for p in inbox.iterdir() if p.is_file() and not p.name.startswith("."))


@contextmanager
def inbox_lock(inbox: Path) -> Iterator[None]:
    """One run on an inbox at a time; the OS drops the lock if the holder dies, even by SIGKILL."""
    from importer.config import pid_lock
    with pid_lock(inbox / LOCK_FILE, lambda holder: Busy(
            f"another psimport run is importing this inbox (pid {holder}); this one did nothing. "
            "It will be picked up by the next run", file=str(inbox))):
        yield


def run_inbox(inbox: Path, *, config: "Config", client: "Client", import_file: Callable[[Path], "ImportResult"],
              today: date | None = None, on_file: Callable[[Path], None] | None = None,
              command: Callable[..., str] | None = None) -> InboxResult:
    """Import each routed statement in `inbox` with `import_file(path)` (one batch), and move the finished ones.

    A file's own problem (unreadable, not routed, review rows, an unfinished batch) leaves it in place
    and the run goes on; a problem reaching PocketSmith at all, or Ctrl-C, stops the run. `command(*words)`
    makes the psimport commands said for a file left (review, init), with the run's own options.
    """
    command = command or (lambda *words: shlex.join(["psimport", *words]))
    from importer.parsers import STATEMENT_SUFFIXES
    from importer.pipeline import locate
    from importer.write.writer import IncompleteBatch

    inbox = Path(inbox)
    result = InboxResult(inbox)
    month = (today or date.today()).strftime("%Y-%m")
    inbox_files(inbox)      # a missing folder is said as such, before the lock file would be made in it
    with inbox_lock(inbox):
        for path in inbox_files(inbox):
            if path.suffix.lower() not in STATEMENT_SUFFIXES:
                result.outcomes.append(FileOutcome(path, "ignored", why="not a statement file name"))
                continue
            if on_file is not None:
                on_file(path)
            try:
                located = locate([path], config=config, client=client)
            except (InputError, ConfigError) as exc:
                routed = "no PocketSmith transaction account" not in exc.message
                why = _why(exc) if routed else \
                    f"no account for it in {config.path or 'psimport.yaml'}; `{command('init', str(path))}` sets one up"
                result.outcomes.append(FileOutcome(path, "left", why=why))
                continue
            if not located.statements:
                result.outcomes.append(FileOutcome(path, "ignored", why="not a statement psimport recognises"))
                continue
            try:
                done = import_file(path)
            except IncompleteBatch as exc:
                if exc.exit_code == 130:
                    raise
                result.outcomes.append(FileOutcome(path, "left", why=_why(exc)))
                continue
            except (InputError, ConfigError) as exc:
                result.outcomes.append(FileOutcome(path, "left", why=_why(exc)))
                continue
            result.outcomes.append(_settle(path, done, inbox / IMPORTED_DIR / month, command))
    return result


def _why(error: ImporterError) -> str:
    """An error's first line, as said of the file it is about (its line, when it has one)."""
    first = error.message.split("\n", 1)[0]
    return f"line {error.line}: {first}" if error.line else first


def _settle(path: Path, done: "ImportResult", imported: Path, command: Callable[..., str]) -> FileOutcome:
    """Move a file whose rows are all in PocketSmith now; keep one with rows for review where it is."""
    if done.batch_id is None:      # nothing to import: every row a duplicate, skipped, or for review
        review = done.counts.get("review", 0)
        outcome = FileOutcome(path, "imported", duplicates=done.counts.get("duplicate", 0), review=review)
    else:
        review = len(done.review)
        outcome = FileOutcome(path, "imported", created=done.created, duplicates=done.duplicates, review=review)
    if review:
        outcome.status = "left"
        # Never "--accept-review creates them": it would create the ones PocketSmith holds already too.
        outcome.why = (f"{review} {'row' if review == 1 else 'rows'} for review, possibly in PocketSmith already; "
                       f"decide each with: {command('review', str(path))}")
        return outcome
    outcome.moved_to = _move(path, imported)
    return outcome


def _move(path: Path, folder: Path) -> Path:
    """Move `path` into `folder`, never over a file already there (a month's second download of the same name)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    number = 1
    while target.exists():
        number += 1
        target = folder / f"{path.stem}-{number}{path.suffix}"
    shutil.move(str(path), str(target))
    return target
