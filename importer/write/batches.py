"""Import batches, start to end: the journaled runs behind `preview`, `import`, `batches` and `undo`.

An import opens (or resumes) a batch from a plan, confirms, writes it and reports; an undo
deletes what a batch created. The library never prints: a run talks to the person through a
`Ui` the command line supplies (lines to show, a question to confirm, a progress bar) and
returns what is left to show, so the same flow runs under tests or another front end.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable, ContextManager, Protocol, Sequence, cast

from importer.errors import ConfigError, InputError
from importer.pipeline import locate, plan_located
from importer.plan import Action, Plan, accepted_unseen
from importer.text import plural
from importer.decisions import accepted_reviews, client_lookup, read_decisions_csv
from importer.enrich import plan_fills, planned_updates, send_updates, undo_updates
from importer.write.journal import (OPEN_STATES, BatchInfo, Journal, NewRow, StoredDecision, import_lock,
                                    import_running)

if TYPE_CHECKING:
    from importer.balances import Command
    from importer.config import Config
    from importer.write.writer import IncompleteBatch, WriteReport
    from importer.enrich import Updating
    from importer.pipeline import Located
    from importer.pocketsmith.protocol import Client, TransactionSource

__all__ = ["Ui", "ImportResult", "preview_plan", "run_import", "list_batches", "run_undo"]

Progress = Callable[[int, int], None]


class Ui(Protocol):
    """How a run talks to the person running it."""

    def say(self, text: str) -> None:
        """A result line: always shown."""

    def note(self, text: str) -> None:
        """An informational line that --quiet leaves out."""

    def show_summary(self, plan: Plan, title: str) -> None:
        """The plan's summary panel (left out by --quiet)."""

    def confirm(self, question: str, action: str) -> None:
        """Return to go ahead; raise (an ImporterError, or an abort) to stop before anything is written."""

    def command(self, *words: str) -> str:
        """The psimport command line `words` make, for the person to run next (with this run's global options)."""

    def progress(self, label: str) -> ContextManager[Progress]:
        """A `(done, total)` callback for the duration of the block."""


@dataclass
class ImportResult:
    """What an import leaves for the person to read: its batch, and the rows it did not create.

    `batch_id` is None when there was nothing to import; then `counts` says why (rows per action).
    """

    batch_id: str | None
    counts: dict[str, int] = field(default_factory=dict)
    review: list[dict] = field(default_factory=list)      # preview rows left for review, not created
    duplicates: int = 0                                    # rows already in PocketSmith, not created
    created: int = 0                                       # rows the batch created (this run and earlier ones)


def preview_plan(files: Sequence[str | Path], *, state_dir: Path, config: "Config", source: "TransactionSource",
                 target: str, account: int | None = None, rules_path: str | Path | None = None,
                 mapping: str | None = None, date_order: str | None = None,
                 decisions_csv: str | Path | None = None, allow_currency_mismatch: bool = False,
                 sheet: str | None = None, command: "Command | None" = None) -> Plan:
    """The plan an import of `files` would carry out, with the journal's earlier imports as duplicates and the
    decisions kept there applied; `decisions_csv` (a filled-in preview CSV) adds decisions, not kept.
    `command(*words)` writes the psimport commands its warnings advise (importer.balances)."""
    journal = Journal.existing_in(state_dir)
    try:
        client = None if source.offline else cast("Client", source)     # online, the source is the client
        located = locate(files, config=config, client=client, account=account,
                         mapping=mapping, date_order=date_order,
                         offline_accounts=getattr(source, "accounts", None) if source.offline else None,
                         allow_currency_mismatch=allow_currency_mismatch, sheet=sheet)
        plan = plan_located(located, config=config, source=source, rules=rules_path, journal=journal,
                            target=target, command=command)
        if decisions_csv is not None:
            plan = _with_csv_decisions(plan, decisions_csv, located, config, source, rules_path, journal, target,
                                       client, command)[0]
        return plan_fills(plan)
    finally:
        if journal is not None:
            journal.close()


def _with_csv_decisions(plan: Plan, path: str | Path, located: "Located", config: "Config",
                        source: "TransactionSource", rules_path: str | Path | None, journal: Journal | None,
                        target: str, client: "Client | None",
                        command: "Command | None" = None) -> tuple[Plan, list[StoredDecision]]:
    """The plan again with a preview CSV's decisions (checked against `plan` first, so a bad one writes nothing)."""
    from importer.pipeline import dedupe_settings
    decided = read_decisions_csv(path, plan, target=target, lookup=client_lookup(client) if client else None,
                                 pending_tolerance=dedupe_settings(config).pending_tolerance)
    if not decided:
        return plan, []
    plan = plan_located(located, config=config, source=source, rules=rules_path, journal=journal, target=target,
                        decisions={(d.account_id, d.external_id): _today(d) for d in decided}, command=command)
    return plan, decided


def _today(decision: StoredDecision) -> StoredDecision:
    """A decision being made now, dated as it will be kept."""
    from dataclasses import replace
    from datetime import datetime, timezone
    return replace(decision, decided_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))


def run_import(files: Sequence[str | Path], *, client: "Client", config: "Config", state_dir: Path, target: str,
               ui: Ui, again: str, account: int | None = None, rules_path: str | Path | None = None,
               mapping: str | None = None, date_order: str | None = None, accept_review: bool = False,
               concurrency: int | None = None, decisions_csv: str | Path | None = None,
               enrich: bool = False, allow_currency_mismatch: bool = False, sheet: str | None = None) -> ImportResult:
    """Create the plan's new rows exactly once: finish the unfinished batch of these same files, or start one.

    `again` is the command line that finishes an interrupted run, for the message that says so.
    `decisions_csv` (a filled-in preview CSV) and `accept_review` are decisions, kept in the journal once the
    import is confirmed; `enrich` also fills the empty fields of the PocketSmith transactions rows duplicate.
    """
    from importer.write.writer import DEFAULT_CONCURRENCY   # here: a preview never loads the writer
    with import_lock(state_dir), Journal.in_state_dir(state_dir) as journal:
        opened = _open_batch(journal, client, config, target, files, account, rules_path, mapping, date_order,
                             accept_review, ui, decisions_csv, enrich, allow_currency_mismatch=allow_currency_mismatch,
                             sheet=sheet)
        if isinstance(opened, ImportResult):
            return opened
        return _write_batch(journal, client, opened, concurrency or DEFAULT_CONCURRENCY, ui, again)


def _open_batch(journal: Journal, client: "Client", config: "Config", target: str, files: Sequence[str | Path],
                account: int | None, rules_path: str | Path | None, mapping: str | None, date_order: str | None,
                accept_review: bool, ui: Ui, decisions_csv: str | Path | None = None,
                enrich: bool = False, *, allow_currency_mismatch: bool = False,
                sheet: str | None = None) -> "str | ImportResult":
    """The unfinished batch of these same files, or a new one from a fresh plan; None if nothing to do."""
    from importer.write.writer import settle_unknown
    located = locate(files, config=config, client=client, account=account, mapping=mapping, date_order=date_order,
                     allow_currency_mismatch=allow_currency_mismatch, sheet=sheet)
    key = hashlib.sha256(f"{target}\n{located.key}".encode()).hexdigest()
    unfinished = journal.find_unfinished(key)
    if unfinished is not None:
        if accept_review:
            journal.promote_review(unfinished.id, range(len(journal.rows(unfinished.id))))
            unfinished = journal.batch(unfinished.id)
        left = unfinished.unfinished + len(journal.updates(unfinished.id, OPEN_STATES))
        if not left:    # stopped after its last row was journaled, before it was marked complete
            ui.note(f"Batch {unfinished.id} of these files has nothing left to create; marking it complete.")
            return unfinished.id
        ui.note(f"Batch {unfinished.id} of these files (planned {unfinished.created_at}) is unfinished: "
                f"{unfinished.created} created, {left} to go. Finishing it with its original plan.")
        if decisions_csv is not None:
            ui.note(f"{decisions_csv} is not read now: the batch keeps the decisions it was planned with "
                    "(those of its first run are kept already); run the import again afterwards for any new ones.")
        ui.confirm(f"Finish batch {unfinished.id} ({left} to create in {_where(target)})?", "importing")
        return unfinished.id

    # Creates of an earlier run whose outcome is unknown are settled first, so the plan counts them.
    for other in journal.batches_with_unknown_rows(located.account_ids, target):
        batch = journal.batch(other)
        settle_unknown(client, journal, journal.rows(other, ["sending"]), batch.existing, target)

    plan = plan_located(located, config=config, source=client, rules=rules_path, journal=journal, target=target,
                        command=ui.command)
    decided: list[StoredDecision] = []
    if decisions_csv is not None:
        plan, decided = _with_csv_decisions(plan, decisions_csv, located, config, client, rules_path, journal,
                                            target, client, ui.command)
    if accept_review:
        accepted = accepted_reviews(plan, target)
        if accepted:
            # Planned again with the rows for review decided as created, so the plan shown and confirmed (its
            # counts, the balance after import, the warnings) is the one that is then done.
            decided += accepted
            plan = plan_located(located, config=config, source=client, rules=rules_path, journal=journal,
                                target=target, decisions={(d.account_id, d.external_id): _today(d) for d in decided},
                                command=ui.command)
    to_send = plan.to_send(accept_review)
    updates = planned_updates(plan_fills(plan)) if enrich else []
    if not to_send and not updates:
        journal.save_decisions(decided)
        counts = {str(action): plan.count(action) for action in Action}
        # A skip the person decided is said as theirs, not a rule's.
        counts["decided_skip"] = sum(1 for row in plan.rows if row.action == Action.SKIP and row.decided)
        counts["skip"] -= counts["decided_skip"]
        return ImportResult(None, counts=counts)
    ui.show_summary(plan, "Plan")
    doing = [f"create {plural(len(to_send), 'transaction')}"] if to_send else []
    if updates:
        doing.append(f"fill in empty fields of {plural(len(updates), 'transaction')}")
    question = " and ".join(doing)
    ui.confirm(f"{question[0].upper()}{question[1:]} in {_where(target)}?", "importing")
    sending = {row.index for row in to_send}
    creatable = (Action.CREATE, Action.REVIEW)
    # A row --accept-review decided is journaled as the row for review it was (the balance check later
    # suspects those first when rows were created twice).
    rows = [NewRow(row_index=row.index, account_id=row.account_id, external_id=row.record.external_id,
                   fingerprint=row.fingerprint, action=Action.REVIEW if accepted_unseen(row) else row.action,
                   send=row.index in sending,
                   body=row.body(accepted_review=row.action == Action.REVIEW) if row.action in creatable else None)
            for row in plan.rows]
    return journal.create_batch(key=key, files=located.files, accounts=located.account_ids, plan=plan.to_json(),
                                rows=rows, existing=plan.existing_ids, target=target, updates=updates,
                                decisions=decided)


def _where(target: str) -> str:
    """Where a run writes, for the questions that ask before writing."""
    return "the sandbox" if target == "sandbox" else f"PocketSmith ({target})" if target else "PocketSmith"


def _write_batch(journal: Journal, client: "Client", batch_id: str, concurrency: int, ui: Ui,
                 again: str) -> ImportResult:
    from importer.write.writer import IncompleteBatch, Writer
    with ui.progress("Creating") as progress:
        writer = Writer(client, journal, concurrency=concurrency, progress=progress)
        report = writer.run(batch_id)
    filled = None
    if journal.updates(batch_id) and report.complete and not report.interrupted:
        with ui.progress("Filling in") as progress:
            filled = send_updates(cast("Updating", client), journal, batch_id, progress=progress)
        journal.finish_batch(batch_id)
    batch = journal.batch(batch_id)
    states = {index: state for index, state, _, _ in journal.row_states(batch_id)}
    not_created = [r for r in journal.plan_of(batch_id).get("transactions", [])
                   if r["action"] != "create" and states.get(r["index"]) == "skipped"]
    skipped = {a: sum(1 for r in not_created if r["action"] == a) for a in ("duplicate", "review", "skip")}
    yours = sum(1 for r in not_created if r["action"] == "skip" and r.get("decided"))
    found = f" ({report.settled} found after an unanswered request)" if report.settled else ""
    earlier = f", {report.already_done} of them by an earlier run" if report.already_done else ""
    ui.say(f"Batch {batch_id}: created {batch.created} transactions{found}{earlier}; skipped "
           f"{skipped['duplicate'] + report.skipped_now} duplicates, {skipped['review']} for review, "
           f"{skipped['skip'] - yours} by rules" + (f", {yours} by your decision." if yours else "."))
    if filled is not None:
        ui.say(f"Filled in {plural(filled.fields, 'empty field')} of {plural(filled.done, 'transaction')}"
               f" PocketSmith already held.")
        for ps_id, fields in filled.kept:
            ui.say(f"  left #{ps_id} alone where it changed in PocketSmith since the plan: {', '.join(fields)}")
    if report.throttles:
        ui.note(f"PocketSmith asked to slow down {report.throttles} times; requests in flight went down to "
                f"{report.lowest_concurrency}.")
    if report.other_writer is not None:
        raise _other_writer_stop(report, batch, ui)
    open_updates = len(journal.updates(batch_id, OPEN_STATES))
    if not report.complete or open_updates:
        problems = []
        if open_updates:
            problems.append(f"{plural(open_updates, 'transaction')} still to fill in")
        if report.failed:
            problems.append(f"{len(report.failed)} refused (first: {report.failed[0][1]})")
        if report.unknown:
            problems.append(f"{len(report.unknown)} unanswered, to be looked up")
        if report.left:
            problems.append(f"{report.left} not sent")
        why = "interrupted" if report.interrupted else (report.stopped_reason or "not finished")
        raise IncompleteBatch(f"batch {batch_id} is unfinished ({why}): {batch.created} of {report.planned} "
                              f"created; {', '.join(problems)}. Nothing was created twice; run the same command "
                              f"again to finish:\n  {again}",
                              exit_code=130 if report.interrupted else 5)
    # The duplicates are counted above; only the rows for review need the user's eyes now.
    return ImportResult(batch_id, review=[r for r in not_created if r["action"] == Action.REVIEW],
                        duplicates=sum(1 for r in not_created if r["action"] == Action.DUPLICATE),
                        created=batch.created)


def _other_writer_stop(report: WriteReport, batch: BatchInfo, ui: Ui) -> IncompleteBatch:
    """What to do when another import was found creating this batch's rows."""
    from importer.write.writer import IncompleteBatch
    undo = ui.command("undo", batch.id, "--yes")
    return IncompleteBatch(
        f"{report.other_writer}.\nBatch {batch.id} created {batch.created} of {report.planned} rows before that. "
        "Let the other import finish, then undo this batch (it deletes only what this batch created, leaving the "
        f"other import's copies):\n  {undo}\nand preview the same files again: whatever either import created "
        "shows as a duplicate, and the rest can be imported once.", exit_code=5)


def list_batches(state_dir: Path) -> list[BatchInfo]:
    """Every batch in the state dir's journal, newest first; none if there is no journal yet.

    While an import holds the state dir's lock, the newest open batch is the one it is working on:
    that batch is `running`, and its rows being sent are in flight rather than unanswered.
    """
    journal = Journal.existing_in(state_dir)
    if journal is None:
        return []
    with journal:
        batches = journal.batches()
    if import_running(state_dir):
        newest_open = next((i for i, b in enumerate(batches) if b.status == "open" and not b.undone_at), None)
        if newest_open is not None:
            batches[newest_open] = replace(batches[newest_open], running=True)
    return batches


def run_undo(batch_id: str, *, state_dir: Path, client_for: Callable[[bool], "Client"], sandbox: bool, target: str,
             ui: Ui, again: str) -> None:
    """Delete what a batch created, keeping (and listing) what the user changed in PocketSmith since.

    `client_for(sandbox)` gives the client; a batch imported into the sandbox is undone there.
    """
    from importer.write.writer import IncompleteBatch, undo_batch
    journal = Journal.existing_in(state_dir)
    if journal is None:
        raise InputError(f"no import journal in {state_dir}, so no batch {batch_id!r}; nothing to undo")
    with journal:
        batch = journal.batch(batch_id)
        if batch.target == "sandbox":
            sandbox = True
        elif batch.target and batch.target != target:
            raise ConfigError(f"batch {batch.id} was imported into {batch.target}; "
                              f"run: {ui.command('undo', batch.id, '--api-url', batch.target)}")
        to_delete = batch.created + batch.counts.get("sending", 0)
        to_restore = len(journal.updates(batch.id, ["done", "sending"]))
        if to_delete == 0 and to_restore == 0:
            if batch.status == "open" and batch.unfinished:
                # It created nothing (stopped first, by another import for one): its plan is dropped, so
                # importing the same files plans afresh instead of finishing it.
                with import_lock(state_dir):
                    report = undo_batch(client_for(sandbox), journal, batch.id)
                ui.say(f"Batch {batch.id} created nothing; its {plural(report.abandoned, 'planned row')} "
                       "are dropped, and importing the same files plans them afresh.")
                _forget_batch_decisions(journal, batch.id, ui)
                return
            ui.say(f"Batch {batch.id} has nothing left to undo.")
            return
        where = _where('sandbox' if sandbox else batch.target or target)
        doing = [f"delete the {plural(to_delete, 'transaction')} batch {batch.id} created"] if to_delete else []
        if to_restore:
            doing.append(f"empty again the fields it filled in {plural(to_restore, 'transaction')}")
        question = " and ".join(doing)
        ui.confirm(f"{question[0].upper()}{question[1:]} in {where}?", "deleting")
        client = client_for(sandbox)
        with import_lock(state_dir), ui.progress("Deleting") as progress:
            report = undo_batch(client, journal, batch.id, progress=progress)
            restored = undo_updates(cast("Updating", client), journal, batch.id) if to_restore else None
        if to_delete or not to_restore:
            ui.say(f"Batch {batch.id}: deleted {report.deleted}"
                   + (f", {report.gone} already gone" if report.gone else "")
                   + (f", kept {len(report.kept)} changed in PocketSmith since" if report.kept else "") + ".")
        if restored is not None:
            ui.say(f"Batch {batch.id}: emptied {plural(restored.fields, 'field')} it had filled in "
                   f"{plural(restored.done, 'transaction')}"
                   + (f"; left alone {len(restored.kept)} changed in PocketSmith since" if restored.kept else "")
                   + ".")
            for ps_id, fields in restored.kept:
                ui.say(f"  kept #{ps_id}'s {', '.join(fields)}: changed in PocketSmith since")
            report.failed += restored.failed
        for row_index, ps_id, changed in report.kept:
            body = journal.row(batch.id, row_index).body or {}
            ui.say(f"  kept #{ps_id} {body.get('date')} {body.get('amount')} {body.get('payee')}: "
                   f"changed {', '.join(changed)}")
        if report.failed:
            raise IncompleteBatch(f"{len(report.failed)} could not be deleted (first: {report.failed[0][1]}); "
                                  f"run the same command again:\n  {again}")
        _forget_batch_decisions(journal, batch.id, ui)


def _forget_batch_decisions(journal: Journal, batch_id: str, ui: Ui) -> None:
    """An undone batch takes back the decisions its import was given (--accept-review, --decisions), so they do not
    create its rows again; those made in `review` (or given to another import) stay, and are said."""
    own, others = journal.decisions_on_batch(batch_id)
    if own:
        journal.forget_decisions(d.id for d in own if d.id is not None)
        sources = sorted({"--accept-review" if d.source == "accept-review" else "--decisions" for d in own})
        ui.say(f"Forgot the {plural(len(own), 'decision')} this import was given ({' and '.join(sources)}).")
    if others:
        ids = [str(d.id) for d in others]
        where = "in review" if all(d.source == "review" for d in others) else "in review or by another import"
        ui.say(f"Kept {plural(len(others), 'decision')} made {where} on rows it created: the next import applies "
               f"{'it' if len(others) == 1 else 'them'} again; to forget {'it' if len(others) == 1 else 'them'}: "
               f"{ui.command('decisions', 'forget', *ids)}")
