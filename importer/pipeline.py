"""The pipeline from statement files to a Plan: parse, find each statement's account, fetch what exists, dedupe, rules.

`preview()` is the whole of it for a script (`importer.preview`); `locate` and `plan_located` are
its two halves, which an import runs apart so that an unfinished batch of the same files is found
(by `Located.key`) before anything is fetched or planned again.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Literal, Mapping, Sequence

from importer.accounts import (
    Target,
    account_rules,
    check_currencies,
    check_decimal_places,
    mapping_for_file,
    resolve_targets,
)
from importer.config import Config, load_config
from importer.parsers import FilesRead, ParseOptions, read_files
from importer.plan import Plan, build_plan
from importer.pocketsmith.models import PsTransaction, TransactionAccount
from importer.record import Statement, Transaction

if TYPE_CHECKING:
    from importer.balances import Command
    from importer.dedupe import DedupeSettings
    from importer.plan import Decided
    from importer.pocketsmith.export import Export
    from importer.pocketsmith.protocol import Client, TransactionSource
    from importer.rules import RuleSet
    from importer.write.journal import Journal

__all__ = ["preview", "read_statements", "Located", "locate", "plan_located", "existing_transactions",
           "dedupe_settings", "batch_key"]


def preview(files: Sequence[str | Path] | str | Path, *, existing: "str | Path | Export | None" = None,
            client: "Client | None" = None, account: int | None = None,
            rules: "str | Path | RuleSet | Literal[False] | None" = None, config: "str | Path | Config | None" = None,
            mapping: str | None = None, date_order: str | None = None,
            allow_currency_mismatch: bool = False, sheet: str | None = None) -> Plan:
    """The plan an import of `files` would carry out: what `psimport preview` shows, as a Plan.

    What PocketSmith holds comes from `client` (online: its categories, its accounts) or from
    `existing`, a JSON export of PocketSmith transactions (offline); with neither, nothing is
    held and every row is new. Rules' categories are resolved either way: online an unknown
    category is a ConfigError, offline a warning in `plan.warnings`.

    `rules` is a rules file, a RuleSet, False for none, or None for the command line's default
    (the config's `rules:`, else ./rules.yaml). `config` is a psimport.yaml path or a Config, or
    None for the command line's default (./psimport.yaml, then the user config dir). `account`
    sends every statement to that transaction account; otherwise the config's `accounts:` (and,
    online, account numbers) decide. A statement in another currency than its account's is a
    ConfigError, unless `allow_currency_mismatch`. `mapping`, `date_order` and `sheet` are
    `parse_file`'s options. Earlier imports recorded in a journal are not consulted: use
    `psimport preview` for that.
    """
    from importer.pocketsmith.export import Export
    if isinstance(files, (str, Path)):
        files = [files]
    settings = config if isinstance(config, Config) else load_config(config)
    if existing is not None and client is not None:
        raise ValueError("give existing= (offline) or client= (online), not both")
    source: TransactionSource = client if client is not None else \
        existing if isinstance(existing, Export) else \
        Export.load(existing) if existing is not None else Export([])
    offline_accounts = None if client is not None else getattr(source, "accounts", None)
    located = locate(files, config=settings, client=client, account=account, mapping=mapping,
                     date_order=date_order, offline_accounts=offline_accounts,
                     allow_currency_mismatch=allow_currency_mismatch, sheet=sheet)
    return plan_located(located, config=settings, source=source, rules=rules)


def read_statements(paths: Iterable[str | Path], *, config: Config, mapping: str | None = None,
                    date_order: str | None = None, sheet: str | None = None) -> FilesRead:
    """Parse the files (a directory means its statement files), each with its content hash.

    The user's mapping folders and date order apply, and a config `accounts:` entry with a `glob` and
    a `mapping` says which mapping reads those files; `mapping` and `date_order` override both.
    `sheet` names the sheet to read of each spreadsheet (default: its first).
    """
    rules = account_rules(config.accounts, config.path, config.mapping_dirs)
    order = date_order or config.date_order

    def options_for(path: Path) -> ParseOptions:
        return ParseOptions(mapping=mapping or mapping_for_file(path, rules), date_order=order,
                            mapping_dirs=config.mapping_dirs, max_file_bytes=config.max_file_bytes, sheet=sheet)
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
        """The transaction accounts the statements go to, each once."""
        return sorted({t.account_id for t in self.targets})


def locate(paths: Sequence[str | Path], *, config: Config, client: "Client | None" = None,
           account: int | None = None, mapping: str | None = None, date_order: str | None = None,
           offline_accounts: Mapping[int, TransactionAccount] | None = None,
           allow_currency_mismatch: bool = False, sheet: str | None = None) -> Located:
    """Parse the files and find each statement's transaction account (`client` None: offline, unchecked).

    Each statement's currency is checked against its account's (`check_currencies`): online the
    client's accounts say it, offline `offline_accounts` (those an export names) where they can.
    """
    rules_cfg = account_rules(config.accounts, config.path, config.mapping_dirs)
    read = read_statements(paths, config=config, mapping=mapping, date_order=date_order, sheet=sheet)
    statements = read.statements
    files = [{"path": str(f.path), "sha256": f.sha256} for f in read.files]
    known = None if client is None else client.transaction_accounts()
    targets = resolve_targets(statements, account=account, rules=rules_cfg, known=known, config_path=config.path)
    warnings = [f"{path}: skipped, not a statement psimport recognises" for path in read.skipped]
    warnings += read.notes
    warnings += [f"{s.file}: mapped to transaction account {t.account_id} by its {t.how}"
                 for s, t in zip(statements, targets) if "auto-matched" in t.how]
    with_currency = {a.id: a for a in known} if known is not None else dict(offline_accounts or {})
    warnings += check_currencies(statements, targets, with_currency, allow=allow_currency_mismatch)
    warnings += check_decimal_places(statements, targets, with_currency)
    return Located(statements=statements, files=files, targets=list(targets),
                   key=batch_key(files, statements, targets), accounts={a.id: a for a in known or ()},
                   warnings=warnings)


def dedupe_settings(config: Config) -> "DedupeSettings":
    """The config's `dedupe:` and `payee:` settings, as dedupe takes them."""
    from importer.dedupe import DedupeSettings
    from importer.payee import PayeeSettings
    config_file = str(config.path) if config.path else None
    payee = PayeeSettings.from_config(config.section("payee"), file=config_file)
    return DedupeSettings.from_config(config.section("dedupe"), payee, file=config_file)


def existing_transactions(source: "TransactionSource", statements: Sequence[Statement], targets: Sequence[Target],
                          settings: "DedupeSettings") -> dict[int, list[PsTransaction]]:
    """What `source` holds in each target account over the window dedupe needs."""
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
        existing[account_id] = list(source.transactions(account_id, start, end))
    return existing


def plan_located(located: Located, *, config: Config, source: "TransactionSource",
                 rules: "str | Path | RuleSet | Literal[False] | None" = None, journal: "Journal | None" = None,
                 target: str = "", decisions: "Mapping[tuple[int, str], Decided] | None" = None,
                 command: "Command | None" = None) -> Plan:
    """Existing transactions, dedupe, rules: the Plan for located statements.

    `journal` (with `target`, where the rows go) marks rows imported before as duplicates and applies
    the decisions kept there; `decisions` (by `importer.plan.row_identity`) are applied over those.
    `command(*words)` writes a psimport command a warning advises, with the options of the run.
    """
    from importer.rules.categories import resolve_with
    settings = dedupe_settings(config)
    existing = existing_transactions(source, located.statements, located.targets, settings)
    ruleset = _ruleset(rules, config)
    warnings = list(located.warnings)
    if ruleset is not None:
        warnings.extend(resolve_with(ruleset, source))
    imported = {a: journal.imported(a, target) for a in located.account_ids} if journal is not None else {}
    decided: dict[tuple[int, str], Decided] = {}
    if journal is not None:
        decided.update(((d.account_id, d.external_id), d) for d in journal.decisions(target, located.account_ids))
    decided.update(decisions or {})
    plan = build_plan(located.statements, targets=located.targets, existing_by_account=existing,
                      ruleset=ruleset, imported=imported, settings=settings, accounts=located.accounts,
                      decisions=decided)
    plan.warnings[:0] = warnings
    _money_that_adds_up(plan, config=config, source=source, existing=existing, ruleset=ruleset, journal=journal,
                        target=target, command=command)
    return plan


def _money_that_adds_up(plan: Plan, *, config: Config, source: "TransactionSource",
                        existing: Mapping[int, Sequence[PsTransaction]], ruleset: "RuleSet | None",
                        journal: "Journal | None", target: str, command: "Command | None" = None) -> None:
    """Transfers between the user's accounts paired (importer.transfers); balances, running balances, gaps
    and overlaps checked (importer.balances)."""
    from importer.balances import BalanceSettings, add_money_checks
    from importer.transfers import TransferSettings, find_transfers, transfer_category
    config_file = str(config.path) if config.path else None
    transfers = TransferSettings.from_config(config.section("transfers"), file=config_file)
    if transfers.enabled:
        category, warnings = transfer_category(transfers, ruleset, source.categories() if transfers.category else (),
                                               strict=not source.offline, file=config_file)
        plan.warnings += warnings
        find_transfers(plan, source=source, held=existing, settings=transfers, category=category)
    add_money_checks(plan, held=existing, settings=BalanceSettings.from_config(config.section("balances"),
                                                                                file=config_file),
                     journal=journal, target=target, fetch=source.transactions,
                     **({"command": command} if command is not None else {}))


def _ruleset(rules: "str | Path | RuleSet | Literal[False] | None", config: Config) -> "RuleSet | None":
    from importer.rules import RuleSet, load_rules_for
    if rules is False:
        return None
    if isinstance(rules, RuleSet):
        return rules
    return load_rules_for(rules, config, required=False)
