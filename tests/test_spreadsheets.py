"""Spreadsheet statements (XLSX, XLS, ODS) read through the CSV mappings, every cell as it holds its value.

The .xlsx files are written here with openpyxl and the .ods with odfpy (test dependencies); the .xls
(tests/spreadsheets/starling.xls, made for these tests with xlwt, which only writes that old format)
is committed. Each is parsed through the CLI, as a user would.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from importer.cli import cli
from importer.parsers.spreadsheet import exact_decimal, sheet_kind

openpyxl = pytest.importorskip("openpyxl")

HERE = Path(__file__).resolve().parent
STARLING = ["Date", "Counter Party", "Reference", "Type", "Amount (GBP)", "Balance (GBP)", "Spending Category",
            "Notes"]   # mappings/starling.yaml: the Starling app's statement export


def _parse(*args) -> tuple[int, str, list[dict]]:
    result = CliRunner().invoke(cli, ["parse", *map(str, args), "--format", "json"])
    if result.exit_code:
        return result.exit_code, result.output, []
    return 0, result.output, json.loads(result.output)["statements"]


def _rows(statement: dict) -> list[tuple]:
    return [(t["date"], t["amount"], t["payee"], t["balance"], t["line"]) for t in statement["transactions"]]


def _xlsx(path: Path, sheets: dict[str, list[list]], formats: dict[tuple[str, str], str] | None = None) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    for (name, ref), number_format in (formats or {}).items():
        book[name][ref].number_format = number_format
    book.save(path)
    return path


def test_an_xlsx_in_a_shipped_layout_reads_its_date_and_number_cells_as_they_are(tmp_path):
    # Starling's mapping reads text dates as %d/%m/%Y; here the dates are date cells (shown however the
    # sheet formats them) and the amounts number cells, one of them the float a formula leaves.
    path = _xlsx(tmp_path / "starling.xlsx", {"Statement": [
        STARLING,
        [date(2026, 10, 1), "Tesco", "TESCO STORES 3021", "CARD", -23.45, 976.55, "GROCERIES", ""],
        [datetime(2026, 10, 2, 9, 30), "Acme Ltd", "SALARY", "FASTER PAYMENT", 2100, 3076.55, "INCOME", ""],
        [date(2026, 10, 3), "Refund", "REFUND", "CARD", 0.1 + 0.2, 3076.85, "", ""],     # 0.30000000000000004
        ["04/10/2026", "Pret", "PRET A MANGER", "CARD", "-4.10", 3072.75, "", ""],       # text cells, as typed
    ]}, formats={("Statement", "A2"): "mm-dd-yy", ("Statement", "E2"): '"£"#,##0.00'})
    code, output, [statement] = _parse(path)
    assert code == 0, output
    assert statement["format"] == "xlsx:starling" and statement["account"]["currency"] == "GBP"
    assert _rows(statement) == [
        ("2026-10-01", "-23.45", "Tesco", "976.55", 2), ("2026-10-02", "2100.00", "Acme Ltd", "3076.55", 3),
        ("2026-10-03", "0.30", "Refund", "3076.85", 4), ("2026-10-04", "-4.10", "Pret", "3072.75", 5)]


def test_number_cells_are_not_read_with_the_mappings_decimal_comma(tmp_path):
    # ING Deutschland (mappings/ing_de.yaml): a key/value preamble with the IBAN, then German headers; its
    # CSV writes 1.234,56, but a spreadsheet's number cell holds 1234.56, whatever the mapping's decimal.
    path = _xlsx(tmp_path / "ing.xlsx", {"Umsätze": [                  # row 3 blank: row numbers stay
        ["IBAN", "DE12 5001 0517 0648 4898 90"], ["Kontoname", "Girokonto"], [],
        ["Buchung", "Valuta", "Auftraggeber/Empfänger", "Buchungstext", "Verwendungszweck", "Betrag", "Währung"],
        [date(2026, 10, 1), date(2026, 10, 1), "REWE", "Lastschrift", "Einkauf", -1234.56, "EUR"],
        [date(2026, 10, 2), date(2026, 10, 2), "Arbeitgeber AG", "Gehalt", "Lohn", 3000, "EUR"],
        ["03.10.2026", "03.10.2026", "Bäckerei", "Lastschrift", "Brötchen", "-2,50", "EUR"],
    ]})
    code, output, [statement] = _parse(path)
    assert code == 0, output
    assert statement["format"] == "xlsx:ing_de" and statement["account"]["id"] == "DE12 5001 0517 0648 4898 90"
    assert [(t["date"], t["amount"], t["line"]) for t in statement["transactions"]] == [
        ("2026-10-01", "-1234.56", 5), ("2026-10-02", "3000.00", 6), ("2026-10-03", "-2.50", 7)]


def test_an_xls_reads_like_the_csv_of_the_same_bank():
    code, output, [statement] = _parse(HERE / "spreadsheets" / "starling.xls")
    assert code == 0, output
    assert statement["format"] == "xls:starling"
    assert _rows(statement) == [("2026-10-01", "-23.45", "Tesco", "976.55", 2),
                                ("2026-10-02", "2100.00", "Acme Ltd", "3076.55", 3),
                                ("2026-10-05", "-4.10", "Pret", "3072.45", 4)]


def _ods(path: Path, name: str, rows: list[list]) -> Path:
    odf = pytest.importorskip("odf")
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P
    assert odf
    document = OpenDocumentSpreadsheet()
    table = Table(name=name)
    for row in rows:
        table_row = TableRow()
        for value in row:
            if isinstance(value, date):
                cell = TableCell(valuetype="date", datevalue=value.isoformat())
                shown = value.strftime("%d.%m.%Y")
            elif isinstance(value, (int, float)):
                cell = TableCell(valuetype="float", value=repr(value))
                shown = f"{value:,.2f}".replace(",", " ").replace(".", ",")    # what a German sheet shows
            else:
                cell = TableCell(valuetype="string")
                shown = value
            cell.addElement(P(text=shown))
            table_row.addElement(cell)
        table.addElement(table_row)
    document.spreadsheet.addElement(table)
    document.save(str(path))
    return path


def test_an_ods_reads_the_values_not_the_text_it_shows(tmp_path):
    path = _ods(tmp_path / "starling.ods", "Statement", [
        STARLING,
        [date(2026, 11, 1), "Tesco", "TESCO", "CARD", -1023.45, 976.55, "", ""],
        [date(2026, 11, 2), "Acme Ltd", "SALARY", "FASTER PAYMENT", 2100.5, 3077.05, "", ""]])
    code, output, [statement] = _parse(path)
    assert code == 0, output
    assert statement["format"] == "ods:starling"
    assert _rows(statement) == [("2026-11-01", "-1023.45", "Tesco", "976.55", 2),
                                ("2026-11-02", "2100.50", "Acme Ltd", "3077.05", 3)]


def test_the_first_sheet_or_the_one_named(tmp_path):
    path = _xlsx(tmp_path / "two.xlsx", {
        "Summary": [["Opening balance", 1000], ["Closing balance", 976.55]],
        "Transactions": [STARLING, [date(2026, 10, 1), "Tesco", "T", "CARD", -23.45, 976.55, "", ""]]})
    code, output, _ = _parse(path)
    assert code == 2 and "two.xlsx, sheet 'Summary'" in output    # a summary, not a statement
    assert "that is the first sheet: pass --sheet NAME to read another ('Transactions')" in output
    code, output, [statement] = _parse(path, "--sheet", "transactions")
    assert code == 0, output
    assert _rows(statement) == [("2026-10-01", "-23.45", "Tesco", "976.55", 2)]
    code, output, _ = _parse(path, "--sheet", "Umsätze")
    assert code == 2 and "no sheet named 'Umsätze'; its sheets are: 'Summary', 'Transactions'" in output


def test_a_bad_cell_is_named_by_file_sheet_and_row(tmp_path):
    path = _xlsx(tmp_path / "bad.xlsx", {"Statement": [
        STARLING,
        [date(2026, 10, 1), "Tesco", "T", "CARD", -23.45, 976.55, "", ""],
        [date(2026, 10, 2), "Pret", "P", "CARD", "four pounds", 972.55, "", ""],
    ]})
    code, output, _ = _parse(path)
    assert code == 2
    assert "bad.xlsx, sheet 'Statement', row 3: cannot read the amount in 'Amount (GBP)'" in output
    path = _xlsx(tmp_path / "bad-date.xlsx", {"Statement": [
        STARLING,
        [date(2026, 10, 1), "Tesco", "T", "CARD", -23.45, 976.55, "", ""],
        ["soon", "Pret", "P", "CARD", -4.1, 972.45, "", ""],
    ]})
    code, output, _ = _parse(path)
    assert code == 2 and "bad-date.xlsx, sheet 'Statement', row 3: " in output and "'soon'" in output


def test_a_spreadsheet_takes_an_explicit_mapping_and_routes_by_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    mapping = tmp_path / "mine.yaml"
    mapping.write_text("name: mine\nheader: false\ncolumns: {date: 0, payee: 1, amount: 2}\n"
                       "date_format: '%d/%m/%Y'\ncurrency: AUD\n")
    path = _xlsx(tmp_path / "plain.xlsx", {"Sheet1": [[date(2026, 10, 1), "Shop", -5], [date(2026, 10, 2), "Cafe", -4.5]]})
    code, output, [statement] = _parse(path, "--mapping", mapping)
    assert code == 0, output
    assert statement["format"] == "xlsx:mine"
    assert [(t["date"], t["amount"]) for t in statement["transactions"]] == [("2026-10-01", "-5.00"),
                                                                             ("2026-10-02", "-4.50")]
    (tmp_path / "psimport.yaml").write_text(f"accounts:\n  - {{glob: '*.xlsx', mapping: {mapping}, "
                                            "transaction_account_id: 7}\n")
    (tmp_path / "export.json").write_text("[]")
    preview = CliRunner().invoke(cli, ["preview", str(tmp_path), "--existing", "export.json", "--format", "json",
                                       "--state-dir", str(tmp_path / "state")])
    assert preview.exit_code == 0, preview.output
    [account] = json.loads(preview.output)["accounts"]
    assert account["transaction_account_id"] == 7
    assert account["sources"] == [{"file": str(path), "format": "xlsx:mine"}]    # found in the folder too


def test_a_damaged_spreadsheet_is_one_clear_error(tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"[Content_Types].xml" + b"\x00" * 64)
    code, output, _ = _parse(path)
    assert code == 2 and "broken.xlsx: cannot read this spreadsheet" in output


@pytest.mark.parametrize(("value", "expected"), [
    (0.1 + 0.2, "0.3"), (-23.45, "-23.45"), (1234567.891, "1234567.891"), (2100.0, "2100"), (1e-10, "1E-10"),
    (0.0, "0"), (123456789012.34, "123456789012.34"), (1 / 3, "0.333333333333333")])
def test_a_float_cell_becomes_the_decimal_a_spreadsheet_shows(value, expected):
    assert str(exact_decimal(value)) == expected and isinstance(exact_decimal(value), Decimal)


def test_spreadsheets_are_told_from_other_zip_and_binary_files(tmp_path):
    assert sheet_kind(b"PK\x03\x04" + b"\x00" * 26 + b"mimetypeapplication/vnd.oasis.opendocument.spreadsheet",
                      "x.ods") == "ods"
    assert sheet_kind(b"PK\x03\x04" + b"\x00" * 26 + b"mimetypeapplication/vnd.oasis.opendocument.text", "x.odt") \
        is None
    assert sheet_kind((HERE / "spreadsheets" / "starling.xls").read_bytes()[:4096], "s.xls") == "xls"
    assert sheet_kind(b"Date,Amount\n", "s.xls") is None      # a CSV some banks name .xls


@pytest.mark.parametrize("sandbox", ["accounts"], indirect=True)
def test_a_spreadsheet_imports_into_the_sandbox_with_its_exact_amounts(sandbox, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("POCKETSMITH_DEVELOPER_KEY", sandbox.key)
    mapping = tmp_path / "mine.yaml"
    mapping.write_text("name: mine\nsignature: [Date, Details, Amount]\n"
                       "columns: {date: Date, payee: Details, amount: Amount}\ncurrency: AUD\n")
    path = _xlsx(tmp_path / "mine.xlsx", {"Sheet1": [
        ["Date", "Details", "Amount"], [date(2026, 11, 1), "Woolworths", -60.1], [date(2026, 11, 2), "Salary", 2500],
        [date(2026, 11, 3), "Refund", 0.1 + 0.2]]})
    args = ["import", str(path), "--mapping", str(mapping), "--account", "510001", "--yes", "--api-url", sandbox.url,
            "--state-dir", str(tmp_path / "state")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "mine.xlsx (mine)" in result.output
    assert sorted((t["date"], t["amount"]) for t in sandbox.transactions(510001)) == [
        (date(2026, 11, 1), Decimal("-60.10")), (date(2026, 11, 2), Decimal("2500.00")),
        (date(2026, 11, 3), Decimal("0.30"))]


def test_an_html_table_named_xls_is_told_for_what_it_is(tmp_path):
    path = tmp_path / "statement.xls"
    path.write_text("<html><body><table><tr><td>Date</td><td>Amount</td></tr>"
                    "<tr><td>01/10/2026</td><td>-5.00</td></tr></table></body></html>")
    code, output, _ = _parse(path)
    assert code == 2 and "statement.xls: this is a web page (an HTML table), not a spreadsheet or CSV" in output


def test_an_empty_first_sheet_and_leading_blank_rows(tmp_path):
    book = openpyxl.Workbook()
    book.active.title = "Empty"
    sheet = book.create_sheet("Data")
    for offset, value in enumerate(STARLING):              # the table starts at C3, as some exports put it
        sheet.cell(row=3, column=3 + offset, value=value)
    for offset, value in enumerate([date(2026, 10, 1), "Tesco", "T", "CARD", -23.45, 976.55]):
        sheet.cell(row=4, column=3 + offset, value=value)
    book.save(tmp_path / "offset.xlsx")
    code, output, _ = _parse(tmp_path / "offset.xlsx")
    assert code == 2 and "offset.xlsx: sheet 'Empty' is empty; pass --sheet NAME for another of its sheets: 'Data'" \
        in output
    code, output, [statement] = _parse(tmp_path / "offset.xlsx", "--sheet", "Data")
    assert code == 0, output
    assert _rows(statement) == [("2026-10-01", "-23.45", "Tesco", "976.55", 4)]


def test_a_sheet_no_mapping_knows_is_inferred_from_its_cells(tmp_path):
    # German headers no shipped mapping has; the running balance confirms the sign. The rows take the CSV
    # path, so layout inference reads a sheet as it reads a CSV, with the date and number cells as they are.
    rows = [["Buchungsdatum", "Empfänger", "Verwendungszweck", "Betrag", "Kontostand"]]
    balance = Decimal("1000.00")
    for day, (payee, amount) in enumerate([("REWE", "-23.45"), ("Arbeitgeber", "2500"), ("Bäcker", "-3.2")], 1):
        balance += Decimal(amount)
        rows.append([date(2026, 10, day), payee, f"Ref {day}", float(amount), float(balance)])
    path = _xlsx(tmp_path / "unknown.xlsx", {"Umsätze": rows})
    result = CliRunner().invoke(cli, ["parse", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert "layout inferred from the file" in result.stderr
    assert "separated" not in result.stderr and "Unicode text" not in result.stderr   # a sheet has cells, not text
    [statement] = json.loads(result.stdout)["statements"]
    assert statement["format"] == "xlsx:inferred"
    assert _rows(statement) == [("2026-10-01", "-23.45", "REWE", "976.55", 2),
                                ("2026-10-02", "2500.00", "Arbeitgeber", "3476.55", 3),
                                ("2026-10-03", "-3.20", "Bäcker", "3473.35", 4)]
