"""docs/cli.md is the commands' own --help, and the README names every command and links to it."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _generator():
    spec = importlib.util.spec_from_file_location("generate_cli_reference", ROOT / "docs" / "generate_cli_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generator = _generator()


def test_docs_cli_md_is_what_the_commands_say_now():
    diff = generator.stale_diff()
    if diff:
        pytest.fail(f"docs/cli.md is stale; run: {generator.COMMAND}\n{diff}", pytrace=False)


def test_the_reference_is_the_same_at_any_terminal_width(monkeypatch):
    monkeypatch.setenv("COLUMNS", "40")
    narrow = generator.reference()
    monkeypatch.setenv("COLUMNS", "250")
    assert generator.reference() == narrow


def test_the_reference_has_a_section_per_command_with_its_usage():
    text = generator.reference()
    found = list(generator.commands())
    assert {" ".join(path) for path, _ in found} >= {
        "parse", "preview", "import", "batches", "undo", "accounts", "categories", "sandbox", "mappings",
        "rules", "rules test", "rules suggest", "rules explain", "rules pull", "rules push"}
    for path, _ in found:
        title = "psimport " + " ".join(path)
        assert f"\n## {title}\n\n```text\nUsage: {title} " in text, f"no section for {title}"
        assert f"(#{generator._anchor(title)})" in text, f"{title} is not in the contents"


def test_a_stale_reference_fails_the_check_with_the_diff_and_the_command(tmp_path, monkeypatch):
    stale = tmp_path / "cli.md"
    stale.write_text(generator.reference().replace("Delete the transactions a batch created.", "Old words."))
    monkeypatch.setattr(generator, "REFERENCE", stale)
    diff = generator.stale_diff()
    assert "-  Old words." in diff and "+  Delete the transactions a batch created." in diff
    assert generator.main(["--check"]) == 1


def test_the_generator_runs_as_the_reference_says():
    done = subprocess.run([sys.executable, "docs/generate_cli_reference.py", "--check"], cwd=ROOT,
                          capture_output=True, text=True)
    assert (done.returncode, done.stdout) == (0, "docs/cli.md is up to date.\n"), done.stdout + done.stderr


def test_the_readme_names_every_command_and_links_the_reference():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    line = re.search(r"\*\*The commands:\*\*(.*?)\n\n", readme, re.S)
    assert line and "[docs/cli.md](docs/cli.md)" in line.group(1)
    named = set(re.findall(r"`([a-z][a-z-]*)`", line.group(1)))
    assert {path[-1] for path, _ in generator.commands()} == named


def test_every_help_fits_80_columns():
    """Every command's --help (examples included) at COLUMNS=80: no line wider than the terminal."""
    import click
    from click.testing import CliRunner

    from importer.cli import cli

    def commands(command, path):
        yield path
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                yield from commands(sub, [*path, name])

    too_wide = []
    for path in commands(cli, []):
        shown = CliRunner().invoke(cli, [*path, "--help"], env={"COLUMNS": "80"}, terminal_width=80)
        assert shown.exit_code == 0, shown.output
        too_wide += [f"psimport {' '.join(path)}: {line}" for line in shown.output.splitlines() if len(line) > 80]
    assert not too_wide, "\n".join(too_wide)
