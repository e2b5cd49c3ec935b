"""`psimport init` and `psimport config show`: typed at in a pseudo-terminal as a person would, and scripted by flags,
against a real sandbox over HTTP; the key kept out of sight and out of psimport.yaml."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

from importer.credentials import find_key, key_file, store_key
from importer.setup import add_to_config

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "sample_statements"

# What was already in the user's psimport.yaml: init must keep all of it, comments too.
EXISTING = """\
# my settings
dedupe:
  window_days: 4     # my bank posts late
accounts:
  # the card, set up by hand
  - {qif_account: "Visa Credit Card", transaction_account_id: 510002}
date_order: dmy
"""


@pytest.fixture
def home(tmp_path):
    """A person's machine: statements in a folder, an empty config dir, no key in the environment."""
    statements = tmp_path / "statements"
    statements.mkdir()
    for name in ("everyday.ofx", "creditcard.qif", "savings.csv"):
        shutil.copy(SAMPLES / name, statements / name)
    env = {key: value for key, value in os.environ.items() if not key.startswith("POCKETSMITH_")}
    env.update(PYTHONPATH=str(REPO), COLUMNS="80", PSIMPORT_STATE_DIR=str(tmp_path / "state"),
               XDG_CONFIG_HOME=os.environ["XDG_CONFIG_HOME"], PSIMPORT_NO_KEYRING="1")
    return tmp_path, env


def _psimport(env, cwd, *args, input=None):
    return subprocess.run([sys.executable, "-m", "importer", *map(str, args)], env=env, cwd=cwd, input=input,
                          capture_output=True, text=True, timeout=60)


def test_init_typed_at_a_terminal(sandbox, home):
    tmp_path, env = home
    config = tmp_path / "psimport.yaml"
    config.write_text(EXISTING)
    child = pexpect.spawn(sys.executable, ["-m", "importer", "init", "--api-url", sandbox.url],
                          env=env, cwd=str(tmp_path), encoding="utf-8", timeout=30, dimensions=(40, 80))
    transcript: list[str] = []
    child.logfile_read = type("Log", (), {"write": lambda self, s: transcript.append(s), "flush": lambda self: 0})()

    child.expect("developer key")
    child.sendline("not-the-key-at-all")
    child.expect("PocketSmith does not accept that key")
    child.expect("developer key")
    child.sendline(sandbox.key)
    child.expect("The key works: signed in to")
    child.expect("Your transaction accounts:")
    child.expect("510003  NetBank Saver")
    child.expect(r"Enter when done\)")
    child.sendline("statements/")
    child.expect(r"Enter when done\)")
    child.sendline("")
    # The card is set up already; the OFX is proposed by its number; the CSV has no number, so it is asked.
    child.expect(r"Account for everyday.ofx \(account 06200012345678\)\s+\[1: Everyday\s+Account, same number\]")
    child.sendline("")
    child.expect("Account for savings.csv")
    child.sendline("7")
    child.expect("is not one of the 3 numbers above nor an account id")
    child.expect("Account for savings.csv")
    child.sendline("510003")
    child.expect(r"Write 2 accounts: entries and the api_url setting to[\s\S]*psimport.yaml\? \[Y/n\]")
    child.sendline("y")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, "".join(transcript)

    seen = "".join(transcript)
    assert sandbox.key not in seen and "not-the-key-at-all" not in seen      # typing is hidden
    assert "creditcard.qif (account Visa Credit Card): already goes to 510002" in seen
    assert "Next, see what an import would do:" in seen
    # What was added, as it sits in the file: entries under accounts:, the setting at the top level.
    assert "\r\n  accounts:\r\n" in seen and f'\r\n  api_url: "{sandbox.url}"\r\n' in seen
    too_wide = [line for line in seen.replace("\r", "").split("\n") if len(line) > 80]
    assert not too_wide, too_wide

    written = config.read_text()
    assert written.startswith(EXISTING.split("date_order")[0])              # every old line, in place
    assert "window_days: 4     # my bank posts late" in written and "date_order: dmy" in written
    assert '{ofx_account: "06200012345678", transaction_account_id: 510001}' in written
    assert '{mapping: "cba", transaction_account_id: 510003}' in written     # the only CommBank CSV: its layout
    assert seen.count("For each statement, type") == 1
    assert written.index("510003") < written.index("date_order")           # inside the accounts: list
    assert f'api_url: "{sandbox.url}"' in written
    assert sandbox.key not in written

    kept = key_file()
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert find_key(sandbox.url).key == sandbox.key

    # From now on a plain command finds the key, the API URL and the accounts on its own.
    preview = _psimport(env, tmp_path, "preview", "statements/", "--format", "json")
    assert preview.returncode == 0, preview.stderr
    summary = json.loads(preview.stdout)["summary"]
    assert summary["create"] == summary["total"] == 155
    shown = _psimport(env, tmp_path, "config", "show", "--format", "json")
    settings = {s["name"]: s for s in json.loads(shown.stdout)["settings"]}
    assert settings["key"]["source"] == f"key file {kept}"
    assert sandbox.key not in shown.stdout and settings["key"]["value"].startswith(f"…{sandbox.key[-2:]}")
    line = written.splitlines().index(f'api_url: "{sandbox.url}"') + 1
    assert settings["api_url"] == {"name": "api_url", "value": sandbox.url, "source": f"psimport.yaml, line {line}"}
    assert settings["config"]["value"] == "psimport.yaml"


def test_init_scripted_with_flags_and_no_terminal(sandbox, home):
    tmp_path, env = home
    config = tmp_path / "cfg" / "psimport.yaml"
    ran = _psimport(env, tmp_path, "init", "statements", "--key-stdin", "--map", "savings.csv=510003", "--yes",
                    "--api-url", sandbox.url, "--config", config, input=sandbox.key + "\n")
    assert ran.returncode == 0, ran.stderr
    # Not the user config dir's: said to be found from its folder only, and how cron finds it.
    assert f"is found from its folder only; elsewhere (cron) give --config {config}" in " ".join(ran.stderr.split())
    assert sandbox.key not in ran.stdout + ran.stderr
    text = config.read_text()
    assert text.count("transaction_account_id") == 3 and "# savings.csv: NetBank Saver" in text
    # Run again: everything is routed already, nothing is added twice.
    again = _psimport(env, tmp_path, "init", "statements", "--key-stdin", "--yes", "--api-url", sandbox.url,
                      "--config", config, input=sandbox.key + "\n")
    assert again.returncode == 0, again.stderr
    assert config.read_text().count("transaction_account_id") == 3


def test_init_routes_a_csv_so_next_months_download_goes_there_too(sandbox, home):
    """CommBank's download is CSVData.csv, or CSVData (1).csv the next month: routed by its layout, not its name."""
    tmp_path, env = home
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    shutil.copy(SAMPLES / "savings.csv", downloads / "CSVData.csv")
    config = Path(os.environ["XDG_CONFIG_HOME"]) / "psimport" / "psimport.yaml"
    ran = _psimport(env, tmp_path, "init", "downloads/CSVData.csv", "--key-stdin", "--map", "CSVData.csv=510003",
                    "--yes", "--api-url", sandbox.url, input=sandbox.key + "\n")
    assert ran.returncode == 0, ran.stderr
    said = " ".join(ran.stderr.split())
    assert "CSVData.csv -> 510003 NetBank Saver, --map; routes any CSV in the cba layout, whatever its name" in said
    assert "For each statement, type" not in said                           # nothing was asked
    assert '{mapping: "cba", transaction_account_id: 510003}' in config.read_text()
    (downloads / "CSVData.csv").rename(downloads / "CSVData (1).csv")      # next month's
    preview = _psimport(env, tmp_path, "preview", "downloads/", "--format", "json")
    assert preview.returncode == 0, preview.stderr
    assert {row["transaction_account_id"] for row in json.loads(preview.stdout)["transactions"]} == {510003}


@pytest.mark.parametrize("name, pattern", [
    ("savings.csv", "savings*.csv"), ("CSVData (1).csv", "CSVData*.csv"),
    ("Statement_2026-11-30.csv", "Statement_*.csv"), ("export-20261130-1234.csv", "export-*.csv")])
def test_a_file_name_becomes_a_pattern_next_months_name_matches(name, pattern):
    from importer.accounts import file_pattern
    assert file_pattern(name) == pattern


def test_two_statements_in_one_layout_are_told_apart_by_name():
    from importer.record import Account, Statement
    from importer.setup import account_entry
    statement = Statement(file="downloads/Saver_2026-11.csv", format="csv:cba", account=Account(id=None),
                          transactions=[])
    assert account_entry(statement, layout_shared=True) == (
        {"glob": "Saver_*.csv", "mapping": "cba"}, "files named Saver_*.csv in the cba layout")
    inferred = Statement(file="x.csv", format="csv:inferred", account=Account(id=None), transactions=[])
    assert account_entry(inferred, layout_shared=False)[0] == {"glob": "x*.csv", "mapping": "inferred"}


def test_init_without_a_terminal_names_the_flag_for_each_missing_answer(sandbox, home):
    tmp_path, env = home
    no_key = _psimport(env, tmp_path, "init", "--api-url", sandbox.url, input="")
    assert no_key.returncode == 3 and "--key-stdin" in no_key.stderr
    no_account = _psimport(env, tmp_path, "init", "statements/savings.csv", "--key-stdin", "--yes",
                           "--api-url", sandbox.url, input=sandbox.key + "\n")
    assert no_account.returncode == 3
    assert "savings.csv: no transaction account plainly fits; say which with --map savings.csv=ID" in no_account.stderr
    wrong = _psimport(env, tmp_path, "init", "--key-stdin", "--api-url", sandbox.url, input="sk-wrong-key\n")
    assert wrong.returncode == 4 and "sk-wrong-key" not in wrong.stderr


def test_key_lookup_order_environment_then_stored(sandbox, monkeypatch):
    store_key(sandbox.url, "sk-stored-1234567")
    assert find_key(sandbox.url).source.startswith("key file")
    assert find_key("http://127.0.0.1:1/v2") is None            # kept per API: never sent to another
    monkeypatch.setenv("POCKETSMITH_DEVELOPER_KEY", "sk-from-env-12345")
    assert find_key(sandbox.url).key == "sk-from-env-12345"
    key_file().chmod(0o644)
    monkeypatch.delenv("POCKETSMITH_DEVELOPER_KEY")
    with pytest.raises(Exception, match="chmod 600"):
        find_key(sandbox.url)


def test_adding_accounts_keeps_the_file_and_refuses_what_it_cannot_merge(tmp_path):
    config = tmp_path / "psimport.yaml"
    config.write_text("rules: my-rules.yaml\n")
    add_to_config(config, [({"ofx_account": "123", "transaction_account_id": 5}, "a.ofx: Main")])
    assert config.read_text() == ('rules: my-rules.yaml\naccounts:\n'
                                  '  - {ofx_account: "123", transaction_account_id: 5}   # a.ofx: Main\n')
    flow = tmp_path / "flow.yaml"
    flow.write_text("accounts: [{ofx_account: '1', transaction_account_id: 2}]\n")
    with pytest.raises(Exception, match="add these by hand"):
        add_to_config(flow, [({"ofx_account": "9", "transaction_account_id": 5}, "b")])
    assert flow.read_text() == "accounts: [{ofx_account: '1', transaction_account_id: 2}]\n"


def test_init_with_an_inbox_then_the_monthly_import_needs_no_options(sandbox, home):
    tmp_path, env = home
    shutil.move(tmp_path / "statements", tmp_path / "inbox")
    set_up = _psimport(env, tmp_path, "init", "--inbox", "inbox", "--key-stdin", "--map", "savings.csv=510003",
                       "--yes", "--api-url", sandbox.url, input=sandbox.key + "\n")
    assert set_up.returncode == 0, set_up.stderr
    config = Path(os.environ["XDG_CONFIG_HOME"]) / "psimport" / "psimport.yaml"     # none here: the user's own
    assert f'inbox: "{tmp_path / "inbox"}"' in config.read_text()
    assert "is found from its folder only" not in set_up.stderr
    # As cron runs it: another folder, an environment with little more than HOME (and XDG_* where set).
    cron = {name: env[name] for name in ("PATH", "PYTHONPATH", "PSIMPORT_NO_KEYRING", "COLUMNS")}
    cron.update(HOME=str(tmp_path / "home"), XDG_CONFIG_HOME=os.environ["XDG_CONFIG_HOME"],
                XDG_DATA_HOME=str(tmp_path / "data"))
    (tmp_path / "home").mkdir()
    monthly = _psimport(cron, tmp_path / "home", "import")      # from anywhere: key, URL, accounts and inbox kept
    assert monthly.returncode == 0, monthly.stdout + monthly.stderr
    assert monthly.stdout.startswith(f"Inbox {tmp_path / 'inbox'}: 155 created, 0 duplicates; 3 files moved to ")
    assert len(sandbox.transactions()) == 155


@pytest.fixture
def memory_keyring(monkeypatch):
    """A system keyring as the `keyring` library sees one, kept in memory (the machine's own is never touched)."""
    keyring = pytest.importorskip("keyring", reason="the optional keyring package is not installed")
    from keyring.backend import KeyringBackend

    class MemoryKeyring(KeyringBackend):
        priority = 1
        stored: dict = {}

        def get_password(self, service, username):
            return self.stored.get((service, username))

        def set_password(self, service, username, password):
            self.stored[(service, username)] = password

        def delete_password(self, service, username):
            self.stored.pop((service, username), None)

    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    monkeypatch.delenv("PSIMPORT_NO_KEYRING")
    yield backend
    keyring.set_keyring(previous)


def test_the_key_goes_to_the_system_keyring_where_there_is_one(memory_keyring, monkeypatch):
    url = "https://api.pocketsmith.com/v2"
    store_key(url, "sk-old-in-the-file", use_keyring=False)
    assert store_key(url, "sk-in-the-keyring-123") == "the system keyring"
    assert memory_keyring.stored == {("psimport", url): "sk-in-the-keyring-123"}
    assert not key_file().exists()              # the old copy in the file is gone, not left behind
    assert find_key(url).source == "system keyring" and find_key(url).key == "sk-in-the-keyring-123"
    monkeypatch.setenv("PSIMPORT_NO_KEYRING", "1")
    assert find_key(url) is None                 # told to keep out of the keyring: not even read
    assert store_key(url, "sk-file-instead-456").startswith(str(key_file()))


def test_a_keyring_that_refuses_every_call_is_no_keyring(monkeypatch):
    keyring = pytest.importorskip("keyring", reason="the optional keyring package is not installed")
    from keyring.backends import fail
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    monkeypatch.delenv("PSIMPORT_NO_KEYRING")
    try:
        assert store_key("https://api.pocketsmith.com/v2", "sk-headless-server-1").startswith(str(key_file()))
    finally:
        keyring.set_keyring(previous)


def test_a_kept_key_can_be_replaced_by_typing_a_new_one(sandbox, home):
    tmp_path, env = home
    store_key(sandbox.url, "sk-revoked-long-ago")
    child = pexpect.spawn(sys.executable, ["-m", "importer", "init", "--api-url", sandbox.url], env=env,
                          cwd=str(tmp_path), encoding="utf-8", timeout=30, dimensions=(40, 80))
    child.expect(r"Use the key from the key file\s+.*\? \[Y/n\]")
    child.sendline("n")
    child.expect("developer key")
    child.sendline(sandbox.key)
    child.expect("Kept the key in")
    child.expect(r"Enter when done\)")
    child.sendline("")
    child.expect(r"Write the api_url setting to[\s\S]*\? \[Y/n\]")
    child.sendline("n")
    child.expect("psimport.yaml was left as it was.")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert find_key(sandbox.url).key == sandbox.key and "sk-revoked" not in key_file().read_text()


def test_a_wrong_api_url_with_a_kept_key_says_the_url_not_a_missing_key(sandbox, home):
    """Keys are kept per API URL: a URL without /v2, or on the wrong port, finds none, and says so."""
    tmp_path, env = home
    store_key(sandbox.url, sandbox.key, use_keyring=False)
    for wrong in (sandbox.url.removesuffix("/v2"), "http://127.0.0.1:9/v2"):
        ran = _psimport(env, tmp_path, "accounts", "--api-url", wrong)
        said = " ".join(ran.stderr.split())
        assert ran.returncode == 3, said
        assert f"no PocketSmith key kept for {wrong}; keys are kept for: {sandbox.url}." in said
        assert "Is --api-url right (it ends in /v2)?" in said and sandbox.key not in said


def test_nothing_answering_at_the_url_says_what_to_check():
    from importer.errors import ApiError
    from importer.pocketsmith.client import PocketSmith
    with pytest.raises(ApiError) as raised:
        PocketSmith("http://127.0.0.1:9/v2", "sk-some-key-123", max_tries=1).me()
    message = str(raised.value)
    assert "cannot reach PocketSmith at http://127.0.0.1:9/v2 " in message      # /v2 kept: the URL as given
    assert "is the sandbox server running (psimport sandbox), and is --api-url the URL it printed" in message
    with pytest.raises(ApiError) as raised:
        PocketSmith("https://api.pocketsmith.invalid/v2", "sk-some-key-123", max_tries=1).me()
    assert "check the network, and --api-url (PocketSmith's is https://api.pocketsmith.com/v2)" in str(raised.value)
