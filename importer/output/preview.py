"""How a Plan looks: the preview as a rich table, JSON or spreadsheet-safe CSV (HTML: output.html), and its summary."""

from __future__ import annotations

from collections import defaultdict
from typing import IO, Any

from importer.output.render import Column, console, write_csv, write_json
from importer.plan import ACTIONS, Plan
from importer.text import plural

__all__ = ["show_plan", "plan_table", "plan_csv", "summary_lines", "print_summary", "ACTION_STYLES", "CSV_COLUMNS",
           "match_text", "not_created_lines"]

ACTION_STYLES = {"create": "green", "duplicate": "dim", "review": "yellow", "skip": "grey50"}
ACTION_TITLES = {"create": "to create", "duplicate": "already in PocketSmith (duplicates)",
                 "review": "for review: possibly there already, created only with --accept-review",
                 "skip": "skipped by rules"}

CSV_COLUMNS = [Column(k) for k in (
    "index", "file", "line", "transaction_account_id", "action", "date", "amount", "payee", "original_payee",
    "memo", "category", "category_id", "labels", "rules", "note", "needs_review", "is_transfer",
    "duplicate_of", "score", "reasons", "external_id", "cheque_number")]


def show_plan(plan: Plan, fmt: str, out: IO[str], show_all: bool = False) -> None:
    """`psimport preview` in the chosen format; `show_all` lists the duplicates in the table too."""
    if fmt == "json":
        write_json(plan.to_json(), out)
    elif fmt == "csv":
        plan_csv(plan, out)
    elif fmt == "html":
        from importer.output.html import plan_html
        out.write(plan_html(plan))
    else:
        plan_table(plan, out, show_all=show_all)


def plan_csv(plan: Plan, out: IO[str]) -> None:
    """One row per statement row; render.write_csv escapes cells a spreadsheet would run as formulas."""
    rows = []
    for row in plan.rows:
        data = row.as_json()
        data["reasons"] = "; ".join(data["reasons"])
        rows.append(data)
    write_csv(rows, CSV_COLUMNS, out)


def _matched(data: dict, brief: bool) -> str | None:
    """What a row matched: a PocketSmith transaction, or an earlier row of this run."""
    matched = data.get("matched")
    if matched:
        if brief:
            return f"{matched['date']} {matched['payee']} (#{matched['id']})"
        return f"#{matched['id']} {matched['date']} {matched['amount']} {matched['payee']}"
    if data.get("duplicate_of") is not None:
        return f"#{data['duplicate_of']}"
    if data.get("duplicate_of_row") is not None:
        return f"row {data['duplicate_of_row'] + 1} of this run"
    return None


def _reasons(data: dict) -> str | None:
    return "; ".join(data["reasons"]) if data.get("reasons") else None


def match_text(data: dict) -> str:
    """What a row matched, its score and the reasons, for a listing or a page."""
    score = f"score {data['score']:.2f}" if data.get("score") is not None else None
    return " · ".join(p for p in (_matched(data, brief=False), score, _reasons(data)) if p)


def _match_brief(data: dict) -> str:
    """match_text for one table line: the score and the matched transaction first, since the end may be cut."""
    score = f"{data['score']:.2f}" if data.get("score") is not None else None
    head = " ".join(p for p in (score, _matched(data, brief=True)) if p)
    return " · ".join(p for p in (head, _reasons(data)) if p)


def not_created_lines(rows: list[dict], more: str, limit: int = 20) -> list[str]:
    """Preview rows an import did not create, a line each with what they matched; `more` says where the rest are."""
    lines = [f"  {data['action']:9} {data['date']} {data['amount']:>10} {data['payee'][:40]:40} {match_text(data)}"
             for data in rows[:limit]]
    if len(rows) > limit:
        lines.append(f"  … and {len(rows) - limit} more ({more})")
    return lines


def plan_table(plan: Plan, out: IO[str], show_all: bool = False) -> None:
    """One table per account and action, a line per row; the summary last.

    Duplicates are a count per account unless `show_all`: they are what a rerun is mostly
    made of, and JSON, CSV and HTML list them anyway. Long text is cut with an ellipsis,
    never wrapped, so dates, amounts and ids stay whole at any width.
    """
    from pathlib import PurePath

    from rich.table import Table
    from rich.text import Text

    from importer.output.render import fit_to_screen

    screen = console(file=out)
    names = {a["transaction_account_id"]: a for a in plan.account_summaries()}
    by_account: dict[int, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for row in plan.rows:
        by_account[row.account_id][row.action].append(row.as_json())
    for account_id, groups in by_account.items():
        info = names.get(account_id, {})
        account = f"Account {account_id}" + (f" · {info['name']}" if info.get("name") else "")
        for action in ACTIONS:
            rows = groups.get(action)
            if not rows:
                continue
            style = ACTION_STYLES[action]
            if action == "duplicate" and not show_all:
                screen.print(Text(f"{account} — {len(rows)} already in PocketSmith (--all lists them)",
                                  style=f"bold {style}"))
                continue
            heading = f"{account} — {len(rows)} {ACTION_TITLES[action]}"
            files = {PurePath(data["file"] or "").name for data in rows}
            one_file = len(files) == 1
            table = Table(title=Text(heading + (f" · {files.pop()}" if one_file else "")), title_justify="left",
                          title_style=f"bold {style}", header_style="bold", style=style)
            table.add_column("Line" if one_file else "Source", style="dim", no_wrap=True,
                             justify="right" if one_file else "left")
            table.add_column("Date", no_wrap=True)
            table.add_column("Amount", justify="right", no_wrap=True)
            table.add_column("Payee", no_wrap=True, overflow="ellipsis", ratio=3)
            table.add_column("Category", no_wrap=True, overflow="ellipsis", ratio=2)
            with_labels = any(data["labels"] for data in rows)
            if with_labels:
                table.add_column("Labels", no_wrap=True, overflow="ellipsis", ratio=1)
            matching = action in ("duplicate", "review")
            table.add_column("Matched / why" if matching else "Rules", no_wrap=True, overflow="ellipsis",
                             ratio=4 if matching else 2)
            for data in rows:
                source = str(data["line"] or "") if one_file else \
                    f"{PurePath(data['file'] or '').name}:{data['line'] or ''}"
                cells = [source, data["date"], data["amount"], Text(data["payee"] or ""),
                         Text(data["category"] or "")]
                if with_labels:
                    cells.append(Text(", ".join(data["labels"])))
                cells.append(Text(_match_brief(data) if matching else ", ".join(data["rules"])))
                table.add_row(*cells, style=style)
            fit_to_screen(table, screen)
            screen.print(table)
    screen.print(_summary_panel(plan))


def summary_lines(plan: Plan) -> list[str]:
    s = plan.summary.as_json()
    lines = [f"{plural(s['total'], 'row')}: {s['create']} to create, {plural(s['duplicate'], 'duplicate')}, "
             f"{s['review']} for review, {s['skip']} skipped",
             f"to create: money in {s['money_in']}, money out {s['money_out']}"]
    for account in plan.account_summaries():
        name = f" ({account['name']})" if account.get("name") else ""
        lines.append(f"account {account['transaction_account_id']}{name}: {account['create']} to create, "
                     f"{plural(account['duplicate'], 'duplicate')}, {account['review']} for review, "
                     f"{account['skip']} skipped · {', '.join(account['files'])}")
    return lines


def print_summary(plan: Plan, out: IO[str], title: str = "Summary") -> None:
    """The plan's counts, money and per-account lines in a panel: what an import shows before it asks."""
    console(file=out).print(_summary_panel(plan, title))


def _summary_panel(plan: Plan, title: str = "Summary") -> Any:
    from rich.panel import Panel
    from rich.text import Text
    s = plan.summary.as_json()
    text = Text()
    text.append(f"{plural(s['total'], 'row')}  ")
    text.append(f"{s['create']} to create", style="bold green")
    text.append("  ")
    text.append(plural(s["duplicate"], "duplicate"), style="dim")
    text.append("  ")
    text.append(f"{s['review']} for review", style="yellow")
    text.append("  ")
    text.append(f"{s['skip']} skipped", style="grey50")
    text.append(f"\nTo create: money in {s['money_in']}, money out {s['money_out']}")
    for line in summary_lines(plan)[2:]:
        text.append("\n" + line)
    for warning in plan.warnings:
        text.append(f"\nwarning: {warning}", style="yellow")
    return Panel(text, title=title, title_align="left", expand=False)
