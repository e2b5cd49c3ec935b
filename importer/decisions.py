"""A person's decisions on statement rows: read from a preview CSV, made in `review`, kept in the journal.

A decision is `create`, `duplicate` (of a PocketSmith transaction) or `skip`, for one row, known by its
identity (`importer.plan.row_identity`: the transaction account and the row's external id), never by its
position. Kept in the journal, it is applied to every later plan of the same row (the same file, or an
overlapping later statement), so nobody is asked the same question twice.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Callable, Iterable

from importer.errors import ApiError, InputError
from importer.plan import Action, Plan, PlanRow, row_identity
from importer.pocketsmith.models import PsTransaction
from importer.write.journal import StoredDecision

__all__ = ["CHOICES", "decision_for", "read_decisions_csv", "accepted_reviews", "client_lookup", "Lookup", "amounts_fit",
           "row_place"]

CHOICES = (Action.CREATE, Action.DUPLICATE, Action.SKIP)

# A PocketSmith transaction by id, read when the plan did not fetch it: the transaction, or None when there is none.
Lookup = Callable[[int], "PsTransaction | None"]


def amounts_fit(amount: Decimal, txn: PsTransaction, pending_tolerance: Decimal) -> bool:
    """Whether dedupe could ever take a statement row of `amount` for `txn`: the same amount to the cent, or a
    pending one of the same sign within the tolerance (posted, then, with a tip or a conversion)."""
    if txn.amount == amount:
        return True
    return txn.status == "pending" and (txn.amount < 0) == (amount < 0) \
        and abs(txn.amount - amount) <= abs(txn.amount) * pending_tolerance


def decision_for(row: PlanRow, action: str, duplicate_of: int | None, *, target: str, source: str) -> StoredDecision:
    """The decision to keep for `row`, with what the row was (to list it later)."""
    account_id, external_id = row_identity(row.account_id, row.record)
    txn = row.record
    return StoredDecision(target=target, account_id=account_id, external_id=external_id, action=str(Action(action)),
                          duplicate_of=duplicate_of if action == Action.DUPLICATE else None, source=source,
                          row={"date": txn.date.isoformat(), "amount": str(txn.amount), "payee": row.payee,
                               "file": txn.file, "line": txn.line})


def accepted_reviews(plan: Plan, target: str) -> list[StoredDecision]:
    """`--accept-review` as decisions: each row for review, created."""
    return [decision_for(row, Action.CREATE, None, target=target, source="accept-review")
            for row in plan.rows if row.action == Action.REVIEW]


@dataclass
class _Line:
    number: int
    cells: dict[str, str]

    def get(self, name: str) -> str:
        value = (self.cells.get(name) or "").strip()
        # The preview escapes a cell a spreadsheet would run as a formula with a leading quote: undo that.
        if value[:1] == "'" and value[1:2] in ("=", "+", "-", "@"):
            value = value[1:]
        return value


def _lines(path: Path) -> Iterable[_Line]:
    import io

    from importer.limits import DEFAULT_MAX_FILE_MB, MB, read_bounded
    # Bounded like a statement, and only from a regular file: /dev/zero or a FIFO is a message, not a hang.
    data = read_bounded(path, DEFAULT_MAX_FILE_MB * MB, "a decisions file")
    try:
        handle = io.StringIO(data.decode("utf-8-sig"), newline="")
    except UnicodeDecodeError as exc:
        raise InputError(f"the decisions are not UTF-8 text ({exc.reason})", file=str(path)) from None
    reader = csv.DictReader(handle)
    start = 1
    try:
        missing = [c for c in ("decision", "external_id", "transaction_account_id") if c not in (reader.fieldnames or [])]
        if missing:
            raise InputError(f"not a preview CSV with decisions: no {', '.join(missing)} column "
                             "(write one with `psimport preview ... --format csv --out plan.csv`)",
                             file=str(path), line=1)
        start = reader.line_num + 1
        for cells in reader:
            yield _Line(start, cells)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise InputError(f"cannot read this line of the decisions as CSV ({exc})", file=str(path),
                         line=start) from None


def row_place(row: PlanRow) -> str:
    """Where a plan row is, as messages name it: `everyday.ofx line 618`."""
    name = Path(row.record.file or "").name
    return f"{name} line {row.record.line}" if row.record.line is not None else name


def read_decisions_csv(path: str | Path, plan: Plan, *, target: str, lookup: Lookup | None = None,
                       pending_tolerance: Decimal = Decimal("0.20")) -> list[StoredDecision]:
    """The filled-in `decision` cells of a preview CSV, checked against `plan`, before anything is written.

    Each row is found by its identity (transaction account and external id), not its place in the file. A
    row that is not in the plan, a value other than create / duplicate / skip, or a `duplicate_of` that is not
    a transaction of the row's account is an InputError naming the CSV line; so is a `duplicate_of` no
    statement row of that amount could be (see `amounts_fit`), or one that another row already is (by another
    line's decision, or as dedupe matched it and no line decides that row otherwise): either would lose one row
    and double another. An empty `duplicate_of` on a duplicate means the candidate the preview proposed.
    `lookup` reads a transaction the plan did not fetch.
    """
    path = Path(path)
    rows = {row_identity(r.account_id, r.record): r for r in reversed(plan.rows)}   # the first copy wins
    chosen: dict[tuple[int, str], tuple[int, StoredDecision]] = {}
    for line in _lines(path):
        value = line.get("decision").lower()
        if not value:
            continue

        def fail(message: str) -> InputError:
            return InputError(message, file=str(path), line=line.number)

        if value not in CHOICES:
            raise fail(f"decision {value!r} is not one of create, duplicate, skip (or empty: not decided)")
        try:
            account_id = int(line.get("transaction_account_id"))
        except ValueError:
            raise fail(f"transaction_account_id {line.get('transaction_account_id')!r} is not an account id") from None
        key = (account_id, line.get("external_id"))
        row = rows.get(key)
        if row is None:
            raise fail(f"no row of these statements has external_id {key[1]!r} in account {account_id} "
                       "(was this CSV written for other files?)")
        duplicate_of = None
        if value == Action.DUPLICATE:
            duplicate_of = _duplicate_of(line.get("duplicate_of"), row, plan, lookup, fail, pending_tolerance)
        decision = decision_for(row, value, duplicate_of, target=target, source="csv")
        earlier = chosen.get(key)
        if earlier is not None and (earlier[1].action, earlier[1].duplicate_of) != (decision.action, duplicate_of):
            raise fail(f"this row (external_id {key[1]!r}) is decided differently on line {earlier[0]}")
        chosen.setdefault(key, (line.number, decision))
    _check_claims(chosen, rows, plan, path)
    return [decision for _, decision in chosen.values()]


def _check_claims(chosen: dict[tuple[int, str], tuple[int, StoredDecision]], rows: dict[tuple[int, str], PlanRow],
                  plan: Plan, path: Path) -> None:
    """No PocketSmith transaction is the duplicate of two rows once the decisions apply."""
    holder: dict[int, str] = {}          # PocketSmith id -> the row that stays its duplicate, in words
    for row in plan.rows:
        decided_again = row_identity(row.account_id, row.record) in chosen and not _created_before(row)
        if row.action == Action.DUPLICATE and row.duplicate_of is not None and not decided_again:
            how = "psimport created it for" if _created_before(row) else "dedupe matched it to"
            holder.setdefault(row.duplicate_of, f"{how} {row_place(row)}")
    for key, (number, decision) in sorted(chosen.items(), key=lambda item: item[1][0]):
        ps_id = decision.duplicate_of
        if ps_id is None:
            continue
        other = holder.get(ps_id)
        if other is not None and not other.endswith(f" {row_place(rows[key])}"):
            raise InputError(f"duplicate_of {ps_id} is another row's already ({other}); two rows cannot be one "
                             "PocketSmith transaction: decide that row too (in its own line), or choose another",
                             file=str(path), line=number)
        holder[ps_id] = f"line {number} of this file decides it for {row_place(rows[key])}"


def _created_before(row: PlanRow) -> bool:
    """A row psimport itself created before (the journal's record wins over any decision on it)."""
    return bool(row.reasons) and row.reasons[0].startswith("imported before by psimport")


def _duplicate_of(text: str, row: PlanRow, plan: Plan, lookup: Lookup | None, fail: Callable[[str], InputError],
                  pending_tolerance: Decimal) -> int:
    if not text:
        if row.duplicate_of is None:
            raise fail("decision duplicate, but this row has no proposed PocketSmith transaction: "
                       "put the one it duplicates in duplicate_of")
        return row.duplicate_of
    try:
        ps_id = int(text.lstrip("#"))
    except ValueError:
        raise fail(f"duplicate_of {text!r} is not a PocketSmith transaction id") from None
    txn = next((t for t in plan.held.get(row.account_id, ()) if t.id == ps_id), None)
    if txn is None and lookup is not None:
        try:
            txn = lookup(ps_id)
        except ApiError as exc:
            raise fail(f"could not check duplicate_of {ps_id} ({exc})") from None
    if txn is None:
        raise fail(f"duplicate_of {ps_id} is not a PocketSmith transaction of account {row.account_id}"
                   + (" near this row's date" if lookup is None else ""))
    if txn.transaction_account_id not in (None, row.account_id):
        raise fail(f"duplicate_of {ps_id} is a transaction of another account, not of {row.account_id}")
    if not amounts_fit(row.record.amount, txn, pending_tolerance):
        raise fail(f"duplicate_of {ps_id} is {txn.amount} ({txn.payee or 'no payee'}, {txn.date}), and this row is "
                   f"{row.record.amount}: not the same transaction. Check the id; if this row really is #{ps_id} "
                   "(its amount changed in PocketSmith), decide skip: it is then never imported")
    return ps_id


def client_lookup(client) -> Lookup:
    """A Lookup through the API: read the transaction (None when PocketSmith has no such id)."""
    def lookup(ps_id: int) -> PsTransaction | None:
        try:
            return client.get_transaction(ps_id)
        except ApiError as exc:
            if getattr(exc, "status", None) == 404:
                return None
            raise
    return lookup
