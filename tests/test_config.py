"""psimport.yaml is checked whole when it loads: every unknown key at any depth, wrong type and bad choice is an
error naming the file and line (with the key meant), all of them at once, before anything is read or written."""

from __future__ import annotations

import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from importer.cli import cli
from importer.config import Config, load_config, samples_dir, settings_schema
from importer.errors import ConfigError
from importer.pipeline import dedupe_settings
from importer.schema import Either, Keys, ListOf

REPO = Path(__file__).resolve().parents[1]
DEMO_CONFIG = (samples_dir() / "psimport.yaml").read_text(encoding="utf-8")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "psimport.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# The three, each through the real command line, against a sandbox that must stay untouched.
TYPOS = {
    "top level": ("acounts:\n  - {ofx_account: '1', transaction_account_id: 510001}\n", 1,
                  "unknown key 'acounts' (did you mean 'accounts'?)"),
    "under dedupe": ("dedupe:\n  duplicate_threshold: 0.8\n  windows_days: 3\n", 3,
                     "unknown key 'dedupe.windows_days' (did you mean 'window_days'?)"),
    "in an accounts entry": (DEMO_CONFIG.replace("{qif_account:", "{qif_acount:"), 5,
                             "unknown key 'accounts[1].qif_acount' (did you mean 'qif_account'?)"),
}


@pytest.mark.parametrize("case", list(TYPOS), ids=list(TYPOS))
def test_a_misspelt_key_stops_the_import_naming_file_line_and_the_key_meant(tmp_path, monkeypatch, demo_sandbox,
                                                                              case):
    text, line, says = TYPOS[case]
    config = write(tmp_path, text)
    before = demo_sandbox.transactions()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("POCKETSMITH_DEVELOPER_KEY", demo_sandbox.key)
    state = tmp_path / "state"
    result = CliRunner().invoke(cli, ["import", str(samples_dir()), "--config", str(config), "--yes",
                                      "--api-url", demo_sandbox.url, "--state-dir", str(state)])
    assert result.exit_code == ConfigError.exit_code == 3, result.output
    assert isinstance(result.exception, SystemExit)             # one line, not a traceback
    assert result.output.startswith(f"Error: {config}, line {line}: {says}; valid keys are: "), result.output
    assert demo_sandbox.transactions() == before
    assert not state.exists() or not any(state.iterdir())


def test_through_a_real_process_the_exit_code_is_3_and_stderr_one_line(tmp_path):
    config = write(tmp_path, "acounts: []\n")
    done = subprocess.run([sys.executable, "-m", "importer", "parse", str(samples_dir() / "everyday.ofx"),
                           "--config", str(config)], capture_output=True, text=True, cwd=tmp_path,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert done.returncode == 3 and done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        f"Error: {config}, line 1: unknown key 'acounts' (did you mean 'accounts'?); valid keys are: accounts, "
        "dedupe, payee, rules, mappings_dir, date_order, api_url, inbox, transfers, balances, max_file_mb"]


def test_every_problem_of_the_config_is_reported_at_once_each_with_its_line(tmp_path):
    config = write(tmp_path, """\
dedup: {}
dedupe:
  window_days: {before: 3, aftr: 2}
  pending_tolerance: lots
payee:
  noise: ['(unclosed']
accounts:
  - {ofx_account: "1", transaction_account_id: none}
  - {transaction_account_id: 7}
date_order: dym
""")
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    lines = str(caught.value).splitlines()
    assert lines[0] == f"{config}: 7 problems:"
    found = [re.match(rf"  {re.escape(str(config))}, line (\d+): (.*)", line).groups() for line in lines[1:]]
    assert [(int(n), message.split(";")[0].split(" (")[0]) for n, message in found] == [
        (1, "unknown key 'dedup'"),
        (3, "unknown key 'dedupe.window_days.aftr'"),
        (4, "'dedupe.pending_tolerance' must be a fraction like 0.2 or a percentage like 20%"),
        (6, "'payee.noise[0]' is not a valid regular expression: missing ), unterminated subpattern at position 0"),
        (8, "'accounts[0].transaction_account_id' must be a PocketSmith transaction account id"),
        (9, "'accounts[1]' needs at least one of ofx_account, qif_account, account, mapping, glob"),
        (10, "'date_order' must be dmy, mdy or ymd, not 'dym'"),
    ]


@pytest.mark.parametrize("text, line, says", [
    ("- accounts\n", 1, "the file must be a mapping of settings, not a list"),
    ("accounts: {ofx_account: '1'}\n", 1, "'accounts' must be a list of entries like"),
    ("accounts:\n  - savings\n", 2, "'accounts[0]' must be a mapping like"),
    ("accounts:\n  - {ofx_account: '1', transaction_account_id: 0510001}\n", 2,
     "'accounts[0].transaction_account_id' is written '0510001', which YAML reads as 167937"),
    ("dedupe: strict\n", 1, "'dedupe' must be a mapping of settings, not 'strict'"),
    ("dedupe: {window_days: [1, 2]}\n", 1, "'dedupe.window_days' must be a whole number of days, or {before: days"),
    ("dedupe:\n  duplicate_threshold: 0.8\n  review_threshold: 0.9\n", 3,
     "'dedupe' needs 0 < review_threshold <= duplicate_threshold < 1, not 0.9 and 0.8"),
    ("rules: ['a.yaml']\n", 1, "'rules' must be a rules file's path, not a list"),
    ("mappings_dir: ''\n", 1, "'mappings_dir' must be a folder's path, not empty"),
    ("payee: {prefixes: [card, 3]}\n", 1, "'payee.prefixes[1]' must be a word or phrase, not 3"),
])
def test_wrong_types_and_values_name_the_key_and_line(tmp_path, text, line, says):
    config = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    assert str(caught.value).startswith(f"{config}, line {line}: {says}"), str(caught.value)


def test_a_config_made_in_code_is_checked_too():
    with pytest.raises(ConfigError, match=r"unknown key 'dedup' \(did you mean 'dedupe'\?\)"):
        Config(data={"dedup": {}})


def test_every_setting_is_read_as_written(tmp_path):
    config = load_config(write(tmp_path, """\
accounts:
  - {ofx_account: 0620012345, transaction_account_id: "510001", name: Everyday, note: from the bank}
  - {glob: "savings*.csv", mapping: cba, transaction_account_id: 510003}
dedupe:
  duplicate_threshold: 0.8
  review_threshold: 0.4
  window_days: 3
  pending_tolerance: 15%
  rarity_days: 10
payee:
  prefixes: online purchase
  noise: ['\\bmember \\d+']
rules: my-rules.yaml
mappings_dir: ~/banks
date_order: dmy
"""))
    settings = dedupe_settings(config)
    assert (settings.duplicate_threshold, settings.review_threshold) == (0.8, 0.4)
    assert (settings.window_before, settings.window_after, settings.rarity_days) == (3, 3, 10)
    assert settings.pending_tolerance == Decimal("0.15")
    assert settings.payee.extra_prefixes == ("online purchase",)
    assert settings.payee.extra_noise == ("\\bmember \\d+",)
    assert config.date_order == "dmy"
    from importer.rules import find_rules_file
    assert find_rules_file(None, config) == tmp_path / "my-rules.yaml"
    from importer.accounts import account_rules
    everyday, savings = account_rules(config.accounts, config.path)
    # Unquoted, YAML 1.1 reads 0620012345 as an octal number; the account number is kept as written.
    assert (everyday.ofx_account, everyday.transaction_account_id) == ("0620012345", 510001)
    assert (savings.glob, savings.mapping, savings.transaction_account_id) == ("savings*.csv", "cba", 510003)


def test_an_empty_config_or_empty_section_means_the_defaults(tmp_path):
    assert load_config(write(tmp_path, "# nothing yet\n")).data == {}
    config = load_config(write(tmp_path, "dedupe:\npayee:\naccounts:\n"))
    assert dedupe_settings(config) == dedupe_settings(Config())


def _keys(spec, at=""):
    """Every key a spec takes, dotted (accounts[].ofx_account as accounts.ofx_account)."""
    if isinstance(spec, Keys):
        for key, inner in spec.fields.items():
            yield f"{at}{key}"
            yield from _keys(inner, f"{at}{key}.")
    elif isinstance(spec, ListOf):
        yield from _keys(spec.item, at)
    elif isinstance(spec, Either):
        for alternative in spec.alternatives:
            yield from _keys(alternative, at)


def test_the_readme_lists_every_key_psimport_yaml_takes():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("**The config file.**"):readme.index("**The state dir.**")]
    missing = [key for key in _keys(settings_schema())
               if not re.search(rf"(?<![\w.]){key.rpartition('.')[2]}(?!\w)", section)]
    assert not missing, f"README's config section does not mention: {', '.join(missing)}"
    for refused in ("unknown key", "given twice", "alias"):
        assert refused in section


def test_config_show_fits_80_columns_without_breaking_a_path(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from importer.cli import cli
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "a-long-folder-name-for-the-config-home" / "config"))
    shown = CliRunner().invoke(cli, ["config", "show"], env={"COLUMNS": "80"}).output
    lines = shown.splitlines()
    # A line wider than 80 only where one path, longer than the room beside the names, cannot be broken.
    assert all(len(line) <= 80 or len(line.split()[-1]) > 60 for line in lines), shown
    assert str(tmp_path / "a-long-folder-name-for-the-config-home" / "config" / "psimport" / "psimport.yaml") in shown
    assert "← not in the environment, the keyring or the key file: run" in shown     # wrapped at a space
