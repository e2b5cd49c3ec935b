"""What the `rules` commands show: the tuning report, suggestions, explanations and push plans, as tables or JSON."""

from __future__ import annotations

from pathlib import Path
from typing import IO

from importer.render import Column, console, print_table, write_json

__all__ = ["show_report", "show_suggestions", "show_explanations", "show_pulled", "show_push_plan"]


def _verdict(row: dict) -> str:
    if row["dead"]:
        return "dead: matches no transaction"
    if row["shadowed_by"]:
        return f"shadowed by {', '.join(row['shadowed_by'])}: changes nothing"
    disagree = row.get("disagree") or 0
    if disagree:
        example = row["disagreements"][0] if row.get("disagreements") else None
        hint = f"; e.g. '{example['payee']}' is in {example['category'] or 'no category'}" if example else ""
        share = disagree / max(1, (row.get("agree") or 0) + disagree)
        return f"{'mostly ' if share > 0.5 else ''}disagrees on {disagree}{hint}"
    return "ok"


def _verdict_style(row: dict) -> str | None:
    verdict = row["verdict"]
    if verdict == "ok":
        return None
    return "red" if verdict.startswith(("mostly", "dead")) else "yellow"


def show_report(report: dict, fmt: str, out: IO[str], source: str = "") -> None:
    """`psimport rules test`: per-rule table, conflicts, coverage, uncovered payees."""
    if fmt == "json":
        write_json(report, out)
        return
    screen = console()
    rows = []
    for rule in report["rules"]:
        row = dict(rule)
        row["verdict"] = _verdict(rule)
        for key in ("agree", "disagree", "uncategorised"):
            row[key] = "–" if rule[key] is None else rule[key]
        rows.append(row)
    print_table(rows, [Column("name", "Rule"), Column("line", "Line", justify="right", style="dim"),
                       Column("category", "Category"), Column("matched", "Matched", justify="right"),
                       Column("agree", "Agree", justify="right"), Column("disagree", "Disagree", justify="right"),
                       Column("uncategorised", "Uncategorised", justify="right"),
                       Column("verdict", "Verdict", max_width=60)],
                title=f"Rules against {report['total']:,} transactions{f' ({source})' if source else ''}",
                row_style=_verdict_style, out=screen)
    if report["conflicts"]:
        conflicts = [{"rules": " + ".join(c["rules"]), "categories": " ≠ ".join(str(x) for x in c["categories"]),
                      "rows": c["rows"], "winner": c["rules"][0]} for c in report["conflicts"]]
        print_table(conflicts, [Column("rules", "Rules"), Column("categories", "Categories"),
                                Column("rows", "Rows", justify="right"), Column("winner", "Wins (first)")],
                    title="Conflicts: the same transactions, different categories", out=screen)
    total = report["total"]
    if total:
        screen.print(f"Coverage: [bold]{report['coverage']:.1%}[/bold] of {total:,} transactions get a category "
                     f"from the rules ({report['categorised']:,}); {report['matched']:,} match at least one rule; "
                     f"{report['skipped']:,} skipped.")
    else:
        screen.print("No transactions to test the rules against.")
    if report["uncovered_payees"]:
        uncovered = [dict(p, share="" if p["category_share"] is None else f"{p['category_share']:.0%}")
                     for p in report["uncovered_payees"]]
        print_table(uncovered, [Column("payee", "Payee (key)"), Column("count", "Count", justify="right"),
                                Column("category", "Usually in"), Column("share", "Share", justify="right"),
                                Column("example", "Example", style="dim", max_width=40)],
                    title="Most frequent payees no rule categorises",
                    caption="Turn them into rules: psimport rules suggest", out=screen)


def show_suggestions(suggestions: list[dict], fmt: str, out: IO[str], *, considered: int, min_support: int,
                     min_confidence: float) -> None:
    """`psimport rules suggest`: a whole rules file (yaml) or the proposals as data (json)."""
    if fmt == "json":
        write_json({"considered": considered, "suggestions": suggestions}, out)
    else:
        from importer.rules_report import suggestions_file
        out.write(suggestions_file(suggestions, considered=considered, min_support=min_support,
                                   min_confidence=min_confidence))


def show_explanations(rows: list[dict], fmt: str, out: IO[str]) -> None:
    if fmt == "json":
        write_json({"transactions": rows}, out)
        return
    table = []
    for row in rows:
        decided = [f"{name} = {_shown(item['value'])} ← {item['rule']}" for name, item in row["set"].items()]
        decided += [f"label {item['label']} ← {item['rule']}" for item in row["labels"]]
        table.append({"source": f"{Path(row['file']).name}:{row['line']}", "date": row["date"], "amount": row["amount"], "payee": row["payee"],
                      "rules": ", ".join(row["rules"]) or "–", "decided": "\n".join(decided)})
    matched = sum(1 for row in rows if row["rules"])
    print_table(table, [Column("source", "Source", style="dim"), Column("date", "Date"),
                        Column("amount", "Amount", justify="right"), Column("payee", "Payee", max_width=32),
                        Column("rules", "Rules matched", max_width=30), Column("decided", "Set by")],
                title="Which rules match each row", caption=f"{matched} of {len(rows)} rows matched a rule",
                row_style=lambda r: "dim" if r["rules"] == "–" else None)


def _shown(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def show_pulled(entries: list[dict], fmt: str, out: IO[str], where: str) -> None:
    """`psimport rules pull`: the entries as a rules file to paste from (yaml), or as data (json)."""
    if fmt == "json":
        write_json({"rules": entries}, out)
    else:
        from importer.rules import dump_rules
        out.write(dump_rules(entries, header=[f"{len(entries)} category rules from {where}."]))


def show_push_plan(plan, dry_run: bool, fmt: str = "table", out: IO[str] | None = None) -> None:
    """`psimport rules push`: what would be created, what is there already, what stays local."""
    if fmt == "json":
        from dataclasses import asdict
        write_json({"dry_run": dry_run, **asdict(plan)}, out)
        return
    screen = console(stderr=False)
    if plan.create:
        print_table(plan.create, [Column("rule", "Rule"), Column("payee_matches", "Payee matches"),
                                  Column("category", "Category"), Column("category_id", "Id", justify="right")],
                    title="Would create these PocketSmith category rules" if dry_run else
                    "PocketSmith category rules to create", out=screen)
    else:
        screen.print("Nothing to create: PocketSmith already has every simple rule.")
    if plan.present:
        screen.print(f"Already in PocketSmith: {', '.join(sorted({p['rule'] for p in plan.present}))}.")
    for clash in plan.clashes:
        screen.print(f"[yellow]Not pushed[/yellow] {clash['rule']}: PocketSmith already matches "
                     f"'{clash['payee_matches']}' into {clash['existing_category']}, not {clash['category']}.")
    if plan.unsupported:
        by_reason: dict[str, list[str]] = {}
        for item in plan.unsupported:
            by_reason.setdefault(item["reason"], []).append(item["rule"])
        screen.print(f"[dim]Staying local only ({len(plan.unsupported)} rules):[/dim]")
        for reason, names in by_reason.items():
            screen.print(f"[dim]  {reason}: {', '.join(names)}[/dim]")
