"""The same behaviour everywhere: Ctrl-C and SIGTERM, exit codes, a running batch, follow-up commands keeping their options."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import pexpect
import pytest
from click.testing import CliRunner

from importer.cli import cli
from importer.sandbox.server import Faults
from importer.write.journal import Journal, NewRow, import_lock

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "sample_statements"


def _spawn(sandbox, tmp_path, *args):
    env = {key: value for key, value in os.environ.items() if not key.startswith("POCKETSMITH_")}
    env.update(PYTHONPATH=str(REPO), POCKETSMITH_DEVELOPER_KEY=sandbox.key, COLUMNS="80")
    return pexpect.spawn(sys.executable, ["-m", "importer", *map(str, args), "--api-url", sandbox.url,
                                          "--state-dir", str(tmp_path / "state")],
                         env=env, cwd=str(tmp_path), encoding="utf-8", timeout=30)


def _wait_for_a_request(sandbox):
    """Planning is under way once the sandbox has seen a request (and, slowed down, is still answering it)."""
    for _ in range(3000):
        if sandbox.requests:
            return
        time.sleep(0.01)
    raise AssertionError("psimport never asked the sandbox anything")


@pytest.mark.parametrize("stop", ["ctrl-c", "sigterm"])
def test_stopped_while_planning_exits_130_with_one_line(make_sandbox, tmp_path, stop):
    sandbox = make_sandbox(seed="demo", faults=Faults(latency=3))
    child = _spawn(sandbox, tmp_path, "preview", SAMPLES, "--config", SAMPLES / "psimport.yaml")
    _wait_for_a_request(sandbox)
    if stop == "ctrl-c":
        child.sendintr()
    else:
        child.kill(signal.SIGTERM)
    child.expect(pexpect.EOF)
    child.close()
    said = [line for line in child.before.replace("^C", "").splitlines() if line.strip()]
    assert child.exitstatus == 130, child.before
    assert said == ["Interrupted; nothing was changed by this step. Run the same command again to carry on."]


def test_ctrl_c_at_the_question_exits_130_not_aborted(demo_sandbox, tmp_path):
    child = _spawn(demo_sandbox, tmp_path, "import", SAMPLES, "--config", SAMPLES / "psimport.yaml")
    child.expect(r"Create 25 transactions in PocketSmith .*\[y/N\]")
    child.sendintr()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130 and "Aborted" not in child.before and "Interrupted;" in child.before
    assert not [r for r in demo_sandbox.requests if r.method == "POST"]       # nothing was created


def test_out_into_a_missing_folder_is_a_usage_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["preview", str(SAMPLES / "everyday.ofx"), "--account", "1", "--existing",
                                      str(_export(tmp_path)), "--out", "no/such/folder/plan.csv", "--format", "csv"])
    assert result.exit_code == 2
    assert result.output.startswith("Error: no/such/folder/plan.csv: cannot write the preview there")


def _export(tmp_path: Path) -> Path:
    path = tmp_path / "export.json"
    path.write_text("[]")
    return path


def test_batches_shows_the_running_import_as_running_and_its_rows_in_flight(tmp_path):
    state = tmp_path / "state"
    with Journal.in_state_dir(state) as journal:
        rows = [NewRow(row_index=i, account_id=1, external_id=f"x{i}", fingerprint=f"f{i}", action="create", send=True,
                       body={"payee": "P", "amount": "-1.00", "date": "2026-01-0" + str(i + 1)}) for i in range(3)]
        batch = journal.create_batch(key="k", files=[{"path": "a.ofx", "sha256": "0"}], accounts=[1], plan={},
                                     rows=rows, target="sandbox")
        journal.mark_sending_many(batch, [0, 1])
        journal.flush()

    def listed():
        result = CliRunner().invoke(cli, ["batches", "--state-dir", str(state), "--format", "json"])
        return json.loads(result.output)["batches"][0]

    def table():
        return CliRunner(env={"COLUMNS": "80"}).invoke(cli, ["batches", "--state-dir", str(state)]).output

    with import_lock(state):     # as an import in another process holds it while it sends
        assert listed()["status"] == "running" and listed()["running"] is True
        assert "2 in flight" in table() and "failed" not in table()
    assert listed()["status"] == "unfinished" and listed()["running"] is False
    assert "2 unanswered" in table() and "failed" not in table()


def _invoke(sandbox, monkeypatch, *args):
    monkeypatch.setenv("POCKETSMITH_DEVELOPER_KEY", sandbox.key)
    monkeypatch.setenv("COLUMNS", "200")
    return CliRunner().invoke(cli, [*map(str, args), "--api-url", sandbox.url], catch_exceptions=False)


def test_rules_pull_out_merges_and_never_writes_a_file_rules_test_refuses(sandbox, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    mine = tmp_path / "rules.yaml"
    mine.write_text("# my rules\nrules:\n- name: daily-grind\n  if: {payee: {contains: Grind}}\n"
                    "  then: {category: Coffee}\n")
    first = _invoke(sandbox, monkeypatch, "rules", "pull", "--out", mine)
    assert first.exit_code == 0, first.output
    pulled = int(first.output.split()[1])
    assert pulled >= 2 and mine.read_text().startswith("# my rules\nrules:\n- name: daily-grind\n")
    assert "name: daily-grind-2" in mine.read_text()       # the pulled rule of the same name, renamed
    again = _invoke(sandbox, monkeypatch, "rules", "pull", "--out", mine)
    assert again.output == f"Added 0 rules from PocketSmith to {mine}; {pulled} were there already.\n"
    tested = _invoke(sandbox, monkeypatch, "rules", "test", "--rules", mine, "--format", "json")
    assert tested.exit_code == 0, tested.output

    broken = tmp_path / "broken.yaml"
    broken.write_text("rules:\n  - name: x\n    iff: {}\n")
    refused = _invoke(sandbox, monkeypatch, "rules", "pull", "--out", broken)
    assert refused.exit_code == 3 and broken.read_text() == "rules:\n  - name: x\n    iff: {}\n"


def test_an_unknown_category_says_did_you_mean_and_where_the_names_are(sandbox, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - name: fuel\n    if: {payee: {contains: BP}}\n    then: {category: Groceris}\n")
    result = _invoke(sandbox, monkeypatch, "preview", SAMPLES, "--config", SAMPLES / "psimport.yaml", "--rules",
                     rules, "--state-dir", tmp_path / "state")
    assert result.exit_code == 3
    assert ("category 'Groceris' does not exist in PocketSmith (did you mean 'Groceries'?); "
            f"`psimport categories --api-url {sandbox.url}") in result.output    # the PocketSmith this run used


def test_hints_in_errors_keep_sandbox(tmp_path, monkeypatch):
    """The library words its hints bare (`psimport batches`); said to a --sandbox run, they carry --sandbox."""
    monkeypatch.chdir(tmp_path)
    state = tmp_path / "state"
    typo = tmp_path / "typo.yaml"
    typo.write_text("rules:\n  - name: x\n    if: {payee: {contains: COLES}}\n    then: {category: Grocerys}\n")
    result = CliRunner().invoke(cli, ["preview", str(SAMPLES), "--sandbox", "--rules", str(typo),
                                      "--state-dir", str(state)], env={"COLUMNS": "200"})
    assert result.exit_code == 3 and f"`psimport categories --state-dir {state} --sandbox` lists yours" in result.output
    imported = CliRunner().invoke(cli, ["import", str(SAMPLES), "--sandbox", "--yes", "--state-dir", str(state)])
    assert imported.exit_code == 0, imported.output
    unknown = CliRunner().invoke(cli, ["undo", "nope", "--sandbox", "--state-dir", str(state)])
    assert f"`psimport batches --state-dir {state} --sandbox` lists them" in unknown.output


def test_follow_up_commands_keep_sandbox_and_rules(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")
    state = tmp_path / "state"
    result = CliRunner().invoke(cli, ["import", str(SAMPLES), "--sandbox", "--yes", "--rules", str(REPO / "rules.yaml"),
                                      "--state-dir", str(state)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    undo = next(line for line in result.output.splitlines() if line.startswith("Undo with: "))
    assert undo.endswith(f"--state-dir {state} --sandbox") and "--rules" not in undo     # undo takes no --rules
    listed = CliRunner().invoke(cli, ["batches", "--sandbox", "--state-dir", str(state), "--format", "json"])
    assert len(json.loads(listed.output)["batches"]) == 1


def test_the_demo_keeps_its_journal_apart_from_the_users(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PSIMPORT_STATE_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    result = CliRunner().invoke(cli, ["import", str(SAMPLES), "--sandbox", "--yes"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "data" / "psimport" / "demo" / "journal.sqlite3").is_file()
    assert not (tmp_path / "data" / "psimport" / "journal.sqlite3").exists()
    mine = CliRunner().invoke(cli, ["batches"])
    assert mine.output.startswith("No batches yet")
    demo = CliRunner().invoke(cli, ["batches", "--sandbox", "--format", "json"])
    assert len(json.loads(demo.output)["batches"]) == 1


@pytest.mark.parametrize("given", ["--state-dir", "PSIMPORT_STATE_DIR"])
def test_sandbox_keeps_the_demo_in_the_demo_folder_of_any_state_dir(tmp_path, monkeypatch, given):
    """--state-dir DIR or PSIMPORT_STATE_DIR=DIR: --sandbox uses DIR/demo/, never DIR's own (real) journal."""
    monkeypatch.chdir(tmp_path)
    state = tmp_path / "state"
    monkeypatch.delenv("PSIMPORT_STATE_DIR", raising=False)
    where = ["--state-dir", str(state)] if given == "--state-dir" else []
    if given == "PSIMPORT_STATE_DIR":
        monkeypatch.setenv("PSIMPORT_STATE_DIR", str(state))
    result = CliRunner().invoke(cli, ["import", str(SAMPLES), "--sandbox", "--yes", *where], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert (state / "demo" / "journal.sqlite3").is_file() and (state / "demo" / "sandbox" / "sandbox.sqlite3").is_file()
    assert not (state / "journal.sqlite3").exists() and not (state / "sandbox").exists()
    assert CliRunner().invoke(cli, ["batches", *where]).output.startswith("No batches yet")
    demo = CliRunner().invoke(cli, ["batches", "--sandbox", *where, "--format", "json"])
    assert len(json.loads(demo.output)["batches"]) == 1


def test_imports_through_the_demo_server_share_the_demo_journal_with_sandbox(tmp_path, monkeypatch):
    """`psimport sandbox --demo` serves --sandbox's data, over real HTTP; what is imported through it is in the
    demo's journal, so `preview --sandbox` and `batches --sandbox` agree with it, and undo works either way."""
    import re
    import subprocess
    state = tmp_path / "state"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("POCKETSMITH_", "PSIMPORT_"))}
    env.update(PYTHONPATH=str(REPO), COLUMNS="80")
    server = subprocess.Popen([sys.executable, "-m", "importer", "sandbox", "--demo", "--port", "0",
                               "--state-dir", str(state)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True, env=env, cwd=str(tmp_path))
    try:
        said = server.stdout.readline() + server.stdout.readline() + server.stdout.readline()
        url = re.search(r"(http://127\.0\.0\.1:\d+/v2)", said).group(1)
        key = re.search(r"POCKETSMITH_DEVELOPER_KEY=(\S+)", said).group(1)
        monkeypatch.chdir(tmp_path)
        monkeypatch.delenv("PSIMPORT_STATE_DIR", raising=False)
        monkeypatch.setenv("POCKETSMITH_DEVELOPER_KEY", key)
        through_server = ["--api-url", url, "--state-dir", str(state)]
        config = ["--config", str(SAMPLES / "psimport.yaml")]
        imported = CliRunner().invoke(cli, ["import", str(SAMPLES), *config, "--yes", *through_server])
        assert imported.exit_code == 0, imported.output
        assert (state / "demo" / "journal.sqlite3").is_file() and not (state / "journal.sqlite3").exists()
        listed = CliRunner().invoke(cli, ["batches", "--sandbox", "--state-dir", str(state), "--format", "json"])
        [batch] = json.loads(listed.stdout)["batches"]
        again = CliRunner().invoke(cli, ["preview", str(SAMPLES), "--sandbox", "--state-dir", str(state),
                                         "--format", "json"])
        assert json.loads(again.stdout)["summary"]["create"] == 0, again.stderr     # the same data, and the journal says why
        wrong_way = CliRunner().invoke(cli, ["undo", batch["id"], "--sandbox", "--yes", "--state-dir", str(state)])
        assert wrong_way.output.endswith(f"run: psimport undo {batch['id']} --api-url {url} --state-dir {state}\n")
        undone = CliRunner().invoke(cli, ["undo", batch["id"], "--yes", *through_server])
        assert undone.exit_code == 0, undone.output
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert not (state / "demo" / "sandbox" / "serving").exists()      # stopped: the URL is no longer the demo's
