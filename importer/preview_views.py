"""How a Plan looks: the preview as a rich table, JSON, spreadsheet-safe CSV or one self-contained HTML page; import and batch summaries."""

from __future__ import annotations

import html
from collections import defaultdict
from decimal import Decimal
from typing import IO, Any, Iterable

from importer.plan import ACTIONS, Plan
from importer.render import Column, console, write_csv, write_json

__all__ = ["show_plan", "plan_table", "plan_csv", "plan_html", "summary_lines", "print_summary",
           "ACTION_STYLES", "CSV_COLUMNS", "batch_rows", "batches_table", "show_batches", "BATCH_COLUMNS",
           "category_totals", "match_text", "not_created_lines"]

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


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def plan_table(plan: Plan, out: IO[str] | None = None, show_all: bool = False) -> None:
    """One table per account and action, a line per row; the summary last.

    Duplicates are a count per account unless `show_all`: they are what a rerun is mostly
    made of, and JSON, CSV and HTML list them anyway. Long text is cut with an ellipsis,
    never wrapped, so dates, amounts and ids stay whole at any width.
    """
    from pathlib import PurePath

    from rich.table import Table
    from rich.text import Text

    from importer.render import fit_to_screen

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
    print_summary(plan, screen)


def summary_lines(plan: Plan) -> list[str]:
    s = plan.summary()
    lines = [f"{_plural(s['total'], 'row')}: {s['create']} to create, {_plural(s['duplicate'], 'duplicate')}, "
             f"{s['review']} for review, {s['skip']} skipped",
             f"to create: money in {s['money_in']}, money out {s['money_out']}"]
    for account in plan.account_summaries():
        name = f" ({account['name']})" if account.get("name") else ""
        lines.append(f"account {account['transaction_account_id']}{name}: {account['create']} to create, "
                     f"{_plural(account['duplicate'], 'duplicate')}, {account['review']} for review, "
                     f"{account['skip']} skipped · {', '.join(account['files'])}")
    return lines


def print_summary(plan: Plan, screen: Any = None, title: str = "Summary") -> None:
    from rich.panel import Panel
    from rich.text import Text
    screen = screen or console()
    s = plan.summary()
    text = Text()
    text.append(f"{_plural(s['total'], 'row')}  ")
    text.append(f"{s['create']} to create", style="bold green")
    text.append("  ")
    text.append(_plural(s["duplicate"], "duplicate"), style="dim")
    text.append("  ")
    text.append(f"{s['review']} for review", style="yellow")
    text.append("  ")
    text.append(f"{s['skip']} skipped", style="grey50")
    text.append(f"\nTo create: money in {s['money_in']}, money out {s['money_out']}")
    for line in summary_lines(plan)[2:]:
        text.append("\n" + line)
    for warning in plan.warnings:
        text.append(f"\nwarning: {warning}", style="yellow")
    screen.print(Panel(text, title=title, title_align="left", expand=False))


# ─── HTML ──────────────────────────────────────────────────────────────────────────────────

_CSS = """
body{font:14px/1.4 system-ui,-apple-system,Segoe UI,sans-serif;margin:2em;color:#222}
h1{font-size:1.4em} .cards{display:flex;gap:1em;flex-wrap:wrap;margin:1em 0}
.card{border:1px solid #ddd;border-radius:6px;padding:.6em 1em;min-width:7em}
.card b{display:block;font-size:1.5em}
table{border-collapse:collapse;width:100%;margin-top:1em;font-size:13px}
.rows{overflow-x:auto} th,td{border-bottom:1px solid #eee;padding:.3em .35em;text-align:left;vertical-align:top}
td{overflow-wrap:break-word} td.date{white-space:nowrap} svg{max-width:100%;height:auto}
th{cursor:pointer;background:#f6f6f6;position:sticky;top:0;user-select:none}
th.asc::after{content:" \\25B2"} th.desc::after{content:" \\25BC"}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.create td:first-child{border-left:4px solid #2a8a2a} tr.duplicate{color:#888}
tr.review{background:#fff8e1} tr.review td:first-child{border-left:4px solid #e0a800}
tr.skip{color:#aaa} .warn{color:#a15c00} svg text{font-size:12px}
"""

_JS = """
document.querySelectorAll("table.sortable th").forEach(function(th, col){
  th.addEventListener("click", function(){
    var table = th.closest("table"), body = table.tBodies[0];
    var asc = !th.classList.contains("asc");
    table.querySelectorAll("th").forEach(function(h){h.classList.remove("asc","desc")});
    th.classList.add(asc ? "asc" : "desc");
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function(a, b){
      var x = a.cells[col].getAttribute("data-sort") || a.cells[col].textContent;
      var y = b.cells[col].getAttribute("data-sort") || b.cells[col].textContent;
      var nx = parseFloat(x), ny = parseFloat(y);
      var cmp = (!isNaN(nx) && !isNaN(ny) && th.classList.contains("n")) ? nx - ny : x.localeCompare(y);
      return asc ? cmp : -cmp;
    });
    rows.forEach(function(r){ body.appendChild(r) });
  });
});
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def category_totals(plan: Plan, outgoing: bool) -> list[tuple[str, Decimal, int]]:
    """Money out (or in) of the rows to create, by category: (category, total, count), largest first.

    Out and in are totalled apart: a transfer's -500 and +500 are 500 each way, not nothing.
    """
    totals: dict[str, list] = {}
    for row in plan.rows:
        if row.action == "create" and (row.txn.amount < 0) == outgoing:
            entry = totals.setdefault(row.category or "Uncategorised", [Decimal("0.00"), 0])
            entry[0] += row.txn.amount
            entry[1] += 1
    return sorted(((k, v[0], v[1]) for k, v in totals.items()), key=lambda item: (-abs(item[1]), item[0]))


def _chart_bars(items: list[tuple[str, Decimal, int]], colour: str, label: str, limit: int) -> str:
    """One horizontal bar per category; past `limit`, the smallest share one "other" bar so the bars add up."""
    if len(items) > limit:
        rest = items[limit - 1:]
        items = items[:limit - 1] + [(f"{len(rest)} other categories", sum((r[1] for r in rest), Decimal(0)),
                                      sum(r[2] for r in rest))]
    biggest = max(abs(item[1]) for item in items) or Decimal(1)
    bar_h, gap, label_w, bar_w = 18, 6, 190, 360
    width, height = label_w + bar_w + 140, len(items) * (bar_h + gap)
    parts = [f'<svg role="img" aria-label="{_e(label)}" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">']
    for i, (name, total, count) in enumerate(items):
        y = i * (bar_h + gap)
        width = max(1, int(bar_w * abs(total) / biggest))
        parts.append(f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end">{_e(name[:30])}</text>'
                     f'<rect x="{label_w}" y="{y}" width="{width}" height="{bar_h}" fill="{colour}">'
                     f'<title>{_e(name)}: {_e(total)} ({count})</title></rect>'
                     f'<text x="{label_w + width + 6}" y="{y + 13}">{_e(total)} · {count}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _chart(plan: Plan, limit: int = 12) -> str:
    """Money out and money in of the rows to create, by category, each adding up to the summary's figure."""
    out, into = category_totals(plan, outgoing=True), category_totals(plan, outgoing=False)
    if not out and not into:
        return "<p>Nothing to create.</p>"
    s = plan.summary()
    parts = []
    if out:
        parts.append(f"<h3>Money out: {_e(s['money_out'])}</h3>"
                     + _chart_bars(out, "#c0392b", "Money out to create, by category", limit))
    if into:
        parts.append(f"<h3>Money in: {_e(s['money_in'])}</h3>"
                     + _chart_bars(into, "#2a8a2a", "Money in to create, by category", limit))
    return "".join(parts)


def plan_html(plan: Plan, title: str = "psimport preview") -> str:
    """One page, no external resources: summary cards, a bar chart by category, a sortable table."""
    from pathlib import PurePath
    s = plan.summary()
    cards = "".join(f'<div class="card"><b>{_e(s[key])}</b>{_e(label)}</div>' for key, label in (
        ("total", "rows"), ("create", "to create"), ("duplicate", "duplicates"), ("review", "for review"),
        ("skip", "skipped"), ("money_in", "money in"), ("money_out", "money out")))
    accounts = "".join(f"<li>Transaction account {_e(a['transaction_account_id'])}"
                       f"{' · ' + _e(a['name']) if a.get('name') else ''}: {_e(a['create'])} to create, "
                       f"{_e(a['duplicate'])} duplicates, {_e(a['review'])} for review, {_e(a['skip'])} skipped "
                       f"({_e(', '.join(a['files']))})</li>" for a in plan.account_summaries())
    warnings = "".join(f'<li class="warn">{_e(w)}</li>' for w in plan.warnings)
    headings = [("#", "n"), ("Action", ""), ("Account", "n"), ("Date", ""), ("Amount", "n"), ("Payee", ""),
                ("Category", ""), ("Labels", ""), ("Matched / why", ""), ("File", ""), ("Line", "n")]
    head = "".join(f'<th class="{cls}">{_e(h)}</th>' for h, cls in headings)
    body = []
    for row in plan.rows:
        d = row.as_json()
        body.append(
            f'<tr class="{_e(d["action"])}"><td class="num">{d["index"] + 1}</td><td>{_e(d["action"])}</td>'
            f'<td class="num">{_e(d["transaction_account_id"])}</td><td class="date">{_e(d["date"])}</td>'
            f'<td class="num" data-sort="{_e(d["amount"])}">{_e(d["amount"])}</td><td>{_e(d["payee"])}</td>'
            f'<td>{_e(d["category"])}</td><td>{_e(", ".join(d["labels"]))}</td><td>{_e(match_text(d))}</td>'
            f'<td title="{_e(d["file"])}">{_e(PurePath(d["file"] or "").name)}</td>'
            f'<td class="num">{_e(d["line"])}</td></tr>')
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1"><title>{_e(title)}</title>'
            f"<style>{_CSS}</style></head><body><h1>{_e(title)}</h1>"
            f'<div class="cards">{cards}</div><ul>{accounts}{warnings}</ul>'
            f"<h2>To create, by category</h2>{_chart(plan)}"
            f'<h2>Rows</h2><p>Click a heading to sort.</p><div class="rows"><table class="sortable"><thead>'
            f"<tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div><script>{_JS}</script>"
            "</body></html>\n")


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
            status = "unfinished"
        rows.append({"id": b.id, "when": b.created_at, "target": b.target, "files": [f["path"] for f in b.files],
                     "accounts": b.accounts, "created": b.created, "skipped": counts.get("skipped", 0),
                     "failed": counts.get("failed", 0), "unknown": counts.get("sending", 0),
                     "planned": counts.get("planned", 0), "undone": counts.get("undone", 0), "status": status,
                     "undone_at": b.undone_at})
    return rows


BATCH_COLUMNS = [Column(k) for k in ("id", "when", "target", "files", "accounts", "created", "skipped", "failed",
                                     "unknown", "planned", "undone", "status", "undone_at")]


def batches_table(rows: list[dict], out: IO[str] | None = None) -> None:
    """The batches as a table narrow enough for 80 columns: counts and files stacked in their cells."""
    from datetime import datetime
    from pathlib import PurePath

    from rich import box
    from rich.table import Table
    screen = console(file=out)
    table = Table(title="Batches (newest first)", title_justify="left", header_style="bold", box=box.SIMPLE_HEAD)
    show_into = len({row["target"] for row in rows}) > 1
    table.add_column("Batch", no_wrap=True)
    table.add_column("When", no_wrap=True)
    if show_into:
        table.add_column("Into", overflow="fold", min_width=7)
    table.add_column("Files", overflow="fold", min_width=12)
    table.add_column("Rows", no_wrap=True)
    table.add_column("Status", overflow="fold", min_width=8)
    styles = {"complete": "green", "unfinished": "yellow"}
    for row in rows:
        try:
            when = datetime.fromisoformat(row["when"]).astimezone().strftime("%Y-%m-%d\n%H:%M")
        except (TypeError, ValueError):
            when = row["when"]
        into = row["target"] or ""
        if "://" in into:
            into = into.split("://", 1)[1].split("/", 1)[0]
        counts = [f"{row['created']} created", f"{row['skipped']} skipped"]
        if row["failed"] or row["unknown"]:
            counts.append(f"{row['failed'] + row['unknown']} failed")
        if row["planned"]:
            counts.append(f"{row['planned']} to send")
        if row["undone"]:
            counts.append(f"{row['undone']} undone")
        cells = [row["id"], when] + ([into] if show_into else []) + [
            "\n".join(PurePath(f).name for f in row["files"]), "\n".join(counts), row["status"]]
        table.add_row(*cells, style=styles.get(row["status"], "dim"), end_section=True)
    screen.print(table)


def show_batches(batches: Iterable[Any], fmt: str, out: IO[str], journal_dir: Any) -> None:
    """`psimport batches` in the chosen format."""
    rows = batch_rows(batches)
    if fmt == "json":
        write_json({"batches": rows}, out)
    elif fmt == "csv":
        write_csv(rows, BATCH_COLUMNS, out)
    elif not rows:
        out.write(f"No batches yet (journal: {journal_dir}).\n")
    else:
        batches_table(rows)
