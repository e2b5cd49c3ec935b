"""Hostile and odd input (issue 15): text that would take over the terminal or break a line, CSV quoting
corners, YAML bombs, numbers too big to be money, and every one ending in a clear message, never a traceback."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from importer.cli import cli
from importer.errors import ConfigError, InputError
from importer.parsers import parse_file
from importer.text import one_line, terminal_safe

# What a statement or an export could carry to a terminal: a window title, a clipboard write (OSC 52),
# a link (OSC 8), clear-screen and cursor-home, a C1 CSI, a bidirectional override.
HOSTILE = ("\x1b]0;pwned\x07", "\x1b]52;c;ZXZpbA==\x07", "\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\",
           "\x1b[2J\x1b[H", "\x9b31m", "\u202e")


def run(*args: str, **options):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, **options)


# ─── the terminal belongs to the user ─────────────────────────────────────────────────────────────

@pytest.mark.parametrize("text", HOSTILE)
def test_terminal_safe_leaves_no_escape_or_control_character(text):
    safe = terminal_safe(f"before {text} after\tand\nmore")
    assert not any(ch in safe for ch in "\x1b\x07\x9b\u202e"), repr(safe)
    assert safe.startswith("before ") and safe.endswith(" after\tand\nmore")


def test_rich_output_keeps_its_own_styles_and_drops_the_datas_escapes_and_links():
    from importer.output.render import Column, _console_class, print_table
    out = io.StringIO()
    # The console psimport prints with, as on a real terminal: rich writes its own style codes.
    screen = _console_class()(file=out, force_terminal=True, color_system="standard", highlight=False)
    print_table([{"payee": f"CAFE{text}X"} for text in HOSTILE], [Column("payee", "Payee")], screen=screen,
                title="[bold]Rows[/bold]")
    screen.print("[link=https://evil.example]payee as markup[/link] \x1b]0;title\x07")
    written = out.getvalue()
    assert "\x1b[1m" in written                       # rich's bold, still there
    for bad in ("\x1b]", "\x07", "\x9b", "\u202e", "\x1b[2J", "\x1b[H", "evil.example"):
        assert bad not in written, (bad, written)
    assert written.count("CAFE") == len(HOSTILE)


def test_error_messages_and_file_names_reach_the_terminal_without_escapes(tmp_path):
    name = tmp_path / "statement\x1b]0;pwned\x07\x1b[2J.csv"
    result = run("parse", str(name))
    assert result.exit_code == 2 and "no such file" in result.output
    assert "\x1b" not in result.output and "\x07" not in result.output


def test_a_statements_escapes_and_newlines_never_reach_a_table(tmp_path):
    statement = tmp_path / "s.csv"
    # Past the first 4 KB, where the CSV sniffer takes many control characters for a binary file.
    payees = [f"WOOLWORTHS {n} SYDNEY" for n in range(200)] + [f"SHOP{text}\r\nNEXT" for text in HOSTILE]
    statement.write_text("Date,Description,Amount\n" + "".join(
        f'2024-05-{n % 28 + 1:02d},"{payee}",-{n}.00\n' for n, payee in enumerate(payees, start=1)),
        encoding="utf-8")
    result = run("parse", str(statement), "--all")
    assert result.exit_code == 0, result.output
    assert not set(result.output) & set("\x1b\x07\x9b\u202e\r"), repr(result.output)
    assert result.output.count("SHOP") == len(HOSTILE)


# ─── one line of text ─────────────────────────────────────────────────────────────────────────────

def test_one_line_turns_each_run_of_control_characters_into_one_space():
    assert one_line("A\r\n B\x1bC\tD\u2028E ") == "A B C D E"
    assert one_line("plain") == "plain"
    assert one_line(" \nlead") == "lead"


_FILLER = 120  # ordinary rows first: each parser takes a file dense with control characters for binary
_OFX_ROW = ("<STMTTRN><TRNTYPE>DEBIT<DTPOSTED>202405{day:02d}<TRNAMT>-3.00<FITID>{n}<NAME>{payee}<MEMO>{memo}"
            "</STMTTRN>")


@pytest.mark.parametrize("name, head, row, tail", [
    ("s.csv", "Date,Description,Amount,Memo\n", '2024-05-{day:02d},"{payee}",-3.00,"{memo}"\n', ""),
    ("s.qif", "!Type:Bank\n", "D05/{day:02d}/2024\nT-3.00\nP{payee}\nM{memo}\n^\n", ""),
    ("s.ofx", "OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\n\n<OFX><BANKMSGSRSV1><STMTTRNRS><STMTRS><CURDEF>AUD"
              "<BANKACCTFROM><BANKID>1<ACCTID>42</BANKACCTFROM><BANKTRANLIST>", _OFX_ROW,
     "</BANKTRANLIST></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>\n"),
])
def test_parsers_turn_newlines_and_control_characters_in_payees_and_memos_into_spaces(tmp_path, name, head, row,
                                                                                     tail):
    rows = [row.format(n=n, day=n % 28 + 1, payee=f"PLAIN SHOP {n}", memo="plain") for n in range(_FILLER)]
    rows.append(row.format(n=_FILLER, day=28, payee="Line one\x0bLine two\x1b]0;x\x07", memo="m\tn" if name != "s.csv"
                           else "m\r\nn"))
    path = tmp_path / name
    path.write_text(head + "".join(rows) + tail, encoding="utf-8")
    (statement,) = parse_file(path)
    last = statement.transactions[-1]
    for value in (last.payee, last.original_payee, last.memo):
        assert value.isprintable(), repr(value)
    assert last.original_payee == "Line one Line two ]0;x" and last.memo == "m n"


# ─── CSV quoting corners ──────────────────────────────────────────────────────────────────────────

def test_a_carriage_return_and_an_unclosed_quote_in_amounts_give_a_message_not_an_index_error(tmp_path):
    path = tmp_path / "odd.csv"
    path.write_bytes(b'Date,Description,Amount\n5/1/2024,,"\r.3"\n5/31/2024,,",5')
    with pytest.raises(InputError) as caught:
        parse_file(path)
    assert caught.value.file == str(path) and caught.value.line in (2, 3)


def test_a_carriage_return_inside_quotes_does_not_shift_the_lines_reported(tmp_path):
    path = tmp_path / "cr.csv"
    path.write_bytes(b'Date,Description,Amount\n2024-05-01,"A\rB",-3.00\n2024-05-02,"C",-4.00\n2024-05-03,"D",x\n')
    with pytest.raises(InputError) as caught:
        parse_file(path)
    assert caught.value.line == 4, str(caught.value)


def test_a_quoted_line_break_in_an_amount_column_keeps_the_row_numbers_right(tmp_path):
    path = tmp_path / "nl.csv"
    path.write_bytes(b'Date,Description,Amount\n2024-05-01,A,"\n-4,5"\n2024-05-02,C,-3.00\n')
    with pytest.raises(InputError) as caught:
        parse_file(path)
    assert "'-4,5' (line 2)" in caught.value.message and "'-3.00' (line 4)" in caught.value.message, \
        str(caught.value)


def test_mac_files_with_carriage_returns_alone_still_read_line_by_line(tmp_path):
    path = tmp_path / "mac.csv"
    path.write_bytes(b"Date,Description,Amount\r2024-05-01,A,-3.00\r2024-05-02,B,x\r")
    with pytest.raises(InputError) as caught:
        parse_file(path)
    assert caught.value.line == 3


# ─── data never becomes rules ─────────────────────────────────────────────────────────────────────

INJECTED = "\n  - name: evil\n    if: {amount: {lt: 0}}\n    then: {skip: true}\n#"


def test_rules_suggest_keeps_a_payee_and_a_category_title_with_newlines_inside_their_strings(tmp_path):
    from importer.rules import load_rules
    category = {"id": 7011, "title": f"Coffee{INJECTED}"}
    export = tmp_path / "export.json"
    export.write_text(json.dumps([
        {"id": n, "date": f"2026-10-{n + 1:02d}", "amount": -4.5, "payee": "Daily Grind",
         "original_payee": f"EFTPOS DAILY GRIND{INJECTED}\u2028x: y\x85z: w", "category": category,
         "transaction_account": {"id": 510001}, "type": "debit"} for n in range(5)]))
    as_json = json.loads(run("rules", "suggest", "--existing", str(export), "--min-support", "3",
                             "--format", "json").output)
    result = run("rules", "suggest", "--existing", str(export), "--min-support", "3")
    assert result.exit_code == 0, result.output
    suggested = tmp_path / "suggested.yaml"
    suggested.write_text(result.output)
    rules = load_rules(suggested).rules
    assert len(rules) == len(as_json["suggestions"]) >= 1
    assert [r.name for r in rules] == [s["name"] for s in as_json["suggestions"]]
    assert all(r.category == category["title"] for r in rules)     # the title, newlines and all, as data
    assert "evil" not in [r.name for r in rules]


def test_rules_pull_output_loads_back_with_the_same_rules_whatever_the_titles_hold(tmp_path):
    from importer.pocketsmith.models import Category
    from importer.rules import dump_rules, load_rules
    from importer.rules.sync import pulled_entries
    title = f"Streaming{INJECTED}"
    categories = [Category(id=51, title=title, path=title)]
    pulled = pulled_entries([{"id": 9, "payee_matches": f"Netflix{INJECTED}", "category": {"id": 51, "title": title}},
                             {"id": 10, "payee_matches": "Spotify\x85\u2029'\"", "category": {"id": 51,
                                                                                       "title": title}}],
                            categories)
    path = tmp_path / "pulled.yaml"
    path.write_text(dump_rules(pulled, header=[f"2 category rules from {INJECTED}"]))
    rules = load_rules(path).rules
    assert [(r.name, r.condition, r.category) for r in rules] == [(e["name"], e["if"], e["then"]["category"])
                                                                  for e in pulled]
