"""Fuzz tests of what the command line reads (issue 15): CSV with quotes and carriage returns, exports, YAML.

Each input either reads or fails with psimport's own error (an ImporterError naming the file); no
other exception, and what reads is sane: one-line payees, Decimal amounts that can be money.
"""

from __future__ import annotations

import tempfile
from decimal import Decimal
from pathlib import Path

from click.testing import CliRunner
from fuzzing import damaged
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from importer.cli import cli
from importer.errors import ConfigError, InputError
from importer.parsers import parse_bytes
from importer.parsers.base import ParseOptions
from importer.pocketsmith.export import load_export
from importer.rules import compile_rules
from importer.yamlfile import read_yaml

REPO = Path(__file__).resolve().parents[1]
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                         HealthCheck.function_scoped_fixture])

# ─── CSV: quotes, carriage returns, decimal marks ────────────────────────────────────────────────

_CELL = st.text(alphabet='ab ,."\r\n-+0123456789/\t\x1b', max_size=12)
_LINE_END = st.sampled_from(["\n", "\r\n", "\r", ""])
_ROW = st.tuples(st.sampled_from(["5/1/2024", "31/12/2024", "2024-05-01", "", '"5/1/2024"']), _CELL, _CELL)


@st.composite
def csv_statements(draw) -> bytes:
    rows = draw(st.lists(_ROW, min_size=1, max_size=8))
    ends = draw(st.lists(_LINE_END, min_size=len(rows), max_size=len(rows)))
    body = "".join(f"{d},{desc},{amount}{end}" for (d, desc, amount), end in zip(rows, ends))
    return ("Date,Description,Amount\n" + body).encode()


def _check_statements(statements) -> None:
    for statement in statements:
        for txn in statement.transactions:
            assert isinstance(txn.amount, Decimal) and txn.amount.is_finite()
            assert txn.payee.isprintable() and txn.original_payee.isprintable()
            assert txn.memo is None or txn.memo.isprintable()
            assert isinstance(txn.line, int) and txn.line >= 2


@FUZZ
@given(csv_statements())
@example(b'Date,Description,Amount\n5/1/2024,,"\r.3"\n5/31/2024,,",5')     # the IndexError
@example(b'Date,Description,Amount\n5/1/2024,"a\nb",1.00\n5/2/2024,\x1b]0;x\x07,2.00\n')
def test_csv_with_quotes_and_carriage_returns_reads_or_names_a_line(data):
    try:
        statements = parse_bytes(data, "fuzz.csv", ParseOptions(date_order="mdy"))
    except InputError as exc:
        assert exc.file == "fuzz.csv"
        return
    _check_statements(statements)
    total_lines = data.replace(b"\r\n", b"\n").count(b"\n") + 1
    for txn in statements[0].transactions:
        assert txn.line <= total_lines + 1


@settings(max_examples=40, deadline=None)
@given(csv_statements())
def test_the_parse_command_on_odd_csv_exits_0_or_2_never_a_traceback(data):
    with tempfile.TemporaryDirectory() as folder:   # hypothesis reruns the test body: one folder an example
        statement = Path(folder) / "s.csv"
        statement.write_bytes(data)
        result = CliRunner().invoke(cli, ["parse", str(statement), "--date-order", "mdy", "--format", "json"])
    assert result.exit_code in (0, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)


# ─── exports ──────────────────────────────────────────────────────────────────────────────────────

_NUMBER_TEXT = st.sampled_from(["-4.50", "12", "NaN", "Infinity", "-Infinity", "1e400", "1e999999999", "9" * 5000,
                                "0.000000000000000000000000000000000000000000001", "-0", "1E+2", '"12.30"', '"NaN"',
                                "null", "true", "[]", "{}"])


@st.composite
def exports(draw) -> bytes:
    rows = []
    for n in range(draw(st.integers(0, 4))):
        row = {"id": draw(st.sampled_from([str(n + 1), '"x"', "1e3", "null", "9" * 50])),
               "date": draw(st.sampled_from(['"2024-05-01"', '"2024-13-01"', '""', "null", "5", '"2024-05-01T10:00"'])),
               "amount": draw(_NUMBER_TEXT), "payee": draw(st.sampled_from(['"Cafe"', '"\\u001b]0;x\\u0007"', "null",
                                                                            "[1]"])),
               "transaction_account": draw(st.sampled_from(['{"id": 1}', "null", '"1"', "[]"]))}
        rows.append("{" + ", ".join(f'"{k}": {v}' for k, v in row.items()) + "}")
    text = "[" + ", ".join(rows) + "]"
    depth = draw(st.sampled_from([0, 0, 0, 50, 5000, 100_000]))
    return ("[" * depth + text + "]" * depth).encode()


@FUZZ
@given(st.one_of(exports(), st.binary(max_size=200)))
@example(b'[{"id": 1, "date": "2024-05-01", "amount": NaN}]')
@example(b"[" * 100_000 + b"]" * 100_000)
@example(b'[{"id": 1, "date": "2024-05-01", "amount": ' + b"9" * 100_000 + b"}]")
def test_exports_read_or_fail_with_an_input_error(tmp_path, data):
    path = tmp_path / "export.json"
    path.write_bytes(data)
    try:
        transactions = load_export(path)
    except InputError as exc:
        assert exc.file == str(path) and len(str(exc)) < 1000
        return
    for txn in transactions:
        assert isinstance(txn.amount, Decimal) and txn.amount.is_finite() and abs(txn.amount) < Decimal("1e15")


# ─── YAML: psimport.yaml, rules, mappings ─────────────────────────────────────────────────────────

YAML_SAMPLES = [path.read_bytes() for path in [REPO / "rules.yaml", REPO / "sample_statements" / "psimport.yaml",
                                                *sorted((REPO / "mappings").glob("*.yaml"))[:5]]]
_YAML_TEXT = st.text(alphabet="ab:-?&*!|>#'\"[]{},. \n\t0123456789%@`<=", max_size=120)


@FUZZ
@given(st.one_of(_YAML_TEXT, damaged(YAML_SAMPLES, max_cut=300, max_offset=5000).map(
    lambda raw: raw.decode("utf-8", "replace"))))
@example("rules:\n  - name: deep\n    if: " + "{payee: " * 3000 + "x" + "}" * 3000 + "\n")
@example("a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n")
def test_yaml_reads_or_fails_with_a_config_error_and_a_short_message(text):
    try:
        value = read_yaml(text, "fuzz.yaml")
    except ConfigError as exc:
        assert exc.file == "fuzz.yaml" and len(str(exc)) < 2000
        return
    if isinstance(value, dict):
        try:
            compile_rules(value if "rules" in value else {"rules": []}, "fuzz.yaml")
        except ConfigError:
            pass
