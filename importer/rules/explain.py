"""`rules explain`: for each row of some statement files, which rules matched and which rule set each field."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from importer.errors import ConfigError
from importer.rules.file import load_rules_for

if TYPE_CHECKING:
    from importer.pocketsmith.protocol import TransactionSource

__all__ = ["explain_files", "explain_rows"]


def explain_files(files: Sequence[str | Path], rules_path: str | Path | None, config: Any, *,
                  account: int | None = None, mapping: str | None = None, date_order: str | None = None,
                  source: "TransactionSource | None" = None, warn: Callable[[str], None] = lambda text: None
                  ) -> list[dict]:
    """`psimport rules explain`: for each row of the files, which rules matched and which set each field.

    Without a `source` the categories stay as written; with one they are resolved as preview
    resolves them (an export's: warnings; PocketSmith's: errors), and a client also names the
    transaction accounts the files go to.
    """
    from importer.accounts import account_rules, resolve_targets
    from importer.pipeline import read_statements
    from importer.rules.categories import resolve_with
    from importer.rules.subject import subject_from_record
    ruleset = load_rules_for(rules_path, config)
    known = None
    if source is not None:
        for warning in resolve_with(ruleset, source):
            warn(warning)
        if not source.offline:
            known = source.transaction_accounts()
    mapping_rules = account_rules(config.accounts, config.path, config.mapping_dirs)
    statements = read_statements(files, config=config, mapping=mapping, date_order=date_order).statements
    try:
        targets = resolve_targets(statements, account=account, rules=mapping_rules, known=known,
                                  config_path=config.path)
    except ConfigError:
        targets = [None] * len(statements)   # unmapped files: rules on `account` see the file's number only
    names = {a.id: a.name for a in known or ()}
    subjects = []
    for statement, target in zip(statements, targets):
        aliases = [str(target.account_id), names.get(target.account_id)] if target and target.account_id > 0 else []
        aliases = [a for a in aliases + [statement.account.id] if a]
        subjects.extend(subject_from_record(txn, aliases) for txn in statement.transactions)
    return explain_rows(statements, ruleset.apply_all(subjects))


def explain_rows(statements, outcomes) -> list[dict]:
    """One row per statement transaction: which rules matched it and which rule set each field."""
    rows = []
    index = 0
    for statement in statements:
        for txn in statement.transactions:
            outcome = outcomes[index]
            index += 1
            decided = {}
            for name in ("category", "payee", "note", "needs_review", "is_transfer", "skip"):
                if name in outcome.set_by:
                    value = outcome.category_path if name == "category" else getattr(outcome, name)
                    decided[name] = {"value": value, "rule": outcome.set_by[name]}
            rows.append({"file": statement.file, "line": txn.line, "date": txn.date, "amount": txn.amount,
                         "payee": txn.payee, "original_payee": txn.original_payee, "memo": txn.memo,
                         "rules": list(outcome.rules), "set": decided,
                         "labels": [{"label": label, "rule": outcome.label_by.get(label)}
                                    for label in outcome.labels],
                         "category_id": outcome.category_id})
    return rows
