"""Shipped CSV mappings: each is detected from a sample in its bank's real layout and reads the right
money, dates and payees; mapping YAML is validated with errors that name the file and the key."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from importer.config import builtin_mappings_dir
from importer.errors import ConfigError, InputError
from importer.parsers.csv.mapping import available_mappings, find_mapping, load_mapping
from importer.parsers.base import ParseOptions
from importer.parsers.csv import CsvParser

SAMPLES = Path(__file__).resolve().parent / "mapping_samples"

# mapping: (rows, first row's (date, amount, payee), sum of amounts, closing balance)
EXPECTED = {
    "cba": (3, (date(2024, 2, 3), "-4.50", "DAILY GRIND CAFE SYDNEY NS AUS Card xx1234 Value Date: 01/02/2024"),
            "2875.50", "2995.50"),
    "westpac": (3, (date(2024, 1, 18), "-85.20", "EFTPOS PURCHASE WOOLWORTHS 1234 SYDNEY"), "1764.80", "1914.80"),
    "anz": (3, (date(2024, 2, 28), "-59.95", "VISA DEBIT PURCHASE CARD 8003 BUNNINGS 341000 BALGOWLAH"),
            "786.55", None),
    "nab": (3, (date(2024, 2, 14), "-45.20", "Coles"), "954.80", "954.80"),
    "ing_au": (2, (date(2024, 3, 19), "-67.43", "Visa Purchase - Receipt 123456 In ALDI STORES Date 17 Mar 2024 "
                                                "Card 462263xxxxxx1234"), "1432.57", "1432.57"),
    "macquarie": (2, (date(2023, 12, 19), "-82.15", "Woolworths"), "917.85", "917.85"),
    "up": (2, (date(2024, 1, 15), "-6.00", "Coffee Club"), "2494.00", None),
    "bankwest": (2, (date(2024, 7, 24), "-25.90", "LS Taquiza Newport AU"), "974.10", "974.10"),
    "asb": (3, (date(2024, 6, 28), "-54.30", "COUNTDOWN PONSONBY"), "1345.70", None),
    "anz_nz": (3, (date(2024, 9, 14), "-91.20", "Z Energy Kingsland"), "2553.81", None),
    "bnz": (2, (date(2024, 3, 24), "-98.38", "WOOLWORTHS NZ/MOORHO"), "2001.62", None),
    "kiwibank": (2, (date(2024, 9, 14), "-182.40", "Mercury"), "-182.15", "1000.00"),
    "westpac_nz": (2, (date(2024, 9, 3), "-15.99", "Spotify"), "1784.01", None),
    "monzo": (2, (date(2024, 7, 14), "-42.60", "Screwfix"), "407.40", None),
    "starling": (2, (date(2024, 10, 1), "1500.00", "An Employer"), "500.00", "4500.00"),
    "revolut": (2, (date(2024, 3, 13), "-33.89", "Tesco"), "-134.89", "1808.52"),
    "barclays": (3, (date(2024, 8, 3), "-10.99", "NETFLIX.COM ON 02 AUG BCC"), "2387.71", None),
    "hsbc_uk": (3, (date(2024, 7, 25), "-22.80", "SAINSBURYS S/MKTS"), "2416.21", None),
    "lloyds": (2, (date(2024, 1, 15), "-10.99", "NETFLIX.COM"), "880.31", "880.31"),
    "nationwide": (3, (date(2024, 6, 3), "-10.99", "NETFLIX.COM"), "980.61", "2202.04"),
    "chase": (3, (date(2024, 9, 7), "-100.00", "ATM WITHDRAWAL 009775 09/07233 3RD A"), "1070.00", "324.17"),
    "chase_credit": (2, (date(2024, 8, 1), "-5.75", "STARBUCKS STORE 12345"), "244.25", None),
    "amex": (2, (date(2024, 7, 1), "-54.99", "AMZN MKTP US*A12BC3"), "445.01", None),
    "bank_of_america": (2, (date(2024, 5, 19), "-42.17", "GROCERY STORE"), "2457.83", "3457.83"),
    "capital_one": (2, (date(2024, 12, 31), "-1000.00", "Airplanes R Us"), "0.00", None),
    "wells_fargo": (3, (date(2024, 8, 1), "-25.00", "PURCHASE AUTHORIZED ON 07/31 STARBUCKS"), "1855.00", None),
    "n26": (2, (date(2024, 10, 1), "-850.00", "Vermieter GmbH"), "-873.45", None),
    "ing_nl": (2, (date(2024, 2, 13), "-23.45", "Albert Heijn 1234"), "1976.55", None),
    "ing_de": (3, (date(2024, 1, 14), "-12.99", "Netflix International B.V."), "1226.01", None),
    "dkb": (2, (date(2024, 6, 28), "-1250.00", "Vermieter GmbH"), "1850.50", None),
    "bunq": (2, (date(2024, 1, 12), "-24.99", "Albert Heijn"), "1475.01", None),
}

AU_NZ = {"cba", "westpac", "anz", "nab", "ing_au", "macquarie", "up", "bankwest", "asb", "anz_nz", "bnz",
         "kiwibank", "westpac_nz"}


def parse_sample(name: str, **options):
    path = SAMPLES / f"{name}.csv"
    return CsvParser().parse(path.read_bytes(), path.name, ParseOptions(**options))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_is_detected_as_its_bank_and_reads_right(name):
    rows, (first_date, first_amount, first_payee), total, closing = EXPECTED[name]
    statements = parse_sample(name)
    assert [s.format for s in statements] == [f"csv:{name}"]
    transactions = statements[0].transactions
    assert len(transactions) == rows
    first = transactions[0]
    assert (first.date, first.amount, first.payee) == (first_date, Decimal(first_amount), first_payee)
    assert all(isinstance(t.amount, Decimal) for t in transactions)
    assert sum(t.amount for t in transactions) == Decimal(total)
    assert statements[0].closing_balance == (None if closing is None else Decimal(closing))
    assert [t.line for t in transactions] == sorted(t.line for t in transactions)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_reads_the_same_when_the_mapping_is_named(name):
    detected = parse_sample(name)[0].transactions
    named = parse_sample(name, mapping=name)[0].transactions
    assert named == detected


def test_the_shipped_list_covers_the_banks_people_use_with_pocketsmith():
    shipped = {m.name for m in available_mappings() if m.builtin}
    assert set(EXPECTED) <= shipped
    assert AU_NZ <= shipped
    assert len(shipped) >= 25


def test_shipped_mapping_descriptions_speak_to_users_not_to_the_test_suite():
    # `psimport mappings` shows `bank` to people choosing a layout; where a layout came from belongs in
    # documented_at, not in the name of the bank.
    import re
    jargon = [m.bank for m in available_mappings() if m.builtin and re.search(r"fixture|\bOCA\b|test", m.bank, re.I)]
    assert jargon == []


def test_every_shipped_mapping_has_a_sample_or_a_corpus_file_that_it_reads(corpus):
    corpus_formats = set()
    for file in corpus.files("csv"):
        try:
            statements = CsvParser().parse(file.read(), file.name, ParseOptions())
        except InputError:
            continue
        corpus_formats.update(s.format.removeprefix("csv:") for s in statements)
    sampled = {p.stem for p in SAMPLES.glob("*.csv")}
    for mapping in available_mappings():
        assert mapping.name in sampled | corpus_formats, f"{mapping.name} has no sample"


def test_every_shipped_mapping_says_where_its_layout_is_documented():
    for mapping in available_mappings():
        assert mapping.documented_at, f"{mapping.name} does not say where its layout is documented"


def test_every_shipped_mapping_loads_cleanly_and_names_its_bank():
    for path in sorted(builtin_mappings_dir().glob("*.yaml")):
        mapping = load_mapping(path)
        assert mapping.name == path.stem
        assert mapping.bank and mapping.country


def test_the_demo_savings_statement_is_read_by_the_cba_mapping():
    from importer.config import samples_dir
    path = samples_dir() / "savings.csv"
    statements = CsvParser().parse(path.read_bytes(), path.name, ParseOptions())
    assert statements[0].format == "csv:cba"
    assert statements[0].transactions[0].amount > 0


def test_pending_rows_are_dropped_where_the_mapping_says_so():
    statements = parse_sample("dkb")
    assert all(t.payee != "REWE Markt GmbH" for t in statements[0].transactions)
    revolut = parse_sample("revolut")[0].transactions
    assert "Pret A Manger" not in {t.payee for t in revolut}


def test_fee_is_charged_on_top_and_amex_charges_are_money_out():
    exchange = parse_sample("revolut")[0].transactions[1]
    assert exchange.amount == Decimal("-101.00")
    amex = parse_sample("amex")[0].transactions
    assert [t.amount for t in amex] == [Decimal("-54.99"), Decimal("500.00")]
    assert amex[0].external_id == "320241830000001"


def test_preamble_gives_the_account_and_the_header_is_found_after_it():
    asb = parse_sample("asb")[0]
    assert asb.account.id == "12-3089-0361809-00"
    assert [t.line for t in asb.transactions] == [8, 9, 10]  # preamble, header and a blank line counted
    nationwide = parse_sample("nationwide")[0]
    assert nationwide.account.id == "FlexDirect ****12345"
    assert nationwide.transactions[2].amount == Decimal("1000.00")


# ─── validation ──────────────────────────────────────────────────────────────────────────────

def write(tmp_path, text: str, name: str = "mybank.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_unknown_key_names_the_file_and_lists_the_valid_keys(tmp_path):
    path = write(tmp_path, "columns: {date: Date, amount: Amount, payee: Payee}\ndelimeter: ';'\n")
    with pytest.raises(ConfigError) as error:
        load_mapping(path)
    message = str(error.value)
    assert str(path) in message and "delimeter" in message and "delimiter" in message


def test_unknown_column_role_is_an_error(tmp_path):
    path = write(tmp_path, "columns: {date: Date, amount: Amount, payee: Payee, narrative: Narrative}\n")
    with pytest.raises(ConfigError, match="columns.narrative"):
        load_mapping(path)


@pytest.mark.parametrize("body, complaint", [
    ("columns: {amount: Amount, payee: Payee}", "columns.date"),
    ("columns: {date: Date, payee: Payee}", "columns.amount"),
    ("columns: {date: Date, amount: A, debit: D, credit: C, payee: P}", "not both"),
    ("columns: {date: Date, amount: A, payee: P}\ndate_format: '%d/%q/%Y'", "%q"),
    ("columns: {date: Date, amount: A, payee: P}\ndecimal: ';'", "decimal"),
    ("columns: {date: Date, amount: A, payee: P}\nsign: backwards", "sign"),
    ("header: false\ncolumns: {date: Date, amount: 1, payee: 2}", "no header"),
    ("columns: {date: Date, amount: A, payee: P}\ndrop: [{column: S, matches: '(unclosed'}]", "regular expression"),
    ("columns: {date: Date, amount: A, payee: P}\nshape: [date, money]", "money"),
    ("columns: {date: Date, amount: A, payee: P}\nencoding: klingon", "klingon"),
    ("- just\n- a list", "YAML mapping"),
    ("columns: {date: Date, amount: A, payee: P\n", "not valid YAML"),
])
def test_invalid_mappings_say_what_is_wrong(tmp_path, body, complaint):
    path = write(tmp_path, body + "\n")
    with pytest.raises(ConfigError, match=complaint.replace("(", r"\(")):
        load_mapping(path)


def test_every_problem_of_a_mapping_is_reported_at_once_with_its_line(tmp_path):
    path = write(tmp_path, """\
name: mybank
header: false
country: NO
columns:
  date: 0
  amount: Amount
  paye: 2
drop:
  - {column: 3, matches: '(unclosed'}
  - {zero_amount: true, no_amount: true}
date_format: '%d/%q/%Y'
""")
    with pytest.raises(ConfigError) as error:
        load_mapping(path)
    lines = str(error.value).splitlines()
    assert lines[0] == f"{path}: 6 problems:"
    expected = [
        "line 3: 'country' must be text, not false",
        "line 7: unknown key 'columns.paye' (did you mean 'payee'?); valid keys are: date, amount,",
        "line 9: 'drop[0].matches' is not a valid regular expression: missing ), unterminated",
        "line 10: 'drop[1]' takes one of 'matches', 'not_matches', 'zero_amount', 'no_amount' or "
        "'line_matches', not 2",
        "line 11: 'date_format' uses %q, which psimport does not read; use %d %m %Y",
        "line 6: 'columns.amount' names a column ('Amount'), but the file has no header; use a 0-based number",
    ]
    assert len(lines) == 1 + len(expected)
    for line, start in zip(lines[1:], expected):
        assert line.startswith(f"  {path}, {start}"), line


def test_a_mapping_built_in_code_is_checked_the_same_without_lines():
    from importer.parsers.csv.mapping import mapping_from_dict
    with pytest.raises(ConfigError) as error:
        mapping_from_dict({"columns": {"date": "Date", "amount": "Amount", "payee": "Payee", "balance": True}},
                          name="mine")
    assert str(error.value) == ("mapping 'mine': 'columns.balance' must be a column name or a 0-based column number, "
                                "not true")
    mapping = mapping_from_dict({"columns": {"date": 0, "amount": 2, "memo": [1, 3]}, "header": False,
                                 "delimiter": "tab"}, name="mine")
    assert (mapping.name, mapping.delimiter, mapping.memo.columns, mapping.payee) == ("mine", "\t", (1, 3), None)


def test_unknown_mapping_name_lists_the_known_ones():
    with pytest.raises(ConfigError) as error:
        find_mapping("no_such_bank")
    assert "cba" in str(error.value) and "westpac" in str(error.value)


def test_a_user_mapping_in_a_mapping_dir_is_detected_before_the_shipped_ones(tmp_path):
    folder = tmp_path / "mappings"
    folder.mkdir()
    write(folder, "name: my_credit_union\nbank: My Credit Union\nsignature: [When, What, How much]\n"
                  "columns: {date: When, amount: How much, payee: What}\ndate_format: '%Y-%m-%d'\n",
          "my_credit_union.yaml")
    data = b"When,What,How much\n2024-05-01,Bakery,-3.20\n2024-05-02,Refund,3.20\n"
    statements = CsvParser().parse(data, "cu.csv", ParseOptions(mapping_dirs=(folder,)))
    assert statements[0].format == "csv:my_credit_union"
    assert [t.amount for t in statements[0].transactions] == [Decimal("-3.20"), Decimal("3.20")]
    by_path = CsvParser().parse(data, "cu.csv", ParseOptions(mapping=str(folder / "my_credit_union.yaml")))
    assert by_path[0].transactions == statements[0].transactions


def test_mappings_command_lists_user_and_shipped_mappings_and_prints_one(tmp_path):
    import json
    from click.testing import CliRunner
    from importer.cli import cli
    folder = tmp_path / "mappings"
    folder.mkdir()
    write(folder, "name: my_cu\nbank: My CU\ncolumns: {date: When, amount: Amt, payee: What}\n", "my_cu.yaml")
    config = write(tmp_path, f"mappings_dir: {folder}\n", "psimport.yaml")
    listed = CliRunner().invoke(cli, ["mappings", "--format", "json", "--config", str(config)])
    assert listed.exit_code == 0, listed.output
    names = [m["name"] for m in json.loads(listed.output)["mappings"]]
    assert names[0] == "my_cu" and {"cba", "westpac", "monzo"} <= set(names)
    shown = CliRunner().invoke(cli, ["mappings", "cba"])
    assert shown.exit_code == 0 and load_mapping(builtin_mappings_dir() / "cba.yaml").name == "cba"
    assert "name: cba" in shown.output
    missing = CliRunner().invoke(cli, ["mappings", "no_such_bank"])
    assert missing.exit_code != 0 and "known mappings" in missing.output


def test_typos_in_config_and_mappings_get_a_suggestion(tmp_path):
    import pytest
    from importer.accounts import account_rules
    from importer.errors import ConfigError
    from importer.parsers.csv.mapping import load_mapping
    mapping = tmp_path / "mine.yaml"
    mapping.write_text("name: mine\nsignature: [Date, Amount]\ncolums:\n  date: Date\n")
    with pytest.raises(ConfigError, match=r"unknown key 'colums' \(did you mean 'columns'\?\)"):
        load_mapping(mapping)
    with pytest.raises(ConfigError, match=r"'accounts\[0\].ofx_acount' \(did you mean 'ofx_account'\?\)"):
        account_rules([{"ofx_acount": "1", "transaction_account_id": 5}], tmp_path / "psimport.yaml")


# ─── what a date error under a mapping says ───────────────────────────────────────────────────

MYBANK = ("name: mybank\nsignature: [{names}]\ncolumns: {{date: Date, payee: Description, amount: Amount}}\n"
          "date_format: '%d/%m/%Y'\n")


@pytest.mark.parametrize("header, rows, footer, rule", [
    ("Date,Description,Amount", ["13/01/2024,TESCO,-23.45", "14/01/2024,BOOTS,-5.00"],
     ["Closing balance,,100.00", "Total,,-28.45"], "{line_matches: '^(Closing balance|Total)'}"),
    ("Description,Date,Amount", ["TESCO,13/01/2024,-23.45", "BOOTS,14/01/2024,-5.00"],
     [",Total,-28.45"], "{column: 'Date', matches: '^Total$'}"),
])
def test_a_user_mapping_meeting_a_footer_says_the_drop_rule_that_leaves_it_out(tmp_path, header, rows, footer,
                                                                                 rule):
    mapping = tmp_path / "mybank.yaml"
    mapping.write_text(MYBANK.format(names=", ".join(header.split(","))))
    statement = tmp_path / "statement.csv"
    statement.write_text("\n".join([header, *rows, *footer]) + "\n")
    with pytest.raises(InputError) as caught:
        CsvParser().parse(statement.read_bytes(), "statement.csv", ParseOptions(mapping=str(mapping)))
    assert caught.value.line == 4
    assert f"add `drop: [{rule}]` to the mapping to leave them out" in str(caught.value)
    # The rule as the message writes it, added to the mapping, reads the file.
    mapping.write_text(mapping.read_text() + f"drop: [{rule}]\n")
    (read,) = CsvParser().parse(statement.read_bytes(), "statement.csv", ParseOptions(mapping=str(mapping)))
    assert [str(t.amount) for t in read.transactions] == ["-23.45", "-5.00"]


def test_a_date_that_does_not_parse_names_the_mapping_that_read_it(tmp_path):
    mapping = tmp_path / "mybank.yaml"
    mapping.write_text(MYBANK.format(names="Date, Description, Amount"))
    data = b"Date,Description,Amount\n13/01/2024,TESCO,-23.45\n2024-01-14,BOOTS,-5.00\n"
    with pytest.raises(InputError) as caught:
        CsvParser().parse(data, "statement.csv", ParseOptions(mapping=str(mapping)))
    message = str(caught.value)
    assert caught.value.line == 3 and f"read with mapping 'mybank' ({mapping})" in message
    assert "footer" not in message     # a date with digits is a bad date, not a summary line
    with pytest.raises(InputError, match="read with the shipped mapping 'hsbc_uk'"):
        CsvParser().parse(b"13/01/2024,TESCO,-23.45\n14-01-2024,BOOTS,-5.00\n", "s.csv",
                          ParseOptions(mapping="hsbc_uk"))
