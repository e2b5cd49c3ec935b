"""The preview as one self-contained HTML page: summary cards, a chart of money by category, a sortable table."""

from __future__ import annotations

import html
from decimal import Decimal
from pathlib import PurePath
from typing import Any

from importer.output.preview import match_text
from importer.plan import Action, Plan

__all__ = ["plan_html", "category_totals"]

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
        if row.action == Action.CREATE and (row.record.amount < 0) == outgoing:
            entry = totals.setdefault(row.category or "Uncategorised", [Decimal("0.00"), 0])
            entry[0] += row.record.amount
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
    s = plan.summary.as_json()
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
    s = plan.summary.as_json()
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
