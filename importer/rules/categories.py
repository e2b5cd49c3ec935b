"""Rules' categories: each rule's category resolved to a PocketSmith id, by title or `Parent > Child` path."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Sequence

from importer.errors import ConfigError, did_you_mean, every_problem
from importer.rules.compiler import normalise_path
from importer.yamlfile import excerpt

if TYPE_CHECKING:
    from importer.pocketsmith.protocol import TransactionSource
    from importer.rules.engine import RuleSet

__all__ = ["resolve_with", "resolve_categories"]


def resolve_with(ruleset: "RuleSet", source: "TransactionSource") -> list[str]:
    """Resolve the rules' categories against where this run reads PocketSmith from; the warnings.

    From the client (online) an unknown or ambiguous category stops the run before anything is
    written; from an export (offline), which names only the categories its rows use, such a
    category keeps its name, without an id, and is a warning.
    """
    return resolve_categories(ruleset, source.categories(), strict=not source.offline)


def resolve_categories(ruleset: "RuleSet", categories: Sequence, *, strict: bool = True) -> list[str]:
    """Give each rule's category its PocketSmith id, by title or `Parent > Child` path.

    strict (online): an unknown or ambiguous category is a ConfigError naming the rules file, line,
    rule and, when ambiguous, the candidate paths. Not strict (offline, categories from an export):
    such categories keep their name with no id, and the warnings are returned.
    """
    by_path: dict[str, list] = defaultdict(list)
    by_title: dict[str, list] = defaultdict(list)
    for category in categories:
        by_path[normalise_path(category.path or category.title).lower()].append(category)
        by_title[(category.title or "").strip().lower()].append(category)
    warnings: list[str] = []
    errors: list[ConfigError] = []
    for rule in ruleset.rules:
        name = rule.category
        if name is None:
            continue
        key = name.lower()
        leaf = key.rsplit(" > ", 1)[-1]
        found = by_path.get(key) or ([] if " > " in key else by_title.get(key, []))
        if not found and not strict and " > " in key:
            # An export names categories by title only, so a path can only be checked by its last part.
            found = by_title.get(leaf, [])
        where = dict(file=ruleset.path, line=rule.actions.get("category_line", rule.line))
        rule.category_id = rule.category_title = rule.category_path = None
        if len(found) == 1:
            category = found[0]
            rule.category_id = category.id
            rule.category_title = category.title
            rule.category_path = category.path or category.title
        elif found:
            paths = ", ".join(sorted(f"'{c.path or c.title}' (id {c.id})" for c in found))
            message = f"rule {excerpt(rule.name)}: category {excerpt(name)} is ambiguous: {paths}; write the full path"
            if strict:
                errors.append(ConfigError(message, **where))
            warnings.append(str(ConfigError(message, **where)))
        else:
            known = sorted({c.path or c.title for c in categories})
            hint = did_you_mean(name, known)
            message = (f"rule {excerpt(rule.name)}: category {excerpt(name)} does not exist in PocketSmith{hint}; "
                       "`psimport categories` lists yours")
            if strict:
                errors.append(ConfigError(message, **where))
            warnings.append(str(ConfigError(f"rule {excerpt(rule.name)}: category {excerpt(name)} is not among the "
                                            f"export's categories; kept by name, without an id", **where)))
        rule._build()
    if errors:
        raise every_problem(errors, ruleset.path)
    return warnings
