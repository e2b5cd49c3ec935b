"""Which mapping read each file is shown wherever a person or a script checks the run: parse, preview, import."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from importer.cli import cli

SAMPLES = Path(__file__).resolve().parents[1] / "sample_statements"
CONFIG = SAMPLES / "psimport.yaml"


def _run(*args, sandbox=None, monkeypatch=None, tmp_path=None):
    if sandbox is not None:
        monkeypatch.setenv("POCKETSMITH_DEVELOPER_KEY", sandbox.key)
        args = (*args, "--api-url", sandbox.url)
    return CliRunner().invoke(cli, [*map(str, args), "--state-dir", str(tmp_path / "state")],
                              catch_exceptions=False)


def test_parse_preview_and_import_name_the_mapping(demo_sandbox, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "80")
    run = lambda *args: _run(*args, sandbox=demo_sandbox, monkeypatch=monkeypatch, tmp_path=tmp_path)  # noqa: E731

    parsed = _run("parse", SAMPLES / "savings.csv", "--format", "json", tmp_path=tmp_path)
    assert [s["format"] for s in json.loads(parsed.stdout)["statements"]] == ["csv:cba"]
    assert "csv:cba" in _run("parse", SAMPLES / "savings.csv", tmp_path=tmp_path).output

    preview = run("preview", SAMPLES, "--config", CONFIG, "--format", "json")
    assert preview.exit_code == 0, preview.output
    sources = {Path(s["file"]).name: s["format"] for a in json.loads(preview.output)["accounts"]
               for s in a["sources"]}
    assert sources == {"everyday.ofx": "ofx", "creditcard.qif": "qif", "savings.csv": "csv:cba"}

    table = run("preview", SAMPLES, "--config", CONFIG).output
    assert "Account 510003 · NetBank Saver · savings.csv (cba)" in table
    assert "savings.csv (cba)" in table.split("Summary")[-1]
    imported = run("import", SAMPLES, "--config", CONFIG, "--yes").output
    assert "savings.csv (cba)" in imported
