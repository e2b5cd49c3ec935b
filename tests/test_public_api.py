"""The names `import importer` promises, each loaded on first use; changing them is a breaking change."""

import inspect
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import importer

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("click", "httpx", "yaml", "rich", "pandas", "numpy", "scipy", "rapidfuzz")


def test_exported_names_are_pinned():
    assert sorted(importer.__all__) == sorted([
        "parse_file", "preview", "Plan", "PlanRow", "Summary", "Action", "load_rules", "RuleSet",
        "PocketSmith", "Export", "Sandbox", "Transaction", "Statement", "Account", "Split",
        "ImporterError", "InputError", "ConfigError", "ApiError", "AmbiguousWrite", "__version__",
    ])
    assert sorted(dir(importer)) == sorted(importer.__all__)


def test_each_name_is_the_one_its_module_defines_and_says_what_it_is():
    from importer.pipeline import preview
    from importer.plan import Plan
    from importer.sandbox.inprocess import Sandbox
    assert (importer.preview, importer.Plan, importer.Sandbox) == (preview, Plan, Sandbox)
    for name in importer.__all__:
        value = getattr(importer, name)
        assert value is not None
        if inspect.isclass(value) or inspect.isfunction(value):
            assert (value.__doc__ or "").strip(), f"importer.{name} has no docstring"


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'Previewer'"):
        importer.Previewer


def test_the_version_is_the_distributions():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert importer.__version__ == project["version"]


def test_error_hierarchy():
    assert issubclass(importer.InputError, importer.ImporterError)
    assert issubclass(importer.ConfigError, importer.ImporterError)
    assert issubclass(importer.AmbiguousWrite, importer.ApiError)
    err = importer.InputError("bad amount 'x'", file="a.csv", line=7)
    assert str(err) == "a.csv, line 7: bad amount 'x'"


LAZY_CHECK = f"""
import sys
import importer
loaded = sorted(m for m in sys.modules if m.startswith("importer."))
heavy = [m for m in {HEAVY!r} if m in sys.modules]
assert not loaded and not heavy, (loaded, heavy)

plan = importer.preview(sys.argv[1], account=510001, rules=False, config=sys.argv[2])
assert isinstance(plan, importer.Plan) and plan.summary.create == plan.summary.total == 103, plan.summary
assert isinstance(plan.rows[0].record, importer.Transaction) and plan.rows[0].action is importer.Action.CREATE
print("ok")
"""


def test_import_importer_loads_none_of_the_package_until_a_name_is_used(tmp_path):
    config = tmp_path / "psimport.yaml"
    config.write_text("{}\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    result = subprocess.run([sys.executable, "-c", LAZY_CHECK, str(ROOT / "sample_statements" / "everyday.ofx"),
                             str(config)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ok\n"
