"""Output that fits: at 80 and 120 columns no line of preview, import or batches wraps, and tables are bounded.

Each case runs the real command line (in-process, against the embedded sandbox over HTTP) with
$COLUMNS set, the way a terminal of that width runs it, and measures every printed line in terminal
cells (rich's cell_len), on stdout and stderr alike.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from rich.cells import cell_len

from importer import cli as cli_module
from importer.cli import cli

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "sample_statements"

# The demo statements under names as long as banks give them, so every table has to cut something.
LONG_NAMES = {"everyday.ofx": "everyday-account-statement-downloaded-from-netbank-2026-11-20.ofx",
              "creditcard.qif": "visa-credit-card-transactions-for-the-whole-quarter-ending-november.qif",
              "savings.csv": "savings-netbank-saver-export-with-every-column-the-bank-offers.csv"}


def _run(*args, columns: int):
    return CliRunner().invoke(cli, [str(a) for a in args], env={"COLUMNS": str(columns)}, catch_exceptions=False)


def _too_wide(text: str, columns: int) -> list[str]:
    return [line for line in text.splitlines() if cell_len(line) > columns]


@pytest.fixture
def household(tmp_path, monkeypatch):
    """The demo statements under long names, their config, the demo rules plus a skip rule, a fresh state dir."""
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "statements"
    folder.mkdir()
    for name, long in LONG_NAMES.items():
        shutil.copy(SAMPLES / name, folder / long)
    shutil.copy(SAMPLES / "psimport.yaml", tmp_path / "psimport.yaml")
    rules = yaml.safe_load((REPO / "rules.yaml").read_text())
    rules["rules"].insert(0, {"name": "leave-out-the-cash-withdrawals-at-the-atm-they-are-counted-elsewhere",
                              "if": {"payee": {"contains": "ATM WITHDRAWAL"}}, "then": {"skip": True}})
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rules))
    # Relative paths, as a person types them: the follow-up commands psimport prints repeat them.
    return {"folder": "statements", "options": ["--config", "psimport.yaml", "--rules", "rules.yaml",
                                                "--state-dir", "state"]}


@pytest.mark.slow
@pytest.mark.parametrize("columns", [80, 120])
def test_no_line_of_preview_import_or_batches_is_wider_than_the_terminal(household, columns):
    folder, options = household["folder"], household["options"]
    outputs = {}

    def run(name, *args):
        result = _run(*args, columns=columns)
        assert result.exit_code == 0, result.output
        outputs[name] = result.stdout + result.stderr
        return outputs[name]

    preview = run("preview --all", "preview", folder, "--sandbox", "--all", *options)
    assert "1 skipped by rules" in preview and "for review: possibly there already" in preview
    assert "Summary" in preview and "Why" in preview
    run("preview", "preview", folder, "--sandbox", *options)
    first = run("import", "import", folder, "--sandbox", "--yes", *options)
    assert "For review, not created" in first and "Undo with:" in first
    run("import again", "import", folder, "--sandbox", "--yes", *options)
    batch = re.search(r"psimport undo (\S+)", first).group(1)
    run("undo", "undo", batch, "--sandbox", "--yes", "--state-dir", "state")
    run("import after undo", "import", folder, "--sandbox", "--yes", "--accept-review", *options)
    batches = run("batches", "batches", "--sandbox", "--state-dir", "state")
    assert "undone" in batches and "complete" in batches
    for name, text in outputs.items():
        assert not _too_wide(text, columns), f"{name} at {columns} columns:\n" + "\n".join(_too_wide(text, columns))
    # Wider shows more: the preview's rows say where they are in their file only from 100 columns up.
    assert bool(re.search(r"^Line  Date", outputs["preview --all"], re.M)) == (columns >= 100)


def test_the_summary_box_keeps_each_account_on_one_line_at_80_columns(household):
    result = _run("preview", household["folder"], "--sandbox", *household["options"], columns=80)
    box = result.stdout[result.stdout.index("╭─ Summary"):].splitlines()
    assert all(cell_len(line) <= 80 for line in box)
    accounts = [line for line in box if re.match(r"│ 51000\d ", line)]
    assert len(accounts) == 3 and all(line.endswith("│") for line in accounts)


def _qif(path: Path, rows: int) -> Path:
    lines = ["!Type:Bank"]
    for i in range(rows):
        lines += [f"D{1 + i % 28:02d}/11/2026", f"T-{i + 1}.00", f"PSHOP NUMBER {i}", "^"]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_parse_table_shows_the_first_rows_and_says_how_to_see_the_rest(tmp_path):
    big = _qif(tmp_path / "big.qif", 120)
    table = _run("parse", big, "--date-order", "dmy", columns=80).output
    assert "first 50 of 120 rows; --all, or --format json/jsonl/csv for everything" in table
    assert "SHOP NUMBER 49" in table and "SHOP NUMBER 50" not in table
    every = _run("parse", big, "--date-order", "dmy", "--all", columns=80).output
    assert "SHOP NUMBER 119" in every and "first 50" not in every


def test_a_preview_table_shows_the_first_rows_of_each_kind_and_says_how_to_see_the_rest(tmp_path):
    big = _qif(tmp_path / "big.qif", 60)
    args = ["preview", big, "--sandbox", "--account", "510002", "--date-order", "dmy", "--state-dir",
            tmp_path / "state"]
    table = _run(*args, columns=80).output
    assert "first 50 of 60 to create; --all, or --format json/csv for everything" in table
    assert "SHOP NUMBER 49" in table and "SHOP NUMBER 50" not in table
    assert "SHOP NUMBER 59" in _run(*args, "--all", columns=80).output


def test_batches_shows_the_newest_and_says_how_to_see_the_rest(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    state = tmp_path / "state"
    for day in (1, 2, 3):
        statement = tmp_path / f"day{day}.qif"
        statement.write_text(f"!Type:Bank\nD0{day}/11/2026\nT-{day}.00\nPNEW SHOP {day}\n^\n")
        imported = _run("import", statement, "--sandbox", "--account", "510002", "--date-order", "dmy", "--yes",
                        "--state-dir", state, columns=80)
        assert imported.exit_code == 0, imported.output
    monkeypatch.setattr(cli_module, "TABLE_ROWS", 2)
    table = _run("batches", "--sandbox", "--state-dir", state, columns=80).output
    assert sum(f"day{day}.qif" in table for day in (1, 2, 3)) == 2
    assert "first 2 of 3 batches; --all, or --format json/csv for everything" in table
    every = _run("batches", "--sandbox", "--state-dir", state, "--all", columns=80).output
    assert all(f"day{day}.qif" in every for day in (1, 2, 3)) and "of 3 batches" not in every


def test_a_long_follow_up_command_is_broken_between_its_arguments_and_still_pastes_as_one():
    import shlex
    from importer.output.render import fit_text
    command = shlex.join(["psimport", "undo", "20261124-232041-7e76", "--state-dir", "/home/someone/a folder/state",
                          "--config", "/home/someone/finance/household/psimport.yaml", "--api-url",
                          "http://127.0.0.1:8765/v2"])
    text = fit_text(f"Undo with: {command}", 60)
    assert all(cell_len(line) <= 60 for line in text.splitlines()) and len(text.splitlines()) > 2
    assert text.startswith("Undo with:\n  psimport undo")
    pasted = text.split("\n", 1)[1].replace(" \\\n", " ")     # what a shell makes of the continuations
    assert shlex.split(pasted) == shlex.split(command)
    prose = fit_text("Batch 1: created 20 transactions; skipped 80 duplicates, 3 for review, 0 by rules.", 40)
    assert prose.splitlines() == ["Batch 1: created 20 transactions;", "  skipped 80 duplicates, 3 for review, 0",
                                  "  by rules."]


@pytest.mark.slow
def test_the_why_column_says_each_decision_in_a_few_words(household):
    """The real dedupe's reasons, through the real command, in the words a table line has room for."""
    import json

    from importer.output.preview import why
    folder, options = Path(household["folder"]), household["options"]
    everyday = LONG_NAMES["everyday.ofx"]
    shutil.copy(folder / everyday, folder / "everyday-again.ofx")      # a second, overlapping download

    def rows():
        result = _run("preview", folder, "--sandbox", "--format", "json", *options, columns=80)
        assert result.exit_code == 0, result.output
        return {(Path(r["file"]).name, r["line"]): r for r in json.loads(result.stdout)["transactions"]}

    before = rows()
    said = {key: why(row) for key, row in before.items()}
    assert said[(everyday, 443)] == "payee 57% similar; maybe #880000192 (2 days earlier)"
    assert said[(everyday, 618)] == "line 642 fits as well; maybe #880000214 (1 day earlier)"
    assert said[(everyday, 642)] == "line 618 fits as well; maybe #880000214 (2 days later)"
    assert said[(LONG_NAMES["creditcard.qif"], 6)] == "same as #880000287 (1 day later)"
    assert said[("everyday-again.ofx", 166)] == f"repeats {everyday} line 166"
    assert said[(everyday, 277)] == ("rule 'leave-out-the-cash-withdrawals-at-the-atm-they-are-counted-elsewhere' "
                                     "says skip")
    assert _run("import", folder, "--sandbox", "--yes", *options, columns=80).exit_code == 0
    after = rows()
    created = next(key for key, row in before.items() if row["action"] == "create")
    assert re.fullmatch(r"imported before as #\d+", why(after[created]))


@pytest.mark.parametrize("columns", [80, 120])
def test_batches_with_two_targets_reads_at_80_and_shows_more_wider(tmp_path, monkeypatch, make_sandbox, columns):
    """Into (two PocketSmiths), long file names and an undone batch: nothing cut mid-word, the Status of each."""
    monkeypatch.chdir(tmp_path)
    state = tmp_path / "state"
    first, second = make_sandbox(seed="accounts"), make_sandbox(seed="accounts")
    statement = tmp_path / "visa-credit-card-transactions-2026-11.qif"
    statement.write_text("!Type:Bank\nD01/11/2026\nT-4.50\nPNEW SHOP\n^\n")
    ids = []
    for server in (first, second):
        monkeypatch.setenv("POCKETSMITH_DEVELOPER_KEY", server.key)
        done = _run("import", statement, "--account", "510002", "--date-order", "dmy", "--yes", "--api-url",
                    server.url, "--state-dir", state, columns=columns)
        assert done.exit_code == 0, done.output
        ids.append(re.search(r"psimport undo (\S+)", done.output).group(1))
    undone = _run("undo", ids[1], "--yes", "--api-url", second.url, "--state-dir", state, columns=columns)
    assert undone.exit_code == 0, undone.output
    table = _run("batches", "--state-dir", state, columns=columns).output
    assert not _too_wide(table, columns), table
    header = next(line for line in table.splitlines() if line.startswith("Batch") and "When" in line)
    assert header.split()[-1] == "Status" and "Into" in header
    assert all(batch in table for batch in ids)
    assert re.search(rf"{ids[0]}.*complete", table) and "undone" in table
    if columns == 80:
        # Local servers by their port; the file under its batch, cut in the middle, its date and suffix kept.
        assert f"local:{first.server.port}" in table and f"local:{second.server.port}" in table
        assert "  visa-c…2026-11.qif" in table
    else:
        assert f"127.0.0.1:{first.server.port}" in table and statement.name in table
