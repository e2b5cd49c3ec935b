"""The library face at work: parse_file's options, preview() agreeing with `psimport preview`, and importer.Sandbox."""

import json
import os
import socket
import subprocess
import sys
import tempfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

import importer
from importer.sandbox.server import Faults

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_statements"
EVERYDAY = 510001


# ─── parse_file ──────────────────────────────────────────────────────────────────────────────

def test_parse_file_reads_a_statement_into_records():
    (statement,) = importer.parse_file(SAMPLES / "everyday.ofx")
    assert isinstance(statement, importer.Statement) and statement.account.id == "06200012345678"
    assert all(isinstance(t, importer.Transaction) and isinstance(t.amount, Decimal) for t in statement.transactions)
    assert len(statement.transactions) == 103


def test_parse_file_takes_the_parse_options_and_names_one_it_does_not_know(tmp_path):
    ambiguous = tmp_path / "card.csv"
    ambiguous.write_text("Date,Amount,Description\n03/04/2024,-4.50,Coffee\n05/06/2024,-9.00,Lunch\n")
    with pytest.raises(importer.InputError, match="ambiguous"):
        importer.parse_file(ambiguous)
    (statement,) = importer.parse_file(ambiguous, date_order="dmy")
    assert [t.date for t in statement.transactions] == [date(2024, 4, 3), date(2024, 6, 5)]
    with pytest.raises(TypeError, match="'dateorder'.*it takes mapping, date_order, mapping_dirs"):
        importer.parse_file(ambiguous, dateorder="dmy")


def test_parse_file_finds_a_mapping_in_the_mapping_dirs_given(tmp_path):
    mine = tmp_path / "mappings"
    mine.mkdir()
    (mine / "mybank.yaml").write_text((ROOT / "mappings" / "cba.yaml").read_text().replace("name: cba",
                                                                                          "name: mybank"))
    with pytest.raises(importer.ImporterError, match="mybank"):
        importer.parse_file(SAMPLES / "savings.csv", mapping="mybank")
    (statement,) = importer.parse_file(SAMPLES / "savings.csv", mapping="mybank", mapping_dirs=[str(mine)])
    assert statement.format == "csv:mybank" and statement.transactions


# ─── preview: the same plan as the command ───────────────────────────────────────────────────

@pytest.fixture(scope="module")
def demo_export(tmp_path_factory):
    """What the demo household's PocketSmith holds, as an `--existing` file."""
    with importer.Sandbox(demo=True) as sandbox:
        return sandbox.export(tmp_path_factory.mktemp("export") / "export.json")


SKIP_AND_UNKNOWN_CATEGORY = """\
rules:
  - name: no-coffee
    if: {payee: {contains: grind}}
    then: {skip: true}
  - name: spending
    if: {amount: {lt: 0}}
    then: {category: No Such Category}
"""


@pytest.mark.parametrize("rules_text", [None, SKIP_AND_UNKNOWN_CATEGORY], ids=["no-rules", "rules"])
def test_preview_from_python_has_the_summary_of_psimport_preview_json(tmp_path, monkeypatch, demo_export,
                                                                      rules_text):
    statement = SAMPLES / "everyday.ofx"
    rules = None
    if rules_text is not None:
        rules = tmp_path / "my-rules.yaml"
        rules.write_text(rules_text)
    # Both run from an empty folder with no config of their own, so each reads only what it is given.
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PSIMPORT_STATE_DIR": str(tmp_path / "state"),
           "XDG_CONFIG_HOME": str(tmp_path / "config")}
    command = [sys.executable, "-m", "importer", "preview", str(statement), "--existing", str(demo_export),
               "--account", str(EVERYDAY), "--format", "json", *(["--rules", str(rules)] if rules else [])]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    cli = json.loads(result.stdout)

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", env["XDG_CONFIG_HOME"])
    plan = importer.preview(statement, existing=demo_export, account=EVERYDAY, rules=rules)

    assert plan.summary.as_json() == cli["summary"]
    assert [row.action for row in plan.rows] == [row["action"] for row in cli["transactions"]]
    # The same warnings, but for the command they advise: the command line writes it with its own options.
    def advice_apart(warnings):
        return [w.split("; answer each with: psimport review ")[0] for w in warnings]
    assert advice_apart(plan.warnings) == advice_apart(cli["warnings"])
    if rules is None:           # (the rules skip the coffees: then no row for review makes up the balance)
        assert any(f"psimport review {statement} --account {EVERYDAY}" in w for w in cli["warnings"])
    summary = plan.summary
    assert summary.total == 103 and summary.create and summary.duplicate and summary.review + summary.skip
    if rules is not None:
        assert summary.skip and any("No Such Category" in w for w in plan.warnings)


def test_preview_online_through_a_sandbox_client_matches_the_export(demo_export, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    offline = importer.preview(SAMPLES / "everyday.ofx", existing=importer.Export.load(demo_export),
                               account=EVERYDAY)
    with importer.Sandbox(demo=True) as sandbox:
        online = importer.preview(SAMPLES / "everyday.ofx", client=sandbox.client(), account=EVERYDAY)
        with pytest.raises(ValueError, match="not both"):
            importer.preview(SAMPLES / "everyday.ofx", client=sandbox.client(), existing=demo_export)
    assert online.summary == offline.summary
    assert [r.duplicate_of for r in online.rows] == [r.duplicate_of for r in offline.rows]


# ─── Sandbox ─────────────────────────────────────────────────────────────────────────────────

@pytest.fixture
def own_tempdir(tmp_path, monkeypatch):
    """tempfile's folder, so a test sees what a sandbox leaves behind."""
    folder = tmp_path / "temp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def test_a_sandbox_lives_in_a_temporary_folder_that_goes_with_it(own_tempdir):
    with importer.Sandbox() as sandbox:
        assert sandbox.path.parent.parent == own_tempdir and sandbox.path.is_file()
        assert sandbox.url.startswith("http://127.0.0.1:") and sandbox.url.endswith("/v2")
        client = sandbox.client()
        assert isinstance(client, importer.PocketSmith)
        accounts = client.transaction_accounts()
        assert EVERYDAY in {a.id for a in accounts}                 # "accounts" seed: accounts, no history
        assert client.transactions(EVERYDAY) == []
    assert list(own_tempdir.iterdir()) == []
    with pytest.raises(RuntimeError, match="closed"):               # the clients it made are closed with it
        client.transaction_accounts()
    assert "closed" in repr(sandbox)
    sandbox.close()                                                 # twice is harmless


def test_a_given_database_is_kept_and_reopened_not_reseeded(tmp_path):
    db = tmp_path / "mine" / "sandbox.sqlite3"
    with importer.Sandbox(db, key="my-key") as sandbox:
        assert sandbox.key == "my-key"
        created = sandbox.client().create_transaction(EVERYDAY, {"payee": "Coffee", "amount": Decimal("-4.50"),
                                                                 "date": date(2024, 3, 14)})
    assert db.is_file()
    with importer.Sandbox(db, seed="empty") as again:
        kept = again.client().transactions(EVERYDAY)
    assert [(t.id, t.amount) for t in kept] == [(created.id, Decimal("-4.50"))]


def test_seeds_and_a_wrong_key():
    with importer.Sandbox(seed="empty") as sandbox:
        assert sandbox.client().transaction_accounts() == []
        with pytest.raises(importer.ApiError) as refused:
            importer.PocketSmith(sandbox.url, "not-the-key", max_tries=1).me()
        assert refused.value.status == 401
    with pytest.raises(ValueError, match="seed"):
        importer.Sandbox(seed="household")
    with pytest.raises(ValueError, match="one or the other"):
        importer.Sandbox(demo=True, seed="empty")


def test_faults_pass_through_while_it_runs():
    with importer.Sandbox(faults=Faults(seed=3)) as sandbox:
        assert sandbox.faults.seed == 3
        client = sandbox.client(max_tries=1)
        sandbox.faults.inject(500, method="GET", path="transaction_accounts")
        with pytest.raises(importer.ApiError) as failed:
            client.transaction_accounts()
        assert failed.value.status == 500
        assert client.transaction_accounts()                    # one-shot: the next request is answered
        sandbox.faults = Faults(rate_500=1.0)
        assert sandbox.server.faults is sandbox.faults
        with pytest.raises(importer.ApiError):
            client.transaction_accounts()


def test_export_is_what_the_api_returns(tmp_path, demo_export):
    exported = importer.Export.load(demo_export)
    with importer.Sandbox(demo=True) as sandbox:
        client = sandbox.client()
        held = {t.id: t for a in client.transaction_accounts() for t in client.transactions(a.id)}
        one = importer.Export.load(sandbox.export(tmp_path / "everyday.json", account_id=EVERYDAY))
    assert {t.id: t for t in exported.all} == held
    assert one.all and {t.transaction_account_id for t in one.all} == {EVERYDAY}
    raw = json.loads(demo_export.read_text())
    assert isinstance(raw, list) and {"id", "date", "amount", "payee", "transaction_account"} <= set(raw[0])


def test_a_port_in_use_is_a_config_error_and_leaves_nothing(own_tempdir):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(importer.ConfigError, match=f"127.0.0.1:{port}"):
            importer.Sandbox(port=port)
    assert list(own_tempdir.iterdir()) == []


def test_a_database_where_none_can_be_is_a_config_error_naming_it(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    with pytest.raises(importer.ConfigError, match="not-a-folder"):
        importer.Sandbox(blocker / "sandbox.sqlite3")
