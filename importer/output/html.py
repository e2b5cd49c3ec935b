"""The preview as one self-contained HTML page: the summary, the rows (to create first, filtered by action), a chart.

The page loads nothing from anywhere: its style and script are inline, the chart is HTML. The
filter by action is CSS (radio buttons), so it works with scripts off; clicking a heading sorts
(a few lines of inline script). Below 700 px each row is a card, so a phone (390 px) reads it
without scrolling sideways.
"""

from __future__ import annotations

import html
from decimal import Decimal
from pathlib import PurePath
from typing import Any, Callable

from importer.output.preview import ACTION_ORDER, why
from importer.plan import Action, Plan

__all__ = ["plan_html", "category_totals", "ROW_CELLS"]

_FILTERS = [("all", "All"), ("create", "To create"), ("review", "For review"), ("skip", "Skipped"),
            ("duplicate", "Duplicates")]

_CSS = """
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2em;color:#222}
h1{font-size:1.4em;margin:0 0 .5em} h2{font-size:1.15em;margin:1.2em 0 .4em} h3{font-size:1em;margin:.8em 0 .3em}
.cards{display:flex;gap:.6em;flex-wrap:wrap;margin:.6em 0}
.card{border:1px solid #ddd;border-radius:6px;padding:.4em .8em;min-width:6.5em}
.card b{display:block;font-size:1.35em}
.card.create b{color:#2a8a2a} .card.review b{color:#a15c00}
ul.accounts{padding-left:1.2em;margin:.4em 0} .warn{color:#a15c00}
.show{position:absolute;opacity:0;pointer-events:none}
nav.filter{display:flex;flex-wrap:wrap;gap:.4em;margin:.6em 0}
nav.filter label{border:1px solid #bbb;border-radius:1em;padding:.25em .8em;cursor:pointer;user-select:none}
%(filter_css)s
table{border-collapse:collapse;width:100%%;font-size:14px}
th,td{border-bottom:1px solid #eee;padding:.3em .4em;text-align:left;vertical-align:top}
td{overflow-wrap:break-word} td.date,td.amount,td.index{white-space:nowrap}
th{cursor:pointer;background:#f6f6f6;position:sticky;top:0;user-select:none}
th.asc::after{content:" \\25B2"} th.desc::after{content:" \\25BC"}
td.amount,td.index{text-align:right;font-variant-numeric:tabular-nums}
tr.create td.action{color:#2a8a2a;font-weight:600} tr.duplicate{color:#777}
tr.review{background:#fff8e1} tr.review td.action{color:#a15c00;font-weight:600} tr.skip{color:#999}
details summary{cursor:pointer} details ul{margin:.2em 0;padding-left:1.2em;font-size:.92em}
ul.bars{list-style:none;padding:0;margin:.3em 0 1em;max-width:60em}
ul.bars li{display:grid;grid-template-columns:minmax(8em,14em) 1fr minmax(7em,auto);gap:.6em;align-items:center;
  margin:.25em 0}
ul.bars .bar{background:#f2f2f2;height:1.1em} ul.bars .bar i{display:block;height:100%%}
ul.out .bar i{background:#c0392b} ul.in .bar i{background:#2a8a2a}
ul.bars .total{font-variant-numeric:tabular-nums;white-space:nowrap}
@media (max-width:700px){
  body{margin:.8em}
  .cards{display:grid;grid-template-columns:repeat(3,1fr);gap:.4em} .card{min-width:0;padding:.3em .5em}
  .card b{font-size:1.15em;overflow-wrap:anywhere} table.sortable td{overflow-wrap:anywhere}
  table.sortable thead{display:none}
  table.sortable,table.sortable tbody{display:block}
  table.sortable tr{display:grid;grid-template-columns:auto 1fr auto;gap:.1em .6em;padding:.55em .2em;
    border-bottom:1px solid #ddd;grid-template-areas:"payee payee amount" "date category action"
    "labels labels labels" "why why why" "account source source"}
  table.sortable td{display:block;border:0;padding:0;font-size:14px}
  table.sortable td:empty,table.sortable td.index{display:none}
  td.payee{grid-area:payee;font-weight:600} td.amount{grid-area:amount} td.date{grid-area:date}
  td.category{grid-area:category} td.action{grid-area:action;text-align:right} td.labels{grid-area:labels}
  td.why{grid-area:why} td.account{grid-area:account;color:#777} td.source{grid-area:source;color:#777}
  td.account::before{content:"account "}
  ul.bars li{grid-template-columns:1fr auto} ul.bars .bar{grid-column:1 / -1;grid-row:2}
}
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


def _why_cell(d: dict) -> str:
    """The decision in a few words; the score and every reason a click away (details work without script)."""
    short = why(d)
    reasons = list(d["reasons"])
    if d.get("score") is not None:
        reasons.append(f"score {d['score']:.2f}")
    if reasons == [short] or not reasons:
        return _e(short)
    return (f"<details><summary>{_e(short or 'details')}</summary><ul>"
            + "".join(f"<li>{_e(r)}</li>" for r in reasons) + "</ul></details>")


# The table's columns, left to right: (heading, class, sorts as a number, the cell's inner HTML from the row's
# JSON, the value it sorts by or None for its text). A new column is one entry here; give it a class, and on a
# phone a place in the grid-template-areas of the CSS above (or it shows in no area, after the others).
ROW_CELLS: list[tuple[str, str, bool, Callable[[dict], str], Callable[[dict], Any] | None]] = [
    ("#", "index", True, lambda d: str(d["index"] + 1), None),
    ("Action", "action", False, lambda d: _e(d["action"]), None),
    ("Date", "date", False, lambda d: _e(d["date"]), None),
    ("Amount", "amount", True, lambda d: _e(d["amount"]), lambda d: d["amount"]),
    ("Payee", "payee", False, lambda d: _e(d["payee"]), None),
    ("Category", "category", False, lambda d: _e(d["category"]), None),
    ("Labels", "labels", False, lambda d: _e(", ".join(d["labels"])), None),
    ("Why", "why", False, _why_cell, None),
    ("Account", "account", True, lambda d: _e(d["transaction_account_id"]), None),
    ("File", "source", False, lambda d: _e(f"{PurePath(d['file'] or '').name}:{d['line'] or ''}"),
     lambda d: f"{d['file']}:{(d['line'] or 0):09d}"),
]


def _row(d: dict) -> str:
    cells = []
    for _, cls, _, inner, sort in ROW_CELLS:
        key = f' data-sort="{_e(sort(d))}"' if sort else ""
        cells.append(f'<td class="{cls}"{key}>{inner(d)}</td>')
    return f'<tr class="{_e(d["action"])}">{"".join(cells)}</tr>'


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


def _chart_bars(items: list[tuple[str, Decimal, int]], kind: str, limit: int) -> str:
    """One bar per category, as HTML (it reflows on a phone); past `limit`, the smallest share one "other" bar."""
    if len(items) > limit:
        rest = items[limit - 1:]
        items = items[:limit - 1] + [(f"{len(rest)} other categories", sum((r[1] for r in rest), Decimal(0)),
                                      sum(r[2] for r in rest))]
    biggest = max(abs(item[1]) for item in items) or Decimal(1)
    bars = []
    for name, total, count in items:
        share = max(Decimal("0.5"), 100 * abs(total) / biggest)
        bars.append(f'<li title="{_e(name)}: {_e(total)} ({count})"><span class="name">{_e(name)}</span>'
                    f'<span class="bar"><i style="width:{share:.1f}%"></i></span>'
                    f'<span class="total">{_e(total)} · {count}</span></li>')
    return f'<ul class="bars {kind}">{"".join(bars)}</ul>'


def _chart(plan: Plan, limit: int = 12) -> str:
    """Money out and money in of the rows to create, by category, each adding up to the summary's figure."""
    out, into = category_totals(plan, outgoing=True), category_totals(plan, outgoing=False)
    if not out and not into:
        return "<p>Nothing to create.</p>"
    s = plan.summary.as_json()
    parts = []
    if out:
        parts.append(f"<h3>Money out: {_e(s['money_out'])}</h3>" + _chart_bars(out, "out", limit))
    if into:
        parts.append(f"<h3>Money in: {_e(s['money_in'])}</h3>" + _chart_bars(into, "in", limit))
    return "".join(parts)


def _filter_css() -> str:
    """Each filter's radio button, when checked, hides the other actions' rows and marks its own label."""
    rules = []
    for key, _ in _FILTERS:
        rules.append(f'#show-{key}:checked ~ nav label[for="show-{key}"]{{background:#333;color:#fff;border-color:#333}}')
        rules.append(f'#show-{key}:focus-visible ~ nav label[for="show-{key}"]{{outline:2px solid #36c}}')
        if key != "all":
            rules.append(f"#show-{key}:checked ~ .rows tbody tr:not(.{key}){{display:none}}")
    return "\n".join(rules)


def _checks(plan: Plan) -> str:
    """The balance check of each account, the coverage notes and the warnings, folded under one line that counts
    them (the first screen, on a phone too, is for the summary and the first rows to create)."""
    statuses = [b["status"] for b in plan.balances]
    counted = [f"{statuses.count(s)} {s}" for s in ("differs", "agrees", "unknown") if s in statuses]
    head = ([f"Balances: {', '.join(counted)}"] if counted else []) + \
        ([f"{len(plan.warnings)} warning{'s' if len(plan.warnings) != 1 else ''}"] if plan.warnings else [])
    if not head:
        return ""
    names = {a["transaction_account_id"]: a.get("name") for a in plan.account_summaries()}
    lines = []
    for b in plan.balances:
        name = names.get(b["transaction_account_id"]) or b["transaction_account_id"]
        if b["status"] == "unknown":
            lines.append(f"<li>Balance of {_e(name)}: unknown ({_e(b.get('reason') or '')})</li>")
            continue
        verdict = "agrees" if b["status"] == "agrees" else f"differs by {b['difference']}"
        lines.append(f'<li{" class=warn" if b["status"] == "differs" else ""}>Balance of {_e(name)} on {_e(b["date"])}:'
                     f" statement {_e(b['statement_closing'])}, after import {_e(b['pocketsmith_after'])}: "
                     f"{_e(verdict)}</li>")
    lines += [f"<li>{_e(note)}</li>" for entry in plan.coverage for note in entry.get("notes", ())]
    lines += [f'<li class="warn">{_e(w)}</li>' for w in plan.warnings]
    warn = any(s == "differs" for s in statuses) or plan.warnings
    return (f'<details class="checks"><summary{" class=warn" if warn else ""}>{_e(" · ".join(head))}</summary>'
            f'<ul class="accounts">{"".join(lines)}</ul></details>')


def plan_html(plan: Plan, title: str = "psimport preview") -> str:
    """One page, no external resources: summary cards, the rows with a filter by action, a chart by category."""
    s = plan.summary.as_json()
    cards = "".join(f'<div class="card {key}"><b>{_e(s[key])}</b>{_e(label)}</div>' for key, label in (
        ("total", "rows"), ("create", "to create"), ("review", "for review"), ("duplicate", "duplicates"),
        ("skip", "skipped"), ("money_in", "money in"), ("money_out", "money out")))
    accounts = "".join(f"<li>Transaction account {_e(a['transaction_account_id'])}"
                       f"{' · ' + _e(a['name']) if a.get('name') else ''}: {_e(a['create'])} to create, "
                       f"{_e(a['review'])} for review, {_e(a['skip'])} skipped, {_e(a['duplicate'])} duplicates "
                       f"({_e(', '.join(PurePath(f).name for f in a['files']))})</li>"
                       for a in plan.account_summaries())
    checks = _checks(plan)
    counts = {"all": s["total"], **{key: s[key] for key, _ in _FILTERS[1:]}}
    shown = [(key, label) for key, label in _FILTERS if key in ("all", "create") or counts[key]]
    radios = "".join(f'<input type="radio" name="show" id="show-{key}" class="show"{" checked" if key == "all" else ""}>'
                     for key, _ in shown)
    labels = "".join(f'<label for="show-{key}">{_e(label)} <b>{counts[key]}</b></label>' for key, label in shown)
    head = "".join(f'<th class="{cls}{" n" if numeric else ""}">{_e(heading)}</th>'
                   for heading, cls, numeric, _, _ in ROW_CELLS)
    order = {action: i for i, action in enumerate(ACTION_ORDER)}
    rows = sorted(plan.rows, key=lambda row: (order[row.action], row.index))    # to create first, then review
    body = "".join(_row(row.as_json()) for row in rows)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1"><title>{_e(title)}</title>'
            f"<style>{_CSS % {'filter_css': _filter_css()}}</style></head><body><h1>{_e(title)}</h1>"
            f'<div class="cards">{cards}</div><ul class="accounts">{accounts}</ul>{checks}'
            f"<h2>Rows</h2>{radios}<nav class=\"filter\">{labels}</nav>"
            f'<div class="rows"><table class="sortable"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
            f"</div><p>Rows to create first, then for review, skipped and duplicates; click a heading to sort.</p>"
            f"<h2>To create, by category</h2>{_chart(plan)}<script>{_JS}</script></body></html>\n")
