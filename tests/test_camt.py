"""The CAMT parser: every camt file of the corpus, and one small document for each quirk it handles."""

import re
from datetime import date
from decimal import Decimal

import pytest
from fuzzing import damaged
from hypothesis import HealthCheck, given, settings, strategies as st

import importer.parsers as registry
from importer.errors import ImporterError, InputError
from importer.parsers.camt import CamtParser
from importer.parsers.mt940 import Mt940Parser

DELIBERATELY_BAD = re.compile(r"malformed|unsupported|wrong|invalid|broken", re.IGNORECASE)
NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"


def parse(data: bytes, name="statement.xml"):
    return [statement.finish() for statement in CamtParser().parse(data, name)]


@pytest.fixture
def parse_corpus(corpus):
    """parse_corpus("camt/<file>"): that corpus file's statements (the test skips without the corpus)."""
    return lambda relative: parse(corpus.read(relative), relative)


def records(statements):
    return [txn for statement in statements for txn in statement.transactions]


def document(entries: str, account="<Acct><Id><IBAN>NL91ABNA0417164300</IBAN></Id><Ccy>EUR</Ccy></Acct>",
             encoding="UTF-8", extra="") -> bytes:
    text = (f'<?xml version="1.0" encoding="{encoding}"?>\n<Document xmlns="{NS}"><BkToCstmrStmt>\n'
            f"<GrpHdr><MsgId>1</MsgId></GrpHdr>\n<Stmt><Id>S1</Id>{account}{extra}\n{entries}</Stmt>\n"
            "</BkToCstmrStmt></Document>\n")
    return text.encode(encoding)


def entry(amount="12.50", indicator="DBIT", booking="<Dt>2024-03-05</Dt>", details="", extra=""):
    booked = f"<BookgDt>{booking}</BookgDt>" if booking else ""
    return (f'<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>{indicator}</CdtDbtInd><Sts>BOOK</Sts>{booked}'
            f"<ValDt><Dt>2024-03-07</Dt></ValDt>{extra}<NtryDtls>{details}</NtryDtls></Ntry>\n")


@pytest.mark.corpus("camt")
def test_every_corpus_file_gives_the_manifest_count_or_a_clear_error(corpus_file):
    expected = corpus_file.expected or 0
    if DELIBERATELY_BAD.search(corpus_file.notes) and expected == 0:
        with pytest.raises(InputError) as caught:
            parse(corpus_file.read(), corpus_file.relative)
        assert corpus_file.relative in str(caught.value)
        return
    statements = parse(corpus_file.read(), corpus_file.relative)
    assert len(records(statements)) == expected
    for txn in records(statements):
        assert isinstance(txn.amount, Decimal) and isinstance(txn.date, date)
        assert txn.line and txn.external_id and txn.currency


@pytest.mark.corpus("camt")
def test_camt_files_are_claimed_by_the_camt_parser_and_not_the_mt940_one(corpus_file):
    head = corpus_file.read()[:65536]
    assert CamtParser().sniff(head, corpus_file.name) >= 0.8
    assert Mt940Parser().sniff(head, corpus_file.name) == 0


def test_the_registry_detects_camt_by_content(corpus):
    statements = registry.parse_file(corpus.path("camt/oca-bank-statement-import__test-camt053"))
    assert statements[0].format == "camt.053" and len(statements[0].transactions) == 4


def test_debits_are_negative_and_decimals_are_kept_exactly():
    txn = parse(document(entry("0.00001", "DBIT")))[0].transactions[0]
    assert str(txn.amount) == "-0.00001"
    assert parse(document(entry("7", "CRDT")))[0].transactions[0].amount == Decimal("7")


def test_a_corpus_file_with_five_decimals_keeps_them(parse_corpus):
    statements = parse_corpus("camt/genkgo-camt__camt053.v2.five.decimals.xml")
    assert statements[0].transactions[0].amount == Decimal("8.850")
    assert str(statements[0].transactions[0].amount) == "8.850"
    assert str(statements[0].closing_balance) == "27.050"


def test_statement_account_balance_and_period(parse_corpus):
    statement = parse_corpus("camt/oca-bank-statement-import__test-camt053")[0]
    assert (statement.account.id, statement.account.bank_id, statement.account.currency) == \
        ("NL77ABNA0574908765", "ABNANL2A", "EUR")
    assert statement.closing_balance == Decimal("15121.12")
    assert (statement.start, statement.end) == (date(2014, 1, 5), date(2014, 1, 5))
    negative = parse_corpus("camt/genkgo-camt__camt053.v2.minimal.xml")[0]
    assert negative.closing_balance == Decimal("-27.00")  # CLBD with DBIT


def test_booking_date_is_the_date_part_as_written_never_shifted():
    late = parse(document(entry(booking="<DtTm>2024-01-31T23:30:00-05:00</DtTm>")))[0].transactions[0]
    assert late.date == date(2024, 1, 31)
    zoned = parse(document(entry(booking="<Dt>2017-04-01+02:00</Dt>")))[0].transactions[0]
    assert zoned.date == date(2017, 4, 1)
    value_only = parse(document(entry(booking="")))[0].transactions[0]
    assert value_only.date == date(2024, 3, 7)


def test_impossible_date_names_the_line_of_the_entry():
    with pytest.raises(InputError, match=r"statement.xml, line 5: impossible date '2024-02-30'"):
        parse(document(entry(booking="<Dt>2024-02-30</Dt>")))


def test_payee_is_the_counterparty_memo_the_remittance_type_the_bank_code():
    details = ("<TxDtls><Refs><EndToEndId>E2E-1</EndToEndId></Refs><RltdPties><Dbtr><Nm>Payer</Nm></Dbtr>"
               "<Cdtr><Nm>  Daily   Grind </Nm></Cdtr></RltdPties><RmtInf><Ustrd>Flat white</Ustrd>"
               "<Ustrd>and cake</Ustrd></RmtInf></TxDtls>")
    code = "<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>ICDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>"
    txn = parse(document(entry(details=details, extra=code + "<AddtlNtryInf>CARD</AddtlNtryInf>")))[0] \
        .transactions[0]
    assert (txn.payee, txn.original_payee) == ("Daily Grind", "Daily   Grind")
    assert txn.memo == "Flat white and cake; CARD"
    assert txn.type == "PMNT/ICDT/ESCT" and txn.external_id == "E2E-1"
    credit = parse(document(entry(indicator="CRDT", details=details)))[0].transactions[0]
    assert credit.payee == "Payer" and credit.type == "credit"


def test_a_version_8_corpus_file_in_iso_8859_1_gives_its_payees(parse_corpus):
    version8 = parse_corpus("camt/actual__camt.latin1.xml")[0].transactions
    assert version8[1].payee == "Grüße aus München"  # Cdtr/Pty/Nm, ISO-8859-1 as declared
    assert version8[0].payee == "DAUERAUFTRAG" and version8[0].memo == "M-Überschusssparen; DAUERAUFTRAG"


def test_a_batch_is_split_per_transaction_when_their_amounts_add_up(parse_corpus):
    statement = parse_corpus("camt/oca-bank-statement-import__test-camt053")[0]
    assert [t.amount for t in statement.transactions] == \
        [Decimal("-754.25"), Decimal("-564.05"), Decimal("-100.00"), Decimal("1405.31")]
    assert [t.external_id for t in statement.transactions[1:3]] == \
        ["TESTBANK/NL/20141229/01206408", "TESTBANK/NL/20141229/01206407"]
    assert statement.transactions[1].line < statement.transactions[2].line  # each at its own TxDtls
    chf = parse_corpus("camt/oca-bank-statement-import__test-camt053-txdtls")[0].transactions
    assert [t.amount for t in chf] == [Decimal("2187.00"), Decimal("1296.00")]


def test_transaction_details_without_amounts_stay_one_record(parse_corpus):
    txns = parse_corpus("camt/genkgo-camt__camt054.v2.xml")[0].transactions
    assert len(txns) == 1 and txns[0].amount == Decimal("-200000")
    assert "V1" in txns[0].memo and "V3 block 2" in txns[0].memo


def test_a_batch_whose_amounts_do_not_add_up_is_not_split():
    detail = '<TxDtls><AmtDtls><TxAmt><Amt Ccy="EUR">{}</Amt></TxAmt></AmtDtls></TxDtls>'
    short = parse(document(entry("10.00", details=detail.format("4.00") + detail.format("5.00"))))
    assert [t.amount for t in short[0].transactions] == [Decimal("-10.00")]
    exact = parse(document(entry("10.00", details=detail.format("4.00") + detail.format("6.00"))))
    assert [t.amount for t in exact[0].transactions] == [Decimal("-4.00"), Decimal("-6.00")]


def test_shared_references_fall_back_to_synthetic_ids(parse_corpus):
    txns = parse_corpus("camt/oca-bank-statement-import__test-camt053-txdtls")[0].transactions
    assert all(t.external_id.startswith("ps-") for t in txns)  # both carry AcctSvcrRef 123456CHCAFEBABE
    assert txns[0].external_id != txns[1].external_id


def test_several_statements_in_one_document(parse_corpus):
    statements = parse_corpus("camt/genkgo-camt__camt053.v2.multi.statement.xml")
    assert [s.closing_balance for s in statements] == [Decimal("27.00"), Decimal("20.00")]
    assert [len(s.transactions) for s in statements] == [1, 1]


def test_declared_single_byte_encodings_are_honoured():
    details = "<TxDtls><RmtInf><Ustrd>Café 5€</Ustrd></RmtInf></TxDtls>"
    for encoding in ("windows-1252", "ISO-8859-15"):
        txn = parse(document(entry(details=details), encoding=encoding))[0].transactions[0]
        assert txn.memo == "Café 5€"


def test_bom_leading_whitespace_and_trailing_nuls_are_tolerated():
    data = b"\xef\xbb\xbf" + document(entry()) + b"\x00\x00"
    assert len(parse(data)[0].transactions) == 1
    txn = parse(b"\r\n\r\n" + document(entry()))[0].transactions[0]
    assert txn.line == 7  # the blank lines count


def test_unknown_namespace_and_header_only_documents_are_clear_errors(parse_corpus):
    with pytest.raises(InputError, match=r"line 2: unsupported XML namespace 'urn:weird-namespace'"):
        parse_corpus("camt/ofxstatement-iso20022__unsupported.xml")
    with pytest.raises(InputError, match=r"group header but no statement"):
        parse_corpus("camt/genkgo-camt__camt053.v2.wrong.xml")


def test_a_message_that_is_not_a_statement_is_a_clear_error():
    with pytest.raises(InputError, match=r"camt\.056 message, not a statement"):
        parse(b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.056.001.01"><FIToFIPmtCxlReq/></Document>')


def test_broken_xml_and_doctypes_are_refused_with_a_line():
    with pytest.raises(InputError, match=r"line 5: this is not well-formed XML"):
        parse(document(entry()).replace(b"</Ntry>", b"</Entry>"))
    bomb = (b'<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">]>\n'
            b'<Document xmlns="' + NS.encode() + b'"><BkToCstmrStmt/></Document>')
    with pytest.raises(InputError, match="DOCTYPE"):
        parse(bomb)


def test_missing_indicator_or_unreadable_amount_names_the_entry_line():
    with pytest.raises(InputError, match=r"line 5: .*credit/debit indicator"):
        parse(document(entry(indicator="")))
    with pytest.raises(InputError, match=r"line 5: cannot read the entry amount '12,50'"):
        parse(document(entry(amount="12,50")))


@pytest.fixture(scope="module")
def camt_samples(corpus) -> list[bytes]:
    return [file.read() for file in corpus.files("camt")]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_documents_give_records_or_our_own_error(camt_samples, data):
    damaged_document = data.draw(damaged(camt_samples, max_cut=200, max_offset=10**6), label="document")
    try:
        statements = CamtParser().parse(damaged_document, "fuzz.xml")
    except ImporterError:
        return
    for txn in records(statements):
        assert isinstance(txn.amount, Decimal) and isinstance(txn.date, date)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=500))
def test_arbitrary_bytes_give_our_own_error(data):
    try:
        CamtParser().parse(data, "fuzz.xml")
    except ImporterError:
        pass
