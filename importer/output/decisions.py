"""How a person's decisions look: the review screen, the kept decisions, and what an enriching import fills in."""

from __future__ import annotations

import re
from pathlib import PurePath
from typing import IO, Any, Sequence

from importer.output.preview import why
from importer.output.render import Column, console, left_out, print_table, write_csv, write_json
from importer.text import plural

__all__ = ["review_screen", "KEY_HELP", "show_decisions", "DECISION_COLUMNS", "show_enrichment", "fills_text",
           "decision_words"]

KEY_HELP = "[n] new  [1-{k}] same as candidate  [s] skip  [Enter] later  [b] back  [q] quit"


def _apart(days: int) -> str:
    """How many days apart the row and the transaction are (which way is in the reasons)."""
    return "same day" if days == 0 else plural(abs(days), "day")


def decision_words(action: str, duplicate_of: int | None) -> str:
    """A decision as the screens say it: "new", "skip", "same as #880000214"."""
    return {"create": "new", "skip": "skip"}.get(action) or f"same as #{duplicate_of}"


_CANDIDATE_COLUMNS = [
    Column("k", "k", justify="right", no_wrap=True),
    Column("id", "#", no_wrap=True),
    Column("date", "Date", no_wrap=True),
    Column("amount", "Amount", justify="right", no_wrap=True),
    Column("payee", "Payee", no_wrap=True, ratio=3),
    Column("apart", "Apart", justify="right", no_wrap=True),
    Column("score", "Score", justify="right", no_wrap=True),
    Column("note", "", no_wrap=True, hide_empty=True),
]


def review_screen(item: Any, number: int, total: int, out: IO[str] | None = None) -> None:
    """One row to review, readable at 80 columns: where it is, what it is, why it is asked, its candidates, the keys."""
    from rich.rule import Rule
    from rich.text import Text

    screen = console(file=out)
    row = item.row
    txn = row.record
    screen.print(Rule(f"Row {number} of {total}", style="yellow"))
    screen.print(Text(f"{item.where} · account {row.account_id}", style="dim"), no_wrap=True, overflow="ellipsis")
    head = Text()
    head.append(txn.date.isoformat())
    head.append(f"  {txn.amount}  ", style="bold")
    head.append(row.payee or txn.original_payee)
    screen.print(head, no_wrap=True, overflow="ellipsis")
    for label, value in (("statement", txn.original_payee if txn.original_payee != row.payee else None),
                         ("memo", txn.memo), ("category", row.category),
                         ("labels", ", ".join(row.labels) if row.labels else None)):
        if value:
            screen.print(Text(f"  {label}: {value}", style="dim"), no_wrap=True, overflow="ellipsis")
    if row.action == "review" and not row.decided:
        screen.print(Text(f"Asked because: {asked_because(item)}", style="yellow"), no_wrap=True,
                     overflow="ellipsis")
    if item.answer is not None:
        screen.print(Text(f"Decided: {decision_words(item.answer.action, item.answer.duplicate_of)}"
                          f" ({item.answer.source}, {(item.answer.decided_at or '')[:10]})", style="bold cyan"))
    if item.candidates:
        rows = []
        for k, c in enumerate(item.candidates, 1):
            note = ", ".join(word for word, yes in (("proposed", c.proposed), ("pending", c.txn.status == "pending"),
                                                    ("taken", c.taken_by)) if yes)
            rows.append({"k": k, "id": c.txn.id, "date": c.txn.date.isoformat(), "amount": c.txn.amount,
                         "payee": c.txn.payee or c.txn.original_payee, "apart": _apart(c.days),
                         "score": None if c.score is None else f"{c.score:.2f}", "note": note})
        screen.print(Text("Candidates in PocketSmith", style="bold"))
        print_table(rows, _CANDIDATE_COLUMNS, screen=screen, compact=True)
        for k, c in enumerate(item.candidates, 1):
            said = ([f"taken by {c.taken_by}"] if c.taken_by else []) + \
                ([f"memo '{c.txn.memo}'"] if c.txn.memo else []) + list(c.reasons)
            if said:
                screen.print(Text(f"  {k}: " + "; ".join(said), style="dim"), no_wrap=True, overflow="ellipsis")
    else:
        screen.print(Text("No candidate in PocketSmith: nothing of this amount near its date.", style="dim"))
    count = len(item.candidates)
    keys = KEY_HELP.replace("[1-{k}] same as candidate", "[1] same as candidate 1" if count == 1 else
                            f"[1-{count}] same as candidate" if count else "").replace("    ", "  ")
    screen.print(Text(keys, style="bold"), no_wrap=True, overflow="ellipsis")


def asked_because(item: Any) -> str:
    """Why a row is asked, as the answers given so far leave it (dedupe's reason was given before them)."""
    if item.all_taken:
        return "every candidate is another row's now: probably new"
    text = why(item.row.as_json())

    def answered(found: re.Match) -> str:
        answer = item.answered_lines.get(int(found.group(1)))
        if answer is None:
            return found.group(0)
        return f"line {found.group(1)} is answered ({decision_words(answer.action, answer.duplicate_of)})"
    return re.sub(r"line (\d+) fits as well", answered, text)


DECISION_COLUMNS = [
    Column("id", "Id", justify="right", no_wrap=True),
    Column("decided", "Decided", no_wrap=True),
    Column("date", "Date", no_wrap=True),
    Column("amount", "Amount", justify="right", no_wrap=True),
    Column("payee", "Payee", no_wrap=True, ratio=3),
    Column("decision", "Decision", no_wrap=True),
    Column("source", "From", no_wrap=True, min_screen=100),
    Column("where", "Where", style="dim", no_wrap=True, ratio=1, min_screen=110),
    Column("account_id", "Account", no_wrap=True, min_screen=120),
]


def _decision_json(d: Any) -> dict:
    return {"id": d.id, "target": d.target, "transaction_account_id": d.account_id, "external_id": d.external_id,
            "action": d.action, "duplicate_of": d.duplicate_of, "source": d.source, "decided_at": d.decided_at,
            "date": d.row.get("date"), "amount": d.row.get("amount"), "payee": d.row.get("payee"),
            "file": d.row.get("file"), "line": d.row.get("line")}


def show_decisions(decisions: Sequence[Any], fmt: str, out: IO[str], limit: int | None = None) -> None:
    """`psimport decisions list`: newest last, as a table (the newest `limit`), JSON or CSV."""
    data = [_decision_json(d) for d in decisions]
    if fmt == "json":
        write_json({"decisions": data}, out)
        return
    if fmt == "csv":
        write_csv(data, [Column(k) for k in data[0]] if data else [Column("id")], out)
        return
    screen = console(file=out)
    if not data:
        screen.print("No decisions kept yet: `psimport review FILE...` or `--decisions plan.csv` make them.")
        return
    shown = data[-limit:] if limit else data
    rows = [{**d, "decided": (d["decided_at"] or "")[:10], "decision": decision_words(d["action"], d["duplicate_of"]),
             "where": f"{PurePath(d['file'] or '').name}:{d['line'] or ''}", "account_id": d["transaction_account_id"]}
            for d in shown]
    print_table(rows, DECISION_COLUMNS, screen=screen, compact=True)
    if len(shown) < len(data):
        screen.print(left_out(len(shown), len(data), "decisions (the newest)"), style="dim")
    screen.print(f"{plural(len(data), 'decision')} kept; `psimport decisions forget ID...` removes one.")


def fills_text(fills: dict, categories: dict[int, str] | None = None) -> str:
    """What an enriching import fills in, in a few words: "memo: AGL ENERGY …; category: Utilities"."""
    parts = []
    for name, value in fills.items():
        if name == "category_id":
            parts.append(f"category: {(categories or {}).get(value, f'#{value}')}")
        elif name == "labels":
            parts.append(f"labels: {', '.join(value)}")
        else:
            parts.append(f"{name.replace('_', ' ')}: {value}")
    return "; ".join(parts)


_ENRICH_COLUMNS = [
    Column("source", "Source", style="dim", no_wrap=True, min_screen=100),
    Column("date", "Date", no_wrap=True),
    Column("amount", "Amount", justify="right", no_wrap=True),
    Column("id", "#", no_wrap=True),
    Column("fills", "Fills in", no_wrap=True, ratio=1),
]


def show_enrichment(plan: Any, out: IO[str], limit: int | None = None) -> None:
    """Per row, what `import --enrich` would fill into the PocketSmith transaction it duplicates."""
    from rich.text import Text
    screen = console(file=out)
    categories = {r.category_id: r.category for r in plan.rows if r.category_id is not None}
    rows = [{"source": f"{PurePath(r.record.file or '').name}:{r.record.line or ''}", "date": r.record.date.isoformat(),
             "amount": r.record.amount, "id": r.matched.id, "fills": fills_text(r.enrich, categories)}
            for r in plan.rows if r.enrich and r.matched is not None]
    if not rows:
        screen.print(Text("import --enrich: nothing to fill in; the transactions these rows duplicate have "
                          "every field the statement could add.", style="dim"))
        return
    shown = rows[:limit] if limit else rows
    screen.print(Text(f"{len(rows)} to fill in by import --enrich (their empty fields only)", style="bold cyan"),
                 no_wrap=True, overflow="ellipsis")
    print_table(shown, _ENRICH_COLUMNS, screen=screen, compact=True)
    if len(shown) < len(rows):
        screen.print(Text(left_out(len(shown), len(rows), "to fill in"), style="dim"))
