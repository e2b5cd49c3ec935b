"""psimport as a library: parse statements, preview an import against PocketSmith, an export or a sandbox.

    import importer

    statements = importer.parse_file("statement.ofx")
    plan = importer.preview("statement.ofx", existing="export.json", account=123456)
    print(plan.summary.create, "to create")
    for row in plan.rows:
        print(row.action, row.record.date, row.record.amount, row.payee)

Every name is imported on first use (PEP 562), so `import importer` costs next to nothing and
loads none of httpx, yaml, rich, numpy or the like until a call needs them.
The pipeline, one module a stage: parsers → dedupe → rules → plan → write (with its journal).
"""

from __future__ import annotations

import importlib

# Not `from typing import TYPE_CHECKING`: importing typing and pathlib would be most of `import importer`.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from importer.errors import AmbiguousWrite, ApiError, ConfigError, ImporterError, InputError
    from importer.pipeline import preview
    from importer.plan import Action, Plan, PlanRow, Summary
    from importer.pocketsmith.client import PocketSmith
    from importer.pocketsmith.export import Export
    from importer.record import Account, Split, Statement, Transaction
    from importer.rules import RuleSet, load_rules
    from importer.sandbox.inprocess import Sandbox

__version__ = "0.1.0"

# Each public name, and the module it comes from.
_LAZY = {
    "preview": "importer.pipeline",
    "Plan": "importer.plan", "PlanRow": "importer.plan", "Summary": "importer.plan", "Action": "importer.plan",
    "load_rules": "importer.rules", "RuleSet": "importer.rules",
    "PocketSmith": "importer.pocketsmith.client",
    "Export": "importer.pocketsmith.export",
    "Sandbox": "importer.sandbox.inprocess",
    "Transaction": "importer.record", "Statement": "importer.record", "Account": "importer.record",
    "Split": "importer.record",
    "ImporterError": "importer.errors", "InputError": "importer.errors", "ConfigError": "importer.errors",
    "ApiError": "importer.errors", "AmbiguousWrite": "importer.errors",
}

__all__ = [
    "parse_file", "preview", "Plan", "PlanRow", "Summary", "Action", "load_rules", "RuleSet",
    "PocketSmith", "Export", "Sandbox", "Transaction", "Statement", "Account", "Split",
    "ImporterError", "InputError", "ConfigError", "ApiError", "AmbiguousWrite", "__version__",
]

_PARSE_OPTIONS = ("mapping", "date_order", "mapping_dirs", "sheet")


def parse_file(path: str | Path, **options: Any) -> list[Statement]:
    """Read one statement file (OFX/QFX/QBO, QIF, CSV, XLSX/XLS/ODS, CAMT or MT940) into its Statements.

    One Statement per account. `options`: `mapping` (a shipped CSV mapping's name, or a mapping
    YAML file), `date_order` ("dmy", "mdy" or "ymd", for dates the file leaves ambiguous),
    `mapping_dirs` (folders of your own mappings) and `sheet` (the sheet of a spreadsheet to
    read; default its first). A file psimport cannot read is an InputError naming the file and line.
    """
    unknown = sorted(set(options) - set(_PARSE_OPTIONS))
    if unknown:
        raise TypeError(f"parse_file() got unknown option(s) {', '.join(map(repr, unknown))}; "
                        f"it takes {', '.join(_PARSE_OPTIONS)}")
    from pathlib import Path

    from importer.parsers import ParseOptions
    from importer.parsers import parse_file as parse
    if "mapping_dirs" in options:
        options["mapping_dirs"] = tuple(Path(d) for d in options["mapping_dirs"])
    return parse(path, ParseOptions(**options))


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'importer' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value          # found once; later lookups never come back here
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
