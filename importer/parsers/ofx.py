"""The OFX parser: OFX 1.x SGML and 2.x XML (and the QFX and QBO files that wrap them) read into Statements.

A lenient, linear scanner rather than an SGML/XML parser: one compiled regular expression walks the
decoded text once. A whole `<STMTTRN>...</STMTTRN>` block is one match whose fields are read with a
second expression over that block only, so a file of any size costs one pass (ofxparse re-checks
every tag against all closing tags and grows quadratically; both ofxparse and ofxtools also shift
dates to UTC). What it reads, and the choices it makes where OFX files disagree with the spec:

- One Statement per bank (`STMTRS`), credit-card (`CCSTMTRS`) or investment (`INVSTMTRS`) statement,
  so QBO files with several accounts give several Statements. Account id `ACCTID`, bank id `BANKID`
  (`BROKERID` for investments), type `ACCTTYPE` or `CREDITCARD` / `INVESTMENT`, currency `CURDEF`;
  period `DTSTART`/`DTEND`; closing balance `LEDGERBAL/BALAMT` when present and not empty. A statement
  with an unreadable period date or balance keeps the rest (the period is then taken from the rows).
- Dates are the calendar date the bank wrote, the first eight digits: `20240105000000[+10:AEST]` is
  5 January, whatever the offset. The date is `DTPOSTED`; when a bank leaves it out but gives `DTUSER`
  (the date the customer made the transaction, at most a few days earlier) that is used instead, as
  the only date there is, and dedupe's date window absorbs the difference. Neither is an error.
- Amounts are Decimal from the text: a leading `+`, thousands separators (`,` `.` space `'`) and a
  decimal comma (`-200,00`, `-1.234,56`) are read; a lone separator is the decimal point, as the OFX
  spec allows either. `-0` becomes 0. Anything else (`$120`, `1e5`) is an error.
- Payee: `NAME` (also the `NAME` of a `PAYEE` aggregate), else `EXTDNAME`, else `MEMO`; `payee` has its
  whitespace collapsed, `original_payee` is the text as written. With none of them (some cheques) the
  payee says what little there is, "Cheque 1000" or the type ("ATM"), and `original_payee` is "".
  `MEMO` is kept separately: banks cut `NAME` at 32 characters and put the whole text in `MEMO`. An
  empty `MEMO` is None.
- `ORIGCURRENCY` (`CURSYM`, `CURRATE`) is kept as the row's `foreign`: the amount over the rate, in `CURSYM`.
- `FITID` is the external id; a FITID repeated in one statement for a different transaction (the same
  id, another date, amount or text) gets `-2`, `-3`... so nothing is lost; a missing FITID is left to
  `Statement.finish()`, which assigns a stable synthetic id. `CHECKNUM` loses leading zeros, and `0`
  (written by banks for "no cheque") is None. `type` is `TRNTYPE`. The currency is `CURRENCY/CURSYM`
  when the transaction has one, else the statement's `CURDEF`: with `ORIGCURRENCY` the amount has
  already been converted into `CURDEF`, so the original currency is not the amount's currency.
- Investment statements give their cash side: `INVBANKTRAN/STMTTRN` as above, and each investment
  transaction (`BUY*`, `SELL*`, `INCOME`, `INVEXPENSE`, `MARGININTEREST`, `RETOFCAP`) with `TOTAL` as
  the cash amount (buys and expenses out, sells in), dated `DTTRADE`, payee "Buy VISA INC COM CL A"
  from the action and the security's `SECNAME` (else `TICKER`, else its id) in `SECLIST`. Those that
  move no cash (`TRANSFER`, `REINVEST`, `SPLIT`, `JRNLSEC`, `JRNLFUND`, `CLOSUREOPT`) are kept too, with
  amount 0 and the units in the memo, so the record of them is not lost.
- Text: the header's `CHARSET`/`ENCODING` or `<?xml encoding=?>` is honoured, but bytes that are valid
  UTF-8 are read as UTF-8 whatever the header says (banks label UTF-8 as 1252 and the reverse), and
  bytes that are not fall back from the declared charset to cp1252 and finally latin-1, which cannot
  fail. BOMs, trailing NULs and `<!-- -->` comments are dropped (newlines inside comments kept, so
  lines still count right); `<![CDATA[...]]>` is unwrapped; entities (`&amp;`, `&#233;`, `&eacute;`)
  are decoded exactly once, so a double-escaped `&amp;lt;` reads `&lt;`, as written by the bank;
  lower-case tags are read as upper-case. The header itself may be missing, wrong, or inside a comment.
- Errors (InputError, naming the file and line): no `<OFX>` element, a `<STMTTRN>` or investment
  transaction not closed before the next one or the end of the file, a file that ends before `</OFX>`,
  a transaction without a date or amount, an impossible date, an unreadable amount, an error response
  from the bank (a non-zero `STATUS/CODE` and no statement: the bank's `MESSAGE` is quoted), and an OFX
  file without any statement in it.
"""

from __future__ import annotations

import codecs
import gc
import re
from datetime import date
from decimal import Decimal

from importer.errors import InputError
from importer.parsers.base import ParseOptions
from importer.record import Account, Foreign, Statement, Transaction

__all__ = ["OfxParser", "parse_ofx", "decode_ofx", "parse_ofx_amount", "ofx_date"]

OFX_SUFFIXES = (".ofx", ".qfx", ".qbo")
STATEMENT_TAGS = {"STMTRS": None, "CCSTMTRS": "CREDITCARD", "INVSTMTRS": "INVESTMENT"}
# End tags that close a statement whose own end tag is missing.
STATEMENT_ENDS = {"STMTTRNRS", "CCSTMTTRNRS", "INVSTMTTRNRS", "BANKMSGSRSV1", "CREDITCARDMSGSRSV1",
                  "INVSTMTMSGSRSV1", "OFX"}

# Investment transactions whose TOTAL is cash in or out of the account, with the sign it must have
# (None: as written, since income can be reversed).
CASH_INVESTMENT_SIGNS = {"BUYDEBT": -1, "BUYMF": -1, "BUYOPT": -1, "BUYOTHER": -1, "BUYSTOCK": -1,
                         "SELLDEBT": 1, "SELLMF": 1, "SELLOPT": 1, "SELLOTHER": 1, "SELLSTOCK": 1,
                         "INVEXPENSE": -1, "MARGININTEREST": -1, "INCOME": None, "RETOFCAP": None}
# Investment transactions that move securities (or money between sub-accounts) but no cash in or out.
NON_CASH_INVESTMENT = {"TRANSFER", "REINVEST", "SPLIT", "JRNLSEC", "JRNLFUND", "CLOSUREOPT"}
INVESTMENT_TRANSACTIONS = set(CASH_INVESTMENT_SIGNS) | NON_CASH_INVESTMENT
INVESTMENT_ACTIONS = {"INVEXPENSE": "Expense", "MARGININTEREST": "Margin interest",
                      "RETOFCAP": "Return of capital", "REINVEST": "Reinvest", "SPLIT": "Split",
                      "JRNLSEC": "Journal (securities)", "JRNLFUND": "Journal (cash)",
                      "CLOSUREOPT": "Option closure"}
# TRNTYPE in words, for the payee of a transaction that has no NAME or MEMO.
TRANSACTION_TYPES = {"CREDIT": "Credit", "DEBIT": "Debit", "INT": "Interest", "DIV": "Dividend", "FEE": "Fee",
                     "SRVCHG": "Service charge", "DEP": "Deposit", "ATM": "ATM", "POS": "Point of sale",
                     "XFER": "Transfer", "CHECK": "Cheque", "PAYMENT": "Payment", "CASH": "Cash withdrawal",
                     "DIRECTDEP": "Direct deposit", "DIRECTDEBIT": "Direct debit", "REPEATPMT": "Repeating payment",
                     "HOLD": "Hold", "OTHER": "Other"}
INCOME_TYPES = {"DIV": "Dividend", "INTEREST": "Interest", "CGLONG": "Capital gain (long)",
                "CGSHORT": "Capital gain (short)", "MISC": "Income"}

# A transaction block (group 1 its body, group 2 its end tag, None when it is not closed), or any other
# tag: group 3 "/" for an end tag, group 4 the name, group 5 "/" when self-closing, group 6 the text after.
_TOKEN = re.compile(r"<STMTTRN\s*>([^<]*(?:<(?!/?STMTTRN\s*>)[^<]*)*)(</STMTTRN\s*>)?"
                    r"|<(/?)([A-Z0-9][A-Z0-9_.\-]*)\s*(/?)>([^<]*)")
# The elements inside one transaction block; end tags and self-closing (empty) tags do not match.
_FIELD = re.compile(r"<([A-Z0-9][A-Z0-9_.\-]*)\s*>([^<]*)")
_LAYOUT_TAG = re.compile(r"<(/?)([^<>]*)>")
_GROUP_NAME = re.compile(r"[A-Z][A-Z0-9_]*")
_OFX_START = re.compile(r"<OFX\s*>")
_OFX_END = re.compile(r"</OFX\s*>")
_LOWER_CASE_TAG = re.compile(r"</?[A-Z0-9_.\-]*[a-z]")
_TAG_NAME = re.compile(r"(</?)([A-Za-z][A-Za-z0-9_.\-]*)")
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_PLAIN_AMOUNT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_HEADER_FIELD = re.compile(rb"(CHARSET|ENCODING)[ \t]*:[ \t]*([A-Za-z0-9_.\-]+)", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9_.:\-]+)[\"']", re.IGNORECASE)
_SNIFF_MARKERS = re.compile(rb"OFXHEADER|<OFX\s*>|<\?OFX", re.IGNORECASE)
_SIMPLE_AMOUNT_CHARS = " \t\r\n0123456789.+-"  # text Decimal() reads exactly as OFX means it
_new_tuple = tuple.__new__  # builds a Transaction without the NamedTuple's Python-level __new__
_AMOUNT_SPACES = str.maketrans("", "", " \u00a0\u202f\u2009'")

RECENT_LAYOUTS = 4  # transaction layouts tried before the general way
MAX_LAYOUTS = 64  # a file with more distinct layouts than this is read the general way from then on

_REDOWNLOAD = "download the statement from your bank again"


class OfxParser:
    """OFX 1.x (SGML) and 2.x (XML), including Quicken's QFX and QuickBooks' QBO."""

    name = "ofx"

    def sniff(self, head: bytes, filename: str) -> float:
        """Sure on an OFX header or `<OFX>` tag in the first bytes; an .ofx/.qfx/.qbo name is a weak hint."""
        sample = head
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in head[:200]:
            sample = head.replace(b"\x00", b"")
        if _SNIFF_MARKERS.search(sample):
            return 0.95
        return 0.2 if filename.lower().endswith(OFX_SUFFIXES) else 0.0

    def parse(self, data: bytes, filename: str, options: ParseOptions = ParseOptions()) -> list[Statement]:
        return parse_ofx(data, filename)


def parse_ofx(data: bytes, filename: str) -> list[Statement]:
    """Every statement in an OFX/QFX/QBO file, in file order (not yet `finish()`ed)."""
    text = _prepare(decode_ofx(data), data, filename)
    # A big file builds hundreds of thousands of small objects that cannot form cycles, and each
    # full collection the allocations trigger walks the whole growing heap: pausing the collector
    # while they are built saves about a tenth of the parse.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _Scan(text, filename).run()
    finally:
        if collecting:
            gc.enable()


# ─── text ─────────────────────────────────────────────────────────────────────────────────────

def declared_encoding(data: bytes) -> str | None:
    """The Python codec the file's header names: the XML declaration, or OFX 1 `ENCODING`/`CHARSET`."""
    head = data[:4096]
    end = head.upper().find(b"<OFX")
    header = head if end < 0 else head[:end]
    xml = _XML_ENCODING.search(header)
    if xml:
        name = xml.group(1).upper()
    else:
        fields = {key.upper(): value.upper() for key, value in _HEADER_FIELD.findall(header)}
        if fields.get(b"ENCODING") in (b"UTF-8", b"UTF8", b"UNICODE"):
            return "utf-8"
        name = fields.get(b"CHARSET")
        if name in (None, b"NONE"):
            return None
        if name.isdigit():  # OFX 1 names Windows code pages by number: 1252
            name = b"CP" + name
    if name in (b"ISO-8859-1", b"ISO8859-1", b"8859-1", b"LATIN1", b"LATIN-1", b"CP819"):
        # Windows writers label cp1252 text as latin-1; cp1252 agrees on every printable latin-1 letter.
        return "cp1252"
    return name.decode("ascii").lower()


def decode_ofx(data: bytes) -> str:
    """The file's text: valid UTF-8 as UTF-8, otherwise the declared charset, cp1252, then latin-1."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[3:]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace").rstrip("\x00")
    elif data[:1] == b"<" and data[1:2] == b"\x00":
        return data.decode("utf-16-le", errors="replace").rstrip("\x00")
    data = data.rstrip(b"\x00")
    if data.isascii():
        return data.decode("ascii")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass  # the bytes contradict a UTF-8 header (or there is none): a single-byte charset
    for encoding in (declared_encoding(data), "cp1252"):
        if encoding and encoding.replace("-", "").replace("_", "") not in ("utf8", "ascii", "usascii"):
            try:
                return data.decode(encoding)
            except (UnicodeDecodeError, LookupError):
                continue
    return data.decode("latin-1")


def _prepare(text: str, data: bytes, filename: str) -> str:
    """Text the scanner can walk: comments blanked, CDATA unwrapped, tag names upper-case."""
    if "\n" not in text and "\r" in text:
        text = text.replace("\r", "\n")  # classic Mac line ends, so line numbers still mean something
    if "!" in text and "<!" in text:  # one character is found far faster than two
        text = _drop_comments_and_cdata(text)
    # Writers use one case throughout, so the head tells whether tag names need upper-casing; that
    # spares a 100k-row file a second full pass.
    if _LOWER_CASE_TAG.search(text, 0, 65536) or not _OFX_START.search(text):
        if _LOWER_CASE_TAG.search(text):
            text = _TAG_NAME.sub(lambda m: m.group(1) + m.group(2).upper(), text)
        if not _OFX_START.search(text):
            if b"\x00" in data:
                raise InputError("this is a binary file, not an OFX statement; " + _REDOWNLOAD, file=filename)
            raise InputError("not an OFX file: there is no <OFX> element; export the statement as "
                             "OFX/QFX/QBO, or " + _REDOWNLOAD, file=filename)
    return text


def _drop_comments_and_cdata(text: str) -> str:
    """`<!-- -->` becomes the newlines it held; `<![CDATA[x]]>` becomes x, escaped like any value."""
    pieces: list[str] = []
    position = 0
    while True:
        start = text.find("<!", position)
        if start < 0:
            break
        if text.startswith("<!--", start):
            end = text.find("-->", start + 4)
            if end < 0:
                break  # an unclosed comment: read the rest as it is
            pieces.append(text[position:start])
            pieces.append("\n" * text.count("\n", start, end))
            position = end + 3
        elif text.startswith("<![CDATA[", start):
            end = text.find("]]>", start + 9)
            if end < 0:
                break
            pieces.append(text[position:start])
            pieces.append(text[start + 9:end].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))
            position = end + 3
        else:
            pieces.append(text[position:start + 2])
            position = start + 2
    pieces.append(text[position:])
    return "".join(pieces)


def _unescape(value: str) -> str:
    """Entities ending in `;` decoded once (html.unescape alone would also turn `&not` into `¬`)."""
    import html
    return _ENTITY.sub(lambda m: html.unescape(m.group()), value)


def _text(value: str | None) -> str | None:
    """An element's value, trimmed and unescaped; None when absent or empty."""
    if value is None:
        return None
    value = value.strip()
    if "&" in value:
        value = _unescape(value)
    return value or None


# ─── values ───────────────────────────────────────────────────────────────────────────────────

def ofx_date(value: str | None) -> date | None:
    """The calendar date an OFX date-time starts with (`20240105000000[+10:AEST]` → 2024-01-05).

    The offset is ignored on purpose: the bank wrote the day the transaction belongs to. Also reads a
    `YYYY-MM-DD` start, which some exporters write. None when there is no such date.
    """
    if value is None:
        return None
    value = value.strip()
    digits = value[:8]
    if len(digits) == 8 and digits.isascii() and digits.isdigit():
        parts = int(digits[:4]), int(digits[4:6]), int(digits[6:8])
    elif len(value) >= 10 and value[4] == "-" and value[7] == "-" and value[:4].isdigit() \
            and value[5:7].isdigit() and value[8:10].isdigit() and value[:10].isascii():
        parts = int(value[:4]), int(value[5:7]), int(value[8:10])
    else:
        return None
    try:
        return date(*parts)
    except ValueError:
        return None


def _original_currency(fields: dict[str, str], amount: Decimal) -> Foreign | None:
    """`ORIGCURRENCY` (CURSYM, CURRATE): the amount is already in the account's currency and was `CURSYM`
    at `CURRATE` account units each, so the original is the amount over the rate, to the cent."""
    currency = (_text(fields.get("CURSYM")) or "").upper()
    if not currency:
        return None
    rate = parse_ofx_amount(fields.get("CURRATE"))
    if not rate:
        return Foreign(None, currency, None)
    return Foreign((amount / rate).quantize(Decimal("0.01")), currency, rate)


def parse_ofx_amount(value: str | None) -> Decimal | None:
    """An OFX amount as Decimal (`+`, thousands separators, decimal comma allowed); None if not a number."""
    if value is None:
        return None
    text = value.strip()
    if not _PLAIN_AMOUNT.fullmatch(text):
        text = _normalise_amount(text)
        if text is None:
            return None
    amount = Decimal(text)
    return amount if amount else amount.copy_abs()  # no "-0" in the output


def _normalise_amount(text: str) -> str | None:
    text = text.translate(_AMOUNT_SPACES)
    sign = ""
    if text[:1] in ("+", "-"):
        sign, text = ("-" if text[0] == "-" else ""), text[1:]
    if not text or text.strip("0123456789.,"):
        return None
    last_dot, last_comma = text.rfind("."), text.rfind(",")
    if last_dot >= 0 and last_comma >= 0:
        point = "." if last_dot > last_comma else ","
        grouping = "," if point == "." else "."
        whole, _, fraction = text.rpartition(point)
        if point in whole or not _grouped(whole, grouping):
            return None
        text = whole.replace(grouping, "") + "." + fraction
    elif text.count(",") + text.count(".") > 1:
        grouping = "," if last_comma >= 0 else "."
        if not _grouped(text, grouping):
            return None
        text = text.replace(grouping, "")
    else:
        text = text.replace(",", ".")  # one separator alone is the decimal point (OFX allows a comma)
    text = sign + text
    return text if _PLAIN_AMOUNT.fullmatch(text) else None


def _grouped(whole: str, separator: str) -> bool:
    groups = whole.split(separator)
    return 1 <= len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:]) and all(g.isdigit() for g in groups)


# ─── the scan ─────────────────────────────────────────────────────────────────────────────────

class _StatementInProgress:
    """What one statement aggregate has said so far."""

    __slots__ = ("tag", "currency", "account_id", "bank_id", "account_type", "start", "end",
                 "balance", "balance_date", "rows", "in_ledger_balance", "in_transaction_list")

    def __init__(self, tag: str):
        self.tag = tag
        self.currency = self.account_id = self.bank_id = self.account_type = None
        self.start = self.end = self.balance = self.balance_date = None
        self.rows: list[Transaction] = []
        self.in_ledger_balance = False
        self.in_transaction_list = False


class _Scan:
    """One pass over a prepared OFX text."""

    def __init__(self, text: str, filename: str):
        self.text = text
        self.file = filename
        self.statements: list[Statement] = []
        self.dates: dict[str, date] = {}
        self.securities: dict[str, str] = {}
        self.security: dict[str, str] | None = None
        self.statuses: list[dict] = []
        self.investment_rows: list[tuple[list[Transaction], int, dict]] = []
        self.layouts: list[re.Pattern] = []  # the bodies of recent transaction layouts, newest first
        self.lanes: list[re.Pattern] = []  # the same, as whole <STMTTRN> blocks after any text
        self.layouts_learned = 0
        self.current: _StatementInProgress | None = None  # the statement being read
        self.investment: dict | None = None  # the investment transaction being read: its type, line, tags
        self.line, self.counted_to = 1, 0  # the line number at position `counted_to`

    def line_at(self, position: int) -> int:
        return self.text.count("\n", 0, position) + 1

    def error(self, message: str, position: int | None = None, line: int | None = None) -> InputError:
        if line is None and position is not None:
            line = self.line_at(position)
        return InputError(message, file=self.file, line=line)

    def run(self) -> list[Statement]:
        """The file's statements: every token read in one pass, then what only the whole file can show."""
        position: int | None = 0
        while position is not None:
            position = self.scan_from(position)
        self.check_complete()
        self.name_investments()
        if not self.statements:
            raise self.no_statement()
        self.warn_of_failed_accounts()
        return self.statements

    def scan_from(self, position: int) -> int | None:
        """The tokens from `position` on, each to its reader: a transaction block; inside an investment
        transaction, its tags; else an end tag or a start tag. Returns where to scan on from when lanes
        read ahead of the tokens, or None at the end of the text."""
        for match in _TOKEN.finditer(self.text, position):
            if match.group(1) is not None:
                resume = self.transaction_block(match)
                if resume is not None:
                    return resume
                continue
            closing, tag, self_closing, value = match.group(3, 4, 5, 6)
            if self.investment is not None:
                self.investment_tag(closing, tag, self_closing, value)
            elif closing:
                self.end_tag(tag)
            else:
                self.start_tag(tag, self_closing, value, match.start())
        return None

    def line_of(self, position: int) -> int:
        """The line of `position`, counted on from the last position asked about (positions only grow)."""
        self.line += self.text.count("\n", self.counted_to, position)
        self.counted_to = position
        return self.line

    # ── the tokens ──

    def transaction_block(self, match: re.Match) -> int | None:
        """A `<STMTTRN>` block, then those after it read through a lane; where the lanes stopped, if they read any."""
        start = match.start()
        line = self.line = self.line + self.text.count("\n", self.counted_to, start)  # line_of(), inlined: hot
        self.counted_to = start
        if match.group(2) is None:
            after = "the next <STMTTRN>" if match.end() < len(self.text) else "the end of the file"
            raise self.error(f"this <STMTTRN> transaction is not closed before {after}: the file is "
                             f"damaged or cut short; {_REDOWNLOAD}", line=line)
        if self.current is None:  # a transaction outside any statement: keep it, account unknown
            self.current = _StatementInProgress("STMTRS")
        rows, currency = self.current.rows, self.current.currency
        rows.append(self.bank_transaction(self.fields_of(match.group(1)), match.start(1), line, currency))
        lane_end = self.read_lanes(match.end(), rows, currency)
        return lane_end if lane_end != match.end() else None

    def read_lanes(self, position: int, rows: list[Transaction], currency: str | None) -> int:
        """The transactions from `position` on in a layout seen before: one match each, straight from the text,
        until something else comes (the end of the list, a new layout). Returns where the last one ends."""
        text, lanes, transaction = self.text, self.lanes, self.bank_transaction
        line, counted_to = self.line, self.counted_to  # the hot loop counts lines in locals
        while True:
            for lane in lanes:
                fast = lane.match(text, position)
                if fast:
                    break
            else:
                break
            start = fast.start(1)
            line += text.count("\n", counted_to, start)
            counted_to = start
            rows.append(transaction(fast.groupdict(), fast.end(1), line, currency))
            position = fast.end()
        self.line, self.counted_to = line, counted_to
        return position

    def investment_tag(self, closing: str, tag: str, self_closing: str, value: str) -> None:
        """A tag inside an investment transaction: its end, one of its fields, or a sign it was never closed."""
        investment, current = self.investment, self.current
        assert investment is not None and current is not None  # an investment is only opened inside a statement
        if closing and tag == investment["type"]:
            self.add_investment(current, investment)
            self.investment = None
        elif (not closing and tag in INVESTMENT_TRANSACTIONS) or \
                (closing and (tag == "INVTRANLIST" or tag == current.tag or tag in STATEMENT_ENDS)):
            raise self.error(f"this <{investment['type']}> investment transaction is not closed "
                             f"before <{'/' if closing else ''}{tag}>: the file is damaged; {_REDOWNLOAD}",
                             line=investment["line"])
        elif not closing and not self_closing:
            investment.setdefault(tag, value)

    def end_tag(self, tag: str) -> None:
        """`</tag>`: the end of a statement (or of what holds it), of its ledger balance or list, or of a SECINFO."""
        current = self.current
        if current is not None:
            if tag == current.tag or tag in STATEMENT_ENDS:
                self.add_statement(current)
                self.current = None
            elif tag == "LEDGERBAL":
                current.in_ledger_balance = False
            elif tag == "INVTRANLIST":
                current.in_transaction_list = False
        if tag == "SECINFO" and self.security is not None:
            self.add_security(self.security)
            self.security = None

    def start_tag(self, tag: str, self_closing: str, value: str, position: int) -> None:
        """`<tag>value`: a statement begins, a status, a security, an investment transaction, or a statement field."""
        current = self.current
        if tag in STATEMENT_TAGS:
            if current is not None:  # the previous statement was never closed: keep what it had
                self.add_statement(current)
            self.current = _StatementInProgress(tag)
        elif tag in ("CODE", "SEVERITY", "MESSAGE"):
            self.status(tag, value, self.line_of(position))
        elif tag == "SECINFO":
            self.security = {}
        elif self.security is not None and tag in ("UNIQUEID", "SECNAME", "TICKER"):
            self.security.setdefault(tag, value)
        elif current is not None:
            if tag in INVESTMENT_TRANSACTIONS and current.in_transaction_list and not self_closing:
                self.investment = {"type": tag, "line": self.line_of(position), "currency": current.currency}
            else:
                self.statement_field(current, tag, value)

    # ── the whole file ──

    def check_complete(self) -> None:
        """Nothing left open at the end: an investment transaction, a statement, the `<OFX>` element."""
        text = self.text
        if self.investment is not None:
            raise self.error(f"this <{self.investment['type']}> investment transaction is not closed before the "
                             f"end of the file: the file is cut short; {_REDOWNLOAD}", line=self.investment["line"])
        last_end = text.rfind("</OFX")
        if self.current is not None or last_end < 0 or not _OFX_END.match(text, last_end) \
                or text.find("<OFX", last_end) >= 0:
            raise self.error("the file ends before </OFX>: it is cut short; " + _REDOWNLOAD,
                             line=self.line_at(len(text.rstrip())))

    def warn_of_failed_accounts(self) -> None:
        """A bank error beside statements: one account failed while others came; say so, keep the rest."""
        for status in self.statuses:
            if status["CODE"].lstrip("0"):
                import logging  # only here: `psimport parse` should not pay for importing it
                said = " ".join(filter(None, (status.get("SEVERITY"), status.get("MESSAGE"))))
                logging.getLogger(__name__).warning(
                    "%s, line %s: the bank reported an error (code %s: %s); an account's statement may be "
                    "missing from this file", self.file, status["LINE"], status["CODE"], said)

    # ── statement level ──

    def statement_field(self, current: _StatementInProgress, tag: str, value: str) -> None:
        if tag == "CURDEF":
            current.currency = current.currency or (_text(value) or "").upper() or None
        elif tag == "ACCTID":
            current.account_id = current.account_id or _text(value)
        elif tag in ("BANKID", "BROKERID"):
            current.bank_id = current.bank_id or _text(value)
        elif tag == "ACCTTYPE":
            current.account_type = current.account_type or _text(value)
        elif tag in ("BANKTRANLIST", "INVTRANLIST"):
            current.in_transaction_list = tag == "INVTRANLIST"
        elif tag == "DTSTART":
            day = ofx_date(value)
            if day and (current.start is None or day < current.start):
                current.start = day
        elif tag == "DTEND":
            day = ofx_date(value)
            if day and (current.end is None or day > current.end):
                current.end = day
        elif tag == "LEDGERBAL":
            current.in_ledger_balance = True
        elif tag == "AVAILBAL":
            current.in_ledger_balance = False
        elif tag == "BALAMT" and current.in_ledger_balance and current.balance is None:
            current.balance = parse_ofx_amount(value)
        elif tag == "DTASOF" and current.in_ledger_balance and current.balance_date is None:
            current.balance_date = ofx_date(value)

    def add_statement(self, current: _StatementInProgress) -> None:
        account_type = STATEMENT_TAGS[current.tag] or current.account_type
        statement = Statement(file=self.file, format="ofx",
                              account=Account(id=current.account_id, bank_id=current.bank_id,
                                              type=account_type, currency=current.currency),
                              transactions=current.rows, start=current.start, end=current.end,
                              closing_balance=current.balance,
                              closing_date=current.balance_date if current.balance is not None else None)
        _tell_repeated_ids_apart(statement.transactions)
        self.statements.append(statement)

    def status(self, tag: str, value: str, line: int) -> None:
        if tag == "CODE":
            self.statuses.append({"CODE": (_text(value) or "0"), "LINE": line})
        elif self.statuses:
            self.statuses[-1].setdefault(tag, _text(value))

    def no_statement(self) -> InputError:
        for status in self.statuses:
            if status["CODE"].lstrip("0"):
                said = " ".join(filter(None, (status.get("SEVERITY"), status.get("MESSAGE"))))
                return self.error(f"the bank sent an error instead of a statement (code {status['CODE']}"
                                  f"{': ' + repr(said) if said else ''}); {_REDOWNLOAD} later, or ask the bank",
                                  line=status["LINE"])
        return self.error("this OFX file holds no bank, credit-card or investment statement; " + _REDOWNLOAD)

    def add_security(self, security: dict[str, str]) -> None:
        unique_id = _text(security.get("UNIQUEID"))
        name = _text(security.get("SECNAME")) or _text(security.get("TICKER"))
        if unique_id and name:
            self.securities[unique_id] = name

    # ── transactions ──

    def fields_of(self, body: str) -> dict[str, str]:
        """A transaction's elements by tag (the last one wins), through a known layout when one fits."""
        for layout in self.layouts:
            match = layout.fullmatch(body)
            if match:
                return match.groupdict()
        self.learn_layout(body)
        return dict(_FIELD.findall(body))

    def bank_transaction(self, fields: dict[str, str], body_start: int, line: int,
                         currency: str | None) -> Transaction:
        # The hot path (every STMTTRN of a 100k-row file): inlined helpers, a date cache, and the
        # common amount ("-12.34") straight to Decimal; anything unusual goes the careful way.
        get = fields.get
        raw_date = get("DTPOSTED")
        day = self.dates.get(raw_date[:8]) if raw_date else None
        if day is None:
            day = self.transaction_date(fields, body_start, line)
        raw_amount = get("TRNAMT")
        amount = None
        if raw_amount is not None and not raw_amount.strip(_SIMPLE_AMOUNT_CHARS):
            try:
                amount = Decimal(raw_amount)
            except ArithmeticError:
                pass
        if amount is None:
            amount = parse_ofx_amount(raw_amount)
            if amount is None:
                raise self.bad_amount(raw_amount, body_start, line, "TRNAMT")
        elif not amount:
            amount = amount.copy_abs()
        original = get("NAME")
        if original is not None:
            original = original.strip()
            if "&" in original:
                original = _unescape(original)
        memo = get("MEMO")
        if memo is not None:
            memo = memo.strip()
            if "&" in memo:
                memo = _unescape(memo)
            memo = memo or None
        if not original:
            original = _text(get("EXTDNAME")) or memo or ""
        payee = " ".join(original.split())
        fitid = get("FITID")
        if fitid is not None:
            fitid = fitid.strip()
            if "&" in fitid:
                fitid = _unescape(fitid)
            fitid = fitid or None
        cheque = get("CHECKNUM")
        if cheque is not None:
            cheque = _cheque_number(cheque)
        kind = get("TRNTYPE")
        if kind is not None:
            kind = kind.strip().upper() or None
        if not payee:  # nothing but the type: say that much, since PocketSmith needs a payee
            payee = f"Cheque {cheque}" if cheque else TRANSACTION_TYPES.get(kind, kind or "")
        if "CURRENCY" in fields:
            currency = (_text(get("CURSYM")) or currency or "").upper() or None
        balance = get("ACCTBAL")  # not OFX, but some banks add a running balance; a bad one is dropped
        if balance is not None:
            balance = parse_ofx_amount(balance)
        foreign = _original_currency(fields, amount) if "ORIGCURRENCY" in fields else None
        return _new_tuple(Transaction, (day, amount, payee, original, memo, fitid, cheque, currency, balance,
                                        self.file, line, kind, (), foreign))

    def learn_layout(self, body: str) -> None:
        """Remember this transaction's sequence of tags as a regex whose groupdict() is its fields.

        Banks write every transaction with the same few sequences of tags, and matching one of
        them is twice as fast as finding the tags one by one. A layout only matches a body made of
        exactly those tags, so its groupdict() equals dict(_FIELD.findall(body)); bodies with a
        repeated, odd or self-closing tag never get a layout and always take the general way.
        """
        if self.layouts_learned >= MAX_LAYOUTS:
            return
        self.layouts_learned += 1
        # `[^<]*+` is possessive: text runs to the next tag and never gives back, so no backtracking.
        parts = ["[^<]*+"]
        seen: set[str] = set()
        for closing, tag in _LAYOUT_TAG.findall(body):
            if closing:
                parts.append(f"</{re.escape(tag)}>[^<]*+")
            elif _GROUP_NAME.fullmatch(tag) and tag not in seen:
                seen.add(tag)
                parts.append(f"<{tag}>(?P<{tag}>[^<]*+)")
            else:
                return
        pattern = "".join(parts)
        self.layouts.insert(0, re.compile(pattern))
        self.lanes.insert(0, re.compile("[^<]*+(<STMTTRN>)" + pattern + "</STMTTRN>"))
        del self.layouts[RECENT_LAYOUTS:], self.lanes[RECENT_LAYOUTS:]

    def transaction_date(self, fields: dict, body_start: int, line: int) -> date:
        tag = "DTPOSTED"
        raw = (fields.get(tag) or "").strip()
        if not raw:
            tag = "DTUSER"
            raw = (fields.get(tag) or "").strip()
        if not raw:
            raise self.error("this transaction has no date (<DTPOSTED>): the bank's file is incomplete; "
                             + _REDOWNLOAD, line=line)
        day = ofx_date(raw)
        if day is None:
            raise self.error(f"impossible date {raw!r} in <{tag}> (OFX dates are YYYYMMDD...): the file is "
                             f"damaged; {_REDOWNLOAD}", line=self.field_line(body_start, tag, line))
        if tag == "DTPOSTED" and raw[:8].isdigit():
            self.dates[raw[:8]] = day
        return day

    def bad_amount(self, raw: str | None, body_start: int, line: int, tag: str) -> InputError:
        if raw is None or not raw.strip():
            return self.error(f"this transaction has no amount (<{tag}>): the bank's file is incomplete; "
                              + _REDOWNLOAD, line=line)
        return self.error(f"cannot read the amount {raw.strip()!r} in <{tag}>: expected a number like -12.34; "
                          f"the file is damaged or not from a bank; {_REDOWNLOAD}",
                          line=self.field_line(body_start, tag, line))

    def field_line(self, body_start: int, tag: str, line: int) -> int:
        """The line of `tag` in the transaction whose body starts at `body_start` (on `line`)."""
        end = self.text.find("</STMTTRN", body_start)
        where = self.text.find(f"<{tag}", body_start, len(self.text) if end < 0 else end)
        return line + self.text.count("\n", body_start, where) if where >= 0 else line

    def add_investment(self, current: _StatementInProgress, fields: dict) -> None:
        kind, line = fields["type"], fields["line"]
        get = fields.get
        raw_date = (get("DTTRADE") or get("DTSETTLE") or "").strip()
        if not raw_date:
            raise self.error(f"this <{kind}> investment transaction has no date (<DTTRADE>): the file is "
                             f"incomplete; {_REDOWNLOAD}", line=line)
        day = ofx_date(raw_date)
        if day is None:
            raise self.error(f"impossible date {raw_date!r} in <DTTRADE> of this <{kind}>: the file is damaged; "
                             + _REDOWNLOAD, line=line)
        units = _text(get("UNITS"))
        if kind in CASH_INVESTMENT_SIGNS:
            amount = parse_ofx_amount(get("TOTAL"))
            if amount is None:
                what = "has no cash amount (<TOTAL>)" if not _text(get("TOTAL")) else \
                    f"has an unreadable <TOTAL> {get('TOTAL').strip()!r}"
                raise self.error(f"this <{kind}> investment transaction {what}: the file is damaged; "
                                 + _REDOWNLOAD, line=line)
            sign = CASH_INVESTMENT_SIGNS[kind]
            if sign is not None and amount:
                amount = amount.copy_abs() if sign > 0 else -amount.copy_abs()
        else:
            amount = Decimal(0)
        memo = _text(get("MEMO"))
        if memo is None and units:
            price = _text(get("UNITPRICE"))
            memo = f"{units} units" + (f" at {price}" if price else "")
        currency = _text(get("CURSYM")) if "CURRENCY" in fields else None
        currency = currency or fields["currency"]
        txn = Transaction(day, amount, "", "", memo, _text(get("FITID")), None,
                          currency.upper() if currency else None, None, self.file, line, kind)
        current.rows.append(txn)
        self.investment_rows.append((current.rows, len(current.rows) - 1, fields))

    def name_investments(self) -> None:
        """Payees for investment rows, once the SECLIST (which follows the statements) is known."""
        for rows, index, fields in self.investment_rows:
            payee = _investment_payee(fields, self.securities)
            rows[index] = rows[index]._replace(payee=payee, original_payee=payee)


def _investment_payee(fields: dict, securities: dict[str, str]) -> str:
    kind = fields["type"]
    if kind == "INCOME":
        action = INCOME_TYPES.get((_text(fields.get("INCOMETYPE")) or "").upper(), "Income")
    elif kind == "TRANSFER":
        action = "Transfer out" if (_text(fields.get("TFERACTION")) or "").upper() == "OUT" else "Transfer in"
    else:
        action = "Buy" if kind.startswith("BUY") else "Sell" if kind.startswith("SELL") else INVESTMENT_ACTIONS[kind]
    security_id = _text(fields.get("UNIQUEID"))
    security = securities.get(security_id, security_id) if security_id else None
    return " ".join(f"{action} {security}".split()) if security else action


def _cheque_number(value: str) -> str | None:
    value = _text(value)
    if value and value.isdigit():
        value = value.lstrip("0")
    return value or None


def _tell_repeated_ids_apart(rows: list[Transaction]) -> None:
    """A FITID the bank reused for a different transaction gets -2, -3...; the same row twice keeps it."""
    ids = [t.external_id for t in rows if t.external_id]
    if len(set(ids)) == len(ids):
        return
    first_seen: dict[str, tuple] = {}
    repeats: dict[str, int] = {}
    for index, txn in enumerate(rows):
        fitid = txn.external_id
        if not fitid:
            continue
        content = (txn.date, txn.amount, txn.original_payee, txn.memo)
        if fitid not in first_seen:
            first_seen[fitid] = content
        elif first_seen[fitid] != content:
            repeats[fitid] = repeats.get(fitid, 1) + 1
            rows[index] = txn._replace(external_id=f"{fitid}-{repeats[fitid]}")
