"""How a Plan looks: the preview as a rich table, JSON or spreadsheet-safe CSV (HTML: output.html), and its summary."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import replace
from pathlib import PurePath
from typing import IO, Any

from importer.output.render import (Column, console, left_out, print_table, table, table_lines,
                                    write_csv, write_json)
from importer.plan import Plan
from importer.text import plural

__all__ = ["show_plan", "plan_table", "plan_csv", "summary_parts", "print_summary", "ACTION_STYLES", "CSV_COLUMNS",
           "TABLE_COLUMNS", "SUMMARY_COLUMNS", "ACTION_ORDER", "table_columns", "match_text", "why", "not_created_lines",
           "BALANCE_COLUMNS", "transfer_text"]

ACTION_STYLES = {"create": "green", "duplicate": "dim", "review": "yellow", "skip": "grey50"}

CSV_COLUMNS = [Column(k) for k in (
    "index", "file", "line", "transaction_account_id", "action", "date", "amount", "payee", "original_payee",
    "memo", "category", "category_id", "labels", "rules", "note", "needs_review", "is_transfer",
    "duplicate_of", "score", "reasons", "external_id", "cheque_number")] + [
    Column("transfer_with", value=lambda d: _transfer_reference(d["transfer_with"]))]
# The person's say, which `--decisions FILE.csv` reads back: empty unless decided; fill it with create,
# duplicate (and duplicate_of, or empty for the proposed one) or skip. Beside `action`, where it is looked for.
CSV_COLUMNS.insert(5, Column("decision", value=lambda d: d["action"] if d.get("decided") else None))


def show_plan(plan: Plan, fmt: str, out: IO[str], show_all: bool = False, limit: int | None = None) -> None:
    """`psimport preview` in the chosen format; a table shows the first `limit` rows of each account and action,
    and lists the duplicates only when `show_all`."""
    if fmt == "json":
        write_json(plan.to_json(), out)
    elif fmt == "csv":
        plan_csv(plan, out)
    elif fmt == "html":
        from importer.output.html import plan_html
        out.write(plan_html(plan))
    else:
        plan_table(plan, out, show_all=show_all, limit=limit)


def plan_csv(plan: Plan, out: IO[str]) -> None:
    """One row per statement row; render.write_csv escapes cells a spreadsheet would run as formulas."""
    rows = []
    for row in plan.rows:
        data = row.as_json()
        data["reasons"] = "; ".join(data["reasons"])
        rows.append(data)
    write_csv(rows, CSV_COLUMNS, out)


def _matched(data: dict) -> str | None:
    """What a row matched: a PocketSmith transaction, or an earlier row of this run."""
    matched = data.get("matched")
    if matched:
        return f"#{matched['id']} {matched['date']} {matched['amount']} {matched['payee']}"
    if data.get("duplicate_of") is not None:
        return f"#{data['duplicate_of']}"
    if data.get("duplicate_of_row") is not None:
        return f"row {data['duplicate_of_row'] + 1} of this run"
    return None


def match_text(data: dict) -> str:
    """What a row matched, its score and every reason, for a page or a spreadsheet."""
    score = f"score {data['score']:.2f}" if data.get("score") is not None else None
    reasons = "; ".join(data["reasons"]) if data.get("reasons") else None
    return " · ".join(p for p in (_matched(data), score, reasons) if p)


# Dedupe's reasons, most telling first, each with the few words a table line has room for:
# what makes a row one for a person to look at rather than a plain duplicate.
_TELLING = [(re.compile(pattern), words) for pattern, words in (
    (r"^(?P<where>.+?) fits it almost as well", "{where} fits as well"),       # two rows, one PocketSmith row
    (r"fits this row almost as well as (?P<where>.+?):", "{where} fits as well"),
    (r"^amount (?P<ours>\S+) vs (?P<theirs>\S+) pending", "amount {ours} vs {theirs} pending"),
    (r"^pending in PocketSmith", "pending in PocketSmith"),
    (r"^payee (?P<share>[0-8]?\d)% similar", "payee {share}% similar"),
    (r"^nothing else in this statement matches", "nothing else matches it"),
    (r"^amount common here", "amount common here"),
)]
# Reasons that say all there is in their own few words.
_OWN_WORDS = [(re.compile(pattern), words) for pattern, words in (
    (r"^repeats (?P<where>.+?) \(overlapping statements\)", "repeats {where}"),
    (r"^imported before by psimport as (?P<id>#\d+)", "imported before as {id}"),
    (r"^psimport imported this row before as (?P<id>#\d+), which is no longer",
     "imported before as {id}, since gone from PocketSmith"),
)]

# Why a row is new, for the page that shows it (a terminal's table of rows to create has no room for it).
_NEW = [(re.compile(pattern), words) for pattern, words in (
    (r"^nothing of \S+ in PocketSmith", "new"),
    (r"^closest candidate: .* but is the match of (?P<where>.+?), so this row is new",
     "new: its nearest match is {where}'s"),
    (r"^closest: .*, score (?P<score>[\d.]+) \(", "new: the nearest scored {score}"),
)]


def _in_words(reasons: list[str], table: list) -> str | None:
    """The first entry of `table` (in its order) that one of the reasons matches, in its few words."""
    for pattern, words in table:
        for reason in reasons:
            found = pattern.search(reason)
            if found:
                return words.format(**found.groupdict())
    return None


def _days_apart(day: str, other: str | None) -> str | None:
    """When `day` is, against `other`: "same day", "2 days earlier" (the row's side, as dedupe's reasons say it)."""
    from datetime import date
    if not other:
        return None
    days = (date.fromisoformat(day) - date.fromisoformat(other)).days
    return "same day" if days == 0 else f"{plural(abs(days), 'day')} {'earlier' if days < 0 else 'later'}"


def why(data: dict) -> str:
    """A row's decision in a few words: "same as #880000214 (1 day earlier)", "payee 57% similar; maybe
    #880000192 (2 days later)", "repeats a.ofx line 12". The score and every reason are in JSON, CSV and HTML."""
    reasons = data.get("reasons") or []
    if data.get("decided") and reasons:
        # "your decision on 2026-12-04: same as #880000214" in the row's few words; the date is in JSON and CSV.
        answer = reasons[0].split(": ", 1)[-1]
        return f"accepted: {answer}" if reasons[0].startswith("accepted unseen") else f"decided: {answer}"
    if data["action"] == "skip" and reasons:
        return reasons[-1]             # the rule that said so
    if data["action"] == "create":
        new = _in_words(reasons[:1], _NEW) or "new"
        return f"{new}; transfer with {transfer_text(data)}" if data.get("transfer_with") else new
    own = _in_words(reasons[:1], _OWN_WORDS)
    if own:
        return own
    matched = data.get("matched")
    if not matched and data.get("duplicate_of") is None:
        return reasons[0] if reasons else ""
    ps_id = matched["id"] if matched else data["duplicate_of"]
    when = _days_apart(data["date"], matched and matched.get("date"))
    head = f"{'same as' if data['action'] == 'duplicate' else 'maybe'} #{ps_id}" + (f" ({when})" if when else "")
    telling = _in_words(reasons, _TELLING) if data["action"] == "review" else None
    if telling is None:
        return head
    name = PurePath(data.get("file") or "").name
    if name:
        telling = telling.replace(f"{name} line ", "line ", 1)      # the row's own file goes without saying
    return f"{telling}; {head}"      # what makes it doubtful first: it is what a cut line must keep


def _source(data: dict) -> str:
    return f"{PurePath(data['file'] or '').name}:{data['line'] or ''}"


# The preview table's columns, by action: the first ones fit 80 columns, `min_screen` adds the rest on a
# wider screen. A new column is one Column here (its `value` computes the cell from the row's JSON).
_LINE = Column("line", "Line", justify="right", style="dim", no_wrap=True, min_screen=100)
_SOURCE = Column("source", "Source", style="dim", no_wrap=True, ratio=1, min_screen=100, value=_source)
_DATE = Column("date", "Date", no_wrap=True)
_AMOUNT = Column("amount", "Amount", justify="right", no_wrap=True)
_PAYEE = Column("payee", "Payee", no_wrap=True, ratio=3)
_CATEGORY = Column("category", "Category", no_wrap=True, ratio=2, hide_empty=True)
_LABELS = Column("labels", "Labels", no_wrap=True, ratio=1, min_screen=110, hide_empty=True)
_RULES = Column("rules", "Rules", style="dim", no_wrap=True, ratio=1, min_screen=130, hide_empty=True)
_WHY = Column("why", "Why", no_wrap=True, ratio=4, value=why)
_TRANSFER_REASON = re.compile(r"^transfer (?:to|from) .+?: (?P<where>.+?) \((?P<when>[^)]*)\)$")


def transfer_text(data: dict) -> str | None:
    """The other side of a transfer in a few words: `savings.csv:1` (file and line), `#880000197`."""
    if not data.get("transfer_with"):
        return None
    for reason in reversed(data.get("reasons") or []):
        found = _TRANSFER_REASON.match(reason)
        if found:
            where = found["where"]
            return where.removesuffix(" in PocketSmith") if where.startswith("#") else \
                re.sub(r"^line (\d+) of (.+)$", r"\2:\1", where)
    return _transfer_reference(data["transfer_with"])


def _transfer_reference(other: dict | None) -> str | None:
    """`transfer_with` as a cell: `index 140` (the row of this plan with that index) or `#880000197`."""
    if not other:
        return None
    return f"index {other['index']}" if "index" in other else f"#{other['transaction_id']}"


_TRANSFER = Column("transfer_with", "Transfer with", no_wrap=True, ratio=2, hide_empty=True, value=transfer_text)
_SCORE = Column("score", "Score", justify="right", no_wrap=True, min_screen=150,
                value=lambda d: None if d.get("score") is None else f"{d['score']:.2f}")
TABLE_COLUMNS = {
    "create": [_DATE, _AMOUNT, _PAYEE, _CATEGORY, _TRANSFER, _LABELS, _RULES],
    "review": [_DATE, _AMOUNT, _PAYEE, _WHY, _SCORE, replace(_CATEGORY, min_screen=140), replace(_LABELS, min_screen=140)],
    "skip": [_DATE, _AMOUNT, _PAYEE, _WHY, replace(_CATEGORY, min_screen=110)],
    "duplicate": [_DATE, _AMOUNT, _PAYEE, _WHY, _SCORE, replace(_CATEGORY, min_screen=120)],
}
ACTION_ORDER = ("create", "review", "skip", "duplicate")    # what needs a look first; duplicates are mostly reruns
# Each action's table title: "20 to create", then what the action means where it needs saying.
GROUPS = {"create": ("to create", ""),
          "review": ("for review", ": possibly there already (`psimport review` decides each)"),
          "skip": ("skipped by rules", ""),
          "duplicate": ("already in PocketSmith", "")}


def table_columns(action: str, one_file: bool) -> list[Column]:
    """The columns of an action's table, led by where each row is in its file (the file too, when several)."""
    return [_LINE if one_file else _SOURCE] + TABLE_COLUMNS[action]


def not_created_lines(rows: list[dict], more: str, limit: int = 20) -> list[str]:
    """Preview rows an import did not create, as a table fitted to the screen; `more` says where the rest are."""
    lines = table_lines(rows[:limit], table_columns("review", one_file=False), compact=True)
    if len(rows) > limit:
        lines.append(f"… and {len(rows) - limit} more ({more})")
    return lines


def plan_table(plan: Plan, out: IO[str], show_all: bool = False, limit: int | None = None) -> None:
    """Per account, a table per action (its first `limit` rows, and how many it left out); the summary last.

    Duplicates are a count per account unless `show_all`: they are what a rerun is mostly
    made of, and JSON, CSV and HTML list them anyway. Every row is one line, long text cut
    with an ellipsis, so dates, amounts and ids stay whole at any width.
    """
    from rich.text import Text

    screen = console(file=out)
    names = {a["transaction_account_id"]: a for a in plan.account_summaries()}
    by_account: dict[int, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for row in plan.rows:
        by_account[row.account_id][row.action].append(row)
    for account_id, groups in by_account.items():
        info = names.get(account_id, {})
        sources = {source_label(source) for source in info.get("sources", ())}
        one_file = len(sources) == 1
        heading = f"Account {account_id}" + (f" · {info['name']}" if info.get("name") else "") + \
            (f" · {next(iter(sources))}" if one_file else "")
        screen.print(Text(heading, style="bold"), no_wrap=True, overflow="ellipsis")
        for action in ACTION_ORDER:
            rows = groups.get(action)
            if not rows:
                continue
            style = ACTION_STYLES[action]
            what, meaning = GROUPS[action]
            if action == "skip" and any(row.decided for row in rows):
                # A skip the person decided is theirs, not a rule's.
                yours = sum(1 for row in rows if row.decided)
                what = "skipped by your decision" if yours == len(rows) else f"skipped ({yours} by your decision)"
            title = f"{len(rows)} {what}{meaning}"
            if action == "duplicate" and not show_all:
                screen.print(Text(f"{title} (--all lists them)", style=style), no_wrap=True, overflow="ellipsis")
                continue
            shown = rows[:limit]
            screen.print(Text(title, style=f"bold {style}"), no_wrap=True, overflow="ellipsis")
            print_table([row.as_json() for row in shown], table_columns(action, one_file), screen=screen,
                        compact=True, style=style)
            if len(shown) < len(rows):
                screen.print(Text(left_out(len(shown), len(rows), what), style="dim"))
        screen.print()
    screen.print(_summary_panel(plan, screen))


TABULAR_FORMATS = ("csv", "xlsx", "xls", "ods")     # the formats read through a CSV mapping


def source_label(source: dict) -> str:
    """A file as the preview names it: its name, and for a CSV or spreadsheet the mapping that read it
    ("savings.csv (cba)"), since which layout a file was taken for is what a person checks first."""
    name = PurePath(source.get("file") or "").name
    kind, _, mapping = (source.get("format") or "").partition(":")
    return f"{name} ({mapping})" if mapping and kind in TABULAR_FORMATS else name


def print_summary(plan: Plan, out: IO[str], title: str = "Summary") -> None:
    """The plan's counts, money and accounts in a panel: what an import shows before it asks."""
    screen = console(file=out)
    screen.print(_summary_panel(plan, screen, title))


def summary_parts(plan: Plan, screen: Any) -> list:
    """The summary panel's lines, top to bottom: counts, money, the accounts' table, warnings.

    A new summary line is one more entry here (a str or a rich Text); the panel keeps each to
    one line, and the accounts' table is fitted to the panel's inside at any width.
    """
    from rich.text import Text
    s = plan.summary.as_json()
    counts = Text(f"{plural(s['total'], 'row')}: ")
    for i, (key, text) in enumerate((("create", f"{s['create']} to create"),
                                     ("duplicate", plural(s["duplicate"], "duplicate")),
                                     ("review", f"{s['review']} for review"), ("skip", f"{s['skip']} skipped"))):
        counts.append(", " if i else "")
        counts.append(text, style=("bold " if key == "create" else "") + ACTION_STYLES[key])
    parts: list = [counts, f"To create: money in {s['money_in']}, money out {s['money_out']}"]
    accounts = [{**a, "account": f"{a['transaction_account_id']}" + (f" {a['name']}" if a.get("name") else ""),
                 "from": ", ".join(source_label(source) for source in a["sources"])} for a in plan.account_summaries()]
    if accounts:
        parts.append(table(accounts, SUMMARY_COLUMNS, screen=screen, compact=True, width=screen.width - _PANEL_EDGES))
    if plan.balances:
        parts.append(table([_balance_row(b, plan) for b in plan.balances], BALANCE_COLUMNS, screen=screen,
                           compact=True, width=screen.width - _PANEL_EDGES))
    parts += [Text(f"note: {note}", style="dim") for entry in plan.coverage for note in entry.get("notes", ())]
    parts += [Text(f"warning: {warning}", style="yellow") for warning in plan.warnings]
    return parts


def _balance_row(entry: dict, plan: Plan) -> dict:
    """A balance check as a line of the summary's balances table."""
    account = plan.accounts.get(entry["transaction_account_id"])
    reason = entry.get("reason") or ""
    status = {"agrees": "agrees", "differs": f"differs by {entry['difference']}"}.get(
        entry["status"], "no closing balance" if "no closing balance" in reason else f"unknown: {reason}")
    return {**entry, "account": account.name if account is not None and account.name else
            str(entry["transaction_account_id"]), "status_text": status}


# The summary's balance check, a line per account: the JSON's `balances` (the reason a warning below).
BALANCE_COLUMNS = [Column("account", "Balance of", no_wrap=True, ratio=3),
                   Column("date", "On", no_wrap=True),
                   Column("statement_closing", "Statement", justify="right", no_wrap=True),
                   Column("pocketsmith_after", "After import", justify="right", no_wrap=True),
                   Column("status_text", "Check", no_wrap=True, ratio=2)]


SUMMARY_COLUMNS = [Column("account", "Account", no_wrap=True, ratio=3),
                   *(Column(key, heading, justify="right", no_wrap=True) for key, heading in (
                       ("create", "Create"), ("duplicate", "Duplicate"), ("review", "Review"), ("skip", "Skip"))),
                   Column("from", "From", style="dim", no_wrap=True, ratio=2)]
_PANEL_EDGES = 4      # a panel's border and padding, left and right


def _summary_panel(plan: Plan, screen: Any, title: str = "Summary") -> Any:
    from rich.console import Group
    from rich.panel import Panel
    from rich.text import Text
    lines = [Text(part, overflow="ellipsis", no_wrap=True) if isinstance(part, str) else part
             for part in summary_parts(plan, screen)]
    return Panel(Group(*lines), title=title, title_align="left", expand=False)
