"""What the `rules` commands show: the tuning report, suggestions, explanations and push plans, as tables or JSON."""

from __future__ import annotations

from pathlib import Path
from typing import IO

from importer.output.render import Column, console, print_table, write_json
from importer.text import plural

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


def show_report(report: dict, fmt: str, out: IO[str], source: str = "",
                suggest_command: str = "psimport rules suggest") -> None:
    """`psimport rules test`: per-rule table, conflicts, coverage, uncovered payees."""
    if fmt == "json":
        write_json(report, out)
        return
    screen = console(file=out)
    rows = []
    for rule in report["rules"]:
        row = dict(rule)
        row["verdict"] = _verdict(rule)
        for key in ("agree", "disagree", "uncategorised"):
            row[key] = "–" if rule[key] is None else rule[key]
        rows.append(row)
    # Unboxed, and the verdict whole: it wraps at its words, as the category does; the rule's file line and
    # the uncategorised count come at 100 columns (--format json has everything).
    print_table(rows, [Column("name", "Rule", no_wrap=True, ratio=3),
                       Column("line", "Line", justify="right", style="dim", no_wrap=True, min_screen=100),
                       Column("category", "Category", ratio=2),
                       Column("matched", "Matched", justify="right", no_wrap=True),
                       Column("agree", "Agree", justify="right", no_wrap=True),
                       Column("disagree", "Disagree", justify="right", no_wrap=True),
                       Column("uncategorised", "Uncat.", justify="right", no_wrap=True, min_screen=100),
                       Column("verdict", "Verdict", ratio=4)],
                title=f"Rules against {report['total']:,} transactions{f' ({source})' if source else ''}",
                row_style=_verdict_style, screen=screen, compact=True)
    if report["conflicts"]:
        conflicts = [{"rules": " + ".join(c["rules"]), "categories": " ≠ ".join(str(x) for x in c["categories"]),
                      "rows": c["rows"], "winner": c["rules"][0]} for c in report["conflicts"]]
        print_table(conflicts, [Column("rules", "Rules", ratio=2),
                                Column("categories", "Categories", ratio=2),
                                Column("rows", "Rows", justify="right", no_wrap=True),
                                Column("winner", "Wins (first)", no_wrap=True, ratio=1)],
                    title="Conflicts: the same transactions, different categories", screen=screen, compact=True)
    total = report["total"]
    if total:
        screen.print(f"Coverage: [bold]{report['coverage']:.1%}[/bold] of {total:,} transactions get a category "
                     f"from the rules ({report['categorised']:,}); {report['matched']:,} match at least one rule; "
                     f"{report['skipped']:,} skipped.")
    else:
        screen.print("No transactions to test the rules against.")
    if report.get("by_period"):
        periods = [dict(p, coverage="–" if p["coverage"] is None else f"{p['coverage']:.1%}",
                        precision="–" if p["precision"] is None else f"{p['precision']:.1%}")
                   for p in report["by_period"]]
        print_table(periods, [Column("period", "Part", no_wrap=True),
                              Column("from", "From", no_wrap=True),
                              Column("to", "To", no_wrap=True),
                              Column("rows", "Rows", justify="right", no_wrap=True),
                              Column("coverage", "Coverage", justify="right", no_wrap=True),
                              Column("precision", "Precision", justify="right", no_wrap=True)],
                    title="Rows you categorised: older, and the newest quarter",
                    caption="Coverage: the share the rules categorise; precision: the share of those filed "
                            "as you did.", screen=screen, compact=True)
    if report["uncovered_payees"]:
        uncovered = [dict(p, share="" if p["category_share"] is None else f"{p['category_share']:.0%}")
                     for p in report["uncovered_payees"]]
        print_table(uncovered, [Column("payee", "Payee (key)", no_wrap=True, ratio=2),
                                Column("count", "Count", justify="right", no_wrap=True),
                                Column("category", "Usually in", no_wrap=True, ratio=2),
                                Column("share", "Share", justify="right", no_wrap=True),
                                Column("example", "Example", style="dim", no_wrap=True, ratio=2, min_screen=100)],
                    title="Most frequent payees no rule categorises", screen=screen, compact=True)
        from importer.output.render import fit_text
        screen.print(fit_text(f"Turn them into rules: {suggest_command}", screen.width), markup=False,
                     highlight=False, soft_wrap=True)


def show_suggestions(suggestions: list[dict], fmt: str, out: IO[str], *, considered: int, min_support: int,
                     min_confidence: float) -> None:
    """`psimport rules suggest`: a whole rules file (yaml) or the proposals as data (json)."""
    if fmt == "json":
        write_json({"considered": considered, "suggestions": suggestions}, out)
    else:
        from importer.rules.suggest import suggestions_file
        out.write(suggestions_file(suggestions, considered=considered, min_support=min_support,
                                   min_confidence=min_confidence))


def show_explanations(rows: list[dict], fmt: str, out: IO[str]) -> None:
    """`psimport rules explain`: a table per file, a row each (payees cut, what was set whole; --format json has it all)."""
    if fmt == "json":
        write_json({"transactions": rows}, out)
        return
    screen = console(file=out)
    by_file: dict[str, list[dict]] = {}
    for row in rows:
        # With one rule matched, "Rules matched" already says who set everything.
        by = (lambda item: "") if len(row["rules"]) == 1 else (lambda item: f" ← {item['rule']}")
        decided = [f"{'' if name == 'category' else name + ' = '}{_shown(item['value'])}{by(item)}"
                   for name, item in row["set"].items()]
        decided += [f"label {item['label']}{by(item)}" for item in row["labels"]]
        by_file.setdefault(row["file"], []).append(
            {"line": row["line"], "date": row["date"], "amount": row["amount"], "payee": row["payee"],
             "rules": ", ".join(row["rules"]) or "–", "decided": "; ".join(decided)})
    for file, table in by_file.items():
        # What the rules matched and set is the point: it wraps at its words, never cut; the payee is cut.
        print_table(table, [Column("line", "Line", justify="right", style="dim", no_wrap=True, min_screen=100),
                            Column("date", "Date", no_wrap=True),
                            Column("amount", "Amount", justify="right", no_wrap=True),
                            Column("payee", "Payee", no_wrap=True, ratio=2),
                            Column("rules", "Rules", ratio=2),
                            Column("decided", "Sets", ratio=3)],
                    title=f"{Path(file).name}: which rules match each row", screen=screen, compact=True,
                    row_style=lambda r: "dim" if r["rules"] == "–" else None)
    matched = sum(1 for row in rows if row["rules"])
    screen.print(f"{matched} of {len(rows)} rows matched a rule")


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


def show_push_plan(plan, dry_run: bool, fmt: str, out: IO[str]) -> None:
    """`psimport rules push`: what would be created, what is there already, what stays local."""
    if fmt == "json":
        from dataclasses import asdict
        write_json({"dry_run": dry_run, **asdict(plan)}, out)
        return
    from rich.text import Text
    screen = console(file=out)
    if plan.create:
        print_table(plan.create, [Column("rule", "Rule"), Column("payee_matches", "Payee matches"),
                                  Column("category", "Category"), Column("category_id", "Id", justify="right")],
                    title="Would create these PocketSmith category rules" if dry_run else
                    "PocketSmith category rules to create", screen=screen)
    else:
        screen.print("Nothing to create: PocketSmith already has every simple rule.")
    if plan.present:
        # By keyword: a rule can have some keywords in PocketSmith already and others still to create.
        have = "; ".join(f"'{p['payee_matches']}' → {p['category']} (rule {p['rule']})" for p in plan.present)
        screen.print(Text(f"Already in PocketSmith, left alone: {have}."))
    for clash in plan.clashes:
        screen.print(f"[yellow]Not pushed[/yellow] {clash['rule']}: PocketSmith already matches "
                     f"'{clash['payee_matches']}' into {clash['existing_category']}, not {clash['category']}.")
    if plan.unsupported:
        by_reason: dict[str, list[str]] = {}
        for item in plan.unsupported:
            by_reason.setdefault(item["reason"], []).append(item["rule"])
        count = len(plan.unsupported)
        screen.print(f"[dim]Staying local only ({plural(count, 'rule')}):[/dim]")
        for reason, names in by_reason.items():
            screen.print(f"[dim]  {reason}: {', '.join(names)}[/dim]")
