"""`psimport rules test | suggest | explain | pull | push`, offline with --existing and against the embedded sandbox."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from importer.cli import cli
from importer.config import samples_dir
from importer.rules import load_rules

REPO = Path(__file__).resolve().parents[1]
WORKED_EXAMPLE = REPO / "rules.yaml"


@pytest.fixture
def run(tmp_path, monkeypatch):
    for name in ("POCKETSMITH_DEVELOPER_KEY", "POCKETSMITH_ACCESS_TOKEN", "POCKETSMITH_API_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    state = tmp_path / "state"

    def invoke(*args, input=None):
        # Wide enough that rich does not wrap the verdicts the tests read.
        return CliRunner().invoke(cli, ["--state-dir", str(state), *args], input=input, catch_exceptions=False,
                                  env={"COLUMNS": "220"})
    return invoke


def api_transaction(id, payee, category, amount="-10.00", account=510001):
    return {"id": id, "date": f"2026-10-{id % 28 + 1:02d}", "amount": float(amount), "payee": payee.title(),
            "original_payee": payee, "category": category, "transaction_account": {"id": account},
            "type": "debit" if float(amount) < 0 else "credit"}


COFFEE = {"id": 7011, "title": "Coffee"}
TAKEAWAY = {"id": 7013, "title": "Takeaway"}
GROCERIES = {"id": 7001, "title": "Groceries"}


@pytest.fixture
def export(tmp_path):
    rows = ([api_transaction(n, "EFTPOS THE DAILY GRIND", COFFEE, "-4.50") for n in range(1, 5)]
            + [api_transaction(5, "EFTPOS THE DAILY GRIND", TAKEAWAY, "-4.50")]
            + [api_transaction(n, "WOOLWORTHS 1234 SYDNEY", GROCERIES) for n in range(6, 9)]
            + [api_transaction(n, "PAYPAL *NETFLIX", None) for n in range(9, 11)])
    path = tmp_path / "export.json"
    path.write_text(json.dumps(rows))
    return path


@pytest.fixture
def rules_path(tmp_path):
    path = tmp_path / "my-rules.yaml"
    path.write_text(textwrap.dedent("""
        rules:
          - name: coffee
            if: {payee: {contains: "daily grind"}}
            then: {category: Eating Out > Coffee, labels: [coffee]}
          - name: shops
            if: {payee: {contains: woolworths}}
            then: {category: Household}
          - name: never
            if: {memo: {regex: "^PENDING"}}
            then: {skip: true}
    """).lstrip())
    return path


def test_rules_test_offline_json(run, export, rules_path):
    result = run("rules", "test", "--rules", str(rules_path), "--existing", str(export), "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["total"], report["matched"]) == (10, 8)
    rows = {r["name"]: r for r in report["rules"]}
    assert (rows["coffee"]["matched"], rows["coffee"]["agree"], rows["coffee"]["disagree"]) == (5, 4, 1)
    # "Household" is not among the export's categories: kept by name, compared by title, and a warning.
    assert (rows["shops"]["agree"], rows["shops"]["disagree"]) == (0, 3)
    assert "Warning:" in result.stderr and "'Household'" in result.stderr and "line 7" in result.stderr
    assert rows["never"]["dead"] is True
    assert report["uncovered_payees"][0]["payee"] == "netflix" and report["uncovered_payees"][0]["count"] == 2


def test_rules_test_offline_table_says_what_to_fix(run, export, rules_path):
    result = run("rules", "test", "--rules", str(rules_path), "--existing", str(export))
    assert result.exit_code == 0, result.output
    out = " ".join(result.stdout.split())
    assert "dead: matches no transaction" in out
    assert "disagrees on 1; e.g. 'the daily grind' is in Takeaway" in out
    assert "Coverage: 80.0% of 10 transactions" in out
    assert "psimport rules suggest" in out


def test_a_bad_rules_file_is_one_line_naming_file_line_and_rule(run, export, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - name: coffee\n    if: {payee: {regex: '(oops'}}\n    then: {labels: [x]}\n")
    result = run("rules", "test", "--rules", str(bad), "--existing", str(export))
    assert result.exit_code == 3
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {bad}, line 3: rule 'coffee': payee: bad regex")


def test_no_rules_file_is_a_clear_error(run, export):
    result = run("rules", "test", "--existing", str(export))
    assert result.exit_code == 3 and "no rules file" in result.stderr


def test_suggest_offline_yaml_and_json(run, export, tmp_path):
    result = run("rules", "suggest", "--existing", str(export), "--min-support", "3", "--min-confidence", "0.75")
    assert result.exit_code == 0, result.output
    suggested = tmp_path / "suggested.yaml"
    suggested.write_text(result.stdout)
    ruleset = load_rules(suggested)
    assert [(r.name, r.condition, r.category) for r in ruleset.rules] == [
        ("daily-grind", {"original_payee": {"contains": "daily grind"}, "amount": {"lt": 0}}, "Coffee"),
        ("woolworths", {"original_payee": {"contains": "woolworths"}, "amount": {"lt": 0}}, "Groceries")]
    assert "  # 4 transactions, 80% Coffee, -4.50, 1 month; e.g. eftpos the daily grind\n" in result.stdout
    as_json = json.loads(run("rules", "suggest", "--existing", str(export), "--format", "json",
                             "--min-confidence", "0.75").stdout)
    assert as_json["considered"] == 8
    assert [(s["name"], s["support"], s["confidence"]) for s in as_json["suggestions"]] == \
        [("daily-grind", 4, 0.8), ("woolworths", 3, 1.0)]
    assert [(s["sign"], s["amount_min_cents"], s["amount_median_cents"], s["amount_max_cents"], s["months"])
            for s in as_json["suggestions"]] == [("out", -450, -450, -450, 1), ("out", -1000, -1000, -1000, 1)]
    assert {"if", "then", "category_id", "matched", "examples"} <= set(as_json["suggestions"][0])


def test_explain_offline_says_which_rule_set_each_field(run, tmp_path, rules_path):
    statement = tmp_path / "card.qif"
    statement.write_text("!Type:Bank\nD13/03/2024\nT-4.50\nPEFTPOS THE DAILY GRIND\n^\n"
                         "D14/03/2024\nT-20.00\nPSOMEWHERE ELSE\n^\n")
    result = run("rules", "explain", str(statement), "--rules", str(rules_path), "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["transactions"]
    assert rows[0]["rules"] == ["coffee"]
    assert rows[0]["set"] == {"category": {"value": "Eating Out > Coffee", "rule": "coffee"}}
    assert rows[0]["labels"] == [{"label": "coffee", "rule": "coffee"}]
    assert rows[1]["rules"] == [] and rows[1]["set"] == {}
    table = run("rules", "explain", str(statement), "--rules", str(rules_path))
    assert "Eating Out > Coffee; label coffee" in table.stdout and "1 of 2 rows matched a rule" in table.stdout


@pytest.mark.parametrize("columns", [80, 100])
def test_explain_reads_at_80_columns_with_what_the_rules_set_whole(tmp_path, monkeypatch, export, rules_path, columns):
    """Unboxed, a row each starting with its date; the payee may be cut, what the rules matched and set never is."""
    from rich.cells import cell_len
    monkeypatch.chdir(tmp_path)
    statement = tmp_path / "card.qif"
    statement.write_text("!Type:Bank\nD13/03/2024\nT-4.50\nPEFTPOS THE DAILY GRIND NEWTOWN SYDNEY NSW AUSTRALIA\n^\n"
                         "D14/03/2024\nT-1234.00\nPSOMEWHERE ELSE ENTIRELY, A LONG WAY FROM ANY RULE\n^\n")
    result = CliRunner().invoke(cli, ["--state-dir", str(tmp_path / "state"), "rules", "explain", str(statement),
                                      "--rules", str(rules_path)], env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(cell_len(line.rstrip()) for line in lines) <= columns
    assert not any(ch in result.stdout for ch in "│┃┏└"), result.stdout
    starts = [re.match(r"\s*(?:\d+\s+)?(\d{4}-\d\d-\d\d) ", line) for line in lines]
    assert [m.group(1) for m in starts if m] == ["2024-03-13", "2024-03-14"]
    assert "-1234.00" in result.stdout
    assert "Eating Out > Coffee; label coffee" in " ".join(result.stdout.split())
    assert ("Line" in lines[1]) == (columns >= 100)


@pytest.mark.parametrize("columns", [80, 120])
def test_rules_test_reads_at_80_columns_unboxed_with_every_verdict_whole(export, rules_path, columns):
    from rich.cells import cell_len
    result = CliRunner().invoke(cli, ["rules", "test", "--existing", str(export), "--rules", str(rules_path)],
                                env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(cell_len(line.rstrip()) for line in lines) <= columns
    assert not any(ch in result.stdout for ch in "│┃┏└"), result.stdout            # no boxes, as docs/rules.md
    report = json.loads(CliRunner().invoke(cli, ["rules", "test", "--existing", str(export), "--rules",
                                                 str(rules_path), "--format", "json"]).stdout)
    words = " ".join(result.stdout.split())
    assert "…" not in result.stdout.split("Conflicts")[0]                          # nothing of the rules cut
    for rule in report["rules"]:
        assert any(line.startswith(rule["name"] + " ") for line in lines), rule["name"]
    assert "dead: matches no transaction" in words and "disagrees on 1; e.g. 'the daily grind' is in Takeaway" in words
    header = next(line for line in lines if line.startswith("Rule "))
    assert ("Line" in header and "Uncat." in header) == (columns >= 100)           # wider shows more


# ─── against the embedded sandbox (demo household) ────────────────────────────────────────────

def test_rules_test_on_the_sandbox_with_the_worked_example(run):
    result = run("rules", "test", "--sandbox", "--rules", str(WORKED_EXAMPLE), "--since", "2026-01-01",
                 "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    rows = {r["name"]: r for r in report["rules"]}
    assert report["total"] > 300 and report["coverage"] > 0.95
    assert all(r["disagree"] in (None, 0) for r in report["rules"]), report["rules"]
    assert rows["pending-holds"]["dead"] and rows["foreign-currency"]["dead"]
    assert rows["large-payment"]["shadowed_by"] == ["rent", "transfers"]
    assert rows["coffee"]["agree"] > 50
    # The one groceries row the household typed in by hand ("Woolies") is what no rule covers.
    assert [p["payee"] for p in report["uncovered_payees"]] == ["woolies"]
    # Older and newer apart: the newest quarter of the dates, with the rows the user categorised there.
    older, newer = report["by_period"]
    assert (older["period"], newer["period"]) == ("older", "newer") and older["to"] < newer["from"]
    assert newer["rows"] > 0 and newer["coverage"] > 0.9 and newer["precision"] == 1.0
    assert newer["categorised"] == round(newer["coverage"] * newer["rows"])
    table = run("rules", "test", "--sandbox", "--rules", str(WORKED_EXAMPLE), "--since", "2026-01-01")
    assert "shadowed by rent, transfers" in " ".join(table.stdout.split())
    assert "Rows you categorised: older, and the newest quarter" in table.stdout
    assert f"{newer['from']} " in table.stdout and f"{newer['coverage']:.1%}" in table.stdout


def test_suggest_on_the_sandbox_writes_rules_that_cover_its_history(run, tmp_path):
    result = run("rules", "suggest", "--sandbox", "--format", "json")
    assert result.exit_code == 0, result.output
    suggestions = json.loads(result.stdout)["suggestions"]
    assert suggestions and all(s["confidence"] >= 0.9 and s["support"] >= 3 for s in suggestions)
    suggested = tmp_path / "suggested.yaml"
    suggested.write_text(run("rules", "suggest", "--sandbox").stdout)
    tested = json.loads(run("rules", "test", "--sandbox", "--rules", str(suggested), "--format", "json").stdout)
    assert tested["coverage"] > 0.8 and all(p["precision"] >= 0.95 for p in tested["by_period"])


def test_a_category_the_sandbox_lacks_stops_rules_test(run, tmp_path):
    rules = tmp_path / "r.yaml"
    rules.write_text("rules:\n  - name: fuel\n    if: {payee: caltex}\n    then: {category: Petrol}\n")
    result = run("rules", "test", "--sandbox", "--rules", str(rules))
    assert result.exit_code == 3
    assert f"{rules}, line 4: rule 'fuel': category 'Petrol' does not exist in PocketSmith" in result.stderr


def test_explain_sample_statements_against_the_sandbox(run):
    result = run("rules", "explain", str(samples_dir() / "everyday.ofx"), "--sandbox",
                 "--rules", str(WORKED_EXAMPLE), "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["transactions"]
    salary = next(r for r in rows if r["original_payee"].startswith("DIRECT CREDIT ACME"))
    assert salary["rules"] == ["salary"] and salary["set"]["payee"]["value"] == "Acme Pty Ltd (salary)"
    coles = next(r for r in rows if r["original_payee"].startswith("COLES") and "weekly-shop" in r["rules"])
    assert [label["label"] for label in coles["labels"]] == ["household", "weekly-shop"]
    assert all(r["rules"] for r in rows), [r["original_payee"] for r in rows if not r["rules"]]


def test_pull_then_push_round_trip_on_the_sandbox(run, tmp_path):
    pulled = run("rules", "pull", "--sandbox")
    assert pulled.exit_code == 0, pulled.output
    pulled_file = tmp_path / "pulled.yaml"
    pulled_file.write_text(pulled.stdout)
    names = [r.name for r in load_rules(pulled_file).rules]
    assert names == ["woolworths", "caltex", "netflix", "acme-pty", "daily-grind"]

    # What PocketSmith has already is not pushed again.
    again = json.loads(run("rules", "push", "--sandbox", "--rules", str(pulled_file), "--dry-run",
                           "--format", "json").stdout)
    assert again["create"] == [] and len(again["present"]) == 5

    mine = tmp_path / "mine.yaml"
    mine.write_text(textwrap.dedent("""
        rules:
          - {name: bakery, if: {payee: {contains: [bourke st bakery, sonoma]}}, then: {category: Eating Out}}
          - {name: fancy, if: {payee: {regex: "^x"}}, then: {category: Shopping}}
    """).lstrip())
    dry = json.loads(run("rules", "push", "--sandbox", "--rules", str(mine), "--dry-run", "--format", "json").stdout)
    assert [(c["payee_matches"], c["category_id"]) for c in dry["create"]] == \
        [("bourke st bakery", 7010), ("sonoma", 7010)]
    assert [u["rule"] for u in dry["unsupported"]] == ["fancy"]
    assert len(json.loads(run("rules", "pull", "--sandbox", "--format", "json").stdout)["rules"]) == 5

    refused = run("rules", "push", "--sandbox", "--rules", str(mine))     # no terminal to ask on, no --yes
    assert refused.exit_code != 0 and "--yes" in refused.stderr
    done = run("rules", "push", "--sandbox", "--rules", str(mine), "--yes")
    assert done.exit_code == 0, done.output
    after = json.loads(run("rules", "pull", "--sandbox", "--format", "json").stdout)["rules"]
    assert [r["if"]["payee"]["contains"] for r in after][-2:] == ["bourke st bakery", "sonoma"]
    assert [r["then"]["category"] for r in after][-2:] == ["Eating Out", "Eating Out"]


def test_push_names_the_keywords_pocketsmith_has_already_and_counts_in_words(run, tmp_path):
    mine = tmp_path / "mine.yaml"
    mine.write_text(textwrap.dedent("""
        rules:
          - {name: groceries, if: {payee: {contains: [woolworths, coles]}}, then: {category: Groceries}}
          - {name: fancy, if: {payee: {regex: "^x"}}, then: {category: Shopping}}
    """).lstrip())
    dry = run("rules", "push", "--sandbox", "--rules", str(mine), "--dry-run")
    assert dry.exit_code == 0, dry.output
    out = " ".join(dry.stdout.split())
    assert "│ groceries │ coles │ Groceries │ 7001 │" in out                  # the keyword still to create
    assert "Already in PocketSmith, left alone: 'woolworths' → Groceries (rule groceries)." in out
    assert "Staying local only (1 rule):" in out
    done = run("rules", "push", "--sandbox", "--rules", str(mine), "--yes")
    assert done.exit_code == 0 and "Created 1 category rule in the sandbox." in done.stderr


def test_since_and_existing_do_not_mix(run, export, rules_path):
    result = run("rules", "test", "--rules", str(rules_path), "--existing", str(export), "--since", "2026-01-01")
    assert result.exit_code == 3 and "--since picks history from PocketSmith" in result.stderr
