"""The CLI as a whole: help for every command, global options anywhere, a light start-up."""

import os
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from importer.cli import cli


def _all_commands(group: click.Group, prefix=()):
    for name, command in group.commands.items():
        yield prefix + (name,), command
        if isinstance(command, click.Group):
            yield from _all_commands(command, prefix + (name,))


COMMANDS = list(_all_commands(cli))


@pytest.mark.parametrize("path,command", COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_command_has_help_with_an_example(path, command):
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert command.help and command.help.strip(), f"{' '.join(path)} has no help text"
    if not isinstance(command, click.Group):
        assert "Example" in result.output, f"psimport {' '.join(path)} --help shows no example"


def test_global_options_work_before_and_after_the_subcommand(tmp_path):
    statement = tmp_path / "s.qif"
    statement.write_text("!Type:Bank\nD01/31/2024\nT-4.50\nPCoffee\n^\n")
    runner = CliRunner()
    before = runner.invoke(cli, ["--state-dir", str(tmp_path), "-v", "parse", str(statement), "--format", "json"])
    after = runner.invoke(cli, ["parse", str(statement), "--format", "json", "--state-dir", str(tmp_path), "-v"])
    assert before.exit_code == 0, before.output
    assert after.exit_code == 0, after.output
    assert before.output == after.output


def test_user_errors_are_one_line_without_traceback(tmp_path):
    missing = tmp_path / "nope.ofx"
    result = CliRunner().invoke(cli, ["parse", str(missing)])
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert "nope.ofx" in result.output


@pytest.mark.parametrize("setting,says", [
    ("date_order: xyz", "line 1: 'date_order' must be dmy, mdy or ymd, not 'xyz'"),
    ("mappings_dir: 5", "line 1: 'mappings_dir' must be a folder's path, not 5")])
def test_a_bad_config_setting_is_one_error_line(tmp_path, setting, says):
    config = tmp_path / "psimport.yaml"
    config.write_text(setting + "\n")
    statement = tmp_path / "s.qif"
    statement.write_text("!Type:Bank\nD01/31/2024\nT-4.50\nPCoffee\n^\n")
    result = CliRunner().invoke(cli, ["parse", str(statement), "--config", str(config)])
    assert result.exit_code != 0 and isinstance(result.exception, SystemExit)   # not a traceback
    assert result.output == f"Error: {config}, {says}\n"


def test_a_config_that_is_not_utf8_is_one_error_line(tmp_path):
    config = tmp_path / "psimport.yaml"
    config.write_bytes(b"\xff\xfedate_order: dmy\n")
    statement = tmp_path / "s.qif"
    statement.write_text("!Type:Bank\nD01/31/2024\nT-4.50\nPCoffee\n^\n")
    result = CliRunner().invoke(cli, ["parse", str(statement), "--config", str(config)])
    assert result.output == f"Error: {config}: the config file is not UTF-8 text (invalid start byte)\n"


def test_a_damaged_journal_is_one_error_line(tmp_path):
    (tmp_path / "journal.sqlite3").write_bytes(b"not a database " * 100)
    result = CliRunner().invoke(cli, ["batches", "--state-dir", str(tmp_path)])
    assert result.exit_code != 0 and isinstance(result.exception, SystemExit)   # not a traceback
    assert result.output.startswith(f"Error: {tmp_path / 'journal.sqlite3'}: the import journal is damaged")
    assert "move it aside" in result.output and "run the same command again" in result.output


def test_a_state_dir_that_cannot_be_made_is_one_error_line(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    statement = tmp_path / "s.qif"
    statement.write_text("!Type:Bank\nD01/31/2024\nT-4.50\nPCoffee\n^\n")
    result = CliRunner().invoke(cli, ["preview", str(statement), "--sandbox", "--state-dir", str(blocker / "state")])
    assert result.exit_code != 0 and isinstance(result.exception, SystemExit)   # not a traceback
    assert result.output.startswith(f"Error: {blocker / 'state' / 'demo' / 'sandbox'}: cannot create the sandbox's folder")


def test_help_does_not_import_heavy_libraries():
    # A deterministic stand-in for "psimport --help is fast": no wall clock, just what got imported.
    code = ("import sys\nfrom importer.cli import cli\n"
            "try:\n    cli(['--help'], standalone_mode=False)\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('pandas', 'numpy', 'httpx', 'rapidfuzz', 'scipy', 'yaml', 'rich', 'ofxparse')"
            " if m in sys.modules]\nprint('HEAVY:' + ','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    heavy = out.stdout.strip().splitlines()[-1]
    assert heavy == "HEAVY:", f"--help imported {heavy}"


@pytest.mark.parametrize("preset, expected", [(None, "1"), ("4", "4")])
def test_psimport_asks_numpy_for_one_blas_thread_unless_told_otherwise(preset, expected):
    # OpenBLAS's threads spin as numpy loads; psimport does no linear algebra. A value the user set stays.
    code = ("import os, sys\nfrom importer.cli import main\nsys.argv = ['psimport', '--help']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\nprint('BLAS:' + os.environ['OPENBLAS_NUM_THREADS'])")
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if preset:
        env["OPENBLAS_NUM_THREADS"] = preset
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip().splitlines()[-1] == f"BLAS:{expected}"


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_a_reader_that_goes_away_ends_psimport_quietly_with_0(tmp_path, fmt):
    # `psimport parse ... | head`: the reader is gone before psimport writes, so every write hits a closed pipe.
    from importer.config import samples_dir
    process = subprocess.Popen([sys.executable, "-m", "importer", "parse", str(samples_dir() / "everyday.ofx"),
                                "--format", fmt], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
    process.stdout.close()
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=60) == 0 and stderr == ""


LONG_NAME = "b" * 300    # over the 255 characters a file name may have


@pytest.mark.parametrize("args, code", [
    (["parse", f"{LONG_NAME}.csv"], 2), (["preview", f"{LONG_NAME}.csv"], 2),
    (["parse", "STATEMENT", "--config", f"{LONG_NAME}.yaml"], 3),
    (["preview", "STATEMENT", "--rules", f"{LONG_NAME}.yaml", "--account", "1", "--existing", "EXPORT"], 3),
    (["preview", "STATEMENT", "--state-dir", LONG_NAME, "--account", "1", "--existing", "EXPORT"], 3)])
def test_a_path_with_a_name_too_long_is_one_message_not_a_traceback(tmp_path, monkeypatch, args, code):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("POCKETSMITH_DEVELOPER_KEY", "not-used-offline")
    (tmp_path / "s.csv").write_text("Date,Description,Amount\n2024-03-13,SHOP,-1.00\n2024-03-14,PAY,2.00\n")
    (tmp_path / "export.json").write_text("[]")
    args = [{"STATEMENT": "s.csv", "EXPORT": "export.json"}.get(a, a) for a in args]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == code, result.output
    assert "longer than the system allows" in result.output and LONG_NAME in result.output
