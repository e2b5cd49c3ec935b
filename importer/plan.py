"""The Plan: one decision per statement row (create, duplicate, review or skip), with the request that would create it.

`build_plan` is a pure function over plain data: statements, their target accounts, what
PocketSmith already holds, what the journal imported before, and the rules. Reading files and
fetching what it needs is `importer.pipeline`'s job.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Callable, Mapping, Protocol, Sequence

from importer.accounts import Target
from importer.pocketsmith.models import PsTransaction, TransactionAccount
from importer.record import Foreign, Statement, Transaction, foreign_text

if TYPE_CHECKING:
    from importer.dedupe import Decision, DedupeSettings
    from importer.rules import Outcome, RuleSet, Subject

    # dedupe(records, existing, *, imported, settings): one decision per record, a Decision or its fields as a dict.
    Dedupe = Callable[..., Sequence[Decision | Mapping[str, Any]]]

__all__ = ["Action", "ACTIONS", "PlanRow", "Plan", "Summary", "build_plan", "fingerprint", "row_identity", "Decided",
           "accepted_unseen"]


class Action(StrEnum):
    """What an import does with a row. A StrEnum: it compares equal to, and prints as, its lowercase name."""

    CREATE = "create"           # new: created by the import
    DUPLICATE = "duplicate"     # already in PocketSmith, or imported before according to the journal
    REVIEW = "review"           # possibly there already: created only when the person accepts it
    SKIP = "skip"               # a rule said to leave it out


ACTIONS = tuple(Action)

# How a row --accept-review decided begins its reasons (the balance check names such rows).
ACCEPTED_UNSEEN = "accepted unseen by import --accept-review"


def accepted_unseen(row: "PlanRow") -> bool:
    """A row for review that --accept-review (now or kept from an earlier import) decided to create."""
    return row.action == Action.CREATE and bool(row.reasons) and row.reasons[0].startswith(ACCEPTED_UNSEEN)


def fingerprint(account_id: int, date: str, amount: Decimal, payee: str) -> str:
    """What a create can be found by afterwards: same account, date (ISO text), amount and payee."""
    return f"{account_id}|{date}|{Decimal(amount).normalize():f}|{' '.join(payee.split()).casefold()}"


@dataclass
class PlanRow:
    """One statement row and what the import would do with it.

    `record` is the statement's Transaction, `action` the decision (an Action), `account_id` the
    transaction account it goes to. For a duplicate or review, `duplicate_of` is the PocketSmith id
    it matched (`matched` that transaction) or `duplicate_of_row` an earlier row of the same run,
    with `score` (0 to 1) and `reasons`. `payee`, `category`, `labels`, `note`, `needs_review` and
    `is_transfer` are what would be sent after the rules (`rules` names those that matched;
    `set_by_rules` the fields they decided). `transfer_with` is the other side of a transfer between
    the user's accounts: `{"index": N}` (a row of this plan) or `{"transaction_id": ID}` (in PocketSmith).
    """

    index: int
    record: Transaction
    account_id: int
    action: Action
    statement_account: str | None = None
    duplicate_of: int | None = None
    duplicate_of_row: int | None = None
    score: float | None = None
    reasons: list[str] = field(default_factory=list)
    matched: PsTransaction | None = None
    payee: str = ""
    category: str | None = None
    category_id: int | None = None
    labels: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)
    note: str | None = None
    needs_review: bool = False
    is_transfer: bool = False
    decided: bool = False            # a person's decision (review, --decisions, --accept-review) set `action`
    enrich: dict[str, Any] = field(default_factory=dict)   # what `import --enrich` fills into `matched`
    set_by_rules: dict[str, str] = field(default_factory=dict)
    transfer_with: dict[str, int] | None = None

    def body(self, accepted_review: bool = False) -> dict[str, Any]:
        """The create request: money stays Decimal until the client writes the JSON."""
        txn = self.record
        body: dict[str, Any] = {
            "payee": self.payee or txn.original_payee or txn.memo or "(no payee)",
            "amount": txn.amount,
            "date": txn.date.isoformat(),
            "needs_review": bool(self.needs_review or accepted_review),
            "is_transfer": bool(self.is_transfer),
        }
        for key, value in (("memo", txn.memo), ("note", self.note), ("cheque_number", txn.cheque_number),
                           ("category_id", self.category_id)):
            if value not in (None, ""):
                body[key] = value
        if self.labels:
            body["labels"] = list(self.labels)
        return body

    @property
    def fingerprint(self) -> str:
        """The row's create as `fingerprint()` knows it: how an unknown outcome is found afterwards."""
        body = self.body()
        return fingerprint(self.account_id, body["date"], self.record.amount, body["payee"])

    def as_json(self) -> dict[str, Any]:
        """The contract's preview row (README, "Preview"), plus `index`, `cheque_number`, `matched`, `statement_account`."""
        txn = self.record
        matched = self.matched
        return {
            "external_id": txn.external_id,
            "date": txn.date.isoformat(),
            "amount": str(txn.amount),
            "payee": self.payee,
            "original_payee": txn.original_payee,
            "memo": txn.memo,
            "file": txn.file,
            "line": txn.line,
            "transaction_account_id": self.account_id,
            "action": self.action,
            "duplicate_of": self.duplicate_of,
            "score": None if self.score is None else round(float(self.score), 4),
            "reasons": list(self.reasons),
            "category": self.category,
            "category_id": self.category_id,
            "labels": list(self.labels),
            "rules": list(self.rules),
            "note": self.note,
            "needs_review": bool(self.needs_review),
            "is_transfer": bool(self.is_transfer),
            "transfer_with": None if self.transfer_with is None else dict(self.transfer_with),
            "index": self.index,
            "cheque_number": txn.cheque_number,
            "statement_account": self.statement_account,
            "duplicate_of_row": self.duplicate_of_row,
            "decided": self.decided,
            "enrich": {k: str(v) if isinstance(v, Decimal) else v for k, v in self.enrich.items()},
            "matched": None if matched is None else {
                "id": matched.id, "date": matched.date.isoformat() if matched.date else None,
                "amount": str(matched.amount), "payee": matched.payee},
        }


@dataclass(frozen=True)
class Summary:
    """A plan in numbers: rows by action, and the money the rows to create bring in and take out."""

    total: int
    create: int
    duplicate: int
    review: int
    skip: int
    money_in: Decimal
    money_out: Decimal

    def as_json(self) -> dict[str, Any]:
        """The contract's `summary`: counts, and money as decimal strings."""
        return {"total": self.total, "create": self.create, "duplicate": self.duplicate, "review": self.review,
                "skip": self.skip, "money_in": str(self.money_in), "money_out": str(self.money_out)}


@dataclass
class Plan:
    """Every row of a run in the files' order, with warnings and the accounts it touches.

    `rows` are PlanRows; `summary` counts them; `warnings` are what a preview prints above them
    (skipped files, accounts matched by number, categories an export does not know); `balances`
    compares each account's statement closing balance with PocketSmith's after the import
    (importer.balances), `coverage` the periods statements, earlier imports and the feed cover;
    `to_json()` is `psimport preview --format json`'s document.
    """

    rows: list[PlanRow]
    warnings: list[str] = field(default_factory=list)
    accounts: dict[int, TransactionAccount | None] = field(default_factory=dict)
    targets: list[tuple[Statement, Target]] = field(default_factory=list)
    existing_ids: dict[int, list[int]] = field(default_factory=dict)
    balances: list[dict[str, Any]] = field(default_factory=list)
    coverage: list[dict[str, Any]] = field(default_factory=list)
    held: dict[int, list[PsTransaction]] = field(default_factory=dict, repr=False)   # what existing_ids are

    def count(self, action: Action) -> int:
        """How many rows have this action."""
        return sum(1 for r in self.rows if r.action == action)

    def to_send(self, accept_review: bool = False) -> list[PlanRow]:
        """The rows an import creates: those to create, and with `accept_review` those for review."""
        wanted = (Action.CREATE, Action.REVIEW) if accept_review else (Action.CREATE,)
        return [r for r in self.rows if r.action in wanted]

    @property
    def summary(self) -> Summary:
        """Counts by action, and the money in and out of the rows to create."""
        creating = [r.record.amount for r in self.rows if r.action == Action.CREATE]
        counts = {action: 0 for action in ACTIONS}
        for row in self.rows:
            counts[row.action] += 1
        return Summary(total=len(self.rows), create=counts[Action.CREATE], duplicate=counts[Action.DUPLICATE],
                       review=counts[Action.REVIEW], skip=counts[Action.SKIP],
                       money_in=sum((a for a in creating if a > 0), Decimal("0.00")),
                       money_out=sum((a for a in creating if a < 0), Decimal("0.00")))

    def account_summaries(self) -> list[dict[str, Any]]:
        """Per transaction account: its name, the files and how they were routed there, rows by action.

        `sources` pairs each file with the format that read it (`csv:NAME` names the CSV mapping),
        so a file read by the wrong mapping shows before it is imported."""
        by_account: dict[int, dict[str, Any]] = {}
        for statement, target in self.targets:
            entry = by_account.setdefault(target.account_id, {
                "transaction_account_id": target.account_id,
                "name": getattr(self.accounts.get(target.account_id), "name", None),
                "files": [], "sources": [], "how": [], **{a: 0 for a in ACTIONS}})
            if statement.file not in entry["files"]:
                entry["files"].append(statement.file)
                entry["sources"].append({"file": statement.file, "format": statement.format})
            if target.how not in entry["how"]:
                entry["how"].append(target.how)
        for row in self.rows:
            if row.account_id in by_account:
                by_account[row.account_id][row.action] += 1
        return list(by_account.values())

    def to_json(self) -> dict[str, Any]:
        """The contract's preview document, plus `accounts`, `warnings`, `balances` and `coverage`."""
        return {"summary": self.summary.as_json(), "transactions": [r.as_json() for r in self.rows],
                "accounts": self.account_summaries(), "warnings": list(self.warnings),
                "balances": [dict(b) for b in self.balances], "coverage": [dict(c) for c in self.coverage]}


class Decided(Protocol):
    """A person's decision on a row, as `build_plan` applies it (importer.write.journal.StoredDecision)."""

    @property
    def action(self) -> str:
        """create | duplicate | skip"""

    @property
    def duplicate_of(self) -> int | None:
        """For duplicate: the PocketSmith transaction the row is."""

    @property
    def decided_at(self) -> str | None:
        """When (ISO text)."""


def row_identity(account_id: int, record: Transaction) -> tuple[int, str]:
    """What a decision is kept against: the transaction account and the row's external id.

    The external id is the bank's own (an OFX FITID) or the stable synthetic one the parser gives
    (account, date, amount, payee, memo, and the row's occurrence among identical rows), so the
    same row read from the same file, or from a later statement overlapping it, has the same identity,
    wherever it sits in the file.
    """
    return account_id, record.external_id or ""


def _take_decided(rows: list[PlanRow], decisions: Mapping[tuple[int, str], Decided],
                  imported: Mapping[str, int]) -> tuple[list[tuple[PlanRow, Decided]], list[PlanRow]]:
    """Split an account's rows into those a person decided and the rest, which dedupe decides.

    A later row with a decided row's identity (the same row in an overlapping statement) repeats it.
    """
    if not decisions:
        return [], rows
    decided: list[tuple[PlanRow, Decided]] = []
    first: dict[tuple[int, str], PlanRow] = {}
    rest = []
    for row in rows:
        key = row_identity(row.account_id, row.record)
        person = decisions.get(key)
        if person is None or not key[1] or row.record.external_id in imported:
            rest.append(row)
        elif key in first:
            earlier = first[key]
            decided.append((row, _Repeat(earlier, person)))
        else:
            first[key] = row
            decided.append((row, person))
    return decided, rest


@dataclass
class _Repeat:
    """A later copy of a decided row: a duplicate of that row, whatever was decided."""

    of: PlanRow
    person: Decided
    action: str = Action.DUPLICATE
    decided_at: str | None = None

    @property
    def duplicate_of(self) -> int | None:
        return None


def _apply_decision(row: PlanRow, person: Decided, held: Mapping[int, PsTransaction]) -> None:
    if isinstance(person, _Repeat):
        earlier = person.of.record
        name = (earlier.file or "").replace("\\", "/").rsplit("/", 1)[-1]
        row.action = Action.DUPLICATE
        row.duplicate_of_row = person.of.index
        row.score = 1.0
        row.reasons = [f"repeats {name} line {earlier.line} (overlapping statements)"]
        if person.person.action == Action.DUPLICATE:
            row.duplicate_of = person.person.duplicate_of
        return
    day = (person.decided_at or "")[:10]
    row.action = Action(person.action)
    row.decided = True
    row.score = None
    if row.action == Action.DUPLICATE:
        row.duplicate_of = person.duplicate_of
        row.matched = held.get(person.duplicate_of) if person.duplicate_of is not None else None
        row.reasons = [f"your decision on {day}: same as #{person.duplicate_of}"]
    elif getattr(person, "source", None) == "accept-review":
        # Created unseen, as --accept-review creates: flagged for the person to look at in PocketSmith.
        row.needs_review = True
        row.reasons = [f"{ACCEPTED_UNSEEN} on {day}: new (flagged needs_review)"]
    else:
        row.reasons = [f"your decision on {day}: {'new' if row.action == Action.CREATE else 'skip'}"]


def _decision_fields(decision: Decision | Mapping[str, Any]) -> dict[str, Any]:
    get = (lambda k, d=None: decision.get(k, d)) if isinstance(decision, Mapping) else \
        (lambda k, d=None: getattr(decision, k, d))
    return {"action": get("action", "create"), "duplicate_of": get("duplicate_of"), "score": get("score"),
            "reasons": list(get("reasons") or []), "matched": get("matched"),
            "duplicate_of_row": get("duplicate_of_row")}


def build_plan(statements: Sequence[Statement], *, targets: Sequence[int | Target],
               existing_by_account: Mapping[int, Sequence[PsTransaction]],
               ruleset: RuleSet | None = None, imported: Mapping[int, Mapping[str, int]] | None = None,
               settings: DedupeSettings | None = None,
               accounts: Mapping[int, TransactionAccount | None] | None = None, dedupe: Dedupe | None = None,
               subject: Callable[[Transaction, list[str]], Subject] | None = None,
               decisions: Mapping[tuple[int, str], Decided] | None = None) -> Plan:
    """Decide every row: a person's decisions first, dedupe the rest per target account (rows in the files'
    order), then rules.

    `decisions` maps a row's identity (`row_identity`: its account and external id) to what a person
    decided; the first row of a run with that identity takes it (reason "your decision on <date>") and
    any later copy (an overlapping statement) repeats it. A "duplicate of #N" decision takes #N away
    from dedupe, so no other row matches it. The journal's imports win over a decision: a row psimport
    already created is a duplicate. A rule's `skip` turns a create or review into `skip`, unless a person
    decided it; a duplicate stays a duplicate so the preview still shows what it matched. `dedupe` and
    `subject` default to importer.dedupe and importer.rules; tests may pass their own.
    """
    if dedupe is None:
        from importer.dedupe import dedupe as default_dedupe
        dedupe = default_dedupe
    if settings is None:
        from importer.dedupe import DedupeSettings
        settings = DedupeSettings.from_config({})
    imported = imported or {}
    resolved = [t if isinstance(t, Target) else Target(int(t), "") for t in targets]
    if len(resolved) != len(statements):
        raise ValueError("one target per statement")

    rows: list[PlanRow] = []
    rows_by_account: dict[int, list[PlanRow]] = defaultdict(list)
    for statement, target in zip(statements, resolved):
        for txn in statement.transactions:
            if txn.file is None:
                txn = txn._replace(file=statement.file)
            row = PlanRow(index=len(rows), record=txn, account_id=target.account_id, action=Action.CREATE,
                          statement_account=statement.account.id, payee=txn.payee,
                          note=_joined_note(None, txn.foreign))
            rows.append(row)
            rows_by_account[target.account_id].append(row)

    for account_id, all_rows in rows_by_account.items():
        known = imported.get(account_id, {})
        decided, account_rows = _take_decided(all_rows, decisions or {}, known)
        held = list(existing_by_account.get(account_id, ()))
        taken = {d.duplicate_of for _, d in decided if d.action == Action.DUPLICATE}
        results = dedupe([r.record for r in account_rows], [t for t in held if t.id not in taken],
                         imported=dict(known), settings=settings)
        if len(results) != len(account_rows):
            raise RuntimeError("dedupe returned a different number of decisions than rows")
        by_id = {t.id: t for t in held}
        for row, person in decided:
            _apply_decision(row, person, by_id)
        for row, decision in zip(account_rows, results):
            fields = _decision_fields(decision)
            row.action = Action(fields["action"])
            row.duplicate_of = fields["duplicate_of"]
            row.score = fields["score"]
            row.reasons = fields["reasons"]
            row.matched = fields["matched"] if isinstance(fields["matched"], PsTransaction) else None
            within = fields["duplicate_of_row"]
            if within is not None and 0 <= within < len(account_rows):
                row.duplicate_of_row = account_rows[within].index

    if ruleset is not None:
        if subject is None:
            from importer.rules import subject_from_record
            subject = subject_from_record
        names: dict[int, list[str]] = {}
        for statement, target in zip(statements, resolved):
            account = (accounts or {}).get(target.account_id)
            names[id(statement)] = [n for n in (str(target.account_id), account.name if account else None,
                                                statement.account.id) if n]
        owner = [names[id(s)] for s in statements for _ in s.transactions]
        subjects = [subject(row.record, owner[row.index]) for row in rows]
        for row, outcome in zip(rows, ruleset.apply_all(subjects)):
            _apply_outcome(row, outcome)
    return Plan(rows=rows, accounts=dict(accounts or {}),
                targets=list(zip(statements, resolved)),
                existing_ids={a: sorted(t.id for t in existing_by_account.get(a, ()))
                              for a in rows_by_account},
                held={a: list(existing_by_account.get(a, ())) for a in rows_by_account})


def _apply_outcome(row: PlanRow, outcome: Outcome) -> None:
    if outcome.payee:
        row.payee = outcome.payee
    row.category = outcome.category
    row.category_id = outcome.category_id
    row.labels = list(outcome.labels)
    row.rules = list(outcome.rules)
    row.note = _joined_note(outcome.note, row.record.foreign)
    row.needs_review = row.needs_review or bool(outcome.needs_review)
    row.is_transfer = bool(outcome.is_transfer)
    row.set_by_rules = dict(outcome.set_by)
    if outcome.skip and row.action in (Action.CREATE, Action.REVIEW) and not row.decided:
        row.action = Action.SKIP
        rule = outcome.set_by.get("skip") or (row.rules[-1] if row.rules else None)
        row.reasons = row.reasons + [f"rule '{rule}' says skip" if rule else "a rule says skip"]


def _joined_note(note: str | None, foreign: Foreign | None) -> str | None:
    """A rule's note, and the amount abroad (`USD 42.00 @ 1.5312`) after it when the row has one."""
    if foreign is None:
        return note
    return f"{note} · {foreign_text(foreign)}" if note else foreign_text(foreign)
