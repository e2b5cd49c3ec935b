"""Golden files: `psimport parse --format json` of every shipped sample and mapping sample, against tests/golden/.

The CLI runs in the sample's own folder on its bare file name, so the stored `file` fields are
stable; in sample_statements/ that also picks up the demo's psimport.yaml, as it would for a user.
Each expected output is the CLI's JSON laid out one transaction a line, so a diff names the rows
that changed. After a deliberate change, `pytest tests/test_golden.py --regenerate-golden` rewrites
them (and deletes those whose sample is gone), listing every file it touched; review with git diff.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from importer.cli import cli
from importer.parsers import STATEMENT_SUFFIXES

REPOSITORY = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).resolve().parent / "golden"
SAMPLE_FOLDERS = {"sample_statements": REPOSITORY / "sample_statements",
                  "mapping_samples": REPOSITORY / "tests" / "mapping_samples"}
SPREAD_DEPTH = 4  # document, statements, a statement, its transactions: each transaction is one line
REGENERATE = "pytest tests/test_golden.py --regenerate-golden"
SAMPLES = [(folder, path) for folder, directory in SAMPLE_FOLDERS.items() for path in sorted(directory.iterdir())
           if path.suffix.lower() in STATEMENT_SUFFIXES]


def golden_path(folder: str, sample: Path) -> Path:
    return GOLDEN / folder / f"{sample.name}.json"


def _refuse_float(text: str):
    raise AssertionError(f"a JSON number with a fraction ({text}) in contract output: money is a string")


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    keys = [key for key, _ in pairs]
    assert len(keys) == len(set(keys)), f"a key repeated in one JSON object: {keys}"
    return dict(pairs)


def laid_out(value, depth: int = 0) -> str:
    """JSON with containers nested less than SPREAD_DEPTH deep spread over lines, deeper ones on one line."""
    if depth >= SPREAD_DEPTH or not isinstance(value, (dict, list)) or not value:
        return json.dumps(value, ensure_ascii=False)
    inner, outer = "  " * (depth + 1), "  " * depth
    if isinstance(value, dict):
        items = [f"{inner}{json.dumps(key, ensure_ascii=False)}: {laid_out(item, depth + 1)}"
                 for key, item in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{outer}}}"
    return "[\n" + ",\n".join(inner + laid_out(item, depth + 1) for item in value) + f"\n{outer}]"


def parse_output(sample: Path, monkeypatch, home: Path) -> str:
    """What `psimport parse <sample> --format json` prints, run where the sample is, laid out for review."""
    monkeypatch.chdir(sample.parent)
    for variable in ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME"):  # the developer's own config is not read
        monkeypatch.setenv(variable, str(home))
    result = CliRunner().invoke(cli, ["parse", sample.name, "--format", "json"])
    assert result.exit_code == 0, result.output
    # A shipped mapping infers nothing; it says only how many pending rows it left out, and that it was chosen
    # by a guess (a headerless file's shape, a header any bank writes).
    assert all(line.startswith(f"psimport: {sample.name}: left out ") and "pending row" in line
               or line.startswith(f"psimport: {sample.name}: read with the shipped mapping ")
               for line in result.stderr.splitlines()), result.stderr
    document = json.loads(result.stdout, parse_float=_refuse_float, object_pairs_hook=_unique_keys)
    return laid_out(document) + "\n"


@pytest.mark.parametrize("folder,sample", SAMPLES, ids=[f"{folder}/{path.name}" for folder, path in SAMPLES])
def test_parse_json_is_the_golden_output(folder, sample, golden_files, monkeypatch, tmp_path):
    actual = parse_output(sample, monkeypatch, tmp_path)
    expected_path = golden_path(folder, sample)
    if golden_files.regenerate:
        golden_files.write(expected_path, actual)
        return
    relative = expected_path.relative_to(REPOSITORY)
    if not expected_path.is_file():
        pytest.fail(f"{sample.name} has no expected output {relative}: run `{REGENERATE}`, "
                    "check the new file and commit it", pytrace=False)
    expected = expected_path.read_text(encoding="utf-8")
    if actual != expected:
        diff = difflib.unified_diff(expected.splitlines(keepends=True), actual.splitlines(keepends=True),
                                    fromfile=str(relative), tofile=f"psimport parse {sample.name} --format json")
        pytest.fail(f"the output changed:\n{''.join(diff)}\nIf the change is meant: `{REGENERATE}`, "
                    "then review and commit the golden file", pytrace=False)


def test_every_golden_file_has_its_sample(golden_files):
    wanted = {golden_path(folder, sample) for folder, sample in SAMPLES}
    orphans = sorted(path for path in GOLDEN.rglob("*") if path.is_file() and path not in wanted)
    if golden_files.regenerate:
        for path in orphans:
            golden_files.remove(path)
        return
    if orphans:
        pytest.fail(f"golden files whose sample is gone: {', '.join(str(p.relative_to(REPOSITORY)) for p in orphans)}; "
                    f"delete them, or run `{REGENERATE}`", pytrace=False)
