"""The parser registry: detection by content, plugins through entry points, clear errors."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings, strategies as st

import importer.parsers as registry
from importer.errors import ImporterError, InputError
from importer.parsers import parse_bytes
from importer.record import Statement, Transaction


class PipeParser:
    """A third-party format: `date|amount|payee` lines after a `#PIPE` marker."""

    name = "pipe"

    def sniff(self, head: bytes, filename: str) -> float:
        return 1.0 if head.startswith(b"#PIPE") else 0.0

    def parse(self, data, filename, options):
        rows = []
        for number, line in enumerate(data.decode().splitlines()[1:], start=2):
            day, amount, payee = line.split("|")
            rows.append(Transaction(date.fromisoformat(day), Decimal(amount), payee, payee,
                                    file=filename, line=number))
        return [Statement(file=filename, format="pipe", transactions=rows)]


class FakeEntryPoint:
    def __init__(self, obj):
        self.obj = obj

    def load(self):
        return self.obj


@pytest.fixture
def with_plugin(monkeypatch):
    registry.registered_parsers.cache_clear()
    monkeypatch.setattr(registry, "entry_points",
                        lambda group: [FakeEntryPoint(PipeParser)] if group == "psimport.parsers" else [])
    yield
    registry.registered_parsers.cache_clear()


def test_a_plugin_parser_registered_by_entry_point_is_used(with_plugin):
    statements = parse_bytes(b"#PIPE\n2024-01-05|-4.50|Coffee\n", "x.pipe")
    assert statements[0].format == "pipe"
    txn = statements[0].transactions[0]
    assert (txn.date, txn.amount, txn.line) == (date(2024, 1, 5), Decimal("-4.50"), 2)
    assert txn.external_id  # synthetic ids are assigned for every parser


def test_empty_file_is_a_clear_error():
    with pytest.raises(InputError, match="empty"):
        parse_bytes(b"", "empty.csv")
    with pytest.raises(InputError, match="empty"):
        parse_bytes(b"\xef\xbb\xbf \r\n", "bom-only.csv")


def test_binary_file_is_a_clear_error():
    with pytest.raises(InputError, match="binary|not a statement"):
        parse_bytes(bytes(range(256)) * 4, "photo.jpg")


def test_unknown_format_names_the_file():
    with pytest.raises(InputError) as caught:
        parse_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image.png")
    assert "image.png" in str(caught.value)


def test_synthetic_ids_are_stable_and_tell_identical_rows_apart():
    data = b"!Type:Bank\nD01/31/2024\nT-4.50\nPCoffee\n^\nD01/31/2024\nT-4.50\nPCoffee\n^\n"
    first = parse_bytes(data, "a.qif", registry.ParseOptions(date_order="mdy"))[0].transactions
    again = parse_bytes(data, "a.qif", registry.ParseOptions(date_order="mdy"))[0].transactions
    assert [t.external_id for t in first] == [t.external_id for t in again]
    assert first[0].external_id != first[1].external_id


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_give_records_or_our_own_error(data):
    try:
        statements = parse_bytes(data, "fuzz.bin")
    except ImporterError:
        return
    for statement in statements:
        for txn in statement.transactions:
            assert isinstance(txn.amount, Decimal) and isinstance(txn.date, date)


def test_a_directory_skips_files_that_are_not_statements_but_a_named_file_is_an_error(tmp_path):
    (tmp_path / "card.qif").write_text("!Type:CCard\nD15/01/2024\nT-4.50\nPCoffee\n^\n")
    (tmp_path / "notes.txt").write_text("remember to download February\n")
    read = registry.read_files([tmp_path])
    assert [f.path.name for f in read.files] == ["card.qif"] and len(read.files[0].sha256) == 64
    assert [p.name for p in read.skipped] == ["notes.txt"]
    with pytest.raises(InputError, match="notes.txt"):
        registry.read_files([tmp_path / "notes.txt"])


def test_a_directory_without_statements_is_a_clear_error(tmp_path):
    (tmp_path / "notes.txt").write_text("nothing here\n")
    with pytest.raises(InputError, match="no statement files found"):
        registry.parse_paths([tmp_path])
