"""The renderers write where they are told: every table and line of each command family lands in `out`.

Each case renders real data (the demo sandbox over HTTP, the sample statements, a real journal)
into an io.StringIO and checks the table is there and nothing reached the real stdout or stderr.
"""

from __future__ import annotations

import inspect
import io
import secrets
from pathlib import Path

import pytest
from click.testing import CliRunner

from importer.config import load_config, samples_dir
from importer.pocketsmith.client import PocketSmith
from importer.sandbox.server import SandboxServer

RULES = Path(__file__).resolve().parents[1] / "rules.yaml"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A demo sandbox (its history overlaps the samples) and a real client for it, shared by the read-only cases."""
    key = f"sk-test-{secrets.token_hex(12)}"
    server = SandboxServer(tmp_path_factory.mktemp("sandbox") / "sandbox.sqlite3", key=key, seed="demo").start()
    client = PocketSmith(server.url, key, timeout=5)
    yield client
    client.close()
    server.stop()


@pytest.fixture(scope="module")
def config():
    return load_config(samples_dir() / "psimport.yaml")


@pytest.fixture(scope="module")
def plan(demo, config):
    from importer.pipeline import preview
    return preview([samples_dir()], client=demo, config=config, rules=RULES)


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory):
    """A journal holding one batch: the samples imported into the embedded sandbox."""
    from importer.cli import cli
    state = tmp_path_factory.mktemp("state")
    result = CliRunner().invoke(cli, ["import", str(samples_dir()), "--sandbox", "--yes", "--state-dir", str(state)])
    assert result.exit_code == 0, result.output
    return state / "demo"          # where --sandbox keeps its journal


def _parse(out, config):
    from importer.output.statements import show_statements
    from importer.pipeline import read_statements
    show_statements(read_statements([samples_dir()], config=config).statements, "table", out)
    return ["everyday.ofx", "Summary", "Payee"]


def _mappings(out):
    from importer.output.statements import show_mappings
    from importer.parsers.csv.mapping import available_mappings
    show_mappings(available_mappings(), "table", out)
    return ["CSV mappings", "westpac", "Detected by"]


def _preview(out, plan):
    from importer.output.preview import show_plan
    show_plan(plan, "table", out, show_all=True)
    return ["Account 510001", "to create", "Summary"]


def _import_summary(out, plan):
    from importer.output.preview import print_summary
    print_summary(plan, out, title="Plan")
    return ["Plan", "to create", "money in"]


def _batches(out, state_dir):
    from importer.output.batches import show_batches
    from importer.write.batches import list_batches
    show_batches(list_batches(state_dir), "table", out, journal_dir=state_dir)
    return ["Batches (newest first)", "complete", "everyday.ofx"]


def _accounts(out, demo):
    from importer.output.pocketsmith import show_accounts
    show_accounts(demo.transaction_accounts(), "table", out)
    return ["Transaction accounts", "510001", "Balance"]


def _categories(out, demo):
    from importer.output.pocketsmith import show_categories
    show_categories(demo.categories(), "table", out)
    return ["Categories", "Path (as rules.yaml takes it)", "└─"]


def _rules_test(out, demo, config):
    from importer.output.rules import show_report
    from importer.rules.report import rules_test_report
    report, source = rules_test_report(RULES, config, connect=lambda: demo, where="the sandbox")
    show_report(report, "table", out, source=source)
    return ["Rules against", "Verdict", "Coverage:"]


def _rules_explain(out, config):
    from importer.output.rules import show_explanations
    from importer.rules.explain import explain_files
    show_explanations(explain_files([samples_dir()], RULES, config), "table", out)
    return ["which rules match each row", "Sets", "rows matched a rule"]


def _rules_push(out, demo, config):
    from importer.output.rules import show_push_plan
    from importer.rules import load_rules_for
    from importer.rules.sync import push_plan
    show_push_plan(push_plan(load_rules_for(RULES, config), demo), True, "table", out)
    return ["Would create these PocketSmith category rules", "Payee matches", "Staying local only"]


def _rules_suggest(out, demo, config):
    from importer.output.rules import show_suggestions
    from importer.rules.suggest import suggest_from_history
    suggestions, considered = suggest_from_history(None, config, connect=lambda: demo, where="the sandbox")
    show_suggestions(suggestions, "yaml", out, considered=considered, min_support=3, min_confidence=0.9)
    return ["# Suggested by `psimport rules suggest`", "rules:"]


def _rules_pull(out, demo):
    from importer.output.rules import show_pulled
    from importer.rules.sync import pull_rules
    show_pulled(pull_rules(demo), "yaml", out, where="the sandbox")
    return ["category rules from the sandbox", "rules:"]


FAMILIES = {"parse": _parse, "mappings": _mappings, "preview": _preview, "import summary": _import_summary,
            "batches": _batches, "accounts": _accounts, "categories": _categories, "rules test": _rules_test,
            "rules explain": _rules_explain, "rules push": _rules_push, "rules suggest": _rules_suggest,
            "rules pull": _rules_pull}


@pytest.mark.parametrize("family", FAMILIES)
def test_every_table_and_line_goes_to_out_and_nothing_to_stdout(family, request, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "120")   # the same width wherever the suite runs, so no heading is cut
    render = FAMILIES[family]
    data = {name: request.getfixturevalue(name) for name in list(inspect.signature(render).parameters)[1:]}
    capsys.readouterr()   # what setting the data up printed (the import's own run) is not the renderer's
    out = io.StringIO()
    expected = render(out, **data)
    stray = capsys.readouterr()
    assert (stray.out, stray.err) == ("", ""), f"psimport {family}'s output went to the real stdout/stderr"
    written = out.getvalue()
    missing = [text for text in expected if text not in written]
    assert not missing, f"{missing} not in what psimport {family} wrote to out:\n{written}"
    assert "\x1b[" not in written   # a StringIO is not a terminal: plain text, no colour codes
