"""`psimport import --inbox`: the monthly routine as cron runs it (a real process, no terminal) against a real sandbox."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from importer.inbox import inbox_lock

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "sample_statements"
MONTH = date.today().strftime("%Y-%m")


@pytest.fixture
def routine(tmp_path, demo_sandbox):
    """An inbox holding the month's downloads, a config that routes them (and names the inbox), and a way to run
    psimport as cron would: stdin, stdout and stderr not terminals, the key and URL in the environment."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name in ("everyday.ofx", "creditcard.qif", "savings.csv"):
        shutil.copy(SAMPLES / name, inbox / name)
    config = tmp_path / "psimport.yaml"
    config.write_text(SAMPLES.joinpath("psimport.yaml").read_text() + "inbox: inbox\n")
    env = {key: value for key, value in os.environ.items() if not key.startswith("POCKETSMITH_")}
    env.update(PYTHONPATH=str(REPO), POCKETSMITH_DEVELOPER_KEY=demo_sandbox.key,
               POCKETSMITH_API_URL=demo_sandbox.url, PSIMPORT_STATE_DIR=str(tmp_path / "state"), COLUMNS="80")

    def run(*args):
        return subprocess.run([sys.executable, "-m", "importer", "import", *map(str, args), "--config", str(config)],
                              env=env, cwd=tmp_path, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=120, check=False)
    return inbox, run


def routine_config(inbox: Path) -> Path:
    return inbox.parent / "psimport.yaml"


def _stored(sandbox):
    return Counter((t["transaction_account_id"], t["date"], t["amount"], t["payee"]) for t in sandbox.transactions())


def test_a_month_of_statements_through_the_inbox(routine, demo_sandbox):
    inbox, run = routine
    (inbox / "broken.ofx").write_text("OFXHEADER:100\n<OFX><BANKTRANLIST><STMTTRN><TRNAMT>1.00\n")
    (inbox / "unknown.qif").write_text("!Type:Bank\nD15/02/2026\nT-5.00\nPCoffee\n^\n")
    before = sum(_stored(demo_sandbox).values())

    first = run()      # no FILES and no --inbox: the config's inbox:
    assert first.returncode == 6, first.stderr
    summary, *lines = first.stdout.splitlines()
    assert summary == f"Inbox {inbox}: 25 created, 127 duplicates; 2 files moved to imported/{MONTH}/; 3 left for you."
    # Fitted (a path longer than the screen is never broken); the summary stays one line for the log.
    # A command too long for a line is broken between its arguments with a shell continuation (" \\").
    assert all(len(line) <= 80 or " " not in line.strip().removesuffix(" \\") for line in lines), lines
    lines = [line.removesuffix(" \\") for line in lines]
    why = " ".join(line.strip() if line.startswith("    ") else "\n" + line.strip() for line in lines).split("\n")[1:]
    why = [" ".join(line.split()) for line in why]
    config = routine_config(inbox)
    assert why[0].startswith("broken.ofx: line ")
    # The commands to run next carry the run's own options (here --config), and the file's path.
    assert why[1] == (f"everyday.ofx: 3 rows for review, possibly in PocketSmith already; decide each with: "
                      f"psimport review {inbox / 'everyday.ofx'} --config {config}")
    assert why[2] == (f"unknown.qif: no account for it in {config}; `psimport init {inbox / 'unknown.qif'} "
                      f"--config {config}` sets one up")
    assert len(why) == 3 and first.stderr == ""
    assert sorted(p.name for p in (inbox / "imported" / MONTH).iterdir()) == ["creditcard.qif", "savings.csv"]
    assert sum(_stored(demo_sandbox).values()) == before + 25     # everyday's 20 new rows were created too

    # The person looks, accepts the review rows, removes the files that are not theirs to import.
    (inbox / "broken.ofx").unlink()
    (inbox / "unknown.qif").unlink()
    second = run("--inbox", inbox, "--accept-review")
    assert second.returncode == 0, second.stdout + second.stderr
    assert second.stdout == f"Inbox {inbox}: 3 created, 100 duplicates; 1 file moved to imported/{MONTH}/.\n"
    stored = _stored(demo_sandbox)
    assert sum(stored.values()) == before + 28 and max(stored.values()) <= 2   # nothing created twice

    # Next month's download of the same account, overlapping this one: only the new rows, and a second file of
    # the same name lands beside the first.
    shutil.copy(SAMPLES / "savings.csv", inbox / "savings.csv")
    third = run()
    assert third.returncode == 0, third.stdout
    assert third.stdout == f"Inbox {inbox}: 0 created, 15 duplicates; 1 file moved to imported/{MONTH}/.\n"
    assert (inbox / "imported" / MONTH / "savings-2.csv").is_file()
    assert run().stdout == f"Inbox {inbox}: no statements waiting.\n"


def test_two_runs_never_overlap(routine, demo_sandbox):
    inbox, run = routine
    before = _stored(demo_sandbox)
    with inbox_lock(inbox):
        busy = run("--inbox", inbox)
    assert busy.returncode == 75
    assert busy.stderr.startswith(f"Error: {inbox}: another psimport run is importing this inbox (pid {os.getpid()})")
    assert _stored(demo_sandbox) == before and not (inbox / "imported").exists()


def test_inbox_and_files_together_is_a_usage_error(routine):
    inbox, run = routine
    both = run("--inbox", inbox, inbox / "savings.csv")
    assert both.returncode == 2 and "give statement FILES or --inbox DIR, not both" in both.stderr
    missing = run("--inbox", inbox / "nope")
    assert missing.returncode == 3 and "the inbox folder does not exist" in missing.stderr


def test_bare_import_and_preview_read_the_inbox_or_say_which_config_has_none(tmp_path, monkeypatch):
    from click.testing import CliRunner
    from importer.cli import cli
    from importer.config import user_config_dir
    monkeypatch.chdir(tmp_path)
    for verb in ("import", "preview"):
        said = CliRunner().invoke(cli, [verb, "--state-dir", str(tmp_path / "state")])
        assert said.exit_code == 2
        assert f"no config was found to read an inbox: from (looked for ./psimport.yaml and " \
               f"{user_config_dir() / 'psimport.yaml'}; `psimport init --inbox DIR` writes one)" in said.output
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (tmp_path / "psimport.yaml").write_text("inbox: inbox\n")
    said = CliRunner().invoke(cli, ["preview", "--sandbox", "--state-dir", str(tmp_path / "state")])
    assert said.exit_code == 2 and "no statements to preview: the inbox inbox has none waiting" in said.output
    shutil.copy(SAMPLES / "creditcard.qif", inbox)
    demo = ["--config", str(SAMPLES / "psimport.yaml")]
    shown = CliRunner().invoke(cli, ["preview", "--sandbox", *demo, "--format", "json", "--state-dir", str(tmp_path)])
    assert shown.exit_code == 2 and "set inbox: in" in shown.output      # the demo's config has no inbox:
    (tmp_path / "psimport.yaml").write_text(f"inbox: inbox\n{(SAMPLES / 'psimport.yaml').read_text()}")
    shown = CliRunner().invoke(cli, ["preview", "--sandbox", "--format", "json", "--state-dir", str(tmp_path)])
    assert shown.exit_code == 0, shown.output
    assert {row["file"] for row in json.loads(shown.output)["transactions"]} == {str(Path("inbox") / "creditcard.qif")}
