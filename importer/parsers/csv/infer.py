"""Layout inference: a CSV no mapping knows, read from the file itself, or refused with the one question that settles it.

What it works out, in order: the encoding (from the bytes, charset-normalizer for anything not
Unicode), the delimiter, where the data starts (preamble lines, a header row or none) and ends (footer
lines), then each column's role from the content of the rows: the dates, the amounts, a running
balance that each row's amount must carry forward (balance[i-1] + amount[i] = balance[i], in either
row order), which settles the sign of a single amount and which of an in/out pair is money out; a
direction flag, a currency column, a status column with pending rows, and the payee, memo and type
by how their texts vary. Header names (`headers.py`, 15 languages) break ties the content cannot.

The result is an ordinary mapping (the same data a mapping YAML holds), so the reader reads it like
any other, with the day/month order and decimal mark taken from every row; `psimport mappings new`
(`newmapping.py`) writes it out. Whatever cannot be told is an InputError naming the mapping key that
answers it.
"""

from __future__ import annotations

import codecs
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from typing import Any, Sequence

from importer.errors import InputError
from importer.parsers.csv.headers import (
    PENDING_WORDS,
    currency_code,
    currency_in_name,
    header_role,
    is_balance_text,
    is_exact_name,
    is_pending,
    is_summary_text,
)
from importer.parsers.csv.layout import Layout, date_orders, parse_with_order
from importer.parsers.csv.mapping import mapping_from_dict
from importer.parsers.csv.text import (
    HEAD_RECORDS,
    Records,
    Source,
    looks_utf16le,
    read_records,
)
from importer.parsers.csv.values import (
    ORDERED_FORMATS,
    AmountReader,
    DateFormat,
    infer_decimal_mark,
    two_digit_years,
)
from importer.record import TOO_BIG

__all__ = ["INFERRED", "Inferred", "LayoutQuestion", "could_be_money", "infer_layout", "detect_encoding",
           "NEW_MAPPING_HINT"]

# Inference could not settle it, so `mappings new` could not either: a mapping written by hand answers it.
NEW_MAPPING_HINT = "write a mapping that says so (docs/mappings.md) and pass --mapping FILE, or --mapping NAME"

# The code pages bank exports come in when they are not Unicode, for the detector to choose among.
# Cyrillic code pages are left out: a stray byte in a UTF-8 file reads as plausible Cyrillic, never as
# plausible Western text, so they would win ties they should lose.
_CODE_PAGES = ["cp1252", "latin_1", "cp1250", "cp852", "cp1254", "cp1257", "iso8859_2", "iso8859_15", "shift_jis",
               "cp932", "gb18030", "big5", "euc_jp", "cp850", "cp1251", "cp1253", "cp866", "koi8_r", "cp949"]
_MULTIBYTE = frozenset(("shift_jis", "cp932", "gb18030", "big5", "euc_jp", "cp949"))
# How common each single-byte page is in bank exports: cp1252 by far, then Windows' regional pages; ISO, DOS and
# KOI8 pages are rarer. A reading ties with a rival only at the same commonness or above (a French file that
# cp852 also reads as Polish is French).
_TIER = {"cp1252": 0, "cp1250": 1, "cp1251": 1, "cp1253": 1, "cp1254": 1, "cp1257": 1}
# Characters a code page decodes to that its own languages rarely write: symbols, and letters of other scripts.
# (Not °: "N° documento" is everyday French, Portuguese and Spanish.)
_SYMBOLS = "¤¦¨´¸¹²³¼½¾×÷¯¿¬¶§±µ·˘˛˝˙"
_RARE_LETTERS = {
    "cp1252": frozenset(_SYMBOLS + "ìòùøåæðþýÌÒÙØÅÆÐÞÝœŒŸ"),
    "latin_1": frozenset(_SYMBOLS + "ìòùøåæðþýÌÒÙØÅÆÐÞÝ"),
    "iso8859_15": frozenset(_SYMBOLS + "ìòùøåæðþýÌÒÙØÅÆÐÞÝœŒŸ"),
    "cp1250": frozenset(_SYMBOLS + "ĺľŕăţşđĹĽŔĂŢŞĐ"),
    "iso8859_2": frozenset(_SYMBOLS + "ĺľŕăţşđĹĽŔĂŢŞĐ"),
    "cp1257": frozenset(_SYMBOLS + "ęįųĘĮŲõÕżźńćłśŻŹŃĆŁŚ"),
    "cp1254": frozenset(_SYMBOLS + "ìòùøåæÌÒÙØÅÆœŒŸ"),
}
# The letters of each language a code page is for (case-folded, beside ASCII): a reading whose letters fit no one
# of them (Polish ń beside Czech í, Lithuanian ė beside Latvian ē, Turkish ğ beside ë) is bytes read in the wrong
# page. Pages not listed (cp1252: Western Europe's many languages) are not checked so.
_CENTRAL = ("ąćęłńóśźż", "áčďéěíňóřšťúůýž", "áäčďéíĺľňóôŕšťúýž", "áéíóöőúüű", "čćđšž", "ăâîșşțţ", "äöüßé", "ëç")
_LANGUAGES: dict[str, tuple[str, ...]] = {
    "cp1250": _CENTRAL, "iso8859_2": _CENTRAL, "cp852": _CENTRAL,
    "cp1257": ("ąčęėįšųūž", "āčēģīķļņšūž", "äöõüšž", "ąćęłńóśźż", "äöüß"),
    "cp1254": ("âçğıîöşûüi̇",),
}
_TURKISH_ONLY = frozenset("ğış")
# Which script a letter is of, for a decoding whose letters mix scripts (Cyrillic beside accented Latin):
# bytes read in the wrong code page.
_SCRIPTS = (("latin", 0x00C0, 0x024F), ("greek", 0x0370, 0x03FF), ("cyrillic", 0x0400, 0x04FF),
            ("hangul", 0xAC00, 0xD7AF), ("hangul", 0x1100, 0x11FF), ("hangul", 0x3130, 0x318F),
            ("kana", 0x3040, 0x30FF), ("han", 0x4E00, 0x9FFF))
_DETECTOR_BYTES = 16 * 1024
_HIGH_BYTE = re.compile(rb"[\x80-\xff]")
_TAIL_CHARS = 8 * 1024
# An in/out pair with no balance or names is settled by how many entries each has only over this many rows:
# purchases outnumber payments in by far on any account people spend from.
_MANY_ROWS = 20
_ORDER_WORDS = {"dmy": "day first", "mdy": "month first", "ymd": "year first"}
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}

_DATE_CELL = re.compile(
    r"\s*(?:\d{1,4}[-/.:]\d{1,2}[-/.:]\d{1,4}\.?|\d{8}|\d{1,2}[- ][^\W\d_]{3,9}\.?[- ]\d{2,4}"
    r"|[^\W\d_]{3,9}\.? \d{1,2},? \d{4}|\d{1,2}\. ?[^\W\d_]{3,9}\.? \d{4}|\d{4}年\d{1,2}月\d{1,2}日)"
    r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?: ?[AaPp][Mm])?\S*(?: ?[+-]\d{2}:?\d{2})?)?\s*")
_AMOUNT_CELL = re.compile(r"\s*\(?\s*[-+\u2212]?\s*(?:[^\w\s.,()+-]{1,3}|[A-Z]{3})?\s*[-+\u2212]?\s*"
                          r"(?:\d[\d.,' \u00a0\u202f]*|[.,]\d+)\s*(?:[^\w\s.,()+-]{1,3}|[A-Z]{3})?\s*[-+]?\s*\)?\s*"
                          r"(?:(?:DR|CR|Dr|Cr)\.?)?\s*")
_GROUPED = re.compile(r"[-+]?\d{1,3}(?:[,. '\u00a0]\d{3})+")
_IDENTIFIER = re.compile(r"\d[\d -]*\d")
_TIME = re.compile(r"\d{1,2}:\d{2}(?::\d{2})?(?:\s?[AaPp][Mm])?")
_CENTS = re.compile(r"\d[.,]\d{1,2}\D{0,4}$")
_PLAIN_NUMBER = re.compile(r"[-+(]?\s*[$£€]?\s*[\d.,' ]*\d[\d.,' ]*\)?-?")
_CURRENCIES = frozenset((
    "AUD NZD GBP EUR USD CAD CHF JPY CNY HKD SGD SEK NOK DKK PLN CZK HUF RON BGN HRK ISK TRY RUB UAH ZAR INR "
    "IDR MYR THB PHP VND KRW TWD BRL MXN ARS CLP COP PEN ILS AED SAR QAR KWD EGP MAD NGN KES LKR PKR BDT").split())
# A direction column's values: (money out, money in), case-folded.
_FLAG_OUT = frozenset(("d", "dr", "debit", "debet", "db", "dt", "s", "soll", "af", "out", "outflow", "-", "débit",
                       "débito", "debito", "debe", "cargo", "出金", "支出", "借"))
_FLAG_IN = frozenset(("c", "cr", "credit", "ct", "k", "kr", "h", "haben", "bij", "in", "inflow", "+", "crédit",
                      "crédito", "credito", "haber", "abono", "入金", "收入", "贷"))


class LayoutQuestion(InputError):
    """What inference cannot settle, as a question a person can answer: the mapping key, and each answer
    with what it means (`mappings new` asks it on a terminal; elsewhere it is the error)."""

    def __init__(self, message: str, *, file: str, key: str, answers: dict[str, str], line: int | None = None):
        self.key = key
        self.answers = answers
        super().__init__(message, file=file, line=line)


INFERRED = "layout inferred from the file: "
_FIRST_ROW_LINES = 60   # the first transaction is looked for in this many lines (the preamble above it included)   # how the note that says what was inferred starts


@dataclass
class Inferred:
    """What inference decided: the layout to read with, its mapping as YAML data, and what to tell the user."""

    layout: Layout
    data: dict[str, Any]
    notes: list[str] = field(default_factory=list)   # what was decided, a part a phrase
    header: list[str] | None = None
    first_line: int = 1   # the first line of data
    width: int = 0        # how many columns a row of data has
    unread_money: dict[int, str] = field(default_factory=dict)   # columns named for money not read: index → name
    warnings: list[str] = field(default_factory=list)   # what the user should check (rows read as 0)
    refusal: InputError | None = None   # a row this layout would read wrong: raised before reading the file

    def late_money(self, text: str, filename: str) -> InputError | None:
        """The first row below the sample with a value in a column named for money that inference did not
        read (a refund in `Paid in` after 200 debits), as the error that says how to read it; None when none."""
        if not self.unread_money:
            return None
        records = read_records(text, self.layout.delimiter, '"', filename, lenient=True)
        for index, row in enumerate(records.rows):
            line = records.line_of(index)
            if line < self.first_line:
                continue
            for column, name in self.unread_money.items():
                if column < len(row) and _is_amount_cell(row[column].strip()):
                    role = header_role(name)[0]
                    key = "columns.amount" if role == "amount" else f"columns.{role}"
                    return InputError(
                        f"'{name}' holds an amount on this row, and the rows inference sampled had none there, so "
                        f"it was not read; write a mapping that reads it ({key}: {name}; `psimport mappings new` "
                        "writes one to start from) and pass --mapping FILE", file=filename, line=line)
        return None

    @property
    def summary(self) -> str:
        """What was inferred, in one line (said on stderr, and in preview's warnings)."""
        return INFERRED + "; ".join(self.notes)

    @property
    def sheet_summary(self) -> str:
        """The summary for a spreadsheet's rows: no delimiter or encoding (a sheet has cells, not text)."""
        where = self.notes[0].split(", ")[-1]
        return INFERRED + "; ".join([where, *self.notes[1:]])


# ─── encoding ─────────────────────────────────────────────────────────────────────────────────

def detect_encoding(data: bytes, filename: str = "") -> str | None:
    """The file's encoding when it is not Unicode (None when it is: UTF-8, UTF-16, a BOM). A LayoutQuestion
    (key `encoding`) when the bytes read as well in two code pages that give different text, or the likeliest
    reading mixes letters of two scripts: guessing would turn the payees into mojibake without a word."""
    if data.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return None
    sample = data.rstrip(b"\x00")
    try:
        sample.decode("utf-8")
        return None
    except UnicodeDecodeError:
        pass
    if looks_utf16le(data):
        return None
    import charset_normalizer  # only for files that are not Unicode: it costs 50 ms to import
    # The detector needs every non-ASCII byte it can get, and they are few: give it the lines
    # that hold them rather than the first kilobytes alone.
    # Distinct lines only, and a few kilobytes of them: the detector's time grows with what it is given
    # (256 KB took it 4.5 s), and a statement repeats its payees.
    excerpt = _non_ascii_lines(sample, _DETECTOR_BYTES)
    ranked = _ranked(charset_normalizer.from_bytes(excerpt, cp_isolation=_CODE_PAGES), excerpt)
    encoding = ranked[0][0] if ranked else "cp1252"
    try:
        data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        encoding = "cp1252"
        try:
            data.decode(encoding)
        except UnicodeDecodeError:
            encoding = "latin-1"
    else:
        if ranked:
            _refuse_uncertain(ranked, excerpt, filename)
    return codecs.lookup(encoding).name


def _cjk_misfit(encoding: str, text: str) -> int:
    # The double-byte pages overlap: Korean read as GB18030 is valid Chinese characters, Chinese read as cp949
    # hangul beside hanja, Japanese read as cp949 hangul syllables Korean never writes. Korean is in the 2,350
    # syllables of KS X 1001 (what EUC-KR holds); kana are only Japanese.
    scripts = _scripts(text)
    if encoding == "cp949":
        letters = [ch for ch in text if ord(ch) >= 0xC0 and ch.isalpha()]
        common = all(_encodes(ch, "euc_kr") for ch in letters)
        return -1 if scripts == {"hangul"} and common else 1
    if encoding in ("shift_jis", "cp932", "euc_jp"):
        return -1 if "kana" in scripts else 1 if "hangul" in scripts else 0
    return 1 if scripts & {"kana", "hangul"} else 0


def _encodes(ch: str, encoding: str) -> bool:
    try:
        ch.encode(encoding)
        return True
    except UnicodeEncodeError:
        return False


def _refuse_uncertain(ranked: list[tuple[str, tuple[int, int, int]]], excerpt: bytes, filename: str) -> None:
    """A LayoutQuestion when the likeliest reading is not sure: a rival as clean gives other text, or its
    letters mix scripts."""
    best, rank = ranked[0]
    text = _differing_words(excerpt, best)
    # Double-byte pages are not weighed so: on a few words GB18030, Big5 and EUC-JP all read kanji, and the
    # detector's own order (then the commonest) decides.
    tier = _TIER.get(best, 2)
    rivals = {name: words for name, theirs in ranked[1:] if theirs[:2] <= rank[:2] and _TIER.get(name, 2) <= tier
              and 0 < tier and best not in _MULTIBYTE for words in [_differing_words(excerpt, name)] if words != text}
    mixed = _mixes_scripts(excerpt.decode(best, errors="replace"))
    if not rivals and not mixed:
        return
    answers = {codecs.lookup(best).name: f"reads '{text}'"}
    for name, words in list(rivals.items())[:3]:
        answers.setdefault(codecs.lookup(name).name, f"reads '{words}'")
    why = ("its letters mix scripts" if mixed else "other code pages read it as well")
    others = "".join(f", as {codecs.lookup(name).name} '{words}'" for name, words in list(rivals.items())[:3])
    raise LayoutQuestion(f"the file is not Unicode and its code page is not sure ({why}): read as {best} it says "
                         f"'{text}'{others}; say which reads the file right with `encoding:` in a mapping "
                         f"(`psimport mappings new FILE` asks), or save the file again as UTF-8",
                         file=filename, key="encoding", answers=answers)


def _differing_words(excerpt: bytes, encoding: str) -> str:
    """The first few words holding a non-ASCII character, as `encoding` reads them (what a person checks)."""
    words = [w for w in re.split(r"[\s,;\t|\"]+", excerpt.decode(encoding, errors="replace")) if not w.isascii()]
    return " ".join(dict.fromkeys(words[:4]))


def _scripts(text: str) -> set[str]:
    found: set[str] = set()
    for ch in text:
        if ord(ch) >= 0xC0 and ch.isalpha():
            code = ord(ch)
            found.update(name for name, low, high in _SCRIPTS if low <= code <= high)
    return found


def _mixes_scripts(text: str) -> bool:
    """Whether a word mixes letters of two scripts (`Cafι`, `Mьller`): bytes read in another script's page.
    Words of different scripts side by side (`Yandex Такси`) are everyday text."""
    for word in set(re.findall(r"[^\W\d_]+", text)):
        if word.isascii():
            continue
        scripts = _scripts(word) | ({"latin"} if any(ch.isascii() for ch in word) else set())
        if scripts & {"kana", "hangul"}:
            scripts.discard("han")      # Japanese writes kanji beside kana, Korean may write hanja beside hangul
        if len(scripts) > 1:
            return True
    return False


def _non_ascii_lines(data: bytes, limit: int) -> bytes:
    """The distinct lines holding a byte above 0x7F, up to `limit` bytes of them, found without reading the rest."""
    found: dict[bytes, None] = {}
    size = position = 0
    while size < limit:
        match = _HIGH_BYTE.search(data, position)
        if match is None:
            break
        start = data.rfind(b"\n", 0, match.start()) + 1
        end = data.find(b"\n", match.end())
        end = len(data) if end < 0 else end
        line = data[start:end]
        if line not in found:
            found[line] = None
            size += len(line) + 1
        position = end + 1
    return b"\n".join(found)[:limit]


def _ranked(matches, excerpt: bytes) -> list[tuple[str, tuple[int, int, int]]]:
    """The code pages that read the bytes with the least mess, likeliest first: fewest letters its own
    languages rarely use, then the commonest. On a few accented words the detector cannot tell cp1250 from
    cp1252 (0xE8 is č or è), but Czech read as cp1252 is full of ì, ø and ù, and French read as cp1250 is
    not full of ĺ, ŕ and ă."""
    if not matches:
        return []
    least = min(match.chaos for match in matches)
    candidates = dict.fromkeys(name for match in matches if match.chaos <= least + 0.01
                               for name in [match.encoding, *match.could_be_from_charset])

    def rank(name: str) -> tuple[int, int, int]:
        text = excerpt.decode(name, errors="replace")
        rare = _RARE_LETTERS.get(name, frozenset(_SYMBOLS))
        # A control character (a C1 code, which ISO pages give for cp125x letters) or an undecodable byte is
        # never a statement's text.
        return (sum(ch in rare or "\x80" <= ch <= "\x9f" or ch == "\ufffd" for ch in text), _misfit(name, text),
                _CODE_PAGES.index(name) if name in _CODE_PAGES else len(_CODE_PAGES))
    return sorted(((name, rank(name)) for name in candidates), key=lambda item: item[1])


def _misfit(encoding: str, text: str) -> int:
    """1 when the reading's letters fit none of the languages its code page is for, -1 when they are the
    page's own script beyond doubt (Korean in the common hangul only; Japanese with kana), else 0."""
    if encoding in _MULTIBYTE:
        return _cjk_misfit(encoding, text)
    languages = _LANGUAGES.get(encoding)
    if languages is None:
        return 0
    letters = {ch for ch in text.casefold() if not ch.isascii() and ch.isalpha()}
    if encoding == "cp1254" and not letters & _TURKISH_ONLY:
        return 0            # no letter only Turkish has: cp1254 reads it as cp1252 does
    return int(not any(letters <= set(language) for language in languages))


# ─── columns ──────────────────────────────────────────────────────────────────────────────────

@dataclass
class Column:
    """One column of the sample rows: its cells, name, and what its content looks like."""

    index: int
    name: str
    cells: list[str]
    roles: tuple[str, ...]          # what the header name suggests, most likely first
    kind: str = "text"              # date, amount, text, empty
    values: list[Decimal | None] = field(default_factory=list)

    @property
    def role(self) -> str | None:
        return self.roles[0] if self.roles else None

    @property
    def exact(self) -> bool:
        return bool(self.name) and is_exact_name(self.name)

    @property
    def label(self) -> str:
        return f"'{self.name}'" if self.name else f"column {self.index + 1}"

    @property
    def nonblank(self) -> list[str]:
        return [c for c in self.cells if c]

    def distinct(self) -> int:
        return len(set(self.nonblank))


def _is_date_column(cells: Sequence[str], named_date: bool) -> bool:
    """Dates in the first row and nearly every other (a footer or a note may sit among them)."""
    nonblank = [c for c in cells if c and c.casefold() not in PENDING_WORDS]
    dates = [c for c in nonblank if _DATE_CELL.fullmatch(c)]
    if not dates or _DATE_CELL.fullmatch(nonblank[0]) is None or len(dates) < 0.7 * len(nonblank):
        return False
    # Most of them real dates, or named a date and shaped like one on every row: a 31/02 is the reader's
    # to report, at its line; 20241399 in an unnamed column is a reference number.
    real = sum(bool(date_orders([c])) for c in dates)
    return real * 2 >= len(dates) or (named_date and len(dates) == len(nonblank))


def _decoration(cells: Sequence[str]) -> bool:
    """A row that draws a line: every filled cell one punctuation mark repeated (`********`, `-----`)."""
    filled = [c.strip() for c in cells if c.strip()]
    return bool(filled) and len({c[0] for c in filled}) == 1 and all(
        len(c) >= 3 and len(set(c)) == 1 and not c[0].isalnum() and not c[0].isspace() for c in filled)


def _is_amount_cell(cell: str) -> bool:
    return bool(_AMOUNT_CELL.fullmatch(cell)) and any(ch.isdigit() for ch in cell)


def could_be_money(cell: str) -> bool:
    """Whether a cell is shaped like an amount (`1,25,000.00`, `-4.50 €`), not a date, a time or a long
    reference number: what a row refused for having no amount names as where its money may be."""
    if not _is_amount_cell(cell) or _DATE_CELL.fullmatch(cell) or _TIME.fullmatch(cell):
        return False
    digits = re.sub(r"\D", "", cell)
    return bool(_CENTS.search(cell) or _GROUPED.fullmatch(cell.strip()) or len(digits) < 6)


def _named_money(column: Column) -> bool:
    return column.exact and column.role in ("amount", "debit", "credit", "balance")


def _looks_like_money(column: Column) -> bool:
    """Amount-shaped cells that are not an id, a code or a count. A column named for money may hold a bad
    value or two: the reader names its line."""
    cells = column.nonblank
    shaped = [c for c in cells if _is_amount_cell(c)]
    if not shaped or (len(shaped) < len(cells) and not _named_money(column)):
        return False
    cells = shaped
    if any(_DATE_CELL.fullmatch(c) for c in cells):
        return False
    digits = [re.sub(r"\D", "", c) for c in cells]
    has_fraction = any(_CENTS.search(c) for c in cells)
    if not has_fraction and not _named_money(column) and \
            all(len(d) >= 6 and not _GROUPED.fullmatch(c) for d, c in zip(digits, cells)):
        return False        # account numbers, references: long, and not in thousands groups (yen are named)
    if not has_fraction and {"id", "type", "flag"} & set(column.roles[:1]):
        return False
    return True


def _amounts(column: Column, reader: AmountReader) -> list[Decimal | None] | None:
    """Each cell as an amount (None when blank); None when one is not, unless the column is named for money
    (then that cell counts as blank here, and the reader reports it at its line)."""
    values: list[Decimal | None] = []
    for cell in column.cells:
        try:
            values.append(reader.parse(cell))
        except (ValueError, InvalidOperation):
            if not _named_money(column):
                return None
            values.append(None)
    return values


# ─── the running balance ──────────────────────────────────────────────────────────────────────

def _carries(balance: Sequence[Decimal | None], amount: Sequence[Decimal], direction: str,
             before: bool = False) -> bool:
    """Whether each row's amount carries the balance on to the next row, on every pair of neighbouring rows
    that have a balance: balance[i] + amount[i+1] = balance[i+1] with rows oldest first, balance[i+1] +
    amount[i] = balance[i] newest first (`before`: a balance printed before its row's amount, as ASN does,
    so the amount is the row's own). `direction` is how the dates run ("up", "down", or "" when they do not
    say): a file newest first can only carry its balance backwards. False when no pair can be checked, or
    the balance never changes (then it is no balance)."""
    pairs = [(i, i + 1) for i in range(len(balance) - 1) if balance[i] is not None and balance[i + 1] is not None]
    if not pairs or all(balance[i] == balance[j] for i, j in pairs):
        return False
    def carried(start: int, end: int, row: int) -> bool:
        return balance[start] + amount[row] == balance[end]  # type: ignore[operator]

    if before:
        forward = all(carried(i, j, i) for i, j in pairs)
        backward = all(carried(j, i, j) for i, j in pairs)
    else:
        forward = all(carried(i, j, j) for i, j in pairs)
        backward = all(carried(j, i, i) for i, j in pairs)
    return (forward and direction != "down") or (backward and direction != "up")


# ─── the inference ────────────────────────────────────────────────────────────────────────────

class _Inference:
    def __init__(self, source: Source, date_order: str | None, sign: str | None = None,
                 date_column: str | None = None, debit_column: str | None = None, encoding: str | None = None):
        self.source = source
        self.encoding = encoding   # the code page, when the user has said
        self.filename = source.filename
        self.date_order = date_order
        self.sign = sign          # "normal" or "charges_positive" when the user has said
        self.date_column = date_column     # the booking date's column, when the user has said (an _answer)
        self.debit_column = debit_column   # which of an in/out pair is money out, when the user has said
        self.notes: list[str] = []
        self.warnings: list[str] = []   # what the user should check, each said on a line of its own
        self.refusal: InputError | None = None   # a row the layout cannot read right (see _blank_amounts)
        self.columns_line: int | None = None   # where the columns are named (the header), or the data starts
        self.carried_balance: Column | None = None   # the running balance every row carries on, when there is one

    def fail(self, message: str, line: int | None = None) -> InputError:
        """The error saying what inference could not settle, at `line`, else at the header that names the columns
        it is about (else the first row of data)."""
        return InputError(f"cannot infer this CSV's layout: {message}; {NEW_MAPPING_HINT}", file=self.filename,
                          line=line if line is not None else self.columns_line)

    def run(self) -> Inferred:
        encoding = self.encoding or detect_encoding(self.source.data, self.filename)
        text = self.source.text(encoding)
        head = self.source.head(encoding)
        delimiter, records, width, first = self._table(head, text)
        header_index = self._header_row(records, first, width)
        if header_index is None:
            # The first rows' amounts may be unreadable (NaN, 1e400, blank): a header found by its names
            # above them still starts the data, and the reader names the bad cell's line.
            named = self._named_header(records, first, width)
            if named is not None:
                header_index, first = named, named + 1
        header = records.rows[header_index] if header_index is not None else None
        self.columns_line = records.line_of(header_index if header_index is not None else first)
        self.header_names = [c.strip() for c in header] if header is not None else []
        kept = [(records.line_of(first + k), row) for k, row in enumerate(records.rows[first:]) if any(c.strip() for c in row)]
        rows = [self._padded(row, width) for _, row in kept]
        self.sample_lines = [line for line, _ in kept]
        last = max((i for i, row in enumerate(rows) if any(_DATE_CELL.fullmatch(c) for c in row)), default=-1)
        if last < 0:
            raise self.fail("no row holds a date (only placeholders such as 'Pending'); set columns.date in a mapping",
                            records.line_of(first))
        sample = rows[:last + 1]     # the summary lines below the last transaction are the footer's
        # Whether every row of the file is in the sample: the text fits the head, and its records the limit.
        self.whole_file = len(text) <= len(head.text) and len(records.rows) < HEAD_RECORDS
        tail_rows = None if self.whole_file else self._tail(text, delimiter)
        columns = self._columns(sample, header, width)
        data: dict[str, Any] = {"name": "inferred", "bank": "inferred from the file itself"}
        if encoding:
            data["encoding"] = encoding
        data["delimiter"] = delimiter
        if header is None:
            data["header"] = False
            data["skip_lines"] = records.line_of(first) - 1
        date_col = self._date_column(columns)
        summary = self._summary_rows(columns, data)
        sample_rows = [i for i, cell in enumerate(date_col.cells) if _DATE_CELL.fullmatch(cell) and i not in summary]
        if not sample_rows:
            raise self.fail(f"no row has a date in {date_col.label}", records.line_of(first))
        roles_data, explained = self._roles(columns, date_col, sample_rows)
        data.update(roles_data)
        self._balance_lines(columns, sample_rows, data)
        self._header_currency(header, data)
        self._preamble_currency(records.rows[:header_index if header_index is not None else first], data)
        self._continuation(sample, date_col.index, data)
        footer = self._footer(rows, tail_rows, date_col.index, delimiter)
        if footer:
            data.setdefault("drop", []).extend(footer)
        self._decorations(rows + (tail_rows or []), delimiter, data)
        self._dates(date_col, sample_rows, data)
        refs = self._refs(header, data)
        data["columns"] = refs
        if header is not None:
            data["signature"] = [c.strip() for c in header if c.strip()]
        mapping = mapping_from_dict(_mapping_data(data), name="inferred")
        layout = Layout(mapping, delimiter, header_index, records, 0.5)
        where = (f"header on line {records.line_of(header_index)}" if header_index is not None
                 else f"no header, data from line {records.line_of(first)}")
        described = [_DELIMITER_NAMES.get(delimiter, repr(delimiter)) + "-separated", encoding or "Unicode text",
                     where]
        notes = [", ".join(described)] + explained + self.notes
        return Inferred(layout, data, notes, header, records.line_of(first), width, self.unread_money,
                        self.warnings, self.refusal)

    # ── where the data is ──

    def _table(self, head, text: str) -> tuple[str, Records, int, int]:
        """The delimiter (the sniffed one first) that splits the rows into columns holding dates and amounts."""
        sniffed = head.delimiter('"')
        problem: InputError | None = None
        for delimiter in dict.fromkeys((sniffed, ";", ",", "\t", "|")):
            records = head.records(delimiter, '"')
            if sum(1 for row in records.rows if any(row)) < 2 and len(text) > len(head.text):
                # Rows longer than the head's 64 KB (a 100,000-character payee): the first records whole.
                records = read_records(text, delimiter, '"', self.filename, limit=HEAD_RECORDS, lenient=True)
            width = self._width(records)
            try:
                return delimiter, records, width, self._first_data_row(records, width)
            except InputError as exc:
                problem = problem or exc
        # A broken quote cuts the head records short: that is the file's problem to name, at its line.
        read_records(head.text, sniffed, '"', self.filename)
        self._refuse_what_holds_no_rows(head.records(sniffed, '"'), len(head.text.splitlines()))
        assert problem is not None
        raise problem

    @staticmethod
    def _width(records: Records) -> int:
        # The rows holding a date and an amount say how wide the table is: a long preamble of two-cell
        # lines (ING's "IBAN;DE10...") outnumbers a short statement's rows.
        transactions = Counter(len(row) for row in records.rows
                               if any(_DATE_CELL.fullmatch(c.strip()) for c in row)
                               and sum(_is_amount_cell(c.strip()) for c in row) >= 1 and len(row) >= 3)
        if transactions:
            return max(transactions.items(), key=lambda item: (item[1], item[0]))[0]
        counts = Counter(len(row) for row in records.rows if sum(1 for c in row if c.strip()) >= 2)
        if not counts:
            return 0
        return max(counts.items(), key=lambda item: (item[1], item[0]))[0]

    @staticmethod
    def _padded(row: list[str], width: int) -> list[str]:
        cells = [c.strip() for c in row]
        return cells + [""] * (width - len(cells)) if len(cells) < width else cells

    def _first_data_row(self, records: Records, width: int) -> int:
        if width < 2:
            raise self.fail("the rows do not split into columns with a comma, semicolon, tab or pipe; set "
                            "delimiter in a mapping")
        for index, row in enumerate(records.rows[:_FIRST_ROW_LINES]):
            if abs(len(row) - width) > 1:
                continue
            cells = [c.strip() for c in row]
            dated = [i for i, c in enumerate(cells) if _DATE_CELL.fullmatch(c) or c.casefold() in PENDING_WORDS]
            if dated and any(_is_amount_cell(c) for i, c in enumerate(cells) if i not in dated):
                return index
        raise self.fail(f"none of the first {_FIRST_ROW_LINES} lines holds both a date and an amount (inference looks "
                        "for the first transaction there, below any preamble); set columns.date and columns.amount "
                        "in a mapping")

    def _refuse_what_holds_no_rows(self, records: Records, total_lines: int) -> None:
        """Two files that hold no transaction row for a plain reason, said plainly: a quote never closed (the
        rest of the file becomes one cell), and a file that is only its header (a period with no transactions)."""
        if records.lines is not None:
            ends = records.lines[1:] + [total_lines + 1]
            for start, end in zip(records.lines[:_FIRST_ROW_LINES], ends):
                if end - start > 1:
                    raise InputError(
                        f"a quoted cell opens on this line and runs to line {end - 1}, taking the rows below into "
                        "it: is its closing quote missing? Fix the quote, or export the file again",
                        file=self.filename, line=start)
        filled = [index for index, row in enumerate(records.rows) if sum(1 for c in row if c.strip()) >= 1]
        if len(filled) == 1:
            raise InputError("the file holds one line, a header, and no transactions below it: there is nothing to "
                             "read; if the period had none, leave the file out",
                             file=self.filename, line=records.line_of(filled[0]))

    @staticmethod
    def _header_row(records: Records, first: int, width: int) -> int | None:
        for index in range(first - 1, -1, -1):
            row = records.rows[index]
            cells = [c.strip() for c in row]
            if not any(cells) or _decoration(cells):
                continue   # a blank line between header and data (ASB), or a rule of `********` (HDFC)
            named = [c for c in cells if c]
            if len(row) < width - 1 or len(named) < 2:
                return None
            if any(_DATE_CELL.fullmatch(c) or _PLAIN_NUMBER.fullmatch(c) for c in named):
                return None
            return index
        return None

    @staticmethod
    def _named_header(records: Records, first: int, width: int) -> int | None:
        """A row above the first readable one that names a date column and a money column, with dated rows
        between it and that one: the header, whatever those rows' amounts hold."""
        for index in range(first - 1, -1, -1):
            cells = [c.strip() for c in records.rows[index]]
            if _decoration(cells):
                continue
            if abs(len(cells) - width) > 1:
                return None
            roles = {role for c in cells if c and is_exact_name(c) for role in header_role(c)[:1]}
            if "date" in roles and roles & {"amount", "debit", "credit"}:
                between = records.rows[index + 1:first]
                if between and all(any(_DATE_CELL.fullmatch(c.strip()) for c in row) or not any(row)
                                   for row in between):
                    return index
                return None
            if not any(_DATE_CELL.fullmatch(c) for c in cells):
                return None   # neither data nor a header: the preamble
        return None

    def _tail(self, text: str, delimiter: str) -> list[list[str]]:
        start = text.find("\n", len(text) - _TAIL_CHARS) + 1
        rows = read_records(text[start:], delimiter, '"', self.filename, lenient=True).rows
        return [[c.strip() for c in row] for row in rows if any(c.strip() for c in row)]

    def _footer(self, sample: list[list[str]], tail: list[list[str]] | None, date_index: int,
                delimiter: str) -> list[dict[str, str]]:
        """Drop rules for the summary lines after the last transaction ("Closing balance", "Total")."""
        rows = tail if tail is not None else sample
        footer: list[list[str]] = []
        for row in reversed(rows):
            cell = row[date_index] if date_index < len(row) else ""
            if _DATE_CELL.fullmatch(cell):
                break
            footer.append(row)
        rules = []
        footer = [row for row in footer if not _decoration(row)]   # _decorations leaves those out
        below_heading = False
        for row in reversed(footer):
            lead = next((c for c in row if c), "")
            if lead and not any(ch.isdigit() for ch in lead[:3]):
                below_heading = True
                rules.append({"line_matches": "^" + "".join(re.escape(c) + re.escape(delimiter)
                                                           for c in row[:row.index(lead)]) + re.escape(lead)})
            elif lead and below_heading:
                # The figures under a summary's heading (HDFC's `Opening Balance,Dr Count,...` then
                # `1,50,000.00,2,1,...`): that whole line, which no transaction is.
                rules.append({"line_matches": "^" + re.escape(delimiter.join(row).rstrip(delimiter))})
        if rules:
            self.notes.append("left out the lines after the last transaction that start with " +
                              ", ".join(repr(next(c for c in row if c)) for row in reversed(footer)
                                        if next((c for c in row if c), "")))
        return rules

    def _decorations(self, rows: list[list[str]], delimiter: str, data: dict[str, Any]) -> None:
        """Rows that only draw a line (`********` in every cell, as HDFC prints below its header and above its
        summary): left out by a rule that matches nothing else, and said."""
        marks = sorted({next(c for c in row if c)[0] for row in rows if _decoration(row)})
        for mark in marks:
            char, sep = re.escape(mark), re.escape(delimiter)
            data.setdefault("drop", []).append({"line_matches": f"^[\\s{sep}]*(?:{char}{{3,}}[\\s{sep}]*)+$"})
            self.notes.append(f"left out the rows of {mark * 8} that draw a line")

    def _summary_rows(self, columns: list[Column], data: dict[str, Any]) -> set[int]:
        """Rows that sum up rather than record ("Opening balance", "Turnover"), and the rule that drops them.
        Rows that may (`Saldo a 31/01/2024`, `BALANCE C/F`: see _balance_lines) are kept out of the sample too,
        in `self.balance_rows`, until their numbers are checked."""
        rows: set[int] = set()
        self.balance_rows: dict[int, Column] = {}
        for column in columns:
            if column.kind == "date":
                continue
            for i, cell in enumerate(column.cells):
                if i not in self.balance_rows and is_balance_text(cell) and not is_summary_text(cell):
                    self.balance_rows[i] = column
        for column in columns:
            found = {i: c for i, c in enumerate(column.cells) if is_summary_text(c)}
            if found and len(found) < len(column.cells):
                words = "|".join(sorted({re.escape(c) for c in found.values()}))
                data.setdefault("drop", []).append({"column": column.index, "matches": f"(?i)^({words})$"})
                self.notes.append(f"left out the rows that sum up ({', '.join(sorted(set(found.values())))} in "
                                  f"{column.label})")
                rows |= set(found)
        self.summary_rows = set(rows)
        for i in rows:
            self.balance_rows.pop(i, None)
        if len(self.balance_rows) >= len(columns[0].cells):
            self.balance_rows = {}    # every row "Saldo": a column of that text, not summaries
        return rows | set(self.balance_rows)

    def _balance_lines(self, table: list[Column], transactions: list[int], data: dict[str, Any]) -> None:
        """The rows whose text names a balance or a sum (`Saldo a 31/01/2024`, `S A L D O`, `BALANCE C/F`, kept
        out of the sample by _summary_rows): summaries, left out with a note naming their lines, when their
        numbers say so too: the row's number is the balance of the transaction beside it (or that balance
        before its amount), or the last balance given plus the amounts since, or its balance cell is blank
        where every transaction's is filled. Otherwise refused at the line, with the rule that leaves it out:
        a payee that only looks like a balance line is never dropped on its words alone."""
        if not self.balance_rows:
            return
        columns = data["columns"]
        reader = AmountReader(self.mark)
        texts = {columns[r] for r in ("payee", "memo", "type", "currency", "account") if r in columns}

        def number(index: int | None, row: int) -> Decimal | None:
            if index is None:
                return None
            try:
                return reader.parse(table[index].cells[row])
            except (ValueError, InvalidOperation):
                return None

        def amount(row: int) -> Decimal | None:
            if "amount" in columns:
                return number(columns["amount"], row)
            debit, credit = number(columns.get("debit"), row), number(columns.get("credit"), row)
            if debit is None and credit is None:
                return None
            return abs(credit or Decimal(0)) - abs(debit or Decimal(0))

        balance = columns.get("balance")

        def value(row: int) -> Decimal | None:
            """The row's one number: its amount, else its balance, else the one number in a column not read."""
            found = amount(row)
            if found is None:
                found = number(balance, row)
            if found is None:
                cells = [number(c.index, row) for c in table if c.kind != "date" and c.index not in texts]
                cells = [n for n in cells if n is not None]
                found = cells[0] if len(cells) == 1 else None
            return found

        anchors = sorted(self.summary_rows | set(self.balance_rows))

        def total_between(start: int, end: int) -> Decimal:
            return sum((amount(r) or Decimal(0) for r in transactions if start < r < end), Decimal(0))

        def agrees(row: int) -> bool:
            mine = value(row)
            if mine is None:
                return not any(_is_amount_cell(c.cells[row]) for c in table if c.kind != "date")
            before = [r for r in transactions if r < row]
            after = [r for r in transactions if r > row]
            if balance is not None:
                if not table[balance].cells[row] and amount(row) is not None and len(transactions) >= 2 \
                        and all(table[balance].cells[r] for r in transactions):
                    return True
                for near in before[-1:] + after[:1]:
                    their, moved = number(balance, near), amount(near) or Decimal(0)
                    if their is not None and abs(mine) in (abs(their), abs(their - moved)):
                        return True
            for other in anchors:
                theirs = value(other) if other != row else None
                if theirs is None:
                    continue
                moved = total_between(min(row, other), max(row, other))
                if abs(mine) in (abs(theirs + moved), abs(theirs - moved)):
                    return True
            # A total with nothing to start from: the sum of every amount above it.
            return not after and len(before) >= 2 and abs(mine) == abs(total_between(-1, row))

        left_out: dict[int, str] = {}
        for row, column in sorted(self.balance_rows.items()):
            text = column.cells[row]
            line = self.sample_lines[row]
            if not agrees(row):
                if self.refusal is None:
                    pattern = "^" + re.escape(text).replace("\\ ", " ") + "$"
                    self.refusal = InputError(
                        f"'{text}' reads as a balance line, not a transaction, but its numbers are neither the "
                        "balance beside it nor the last balance plus the amounts since, so whether it is one "
                        f"cannot be told; if it is a summary, leave it out with `drop: [{{column: "
                        f"{_answer(column, table)}, matches: '{pattern}'}}]` in a mapping (a mapping reads it "
                        f"as a transaction otherwise); {NEW_MAPPING_HINT}", file=self.filename, line=line)
                return
            left_out[row] = text
        if not self.whole_file and left_out:
            # The drop rule would apply to every row of the file, and rows past those read here are not checked:
            # a later transaction whose text is just "Saldo" would be lost. So the user says it, in a mapping.
            row, text = next(iter(left_out.items()))
            column = self.balance_rows[row]
            pattern = "^" + re.escape(text).replace("\\ ", " ") + "$"
            if self.refusal is None:
                self.refusal = InputError(
                    f"'{text}' is a balance line (its numbers are the balance), but the file is longer than "
                    "inference reads whole, so the rows further down with that text cannot each be checked; "
                    f"leave them out with `drop: [{{column: {_answer(column, table)}, matches: '{pattern}'}}]` "
                    f"in a mapping; {NEW_MAPPING_HINT}", file=self.filename, line=self.sample_lines[row])
            return
        for index in sorted({self.balance_rows[row].index for row in left_out}):
            words = sorted({text for row, text in left_out.items() if self.balance_rows[row].index == index})
            data.setdefault("drop", []).append(
                {"column": index, "matches": "^(" + "|".join(re.escape(w).replace("\\ ", " ") for w in words) + ")$"})
        shown = ", ".join(f"{self.sample_lines[row]} '{text}'" for row, text in list(left_out.items())[:5])
        self.notes.append(f"left out the balance line{'s' if len(left_out) > 1 else ''} {shown}"
                          f"{', …' if len(left_out) > 5 else ''} (summaries: their numbers are the balance, not money moved)")

    def _continuation(self, sample: list[list[str]], date_index: int, data: dict[str, Any]) -> None:
        """Rows with text but no date and no amount, between transactions: the row above, continued (OCBC)."""
        columns = data["columns"]
        money = [columns[r] for r in ("amount", "debit", "credit") if r in columns]
        last = max((i for i, row in enumerate(sample) if _DATE_CELL.fullmatch(row[date_index])), default=-1)
        unpaid = [row for row in sample[:last] if any(row) and not any(row[i] for i in money if i < len(row))
                  and not _DATE_CELL.fullmatch(row[date_index])]
        continued = [row for row in unpaid if not row[date_index]]
        remarks = [row for row in unpaid if row[date_index] and row[date_index].casefold() not in PENDING_WORDS]
        if remarks:
            # Text where the date belongs and no amount: a remark among the transactions, not one of them.
            data.setdefault("drop", []).extend({"line_matches": "^" + re.escape(row[date_index])} for row in remarks)
            self.notes.append("left out the rows with text where the date belongs and no amount: " +
                              ", ".join(repr(row[date_index][:40]) for row in remarks))
        if continued:
            data["continuation"] = "memo" if "memo" in columns else "payee"
            self.notes.append(f"rows without a date or amount continue the {data['continuation']} of the row above")

    # ── columns ──

    def _columns(self, sample: list[list[str]], header: list[str] | None, width: int) -> list[Column]:
        names = [c.strip() for c in header] if header is not None else []
        columns = []
        for index in range(width):
            name = names[index] if index < len(names) else ""
            cells = [row[index] if index < len(row) else "" for row in sample]
            columns.append(Column(index, name, cells, header_role(name) if name else ()))
        return columns

    def _date_column(self, columns: list[Column]) -> Column:
        dates = [c for c in columns if _is_date_column(c.cells, c.role in ("date", "value_date"))]
        for column in dates:
            column.kind = "date"
        if not dates:
            raise self.fail("no column holds a date on every row; set columns.date in a mapping")
        if len(dates) == 1:
            return dates[0]
        named = [c for c in dates if c.role == "date"]
        if len(named) == 1:
            others = ", ".join(c.label for c in dates if c is not named[0])
            self.notes.append(f"date from {named[0].label} (not {others}), as its name says")
            return named[0]
        candidates = named or dates
        if all(c.cells == candidates[0].cells for c in candidates):
            return candidates[0]
        earliest = self._earliest(candidates)
        if earliest is not None:
            others = ", ".join(c.label for c in dates if c is not earliest)
            self.notes.append(f"date from {earliest.label}, the earliest date of every row (the transaction's; "
                              f"{others} is when it was booked or valued)")
            return earliest
        ordered = [c for c in candidates if self._direction(c)]
        if len(ordered) == 1:
            self.notes.append(f"date from {ordered[0].label}, the date the rows are sorted by (the booking date)")
            return ordered[0]
        answered = [c for c in candidates if _answer(c, candidates) == self.date_column]
        if answered:
            self.notes.append(f"date from {answered[0].label}, as you answered")
            return answered[0]
        labels = " and ".join(c.label for c in candidates)
        raise LayoutQuestion(f"cannot infer this CSV's layout: {labels} all hold dates, and nothing says which is "
                             f"the booking date; set columns.date in a mapping; {NEW_MAPPING_HINT}",
                             file=self.filename, key="columns.date",
                             answers={_answer(c, candidates): f"the booking date is {c.label} "
                                                                  f"(such as {c.nonblank[0]})" for c in candidates})

    def _read_dates(self, cells: Sequence[str]) -> list:
        """Each cell as a date (None where it is none), in the order the cells allow, `--date-order` first."""
        orders = date_orders([c for c in cells if _DATE_CELL.fullmatch(c)])
        if not orders:
            return [None] * len(cells)
        order = self.date_order if self.date_order in orders else min(orders)
        return [parse_with_order(c, order) if _DATE_CELL.fullmatch(c) else None for c in cells]

    def _earliest(self, dates: list[Column]) -> Column | None:
        """The date column on or before every other one on every row, a few days apart at most: the
        transaction's own date, where the others say when it was booked or valued (the leftmost of equals)."""
        read = [self._read_dates(column.cells) for column in dates]
        for n, mine in enumerate(read):
            fits = True
            for m, theirs in enumerate(read):
                if m == n:
                    continue
                pairs = [(a, b) for a, b in zip(mine, theirs) if a is not None and b is not None]
                if not pairs or any(a > b or (b - a).days > 10 for a, b in pairs):
                    fits = False
                    break
            if fits:
                return dates[n]
        return None

    def _roles(self, table: list[Column], all_dates: Column, rows: list[int]) -> tuple[dict[str, Any], list[str]]:
        """Every other column's role, decided on the dated rows: (mapping data, what was decided, in words)."""
        dated = [Column(c.index, c.name, [c.cells[i] for i in rows], c.roles, c.kind) for c in table]
        self.dated_lines = [self.sample_lines[i] for i in rows]
        date_col = dated[all_dates.index]
        self.direction = self._direction(date_col)
        others = [c for c in dated if c.kind != "date"]
        money = [c for c in others if _looks_like_money(c)]
        reader = self._amount_reader(money)
        for column in money:
            parsed = _amounts(column, reader)
            if parsed is not None:
                column.kind, column.values = "amount", parsed
        money = [c for c in money if c.kind == "amount"]
        self._refuse_impossible(money)
        for balance in money:
            amount = next((c for c in money if c is not balance and _runs_as_balance_of(balance, c)), None)
            if amount is not None:
                return self._without_balance_only_rows(table, all_dates, rows, balance, amount)
        # A column the same on every row of several (a fee of 0.00, the account's number) says nothing.
        if len(rows) >= 3:
            money = [c for c in money if c.distinct() > 1 or c.role in ("amount", "debit", "credit")]
        # Whole numbers beside amounts with cents are codes or counts (Swedbank's row type 20), unless named.
        if any(_has_cents(c) for c in money):
            money = [c for c in money if _has_cents(c) or c.role in ("amount", "debit", "credit", "balance")]
        # An in/out column with nothing in it on these rows (no deposits this month) is still half of its pair.
        for column in others:
            if not column.nonblank and column.role in ("debit", "credit") and column.exact:
                column.kind, column.values = "amount", [None] * len(rows)
                money.append(column)
        money.sort(key=lambda c: c.index)
        # A fee is taken from the amount, unless the file also has a gross amount: then the net one has it.
        fees = [c for c in money if c.role == "fee" and c.exact] if not any(c.role == "gross" for c in money) else []
        if not money:
            raise self.fail(f"no column holds an amount on the dated rows (columns: "
                            f"{', '.join(c.label for c in others)}); set columns.amount in a mapping")
        full = {c.index: c for c in table}
        texts = [c for c in others if c.kind == "text" and c.nonblank]
        flag = self._flag_column(texts)
        columns: dict[str, Any] = {"date": date_col.index}
        data: dict[str, Any] = {}
        said = [f"date {date_col.label}"]
        said += self._money([c for c in money if c not in fees], flag, columns, data, len(rows))
        if len(fees) == 1:
            columns["fee"] = fees[0].index
            said.append(f"fee {fees[0].label} (taken from the amount)")
        status = self._status([c for c in texts if c is not flag], full, columns)
        if status is not None:
            data.setdefault("drop", []).append(status[0])
            said.append(status[1])
        pending = {c for c in all_dates.cells if c.casefold() in PENDING_WORDS}
        if pending and "drop" not in data:
            words = "|".join(sorted(re.escape(p) for p in pending))
            data["pending"] = {"matches": f"(?i)^({words})$", "keep": True}
            said.append("rows dated " + "/".join(sorted(pending)) + " are kept, dated as the newest booked row")
        used = _indices(columns) | ({status[2]} if status is not None else set())
        account = self._account([c for c in others if c.index not in used])
        if account is not None:
            columns["account"] = account.index
            said.append(f"account {account.label}")
            used.add(account.index)
        else:
            self._several_accounts([c for c in others if c.index not in used], self.carried_balance is not None)
        rest = [c for c in texts if c.index not in used]
        said += self._texts(rest, columns, len(rows))
        if "payee" not in columns and "memo" not in columns:
            raise self.fail("no column holds the text of the transactions; set columns.payee in a mapping")
        read = _indices(columns) | used
        self.unread_money = {c.index: c.name for c in dated if c.index not in read and c.exact
                             and c.role in ("amount", "debit", "credit")}
        unused = [c.label for c in dated if c.index not in read and c.nonblank]
        if unused:
            said.append("not read: " + ", ".join(unused))
        self._blank_amounts(dated, columns, data)
        data["columns"] = columns
        return data, said

    def _without_balance_only_rows(self, table: list[Column], all_dates: Column, rows: list[int], balance: Column,
                                   amount: Column) -> tuple[dict[str, Any], list[str]]:
        """Itaú's daily balance: rows holding only a balance, between rows holding only an amount. The balance
        column is filled exactly where the amount is blank, so it could pass for the other half of an in/out
        pair; but each of its values is the one before plus the amounts since, so it is a balance, and its
        rows are no transactions: the roles are decided without them, and they are left out (`no_amount`)."""
        only = [rows[k] for k, value in enumerate(balance.values) if value is not None]
        shown = [self.sample_lines[r] for r in only]
        data, said = self._roles(table, all_dates, [r for r in rows if r not in only])
        if not self.whole_file and self.refusal is None:
            self.refusal = InputError(
                f"the rows with only a balance in {balance.label} (the one before plus the amounts since) are no "
                f"transactions, but inference has not seen every row of this file (it looks at the first "
                f"{HEAD_RECORDS}), so it cannot rule out a row without an amount that is one; if every row without "
                f"an amount in {amount.label} is a balance, add `drop: [{{no_amount: true}}]` to a mapping; "
                f"{NEW_MAPPING_HINT}", file=self.filename, line=shown[0])
        data.setdefault("drop", []).append({"no_amount": True})
        said.append(f"{balance.label} is a daily balance (each value the one before plus the amounts since), not "
                    f"money in: left out the line{'s' if len(shown) > 1 else ''} holding only it, "
                    + ", ".join(map(str, shown[:5])) + (", …" if len(shown) > 5 else ""))
        return data, said

    def _blank_amounts(self, dated: list[Column], columns: dict[str, Any], data: dict[str, Any]) -> None:
        """Rows whose one amount column is blank (Landesbank Berlin's `+ 15.0 AMAZON.DE PUNKTE`, a points
        note) read as 0 (a stated nothing), said with their lines, only when nothing could be hiding money:

        - the reading is a single amount column: an in/out pair's own convention is that every row fills
          one side, so a row filling neither contradicts the reading inference made, and is refused;
        - inference sampled the whole file, so it saw every blank row and could check each one (in a longer
          file a blank row is refused: here when sampled, else by the reader at its line);
        - no other cell of the row holds what could be an amount (a column inference did not read, a
          balance, a fee): a date, a text read as payee, memo or type, and an identifier filled on every
          row (a card number) are not. Where one does, the row is refused here, naming that cell: a new
          user's month with one salary in an unread `Paid in` was once read as 0 this way.

        Otherwise `refusal` says why, at its line (`blank_amount: zero` and `drop: [{no_amount: true}]` are
        then the user's to say in a mapping): raised when the file is read, not here, so sniffing still
        knows the file for a CSV psimport reads the layout of."""
        if "amount" not in columns:
            return
        amount = dated[columns["amount"]]
        blank = [i for i, cell in enumerate(amount.cells) if not cell]
        if not blank:
            return
        if not self.whole_file:
            self.refusal = InputError(
                f"the row has no amount in {amount.label}; inference reads a missing amount as 0 only in a file "
                f"whose every row it has seen (this one is longer than the first {HEAD_RECORDS} rows it looks at), "
                "so it cannot rule out money in a column it did not read; if such rows are notes, set "
                "`blank_amount: zero` (read as 0) or `drop: [{no_amount: true}]` (left out) in a mapping; "
                f"{NEW_MAPPING_HINT}", file=self.filename, line=self.dated_lines[blank[0]])
            return
        texts = {columns[role] for role in ("payee", "memo", "type", "currency", "account") if role in columns}
        if "flag" in columns:
            texts.add(columns["flag"]["column"])
        others = [c for c in dated if c is not amount and c.kind != "date" and c.index not in texts
                  and not _identifier(c)]
        for row in blank:
            for column in others:
                cell = column.cells[row]
                if _is_amount_cell(cell) and not _DATE_CELL.fullmatch(cell) and not _TIME.fullmatch(cell):
                    self.refusal = InputError(
                        f"the row has no amount in {amount.label}, and {column.label} holds {cell} on it, which "
                        "inference did not read as this row's money, so whether money moved cannot be told; set "
                        f"columns.amount (or columns.debit and columns.credit) in a mapping; {NEW_MAPPING_HINT}",
                        file=self.filename, line=self.dated_lines[row])
                    return
        data["blank_amount"] = "zero"
        lines = ", ".join(str(self.dated_lines[i]) for i in blank[:5]) + (", …" if len(blank) > 5 else "")
        self.warnings.append(
            f"line{'s' if len(blank) > 1 else ''} {lines}: no amount in {amount.label} and no other number on the "
            "row, read as 0 (a note, such as a points entry); if such rows are not transactions, "
            "`drop: [{no_amount: true}]` in a mapping leaves them out")

    def _header_currency(self, header: list[str] | None, data: dict[str, Any]) -> None:
        """The currency the money columns' names are written in (`Amount (GBP)`, `Kwota [PLN]`, `Paid out £`):
        the statement's, so an account in another currency refuses it. Two currencies named is an error."""
        if header is None:
            return
        columns = data["columns"]
        named: dict[str, str] = {}
        for role in ("amount", "debit", "credit", "balance"):
            index = columns.get(role)
            if isinstance(index, int) and index < len(header):
                code = currency_in_name(header[index])
                if code:
                    named.setdefault(code, header[index].strip())
        if len(named) > 1:
            raise InputError("the money columns name different currencies (" + ", ".join(
                f"'{name}'" for name in named.values()) + "); one statement holds one account's currency; "
                "set columns.amount in a mapping", file=self.filename, line=1)
        if named:
            ((code, name),) = named.items()
            data["currency"] = code
            self.notes.append(f"currency {code} (as '{name}' says)")

    def _preamble_currency(self, above: list[list[str]], data: dict[str, Any]) -> None:
        """The currency the lines above the header name (`Currency: USD`, `Währung;EUR`, `Devise : EUR`): the
        statement's, checked against the account's like a header's. One naming another than the header is an
        error."""
        for row in above:
            cells = [c.strip() for c in row if c.strip()]
            if len(cells) == 1 and ":" in cells[0]:
                cells = [part.strip() for part in cells[0].split(":", 1)]
            for name, value in zip(cells, cells[1:]):
                code = currency_code(value.strip(" :")) if header_role(name.strip(" :"))[:1] == ("currency",) else None
                if code is None:
                    continue
                if data.get("currency", code) != code:
                    raise InputError(f"the lines above the header say the currency is {code} ('{name}: {value}'), but "
                                     f"the money columns' names say {data['currency']}; one statement holds one "
                                     "account's currency: set currency: in a mapping", file=self.filename)
                if "currency" not in data:
                    data["currency"] = code
                    self.notes.append(f"currency {code} (as '{name}: {value}' above the header says)")
                return

    def _refuse_impossible(self, money: list[Column]) -> None:
        """An amount no account moves is a damaged file: said at its line before any question is asked."""
        for column in money:
            for i, value in enumerate(column.values):
                if value is not None and not -TOO_BIG < value < TOO_BIG:
                    text = str(value)
                    raise InputError(f"the amount {text[:20]}{'…' if len(text) > 20 else ''} is too big to be money; "
                                     "the file is damaged or not from a bank", file=self.filename,
                                     line=self.dated_lines[i])

    def _direction(self, column: Column) -> str:
        """"up" when the dates run oldest first, "down" newest first, "" when they do not say."""
        values = [d for d in self._read_dates(column.cells) if d is not None]
        if not values or values[0] == values[-1]:
            return ""
        if values == sorted(values):       # type: ignore[type-var]
            return "up"
        if values == sorted(values, reverse=True):   # type: ignore[type-var]
            return "down"
        return ""

    def _amount_reader(self, money: list[Column]) -> AmountReader:
        """The decimal mark the sampled amounts show (a dot when they do not say; the reader then decides from
        every row). Amounts that mix marks are the reader's error too, named by their lines."""
        joined = ["\n".join(c.cells) for c in money]
        self.mark = infer_decimal_mark(joined, ".", self.filename, lambda i: self.dated_lines[i])
        return AmountReader(self.mark)

    @staticmethod
    def _flag_column(texts: list[Column]) -> Column | None:
        """A column saying which way each amount goes: both of a pair (D/C, Af/Bij), or one beside blanks
        (CR on refunds only). One value on every row says nothing about direction."""
        for column in texts:
            values = {c.casefold() for c in column.nonblank}
            if not values or len(values) > 2 or not values <= _FLAG_OUT | _FLAG_IN:
                continue
            both_sides = bool(values & _FLAG_OUT) and bool(values & _FLAG_IN)
            if both_sides or (len(values) == 1 and "" in column.cells):
                return column
        return None

    def _money(self, money: list[Column], flag: Column | None, columns: dict[str, Any], data: dict[str, Any],
               rows: int) -> list[str]:
        """The amount (or the in/out pair, or amount and direction flag) and the running balance."""
        named_balance = [c for c in money if c.roles[:1] == ("balance",)]
        candidates = []   # (balance column, hypothesis, balance printed before the amount?) the balance confirms
        for balance in money:
            for hypothesis in self._hypotheses([c for c in money if c is not balance], flag):
                amounts = hypothesis.amounts()
                if _carries(balance.values, amounts, self.direction):
                    candidates.append((balance, hypothesis, False))
                elif _carries(balance.values, amounts, self.direction, before=True):
                    candidates.append((balance, hypothesis, True))
        if any(not before for _, _, before in candidates):
            candidates = [c for c in candidates if not c[2]]   # a balance after each row is the running balance
        if candidates:
            distinct = {(b.index, h.key()) for b, h, _ in candidates}
            if len(distinct) > 1:
                # The same rows carried by two readings: only a name can tell them apart.
                named = [(b, h, before) for b, h, before in candidates if b.role == "balance" and h.as_named()]
                if len({(b.index, h.key()) for b, h, _ in named}) > 1:
                    # Gross and net the same on every sampled row (no fees yet): the one named the amount.
                    named = [(b, h, before) for b, h, before in named if h.named_exactly()]
                if len({(b.index, h.key()) for b, h, _ in named}) == 1:
                    candidates = named[:1]
                else:
                    raise self._balance_question(candidates)
            balance, hypothesis, before = candidates[0]
            hypothesis, why = self._sign_by_balance(hypothesis, balance)
            hypothesis.apply(columns, data)
            data["decimal"] = self.mark   # the arithmetic works out only with the right decimal mark
            if before:
                return [hypothesis.describe(), f"{balance.label} is the balance before each row (every row carries "
                                               f"it on, {why}; not read as the running balance)"]
            columns["balance"] = balance.index
            self.carried_balance = balance
            return [hypothesis.describe(), f"balance {balance.label} (every row carries it forward, {why})"]
        if named_balance:
            columns["balance"] = named_balance[0].index
            money = [c for c in money if c is not named_balance[0]]
        hypothesis = self._check_money_in(self._without_balance(money, flag, rows), None)
        hypothesis.apply(columns, data)
        said = [hypothesis.describe()]
        if named_balance:
            said.append(f"balance {named_balance[0].label} (by its name; the rows do not carry it forward, "
                        "so it is not used to check the sign)")
        return said

    def _balance_question(self, candidates: list[tuple[Column, "_Money", bool]]) -> InputError:
        """More than one reading of the money columns makes every row's balance add up (two columns holding
        the same amounts, gross and net with no fee yet): the error says which columns, and the key that
        settles it, with the values a mapping would take."""
        balances = list(dict.fromkeys(b.index for b, _, _ in candidates))
        singles = [h.amount for _, h, _ in candidates if h.amount is not None and h.flag is None]
        if len(balances) == 1 and len(singles) == len(candidates) and len({c.index for c in singles}) > 1:
            amounts = list({c.index: c for c in singles}.values())
            balance = candidates[0][0]
            labels = " and ".join(c.label for c in amounts)
            return self.fail(f"{labels} each carry the running balance {balance.label} on from row to row, so "
                             f"which one is the amount cannot be told; set {self._choices('amount', amounts)} in a "
                             "mapping")
        readings = "; ".join(f"{h.describe()} with {b.label} as the balance" for b, h, _ in candidates[:3])
        return self.fail(f"every row's balance adds up under more than one reading of the money columns "
                         f"({readings}), so which is right cannot be told; set columns.amount (or columns.debit "
                         "and columns.credit) and columns.balance in a mapping")

    def _choices(self, role: str, columns: Sequence[Column]) -> str:
        """The mapping lines that would answer which column is `role`: `columns.amount: Betrag` or ..., each
        column by its header name when no other has it, else by its number (a mapping counts from 0)."""
        def ref(column: Column) -> str:
            name = column.name.strip()
            if name and sum(n.casefold() == name.casefold() for n in self.header_names) == 1:
                return name
            return str(column.index)
        refs = [ref(c) for c in columns]
        numbered = " (a mapping counts columns from 0)" if any(r.isdigit() for r in refs) else ""
        return " or ".join(f"`columns.{role}: {r}`" for r in refs) + numbered

    def _sign_by_balance(self, hypothesis: "_Money", balance: Column) -> tuple["_Money", str]:
        """The reading a carried balance leaves, and what the balance showed, in words. For an in/out pair or a
        direction flag the arithmetic settles which side is money out. For one signed amount column it shows
        only that the column is the amount and whether amounts and balance move together: a bank balance and
        a card's balance owed (printed positive) both satisfy balance + amount = next balance, one with the
        charges negative, the other with them positive. Only a balance below zero on every row is surely the
        account's own (overdrawn, or a card's debt printed negative), so only then does it settle the sign;
        otherwise the sign is as printed unless most amounts are positive, which asks (`sign:`)."""
        if hypothesis.amount is None or hypothesis.flag is not None:
            return hypothesis, "which confirms the sign"
        balances = [v for v in balance.values if v]
        if balances and all(v < 0 for v in balances):
            return hypothesis, ("below zero on every row, so the account's own balance, overdrawn or owed, which "
                                "settles the sign")
        amount = hypothesis.amount
        hypothesis = self._check_money_in(replace(hypothesis, negate=False), balance)
        why = (f"so {amount.label} is the amount; a card's balance owed is carried the same way, so the "
               "sign is ")
        if self.sign is not None:
            return hypothesis, why + "as you answered"
        return hypothesis, why + "as printed, half or fewer of the amounts being positive"

    def _check_money_in(self, hypothesis: "_Money", balance: Column | None) -> "_Money":
        """A signed amount that is mostly positive: an account where most rows are money in, or a card whose
        charges are printed positive? A balance of what is owed carries them as printed, just as an account's
        balance would, so nothing in the rows can tell; the sign is the user's to say (`sign:`). More than
        half of the amounts positive asks: on an account people spend from, payments out outnumber those in."""
        if hypothesis.amount is None or hypothesis.flag is not None:
            return hypothesis
        if self.sign is not None:
            return replace(hypothesis, negate=self.sign == "charges_positive")
        values = [v for v in hypothesis.amount.values if v]
        # One row is no majority: a lone amount under a header named for it is read as printed (see _without_balance).
        if hypothesis.negate or len(values) < 2 or sum(v > 0 for v in values) * 2 <= len(values):
            return hypothesis
        carried = (f" (the running balance {balance.label} cannot say: a card's balance owed carries charges printed "
                   "positive just as a bank balance carries money in)") if balance else ""
        raise LayoutQuestion(
            f"cannot infer this CSV's layout: most amounts in {hypothesis.amount.label} are positive{carried}: card "
            f"charges, or money in? Set sign: charges_positive in a mapping if they are charges, sign: normal if "
            f"they are money in; {NEW_MAPPING_HINT}", file=self.filename, key="sign",
            answers={"charges_positive": "card charges: money out", "normal": "money in"})

    def _hypotheses(self, money: list[Column], flag: Column | None) -> list["_Money"]:
        found: list[_Money] = []
        for column in money:
            if any(v is None for v in column.values):
                continue   # blank on some rows: half of an in/out pair, not the amount
            found.append(_Money(amount=column))
            found.append(_Money(amount=column, negate=True))
            if flag is not None and all(v is None or v >= 0 for v in column.values):
                found.append(_Money(amount=column, flag=flag, flag_out=_flag_side(flag, True)))
                found.append(_Money(amount=column, flag=flag, flag_out=_flag_side(flag, False)))
        for x in money:
            for y in money:
                if x is not y and _complementary(x, y):
                    found.append(_Money(debit=x, credit=y))
        return found

    def _without_balance(self, money: list[Column], flag: Column | None, rows: int) -> "_Money":
        named = {role: [c for c in money if c.roles[:1] == (role,)] for role in ("amount", "debit", "credit")}
        if len(named["debit"]) == 1 and len(named["credit"]) == 1 and named["debit"][0] is not named["credit"][0]:
            return _Money(debit=named["debit"][0], credit=named["credit"][0], by_name=True)
        pairs = [(x, y) for x in money for y in money if x.index < y.index and _complementary(x, y)]
        if len(money) == 2 and pairs:
            x, y = pairs[0]
            negative = [c for c in (x, y) if any(v is not None and v < 0 for v in c.values)]
            if len(negative) == 1:
                out = negative[0]
                return _Money(debit=out, credit=y if out is x else x, by_sign=True)
            counts = {c.index: sum(v is not None for v in c.values) for c in (x, y)}
            many, few = sorted((x, y), key=lambda c: -counts[c.index])
            if rows >= _MANY_ROWS and counts[many.index] >= 3 * max(1, counts[few.index]):
                return _Money(debit=many, credit=few, by_count=(counts[many.index], counts[few.index]))
            answered = [c for c in (x, y) if _answer(c, (x, y)) == self.debit_column]
            if answered:
                out = answered[0]
                return _Money(debit=out, credit=y if out is x else x, by_answer=True)
            raise LayoutQuestion(
                f"cannot infer this CSV's layout: {x.label} and {y.label} look like money out and money in, and no "
                "running balance or name says which is which; set columns.debit (money out) and columns.credit in "
                f"a mapping; {NEW_MAPPING_HINT}", file=self.filename, key="columns.debit",
                answers={_answer(out, (x, y)): f"money out is {out.label}, money in {into.label}"
                         for out, into in ((x, y), (y, x))})
        if len(money) == 1 and money[0].role in ("debit", "credit"):
            # One column, named money out (`Belastung`, `Paid out`) or money in: its name gives the direction.
            side = money[0]
            return _Money(debit=side, by_name=True) if side.role == "debit" else _Money(credit=side, by_name=True)
        exact = [c for c in named["amount"] if c.exact]
        singles = named["amount"] if len(named["amount"]) == 1 else exact if len(exact) == 1 \
            else money if len(money) == 1 else []
        if not singles:
            labels = ", ".join(c.label for c in money)
            raise self.fail(f"{labels} are equally likely to be the amount; set columns.amount in a mapping to the "
                            f"one that is ({self._choices('amount', money)})")
        column = singles[0]
        values = [v for v in column.values if v is not None]
        if flag is not None and all(v >= 0 for v in values):
            return _Money(amount=column, flag=flag, flag_out=_flag_side(flag, True))
        if values and all(v >= 0 for v in values) and (rows >= 2 or column.role != "amount") and self.sign is None:
            raise LayoutQuestion(
                f"cannot infer this CSV's layout: every amount in {column.label} is positive, and no running "
                "balance or direction column says which are money out; if they are card charges set sign: "
                f"charges_positive in a mapping, if money in set sign: normal; {NEW_MAPPING_HINT}",
                file=self.filename, key="sign", answers={"charges_positive": "card charges: money out",
                                                         "normal": "money in"})
        lone = len(values) == 1 and values[0] > 0 and self.sign is None
        return _Money(amount=column, negate=self.sign == "charges_positive", lone_positive=lone)

    @staticmethod
    def _account(columns: list[Column]) -> Column | None:
        """The statement's own account number: a column named just that (not "partner's account number"),
        the same on every row. Several values could be the other party's accounts, or one damaged cell."""
        for column in columns:
            if column.role == "account" and column.exact and all(column.cells) and column.distinct() == 1:
                return column
        return None

    def _several_accounts(self, columns: list[Column], carried: bool) -> None:
        """A column named for the statement's own account (`Account`, `IBAN`, `Kontonummer`) holding more than
        one number on every row: several accounts in one file, which inference must not merge into one (a
        balance carried across every row says they are one account's, and the column the other party's)."""
        if carried:
            return
        for column in columns:
            if column.role == "account" and column.exact and all(column.cells) and column.distinct() > 1:
                where: dict[str, list[int]] = {}
                seen: dict[str, str] = {}    # the same number spaced or quoted otherwise is one account
                for cell, line in zip(column.cells, self.dated_lines):
                    where.setdefault(seen.setdefault(re.sub(r"[\W_]", "", cell).casefold(), cell), []).append(line)
                if len(where) < 2:
                    continue
                listed = "; ".join(f"{value} on line{'s' if len(at) > 1 else ''} "
                                   + ", ".join(map(str, at[:4])) + (", …" if len(at) > 4 else "")
                                   for value, at in list(where.items())[:4])
                first = next(iter(where))
                name = _answer(column, columns)
                if self.refusal is None:
                    self.refusal = InputError(
                        f"{column.label} holds {len(where)} accounts ({listed}), and one statement is one account's, "
                        f"so inference will not read them as one; read each as a statement of its own with "
                        f"`columns.account: {name}` in a mapping (psimport.yaml routes each account), keep one with "
                        f"`drop: [{{column: {name}, not_matches: '^{re.escape(first).replace(chr(92) + ' ', ' ')}$'}}]`"
                        f", or export each account on its own; {NEW_MAPPING_HINT}", file=self.filename,
                        line=where[list(where)[1]][0])
                return

    def _status(self, texts: list[Column], full: dict[int, Column],
                columns: dict[str, Any]) -> tuple[dict, str, int] | None:
        """The column saying which rows are not booked yet, and the rule that leaves them out. A status column
        is named so, or holds few values that repeat (Booked, Pending): a description that happens to say
        `Rent pending approval` is text, not a status. A row called pending that the running balance carries
        on (its balance is the one before it plus its amount) is booked, whatever its type says: kept."""
        for dated in texts:
            column = full[dated.index]
            pending = {c for c in column.nonblank if is_pending(c)}
            few = column.distinct() <= min(4, max(2, len(column.nonblank) // 2))
            if not pending or not (column.roles[:1] == ("status",) or few):
                continue
            rows = [i for i, cell in enumerate(dated.cells) if is_pending(cell)]
            carried = [i for i in rows if self._carried_row(i)]
            names = "/".join(sorted(pending))
            if rows and len(carried) == len(rows):
                if not self.whole_file:
                    # Kept rows are proved one by one; past the rows read here a pending one (a hotel hold, no
                    # balance) would be imported unproved and doubled when it posts.
                    raise self.fail(
                        f"rows {column.label} calls {names} are carried by the running balance in the rows "
                        "inference reads, but the file is longer than it reads whole, so the later ones cannot "
                        "each be checked; say in a mapping whether they are booked (no rule) or to leave them out "
                        f"(drop: [{{column: {_answer(column, list(full.values()))}, matches: "
                        f"'(?i)^({'|'.join(sorted(re.escape(p.casefold()) for p in pending))})$'}}])",
                        self.dated_lines[carried[0]])
                self.notes.append(f"rows {column.label} calls {names} are kept: the running balance carries them "
                                  "on, so they are booked")
                return None
            if carried:
                raise self.fail(f"{column.label} calls this row {dated.cells[carried[0]]}, yet the running balance "
                                "carries it on (booked), while other rows it calls so are not carried; set "
                                "drop: [{column: ..., matches: ...}] in a mapping for the rows to leave out",
                                self.dated_lines[carried[0]])
            words = "|".join(sorted(re.escape(p.casefold()) for p in pending))
            return ({"column": column.index, "matches": f"(?i)^({words})$"},
                    f"rows {column.label} calls {names} are left out (not booked yet)", column.index)
        return None

    def _carried_row(self, row: int) -> bool:
        """Whether the running balance proves the row booked: it has a balance, and so does a neighbour, and
        (as `_money` checked on every such pair) each carries the other on by the row's amount."""
        balance = self.carried_balance
        if balance is None or balance.values[row] is None:
            return False
        return any(0 <= n < len(balance.values) and balance.values[n] is not None for n in (row - 1, row + 1))

    def _texts(self, texts: list[Column], columns: dict[str, Any], rows: int) -> list[str]:
        said = []
        currency = [c for c in texts if all(v in _CURRENCIES or currency_code(v) for v in c.nonblank)]
        if currency:
            columns["currency"] = currency[0].index
            said.append(f"currency {currency[0].label}")
        texts = [c for c in texts if c not in currency]
        # A text the same on every row of several (the account's own name or number) is no description.
        # Nor is a number (a sequence number, a reference) a description.
        texts = [c for c in texts if not all(_PLAIN_NUMBER.fullmatch(v) or _TIME.fullmatch(v) for v in c.nonblank)]
        varied = [c for c in texts if rows < 3 or c.distinct() > 1 or c.role in ("payee", "memo")] or texts
        # The bank's kind of transaction: a short text from a few values (POS, ATM, Lastschrift), beside a
        # longer, more varied one that describes the row.
        kinds = [c for c in varied if rows >= 4 and c.distinct() <= max(2, rows // 3) and c.role not in ("payee", "memo")
                 and any(_mean_length(other) > _mean_length(c) and other.distinct() > c.distinct()
                         for other in varied if other is not c)]
        typed = [c for c in kinds if c.role == "type"] or kinds
        if typed:
            columns["type"] = typed[0].index
            said.append(f"type {typed[0].label} (few distinct values)")
        rest = [c for c in varied if c not in typed[:1]]
        payee = [c for c in rest if c.roles[:1] == ("payee",)]
        memo = [c for c in rest if c.roles[:1] == ("memo",) and c not in payee[:1]]
        if not payee:
            # No name says it: the payee is the text that repeats most (a merchant comes back; a reference
            # does not), the leftmost of equals.
            ranked = sorted((c for c in rest if c not in memo[:1]),
                            key=lambda c: (c.distinct() / max(1, len(c.nonblank)), c.index))
            payee = ranked[:1]
        if not memo:
            # A second description: under a header, one named as such; without one, the next text column.
            named = any(c.name for c in rest)
            memo = [c for c in rest if c not in payee[:1] and c.role in (("memo", "payee") if named else (None,))][:1]
        if payee:
            columns["payee"] = payee[0].index
            said.append(f"payee {payee[0].label}")
        if memo and memo[0] is not (payee[0] if payee else None):
            columns["memo"] = memo[0].index
            said.append(f"memo {memo[0].label}")
        return said

    # ── dates ──

    def _dates(self, column: Column, rows: list[int], data: dict[str, Any]) -> None:
        """The date format, when the sampled rows settle it (a later row that does not fit it is an error at
        its line); otherwise `auto`, and the reader decides from every row."""
        values = [column.cells[i] for i in rows]
        every = date_orders(values, settle=False)
        orders = date_orders(values)
        data["date_format"] = "auto"
        if self.date_order and len(every) > 1 or (self.date_order not in (None, *every) and two_digit_years(values)):
            # The order the user gave (`--date-order`) answers an ambiguity, and two-digit years are one even
            # when their spans settle it; an order that does not read them is an error, never another reading.
            given = str(self.date_order)
            if given not in every:
                line = next((self.sample_lines[i] for i in rows
                             if parse_with_order(column.cells[i], given) is None), self.sample_lines[rows[0]])
                raise InputError(
                    f"the dates in {column.label} do not read in the order {given} (--date-order): they "
                    f"read as {' or '.join(sorted(every))}; pass --date-order {'|'.join(sorted(every))}, or set "
                    "date_format in a mapping", file=self.filename, line=line)
            orders, reason = {given}, " (as --date-order says)"
        elif len(every) > len(orders) == 1:
            (kept,) = orders
            dropped = sorted(every - orders)
            spread, span = max(self._span(values, o) for o in dropped), self._span(values, kept)
            reason = (f" ({' or '.join(_ORDER_WORDS[o] for o in dropped)} they would spread over {spread // 365} "
                      f"years, {_ORDER_WORDS[kept]} over {span} days)") if spread > 365 else \
                " (two-digit years written with dots are day first, as European banks write them)"
        else:
            reason = ""
        if len(orders) != 1:
            return
        order = next(iter(orders))
        data["date_order"] = order
        self.notes.append(f"dates {_ORDER_WORDS[order]}{reason}")
        for fmt in ORDERED_FORMATS[order]:
            if DateFormat(fmt).parse_all(values)[1] is None:
                data["date_format"] = fmt
                break

    @staticmethod
    def _span(values: Sequence[str], order: str) -> int:
        dates = [d for d in (parse_with_order(v, order) for v in values) if d is not None]
        return (max(dates) - min(dates)).days if dates else 0

    def _refs(self, header: list[str] | None, data: dict[str, Any]) -> dict[str, Any]:
        """Columns by header name where the name is unique, else by number."""
        columns = data["columns"]
        names = [c.strip() for c in header] if header is not None else []
        folded = Counter(n.casefold() for n in names)

        def ref(index: int) -> int | str:
            if index < len(names) and names[index] and folded[names[index].casefold()] == 1:
                return names[index]
            return index

        result: dict[str, Any] = {}
        for role, value in columns.items():
            if role == "flag":
                result[role] = dict(value, column=ref(value["column"]))
            else:
                result[role] = ref(value)
        for rule in data.get("drop", []):
            if "column" in rule:
                rule["column"] = ref(rule["column"])
        return result


def _answer(column: Column, among: Sequence[Column]) -> str:
    """How a person names a column when answering which of `among` it is: its header name, else (no name,
    or one another of them shares) its number from 1."""
    name = column.name.strip()
    shared = sum(c.name.strip().casefold() == name.casefold() for c in among) > 1
    return name if name and not shared else str(column.index + 1)


def _identifier(column: Column) -> bool:
    """A card or account number: a long run of digits (no cents, no thousands groups) on every row, not
    named for money. An amount column is blank on some rows; this one is filled on the blank row too."""
    return bool(column.cells) and not _named_money(column) and all(
        _IDENTIFIER.fullmatch(cell) and len(re.sub(r"\D", "", cell)) >= 6 and not _GROUPED.fullmatch(cell)
        for cell in column.cells)


def _mean_length(column: Column) -> float:
    return sum(map(len, column.nonblank)) / max(1, len(column.nonblank))


def _has_cents(column: Column) -> bool:
    return any(_CENTS.search(c) for c in column.nonblank)


def _indices(columns: dict[str, Any]) -> set[int]:
    return {v["column"] if isinstance(v, dict) else v for v in columns.values()}


def _runs_as_balance_of(balance: Column, amount: Column) -> bool:
    """Whether `balance` is filled exactly where `amount` is blank, and each of its values is the one before
    plus the amounts since (in either row order), on two or more values that are not all the same."""
    values, moved = balance.values, amount.values
    if len(values) < 3 or any((b is None) == (a is None) for b, a in zip(values, moved)):
        return False
    filled = [i for i, v in enumerate(values) if v is not None]
    if len(filled) < 2 or len({values[i] for i in filled}) < 2:
        return False
    steps = [(values[i] or Decimal(0), values[j] or Decimal(0),
              sum((a for a in moved[i + 1:j] if a is not None), Decimal(0))) for i, j in pairwise(filled)]
    return all(b + m == c for b, c, m in steps) or all(c + m == b for b, c, m in steps)


def _complementary(x: Column, y: Column) -> bool:
    """An in/out pair: on every row at most one of the two holds a non-zero amount, and each holds some."""
    both = [(a, b) for a, b in zip(x.values, y.values)]
    return (any(a for a, _ in both) and any(b for _, b in both)
            and all(not (a and b) for a, b in both) and all(a is not None or b is not None for a, b in both))


def _flag_side(flag: Column, first_is_out: bool) -> tuple[set[str], set[str]]:
    """The flag's values that mean money out and money in: as their words say, or the other way round."""
    values = {c.casefold() for c in flag.nonblank}
    debit, credit = values & _FLAG_OUT, values & _FLAG_IN
    if not first_is_out:
        debit, credit = credit, debit
    return debit, credit


@dataclass
class _Money:
    """One reading of where each row's money is."""

    amount: Column | None = None
    negate: bool = False
    debit: Column | None = None
    credit: Column | None = None
    flag: Column | None = None
    flag_out: tuple[set[str], set[str]] | None = None
    by_name: bool = False
    by_sign: bool = False
    by_count: tuple[int, int] | None = None
    by_answer: bool = False
    lone_positive: bool = False     # one row, positive, nothing to compare it with: read as printed, and said

    def as_named(self) -> bool:
        """Whether the header names agree with this reading (or say nothing against it)."""
        if self.amount is not None:
            return self.amount.role in (None, "amount") and not self.negate
        return (self.debit is None or self.debit.role != "credit") and (self.credit is None or self.credit.role != "debit")

    def named_exactly(self) -> bool:
        """Whether each column this reading takes is named for what it takes it as (`Net` as the amount)."""
        if self.amount is not None:
            return self.amount.role == "amount" and self.amount.exact
        return all(c is None or (c.role == role and c.exact) for c, role in ((self.debit, "debit"),
                                                                             (self.credit, "credit")))

    def key(self) -> tuple:
        if self.amount is not None:
            return ("amount", self.amount.index, self.negate,
                    tuple(sorted(self.flag_out[0])) if self.flag_out else None)
        return ("pair", self.debit.index if self.debit else None, self.credit.index if self.credit else None)

    def amounts(self) -> list[Decimal]:
        if self.amount is not None:
            values = [v or Decimal(0) for v in self.amount.values]
            if self.flag is not None and self.flag_out is not None:
                out, into = self.flag_out
                blank_is_out = not out    # only money in is marked: an unmarked row is money out
                values = [-abs(v) if f.casefold() in out or (not f and blank_is_out) else abs(v)
                          for v, f in zip(values, self.flag.cells)]
            return [-v for v in values] if self.negate else values
        debits, credits = self._sides()
        return [abs(c) if c else -abs(d or Decimal(0)) for d, c in zip(debits, credits)]

    def apply(self, columns: dict[str, Any], data: dict[str, Any]) -> None:
        if self.amount is not None:
            columns["amount"] = self.amount.index
            if self.flag is not None and self.flag_out is not None:
                debit, credit = self.flag_out
                flag: dict[str, Any] = {"column": self.flag.index, "debit": sorted(debit), "credit": sorted(credit)}
                if "" in {c for c in self.flag.cells}:
                    # Only one side is marked ("CR" beside refunds): an empty flag is the other side.
                    flag["default"] = "credit" if debit and not credit else "debit"
                columns["flag"] = flag
            if self.negate:
                data["sign"] = "charges_positive"
        else:
            for role, column in (("debit", self.debit), ("credit", self.credit)):
                if column is not None:
                    columns[role] = column.index
        # A row with no amount: see _Inference._blank_amounts for when it reads as 0 and when it is refused.

    def _sides(self) -> tuple[list[Decimal | None], list[Decimal | None]]:
        rows = len((self.debit or self.credit).values)  # type: ignore[union-attr]
        blank: list[Decimal | None] = [None] * rows
        return (self.debit.values if self.debit else blank), (self.credit.values if self.credit else blank)

    def describe(self) -> str:
        if self.amount is not None:
            if self.flag is not None and self.flag_out is not None:
                out, into = self.flag_out
                if not out:
                    return (f"amount {self.amount.label}, money in where {self.flag.label} is "
                            f"{'/'.join(sorted(into))}, money out where it is empty")
                return (f"amount {self.amount.label}, money out where {self.flag.label} is "
                        f"{'/'.join(sorted(out))}")
            if self.lone_positive:
                return (f"amount {self.amount.label} (one row, positive, and nothing to compare it with: read as "
                        "printed, money in; if it is a card charge, set sign: charges_positive in a mapping)")
            return f"amount {self.amount.label}" + (" (charges positive: money out is positive)" if self.negate
                                                      else "")
        if self.debit is None or self.credit is None:
            side = self.debit or self.credit
            return f"{'money out' if self.debit else 'money in'} {side.label} (as its name says)"  # type: ignore
        why = " (by their names)" if self.by_name else " (as you answered)" if self.by_answer \
            else " (money out is the one printed negative)" if self.by_sign \
            else (f" (nothing else says which is which: money out is the column with far more entries, "
                  f"{self.by_count[0]} against {self.by_count[1]}; if that is wrong, set columns.debit and "
                  "columns.credit in a mapping)") if self.by_count else ""
        return f"money out {self.debit.label}, money in {self.credit.label}{why}"


def _mapping_data(data: dict[str, Any]) -> dict[str, Any]:
    """The inferred data as a mapping reads it (the signature is for the YAML only: the header row is known)."""
    return {key: value for key, value in data.items() if key != "signature"}


def infer_layout(source: Source, date_order: str | None = None, sign: str | None = None,
                 date_column: str | None = None, debit_column: str | None = None,
                 encoding: str | None = None) -> Inferred:
    """Infer the layout of a CSV from its own rows; an InputError (a LayoutQuestion where a person could answer
    it) names the one question it cannot settle. `date_order`, `sign` ("normal", "charges_positive"), and
    `date_column` and `debit_column` (a column's header name, or its number from 1 when it has none) are
    answers the user has given, and `encoding` (a code page) too."""
    return _Inference(source, date_order, sign, date_column, debit_column, encoding).run()
