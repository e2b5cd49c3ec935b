"""The OFX parser: the corpus manifest, each quirk in a small inline file, bad input, and fuzzing."""

from __future__ import annotations

import io
import json
import re
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from importer.output import statements as views
from importer.errors import ImporterError, InputError
from importer.parsers.ofx import OfxParser, decode_ofx, ofx_date, parse_ofx_amount
from importer.record import Split, Statement, Transaction, transaction_json

PARSER = OfxParser()


def parse(data: bytes | str, filename: str = "test.ofx") -> list[Statement]:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return [statement.finish() for statement in PARSER.parse(data, filename)]


def only(data: bytes | str, filename: str = "test.ofx"):
    statements = parse(data, filename)
    assert len(statements) == 1
    return statements[0].transactions


SGML_HEADER = ("OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\nSECURITY:NONE\nENCODING:USASCII\nCHARSET:1252\n"
               "COMPRESSION:NONE\nOLDFILEUID:NONE\nNEWFILEUID:NONE\n\n")


def sgml(*transactions: str, header: str = SGML_HEADER, currency: str = "AUD") -> str:
    """A one-account OFX 1.02 file around these STMTTRN bodies (the header is 10 lines)."""
    body = "".join(f"<STMTTRN>\n{t}\n</STMTTRN>\n" for t in transactions)
    return (f"{header}<OFX>\n<BANKMSGSRSV1><STMTTRNRS><TRNUID>1<STATUS><CODE>0<SEVERITY>INFO</STATUS>\n"
            f"<STMTRS><CURDEF>{currency}<BANKACCTFROM><BANKID>062000<ACCTID>1234<ACCTTYPE>CHECKING</BANKACCTFROM>\n"
            f"<BANKTRANLIST><DTSTART>20240101<DTEND>20240131\n{body}</BANKTRANLIST>\n"
            f"<LEDGERBAL><BALAMT>100.00<DTASOF>20240131</LEDGERBAL></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>\n")


def trn(amount: str = "-4.50", posted: str = "20240105", name: str = "COFFEE", extra: str = "",
        fitid: str = "F1") -> str:
    return f"<TRNTYPE>DEBIT\n<DTPOSTED>{posted}\n<TRNAMT>{amount}\n<FITID>{fitid}\n<NAME>{name}{extra}"


# ─── the corpus ───────────────────────────────────────────────────────────────────────────────

def _raw_count(notes: str) -> int | None:
    found = re.search(r"(\d+) STMTTRN \+ (\d+) investment", notes)
    return int(found.group(1)) + int(found.group(2)) if found else None


@pytest.mark.corpus("ofx")
def test_every_corpus_file_gives_its_expected_count_or_a_clear_error(corpus_file):
    path = corpus_file.path
    expected = corpus_file.expected
    notes = corpus_file.notes
    if "error response" in notes:
        # The bank answered with an error and no statement: say so, quoting the bank.
        with pytest.raises(InputError, match="General Server Error") as caught:
            parse(path.read_bytes(), path.name)
        assert caught.value.file == path.name and caught.value.line
        return
    if "malformed" in notes:
        try:
            statements = parse(path.read_bytes(), path.name)
        except InputError as error:
            assert error.file == path.name
            assert "download" in error.message or "export" in error.message  # says what to do
            return
        count = sum(len(s.transactions) for s in statements)
        assert count in {expected, _raw_count(notes)} - {None}
        return
    statements = parse(path.read_bytes(), path.name)
    assert sum(len(s.transactions) for s in statements) == expected
    for statement in statements:
        for txn in statement.transactions:
            assert isinstance(txn.date, date) and isinstance(txn.amount, Decimal)
            assert txn.external_id and txn.payee is not None and txn.line >= 1


@pytest.fixture
def corpus_ofx(corpus):
    """corpus_ofx("<file>"): the bytes of corpus/ofx/<file> (the test skips without the corpus)."""
    return lambda name: corpus.read(f"ofx/{name}")


def test_a_qbo_with_two_bank_accounts_and_a_card_gives_three_statements(corpus_ofx):
    statements = parse(corpus_ofx("beangulp__example.qbo"), "example.qbo")
    assert [(s.account.id, s.account.type, len(s.transactions)) for s in statements] == [
        ("011016298027", "CHECKING", 10), ("122384459041", "BJNZDIF", 4), ("2542393734236684", "CREDITCARD", 9)]
    assert [s.closing_balance for s in statements] == [Decimal("368.62"), Decimal("2468.87"), Decimal("0.00")]
    first = statements[0]
    assert (first.account.bank_id, first.account.currency) == ("003801010", "CAD")
    assert (first.start, first.end) == (date(2013, 6, 26), date(2013, 9, 3))
    assert first.transactions[0].line == 42  # the line of its <STMTTRN>


def test_cp1252_bytes_under_a_1252_header_and_html_entities_from_the_corpus(corpus_ofx):
    [txn] = only(corpus_ofx("actual__1252.qfx"))
    assert (txn.payee, txn.memo) == ("Café Métro €uro", "Paiement 5€ — débit")
    rows = only(corpus_ofx("actual__html-vals.qfx"))
    assert rows[0].memo == "PREAUTHORIZED DEBIT;B.C. HYDRO & POWER AUTHORITY;Electronic Funds Transfer"
    assert rows[1].payee == "TPAY &lt;DEFTPYMT&gt;"  # double-escaped by the bank: decoded once only
    assert rows[1].date == date(2023, 3, 1)


def test_investment_statements_give_their_cash_side(corpus_ofx):
    rows = only(corpus_ofx("reds-importers__etrade_09092023.QFX"))
    assert [(r.type, r.amount, r.payee) for r in rows] == [
        ("BUYSTOCK", Decimal("-82.34"), "Buy TAIWAN SEMICONDUCTOR MFG LTD SPONSORED ADS"),
        ("INVEXPENSE", Decimal("-21.89"), "Expense TAIWAN SEMICONDUCTOR MFG LTD SPONSORED ADS"),
        ("INCOME", Decimal("104.23"), "Dividend TAIWAN SEMICONDUCTOR MFG LTD SPONSORED ADS"),
        ("BUYSTOCK", Decimal("-1344.27"), "Buy VISA INC COM CL A")]
    assert rows[0].date == date(2023, 7, 14) and rows[0].external_id == "230714_B_0"
    statements = parse(corpus_ofx("ofxparse__investment_401k.ofx"))
    assert statements[0].account.type == "INVESTMENT" and statements[0].account.bank_id == "example.org"
    transfer = statements[0].transactions[2]
    assert (transfer.amount, transfer.payee, transfer.memo) == (Decimal(0), "Transfer out Baz Fund",
                                                                 "-9.060702 units at 21.928764")


# ─── quirks, one small file each ──────────────────────────────────────────────────────────────

def test_the_date_is_the_calendar_day_the_bank_wrote_whatever_the_offset():
    rows = only(sgml(trn(posted="20240105000000[+10:AEST]"), trn(posted="20240105235959.000[-5:EST]", fitid="2"),
                     trn(posted="20240105120000[-3:GMT]", fitid="3"),
                     trn(posted="20240105000000[+5.5:IST]", fitid="4")))
    assert {r.date for r in rows} == {date(2024, 1, 5)}


@pytest.mark.parametrize("written, amount", [
    ("-200,00", "-200.00"), ("+1234.56", "1234.56"), ("-1,234.56", "-1234.56"), ("-1.234,56", "-1234.56"),
    ("1 234,56", "1234.56"), ("1,234,567", "1234567"), ("-00000000001500.0000", "-1500.0000"), ("-0", "0"),
    (".5", "0.5"), ("  -4.50  ", "-4.50"), ("1'234.50", "1234.50")])
def test_amounts_with_signs_separators_and_decimal_commas(written, amount):
    [txn] = only(sgml(trn(amount=written)))
    assert txn.amount == Decimal(amount) and str(txn.amount) == amount


@pytest.mark.parametrize("written", ["$120", "1e5", "NaN", "12-", "1,23,4.5", "1.2.3,4,5", "١٢", "Infinity", "-"])
def test_amounts_that_are_not_numbers_are_refused(written):
    assert parse_ofx_amount(written) is None


def test_cp1252_bytes_under_a_utf8_header_fall_back_and_utf8_under_a_1252_header_is_utf8():
    header = SGML_HEADER.replace("ENCODING:USASCII", "ENCODING:UTF-8").replace("CHARSET:1252", "CHARSET:NONE")
    [txn] = only(sgml(trn(name="CAFÉ DÉLICE – €5"), header=header).encode("cp1252"))
    assert txn.payee == "CAFÉ DÉLICE – €5"
    [txn] = only(sgml(trn(name="CAFÉ DÉLICE – €5")).encode("utf-8"))
    assert txn.payee == "CAFÉ DÉLICE – €5"
    xml_latin = ('<?xml version="1.0" encoding="ISO-8859-1"?>\n' + sgml(trn(name="Zürich €"), header=""))
    assert decode_ofx(xml_latin.encode("cp1252")).count("Zürich €") == 1  # latin-1 labels read as cp1252


def test_cdata_entities_and_comments():
    rows = only(sgml(trn(name="<![CDATA[AT&T <MOBILE>  ]]>", extra="\n<MEMO>A &amp; B &#233;&eacute; &not;ok &amp;lt;"),
                     trn(name="SHOP <!-- <TRNAMT>-999 --> ONE", fitid="2",
                         extra="\n<!-- <STMTTRN><TRNAMT>1</STMTTRN>\n -->\n<MEMO>after"), trn(fitid="3")))
    assert rows[0].payee == "AT&T <MOBILE>"
    assert rows[0].memo == "A & B éé ¬ok &lt;"  # entities end in ';'; a second level stays as written
    assert (rows[1].payee, rows[1].amount, rows[1].memo) == ("SHOP ONE", Decimal("-4.50"), "after")
    assert [r.line for r in rows] == [15, 23, 33]  # a comment spanning lines still counts its lines


def test_a_trailing_nul_a_bom_a_missing_header_and_a_comment_before_the_header():
    text = sgml(trn())
    assert only(text.encode() + b"\x00\x00")[0].amount == Decimal("-4.50")
    assert only(b"\xef\xbb\xbf" + text.encode())[0].amount == Decimal("-4.50")
    assert only(sgml(trn(), header=""))[0].line == 5
    commented = "<!--\n" + SGML_HEADER + "-->\n"
    assert only(sgml(trn(), header=commented))[0].line == 17


def test_lowercase_tags_and_xml_without_line_breaks():
    [txn] = only(sgml(trn(name="Shop"), header="").lower().replace("shop", "Shop"))
    assert (txn.payee, txn.amount, txn.date) == ("Shop", Decimal("-4.50"), date(2024, 1, 5))
    xml = ('<?xml version="1.0" encoding="UTF-8"?><?OFX OFXHEADER="200" VERSION="220"?><OFX><CREDITCARDMSGSRSV1>'
           '<CCSTMTTRNRS><CCSTMTRS><CURDEF>NZD</CURDEF><CCACCTFROM><ACCTID>4111</ACCTID></CCACCTFROM><BANKTRANLIST>'
           '<STMTTRN><TRNTYPE>DEBIT</TRNTYPE><DTPOSTED>20240229</DTPOSTED><TRNAMT>-9.99</TRNAMT><FITID>x</FITID>'
           '<NAME>Ünïcödé</NAME><MEMO></MEMO></STMTTRN></BANKTRANLIST></CCSTMTRS></CCSTMTTRNRS>'
           '</CREDITCARDMSGSRSV1></OFX>')
    [statement] = parse(xml)
    assert (statement.account.type, statement.account.currency) == ("CREDITCARD", "NZD")
    [txn] = statement.transactions
    assert (txn.payee, txn.memo, txn.line, txn.currency) == ("Ünïcödé", None, 1, "NZD")


def test_name_and_memo_are_both_kept_and_payee_is_tidied():
    name = "AMAZON MKTPLACE PMTS AMZN.COM/BI"  # cut at 32 characters by the bank
    [txn] = only(sgml(trn(name=name + "  ", extra="\n<MEMO>AMAZON MKTPLACE PMTS AMZN.COM/BILL WA")))
    assert (txn.original_payee, txn.memo) == (name, "AMAZON MKTPLACE PMTS AMZN.COM/BILL WA")
    [txn] = only(sgml(trn(name="SPOTIFY   USA\t 2877")))
    # A tab, like any control character, becomes a space even in the text as written (issue 15).
    assert (txn.payee, txn.original_payee) == ("SPOTIFY USA 2877", "SPOTIFY   USA 2877")
    [txn] = only(sgml("<TRNTYPE>CHECK\n<DTPOSTED>20240105\n<TRNAMT>-20\n<FITID>9\n<CHECKNUM>0001001\n<MEMO>"))
    assert (txn.payee, txn.original_payee, txn.memo, txn.cheque_number) == ("Cheque 1001", "", None, "1001")
    [txn] = only(sgml(trn(extra="\n<CHECKNUM>0")))
    assert txn.cheque_number is None


def test_payee_falls_back_to_the_memo_and_dtuser_stands_in_for_a_missing_dtposted():
    [txn] = only(sgml("<TRNTYPE>DEBIT\n<DTUSER>20240107\n<TRNAMT>-1\n<FITID>1\n<MEMO>CARD PURCHASE BAKERY"))
    assert (txn.date, txn.payee, txn.memo) == (date(2024, 1, 7), "CARD PURCHASE BAKERY", "CARD PURCHASE BAKERY")


def test_currency_of_a_transaction_and_of_its_original_amount():
    eur = trn(extra="\n<CURRENCY><CURRATE>1.6<CURSYM>EUR</CURRENCY>")
    converted = trn(fitid="2", extra="\n<ORIGCURRENCY><CURRATE>1.6<CURSYM>EUR</ORIGCURRENCY>")
    rows = only(sgml(eur, converted))
    assert [r.currency for r in rows] == ["EUR", "AUD"]  # ORIGCURRENCY: the amount is already in AUD


def test_a_reused_fitid_keeps_both_transactions():
    rows = only(sgml(trn(fitid="A"), trn(fitid="A", amount="-9.00"), trn(fitid="A", amount="-7.00"), trn(fitid="B")))
    assert [r.external_id for r in rows] == ["A", "A-2", "A-3", "B"]
    same = only(sgml(trn(fitid="A"), trn(fitid="A")))
    assert [r.external_id for r in same] == ["A", "A"]  # the same transaction listed twice keeps its id


def test_missing_fitids_get_stable_synthetic_ids():
    text = sgml(trn(fitid=""), trn(fitid=""))
    first, again = only(text), only(text)
    assert first[0].external_id.startswith("ps-") and first[0].external_id != first[1].external_id
    assert [t.external_id for t in first] == [t.external_id for t in again]


def test_line_numbers_point_at_each_stmttrn():
    rows = only(sgml(trn(), trn(fitid="2"), trn(fitid="3")))
    # header 10 lines, <OFX> 11, signon 12, <STMTRS> 13, list 14, then 7 lines per transaction
    assert [r.line for r in rows] == [15, 22, 29]


def test_a_statement_whose_end_tags_are_missing_is_closed_by_its_wrapper():
    text = sgml(trn()).replace("</STMTRS>", "").replace("</BANKTRANLIST>", "")
    statements = parse(text)
    assert len(statements) == 1 and statements[0].closing_balance == Decimal("100.00")


# ─── bad input: one clear message naming the file and line ────────────────────────────────────

def error_of(data: bytes | str, filename: str = "bad.ofx") -> InputError:
    with pytest.raises(InputError) as caught:
        parse(data, filename)
    assert caught.value.file == filename
    return caught.value


def test_an_empty_or_binary_or_foreign_file():
    assert "no <OFX>" in error_of(b"").message
    assert "binary" in error_of(bytes(range(256)) * 8).message
    assert "not an OFX file" in error_of(b"Date,Amount\n2024-01-01,1\n").message


def test_a_truncated_file_names_a_line():
    text = sgml(trn(), trn(fitid="2"))
    cut = text[:text.index("</STMTTRN>", text.index("<FITID>2"))]
    error = error_of(cut)
    assert error.line == 22 and "not closed" in error.message
    error = error_of(text[:text.index("</BANKTRANLIST>")])
    assert "cut short" in error.message and error.line == 28
    error = error_of(sgml(trn(), trn(fitid="2")).replace("</STMTTRN>\n<STMTTRN>", "\n<STMTTRN>", 1))
    assert error.line == 15 and "not closed before the next <STMTTRN>" in error.message
    two = sgml(trn(), header="") + sgml(trn(fitid="2"), header="")  # downloads pasted together
    assert len(parse(two)) == 2
    assert "cut short" in error_of(two[:two.rindex("</OFX>")]).message


def test_missing_date_impossible_date_and_bad_amount_name_their_line():
    error = error_of(sgml(trn(), "<TRNTYPE>DEBIT\n<TRNAMT>-1\n<FITID>2"))
    assert error.line == 22 and "no date" in error.message
    error = error_of(sgml(trn(posted="20230229")))
    assert error.line == 17 and "impossible date '20230229'" in error.message
    error = error_of(sgml(trn(amount="$12.00")))
    assert error.line == 18 and "'$12.00'" in error.message and "TRNAMT" in error.message
    error = error_of(sgml("<TRNTYPE>DEBIT\n<DTPOSTED>20240105\n<FITID>1"))
    assert error.line == 15 and "no amount" in error.message
    # the same deep in a run of transactions of one layout, which the fast lane reads
    error = error_of(sgml(trn(), trn(fitid="2"), trn(fitid="3", amount="12-"), trn(fitid="4")))
    assert error.line == 32 and "'12-'" in error.message
    error = error_of(sgml(trn(), trn(fitid="2"), trn(fitid="3", posted="20230230"), trn(fitid="4")))
    assert error.line == 31 and "'20230230'" in error.message


def test_an_error_response_quotes_the_bank_and_a_file_without_statements_says_so():
    response = ("<OFX><SIGNONMSGSRSV1><SONRS><STATUS><CODE>15500<SEVERITY>ERROR<MESSAGE>Signon invalid"
                "</STATUS></SONRS></SIGNONMSGSRSV1></OFX>")
    error = error_of(response)
    assert "15500" in error.message and "Signon invalid" in error.message and error.line == 1
    empty = error_of("<OFX><SIGNONMSGSRSV1></SIGNONMSGSRSV1></OFX>")
    assert "no bank, credit-card or investment statement" in empty.message


def test_an_account_the_bank_failed_beside_one_it_sent_is_a_warning(caplog):
    failed = ("<STMTTRNRS><TRNUID>2<STATUS><CODE>2019<SEVERITY>ERROR<MESSAGE>Duplicate request</STATUS>"
              "</STMTTRNRS>\n")
    text = sgml(trn()).replace("<BANKMSGSRSV1>", "<BANKMSGSRSV1>" + failed)
    with caplog.at_level("WARNING"):
        assert len(parse(text)) == 1
    assert "2019" in caplog.text and "Duplicate request" in caplog.text and "line 12" in caplog.text


def test_an_unclosed_investment_transaction_is_an_error():
    text = ("<OFX><INVSTMTMSGSRSV1><INVSTMTTRNRS><INVSTMTRS><CURDEF>USD<INVACCTFROM><ACCTID>9</INVACCTFROM>\n"
            "<INVTRANLIST>\n<INCOME><INVTRAN><FITID>1<DTTRADE>20240105</INVTRAN><TOTAL>5\n"
            "<INCOME><INVTRAN><FITID>2<DTTRADE>20240106</INVTRAN><TOTAL>6</INCOME>\n"
            "</INVTRANLIST></INVSTMTRS></INVSTMTTRNRS></INVSTMTMSGSRSV1></OFX>")
    assert error_of(text).line == 3


# ─── small pieces ─────────────────────────────────────────────────────────────────────────────

def test_ofx_date_reads_the_first_eight_digits_only():
    assert ofx_date("20240105000000.000[+10:AEST]") == date(2024, 1, 5)
    assert ofx_date("2024-01-05T10:00") == date(2024, 1, 5)
    assert ofx_date("20241305") is None and ofx_date("2024") is None and ofx_date("") is None


def test_sniff_is_sure_of_content_and_only_hinted_by_the_name():
    assert PARSER.sniff(SGML_HEADER.encode(), "x.txt") >= 0.9
    assert PARSER.sniff(b"<?xml version='1.0'?>\n<?OFX OFXHEADER=\"200\"?>", "x.xml") >= 0.9
    assert PARSER.sniff(b"<!-- x -->\n<ofx>\n<signonmsgsrsv1>", "x") >= 0.9
    assert 0 < PARSER.sniff(b"Date,Amount\n", "x.qfx") < 0.5
    assert PARSER.sniff(b"Date,Amount\n", "x.csv") == 0


def test_the_jsonl_output_has_the_same_records_as_transaction_json(corpus_ofx):
    statements = parse(corpus_ofx("beangulp__example.qbo")) + parse(corpus_ofx("ofxparse__fidelity.ofx"))
    statements += parse(sgml(trn(name='QUOTE " BACKSLASH \\ TAB\t', extra="\n<ACCTBAL>12.5")))
    split = Transaction(date(2024, 1, 5), Decimal("-10"), "Shop", "SHOP", splits=(
        Split("Food", None, Decimal("-6")), Split(None, "rest", Decimal("-4"))))
    statements.append(Statement(file="x.qif", format="qif", transactions=[split, split._replace(splits=())]))
    out = io.StringIO()
    views.show_statements(statements, "jsonl", out)
    written = [json.loads(line) for line in out.getvalue().splitlines()]
    expected = [{**transaction_json(t), "file": s.file, "account": s.account.id}
                for s in statements for t in s.transactions]
    assert written == expected
    assert [list(row) for row in written] == [list(row) for row in expected]  # same key order


# ─── properties and fuzzing ───────────────────────────────────────────────────────────────────

payee_text = st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="<>&"), min_size=1,
                     max_size=40).filter(str.strip)
rows = st.lists(st.tuples(st.dates(date(1990, 1, 1), date(2100, 12, 31)),
                          st.decimals(min_value=-10**9, max_value=10**9, places=2, allow_nan=False),
                          payee_text, st.booleans()), min_size=1, max_size=12)


def _write(rows, xml: bool) -> str:
    parts = []
    for i, (day, amount, payee, with_memo) in enumerate(rows):
        fields = {"TRNTYPE": "OTHER", "DTPOSTED": day.strftime("%Y%m%d") + "120000[+10:AEST]", "TRNAMT": str(amount),
                  "FITID": f"id{i}", "NAME": payee.replace("&", "&amp;")}
        if with_memo:
            fields["MEMO"] = f"memo {i}"
        closer = (lambda tag: f"</{tag}>") if xml else (lambda tag: "")
        parts.append("".join(f"<{tag}>{value}{closer(tag)}\n" for tag, value in fields.items()))
    text = sgml(*parts, header="")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + text) if xml else SGML_HEADER + text


@settings(max_examples=60, deadline=None)
@given(rows=rows, xml=st.booleans())
def test_written_statements_read_back_unchanged(rows, xml):
    parsed = only(_write(rows, xml))
    assert [(t.date, t.amount, t.original_payee, t.memo, t.external_id) for t in parsed] == [
        (day, amount, payee.strip(), f"memo {i}" if with_memo else None, f"id{i}")
        for i, (day, amount, payee, with_memo) in enumerate(rows)]


VALID = sgml(trn(), trn(fitid="2", amount="+1,234.50", extra="\n<MEMO>x &amp; y"),
             "<TRNTYPE>CHECK\n<DTPOSTED>20240105\n<TRNAMT>-20\n<FITID>9\n<CHECKNUM>0001001").encode()


def _only_importer_errors(data: bytes) -> None:
    try:
        statements = PARSER.parse(data, "fuzz.ofx")
    except ImporterError:
        return
    for statement in statements:
        statement.finish()
        for txn in statement.transactions:
            assert isinstance(txn.date, date) and isinstance(txn.amount, Decimal) and txn.amount.is_finite()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600))
def test_arbitrary_bytes_give_statements_or_an_importer_error(data):
    _only_importer_errors(data)
    _only_importer_errors(b"<OFX>" + data)


mutation = st.tuples(st.sampled_from(["delete", "insert", "replace", "duplicate", "truncate"]),
                     st.integers(0, len(VALID)), st.integers(0, 60), st.binary(min_size=1, max_size=12))


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(mutation, min_size=1, max_size=6))
def test_mutated_files_give_statements_or_an_importer_error(mutations):
    data = VALID
    for kind, at, length, blob in mutations:
        at = min(at, len(data))
        if kind == "delete":
            data = data[:at] + data[at + length:]
        elif kind == "insert":
            data = data[:at] + blob + data[at:]
        elif kind == "replace":
            data = data[:at] + blob + data[at + len(blob):]
        elif kind == "duplicate":
            data = data[:at + length] + data[at:]
        else:
            data = data[:at]
    _only_importer_errors(data)
