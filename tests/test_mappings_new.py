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
    child.sendline("n")
    child.expect("No mapping was written.")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1 and not (tmp_path / "config").exists()
