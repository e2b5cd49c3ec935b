"""The QIF parser: the real corpus by its manifest, every date and amount form, accounts, splits, bad input, fuzz."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from importer.errors import ImporterError, InputError
from importer.parsers.base import ParseOptions
from importer.parsers.qif import QifParser, parse_amount
from importer.record import Split, statement_json

PARSER = QifParser()


def parse(text: str | bytes, date_order: str | None = None, filename: str = "test.qif"):
    data = text.encode("utf-8") if isinstance(text, str) else text
    statements = PARSER.parse(data, filename, ParseOptions(date_order=date_order))
    return [statement.finish() for statement in statements]


def bank(*records: str, header: str = "!Type:Bank") -> str:
    """A QIF file: the header, then each record (its field lines joined) closed with ^."""
    return header + "\n" + "".join(record.strip("\n") + "\n^\n" for record in records)


def only_transactions(text: str, date_order: str | None = None):
    statements = parse(text, date_order)
    assert len(statements) == 1
    return statements[0].transactions


def error_of(text: str | bytes, date_order: str | None = None) -> InputError:
    with pytest.raises(InputError) as caught:
        parse(text, date_order)
    return caught.value


# ─── the corpus, by its manifest ─────────────────────────────────────────────────────────────

@pytest.mark.corpus("qif")
def test_corpus_file_parses_to_the_manifest_count(corpus_file):
    path = corpus_file.path
    data = path.read_bytes()
    malformed = "malformed" in corpus_file.notes.lower()
    expected = corpus_file.expected
    if not data.strip():
        # An empty download holds no transactions; psimport says so rather than reading nothing.
        assert expected == 0
        with pytest.raises(InputError, match="empty"):
            PARSER.parse(data, str(path), ParseOptions())
        return
    try:
        statements = [s.finish() for s in PARSER.parse(data, str(path), ParseOptions())]
    except InputError as exc:
        assert malformed, f"{path.name}: {exc}"
        assert exc.file == str(path)
        return
    assert expected is not None or malformed
    if expected is not None:
        assert sum(len(s.transactions) for s in statements) == expected
    lines = data.decode("utf-8", "replace").replace("\r\n", "\n").split("\n")
    for statement in statements:
        assert statement.format == "qif"
        for txn in statement.transactions:
            assert isinstance(txn.amount, Decimal) and isinstance(txn.date, date)
            assert txn.file == str(path) and txn.external_id
            assert lines[txn.line - 1][:1] not in ("^", "!", "#", ""), (path.name, txn.line)
    assert PARSER.sniff(data[:65536], path.name) >= 0.9


def test_every_qif_corpus_file_is_detected_as_qif_among_all_parsers(corpus):
    from importer.parsers import detect

    for file in corpus.files("qif"):
        data = file.read()
        if data.strip():
            assert detect(data[:65536], file.name).name == "qif", file.relative


def test_canada_export_keeps_each_account_apart_with_apostrophe_dates_and_splits(corpus):
    path = corpus.path("qif/gnucash__canada.qif")
    statements = parse(path.read_bytes(), filename=str(path))
    assert [(s.account.id, s.account.type, len(s.transactions)) for s in statements] == [
        ("canadian bank", "Bank", 2), ("Dave's Checking", "Bank", 3), ("Dave's 401K", "Invst", 1)]
    opening, transfer = statements[0].transactions
    assert opening.date == date(2000, 8, 31) and opening.amount == Decimal("0.00")
    assert transfer.amount == Decimal("-1000.00") and transfer.type == "TXFR" and transfer.cheque_number is None
    salary = statements[1].transactions[1]
    assert salary.amount == Decimal("1000.00") and len(salary.splits) == 8
    assert salary.splits[0] == Split("Salary", "Salary Income", Decimal("1500.00"))
    assert sum(s.amount for s in salary.splits) == salary.amount
    assert statements[2].transactions[0].type == "XIn"


def test_day_first_corpus_file_is_read_day_first_from_one_unambiguous_date(corpus):
    dates = [t.date for t in parse(corpus.read("qif/oca-bank-statement-import__test_qif_dmy.qif"))[0].transactions]
    assert dates == [date(2013, 8, 12), date(2013, 8, 15), date(2013, 3, 3), date(2013, 3, 4), date(2013, 3, 3)]


# ─── dates ────────────────────────────────────────────────────────────────────────────────────

@pytest.mark.parametrize("text, order, expected", [
    ("12/31/24", None, date(2024, 12, 31)),           # M/D/YY, settled by the 31
    ("1/2/24", "mdy", date(2024, 1, 2)),
    ("31/12/2024", None, date(2024, 12, 31)),         # D/M/YYYY
    ("1/2/2024", "dmy", date(2024, 2, 1)),
    ("2024-03-05", None, date(2024, 3, 5)),           # ISO needs no order
    ("31.12.2024", None, date(2024, 12, 31)),         # D.M.YYYY
    ("5.3.2024", "dmy", date(2024, 3, 5)),
    ("8/31' 0", None, date(2000, 8, 31)),             # apostrophe year, space padded
    ("2/10'2020", "mdy", date(2020, 2, 10)),
    ("6/ 1' 0", "mdy", date(2000, 6, 1)),
    ("8/ 1/97", "mdy", date(1997, 8, 1)),             # space padded day
    ("1/ 1'00", None, date(2000, 1, 1)),              # day = month: no order needed
    ("12/31/68", None, date(2068, 12, 31)),           # two-digit year pivot
    ("12/31/69", None, date(1969, 12, 31)),
    (" 03/04/2024 ", "dmy", date(2024, 4, 3)),
])
def test_date_forms(text, order, expected):
    [txn] = only_transactions(bank(f"D{text}\nT-1.00\nPShop"), order)
    assert txn.date == expected


def test_any_day_above_12_settles_day_first_for_the_whole_file():
    text = bank("D03/04/2024\nT-1.00", "D15/04/2024\nT-2.00")
    assert [t.date for t in only_transactions(text)] == [date(2024, 4, 3), date(2024, 4, 15)]


def test_any_second_field_above_12_settles_month_first_for_the_whole_file():
    text = bank("D03/04/2024\nT-1.00", "D04/15/2024\nT-2.00")
    assert [t.date for t in only_transactions(text)] == [date(2024, 3, 4), date(2024, 4, 15)]


def test_the_file_outweighs_the_configured_order():
    text = bank("D03/04/2024\nT-1.00", "D15/04/2024\nT-2.00")
    assert only_transactions(text, "mdy")[0].date == date(2024, 4, 3)


def test_ambiguous_dates_without_an_order_name_the_file_a_line_and_the_option():
    error = error_of(bank("D2024-01-31\nT-1.00", "D03/04/2024\nT-1.00", "D05/06/2024\nT-2.00"))
    assert error.file == "test.qif" and error.line == 5
    assert "'03/04/2024'" in str(error) and "--date-order dmy" in str(error)
    assert str(error).startswith("test.qif, line 5: cannot tell whether dates are day/month or month/day")


def test_dates_that_disagree_on_the_order_name_both_lines():
    error = error_of(bank("D13/01/2024\nT-1.00", "D01/13/2024\nT-1.00"))
    assert "line 2" in str(error) and "line 5" in str(error) and error.line == 5


def test_an_impossible_date_names_its_line():
    error = error_of(bank("D13/01/2024\nT-1.00", "PShop\nD31/02/2024\nT-1.00"))
    assert error.line == 6 and "impossible date '31/02/2024'" in str(error)


def test_an_impossible_date_under_a_chosen_order_points_at_the_option():
    error = error_of(bank("D02/30/2024\nT-1.00", "D01/02/2024\nT-1.00"), "dmy")
    assert "--date-order" not in str(error)  # 30 settled month-first; the file is wrong, not the option
    assert error.line == 2
    error = error_of(bank("D12/11/2024\nT-1.00", "D02/00/2024\nT-1.00"), "dmy")
    assert error.line == 5 and "--date-order" in str(error)


@pytest.mark.parametrize("text", ["yesterday", "2024/13", "1/2/345", "1/2", "123/4/2024", "2024-01-05'"])
def test_an_unreadable_date_names_its_line_and_the_forms(text):
    error = error_of(bank("D01/01/2024\nT-1.00", f"D{text}\nT-1.00"))
    assert error.line == 5 and "cannot read the date" in str(error) and "2024-12-31" in str(error)


def test_a_date_inside_a_split_is_not_the_record_date():
    [txn] = only_transactions(bank("D2/10'2020\nT-10.00\nSFood\nD1/10'2020\n$-10.00"), "mdy")
    assert txn.date == date(2020, 2, 10) and txn.splits == (Split("Food", None, Decimal("-10.00")),)


# ─── amounts ──────────────────────────────────────────────────────────────────────────────────

@pytest.mark.parametrize("text, expected", [
    ("-25.00", "-25.00"), ("-184.8", "-184.8"), ("1,000.00", "1000.00"), ("(42.17)", "-42.17"),
    ("(1,234.56)", "-1234.56"), ("-1.234,56", "-1234.56"), ("1.234,56", "1234.56"), ("12,5", "12.5"),
    ("-42,17", "-42.17"), ("1,000", "1000"), ("1.234.567", "1234567"), ("100.00-", "-100.00"),
    ("1 234,56", "1234.56"), ("+5", "5"), ("$1,000.00", "1000.00"), ("12,34,567.00", "1234567.00"),
])
def test_amount_forms(text, expected):
    value = parse_amount(text)
    assert isinstance(value, Decimal) and str(value) == expected
    [txn] = only_transactions(bank(f"D2024-01-05\nT{text}"))
    assert str(txn.amount) == expected


@pytest.mark.parametrize("text", ["abc", "1e5", "NaN", "--5", "12.34.56", "1,2,3", "1,5.00", "12,3456", "()"])
def test_an_unreadable_amount_names_its_line(text):
    error = error_of(bank("D2024-01-05\nPShop\nT" + text))
    assert error.line == 4 and f"cannot read the amount {text!r}" in str(error)


def test_U_is_the_amount_when_T_is_missing_and_T_wins_when_both_are_there():
    first, second = only_transactions(bank("D2024-01-05\nU-3.00", "D2024-01-06\nU-9.99\nT-4.00"))
    assert (first.amount, second.amount) == (Decimal("-3.00"), Decimal("-4.00"))


def test_a_record_without_an_amount_or_a_date_is_an_error_at_its_first_line():
    assert error_of(bank("D2024-01-05\nT-1.00", "PShop\nD2024-01-06")).line == 5
    error = error_of(bank("D2024-01-05\nT-1.00", "PShop\nT-2.00"))
    assert error.line == 5 and "no date" in str(error)


# ─── fields, splits, record endings ──────────────────────────────────────────────────────────

def test_fields_land_in_the_common_record():
    [cheque, deposit] = only_transactions(bank(
        "D2024-01-05\nT-25.00\nN123\nPWalmart\nMGroceries\nCX\nLFood:Groceries\nA1 Main St",
        "D2024-01-06\nT100.00\nNDEP\nPPay"))
    assert (cheque.payee, cheque.original_payee, cheque.memo) == ("Walmart", "Walmart", "Groceries")
    assert (cheque.cheque_number, cheque.type, cheque.line) == ("123", None, 2)
    assert (deposit.cheque_number, deposit.type, deposit.memo, deposit.line) == (None, "DEP", None, 11)


def test_splits_are_kept_in_order_with_category_memo_and_amount():
    [txn] = only_transactions(bank(
        "D10/11/97\nT-98.05\nPBofA\nLTextbooks\nSTextbooks\nEFall 1997\n$-53.30\nSHousehold\nEWal-Mart\n$-44.75\n"
        "S[Savings]\n$-0.00\n$1.00"), "mdy")
    assert txn.splits == (Split("Textbooks", "Fall 1997", Decimal("-53.30")),
                          Split("Household", "Wal-Mart", Decimal("-44.75")),
                          Split("[Savings]", None, Decimal("-0.00")), Split(None, None, Decimal("1.00")))
    assert statement_json(parse(bank("D2024-01-01\nT-1\nSA\n$-1"))[0])["transactions"][0]["splits"] == [
        {"category": "A", "memo": None, "amount": "-1"}]


def test_a_split_without_an_amount_names_its_line():
    error = error_of(bank("D2024-01-05\nT-10.00\nSFood\nEhalf\n$-5.00\nSHome\nEother half"))
    assert error.line == 7 and "split" in str(error)


def test_a_split_record_without_T_takes_the_sum_of_its_splits():
    [txn] = only_transactions(bank("D2024-01-05\nSFood\n$-5.00\nSHome\n$-2.50"))
    assert txn.amount == Decimal("-7.50")


def test_double_caret_endings_comments_blank_lines_crlf_and_an_unclosed_last_record():
    text = ("### exported by a test\r\n# another comment\r\n\r\n!Type:Bank \r\nD8/ 1/97\r\nT3,300.00\r\n"
            "^^\r\n\r\n# between records\r\nD8/12/97\r\nT-1.00\r\n^^\r\nD8/13/97\r\nT-2.00")
    transactions = only_transactions(text)
    assert [(t.date, t.amount, t.line) for t in transactions] == [
        (date(1997, 8, 1), Decimal("3300.00"), 5), (date(1997, 8, 12), Decimal("-1.00"), 10),
        (date(1997, 8, 13), Decimal("-2.00"), 13)]


def test_old_mac_line_ends_count_lines_too():
    [txn] = only_transactions("!Type:Bank\rD2024-01-05\rT-1.00\r^\r")
    assert txn.line == 2


# ─── sections and accounts ───────────────────────────────────────────────────────────────────

def test_autoswitch_lists_define_accounts_and_each_account_gets_its_statement():
    text = ("!Option:AutoSwitch\n!Account\nNChecking\nTBank\n^\nNVisa\nTCCard\n^\nNSaver\nTBank\n^\n"
            "!Clear:AutoSwitch\n!Account\nNChecking\n^\n!Type:Bank\nD2024-01-05\nT-1.00\n^\n"
            "!Account\nNVisa\n^\n!Type:CCard\nD2024-01-06\nT-20.00\n^\n"
            "!Account\nNChecking\nTBank\n^\n!Type:Bank\nD2024-01-07\nT-3.00\n^\n")
    statements = parse(text)
    assert [(s.account.id, s.account.type, [str(t.amount) for t in s.transactions]) for s in statements] == [
        ("Checking", "Bank", ["-1.00", "-3.00"]), ("Visa", "CCard", ["-20.00"])]
    assert statements[0].start == date(2024, 1, 5) and statements[0].end == date(2024, 1, 7)


def test_transactions_before_any_account_go_to_an_unnamed_account():
    text = ("!Type:Bank\n^\nD2022-09-23\nT-184.8\n^\n!Account\nNSavings\nTOth A\n^\n!Type:Oth A\n"
            "D2022-09-24\nT5\n^\n")
    statements = parse(text)
    assert [(s.account.id, s.account.type, len(s.transactions)) for s in statements] == [
        (None, "Bank", 1), ("Savings", "Oth A", 1)]


def test_a_headerless_list_of_records_is_read_as_one_unnamed_account():
    [statement] = parse("D1/15/24\nT-1.00\nPShop\n^\nD1/16/24\nT-2.00\n^\n")
    assert statement.account.type is None and [t.line for t in statement.transactions] == [1, 5]


@pytest.mark.parametrize("kind", ["Bank", "Cash", "CCard", "Oth A", "Oth L", "oth  l", "BANK"])
def test_every_transaction_section_type_is_read(kind):
    [statement] = parse(bank("D2024-01-05\nT-1.00", header=f"!Type:{kind}"))
    assert len(statement.transactions) == 1 and statement.account.id is None


def test_list_sections_are_skipped_and_an_unknown_section_is_an_error():
    text = ("!Type:Cat\nNGroceries\nDFood\nE\n^\n!Type:Class\nNBiz\n^\n!Type:Memorized\nKC\nT-5.00\nPRent\n^\n"
            "!Type:Prices\n\"AAPL\",123.45,\" 1/ 1'20\"\n^\n!Type:Security\nNApple\nSAAPL\n^\n"
            "!Type:Bank\nD2024-01-05\nT-1.00\n^\n!Type:Memorized\n")
    [statement] = parse(text)
    assert len(statement.transactions) == 1
    error = error_of(bank("D2024-01-05\nT-1.00", header="!Type:Bogus"))
    assert error.line == 1 and "unknown QIF section '!Type:Bogus'" in str(error)


def test_investment_records_are_kept_with_the_action_as_type_and_cash_direction_as_sign():
    text = ("!Account\nNBroker\nTInvst\n^\n!Type:Invst\n"
            "D8/25/93\nNBuyX\nYibm4\nI11.030\nQ9.066\nT100.00\nL[CHECKING]\n$100.00\n^\n"
            "D8/26/93\nNSell\nYibm4\nT-250.00\n^\n"
            "D8/27/93\nNBuy\nYAAPL\nI32.00\nQ10\nO5\n^\n"
            "D8/28/93\nNShrsIn\nYibm4\nT1,000.00\nMOpening\n^\n"
            "D8/29/93\nNCash\nL[Checking]\n^\n")
    [statement] = parse(text)
    assert statement.account.type == "Invst"
    assert [(t.type, str(t.amount), t.payee) for t in statement.transactions] == [
        ("BuyX", "-100.00", "ibm4"), ("Sell", "250.00", "ibm4"), ("Buy", "-325.00", "AAPL"),
        ("ShrsIn", "1000.00", "ibm4"), ("Cash", "0", "")]
    assert statement.transactions[3].memo == "Opening" and statement.transactions[0].cheque_number is None


# ─── bytes, encodings and bad input ──────────────────────────────────────────────────────────

def test_windows_1252_and_bom_and_utf16_are_decoded():
    cp1252 = bank("D2024-01-05\nT-4.50\nPCafé Crème").encode("cp1252")
    assert only_transactions(cp1252)[0].payee == "Café Crème"
    with_bom = b"\xef\xbb\xbf" + bank("D2024-01-05\nT-4.50\nPCafé").encode("utf-8")
    assert only_transactions(with_bom)[0].payee == "Café"
    assert PARSER.sniff(with_bom, "x.txt") >= 0.9
    utf16 = bank("D2024-01-05\nT-4.50\nPCafé").encode("utf-16")
    assert only_transactions(utf16)[0].payee == "Café"


@pytest.mark.parametrize("data, message", [
    (b"", "empty"), (b"  \r\n\r\n", "empty"), (b"\x00\x01\x02binary\x00\xff" * 50, "binary"),
    (bytes(range(1, 9)) * 200, "binary"), (b"Date,Amount\n2024-01-05,-1.00\n", "not a QIF file"),
    (b"!Type:Bank\nD2024-01-05\nT-1.00\n^\n\x81\x8d\n", "neither UTF-8 nor Windows-1252"),
    (b"!Typo:Bank\n", "unknown QIF header"),
])
def test_bad_files_give_one_clear_error_naming_the_file(data, message):
    error = error_of(data)
    assert message in str(error) and str(error).startswith("test.qif")


def test_undecodable_bytes_name_their_line():
    assert error_of(b"!Type:Bank\nD2024-01-05\nT-1.00\n^\nP\x81\x8d\n").line == 5


def test_sniff_is_sure_of_headers_after_comments_and_takes_the_suffix_as_a_hint_only():
    assert PARSER.sniff(b"### comment\n\n!Type:Bank\nD1/1/24\n", "a.txt") >= 0.9
    assert PARSER.sniff(b"!Account\nNChecking\n", "a.dat") >= 0.9
    assert PARSER.sniff(b"!option:AutoSwitch\n", "a.dat") >= 0.9
    assert 0 < PARSER.sniff(b"D1/1/24\nT-1.00\n^\n", "a.qif") < 0.9
    assert 0 < PARSER.sniff(b"hello", "a.qif") < PARSER.sniff(b"D1/1/24\nT-1.00\n^\n", "a.qif")
    assert PARSER.sniff(b"Date,Amount\n2024-01-05,-1.00\n", "a.csv") == 0
    assert PARSER.sniff(b"OFXHEADER:100\nDATA:OFXSGML\n<OFX>", "a.ofx") == 0


# ─── fuzz: nothing but the project's own error may come out ──────────────────────────────────

SEED = bank("D8/31' 0\nU-1,000.00\nT-1,000.00\nNTXFR\nPTransfer\nL[Savings]",
            "D12/31/2024\nT(42.17)\nSFood\nEhalf\n$-21.00\nSHome\n$-21.17",
            header="!Account\nNChecking\nTBank\n^\n!Type:Bank").encode() + \
    b"!Type:Invst\nD1/ 1'01\nNBuy\nYAAPL\nI32.00\nQ10\nO5\n^\n!Type:Cat\nNFood\n^\n"


@st.composite
def mutated_seed(draw):
    data = bytearray(SEED)
    for _ in range(draw(st.integers(1, 8))):
        position = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        chunk = draw(st.binary(min_size=1, max_size=6) | st.sampled_from(
            [b"\n", b"^", b"!Type:", b"D", b"T", b"S", b"$", b"/", b"'", b",", b".", b"(", b"-", b"13", b"99"]))
        if action == "insert":
            data[position:position] = chunk
        elif action == "delete":
            del data[position:position + len(chunk)]
        else:
            data[position:position + len(chunk)] = chunk
    return bytes(data)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=400) | mutated_seed(), order=st.sampled_from([None, "dmy", "mdy", "ymd"]))
def test_fuzzed_bytes_raise_only_importer_errors(data, order):
    PARSER.sniff(data, "fuzz.qif")
    try:
        statements = parse(data, order, filename="fuzz.qif")
    except ImporterError as exc:
        assert exc.file == "fuzz.qif"
        return
    for statement in statements:
        for txn in statement.transactions:
            assert isinstance(txn.amount, Decimal) and isinstance(txn.date, date)
            statement_json(statement)


# ─── through the command line ────────────────────────────────────────────────────────────────

def test_psimport_parse_reports_ambiguous_dates_in_one_line_and_reads_them_with_date_order(tmp_path):
    from click.testing import CliRunner

    from importer.cli import cli

    statement = tmp_path / "export.qif"
    statement.write_bytes(bank("D03/04/2024\nT(4.50)\nPCafé", "D05/04/2024\nT1.234,56\nPPay").encode("cp1252"))
    runner = CliRunner()
    failed = runner.invoke(cli, ["parse", str(statement), "--state-dir", str(tmp_path)])
    assert failed.exit_code == InputError.exit_code and failed.stdout == ""
    [message] = failed.stderr.strip().splitlines()
    assert message.startswith(f"Error: {statement}, line 2: cannot tell whether dates")
    assert "--date-order dmy" in message
    read = runner.invoke(cli, ["parse", str(statement), "--date-order", "dmy", "--format", "json",
                               "--state-dir", str(tmp_path)])
    assert read.exit_code == 0, read.output
    [parsed] = json.loads(read.stdout)["statements"]
    assert parsed["format"] == "qif"
    assert [(t["date"], t["amount"], t["payee"]) for t in parsed["transactions"]] == [
        ("2024-04-03", "-4.50", "Café"), ("2024-04-05", "1234.56", "Pay")]
