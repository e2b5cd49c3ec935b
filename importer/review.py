"""`psimport review`: walk through the rows left for review, each beside its candidates, and keep each answer at once.

The flow only: the command line supplies a `Screen` that shows a row and reads one key, and
`importer.output.decisions` draws it. Every answer is saved in the journal the moment it is given
(a committed SQLite transaction), so Ctrl-C, a crash or `q` loses nothing, and the same command
again goes on with the rows still undecided.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, Sequence

from importer.decisions import amounts_fit, decision_for
from importer.plan import Action, Plan, PlanRow, row_identity
from importer.pocketsmith.models import PsTransaction
from importer.write.journal import Journal, StoredDecision

if TYPE_CHECKING:
    from importer.config import Config
    from importer.dedupe import DedupeSettings
    from importer.pocketsmith.protocol import Client

__all__ = ["Candidate", "Item", "Screen", "Review", "load_review", "KEYS", "MAX_CANDIDATES"]

MAX_CANDIDATES = 9          # one digit each
KEYS = {"n": "new", "s": "skip", "b": "back", "q": "quit", "\r": "later", "\n": "later"}


@dataclass
class Candidate:
    """A PocketSmith transaction a row may be: how far apart, how it scores, whether another row has it."""

    txn: PsTransaction
    days: int                       # the row's date minus the transaction's
    score: float | None
    reasons: list[str]
    proposed: bool                  # the one dedupe proposed
    taken_by: str | None = None     # "everyday.ofx line 618": another row is its duplicate


@dataclass
class Item:
    """One row to review, its candidates, and what was decided (earlier, or now)."""

    row: PlanRow
    candidates: list[Candidate]
    answer: StoredDecision | None = None
    answered_lines: dict[int, StoredDecision] = field(default_factory=dict)   # line -> answer, rows of its file

    @property
    def all_taken(self) -> bool:
        """Every candidate is another row's now: nothing is left for this row to be, so it is new."""
        return bool(self.candidates) and all(c.taken_by for c in self.candidates)

    @property
    def where(self) -> str:
        name = Path(self.row.record.file or "").name
        return f"{name} line {self.row.record.line}" if self.row.record.line is not None else name


class Screen(Protocol):
    """How the review talks to the person: the command line's terminal."""

    def show(self, item: Item, number: int, total: int) -> None:
        """Draw one row (number is 1-based) with its candidates and the keys."""

    def key(self) -> str:
        """One key press (Ctrl-C raises KeyboardInterrupt)."""

    def say(self, text: str) -> None:
        """A line of text."""


@dataclass
class Review:
    """The rows to go through, and the journal each answer goes to."""

    items: list[Item]
    journal: Journal
    target: str
    held_by: dict[int, str] = field(default_factory=dict)   # PocketSmith id -> the row that is its duplicate
    decided_before: int = 0          # rows of the plan decided before this review began
    answered_rows: set[int] = field(default_factory=set)     # plan rows answered in this review

    @property
    def answered(self) -> int:
        """How many rows this review answered (a row answered again, after `back`, counts once)."""
        return len(self.answered_rows)

    def answer(self, item: Item, action: str, candidate: Candidate | None = None) -> None:
        """Keep the answer now: committed before the next row is shown."""
        decision = decision_for(item.row, action, candidate.txn.id if candidate else None, target=self.target,
                                source="review")
        self.journal.save_decisions([decision])
        item.answer = decision
        self.answered_rows.add(item.row.index)
        self._mark_taken()

    def _mark_taken(self) -> None:
        """A "same as #N" answer takes #N: the other rows' candidate lists say so."""
        holders = dict(self.held_by)
        holders.update((i.answer.duplicate_of, i.where) for i in self.items
                       if i.answer is not None and i.answer.duplicate_of is not None)
        for item in self.items:
            for candidate in item.candidates:
                holder = holders.get(candidate.txn.id)
                candidate.taken_by = holder if holder != item.where else None
            # Why a row was asked ("line 618 fits as well") goes stale once line 618 is answered: the screen says so.
            item.answered_lines = {i.row.record.line: i.answer for i in self.items
                                   if i is not item and i.answer is not None and i.row.record.line is not None
                                   and i.row.record.file == item.row.record.file}

    def run(self, screen: Screen) -> bool:
        """Ask about each item in turn; True when the person went to the end, False on `q`."""
        self._mark_taken()
        at = 0
        while at < len(self.items):
            item = self.items[at]
            screen.show(item, at + 1, len(self.items))
            key = screen.key().lower()
            what = KEYS.get(key)
            if what == "quit":
                return False
            if what == "back":
                at = max(0, at - 1)
                continue
            if what == "later":
                at += 1
                continue
            if what in ("new", "skip"):
                self.answer(item, Action.CREATE if what == "new" else Action.SKIP)
            elif key.isdigit() and 1 <= int(key) <= len(item.candidates):
                candidate = item.candidates[int(key) - 1]
                if candidate.taken_by is not None:
                    # Two rows cannot be one PocketSmith transaction: one would be lost, the other doubled.
                    screen.say(f"Candidate {key} is {candidate.taken_by}'s already: this row cannot be it too. "
                               "Press n, s, another candidate, or go back (b) and change that answer")
                    continue
                self.answer(item, Action.DUPLICATE, candidate)
            else:
                choices = f"1-{len(item.candidates)}, " if item.candidates else ""
                screen.say(f"{key!r} is not a key here: n, {choices}s, Enter, b or q")
                continue
            at += 1
        return True

    @property
    def undecided(self) -> int:
        return sum(1 for i in self.items if i.answer is None)


def candidates_for(row: PlanRow, held: Sequence[PsTransaction], settings: "DedupeSettings") -> list[Candidate]:
    """The PocketSmith transactions a row may be: the one proposed, then the same amount (or a pending one
    within the tolerance) in dedupe's date window, nearest first; each scored alone against the row."""
    from importer.dedupe import Decision, dedupe
    txn = row.record
    low, high = txn.date - timedelta(days=settings.window_before), txn.date + timedelta(days=settings.window_after)

    def fits(e: PsTransaction) -> bool:
        return low <= e.date <= high and amounts_fit(txn.amount, e, settings.pending_tolerance)

    proposed = row.matched.id if row.matched is not None else None
    found = sorted((e for e in held if fits(e) and e.id != proposed),
                   key=lambda e: (abs((txn.date - e.date).days), e.id))
    def alone(e: PsTransaction) -> "Decision":
        return dedupe([txn], [e], settings=settings)[0]

    # Every score beside the same measure: the candidate alone against the row. (The proposed one's score in
    # the preview weighs the whole statement: a rival row that fits as well brings it down.)
    out = []
    if row.matched is not None:
        out.append(Candidate(row.matched, (txn.date - row.matched.date).days, alone(row.matched).score,
                             list(row.reasons), True))
    for e in found[:MAX_CANDIDATES - len(out)]:
        scored = alone(e)
        out.append(Candidate(e, (txn.date - e.date).days, scored.score, list(scored.reasons), False))
    return out


def load_review(files: Sequence[str | Path], *, client: "Client", config: "Config", journal: Journal, target: str,
                account: int | None = None, rules_path: str | Path | None = None, mapping: str | None = None,
                date_order: str | None = None, every_row: bool = False, sheet: str | None = None,
                allow_currency_mismatch: bool = False) -> tuple[Review, Plan]:
    """The review of `files`: the plan (with the decisions kept so far) and its rows still for review
    (`every_row`: all rows, those decided before showing their answer)."""
    from importer.pipeline import dedupe_settings, existing_transactions, locate, plan_located
    located = locate(files, config=config, client=client, account=account, mapping=mapping, date_order=date_order,
                     sheet=sheet, allow_currency_mismatch=allow_currency_mismatch)
    plan = plan_located(located, config=config, source=client, rules=rules_path, journal=journal, target=target)
    settings = dedupe_settings(config)
    held = existing_transactions(client, located.statements, located.targets, settings)
    kept = {(d.account_id, d.external_id): d for d in journal.decisions(target, located.account_ids)}
    holders: dict[int, str] = {}
    for row in plan.rows:
        if row.action == Action.DUPLICATE and row.duplicate_of is not None:
            name = Path(row.record.file or "").name
            holders.setdefault(row.duplicate_of, f"{name} line {row.record.line}")
    items = []
    for row in plan.rows:
        if every_row or (row.action == Action.REVIEW and not row.decided):
            items.append(Item(row, candidates_for(row, held.get(row.account_id, ()), settings),
                              kept.get(row_identity(row.account_id, row.record)) if row.decided else None))
    decided_before = sum(1 for r in plan.rows if r.decided)
    return Review(items, journal, target, held_by=holders, decided_before=decided_before), plan
