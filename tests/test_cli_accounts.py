"""`psimport accounts`, `psimport categories` and the client the CLI builds (real API or --sandbox), end to end."""

from __future__ import annotations

import json

import pytest
import yaml
from click.testing import CliRunner

from importer.cli import cli
from importer.config import samples_dir
from importer.sandbox.demo import DEMO_ACCOUNTS


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.delenv("POCKETSMITH_DEVELOPER_KEY", raising=False)
    monkeypatch.delenv("POCKETSMITH_ACCESS_TOKEN", raising=False)
    monkeypatch.delenv("POCKETSMITH_API_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    state = tmp_path / "state"

    def invoke(*args, env=None):
        return CliRunner().invoke(cli, ["--state-dir", str(state), *args], env=env, catch_exceptions=False)

    invoke.state = state
    return invoke


def test_accounts_json_from_the_sandbox(run):
    result = run("accounts", "--sandbox", "--format", "json")
    assert result.exit_code == 0, result.stderr
    accounts = json.loads(result.stdout)["accounts"]
    assert [a["id"] for a in accounts] == [a.transaction_account_id for a in DEMO_ACCOUNTS]
    everyday = accounts[0]
    assert everyday["name"] == "Everyday Account" and everyday["number"] == "06200012345678"
    assert everyday["institution"] == "Commonwealth Bank" and everyday["currency"] == "AUD"
    assert everyday["type"] == "bank" and isinstance(everyday["current_balance"], str)
    assert (run.state / "demo" / "sandbox" / "sandbox.sqlite3").is_file()


def test_accounts_table(run):
    result = run("accounts", "--sandbox")
    assert result.exit_code == 0
    assert "510002" in result.stdout and "Visa" in result.stdout


@pytest.mark.parametrize("columns", ["80", "100", "130"])
def test_accounts_table_shows_what_picks_an_account_whole_at_80_columns_and_more_when_wider(run, columns):
    """Id, name, number and balance are what a person picks an account id by: never cut; wider screens
    add the balance's date, then the institution."""
    from rich.cells import cell_len
    lines = run("accounts", "--sandbox", env={"COLUMNS": columns}).stdout.splitlines()
    assert max(cell_len(line.rstrip()) for line in lines) <= int(columns)
    rows = [line for line in lines if line.split() and line.split()[0].isdigit()]
    assert len(rows) == len(DEMO_ACCOUNTS)     # no row spills onto a second line
    assert "…" not in "\n".join(lines)
    saver = next(line for line in rows if "510003" in line)
    assert "NetBank Saver" in saver and "06200087654321" in saver and "17445.70 AUD" in saver
    assert ("2026-11-09" in saver) == (int(columns) >= 95)
    assert ("Commonwealth Bank" in saver) == (int(columns) >= 110)


def test_categories_tree_and_json(run):
    table = run("categories", "--sandbox")
    assert table.exit_code == 0
    assert "7011" in table.stdout and "└─ Coffee" in table.stdout
    coffee_line = next(line for line in table.stdout.splitlines() if "7011" in line)
    assert "Eating Out > Coffee" in coffee_line           # the path rules.yaml takes, as --help promises
    data = json.loads(run("categories", "--sandbox", "--format", "json").stdout)["categories"]
    coffee = next(c for c in data if c["id"] == 7011)
    assert coffee["path"] == "Eating Out > Coffee" and coffee["parent_id"] == 7010 and coffee["depth"] == 1
    assert next(c for c in data if c["title"] == "Transfers")["is_transfer"] is True


@pytest.mark.parametrize("order", ["before", "after"])
def test_verbose_logs_requests_without_the_key(run, order):
    args = ["-v", "accounts", "--sandbox"] if order == "before" else ["accounts", "--sandbox", "-v"]
    result = run(*args)
    assert result.exit_code == 0
    key = (run.state / "demo" / "sandbox" / "key").read_text().strip()
    assert "GET /v2/users/4711/transaction_accounts?per_page=1000 → 200" in result.stderr
    assert "GET /v2/me → 200" in result.stderr
    assert key not in result.stderr and key not in result.stdout


def test_real_api_path_uses_the_environment_key(run, sandbox):
    result = run("--api-url", sandbox.url, "accounts", "--format", "json",
                 env={"POCKETSMITH_DEVELOPER_KEY": sandbox.key})
    assert result.exit_code == 0, result.stderr
    assert len(json.loads(result.stdout)["accounts"]) == 3
    via_env = run("categories", "--format", "json",
                  env={"POCKETSMITH_DEVELOPER_KEY": sandbox.key, "POCKETSMITH_API_URL": sandbox.url})
    assert via_env.exit_code == 0 and json.loads(via_env.stdout)["categories"]


def test_wrong_key_is_one_clean_line(run, sandbox):
    result = run("--api-url", sandbox.url, "-v", "accounts", env={"POCKETSMITH_DEVELOPER_KEY": "sk-wrong-777"})
    assert result.exit_code == 4
    assert "POCKETSMITH_DEVELOPER_KEY" in result.stderr and "401" in result.stderr
    assert "sk-wrong-777" not in result.stderr + result.stdout and "Traceback" not in result.stderr


def test_missing_key_says_how_to_set_it(run):
    result = run("accounts")
    assert result.exit_code == 3
    assert result.stderr.startswith("Error: no PocketSmith key") and "POCKETSMITH_DEVELOPER_KEY" in result.stderr
    assert "--sandbox" in result.stderr


def test_plain_http_to_a_remote_host_is_refused(run):
    result = run("--api-url", "http://example.com/v2", "categories", env={"POCKETSMITH_DEVELOPER_KEY": "sk-abc-123"})
    assert result.exit_code == 3 and "https is required" in result.stderr
    assert "sk-abc-123" not in result.stderr


def test_the_demo_config_ships_with_the_samples_and_matches_the_demo_accounts():
    config = yaml.safe_load((samples_dir() / "psimport.yaml").read_text())
    ids = [entry["transaction_account_id"] for entry in config["accounts"]]
    assert ids == [a.transaction_account_id for a in DEMO_ACCOUNTS]
    assert config["accounts"][0]["ofx_account"] == DEMO_ACCOUNTS[0].number
    for name in ("everyday.ofx", "creditcard.qif", "savings.csv"):
        assert (samples_dir() / name).is_file()


def test_help_has_examples(run):
    for command in ("accounts", "categories", "sandbox"):
        result = run(command, "--help")
        assert result.exit_code == 0 and "Examples:" in result.stdout, command


# ─── the hint for an unmapped CSV, and `mapping:` names (trial 3, finding 16) ─────────────────

def _inferred_statement(file: str = "socgen.csv"):
    from importer.record import Account, Statement
    return Statement(file=file, format="csv:inferred", account=Account())


def test_the_hint_for_an_inferred_csv_proposes_a_line_psimport_accepts(tmp_path):
    import pytest as _pytest

    from importer.accounts import account_rules, mapping_for_file, resolve_targets
    from importer.errors import ConfigError
    from importer.yamlfile import read_yaml
    with _pytest.raises(ConfigError) as caught:
        resolve_targets([_inferred_statement()], known=[], config_path=tmp_path / "psimport.yaml")
    line = next(l for l in str(caught.value).splitlines() if "glob:" in l)
    assert 'mapping: infer,' in line and "inferred" not in line.split("#")[0]
    # The line as proposed, its ID filled in, routes the file.
    entry = line.split("- ", 1)[1].split("   #")[0].replace("ID", "7")
    rules = account_rules([read_yaml(entry + "\n", "psimport.yaml")], tmp_path / "psimport.yaml")
    assert mapping_for_file("socgen-2024.csv", rules) == "infer"
    [target] = resolve_targets([_inferred_statement()], rules=rules)
    assert target.account_id == 7


def test_the_hint_never_proposes_editing_the_shipped_demo_config():
    import pytest as _pytest

    from importer.accounts import resolve_targets
    from importer.config import samples_dir, user_config_dir
    from importer.errors import ConfigError
    with _pytest.raises(ConfigError) as caught:
        resolve_targets([_inferred_statement()], known=[], config_path=samples_dir() / "psimport.yaml")
    assert str(samples_dir()) not in str(caught.value)
    assert str(user_config_dir() / "psimport.yaml") in str(caught.value)


def test_an_unknown_mapping_in_the_config_names_its_file_and_line(tmp_path):
    import pytest as _pytest

    from importer.accounts import account_rules, mapping_for_file
    from importer.errors import ConfigError
    from importer.yamlfile import read_yaml
    config = tmp_path / "psimport.yaml"
    data = read_yaml("accounts:\n  - {ofx_account: '1', transaction_account_id: 1}\n"
                     "  - {glob: 'socgen*.csv', mapping: inferred, transaction_account_id: 2}\n", str(config))
    rules = account_rules(data["accounts"], config)
    with _pytest.raises(ConfigError) as caught:
        mapping_for_file("socgen.csv", rules)
    assert caught.value.file == str(config) and caught.value.line == 3
    assert "unknown mapping 'inferred'" in str(caught.value) and "`mapping: infer`" in str(caught.value)
