"""The rooms of the house: what each part of importer/ may touch, and the README's map of them.

Imports are read with ast from the source (function-level ones too), so a lazy import counts.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "importer"
MODULES = sorted(PACKAGE.rglob("*.py"))


def _name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, source: str | None = None) -> set[str]:
    """Every module `path` imports, anywhere in it, relative imports resolved, import_module("...") included."""
    tree = ast.parse(path.read_text(encoding="utf-8") if source is None else source, str(path))
    package = _name(path) if path.name == "__init__.py" else _name(path).rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)   # `from importer import output`
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and getattr(node.func, "attr", getattr(node.func, "id", None)) in ("import_module", "__import__")):
            found.add(node.args[0].value)
    return found


def _modules_importing(*targets: str) -> set[str]:
    """The modules (as paths under importer/) that import any of `targets` or a submodule of one."""
    return {str(path.relative_to(PACKAGE)) for path in MODULES
            if any(name == t or name.startswith(t + ".") for name in _imports(path) for t in targets)}


def test_the_import_reader_sees_lazy_relative_and_from_package_imports():
    source = ("def f():\n    from importer import output\n    from ..output import render\n"
              "    import importlib\n    importlib.import_module('importer.output.html')\n")
    found = _imports(PACKAGE / "rules" / "probe.py", source)
    assert {"importer.output", "importer.output.render", "importer.output.html"} <= found
    assert "importer.rules.output" not in found   # `..` from importer/rules/ is importer, not importer.rules


def test_no_module_of_the_library_imports_the_output_package():
    library = {str(p.relative_to(PACKAGE)) for p in MODULES if p.name != "cli.py" and "output" not in p.parts}
    offenders = _modules_importing("importer.output") & library
    assert not offenders, f"only importer/cli.py may import importer.output; these do too: {sorted(offenders)}"
    assert "cli.py" in _modules_importing("importer.output")   # the check reads real imports


def test_only_the_client_speaks_http_to_pocketsmith_and_only_the_sandbox_serves():
    assert _modules_importing("httpx") == {"pocketsmith/client.py"}
    # The client connects (its own HTTP/1.1 connections under httpx); the sandbox's server listens.
    assert _modules_importing("socket") == {"pocketsmith/client.py", "sandbox/server.py"}
    assert _modules_importing("http.server", "socketserver", "urllib.request", "http.client") == \
        {"sandbox/server.py"}


def test_only_the_journal_and_the_sandbox_store_keep_sqlite_state():
    assert _modules_importing("sqlite3") == {"write/journal.py", "sandbox/store.py"}


def _readme_layout() -> list[tuple[str, str]]:
    """The README's layout block under importer/, as (path, job) pairs, paths rebuilt from the indentation."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"\*\*Layout\.\*\*.*?```\n(.*?)```", readme, re.S)
    assert block, "the README has no **Layout.** section with a code block"
    entries: list[tuple[str, str]] = []
    stack: list[str] = []
    for line in block.group(1).splitlines():
        match = re.match(r"( *)(\S+)(?:\s+(.*))?$", line)
        if not match:
            continue
        depth, name, job = len(match.group(1)) // 2, match.group(2), match.group(3) or ""
        del stack[depth:]
        path = "".join(stack) + name
        if path.startswith("importer/"):
            entries.append((path, job))
        if name.endswith("/"):
            stack.append(name)
    return entries


def test_the_readme_layout_lists_every_module_under_importer_with_its_job():
    listed = _readme_layout()
    files = {path for path, _ in listed if path.endswith(".py")}
    actual = {str(p.relative_to(ROOT)) for p in MODULES}
    assert files == actual, f"README layout misses {sorted(actual - files)}; lists what is not there: " \
                            f"{sorted(files - actual)}"
    packages = {str(p.parent.relative_to(ROOT)) + "/" for p in MODULES if p.name == "__init__.py"}
    assert {path for path, _ in listed if path.endswith("/")} == packages
    assert all(job for path, job in listed if path != "importer/"), [p for p, job in listed if not job]


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_every_module_opens_with_a_docstring_saying_its_job(path):
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    assert doc and doc.splitlines()[0].strip().endswith("."), f"{path.relative_to(ROOT)}: no one-line job"


def test_nothing_points_at_a_design_document_the_repo_does_not_have():
    missing = "design" + ".md"   # spelt apart so this file does not point at it itself
    files = [*MODULES, *(ROOT / "tests").glob("*.py"), ROOT / "README.md", *(ROOT / "docs").glob("*")]
    assert not (ROOT / missing).exists()
    assert [str(f.relative_to(ROOT)) for f in files if missing in f.read_text(encoding="utf-8")] == []
