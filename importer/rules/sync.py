"""PocketSmith's own category rules and rules.yaml, both ways: `rules pull` writes entries, `rules push` plans creates."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from importer.rules.categories import resolve_with
from importer.rules.engine import RuleSet
from importer.rules.suggest import unique_name

__all__ = ["pulled_entries", "pull_rules", "merge_pulled", "PushPlan", "plan_push", "push_plan", "push_rules"]


def pulled_entries(category_rules: Sequence[dict], categories: Sequence) -> list[dict]:
    """rules.yaml entries for PocketSmith category rules: `payee contains KEYWORDS → category`.

    PocketSmith matches a rule's keywords anywhere in the payee, ignoring case, which is what
    `contains` does. Categories are written as their full path, so they resolve unambiguously.
    """
    by_id = {c.id: c for c in categories}
    used: set[str] = set()
    out = []
    for item in category_rules:
        keywords = (item.get("payee_matches") or "").strip()
        category = item.get("category") or {}
        known = by_id.get(category.get("id"))
        path = (known.path or known.title) if known else category.get("title")
        if not keywords or not path:
            continue
        name = unique_name(re.sub(r"[^a-z0-9]+", "-", keywords.lower()).strip("-") or "pocketsmith-rule", used)
        out.append({"name": name, "if": {"payee": {"contains": keywords}}, "then": {"category": path},
                    "comment": f"PocketSmith category rule {item.get('id')}"})
    return out


def pull_rules(client) -> list[dict]:
    """`psimport rules pull`: the user's PocketSmith category rules as rules.yaml entries."""
    return pulled_entries(client.category_rules(), client.categories())


@dataclass
class PushPlan:
    """What `rules push` would do: category rules to create, ones PocketSmith has already, rules it cannot take."""

    create: list[dict] = field(default_factory=list)       # {"rule", "payee_matches", "category", "category_id"}
    present: list[dict] = field(default_factory=list)      # same, plus "existing_id"
    clashes: list[dict] = field(default_factory=list)      # same keywords, another category in PocketSmith
    unsupported: list[dict] = field(default_factory=list)  # {"rule", "reason"}


def plan_push(ruleset: RuleSet, existing: Sequence[dict]) -> PushPlan:
    """Which rules PocketSmith can run itself: exactly `payee: {contains: TEXT or [TEXT...]}` → `category`.

    Categories must already be resolved (`resolve_categories`, strict). A keyword PocketSmith already
    has for the same category is left alone; for another category it is a clash, never overwritten.
    """
    have: dict[str, dict] = {}
    for item in existing:
        keywords = (item.get("payee_matches") or "").strip().lower()
        if keywords:
            have.setdefault(keywords, item)
    plan = PushPlan()
    for rule in ruleset.rules:
        keywords, reason = _simple_keywords(rule)
        if reason:
            plan.unsupported.append({"rule": rule.name, "reason": reason})
            continue
        for keyword in keywords:
            entry = {"rule": rule.name, "payee_matches": keyword,
                     "category": rule.category_path or rule.category, "category_id": rule.category_id}
            found = have.get(keyword.lower())
            if found is None:
                plan.create.append(entry)
                have[keyword.lower()] = {"category": {"id": rule.category_id}, "id": None}
            elif (found.get("category") or {}).get("id") == rule.category_id:
                plan.present.append({**entry, "existing_id": found.get("id")})
            else:
                plan.clashes.append({**entry, "existing_id": found.get("id"),
                                     "existing_category": (found.get("category") or {}).get("title")})
    return plan


def push_plan(ruleset: RuleSet, client) -> PushPlan:
    """`psimport rules push`, planned against the user's PocketSmith: its categories (strict) and category rules."""
    resolve_with(ruleset, client)
    return plan_push(ruleset, client.category_rules())


def push_rules(client, plan: PushPlan) -> int:
    """Create the plan's category rules in PocketSmith; how many."""
    for entry in plan.create:
        client.create_category_rule(entry["category_id"], entry["payee_matches"])
    return len(plan.create)


def _simple_keywords(rule) -> tuple[list[str], str | None]:
    condition = rule.condition
    if rule.category is None:
        return [], "sets no category"
    if rule.category_id is None:
        return [], f"category '{rule.category}' has no PocketSmith id"
    extra = sorted(set(rule.actions) - {"category", "category_line", "stop"})
    if extra:
        return [], "also sets " + ", ".join(extra) + " (PocketSmith rules set only a category)"
    if not isinstance(condition, dict) or list(condition) != ["payee"]:
        return [], "conditions beyond payee"
    operators = condition["payee"]
    if not isinstance(operators, dict) or list(operators) != ["contains"]:
        return [], "payee operators other than contains"
    value = operators["contains"]
    keywords = [str(v).strip() for v in (value if isinstance(value, list) else [value])]
    return [k for k in keywords if k], None


def merge_pulled(path: Path, entries: Sequence[dict], where: str) -> tuple[list[dict], int]:
    """Add the pulled entries a rules file does not have yet to it, keeping everything in it; (added, already there).

    An entry is there already when a rule with the same `if` and `then` is; a new one whose name
    is taken gets `-2`... The merged text is loaded as `rules test` would load it before it
    replaces the file, so `rules pull --out` never leaves a file psimport then refuses.
    """
    import os

    from importer.rules.file import dump_rules, load_rules
    from importer.yamlfile import read_yaml_file

    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    data = read_yaml_file(path, "rules") if text.strip() else None
    if text.strip():
        load_rules(path)          # a file psimport refuses already is said as such, not merged into
    have = list((data or {}).get("rules") or [])
    same = {json.dumps([r.get("if"), r.get("then")], sort_keys=True, default=str) for r in have}
    used = {str(r.get("name")) for r in have}
    added = []
    for entry in entries:
        if json.dumps([entry.get("if"), entry.get("then")], sort_keys=True, default=str) in same:
            continue
        added.append({**entry, "name": unique_name(str(entry["name"]), used)})
    if not added:
        return [], len(entries)
    if not text.strip():
        merged = dump_rules(added, header=[f"Category rules pulled from {where} by `psimport rules pull --out`."])
    elif not have:      # `rules: []`, or `rules:` with nothing under it: the list is written anew
        merged = re.sub(r"^rules:.*\n?", "", text, count=1, flags=re.MULTILINE) + dump_rules(added)
    else:
        # `rules:` is a rules file's only key, so its list runs to the end: the new items go there, indented
        # as the file's own are.
        items = dump_rules(added).split("\n", 1)[1]
        indent = re.search(r"^([ \t]*)-[ \t]", text[text.index("rules:"):], re.MULTILINE)
        shift = indent.group(1) if indent else "  "
        merged = text + ("" if text.endswith("\n") else "\n") + \
            "".join(shift + line[2:] + "\n" for line in items.splitlines())
    temporary = path.with_name(path.name + ".new")
    temporary.write_text(merged, encoding="utf-8")
    try:
        load_rules(temporary)
    except Exception:
        temporary.unlink()
        raise
    os.replace(temporary, path)
    return added, len(entries) - len(added)
