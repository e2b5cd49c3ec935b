"""`psimport mappings new`, driven in a pseudo-terminal as a person types: infer, show, ask, write, route."""

from __future__ import annotations

import os
import sys

import pexpect

from importer.parsers.csv.mapping import load_mapping


def test_mappings_new_asks_writes_a_mapping_that_then_reads_the_file(tmp_path):
    statement = tmp_path / "Kontoauszug_2024.csv"
    statement.write_text("Datum;Omschrijving;Bedrag;Saldo\n02-01-2024;Albert Heijn;-12,50;987,50\n"
                         "13-01-2024;Salaris;2.000,00;2.987,50\n15-01-2024;NS;-4,20;2.983,30\n", encoding="utf-8")
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "config"), HOME=str(tmp_path), COLUMNS="100")
    child = pexpect.spawn(sys.executable, ["-m", "importer", "mappings", "new", str(statement)], cwd=str(tmp_path),
                          env=env, encoding="utf-8", timeout=30)
    child.expect(r"Name for this mapping \[kontoauszug_2024\]: ")
    child.sendline("mybank")
    child.expect("balance 'Saldo' \\(every row carries it forward")
    child.expect("Albert Heijn")
    child.expect(r"Write this mapping to .*mybank\.yaml\? \[y/N\]: ")
    child.sendline("y")
    child.expect("Wrote .*mybank.yaml")
    child.expect(r"\{mapping: mybank, transaction_account_id: ID\}")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    written = tmp_path / "config" / "psimport" / "mappings" / "mybank.yaml"
    mapping = load_mapping(written)
    assert mapping.name == "mybank" and mapping.balance == "Saldo" and mapping.amount == "Bedrag"
    assert "# the running balance" in written.read_text(encoding="utf-8")
    parsed = pexpect.run(f"{sys.executable} -m importer parse {statement} --format json", env=env,
                         cwd=str(tmp_path), encoding="utf-8")
    assert '"format": "csv:mybank"' in parsed and '"amount": "2000.00"' in parsed


def test_mappings_new_answered_no_writes_nothing(tmp_path):
    statement = tmp_path / "bank.csv"
    statement.write_text("Date,Description,Amount\n14/01/2024,TESCO,-4.00\n15/01/2024,PAY,100.00\n", encoding="utf-8")
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "config"), HOME=str(tmp_path))
    child = pexpect.spawn(sys.executable, ["-m", "importer", "mappings", "new", str(statement), "--name", "uk"],
                          cwd=str(tmp_path), env=env, encoding="utf-8", timeout=30)
    child.expect(r"\[y/N\]: ")
    child.sendline("maybe")   # not y or n: what to type, and the question again (not click's "invalid input")
    child.expect(r"Error: 'maybe' is neither yes nor no: type y \(yes\) or n \(no\), then Enter")
    child.expect(r"\[y/N\]: ")
    child.sendline("n")
    child.expect("No mapping was written.")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1 and not (tmp_path / "config").exists()


def run(tmp_path, *args):
    from click.testing import CliRunner

    from importer.cli import cli
    env = {"XDG_CONFIG_HOME": str(tmp_path / "config"), "HOME": str(tmp_path)}
    return CliRunner().invoke(cli, list(args), env=env)


def test_a_headerless_file_gets_a_shape_its_next_download_is_recognised_by(tmp_path):
    # Danish banks on Bankernes EDB Central: no header, date;text;amount;balance (bank2ynab.conf).
    rows = "02-01-2024;Netto;-123,45;4.876,55\n05-01-2024;Løn;21.000,00;25.876,55\n13-01-2024;MobilePay;-200,00;25.676,55\n"
    (tmp_path / "Posteringer.csv").write_text(rows, encoding="utf-8")
    made = run(tmp_path, "mappings", "new", str(tmp_path / "Posteringer.csv"), "--yes")
    assert made.exit_code == 0, made.output
    written = tmp_path / "config" / "psimport" / "mappings" / "posteringer.yaml"
    text = written.read_text(encoding="utf-8")
    assert "header: false" in text and "shape: [date, any, amount_or_blank, amount_or_blank]" in text
    (tmp_path / "next.csv").write_text("14-02-2024;Føtex;-312,00;25.364,55\n16-02-2024;Overførsel;500,00;25.864,55\n",
                                       encoding="utf-8")
    parsed = run(tmp_path, "parse", str(tmp_path / "next.csv"), "--format", "json")
    assert parsed.exit_code == 0, parsed.output
    assert '"format": "csv:posteringer"' in parsed.stdout and '"amount": "-312.00"' in parsed.stdout
    assert "layout inferred" not in parsed.stderr


def test_an_existing_mapping_is_never_overwritten(tmp_path):
    (tmp_path / "bank.csv").write_text("Date,Description,Amount\n14/01/2024,TESCO,-4.00\n", encoding="utf-8")
    folder = tmp_path / "config" / "psimport" / "mappings"
    folder.mkdir(parents=True)
    (folder / "uk.yaml").write_text("name: uk\ncolumns: {date: Date, amount: Amount, payee: Description}\n")
    result = run(tmp_path, "mappings", "new", str(tmp_path / "bank.csv"), "--name", "uk", "--yes")
    assert result.exit_code == 3 and "already there" in result.stderr
    assert (folder / "uk.yaml").read_text().startswith("name: uk\ncolumns")


def test_without_a_terminal_and_without_yes_nothing_is_written(tmp_path):
    (tmp_path / "bank.csv").write_text("Date,Description,Amount\n14/01/2024,TESCO,-4.00\n", encoding="utf-8")
    result = run(tmp_path, "mappings", "new", str(tmp_path / "bank.csv"), "--name", "uk")
    assert result.exit_code == 3 and "--yes" in result.stderr and not (tmp_path / "config").exists()


def test_a_file_inference_cannot_read_is_the_clear_error(tmp_path):
    (tmp_path / "odd.csv").write_text("When,Who,Where\n14/01/2024,TESCO,Leeds\n", encoding="utf-8")
    result = run(tmp_path, "mappings", "new", str(tmp_path / "odd.csv"), "--yes")
    assert result.exit_code == 2 and "cannot infer" in result.stderr and "columns.amount" in result.stderr


def test_mappings_new_asks_the_questions_the_rows_cannot_settle(tmp_path):
    # A card export: charges positive, nothing to carry them, and every date reads both ways.
    statement = tmp_path / "card.csv"
    statement.write_text("Date,Description,Amount\n01/02/2024,AMAZON MKTPLACE,25.00\n03/02/2024,SHELL 1234,60.40\n"
                         "05/02/2024,NETFLIX.COM,15.99\n", encoding="utf-8")
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "config"), HOME=str(tmp_path), COLUMNS="100")
    child = pexpect.spawn(sys.executable, ["-m", "importer", "mappings", "new", str(statement), "--name", "card"],
                          cwd=str(tmp_path), env=env, encoding="utf-8", timeout=30)
    child.expect("every amount in 'Amount' is positive")
    child.expect("charges_positive: card charges: money out")
    child.expect(r"Your answer for sign \(charges_positive, normal\): ")
    child.sendline("charges_positive")
    child.expect("the dates are ambiguous")
    child.expect("dmy: 01/02/2024 is day first")
    child.expect(r"Your answer for date_order \(dmy, mdy\): ")
    child.sendline("mdy")
    child.expect("NETFLIX.COM")
    child.expect(r"\[y/N\]: ")
    child.sendline("y")
    # A card's flipped sign on a header any bank writes: it must not claim another bank's file by it.
    child.expect("it reads a file only when named: --mapping card")
    child.expect(r"glob: 'card\*\.csv', mapping: card")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    mapping = load_mapping(tmp_path / "config" / "psimport" / "mappings" / "card.yaml")
    assert mapping.charges_positive and mapping.date_order == "mdy"
    parsed = pexpect.run(f"{sys.executable} -m importer parse {statement} --mapping card --format json", env=env,
                         cwd=str(tmp_path), encoding="utf-8")
    assert '"date": "2024-01-02", "amount": "-25.00"' in parsed and '"format": "csv:card"' in parsed


def test_with_yes_a_question_is_the_error(tmp_path):
    (tmp_path / "card.csv").write_text("Date,Description,Amount\n13/02/2024,AMAZON,25.00\n15/02/2024,SHELL,60.40\n",
                                       encoding="utf-8")
    result = run(tmp_path, "mappings", "new", str(tmp_path / "card.csv"), "--yes")
    assert result.exit_code == 2 and "sign: charges_positive" in result.stderr
    assert "run it without --yes to answer" in result.stderr and "pass --mapping FILE" not in result.stderr


def test_the_answered_date_order_of_a_headerless_file_applies_to_it_next_time(tmp_path):
    statement = tmp_path / "headerless.csv"
    statement.write_text('05/03/2024,"-45.67","WOOLWORTHS"\n04/03/2024,"3250.00","SALARY"\n'
                         '01/03/2024,"-1200.00","RENT"\n', encoding="utf-8")
    made = run(tmp_path, "mappings", "new", str(statement), "--name", "hl", "--yes", "--date-order", "dmy")
    assert made.exit_code == 0, made.output
    parsed = run(tmp_path, "parse", str(statement), "--format", "json")
    assert parsed.exit_code == 0, parsed.output
    assert '"format": "csv:hl"' in parsed.stdout and '"date": "2024-03-05"' in parsed.stdout


def _ask_and_write(tmp_path, statement, name, *dialogue):
    """`mappings new` in a pseudo-terminal: each (expected, typed) pair of the dialogue, then yes to writing."""
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "config"), HOME=str(tmp_path), COLUMNS="100")
    child = pexpect.spawn(sys.executable, ["-m", "importer", "mappings", "new", str(statement), "--name", name],
                          cwd=str(tmp_path), env=env, encoding="utf-8", timeout=30)
    for expected, typed in dialogue:
        child.expect(expected)
        if typed is not None:
            child.sendline(typed)
    child.expect(r"Write this mapping to .*\[y/N\]: ")
    child.sendline("y")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    parsed = pexpect.run(f"{sys.executable} -m importer parse {statement} --mapping {name} --format json", env=env,
                         cwd=str(tmp_path), encoding="utf-8")
    return load_mapping(tmp_path / "config" / "psimport" / "mappings" / f"{name}.yaml"), parsed


def test_mappings_new_asks_which_of_two_date_columns_is_the_booking_date(tmp_path):
    # Neither is named the date, neither is on or before the other on every row, neither is sorted.
    statement = tmp_path / "two_dates.csv"
    statement.write_text("Posted,Effective,Description,Amount,Balance\n05/01/2024,03/01/2024,TESCO,-4.00,96.00\n"
                         "02/01/2024,13/01/2024,PAY,100.00,196.00\n15/01/2024,07/01/2024,SHELL,-20.00,176.00\n",
                         encoding="utf-8")
    mapping, parsed = _ask_and_write(
        tmp_path, statement, "twodates",
        ("'Posted' and 'Effective' all hold dates, and nothing says which is the booking date", None),
        (r"Effective: the booking date is 'Effective' \(such as 03/01/2024\)", None),
        (r"Your answer for columns.date \(Posted, Effective\): ", "Effective"),
        ("date from 'Effective', as you answered", None))
    assert mapping.date == "Effective"
    assert '"date": "2024-01-03", "amount": "-4.00"' in parsed and '"date": "2024-01-13", "amount": "100.00"' in parsed


def test_mappings_new_asks_which_of_an_in_out_pair_is_money_out(tmp_path):
    # No balance to carry, no name for either side, no sign: only the person knows which is money out.
    statement = tmp_path / "pair.csv"
    statement.write_text("Date,Description,Sum A,Sum B\n14/01/2024,TESCO,4.00,\n15/01/2024,PAY,,100.00\n"
                         "16/01/2024,SHELL,20.00,\n", encoding="utf-8")
    mapping, parsed = _ask_and_write(
        tmp_path, statement, "pair",
        ("'Sum A' and 'Sum B' look like money out and money in", None),
        ("Sum B: money out is 'Sum B', money in 'Sum A'", None),
        (r"Your answer for columns.debit \(Sum A, Sum B\): ", "Sum A"),
        (r"money out 'Sum A', money in 'Sum B' \(as you answered\)", None))
    assert mapping.debit == "Sum A" and mapping.credit == "Sum B"
    assert '"date": "2024-01-14", "amount": "-4.00"' in parsed and '"date": "2024-01-15", "amount": "100.00"' in parsed


def test_with_yes_a_column_question_names_its_key(tmp_path):
    (tmp_path / "pair.csv").write_text("Date,Description,Sum A,Sum B\n14/01/2024,TESCO,4.00,\n"
                                       "15/01/2024,PAY,,100.00\n", encoding="utf-8")
    result = run(tmp_path, "mappings", "new", str(tmp_path / "pair.csv"), "--yes")
    assert result.exit_code == 2 and "(columns.debit: Sum A, Sum B)" in result.stderr
    assert "run it without --yes to answer" in result.stderr and "pass --mapping FILE" not in result.stderr


# ─── trial 3: findings 13, 17 and the messages of 21 ─────────────────────────────────────────────

def test_a_shipped_mappings_name_is_refused(tmp_path):
    (tmp_path / "smbc.csv").write_text("Date,Description,Amount\n14/01/2024,TESCO,-4.00\n", encoding="utf-8")
    result = run(tmp_path, "mappings", "new", str(tmp_path / "smbc.csv"), "--name", "cba", "--yes")
    assert result.exit_code == 3 and "'cba' is the name of the shipped mapping" in result.stderr, result.output
    assert "--name cba_2" in result.stderr and not (tmp_path / "config").exists()


def test_mappings_new_reads_a_spreadsheet_as_parse_does(tmp_path):
    openpyxl = __import__("pytest").importorskip("openpyxl")
    from datetime import date
    book = openpyxl.Workbook()
    book.active.append(["Umsätze Girokonto"])
    book.active.append([])
    book.active.append(["Buchungsdatum", "Partnername", "Betrag", "Saldo"])
    for day, payee, amount, balance in ((5, "BILLA", -23.4, 976.6), (10, "ACME GMBH", 2500, 3476.6),
                                        (12, "WIENER LINIEN", -365.3, 3111.3)):
        book.active.append([date(2024, 1, day), payee, amount, balance])
    book.save(tmp_path / "erste.xlsx")
    made = run(tmp_path, "mappings", "new", str(tmp_path / "erste.xlsx"), "--name", "erste_mine", "--yes")
    assert made.exit_code == 0, made.output
    assert "NUL bytes" not in made.output and "WIENER LINIEN" in made.output
    parsed = run(tmp_path, "parse", str(tmp_path / "erste.xlsx"), "--format", "json")
    assert '"format": "xlsx:erste_mine"' in parsed.stdout and '"amount": "2500.00"' in parsed.stdout, parsed.output


def test_mappings_new_says_how_to_see_every_row_with_what_it_has(tmp_path):
    rows = "".join(f"{day:02d}/01/2024,SHOP {day},-{day}.00\n" for day in range(10, 20))
    (tmp_path / "bank.csv").write_text("Date,Description,Amount\n" + rows, encoding="utf-8")
    made = run(tmp_path, "mappings", "new", str(tmp_path / "bank.csv"), "--name", "bank", "--yes")
    assert made.exit_code == 0, made.output
    assert "first 5 of 10 rows; `psimport parse" in made.output and "--all" not in made.output


def test_a_card_mappings_amount_comment_agrees_with_its_sign():
    from importer.parsers.csv.newmapping import new_mapping
    data = b"Date,Description,Amount\n2024-01-05,PADARIA,23.50\n2024-01-06,IFOOD,45.90\n2024-01-09,PAYMENT,-500.00\n"
    made = new_mapping(data, "card.csv", "card", sign="charges_positive")
    amount = next(line for line in made.text.splitlines() if line.startswith("  amount:"))
    assert "negative is money out" not in amount and "positive is a charge" in amount
    assert "sign: charges_positive" in made.text


def test_mappings_list_points_to_the_command_that_lists(tmp_path):
    result = run(tmp_path, "mappings", "list")
    assert result.exit_code == 2 and "`psimport mappings` with no word lists the mappings" in result.output
