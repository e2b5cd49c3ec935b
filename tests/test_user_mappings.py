"""The config's `mapping:` takes a user mapping's name, its file's name, or its path (beside the config);
an unknown name says where psimport reads user mappings from."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from importer.cli import cli

MAPPING = """name: mybank
signature: [When, What, How much]
columns: {date: When, payee: What, amount: How much}
date_format: "%Y-%m-%d"
"""


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A user config dir holding mappings/my-bank.yaml (whose name inside is mybank), and a statement in its layout."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "xdg" / "psimport" / "mappings"
    folder.mkdir(parents=True)
    (folder / "my-bank.yaml").write_text(MAPPING)
    (tmp_path / "s.csv").write_text("When,What,How much\n2026-11-01,Shop,-1.00\n")
    (tmp_path / "export.json").write_text("[]")
    return tmp_path


def _preview(home, config_text: str):
    config = home / "conf" / "psimport.yaml"
    config.parent.mkdir(exist_ok=True)
    config.write_text(config_text)
    return CliRunner().invoke(cli, ["preview", "s.csv", "--existing", "export.json", "--config", str(config),
                                    "--format", "json", "--state-dir", str(home / "state")])


@pytest.mark.parametrize("given", ["mybank", "my-bank", "MyBank"])
def test_a_user_mapping_by_its_name_or_its_file_name(home, given):
    for entry in (f'{{glob: "s.csv", mapping: {given}, transaction_account_id: 5}}',   # reads the file with it
                  f'{{mapping: {given}, transaction_account_id: 5}}'):                  # routes what it read
        result = _preview(home, f"accounts:\n  - {entry}\n")
        assert result.exit_code == 0, result.output
        [account] = json.loads(result.output)["accounts"]
        assert account["transaction_account_id"] == 5 and account["sources"][0]["format"] == "csv:mybank"


def test_a_mapping_path_in_the_config_is_relative_to_the_config_file(home):
    (home / "conf" / "banks").mkdir(parents=True)
    (home / "conf" / "banks" / "mine.yaml").write_text(MAPPING)
    result = _preview(home, "accounts:\n  - {glob: 's.csv', mapping: banks/mine.yaml, transaction_account_id: 5}\n"
                            "  - {mapping: banks/mine.yaml, transaction_account_id: 6}\n")
    assert result.exit_code == 0, result.output
    assert [a["transaction_account_id"] for a in json.loads(result.output)["accounts"]] == [5]
    routed = _preview(home, "accounts:\n  - {mapping: banks/mine.yaml, transaction_account_id: 6}\n")
    assert routed.exit_code == 0, routed.output
    assert [a["transaction_account_id"] for a in json.loads(routed.output)["accounts"]] == [6]


def test_an_unknown_mapping_names_the_folders_user_mappings_are_read_from(home):
    result = _preview(home, "accounts:\n  - {mapping: nosuch, transaction_account_id: 5}\n")
    assert result.exit_code == 3
    assert "psimport.yaml, line 2: accounts[0].mapping: unknown mapping 'nosuch'" in result.output
    assert f"psimport reads your mappings (NAME.yaml) from {home / 'conf' / 'mappings'}, " \
           f"{home / 'xdg' / 'psimport' / 'mappings'}" in result.output
    by_option = CliRunner().invoke(cli, ["parse", "s.csv", "--mapping", "nosuch"])
    assert by_option.exit_code == 3 and f"from {home / 'xdg' / 'psimport' / 'mappings'}" in by_option.output
