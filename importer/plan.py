"""The Plan: one decision per statement row (create, duplicate, review or skip), with the request that would create it.

`build_plan` is a pure function over plain data: statements, their target accounts, what
PocketSmith already holds, what the journal imported before, and the rules. `gather` is the
thin step that fetches the existing transactions, and `prepare_plan` runs the whole
pipeline (parse → accounts → existing → dedupe → rules) for `preview` and `import`.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from importer.accounts import Target, account_rules, mapping_for_file, resolve_targets
from importer.parsers import FilesRead
from importer.pocketsmith.models import PsTransaction, TransactionAccount
from importer.record import Statement, Transaction

__all__ = ["PlanRow", "Plan", "Located", "build_plan", "gather", "locate", "plan_located", "prepare_plan", "read_statements",
           "fingerprint", "batch_key", "ACTIONS"]

ACTIONS = ("create", "duplicate", "review", "skip")


def fingerprint(account_id: int, date: Any, amount: Decimal, payee: str) -> str:
    """What a create can be found by afterwards: same account, date, amount and payee."""
    return f"{account_id}|{date}|{Decimal(amount).normalize():f}|{' '.join(payee.split()).casefold()}"


@dataclass
class PlanRow:
    """One statement row and what the import would do with it."""

    index: int
    txn: Transaction
    account_id: int
    action: str
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

    def body(self, accepted_review: bool = False) -> dict[str, Any]:
        """The create request: money stays Decimal until the client writes the JSON."""
        txn = self.txn
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
        body = self.body()
        return fingerprint(self.account_id, body["date"], self.txn.amount, body["payee"])

    def as_json(self) -> dict[str, Any]:
        """The contract's preview row (design.md), plus `index`, `cheque_number`, `matched`, `statement_account`."""
        txn = self.txn
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
            "index": self.index,
            "cheque_number": txn.cheque_number,
            "statement_account": self.statement_account,
            "duplicate_of_row": self.duplicate_of_row,
            "matched": None if matched is None else {
                "id": matched.id, "date": matched.date.isoformat() if matched.date else None,
                "amount": str(matched.amount), "payee": matched.payee},
        }


@dataclass
class Plan:
    """Every row of a run in the files' order, with warnings and the accounts it touches."""

    rows: list[PlanRow]
    warnings: list[str] = field(default_factory=list)
    accounts: dict[int, TransactionAccount | None] = field(default_factory=dict)
    targets: list[tuple[Statement, Target]] = field(default_factory=list)
    existing_ids: dict[int, list[int]] = field(default_factory=dict)

    def count(self, action: str) -> int:
        return sum(1 for r in self.rows if r.action == action)

    def to_send(self, accept_review: bool = False) -> list[PlanRow]:
        wanted = ("create", "review") if accept_review else ("create",)
        return [r for r in self.rows if r.action in wanted]

    def summary(self) -> dict[str, Any]:
        """Counts by action; money in/out of the rows to create, as decimal strings."""
        creating = [r.txn.amount for r in self.rows if r.action == "create"]
        return {
            "total": len(self.rows),
            **{action: self.count(action) for action in ACTIONS},
            "money_in": str(sum((a for a in creating if a > 0), Decimal("0.00"))),
            "money_out": str(sum((a for a in creating if a < 0), Decimal("0.00"))),
        }

    def account_summaries(self) -> list[dict[str, Any]]:
        by_account: dict[int, dict[str, Any]] = {}
        for statement, target in self.targets:
            entry = by_account.setdefault(target.account_id, {
                "transaction_account_id": target.account_id,
                "name": getattr(self.accounts.get(target.account_id), "name", None),
                "files": [], "how": [], **{a: 0 for a in ACTIONS}})
            if statement.file not in entry["files"]:
                entry["files"].append(statement.file)
            if target.how not in entry["how"]:
                entry["how"].append(target.how)
        for row in self.rows:
            if row.account_id in by_account:
                by_account[row.account_id][row.action] += 1
        return list(by_account.values())

    def to_json(self) -> dict[str, Any]:
        """The contract's preview document, plus `accounts` and `warnings`."""
        return {"summary": self.summary(), "transactions": [r.as_json() for r in self.rows],
                "accounts": self.account_summaries(), "warnings": list(self.warnings)}


def _decision_fields(decision: Any) -> dict[str, Any]:
    get = (lambda k, d=None: decision.get(k, d)) if isinstance(decision, Mapping) else \
        (lambda k, d=None: getattr(decision, k, d))
    return {"action": get("action", "create"), "duplicate_of": get("duplicate_of"), "score": get("score"),
            "reasons": list(get("reasons") or []), "matched": get("matched"),
            "duplicate_of_row": get("duplicate_of_row")}


def build_plan(statements: Sequence[Statement], *, targets: Sequence[int | Target],
               existing_by_account: Mapping[int, Sequence[PsTransaction]],
               ruleset: Any = None, imported: Mapping[int, Mapping[str, int]] | None = None,
               settings: Any = None, accounts: Mapping[int, TransactionAccount | None] | None = None,
               dedupe: Callable[..., list] | None = None,
               subject: Callable[[Transaction, Any], Any] | None = None) -> Plan:
    """Decide every row: dedupe per target account (rows in the files' order), then rules.

    A rule's `skip` turns a create or review into `skip`; a duplicate stays a duplicate so the
    preview still shows what it matched. `dedupe` and `subject` default to importer.dedupe and
    importer.rules; tests may pass their own.
    """
    if dedupe is None:
        from importer.dedupe import dedupe
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
            row = PlanRow(index=len(rows), txn=txn, account_id=target.account_id, action="create",
                          statement_account=statement.account.id, payee=txn.payee)
            if row.txn.file is None:
                row.txn = txn._replace(file=statement.file)
            rows.append(row)
            rows_by_account[target.account_id].append(row)

    for account_id, account_rows in rows_by_account.items():
        decisions = dedupe([r.txn for r in account_rows], list(existing_by_account.get(account_id, ())),
                           imported=dict(imported.get(account_id, {})), settings=settings)
        if len(decisions) != len(account_rows):
            raise RuntimeError("dedupe returned a different number of decisions than rows")
        for row, decision in zip(account_rows, decisions):
            fields = _decision_fields(decision)
            row.action = fields["action"]
            row.duplicate_of = fields["duplicate_of"]
            row.score = fields["score"]
            row.reasons = fields["reasons"]
            row.matched = fields["matched"] if isinstance(fields["matched"], PsTransaction) else None
            within = fields["duplicate_of_row"]
            if within is not None and 0 <= within < len(account_rows):
                row.duplicate_of_row = account_rows[within].index

    if ruleset is not None:
        if subject is None:
            from importer.rules import subject_from_record as subject
        names = {}
        for statement, target in zip(statements, resolved):
            account = (accounts or {}).get(target.account_id)
            names[id(statement)] = [n for n in (str(target.account_id), getattr(account, "name", None),
                                                statement.account.id) if n]
        owner = [names[id(s)] for s in statements for _ in s.transactions]
        subjects = [subject(row.txn, owner[row.index]) for row in rows]
        outcomes = ruleset.apply_all(subjects) if hasattr(ruleset, "apply_all") else \
            [ruleset.apply(s) for s in subjects]
        for row, outcome in zip(rows, outcomes):
            _apply_outcome(row, outcome)
    return Plan(rows=rows, accounts=dict(accounts or {}),
                targets=list(zip(statements, resolved)),
                existing_ids={a: sorted(t.id for t in existing_by_account.get(a, ()))
                              for a in rows_by_account})


def _apply_outcome(row: PlanRow, outcome: Any) -> None:
    get = (lambda k, d=None: getattr(outcome, k, d))
    if get("payee"):
        row.payee = get("payee")
    row.category = get("category")
    row.category_id = get("category_id")
    row.labels = list(get("labels") or [])
    row.rules = list(get("rules") or [])
    row.note = get("note")
    row.needs_review = bool(get("needs_review"))
    row.is_transfer = bool(get("is_transfer"))
    if get("skip") and row.action in ("create", "review"):
        row.action = "skip"
        set_by = get("set_by")
        rule = set_by.get("skip") if isinstance(set_by, Mapping) else None
        rule = rule or (row.rules[-1] if row.rules else None)
        row.reasons = row.reasons + [f"rule '{rule}' says skip" if rule else "a rule says skip"]


def gather(client: Any, statements: Sequence[Statement], targets: Sequence[Target],
           settings: Any) -> dict[int, list[PsTransaction]]:
    """What PocketSmith holds in each target account over the window dedupe needs."""
    from importer.dedupe import fetch_window
    records: dict[int, list[Transaction]] = defaultdict(list)
    for statement, target in zip(statements, targets):
        records[target.account_id].extend(statement.transactions)
    existing: dict[int, list[PsTransaction]] = {}
    for account_id, rows in records.items():
        if not rows:
            existing[account_id] = []
            continue
        start, end = fetch_window(rows, settings)
        existing[account_id] = list(client.transactions(account_id, start, end))
    return existing


def read_statements(paths: Iterable[str | Path], *, config: Any, mapping: str | None = None,
                    date_order: str | None = None) -> FilesRead:
    """Parse the files (a directory means its statement files), each with its content hash.

    The user's mapping folders and date order apply, and a config `accounts:` entry with a `glob` and
    a `mapping` says which mapping reads those files; `mapping` and `date_order` override both.
    """
    from importer.parsers import ParseOptions, read_files
    rules = account_rules(config.accounts, config.path)
    order = date_order or config.date_order

    def options_for(path: Path) -> ParseOptions:
        return ParseOptions(mapping=mapping or mapping_for_file(path, rules), date_order=order,
                            mapping_dirs=config.mapping_dirs)
    return read_files(paths, options_for=options_for)


def batch_key(files: Sequence[Mapping[str, str]], statements: Sequence[Statement],
              targets: Sequence[Target]) -> str:
    """Same files (by content) going to the same accounts: the same batch, to be finished, not re-planned."""
    by_file: dict[str, list[int]] = defaultdict(list)
    for statement, target in zip(statements, targets):
        by_file[statement.file].append(target.account_id)
    pairs = sorted((f["sha256"], by_file.get(f["path"], [])) for f in files)
    return hashlib.sha256(json.dumps(pairs).encode()).hexdigest()


@dataclass
class Located:
    """The run's statements, each with its transaction account, and the batch key they make."""

    statements: list[Statement]
    files: list[dict[str, str]]
    targets: list[Target]
    key: str
    accounts: dict[int, TransactionAccount]
    warnings: list[str] = field(default_factory=list)

    @property
    def account_ids(self) -> list[int]:
        return sorted({t.account_id for t in self.targets})


def locate(paths: Sequence[str | Path], *, config: Any, client: Any = None, account: int | None = None,
           mapping: str | None = None, date_order: str | None = None) -> Located:
    """Parse the files and find each statement's transaction account (`client` None: offline)."""
    rules_cfg = account_rules(config.accounts, config.path)
    read = read_statements(paths, config=config, mapping=mapping, date_order=date_order)
    statements = read.statements
    files = [{"path": str(f.path), "sha256": f.sha256} for f in read.files]
    known = None if client is None else client.transaction_accounts()
    targets = resolve_targets(statements, account=account, rules=rules_cfg, known=known)
    warnings = [f"{path}: skipped, not a statement psimport recognises" for path in read.skipped]
    warnings += [f"{s.file}: mapped to transaction account {t.account_id} by its {t.how}"
                 for s, t in zip(statements, targets) if "auto-matched" in t.how]
    return Located(statements=statements, files=files, targets=list(targets),
                   key=batch_key(files, statements, targets), accounts={a.id: a for a in known or ()},
                   warnings=warnings)


def plan_located(located: Located, *, config: Any, client: Any = None, rules_path: str | Path | None = None,
                 existing_path: str | Path | None = None, journal: Any = None, target: str = "") -> Plan:
    """Existing transactions (API or `--existing`), dedupe, rules: the Plan for located statements."""
    from importer.dedupe import DedupeSettings
    from importer.payee import PayeeSettings
    config_file = str(config.path) if config.path else None
    payee = PayeeSettings.from_config(config.section("payee"), file=config_file)
    settings = DedupeSettings.from_config(config.section("dedupe"), payee, file=config_file)
    target_ids = located.account_ids
    warnings = list(located.warnings)
    offline = existing_path is not None
    if offline:
        from importer.pocketsmith.models import load_export
        from importer.rules import categories_seen
        everything = load_export(existing_path)
        existing: dict[int, list[PsTransaction]] = {a: [] for a in target_ids}
        for txn in everything:
            # An export row without its account could be in any of them: compare it with all.
            for account_id in ([txn.transaction_account_id] if txn.transaction_account_id is not None
                               else target_ids):
                existing.setdefault(account_id, []).append(txn)
        categories = categories_seen(everything)
    else:
        existing = gather(client, located.statements, located.targets, settings)
        categories = None

    from importer.rules import load_rules_for
    ruleset = load_rules_for(rules_path, config, required=False)
    if ruleset is not None:
        if offline:
            warnings.extend(str(w) for w in ruleset.resolve_categories(categories, strict=False) or [])
        else:
            ruleset.resolve_categories(client.categories(), strict=True)

    imported = {a: journal.imported(a, target) for a in target_ids} if journal is not None else {}
    plan = build_plan(located.statements, targets=located.targets, existing_by_account=existing,
                      ruleset=ruleset, imported=imported, settings=settings, accounts=located.accounts)
    plan.warnings[:0] = warnings
    return plan


def prepare_plan(paths: Sequence[str | Path], *, config: Any, client: Any = None, account: int | None = None,
                 rules_path: str | Path | None = None, existing_path: str | Path | None = None,
                 journal: Any = None, mapping: str | None = None, date_order: str | None = None,
                 target: str = "") -> tuple[Located, Plan]:
    """The whole pipeline up to the plan; `existing_path` (with no client) is the offline preview."""
    located = locate(paths, config=config, client=None if existing_path is not None else client,
                     account=account, mapping=mapping, date_order=date_order)
    plan = plan_located(located, config=config, client=client, rules_path=rules_path,
                        existing_path=existing_path, journal=journal, target=target)
    return located, plan
