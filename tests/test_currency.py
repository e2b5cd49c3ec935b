"""A statement in another currency than its PocketSmith account's is refused before anything is written.

PocketSmith takes an amount as being in its account's currency: 100 USD sent to an AUD account would
silently become 100 AUD. Preview and import refuse it (online against the sandbox over real HTTP, and
offline with an --existing export that names the account), `--allow-currency-mismatch` lets it through
with a warning, and the hint for an unmapped statement never offers an account in another currency.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from importer.accounts import resolve_targets
from importer.errors import ConfigError
from importer.pocketsmith.models import TransactionAccount
from importer.record import Account, Statement

EVERYDAY = 510001           # the demo household's AUD everyday account


def _ofx(path: Path, currency: str, account: str = "987654321") -> Path:
    rows = "".join(f"<STMTTRN><TRNTYPE>DEBIT<DTPOSTED>2026110{day}<TRNAMT>-{day}0.00<FITID>F{day}"
                   f"<NAME>SHOP {day}</STMTTRN>\n" for day in (1, 2, 3))
    path.write_text("OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\n\n<OFX><BANKMSGSRSV1><STMTTRNRS><STMTRS>"
                    f"<CURDEF>{currency}<BANKACCTFROM><BANKID>1<ACCTID>{account}<ACCTTYPE>CHECKING</BANKACCTFROM>"
                    f"<BANKTRANLIST>\n{rows}</BANKTRANLIST></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>\n")
    return path




@pytest.mark.parametrize("sandbox", ["accounts"], indirect=True)
def test_a_usd_statement_into_an_aud_account_is_refused_by_preview_and_import(sandbox, run, tmp_path):
    statement = _ofx(tmp_path / "usd.ofx", "USD")
    before = sandbox.transactions()
    for command in (["preview"], ["import", "--yes"]):
        result = run(*command, statement, "--account", EVERYDAY, sandbox=sandbox)
        assert result.exit_code == 3, result.output
        assert "currency mismatch, nothing was written" in result.output
        assert f"usd.ofx: its amounts are in USD, but transaction account {EVERYDAY} (Everyday Account), " \
               "chosen by --account, is in AUD" in result.output
        assert "--allow-currency-mismatch" in result.output
    assert sandbox.transactions() == before
    methods = {r.method for r in sandbox.requests}
    assert "GET" in methods and methods <= {"GET"}      # it asked for the accounts, and wrote nothing
    assert json.loads(run("batches", "--format", "json").output)["batches"] == []   # no batch was opened


@pytest.mark.parametrize("sandbox", ["accounts"], indirect=True)
def test_allow_currency_mismatch_imports_the_amounts_unconverted_and_says_so(sandbox, run, tmp_path):
    statement = _ofx(tmp_path / "usd.ofx", "USD")
    preview = run("preview", statement, "--account", EVERYDAY, "--allow-currency-mismatch", "--format", "json",
                  sandbox=sandbox)
    assert preview.exit_code == 0, preview.output
    warnings = json.loads(preview.output)["warnings"]
    assert any("its amounts are in USD" in w and "imported unconverted" in w for w in warnings), warnings
    imported = run("import", statement, "--account", EVERYDAY, "--allow-currency-mismatch", "--yes",
                   sandbox=sandbox)
    assert imported.exit_code == 0, imported.output
    assert sorted(str(t["amount"]) for t in sandbox.transactions(EVERYDAY)) == ["-10.00", "-20.00", "-30.00"]


def _export(path: Path, account_id: int, currency: str) -> Path:
    account = {"id": account_id, "name": "Everyday Account", "number": "5678", "currency_code": currency,
               "type": "bank"}
    path.write_text(json.dumps([{"id": 1, "date": "2026-10-01", "amount": -5.0, "payee": "X",
                                 "transaction_account": account}]))
    return path


def test_offline_the_export_says_the_accounts_currency(run, tmp_path):
    statement = _ofx(tmp_path / "usd.ofx", "USD")
    export = _export(tmp_path / "export.json", EVERYDAY, "AUD")
    refused = run("preview", statement, "--account", EVERYDAY, "--existing", export)
    assert refused.exit_code == 3 and "its amounts are in USD" in refused.output and "is in AUD" in refused.output
    same = run("preview", _ofx(tmp_path / "aud.ofx", "AUD"), "--account", EVERYDAY, "--existing", export,
               "--format", "json")
    assert same.exit_code == 0, same.output
    assert not [w for w in json.loads(same.output)["warnings"] if "currency" in w]


def test_offline_an_account_the_export_does_not_name_is_said_to_be_unchecked(run, tmp_path):
    statement = _ofx(tmp_path / "usd.ofx", "USD")
    export = _export(tmp_path / "export.json", 42, "AUD")
    result = run("preview", statement, "--account", EVERYDAY, "--existing", export, "--format", "json")
    assert result.exit_code == 0, result.output
    assert any(f"currency of transaction account {EVERYDAY} is not known here" in w
               for w in json.loads(result.output)["warnings"])


def test_a_csv_currency_column_is_checked_row_by_row(run, tmp_path):
    mapping = tmp_path / "multi.yaml"
    mapping.write_text("name: multi\ncolumns: {date: Date, amount: Amount, payee: Payee, currency: Ccy}\n"
                       "date_format: '%Y-%m-%d'\n")
    csv = tmp_path / "mixed.csv"
    csv.write_text("Date,Payee,Amount,Ccy\n2026-11-01,A,-1.00,AUD\n2026-11-02,B,-2.00,EUR\n")
    export = _export(tmp_path / "export.json", EVERYDAY, "AUD")
    result = run("preview", csv, "--mapping", mapping, "--account", EVERYDAY, "--existing", export)
    assert result.exit_code == 3 and "mixed.csv: its amounts are in EUR" in result.output


def _statement(file: str, account_id: str, currency: str | None) -> Statement:
    return Statement(file=file, format="ofx", account=Account(id=account_id, currency=currency))


def test_the_hint_never_offers_an_account_in_another_currency():
    known = [TransactionAccount(id=11, name="Everyday", number="062000 5678", currency_code="AUD"),
             TransactionAccount(id=12, name="Euro Account", number="DE89 0000 9999", currency_code="EUR")]
    with pytest.raises(ConfigError) as caught:
        resolve_targets([_statement("eur.ofx", "NL00 1111 5678", "EUR")], known=known)
    message = str(caught.value)
    assert "transaction_account_id: ID}   # eur.ofx: ID of an account in EUR; Everyday (number ending 5678) " \
           "is in AUD" in message
    with pytest.raises(ConfigError) as caught:
        resolve_targets([_statement("aud.ofx", "11115678", "AUD")], known=known)
    assert "transaction_account_id: 11}   # aud.ofx: Everyday (number ending 5678)" in str(caught.value)


def test_the_number_match_skips_an_account_in_another_currency():
    # A multi-currency account: one number, a PocketSmith account per currency.
    known = [TransactionAccount(id=21, name="Wise AUD", number="12345678", currency_code="AUD"),
             TransactionAccount(id=22, name="Wise USD", number="12345678", currency_code="USD")]
    [target] = resolve_targets([_statement("usd.ofx", "12345678", "USD")], known=known)
    assert target.account_id == 22
    with pytest.raises(ConfigError, match="no PocketSmith transaction account"):
        resolve_targets([_statement("gbp.ofx", "12345678", "GBP")], known=known)


def test_a_mappings_currency_is_checked_for_a_spreadsheet_too(run, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    from datetime import date
    book = openpyxl.Workbook()
    book.active.append(["Date", "Counter Party", "Reference", "Type", "Amount (GBP)", "Balance (GBP)"])
    book.active.append([date(2026, 10, 1), "Tesco", "T", "CARD", -23.45, 976.55])     # Starling: GBP
    book.save(tmp_path / "starling.xlsx")
    export = _export(tmp_path / "export.json", EVERYDAY, "AUD")
    result = run("preview", tmp_path / "starling.xlsx", "--account", EVERYDAY, "--existing", export)
    assert result.exit_code == 3 and "starling.xlsx: its amounts are in GBP" in result.output


def test_the_library_preview_refuses_it_too_and_takes_the_flag(tmp_path):
    import importer
    statement = _ofx(tmp_path / "usd.ofx", "USD")
    export = _export(tmp_path / "export.json", EVERYDAY, "AUD")
    with pytest.raises(ConfigError, match="its amounts are in USD"):
        importer.preview(statement, existing=export, account=EVERYDAY, rules=False)
    plan = importer.preview(statement, existing=export, account=EVERYDAY, rules=False,
                            allow_currency_mismatch=True)
    assert plan.summary.create == 3 and any("imported unconverted" in w for w in plan.warnings)


MT940 = "\n".join([":20:REF1", ":25:NL91ABNA0417164300", ":28C:1/1", ":60F:C261101EUR100,00",
                   ":61:2611021102D12,50NTRFNONREF", ":86:Koffie", ":62F:C261102EUR87,50", "-"]) + "\n"


def test_an_mt940_statements_currency_is_checked(run, tmp_path):
    statement = tmp_path / "eur.sta"
    statement.write_text(MT940)
    export = _export(tmp_path / "export.json", EVERYDAY, "AUD")
    result = run("preview", statement, "--account", EVERYDAY, "--existing", export)
    assert result.exit_code == 3 and "eur.sta: its amounts are in EUR" in result.output


def _preview_into_aud(run, tmp_path, statement):
    """`psimport preview` of `statement` into the everyday account, which the export says is in AUD."""
    export = _export(tmp_path / "export.json", EVERYDAY, "AUD")
    return run("preview", statement, "--account", EVERYDAY, "--existing", export)

@pytest.mark.parametrize("header, cells", [
    ("Amount (GBP)", ("-4.50", "100.00")), ("Kwota [PLN]", ("-4,50", "100,00")), ("Amount", ("-4.50 GBP", "100.00 GBP")),
    ("Amount", ("£-4.50", "£100.00")), ("Amount", ("-45,67 PLN", "3 250,00 PLN")), ("Paid out £", ("4.50", "1.00"))])
def test_a_currency_in_the_header_or_the_cells_is_checked_against_the_account(run, tmp_path, header, cells):
    csv = tmp_path / "abroad.csv"
    csv.write_text(f'Date,Payee,"{header}"\n2026-11-01,A,"{cells[0]}"\n2026-11-02,B,"{cells[1]}"\n'
                   f'2026-11-13,C,"{cells[0]}"\n', encoding="utf-8")   # mostly money out: no sign question
    result = _preview_into_aud(run, tmp_path, csv)
    assert result.exit_code == 3 and "abroad.csv: its amounts are in" in result.output, result.output


def test_two_currencies_in_one_amount_column_are_an_error_at_the_line(run, tmp_path):
    csv = tmp_path / "mixed.csv"
    csv.write_text("Date,Payee,Amount\n2026-11-01,A,€-4.50\n2026-11-02,B,$100.00\n2026-11-13,C,€-1.00\n",
                   encoding="utf-8")
    result = run("parse", csv)
    assert result.exit_code == 2 and "mixed.csv, line 3" in result.output and "$" in result.output


# ─── amounts with three decimal places ────────────────────────────────────────────────────────

THREE_PLACES = "Date,Description,Amount\n2026-11-01,FUEL 41.2L,-61.845\n2026-11-02,SHOP,-5.00\n2026-11-03,PAY,100.00\n"


def test_amounts_with_three_decimal_places_are_read_as_written_and_said(run, tmp_path):
    csv = tmp_path / "fuel.csv"
    csv.write_text(THREE_PLACES)
    result = run("parse", csv, "--format", "json")
    assert result.exit_code == 0, result.output
    assert '"amount": "-61.845"' in result.stdout
    assert "1 amount with more than two decimal places (line 2: -61.845): read as written" in result.stderr
    assert "preview and import refuse them there" in result.stderr


def test_three_decimal_places_for_an_account_whose_currency_has_two_are_refused_with_nothing_written(run, tmp_path):
    csv = tmp_path / "fuel.csv"
    csv.write_text(THREE_PLACES)
    refused = run("preview", csv, "--account", EVERYDAY, "--existing", _export(tmp_path / "e.json", EVERYDAY, "AUD"))
    assert refused.exit_code == 2, refused.output
    assert "fuel.csv, line 2: the amount -61.845 has more than two decimal places, and transaction account " \
           f"{EVERYDAY} (Everyday Account) is in AUD, which has two: PocketSmith would round it" in refused.output
    kwd = run("preview", csv, "--account", EVERYDAY, "--existing", _export(tmp_path / "k.json", EVERYDAY, "KWD"),
              "--format", "json")
    assert kwd.exit_code == 0, kwd.output
    unknown = run("preview", csv, "--account", EVERYDAY, "--existing", _export(tmp_path / "u.json", 42, "AUD"),
                  "--format", "json")
    assert unknown.exit_code == 0, unknown.output
    assert any("more than two decimal places, and the currency of transaction account" in w
               for w in json.loads(unknown.stdout)["warnings"])


def test_trailing_zeros_past_the_cents_are_cents():
    from datetime import date
    from decimal import Decimal

    from importer.record import Transaction, sub_cent_rows
    rows = [Transaction(date(2026, 11, 1), Decimal("-12.340"), "A", "A")]
    assert sub_cent_rows(Statement(file="x", format="ofx", transactions=rows)) == []


# ─── currencies the file names in other ways (trial 3, finding 7) ────────────────────────────────

@pytest.mark.parametrize("header, code", [
    ("Amount (R$)", "BRL"), ("valor (R$)", "BRL"), ("Amount (US$)", "USD"), ("Amount (NZ$)", "NZD"),
    ("Amount (HK$)", "HKD"), ("Betrag (A$)", "AUD"), ("Amount (C$)", "CAD"), ("출금액(원)", "KRW")])
def test_a_prefixed_dollar_or_a_won_in_the_header_names_the_currency(header, code):
    from importer.parsers.csv.headers import currency_in_name
    assert currency_in_name(header) == code


def test_a_bare_dollar_names_no_currency():
    from importer.parsers.csv.headers import currency_code, currency_in_name
    assert currency_in_name("Amount ($)") is None and currency_code("$") is None and currency_code("kr") is None


@pytest.mark.parametrize("header", ["Amount (R$)", "Amount (US$)", "Amount (NZ$)"])
def test_a_dollar_header_in_another_currency_is_refused_for_an_aud_account(run, tmp_path, header):
    csv = tmp_path / "abroad.csv"
    csv.write_text(f"Date,Description,{header}\n2024-01-15,Coffee,-4.50\n2024-01-20,Salary,2000.00\n"
                   "2024-01-22,Rent,-800.00\n", encoding="utf-8")
    result = _preview_into_aud(run, tmp_path, csv)
    assert result.exit_code == 3 and "abroad.csv: its amounts are in" in result.output, result.output


@pytest.mark.parametrize("written", ["€", "eur", "Euro"])
def test_a_currency_column_of_symbols_or_names_is_read_as_its_code(run, tmp_path, written):
    csv = tmp_path / "ccy.csv"
    csv.write_text("Date,Description,Amount,Currency\n" + "".join(
        f"2024-01-{d},Shop {d},-{d}.50,{written}\n" for d in (15, 20, 22)), encoding="utf-8")
    result = _preview_into_aud(run, tmp_path, csv)
    assert result.exit_code == 3 and "ccy.csv: its amounts are in EUR" in result.output, result.output


@pytest.mark.parametrize("line", ["Currency: USD", "Währung;USD", "Devise : USD"])
def test_a_currency_named_above_the_header_is_the_statements(run, tmp_path, line):
    csv = tmp_path / "preamble.csv"
    delimiter = ";" if ";" in line else ","
    rows = ["Date,Description,Amount,Balance", "2024-01-15,Coffee,-4.50,995.50", "2024-01-20,Salary,2000.00,2995.50",
            "2024-01-25,Rent,-800.00,2195.50"]
    csv.write_text("\n".join(["Account: 12345678", line] + [r.replace(",", delimiter) for r in rows]) + "\n",
                   encoding="utf-8")
    parsed = run("parse", csv)
    assert "currency USD (as " in parsed.output, parsed.output
    result = _preview_into_aud(run, tmp_path, csv)
    assert result.exit_code == 3 and "preamble.csv: its amounts are in USD" in result.output, result.output


# ─── a shipped mapping chosen by a generic header or a shape (trial 3, finding 12) ──────────────

GENERIC = "Date,Description,Credit,Debit,Balance\n15/01/2024,TESCO,,-23.45,976.55\n20/01/2024,SALARY,2000.00,,2976.55\n"
HEADERLESS = "15/01/2024,-23.45,TESCO STORES\n20/01/2024,2000.00,SALARY\n22/01/2024,-800.00,RENT\n"


@pytest.mark.parametrize("text, why", [(GENERIC, "chosen by the file's header Date, Description, Credit, Debit, "
                                                 "Balance, which any bank may write"),
                                       (HEADERLESS, "chosen by the shape of the file's values")])
def test_a_shipped_mapping_chosen_by_a_generic_header_or_a_shape_is_said(run, tmp_path, text, why):
    csv = tmp_path / "uk.csv"
    csv.write_text(text)
    parsed = run("parse", csv)
    assert parsed.exit_code == 0, parsed.output
    assert "read with the shipped mapping '" in parsed.output and why in parsed.output, parsed.output
    assert "--mapping infer" in parsed.output


def test_a_distinctive_header_chooses_its_mapping_without_a_word(run, tmp_path):
    csv = tmp_path / "ing.csv"
    csv.write_text("Date,Description,Credit,Debit,Balance,Giraffe\n15/01/2024,TESCO,,-23.45,976.55,x\n")
    assert "read with the shipped mapping" not in run("parse", csv).output


@pytest.mark.parametrize("text", [GENERIC, HEADERLESS])
def test_a_mismatch_from_a_mappings_currency_names_the_mapping_and_suggests_infer(run, tmp_path, text):
    csv = tmp_path / "uk.csv"
    csv.write_text(text)
    export = _export(tmp_path / "export.json", EVERYDAY, "GBP")
    result = run("preview", csv, "--account", EVERYDAY, "--existing", export)
    assert result.exit_code == 3, result.output
    assert "AUD is not written in the file: it is the currency of the shipped mapping '" in result.output, \
        result.output
    assert "--mapping infer" in result.output and "--allow-currency-mismatch" in result.output
    inferred = run("preview", csv, "--account", EVERYDAY, "--existing", export, "--mapping", "infer",
                   "--date-order", "dmy")
    assert "currency mismatch" not in inferred.output, inferred.output


def test_a_mismatch_the_file_itself_states_suggests_no_other_mapping(run, tmp_path):
    csv = tmp_path / "abroad.csv"
    csv.write_text("Date,Description,Amount (GBP)\n2024-01-15,Coffee,-4.50\n2024-01-20,Salary,2000.00\n")
    result = run("preview", csv, "--account", EVERYDAY, "--existing", _export(tmp_path / "e.json", EVERYDAY, "AUD"))
    assert result.exit_code == 3 and "--mapping infer" not in result.output, result.output
