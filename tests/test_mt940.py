"""The MT940 parser: every MT940/MT942 file of the corpus, and one small statement for each quirk it handles."""

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


def parse(data, name="statement.sta"):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return [statement.finish() for statement in Mt940Parser().parse(data, name)]


@pytest.fixture
def parse_corpus(corpus):
    """parse_corpus("mt940/<file>"): that corpus file's statements (the test skips without the corpus)."""
    return lambda relative: parse(corpus.read(relative), relative)


def records(statements):
    return [txn for statement in statements for txn in statement.transactions]


def statement(*lines, opening=":60F:C240101EUR100,00", closing=":62F:C240131EUR100,00"):
    return "\n".join([":20:REF1", ":25:NL91ABNA0417164300", ":28C:1/1", opening, *lines, closing, "-"]) + "\n"


def one(*lines):
    return records(parse(statement(*lines)))[0]


@pytest.mark.corpus("mt940")
def test_every_corpus_file_gives_the_manifest_count_or_a_clear_error(corpus_file):
    expected = corpus_file.expected or 0
    if DELIBERATELY_BAD.search(corpus_file.notes):
        try:
            statements = parse(corpus_file.read(), corpus_file.relative)
        except InputError as exc:
            assert corpus_file.relative in str(exc) and exc.line
            return
        assert len(records(statements)) == expected
        return
    statements = parse(corpus_file.read(), corpus_file.relative)
    assert len(records(statements)) == expected
    for txn in records(statements):
        assert isinstance(txn.amount, Decimal) and isinstance(txn.date, date)
        assert txn.line and txn.external_id and txn.currency


@pytest.mark.corpus("mt940")
def test_mt940_files_are_claimed_by_the_mt940_parser_and_not_the_camt_one(corpus_file):
    head = corpus_file.read()[:65536]
    assert Mt940Parser().sniff(head, corpus_file.name) >= 0.9
    assert CamtParser().sniff(head, corpus_file.name) == 0


def test_sniffing_needs_the_tags_the_suffix_is_only_a_hint():
    parser = Mt940Parser()
    assert parser.sniff(b"Date,Amount\n2024-01-01,5\n", "export.csv") == 0
    assert 0 < parser.sniff(b"hello\n", "export.sta") < 0.5
    assert parser.sniff(b"{1:F01X}{2:I940X}{4:\r\n:20:A\r\n:25:B\r\n:60F:C240101EUR1,\r\n", "x") >= 0.9


def test_the_registry_detects_mt940_by_content(corpus):
    statements = registry.parse_file(corpus.path("mt940/mt940__ASNB-mt940.txt"))
    assert statements[0].format == "mt940" and len(records(statements)) == 8


def test_marks_sign_the_amount_and_reversals_flip_it():
    amounts = [t.amount for t in records(parse(statement(
        ":61:240105C10,00NTRFNONREF", ":61:240105D2,5NTRFNONREF", ":61:240105RC3,NTRFNONREF",
        ":61:240105RD4,01NTRFNONREF", ":61:240105CR5,00NTRFNONREF", ":61:240105DF0000006,NTRFNONREF")))]
    assert amounts == [Decimal("10.00"), Decimal("-2.5"), Decimal("-3"), Decimal("4.01"), Decimal("5.00"),
                       Decimal("-6")]


def test_the_entry_date_is_the_date_and_rolls_across_the_year_end():
    assert one(":61:2401050107D1,00NTRFNONREF").date == date(2024, 1, 7)
    assert one(":61:2412311231D1,00NTRFNONREF").date == date(2024, 12, 31)
    assert one(":61:2501021231D1,00NTRFNONREF").date == date(2024, 12, 31)  # booked before the value date
    assert one(":61:2412310102D1,00NTRFNONREF").date == date(2025, 1, 2)
    assert one(":61:240105D1,00NTRFNONREF").date == date(2024, 1, 5)  # no entry date: the value date
    assert one(":61:990105D1,00NTRFNONREF").date == date(1999, 1, 5)


def test_an_impossible_date_in_the_corpus_names_the_file_and_the_line(parse_corpus):
    with pytest.raises(InputError, match=r"february_30.sta, line 6: impossible :61: value date '160230'"):
        parse_corpus("mt940/mt940__february_30.sta")


def test_impossible_dates_name_the_file_and_the_line():
    with pytest.raises(InputError, match=r"statement.sta, line 5: impossible :61: entry date '0230'"):
        parse(statement(":61:2402280230D1,00NTRFNONREF"))
    with pytest.raises(InputError, match=r"line 5: cannot read the :61: statement line"):
        parse(statement(":61:24010X1,00NTRFNONREF"))
    with pytest.raises(InputError, match=r"line 4: cannot read the :60F: balance"):
        parse(statement(opening=":60F:C240101EUR"))


def test_a_malformed_header_tag_is_an_error(parse_corpus):
    with pytest.raises(InputError, match=r"line 1: unknown field tag ':9401:'"):
        parse_corpus("mt940/oca-bank-statement-import__test-wrong-file.940")


def test_rabobanks_header_tag_is_fine():
    assert len(parse(":940:\n" + statement(":61:240105C1,00NTRFNONREF"))) == 1


def test_not_mt940_at_all_is_a_clear_error():
    with pytest.raises(InputError, match="not an MT940 statement"):
        parse("just some text\n")
    with pytest.raises(InputError, match="binary"):
        parse(b":20:X\n\x00\x01\x02:25:")


def test_amounts_with_decimal_comma_leading_zeros_and_no_decimals():
    amounts = [t.amount for t in records(parse(statement(
        ":61:240105D000000001213,28N044NONREF", ":61:240105D9,N192NONREF", ":61:240105C0,01NTRFNONREF")))]
    assert amounts == [Decimal("-1213.28"), Decimal("-9"), Decimal("0.01")]
    assert parse(statement())[0].closing_balance == Decimal("100.00")
    assert parse(statement(closing=":62F:D240131EUR7,5"))[0].closing_balance == Decimal("-7.5")


def test_structured_details_give_payee_purpose_and_sepa_purpose():
    txn = one(":61:0211011102DR800,NSTONONREF//55555",
              ":86:008?00DAUERAUFTRAG?100599?20Miete November?3010020030?31234567?32MUELLER?33 HANS?34339")
    assert (txn.payee, txn.memo, txn.type) == ("MUELLER HANS", "Miete November", "NSTO")
    sepa = one(":61:2401050105CR50,00NTRFNONREF//BANK1",
               ":86:166?00GUTSCHRIFT?20EREF+E2E-7?21SVWZ+Rechnung 4711 vom?22 3.1.?32ACME GMBH")
    assert (sepa.payee, sepa.memo, sepa.external_id) == ("ACME GMBH", "Rechnung 4711 vom 3.1.", "BANK1")


def test_hard_wrapped_structured_fields_join_without_a_space():
    txn = one(":61:2401050105CR13068,30N051NONREF",
              ":86:051?00Bank Transfer Credit?10991118?20BETTERPLACE WDB E?2108.",
              "03.10-14.03.10?3051230800?319990437808?32WIRECARD BANK AG?34000")
    assert txn.memo == "BETTERPLACE WDB E 08.03.10-14.03.10" and txn.payee == "WIRECARD BANK AG"


def test_slash_style_details_and_rabobank_counterparty():
    txn = one(":61:240105D42,50NTRFNONREF//REF1",
              ":86:/TRTP/SEPA OVERBOEKING/IBAN/FR1420041010050500013M02606/BIC/PSSTFRPP/NAME/Boulangerie/REMI/"
              "Facture 42")
    assert (txn.payee, txn.memo) == ("Boulangerie", "Facture 42")
    cntp = one(":61:240105D1,00NTRFNONREF",
               ":86:/EREF/X1/CNTP/NL66RABO0160878799/RABONL2U/J. JANSEN/UTRECHT//REMI/USTD//Huur januari/")
    assert (cntp.payee, cntp.memo) == ("J. JANSEN", "Huur januari")


def test_free_text_details_and_supplementary_details(parse_corpus):
    statements = parse_corpus("mt940/mt940__rabobank.sta")
    first = statements[0].transactions[0]
    assert first.payee == "W.P. Jansen"  # after the padded 16-character reference
    assert first.memo == "Terugboeking NIET AKKOORD MET AFSCHRIJVING KOSTEN KINDEROPVANG JUNI 20095731"
    asn = parse_corpus("mt940/mt940__ASNB-mt940.txt")[0].transactions[0]
    assert asn.payee == "hr gjlm paulissen" and "Betaling sieraden" in asn.memo
    ing = parse_corpus("mt940/mt940__ing.sta")[0].transactions
    assert ing[1].payee.startswith("GPSEOUL")  # the leading account number is not the payee
    assert not any("D000004C000002" in (t.memo or "") for t in ing)  # :86: after :62F: is the statement's


def test_lines_wrapped_at_65_characters_join_without_a_space(parse_corpus):
    txns = parse_corpus("mt940/mt940__postfinance.sta")[1].transactions
    assert "XXXXXXXXSTRASSE 111" in txns[0].memo and "1 SONNENGLAESER" in txns[0].memo


def test_line_numbers_are_those_of_the_61_lines(parse_corpus):
    assert [t.line for t in parse_corpus("mt940/mt940__sns.sta")[0].transactions] == [5, 12]


def test_several_statements_accounts_and_balances(parse_corpus):
    statements = parse_corpus("mt940/mt940__rabobank.sta")
    assert [s.account.id for s in statements] == ["1291.99.348"] * 3 + ["1526.89.184"]
    assert [s.closing_balance for s in statements] == \
        [Decimal("395.82"), Decimal("1000.89"), Decimal("1250.87"), Decimal("4101.82")]
    empty = statements[1]
    assert (empty.start, empty.end, empty.transactions) == (date(2011, 6, 15), date(2011, 6, 16), [])
    german = parse_corpus("mt940/mt940__cmxl-mt940.sta")[1]
    assert (german.account.id, german.account.bank_id, german.account.currency) == \
        ("10020030/1234567", "10020030", "EUR")


def test_an_mt942_report_in_the_corpus_takes_its_currency_from_34f(parse_corpus):
    report = parse_corpus("mt940/mt940__mBank-mt942.sta")[0]
    assert report.format == "mt942" and report.account.currency == "PLN"  # from :34F:
    assert [t.external_id for t in report.transactions] == ["MB170119012058", "MB170119012085", "MB170119012121"]


def test_swift_envelope_and_control_characters():
    wrapped = "{1:F01BANKFRPPAXXX0000000000}{2:I940BANKFRPPXXXXN}{4:\n" + statement(
        ":61:240105D1,00NTRFNONREF//B1") + "-}{5:}\n"
    assert len(records(parse("\x01" + wrapped + "\x03"))) == 1


def test_a_misplaced_account_field_after_a_record_is_read_as_its_details(parse_corpus):
    txn = parse_corpus("mt940/mt940__sepa_snippet_broken.sta")[0].transactions[0]
    assert txn.payee == "KARL KAUFMANN" and txn.amount == Decimal("50990.05")


def test_hungarian_ns_fields_name_the_counterparty(parse_corpus):
    txn = parse_corpus("mt940/mt940__sberbank-171011_01234945.sta")[0].transactions[0]
    assert txn.payee == "ERGO Versicherung AG Fioktelep"


def test_a_corpus_file_in_dos_code_page_852_is_read_as_such(parse_corpus):
    assert parse_corpus("mt940/mt940__raiffeisen-cmi.sta")[0].transactions[0].payee == \
        "Csoportos átutalás jóváírása"


def test_encodings_utf8_then_cp1252():
    german = statement(":61:240105D1,00NTRFNONREF", ":86:166?00ÜBERWEISUNG?20Straße?32MÜLLER")
    assert one_from(german.encode("cp1252")).payee == "MÜLLER"
    assert one_from(german.encode("utf-8")).payee == "MÜLLER"
    assert one_from(b"\xef\xbb\xbf" + german.encode("utf-8")).memo == "Straße"


def one_from(data: bytes):
    return records(parse(data))[0]


def test_repeated_bank_references_fall_back_to_synthetic_ids(parse_corpus):
    txns = parse_corpus("mt940/mt940__cmxl-mt940.sta")[1].transactions  # both //55555
    assert all(t.external_id.startswith("ps-") for t in txns) and txns[0].external_id != txns[1].external_id


def test_cheque_numbers_come_from_chk_references():
    assert one(":61:131017D6800,NCHK16703074").cheque_number == "16703074"
    assert one(":61:131017D6800,NCHKN").cheque_number is None


@pytest.fixture(scope="module")
def mt940_samples(corpus) -> list[bytes]:
    return [file.read() for file in corpus.files("mt940")]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_statements_give_records_or_our_own_error(mt940_samples, data):
    damaged_statement = data.draw(damaged(mt940_samples, max_cut=100, max_offset=10**5), label="statement")
    try:
        statements = Mt940Parser().parse(damaged_statement, "fuzz.sta")
    except ImporterError:
        return
    for txn in records(statements):
        assert isinstance(txn.amount, Decimal) and isinstance(txn.date, date)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from([":20:X", ":25:A/B EUR", ":60F:C240101EUR1,", ":61:240105C1,NTRF", ":86:?20x",
                                 ":61:2401050107D1,5NMSCX//Y", ":62F:D240101EUR1,", "-}", "{4:", ":NS:15A", ""]),
                max_size=12), st.text(max_size=20))
def test_shuffled_fields_give_records_or_our_own_error(lines, noise):
    try:
        parse("\n".join(lines) + noise)
    except ImporterError:
        pass


def test_free_text_that_merely_starts_like_structured_details_is_kept():
    txn = one(":61:240105D3,00NMSCNONREF", ":86:100/12 monthly fee")
    assert txn.memo == "100/12 monthly fee" and txn.payee == "100/12 monthly fee"
    empty = one(":61:240105D3,00NMSCNONREF", ":86:166?30DEUTDEFF?31DE02120300000000202051")
    assert empty.memo == "166?30DEUTDEFF?31DE02120300000000202051"  # no name or purpose: kept whole
