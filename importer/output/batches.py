"""What `psimport batches` shows, and what an import says when it is done."""

from __future__ import annotations

from pathlib import PurePath
from typing import IO, Any, Iterable

from importer.output.preview import not_created_lines
from importer.output.render import Column, console, left_out, write_csv, write_json
from importer.text import plural

__all__ = ["batch_rows", "batches_table", "show_batches", "BATCH_COLUMNS", "import_result_lines", "short_target",
           "middle_ellipsis"]

def batch_rows(batches: Iterable[Any]) -> list[dict]:
    """`psimport batches` rows, newest first (full paths; the table shortens them)."""
    rows = []
    for b in batches:
        counts = b.counts
        if b.undone_at:
            status = f"undone ({b.created} kept)" if b.created else "undone"
        elif b.status == "complete":
            status = "complete"
        else:
            status = "running" if b.running else "unfinished"
        rows.append({"id": b.id, "when": b.created_at, "target": b.target, "files": [f["path"] for f in b.files],
                     "accounts": b.accounts, "created": b.created, "skipped": counts.get("skipped", 0),
                     "failed": counts.get("failed", 0), "unknown": counts.get("sending", 0),
                     "planned": counts.get("planned", 0), "undone": counts.get("undone", 0), "status": status,
                     "undone_at": b.undone_at, "filled": getattr(b, "filled", 0), "running": b.running})
    return rows


BATCH_COLUMNS = [Column(k) for k in ("id", "when", "target", "files", "accounts", "created", "skipped", "failed",
                                     "unknown", "planned", "undone", "status", "undone_at", "filled",
                                     "running")]


# Below this width the files go under their batch id, shortened in the middle; from it, a column of their own.
_WIDE = 110
_NARROW_FILE = 18       # "  " + 18 = the batch id's 20


def batches_table(rows: list[dict], out: IO[str]) -> None:
    """The batches as a table that reads at 80 columns: each batch's files under its id, its counts and status
    stacked, the target as a short name; a wider terminal gets a Files column and the targets in full."""
    from datetime import datetime

    from rich import box
    from rich.table import Table
    screen = console(file=out)
    wide = screen.width >= _WIDE
    table = Table(title="Batches (newest first)", title_justify="left", header_style="bold", box=box.SIMPLE_HEAD,
                  show_edge=False, pad_edge=False)
    show_into = len({row["target"] for row in rows}) > 1
    table.add_column("Batch" if wide else "Batch, files", no_wrap=True)
    table.add_column("When", no_wrap=True)
    if show_into:
        table.add_column("Into", no_wrap=True)
    if wide:
        table.add_column("Files", no_wrap=True)
    table.add_column("Rows", no_wrap=True)
    table.add_column("Status", no_wrap=True)
    styles = {"complete": "green", "unfinished": "yellow", "running": "cyan"}
    if wide:    # what the other columns leave the file names, each column 3 cells apart
        others = [20, 10, max(len(r["status"]) for r in rows), max(len(c) for r in rows for c in _counts(r))]
        if show_into:
            others.append(max(len(short_target(r["target"], wide)) for r in rows))
        files_room = max(_NARROW_FILE, screen.width - sum(others) - 3 * len(others))
    for row in rows:
        try:
            when = datetime.fromisoformat(row["when"]).astimezone().strftime("%Y-%m-%d\n%H:%M")
        except (TypeError, ValueError):
            when = row["when"]
        names = [PurePath(f).name for f in row["files"]]
        if wide:
            batch, files = [row["id"]], ["\n".join(middle_ellipsis(n, files_room) for n in names)]
        else:
            batch, files = ["\n".join([row["id"], *(f"  {middle_ellipsis(n, _NARROW_FILE)}" for n in names)])], []
        status = row["status"] if wide else row["status"].replace(" (", "\n(")
        cells = batch + [when] + ([short_target(row["target"], wide)] if show_into else []) + files + [
            "\n".join(_counts(row)), status]
        table.add_row(*cells, style=styles.get(row["status"], "dim"), end_section=True)
    screen.print(table)


def _counts(row: dict) -> list[str]:
    counts = [f"{row['created']} created", f"{row['skipped']} skipped"]
    if row["failed"]:
        counts.append(f"{row['failed']} refused")
    if row["unknown"]:
        # Being sent right now, or sent by a run that stopped before the answer: looked up, never resent blind.
        counts.append(f"{row['unknown']} in flight" if row["running"] else f"{row['unknown']} unanswered")
    if row["planned"]:
        counts.append(f"{row['planned']} to send")
    if row["undone"]:
        counts.append(f"{row['undone']} undone")
    if row.get("filled"):
        counts.append(f"{row['filled']} filled in")
    return counts


def short_target(target: str | None, wide: bool = False) -> str:
    """Where a batch went, in a few letters: `sandbox`, `PocketSmith`, a local server as `local:PORT`, else its
    host (wide: host and port as given)."""
    from urllib.parse import urlsplit
    if not target or "://" not in target:
        return target or ""
    parts = urlsplit(target)
    if wide:
        return parts.netloc
    if parts.hostname == "api.pocketsmith.com":
        return "PocketSmith"
    if parts.hostname in ("127.0.0.1", "localhost", "::1"):
        return f"local:{parts.port}" if parts.port else "local"
    return parts.hostname or parts.netloc


def middle_ellipsis(name: str, width: int) -> str:
    """A file name cut to `width` in its middle, so its start and its suffix (the date, the type) still show."""
    if len(name) <= width:
        return name
    tail = min(max(len(PurePath(name).suffix) + 7, (width - 1) // 2), width - 6)    # a date, then the suffix
    return name[:width - 1 - tail] + "…" + name[-tail:]


def show_batches(batches: Iterable[Any], fmt: str, out: IO[str], journal_dir: Any, limit: int | None = None) -> None:
    """`psimport batches` in the chosen format; a table shows the newest `limit`, and says how many it left out."""
    rows = batch_rows(batches)
    if fmt == "json":
        write_json({"batches": rows}, out)
    elif fmt == "csv":
        write_csv(rows, BATCH_COLUMNS, out)
    elif not rows:
        out.write(f"No batches yet (journal: {journal_dir}).\n")
    else:
        batches_table(rows[:limit], out)
        if len(rows[:limit]) < len(rows):
            console(file=out).print(left_out(len(rows[:limit]), len(rows), "batches"), style="dim")


def import_result_lines(result: Any, undo_command: str, review_command: str = "psimport review FILE...",
                        ) -> list[tuple[str, bool]]:
    """What an import says when it is done (an importer.write.batches.ImportResult): (line, is_result).

    Result lines are always shown; the others (rows left for review, where the duplicates are
    listed) are left out by --quiet. Rows for review point to `review_command`, never to --accept-review
    (which would create those PocketSmith holds already too).
    """
    if result.batch_id is None:
        counts = []
        for action, what in (("duplicate", "already in PocketSmith"), ("skip", "skipped by rules"),
                             ("decided_skip", "skipped by your decision"), ("review", "for review")):
            if result.counts.get(action):
                counts.append(f"{result.counts[action]} {what}")
        # The command last: a line that ends with one is wrapped so that it still pastes whole (fit_text).
        decide = f"; decide each with: {review_command}" if result.counts.get("review") else "."
        return [(f"Nothing to import: {', '.join(counts) or 'the files have no rows'}{decide}", True)]
    lines: list[tuple[str, bool]] = []
    if result.review:
        lines.append((f"For review, not created; decide each with: {review_command}", False))
        lines += [(line, False) for line in
                  not_created_lines(result.review, "`psimport preview` with the same files lists them")]
    if result.duplicates:
        lines.append(("What each duplicate matched: `psimport preview --all` with the same files.", False))
    lines.append((f"Undo with: {undo_command}", True))
    return lines


def inbox_lines(result: Any) -> list[str]:
    """What `import --inbox` says (an importer.inbox.InboxResult): one summary line, then a line per file left."""
    imported, left = result.with_status("imported"), result.with_status("left")
    ignored = result.with_status("ignored")
    if not result.outcomes:
        return [f"Inbox {result.inbox}: no statements waiting."]
    parts = [f"{result.created} created, {result.duplicates} duplicates"]
    if imported:
        folders = sorted({str(o.moved_to.parent.relative_to(result.inbox)) for o in imported})
        parts.append(f"{plural(len(imported), 'file')} moved to {', '.join(f + '/' for f in folders)}")
    if left:
        parts.append(f"{len(left)} left for you")
    if ignored:
        parts.append(f"{plural(len(ignored), 'other file')} ignored (not statements)")
    lines = [f"Inbox {result.inbox}: {'; '.join(parts)}."]
    lines += [f"  {o.path.name}: {o.why}" for o in left]
    return lines
