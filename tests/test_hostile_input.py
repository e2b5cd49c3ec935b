"""Hostile and odd input (issue 15): text that would take over the terminal or break a line, CSV quoting
corners, YAML bombs, numbers too big to be money, and every one ending in a clear message, never a traceback."""

from __future__ import annotations

import io
import json
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from importer.cli import cli
from importer.errors import ConfigError, InputError
from importer.parsers import parse_file
from importer.text import one_line, terminal_safe

SAMPLES = Path(__file__).resolve().parents[1] / "sample_statements"

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
    ("s.ofx", ("OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\n\n<OFX><BANKMSGSRSV1><STMTTRNRS><STMTRS><CURDEF>AUD"
               "<BANKACCTFROM><BANKID>1<ACCTID>42</BANKACCTFROM><BANKTRANLIST>"), _OFX_ROW,
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


# ─── YAML bombs ───────────────────────────────────────────────────────────────────────────────────

def _nested_anchors(top: str) -> str:
    """Twelve levels of nine aliases each (9**12, 282 billion strings, if they were followed) in under 600 bytes."""
    levels = [f"  - &a [{', '.join(['lol'] * 9)}]\n"]
    levels += [f"  - &{chr(97 + n)} [{', '.join([f'*{chr(96 + n)}'] * 9)}]\n" for n in range(1, 12)]
    return f"{top}:\n" + "".join(levels)


@pytest.mark.parametrize("name, args", [
    ("psimport.yaml", ("--config", "{path}", "parse", "{statement}")),
    ("rules.yaml", ("rules", "test", "--rules", "{path}", "--existing", "{export}")),
])
def test_a_600_byte_alias_bomb_is_refused_at_once_in_a_short_message(tmp_path, name, args):
    bomb = _nested_anchors("accounts" if name == "psimport.yaml" else "rules")
    assert len(bomb) <= 600
    path = tmp_path / name
    path.write_text(bomb)
    export = tmp_path / "export.json"
    export.write_text("[]")
    statement = Path(__file__).resolve().parents[1] / "sample_statements" / "everyday.ofx"
    started = time.process_time()
    result = run(*(a.format(path=path, statement=statement, export=export) for a in args))
    assert time.process_time() - started < 2.0
    assert result.exit_code == 3 and "is a YAML anchor" in result.output, result.output
    assert len(result.output) < 400


def test_a_rules_file_nested_3000_deep_is_a_message(tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - name: deep\n    if: " + "{payee: " * 3000 + "x" + "}" * 3000 + "\n")
    result = run("rules", "test", "--rules", str(rules), "--existing", str(tmp_path / "none.json"))
    assert result.exit_code == 3 and "nested more than 100 deep" in result.output, result.output


def test_a_huge_value_in_a_rules_file_is_quoted_as_a_short_excerpt(tmp_path):
    from importer.rules import load_rules
    rules = tmp_path / "rules.yaml"
    rules.write_text(f"rules:\n  - name: {'x' * 100_000}\n    if: {{payee: {{shout: y}}}}\n    then: {{}}\n")
    with pytest.raises(ConfigError) as caught:
        load_rules(rules)
    assert len(str(caught.value)) < 1000, str(caught.value)[:300]      # not the 100,000-character name


def test_yaml_files_too_big_or_not_regular_are_refused_unread(tmp_path):
    from importer.config import load_config
    from importer.limits import MAX_YAML_BYTES
    from importer.rules import load_rules
    big = tmp_path / "rules.yaml"
    with big.open("wb") as handle:
        handle.truncate(MAX_YAML_BYTES + 1)      # sparse: nothing to write, nothing to read
    with pytest.raises(ConfigError, match="over the 16 MB psimport reads as a rules file"):
        load_rules(big)
    with pytest.raises(ConfigError, match="not a regular file"):
        load_rules("/dev/zero")
    with pytest.raises(ConfigError, match="not a regular file"):
        load_config("/dev/zero")


# ─── statement files over the bound, and not files ────────────────────────────────────────────────

def test_a_statement_over_the_bound_is_refused_with_how_to_allow_it(tmp_path):
    statement = tmp_path / "big.csv"
    statement.write_bytes(b"Date,Description,Amount\n" + b"2024-05-01,COFFEE,-4.50\n" * 50_000)   # 1.2 MB
    refused = run("parse", str(statement), "--max-file-mb", "1")
    assert refused.exit_code == 2 and "is 1.1 MB, over the 1 MB psimport reads as a statement" in refused.output
    assert "max_file_mb" in refused.output and "--max-file-mb" in refused.output
    config = tmp_path / "psimport.yaml"
    config.write_text("max_file_mb: 1\n")
    assert run("--config", str(config), "parse", str(statement)).exit_code == 2
    config.write_text("max_file_mb: 2\n")
    assert run("--config", str(config), "parse", str(statement), "--format", "json").exit_code == 0
    config.write_text("max_file_mb: 0\n")
    assert run("--config", str(config), "parse", str(statement)).exit_code == 3


def test_a_sparse_file_bigger_than_200_mb_is_refused_without_reading_it(tmp_path):
    statement = tmp_path / "huge.csv"
    with statement.open("wb") as handle:
        handle.truncate(201 * 2**20)
    started = time.process_time()
    result = run("parse", str(statement))
    assert result.exit_code == 2 and "over the 200 MB" in result.output, result.output
    assert time.process_time() - started < 1.0


@pytest.mark.parametrize("special", ["/dev/zero", "fifo"])
def test_devices_and_pipes_are_refused_not_read(tmp_path, special):
    import os
    if special == "fifo":
        special = str(tmp_path / "statement.csv")
        os.mkfifo(special)       # opening it would wait for a writer forever
    result = run("parse", special)
    assert result.exit_code == 2 and "is not a regular file" in result.output, result.output


@pytest.mark.parametrize("content", ["/dev/zero", "long"])
def test_a_decisions_file_that_is_a_device_or_holds_a_huge_cell_is_a_message(tmp_path, content):
    if content == "long":
        content = str(tmp_path / "decisions.csv")
        Path(content).write_text("decision,external_id,transaction_account_id\n" + "x" * 200_000 + "\n")
    result = run("--state-dir", str(tmp_path / "state"), "import", str(SAMPLES), "--sandbox", "--yes",
                 "--decisions", content)
    assert result.exit_code == 2 and content in result.output, result.output[-300:]


# ─── numbers that cannot be money ─────────────────────────────────────────────────────────────────

BAD_NUMBERS = ["NaN", "-Infinity", "1e400", "1e999999999", "9" * 100_000]


@pytest.mark.parametrize("number", BAD_NUMBERS + ['"NaN"', '"1e400"', '"1e999999999"'], ids=lambda n: n[:12])
def test_an_export_with_an_amount_that_cannot_be_money_is_a_message(tmp_path, number):
    export = tmp_path / "export.json"
    export.write_text(f'[{{"id": 1, "date": "2024-05-01", "amount": {number}, "payee": "x"}}]')
    statement = Path(__file__).resolve().parents[1] / "sample_statements" / "everyday.ofx"
    result = run("preview", str(statement), "--account", "1", "--existing", str(export))
    assert result.exit_code == 2 and str(export) in result.output, result.output[:500]
    assert len(result.output) < 400


def test_an_export_nested_100000_deep_is_a_message(tmp_path):
    export = tmp_path / "export.json"
    export.write_text("[" * 100_000 + "]" * 100_000)
    statement = Path(__file__).resolve().parents[1] / "sample_statements" / "everyday.ofx"
    result = run("preview", str(statement), "--account", "1", "--existing", str(export))
    assert result.exit_code == 2 and "nested too deep" in result.output, result.output[:500]


@pytest.mark.parametrize("number", BAD_NUMBERS, ids=lambda n: n[:12])
def test_money_from_the_api_that_cannot_be_money_is_an_api_error(number):
    import httpx

    from importer.errors import ApiError
    from importer.pocketsmith.client import PocketSmith
    body = f'[{{"id": 1, "date": "2024-05-01", "amount": {number}, "payee": "x"}}]'
    transport = httpx.MockTransport(lambda request: httpx.Response(200, text=body,
                                                                   headers={"Content-Type": "application/json"}))
    with PocketSmith("https://api.example.test/v2", "k", transport=transport) as client:
        with pytest.raises(ApiError, match="JSON psimport will not read"):
            client.transactions(1)


@pytest.mark.parametrize("fmt", ["ofx", "csv", "sta"])
def test_a_statement_amount_of_100000_digits_is_refused_at_its_line(tmp_path, fmt):
    digits = "9" * 100_000
    text = {
        "ofx": "OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\n\n<OFX><BANKMSGSRSV1><STMTTRNRS><STMTRS><CURDEF>AUD"
               "<BANKACCTFROM><BANKID>1<ACCTID>42</BANKACCTFROM><BANKTRANLIST>\n<STMTTRN><TRNTYPE>DEBIT"
               f"<DTPOSTED>20240501<TRNAMT>{digits}<FITID>1<NAME>x</STMTTRN>\n</BANKTRANLIST></STMTRS></STMTTRNRS>"
               "</BANKMSGSRSV1></OFX>\n",
        "csv": f"Date,Description,Amount\n2024-05-01,x,{digits}\n2024-05-02,y,1.00\n",
        "sta": f":20:X\n:25:123\n:28C:1\n:60F:C240501AUD0,00\n:61:2405010501D{digits}NTRFNONREF\n:86:x\n"
               ":62F:C240501AUD0,00\n",
    }[fmt]
    path = tmp_path / f"s.{fmt}"
    path.write_text(text)
    with pytest.raises(InputError, match="too big to be money") as caught:
        parse_file(path)
    assert caught.value.line == {"ofx": 6, "csv": 2, "sta": 5}[fmt]
    assert len(str(caught.value)) < 300


# ─── no quadratic corners ─────────────────────────────────────────────────────────────────────────

def test_payee_keys_and_similarity_read_a_bounded_prefix():
    from importer.payee import MAX_KEY_INPUT, match_key, similarities, similarity
    huge = "WOOLWORTHS " + "X" * 1_000_000
    assert len(match_key(huge)) <= MAX_KEY_INPUT
    assert match_key(huge).startswith("woolworths")
    assert similarity("a" * 1_000_000, "a" * 500_000 + "b") == 1.0      # the first 256 characters agree
    assert list(similarities(["a" * 100_000], ["b" * 1_000_000])) == [0.0]


@pytest.mark.parametrize("statement_chars, export_chars", [(20_000, 20_000), (100_000, 1_000_000)])
def test_a_preview_of_huge_payees_with_the_same_amount_finishes_quickly(tmp_path, statement_chars, export_chars):
    import random
    import string
    rng = random.Random(1)
    text = lambda n: "".join(rng.choice(string.ascii_uppercase + " ") for _ in range(n))
    statement = tmp_path / "s.csv"
    statement.write_text(f"Date,Description,Amount\n2024-05-01,{text(statement_chars)},-4.50\n"
                         "2024-05-02,COFFEE,-3.00\n")
    export = tmp_path / "export.json"
    export.write_text(json.dumps([{"id": 1, "date": "2024-05-01", "amount": -4.5, "payee": text(export_chars),
                                   "original_payee": text(export_chars), "transaction_account": {"id": 1}}]))
    started = time.process_time()
    result = run("preview", str(statement), "--account", "1", "--existing", str(export), "--format", "json")
    assert result.exit_code == 0, result.output[:500]
    # It took 50 s (20,000 against 20,000) and did not finish (1 MB against 100 KB) before payees were bounded;
    # it takes well under a second now. A generous bound, in CPU time.
    assert time.process_time() - started < 15


def test_the_issues_backtracking_regex_runs_at_once_and_one_that_still_backtracks_names_its_rule(tmp_path):
    statement = tmp_path / "s.csv"
    statement.write_text(f"Date,Description,Amount\n2024-05-01,{'a' * 28}b,-4.50\n")
    rules = tmp_path / "rules.yaml"
    rules.write_text('rules:\n  - name: nested-repeat\n    if: {payee: {regex: "(a+)+$"}}\n    then: {category: X}\n')
    started = time.process_time()
    fine = run("rules", "explain", str(statement), "--rules", str(rules), "--format", "json")
    assert fine.exit_code == 0 and json.loads(fine.output)["transactions"][0]["rules"] == []
    assert time.process_time() - started < 5         # 23 s with Python's re

    # (a|aa)+ splits 60 a's in Fibonacci(60), 1.5e12, ways: hours for the regex module too, without its bound.
    statement.write_text(f"Date,Description,Amount\n2024-05-01,{'a' * 60}b,-4.50\n")
    rules.write_text('rules:\n  - name: alternation\n    if: {payee: {regex: "(a|aa)+$"}}\n    then: {category: X}\n')
    slow = run("rules", "explain", str(statement), "--rules", str(rules))
    assert slow.exit_code == 3, slow.output
    assert "rule 'alternation': payee: regex '(a|aa)+$' took over 0.5 s" in slow.output
    assert f"{rules}, line 3" in slow.output


# ─── private state ────────────────────────────────────────────────────────────────────────────────

def test_state_files_are_0600_and_the_folders_psimport_makes_0700(tmp_path, monkeypatch):
    import os
    import stat as stat_module
    monkeypatch.setattr(os, "umask", os.umask)      # restored after the test
    os.umask(0o022)                                  # the common default: 0644 files, 0755 folders
    state = tmp_path / "new" / "state"
    samples = Path(__file__).resolve().parents[1] / "sample_statements"
    result = run("--state-dir", str(state), "import", str(samples), "--sandbox", "--yes", "--quiet")
    assert result.exit_code == 0, result.output
    made = [tmp_path / "new", state, *state.rglob("*")]
    assert {p.name for p in made} >= {"journal.sqlite3", "import.lock", "sandbox", "key", "sandbox.sqlite3"}
    for path in made:
        mode = stat_module.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), f"{path.relative_to(tmp_path)} is {mode:o}"


def test_an_older_journal_readable_by_others_is_made_private(tmp_path):
    import os

    from importer.write.journal import Journal
    path = tmp_path / "journal.sqlite3"
    Journal(path).close()
    os.chmod(path, 0o644)
    Journal(path).close()
    assert path.stat().st_mode & 0o777 == 0o600


# ─── the sandbox as a server (real sockets) ───────────────────────────────────────────────────────

def _raw(sandbox, request: bytes, wait: float = 5.0) -> bytes:
    """Send raw bytes to the sandbox and read until it closes or stops answering."""
    import socket
    with socket.create_connection(("127.0.0.1", sandbox.server.port), timeout=wait) as conn:
        conn.sendall(request)
        answer = b""
        try:
            while chunk := conn.recv(65536):
                answer += chunk
                if b"\r\n\r\n" in answer and b"Content-Length: " in answer:
                    head, _, body = answer.partition(b"\r\n\r\n")
                    length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
                    if len(body) >= length:
                        break
        except TimeoutError:
            pass
        return answer


@pytest.mark.parametrize("length", ["abc", "-1", "1e3", "+5", "99999999999999999999999"])
def test_a_malformed_content_length_is_a_400_not_a_traceback_or_a_hang(make_sandbox, capsys, length):
    sandbox = make_sandbox()
    answer = _raw(sandbox, f"POST /v2/transaction_accounts/510001/transactions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           f"X-Developer-Key: {sandbox.key}\r\nContent-Length: {length}\r\n\r\n{{}}".encode())
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]
    assert b"Content-Length must be a whole number" in answer
    assert "Traceback" not in capsys.readouterr().err
    assert sandbox.transactions() == []


def test_an_idle_socket_and_a_body_shorter_than_promised_are_closed(make_sandbox):
    import socket
    sandbox = make_sandbox(idle_seconds=0.3)
    for request in (b"", b"POST /v2/me HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\nabc"):
        with socket.create_connection(("127.0.0.1", sandbox.server.port), timeout=30) as conn:
            conn.sendall(request)
            assert conn.recv(1024) == b""        # closed by the server, long before this recv would time out
    assert httpx_get(sandbox, "/me").status_code == 200      # and it still serves


def httpx_get(sandbox, path, base=None):
    import httpx
    return httpx.get((base or sandbox.url) + path, headers={"X-Developer-Key": sandbox.key}, timeout=5)


def test_200_concurrent_creates_get_no_connection_resets(make_sandbox):
    import http.client
    import threading
    sandbox = make_sandbox()
    start = threading.Barrier(200)
    outcomes: list = []

    def create(n: int) -> None:
        body = json.dumps({"payee": f"Shop {n}", "amount": -1.25, "date": "2026-11-02"})
        conn = http.client.HTTPConnection("127.0.0.1", sandbox.server.port, timeout=60)
        try:
            start.wait()
            conn.request("POST", "/v2/transaction_accounts/510001/transactions", body=body,
                         headers={"X-Developer-Key": sandbox.key, "Content-Type": "application/json"})
            outcomes.append(conn.getresponse().status)
        except OSError as exc:
            outcomes.append(repr(exc))
        finally:
            conn.close()

    threads = [threading.Thread(target=create, args=(n,)) for n in range(200)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count(201) == 200, [o for o in outcomes if o != 201][:5]
    assert len(sandbox.transactions()) == 200


def test_paged_lists_link_to_the_host_the_client_used(make_sandbox, tmp_path):
    sandbox = make_sandbox(seed="demo", max_per_page=7)
    localhost = f"http://localhost:{sandbox.server.port}/v2"
    answer = httpx_get(sandbox, "/transaction_accounts/510001/transactions?per_page=7", base=localhost)
    assert f'<http://localhost:{sandbox.server.port}/v2/transaction_accounts/510001/transactions?' \
           in answer.headers["Link"]
    # A Host header that does not name this machine does not get to choose where links point.
    import httpx
    forged = httpx.get(sandbox.url + "/transaction_accounts/510001/transactions?per_page=7",
                       headers={"X-Developer-Key": sandbox.key, "Host": "evil.example:80"}, timeout=5)
    assert "evil.example" not in forged.headers["Link"] and sandbox.server.origin in forged.headers["Link"]
    # The whole command, through the real client, pages through every transaction.
    samples = Path(__file__).resolve().parents[1] / "sample_statements"
    result = run("--api-url", localhost, "--state-dir", str(tmp_path / "state"), "preview", str(samples),
                 "--config", str(samples / "psimport.yaml"), "--format", "json",
                 env={"POCKETSMITH_DEVELOPER_KEY": sandbox.key})
    assert result.exit_code == 0, result.output[-500:]
    assert json.loads(result.output)["summary"]["duplicate"] > 100


# ─── a damaged journal, a full disk ───────────────────────────────────────────────────────────────


def _empty_export(tmp_path: Path) -> Path:
    export = tmp_path / "empty-export.json"
    export.write_text("[]")
    return export


def _import(sandbox, state: Path, *extra: str):
    return CliRunner().invoke(cli, ["--api-url", sandbox.url, "--state-dir", str(state), "import", str(SAMPLES),
                                    "--config", str(SAMPLES / "psimport.yaml"), "--yes", *extra],
                              env={"POCKETSMITH_DEVELOPER_KEY": sandbox.key, "COLUMNS": "200"},
                              catch_exceptions=False)


@pytest.mark.parametrize("command", [("batches",), ("undo", "2026", "--yes"), ("import",)])
def test_a_journal_zeroed_in_its_middle_says_what_to_do(make_sandbox, tmp_path, command):
    sandbox = make_sandbox()
    state = tmp_path / "state"
    assert _import(sandbox, state).exit_code == 0
    journal = state / "journal.sqlite3"
    size = journal.stat().st_size
    with journal.open("r+b") as handle:
        handle.seek(size // 3)
        handle.write(b"\0" * (size // 3))
    if command == ("import",):
        result = _import(sandbox, state)
    else:
        result = run("--api-url", sandbox.url, "--state-dir", str(state), *command,
                     env={"POCKETSMITH_DEVELOPER_KEY": sandbox.key})
    assert result.exit_code == 3, result.output
    assert "the import journal is damaged" in result.output and "move it aside" in result.output
    assert "run the same command again" in result.output


class _DiskFillsUp:
    """The journal's connection, with the disk filling up after `commits` commits: COMMIT then fails as
    SQLite fails on a full disk (SQLITE_FULL, "database or disk is full")."""

    def __init__(self, db, commits: int):
        self._db = db
        self._left = commits

    def execute(self, sql, *args):
        import sqlite3
        if sql == "COMMIT":
            if self._left <= 0:
                self._db.execute("ROLLBACK")       # as SQLite does when a commit fails for want of space
                raise sqlite3.OperationalError("database or disk is full")
            self._left -= 1
        return self._db.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self._db, name)


@pytest.mark.parametrize("commits", [1, 4])
def test_a_full_disk_mid_import_says_free_space_and_run_again_which_finishes_exactly_once(make_sandbox, tmp_path,
                                                                                         monkeypatch, commits):
    from importer.write import journal as journal_module
    sandbox = make_sandbox()
    state = tmp_path / "state"
    opened = journal_module.Journal.__init__

    def filling(self, *args, **kwargs):
        opened(self, *args, **kwargs)
        self._db = _DiskFillsUp(self._db, commits)
    monkeypatch.setattr(journal_module.Journal, "__init__", filling)
    full = _import(sandbox, state)
    assert full.exit_code == 3, full.output
    assert "the disk is full" in full.output and "free space, then run the same command again" in full.output
    assert "Traceback" not in full.output
    # With the disk full from the start nothing is sent; later, part of the batch is created first.
    assert (len(sandbox.transactions()) > 0) == (commits > 1)
    monkeypatch.setattr(journal_module.Journal, "__init__", opened)
    again = _import(sandbox, state)
    assert again.exit_code == 0, again.output
    held = [(t["date"], t["amount"], t["payee"]) for t in sandbox.transactions()]
    planned = json.loads(run("preview", str(SAMPLES), "--config", str(SAMPLES / "psimport.yaml"), "--existing",
                             str(_empty_export(tmp_path)), "--format", "json").output)["transactions"]
    assert len(held) == len(planned)        # every row exactly once


# ─── two writers at once ──────────────────────────────────────────────────────────────────────────

def _import_command(sandbox, state: Path, *extra: str) -> list[str]:
    import sys
    return [sys.executable, "-m", "importer", "--api-url", sandbox.url, "--state-dir", str(state), "import",
            str(SAMPLES), "--config", str(SAMPLES / "psimport.yaml"), *extra]


def _process_env(sandbox) -> dict:
    import os
    return {**os.environ, "POCKETSMITH_DEVELOPER_KEY": sandbox.key, "COLUMNS": "200",
            "PYTHONPATH": str(Path(__file__).resolve().parents[1])}


def test_two_imports_of_the_same_statements_at_once_create_each_row_once(make_sandbox, tmp_path):
    """Two real `psimport import` processes, two state dirs, one sandbox: both plan every row as new; the
    first creates them; the second, answered only then, finds them and stops before creating any."""
    import subprocess

    import pexpect
    sandbox = make_sandbox()
    env = _process_env(sandbox)
    second = pexpect.spawn(_import_command(sandbox, tmp_path / "second")[0],
                           _import_command(sandbox, tmp_path / "second")[1:], env=env, encoding="utf-8",
                           timeout=60, dimensions=(40, 200))
    second.expect(r"Create 155 transactions in PocketSmith")      # planned: all 155 are new to it
    first = subprocess.run(_import_command(sandbox, tmp_path / "first", "--yes"), env=env, capture_output=True,
                           text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert len(sandbox.transactions()) == 155
    second.sendline("y")
    second.expect(pexpect.EOF)
    second.close()
    said = " ".join(second.before.split())
    assert second.exitstatus == 5, said
    assert "another import is creating the rows of batch" in said and "psimport stopped before sending more" in said
    assert len(sandbox.transactions()) == 155                      # nothing doubled
    # What it says to do: undo its batch, then the same files plan as duplicates.
    import shlex
    import sys
    undo = [word for word in shlex.split(said[said.index("psimport undo "):].split(" and preview")[0]) if word != "\\"]
    undone = subprocess.run([sys.executable, "-m", "importer", *undo[1:]], env=env, capture_output=True, text=True,
                            timeout=60)
    assert undone.returncode == 0, undone.stdout + undone.stderr
    again = subprocess.run(_import_command(sandbox, tmp_path / "second", "--yes"), env=env, capture_output=True,
                           text=True, timeout=120)
    assert again.returncode == 0 and "Nothing to import" in again.stdout + again.stderr, again.stdout
    assert len(sandbox.transactions()) == 155


def test_a_lookup_never_claims_a_copy_another_import_made(sandbox, tmp_path):
    """A create of ours went unanswered, and another import created the same row: two copies where ours
    could have made one. The lookup claims neither and says why."""
    from importer.write.journal import Journal, NewRow
    from importer.write.others import OtherWriter
    from importer.write.writer import Writer
    body = {"payee": "Daily Grind", "amount": "-4.50", "date": "2026-11-02", "needs_review": False,
            "is_transfer": False}
    client = sandbox.client()
    with Journal(tmp_path / "journal.sqlite3") as journal:
        batch_id = journal.create_batch(key="k", files=[], accounts=[510001], plan={}, target="t", existing={},
                                        rows=[NewRow(0, 510001, "X0", "fp0", "create", True, body)])
        journal.mark_sending_many(batch_id, [0])
        for _ in range(2):        # ours (its answer lost) and the other import's
            client.create_transaction(510001, {"payee": "Daily Grind", "amount": Decimal("-4.50"),
                                               "date": date(2026, 11, 2)})
        report = Writer(client, journal, settle_delay=0).run(batch_id)
        assert isinstance(report.other_writer, OtherWriter) and not report.complete
        assert [r.state for r in journal.rows(batch_id)] == ["sending"]     # nothing claimed, nothing resent
        assert len(sandbox.transactions()) == 2


def test_a_backtracking_payee_noise_regex_in_the_config_stops_with_a_message(tmp_path):
    from importer.payee import PayeeSettings, match_key
    config = tmp_path / "psimport.yaml"
    config.write_text('payee:\n  noise: ["(a|aa)+$"]\n')
    statement = tmp_path / "s.csv"
    statement.write_text(f"Date,Description,Amount\n2024-05-01,{'a' * 60}b,-4.50\n")
    export = tmp_path / "export.json"     # a candidate of the same amount: the payees are compared
    export.write_text('[{"id": 1, "date": "2024-05-01", "amount": -4.5, "payee": "x"}]')
    result = run("--config", str(config), "preview", str(statement), "--account", "1", "--existing", str(export))
    assert result.exit_code == 3 and "payee: noise: a regex among '(a|aa)+$' took over 0.5 s" in result.output
    # An ordinary noise pattern still works, through the same engine.
    assert match_key("CAFE MEMBER 1234", PayeeSettings(extra_noise=(r"\bmember \d+",))) == "cafe"


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full, where every write fails with ENOSPC")
@pytest.mark.parametrize("where", ["--out", "stdout"])
def test_a_full_disk_under_any_other_file_says_free_space_and_run_again(tmp_path, where):
    export = _empty_export(tmp_path)
    statement = SAMPLES / "everyday.ofx"
    args = ["preview", str(statement), "--account", "1", "--existing", str(export), "--format", "html"]
    if where == "--out":
        result = CliRunner().invoke(cli, [*args, "--out", "/dev/full"], catch_exceptions=False)
        output = result.output
    else:
        import subprocess
        import sys
        with open("/dev/full", "w") as full:
            done = subprocess.run([sys.executable, "-m", "importer", *args], stdout=full, stderr=subprocess.PIPE,
                                  text=True, env=_process_env_plain(), timeout=60)
        result, output = done, done.stderr
    assert (result.exit_code if where == "--out" else result.returncode) == 3, output
    assert "the disk is full" in output and "free space, then run the same command again" in output
    assert "Traceback" not in output


def _process_env_plain() -> dict:
    import os
    return {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}


def test_an_account_name_with_a_newline_stays_inside_its_comment_in_psimport_yaml(tmp_path):
    from importer.config import load_config
    from importer.setup import add_to_config
    config = tmp_path / "psimport.yaml"
    add_to_config(config, [({"ofx_account": "42", "transaction_account_id": 510001},
                            "Everyday\ndate_order: mdy\naccounts: []\n#")])
    loaded = load_config(config)
    assert loaded.date_order is None and len(loaded.accounts) == 1
