"""Enrich instead of insert: fill the empty fields of PocketSmith transactions that statement rows duplicate.

A bank feed's copy of a transaction often knows less than the statement: a cut or cleaned payee
and no memo, no reference, no category. `import --enrich` fills, into the transaction a row was
matched to, only what PocketSmith leaves empty: the memo (the statement's full text), the note,
labels and category from the rules (a category the user set is never replaced), the cheque number.

Each fill is an update in the batch's journal, planned with the values it replaces; it is marked
`sending` (committed) before its `PUT /transactions/{id}` and `done` after. Before each PUT the
transaction is read again and only fields still empty are sent, so a rerun after a kill at any
point sends each field at most once and never overwrites what the user typed meanwhile. `undo`
puts the old (empty) values back into every field that still holds what was filled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from importer.errors import ApiError
from importer.plan import Action, Plan, PlanRow
from importer.pocketsmith.models import PsTransaction
from importer.write.journal import Journal, Update


class Updating(Protocol):
    """What enriching needs of PocketSmith (importer.pocketsmith.client.PocketSmith has it)."""

    def get_transaction(self, id: int) -> PsTransaction:
        """One transaction by id (ApiError with status 404 when it is gone)."""

    def update_transaction(self, id: int, body: dict) -> PsTransaction:
        """PUT /transactions/{id} with these fields."""

__all__ = ["FIELDS", "Updating", "fills_for", "plan_fills", "planned_updates", "send_updates", "undo_updates", "UpdateReport"]

# The fields an enriching import may fill, in the order they are shown.
FIELDS = ("memo", "note", "labels", "category_id", "cheque_number")


def _current(txn: PsTransaction, name: str) -> Any:
    value = getattr(txn, name)
    if name == "labels":
        return sorted(value or [])
    return value if value not in ("", None) else None


def _empty(value: Any) -> bool:
    return value in (None, "", [])


def _full_text(row: PlanRow) -> str | None:
    """The statement's whole description: its text and, when it adds anything, its memo."""
    txn = row.record
    text = " ".join((txn.original_payee or "").split())
    memo = " ".join((txn.memo or "").split())
    if memo and memo.casefold() not in text.casefold():
        text = f"{text} {memo}".strip()
    return text or None


def fills_for(row: PlanRow) -> dict[str, Any]:
    """What the statement row adds to the PocketSmith transaction it matched: only into empty fields."""
    txn = row.matched
    if row.action != Action.DUPLICATE or txn is None or row.duplicate_of_row is not None or txn.status == "pending":
        return {}       # a pending transaction is replaced by the feed's posted one: nothing to fill there
    fills: dict[str, Any] = {}
    memo = _full_text(row)
    if memo and _empty(_current(txn, "memo")) and memo.casefold() not in {
            (txn.payee or "").casefold(), (txn.original_payee or "").casefold()}:
        fills["memo"] = memo
    if row.note and _empty(_current(txn, "note")):
        fills["note"] = row.note
    if row.labels and _empty(_current(txn, "labels")):
        fills["labels"] = list(row.labels)
    if row.category_id is not None and txn.category_id is None:
        fills["category_id"] = row.category_id
    if row.record.cheque_number and _empty(_current(txn, "cheque_number")):
        fills["cheque_number"] = row.record.cheque_number
    return fills


def plan_fills(plan: Plan) -> Plan:
    """Set each duplicate row's `enrich`: what `import --enrich` would fill in. Returns the plan."""
    for row in plan.rows:
        row.enrich = fills_for(row)
    return plan


def planned_updates(plan: Plan) -> list[Update]:
    """The plan's fills as journal updates, each with the values they replace."""
    updates = []
    for row in plan.rows:
        if row.enrich and row.matched is not None:
            before = {name: _current(row.matched, name) for name in row.enrich}
            updates.append(Update(row_index=row.index, ps_id=row.matched.id, fields=dict(row.enrich), before=before))
    return updates


@dataclass
class UpdateReport:
    """What sending (or undoing) a batch's updates did."""

    done: int = 0                                                 # transactions filled in (or restored)
    fields: int = 0                                               # fields sent
    kept: list[tuple[int, list[str]]] = field(default_factory=list)   # (ps id, fields the user changed meanwhile)
    failed: list[tuple[int, str]] = field(default_factory=list)
    unknown: int = 0                                              # sent, answer lost: read again next run

    @property
    def complete(self) -> bool:
        return not (self.failed or self.unknown)


def _body(values: dict[str, Any]) -> dict[str, Any]:
    """An update body: empty values as PocketSmith clears them (an empty string; no category)."""
    body: dict[str, Any] = {}
    for name, value in values.items():
        if name == "labels":
            body[name] = list(value or [])
        elif name == "category_id":
            body[name] = value
        else:
            body[name] = value if value not in (None, "") else ""
    return body


def _is_unknown(exc: ApiError) -> bool:
    status = getattr(exc, "status", None)
    return status is None or status >= 500 or status == 408


def send_updates(client: Updating, journal: Journal, batch_id: str,
                 progress: Callable[[int, int], None] | None = None) -> UpdateReport:
    """Fill in what the batch's open updates say, each journaled `sending` before its request."""
    report = UpdateReport()
    todo = journal.updates(batch_id, ["planned", "sending", "failed"])
    progress = progress or (lambda done, total: None)
    for number, update in enumerate(todo, 1):
        journal.set_update_state(batch_id, update.row_index, "sending")
        try:
            current = client.get_transaction(update.ps_id)
        except ApiError as exc:
            if getattr(exc, "status", None) == 404:
                journal.set_update_state(batch_id, update.row_index, "done", "gone from PocketSmith")
                continue
            _note_failure(journal, batch_id, update, exc, report)
            continue
        # Only what is still empty: a field already filled (by this update before a kill, or by the user) stays.
        send = {name: value for name, value in update.fields.items() if _empty(_current(current, name))}
        kept = [name for name, value in update.fields.items()
                if name not in send and _current(current, name) != _normal(name, value)]
        try:
            if send:
                client.update_transaction(update.ps_id, _body(send))
        except ApiError as exc:
            _note_failure(journal, batch_id, update, exc, report)
            continue
        journal.set_update_state(batch_id, update.row_index, "done",
                                 f"left alone, changed in PocketSmith: {', '.join(kept)}" if kept else None)
        report.done += 1
        report.fields += len(send)
        if kept:
            report.kept.append((update.ps_id, kept))
        progress(number, len(todo))
    return report


def _normal(name: str, value: Any) -> Any:
    return sorted(value or []) if name == "labels" else (value if value not in ("", None) else None)


def _note_failure(journal: Journal, batch_id: str, update: Update, exc: ApiError, report: UpdateReport) -> None:
    if _is_unknown(exc):
        # Still `sending`: the next run reads the transaction again and sends only what is still empty.
        journal.set_update_state(batch_id, update.row_index, "sending", str(exc))
        report.unknown += 1
    else:
        journal.set_update_state(batch_id, update.row_index, "failed", str(exc))
        report.failed.append((update.ps_id, str(exc)))


def undo_updates(client: Updating, journal: Journal, batch_id: str) -> UpdateReport:
    """Put back the values the batch's updates replaced, in every field still holding what was filled."""
    report = UpdateReport()
    for update in journal.updates(batch_id, ["done", "sending"]):
        try:
            current = client.get_transaction(update.ps_id)
        except ApiError as exc:
            if getattr(exc, "status", None) == 404:
                journal.set_update_state(batch_id, update.row_index, "undone", "gone from PocketSmith")
                continue
            report.failed.append((update.ps_id, str(exc)))
            continue
        ours = [name for name, value in update.fields.items() if _current(current, name) == _normal(name, value)]
        changed = [name for name in update.fields if name not in ours and not _empty(_current(current, name))]
        try:
            if ours:
                client.update_transaction(update.ps_id, _body({name: update.before.get(name) for name in ours}))
        except ApiError as exc:
            report.failed.append((update.ps_id, str(exc)))
            continue
        journal.set_update_state(batch_id, update.row_index, "undone",
                                 f"kept by undo, changed in PocketSmith: {', '.join(changed)}" if changed else None)
        report.done += 1
        report.fields += len(ours)
        if changed:
            report.kept.append((update.ps_id, changed))
    return report
