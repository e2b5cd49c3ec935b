"""The MT940 parser: SWIFT MT940 statements and MT942 interim reports read into Statements.

What it reads, and the choices it makes where banks differ:

- Envelope: SWIFT blocks `{1:...}{2:...}{3:...}{4:` ... `-}{5:...}` are optional, as are bank header
  lines before `:20:` (`ABNANL2A` / `940`, ING's `0000 01INGBNL2AXXXX00001`, Rabobank's `:940:`) and the
  SOH/ETX control characters of a SWIFT transmission. A header that looks like a field tag but is not
  one (`:9401:`) is an error: the file is damaged or not MT940.
- Statements: every `:20:` starts one, and each becomes a Statement (a file of daily statements gives one
  per day, each with its own closing balance). `:25:` is the account (a trailing currency code, as in
  `NL34RABO0142623393 EUR`, is dropped; the part before a `/` is the bank code); `:60F:`/`:60M:` give the
  currency; the last `:62F:`/`:62M:` is the closing balance. An MT942 report (`:34F:`, `:13D:`, `:90D:`,
  `:90C:`) has no balances: its currency comes from `:34F:`.
- `:61:` lines: value date `YYMMDD`, optional entry date `MMDD`, mark `C`/`D`/`RC`/`RD` (reversals flip the
  sign: `RC` is money out), optional funds code letter, amount with decimal comma (leading zeros and
  `9,` allowed), transaction type (`N`/`F`/`S` + 3 characters, kept as the record's `type`), reference,
  `//` bank reference, and supplementary details on the next line (Rabobank writes them after a padded
  16-character reference on the same line). The record's line is the `:61:` line.
- The date is the entry (booking) date when the line has one, else the value date: the entry date is the
  day the bank booked the money on this account, which is what the statement's own balances, online
  banking and a bank feed show, and what the booking date of a camt statement is. Its year is the value
  date's, moved to the year before or after when that puts it nearer (a 31 Dec booking valued 2 Jan).
  Two-digit years are 20YY below 80, else 19YY. An impossible date (30 February) is an error.
- `:86:` details, possibly several per record and over several lines: German structured fields
  (`166?00posting text?20purpose?21...?32name?33name`, any separator character after the three-digit
  code), the slash style (`/TRTP/.../NAME/.../REMI/...`, Rabobank's `/CNTP/account/BIC/name/city/`), or
  free text. Payee = the counterparty name (`?32`+`?33`, `/NAME/`, `/CNTP/`, or Hungarian banks'
  `:NS:` fields 15+16), else the `:61:` supplementary details when they hold words, else the first
  line of free-text details (a leading account number dropped), the posting text `?00` of structured
  ones, or `/TRTP/`. Memo = the purpose text (`?20`..`?29`, `?60`..`?63`, the `SVWZ+` part if there
  is one; `/REMI/`) or the whole free text.
  Lines wrapped at the 65-character limit (27 for `?2x` fields) are joined without a space.
- `:86:` after the closing balance is about the statement, not the last record, and is not read. A `:25:`
  after a `:61:` cannot change the account mid-statement; it is read as that record's details (a bank
  bug seen in the wild, with a `?20` field under the wrong tag).
- External id: the bank reference after `//` when it is a real one (not `NONREF`) that no other record in
  the file shares; otherwise the common synthetic id.
- Encoding: UTF-8 when the bytes are valid UTF-8; otherwise Windows-1252 or DOS code page 852 (Central
  European banks, e.g. Raiffeisen Hungary), whichever reads more of the non-ASCII bytes as letters, with
  Windows-1252 winning ties.
"""

from __future__ import annotations

import codecs
import re
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from pathlib import PurePath
from typing import NamedTuple

from importer.errors import InputError
from importer.parsers.base import ParseOptions
from importer.payee import tidy
from importer.record import Account, Statement, Transaction

__all__ = ["Mt940Parser", "MT940_SUFFIXES"]

MT940_SUFFIXES = {".sta", ".mt940", ".swi", ".940", ".942"}
SWIFT_LINE_LENGTH = 65
STRUCTURED_FIELD_LENGTH = 27
TWO_DIGIT_YEAR_PIVOT = 80
NEAREST_ENTRY_DATE = timedelta(days=183)
MISSING_REFERENCES = {"NONREF", "NOTPROVIDED", "NONE", ""}
HEADER_TAGS = {"940", "941", "942", "950"}

_SNIFF_TAGS = re.compile(r"(?:^|\{4:)[\x01\s]*:(20|25|28C?|60[FM]|61|62[FM]|86):", re.MULTILINE)
_TAG = re.compile(r":(\d{2}[A-Z]?|NS|\d{3,5}[A-Z]?):")
_BLOCK_START = re.compile(r"\{[1-5]:")
_SWIFT_BLOCKS = re.compile(r"(?:\{[1-3]:(?:[^{}]|\{[^{}]*\})*\})*\{4:")
_TERMINATOR = re.compile(r"-(?:\}.*|[A-Z]{0,3})?")
_STATEMENT_LINE = re.compile(
    r"(?P<value>\d{6})(?P<entry>\d{4})?(?P<mark>RC|RD|EC|ED|C|D)(?P<funds>[A-Z])?"
    r"(?P<amount>\d+(?:,\d*)?)(?P<kind>[NSF][A-Z0-9 ]{3})(?P<rest>.*)")
_BALANCE = re.compile(r"(?P<mark>[CD])(?P<date>\d{6})(?P<currency>[A-Z]{3})(?P<amount>\d+(?:,\d*)?)")
_FLOOR_LIMIT = re.compile(r"(?P<currency>[A-Z]{3})")
# German structured details: a three-digit transaction code, then subfields `?00`, `?10`, `?20`...; banks
# use `?`, a few `>`. Requiring one of the usual first subfields keeps "100/12 monthly fee" free text.
_STRUCTURED = re.compile(r"\d{3}([?>^|])(?:00|10|20)")
_SLASH_KEYS = ("TRTP", "IBAN", "BIC", "NAME", "REMI", "ADDR", "ORDP", "BENM", "ISDT", "EREF", "MARF",
               "CSID", "RTRN", "PREF", "KREF", "CNTP", "ULTC", "ULTD", "PURP", "SVCL", "ULTB", "FX")
_SLASH_FIELD = re.compile(r"/(" + "|".join(_SLASH_KEYS) + r")/")
_SEPA_KEY = re.compile(r"\b(EREF|KREF|MREF|CRED|DEBT|SVWZ|ABWA|ABWE|IBAN|BIC)\+")
_REFERENCE_OVERFLOW = re.compile(r"(\S.{0,15}?)\s{2,}(\S.*)")
_LEADING_ACCOUNT = re.compile(r"^(?:[A-Z]{2}\d{2}[A-Z0-9]{10,30}|\d{7,})\s+")
_ACCOUNT_LIKE = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9 ]{10,34}|[\d ./-]+")
_LETTERS = re.compile(r"[^\W\d_]{2}")


class Mt940Parser:
    """SWIFT MT940 / MT942 (.sta, .mt940, .swi, .940, .txt)."""

    name = "mt940"

    def sniff(self, head: bytes, filename: str) -> float:
        """Sure when `:20:`, `:25:` and a `:60F:`/`:61:` tag start lines; the usual suffixes only hint."""
        text = head.decode("latin-1")
        tags = {match.group(1) for match in _SNIFF_TAGS.finditer(text)}
        has_suffix = PurePath(filename).suffix.lower() in MT940_SUFFIXES
        if {"20", "25"} <= tags and tags & {"60F", "60M", "61"}:
            return 0.95
        if {"20", "25"} <= tags:
            return 0.7
        if len(tags) >= 2:
            return 0.4 if has_suffix else 0.2
        return 0.1 if has_suffix else 0.0

    def parse(self, data: bytes, filename: str, options: ParseOptions = ParseOptions()) -> list[Statement]:
        return _Mt940Reader(filename).read(_decode(data, filename))


def _decode(data: bytes, filename: str) -> str:
    data = data.removeprefix(codecs.BOM_UTF8).rstrip(b"\x00")
    if b"\x00" in data:
        raise InputError("this is a binary file, not an MT940 statement", file=filename)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    candidates = []
    for preference, codec in enumerate(("cp1252", "cp852")):
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        letters = sum(1 for char in text if ord(char) > 127 and char.isalpha())
        candidates.append((-letters, preference, text))
    return min(candidates)[2]  # cp852 decodes every byte, so there is always one


class _Field(NamedTuple):
    tag: str
    lines: list[str]
    line: int


class _Pending(NamedTuple):
    """A `:61:` line and the details that follow it, read once its statement is complete."""

    field: _Field
    details: list[str]
    ns_lines: list[str]


class _Mt940Reader:
    def __init__(self, filename: str):
        self.filename = filename

    def read(self, text: str) -> list[Statement]:
        messages = self._messages(text)
        if not messages:
            raise InputError("not an MT940 statement: no ':20:' (or other MT940 field) found; export the "
                             "statement again as MT940", file=self.filename)
        built = [self._statement(fields) for fields in messages]
        references = Counter(ref for _, rows in built for _, ref in rows if ref)
        statements = []
        for statement, rows in built:
            statement.transactions = [txn._replace(external_id=ref if ref and references[ref] == 1 else None)
                                      for txn, ref in rows]
            statements.append(statement)
        return statements

    def _messages(self, text: str) -> list[list[_Field]]:
        """Split the file into statements, each a list of fields with their continuation lines."""
        messages: list[list[_Field]] = []
        current: list[_Field] | None = None
        text = text.replace("\x01", "").replace("\x03", "")
        for number, line in enumerate(re.split(r"\r\n|\r|\n", text), start=1):
            if _BLOCK_START.match(line):
                blocks = _SWIFT_BLOCKS.match(line)
                if blocks is None:
                    current = None  # block 1-3 headers without {4:, or a {5:...} trailer
                    continue
                line = line[blocks.end():].lstrip()
                if not line.strip():
                    continue
            tag = _TAG.match(line)
            if tag is None:
                if current is not None and _TERMINATOR.fullmatch(line.strip()):
                    current = None
                elif current is not None:
                    # Trailing spaces are kept: at a hard wrap they are the space between two words.
                    current[-1].lines.append(line)
                continue  # outside a message: a bank header line
            name, value = tag.group(1), line[tag.end():]
            if name[:3].isdigit() and len(name) > 2 and name[2].isdigit():
                if name not in HEADER_TAGS or value.strip():
                    raise InputError(f"unknown field tag ':{name}:'; MT940 fields look like :20:, :25:, "
                                     ":60F:, :61:, :86: (is the file damaged?)", file=self.filename, line=number)
                current = None
                continue
            if name == "20" or current is None:
                current = []
                messages.append(current)
            current.append(_Field(name, [value], number))
        return messages

    def _statement(self, fields: list[_Field]) -> tuple[Statement, list[tuple[Transaction, str | None]]]:
        account = Account()
        pending: list[_Pending] = []
        open_details: _Pending | None = None
        closing = opening_date = closing_date = None
        report = False
        for field in fields:
            tag, first = field.tag, field.lines[0].strip()
            if tag == "61":
                open_details = _Pending(field, [], [])
                pending.append(open_details)
                continue
            if tag == "86" and open_details is not None:
                open_details.details.extend(field.lines)
                continue
            if tag == "NS" and open_details is not None:
                open_details.ns_lines.extend(field.lines)
                continue
            if tag == "25" and account.id is not None:
                if open_details is not None and first != account.id:
                    open_details.details.extend(field.lines)
                continue
            open_details = None
            if tag == "25":
                account.id = first
            elif tag in ("60F", "60M"):
                _, opening_date, account.currency = self._balance(field)
            elif tag in ("62F", "62M"):
                closing, closing_date, currency = self._balance(field)
                account.currency = account.currency or currency
            elif tag == "34F":
                report = True
                floor = _FLOOR_LIMIT.match(first)
                if floor and account.currency is None:
                    account.currency = floor.group("currency")
            elif tag in ("13D", "13", "90D", "90C"):
                report = True
        self._tidy_account(account)
        rows = [self._transaction(item, account.currency) for item in pending]
        statement = Statement(file=self.filename, format="mt942" if report and closing is None else "mt940",
                              account=account, closing_balance=closing,
                              closing_date=closing_date if closing is not None else None)
        if not rows:
            statement.start, statement.end = opening_date, closing_date
        return statement, rows

    @staticmethod
    def _tidy_account(account: Account) -> None:
        if not account.id:
            account.id = None
            return
        identifier = account.id
        if account.currency and identifier.upper().endswith(account.currency) and len(identifier) > 3:
            identifier = identifier[:-3].rstrip(" /")
        if "/" in identifier:
            account.bank_id = identifier.split("/", 1)[0] or None
        account.id = identifier or account.id

    def _balance(self, field: _Field) -> tuple[Decimal, date, str]:
        text = field.lines[0].strip()
        match = _BALANCE.fullmatch(text)
        if match is None:
            raise InputError(f"cannot read the :{field.tag}: balance {text!r}; it should look like "
                             "C240131EUR1234,56", file=self.filename, line=field.line)
        amount = _amount(match.group("amount"))
        day = self._date(match.group("date"), field.line, f":{field.tag}: balance")
        return (-amount if match.group("mark") == "D" and amount else amount), day, match.group("currency")

    def _transaction(self, item: _Pending, currency: str | None) -> tuple[Transaction, str | None]:
        field = item.field
        text = field.lines[0].strip()
        match = _STATEMENT_LINE.fullmatch(text)
        if match is None:
            raise InputError(f"cannot read the :61: statement line {text!r}; expected value date YYMMDD, "
                             "optional entry date MMDD, C/D/RC/RD, an amount like 12,34 and a type like NTRF",
                             file=self.filename, line=field.line)
        value_date = self._date(match.group("value"), field.line, ":61: value date")
        day = value_date
        if match.group("entry"):
            day = self._entry_date(match.group("entry"), value_date, field.line)
        amount = _amount(match.group("amount"))
        if match.group("mark") in ("D", "RC", "ED") and amount:
            amount = -amount
        reference, _, bank_reference = match.group("rest").partition("//")
        supplementary = [line.strip() for line in field.lines[1:] if line.strip()]
        overflow = _REFERENCE_OVERFLOW.fullmatch(reference) if not bank_reference and len(reference) > 16 else None
        if overflow:
            # Rabobank pads the 16-character reference with spaces and writes the counterparty after it.
            reference = overflow.group(1)
            supplementary.insert(0, overflow.group(2))
        reference, bank_reference = reference.strip(), bank_reference.strip()
        supplement = tidy(" ".join(supplementary))
        details = _Details.read(item.details, item.ns_lines)
        payee = details.name or (supplement if _is_words(supplement) else "") or details.fallback_name
        kind = match.group("kind")
        cheque = reference if kind[1:] == "CHK" and any(c.isdigit() for c in reference) else None
        transaction = Transaction(
            date=day, amount=amount, payee=tidy(payee), original_payee=payee.strip(), memo=details.memo or None,
            cheque_number=cheque, currency=currency, file=self.filename, line=field.line, type=kind.strip())
        external = bank_reference if bank_reference.upper() not in MISSING_REFERENCES else None
        return transaction, external

    def _date(self, text: str, line: int, what: str) -> date:
        year, month, day = int(text[:2]), int(text[2:4]), int(text[4:6])
        year += 2000 if year < TWO_DIGIT_YEAR_PIVOT else 1900
        try:
            return date(year, month, day)
        except ValueError:
            raise InputError(f"impossible {what} {text!r} ({year}-{month:02d}-{day:02d})",
                             file=self.filename, line=line) from None

    def _entry_date(self, text: str, value_date: date, line: int) -> date:
        month, day = int(text[:2]), int(text[2:])
        nearby = []
        for year in (value_date.year - 1, value_date.year, value_date.year + 1):
            try:
                candidate = date(year, month, day)
            except ValueError:
                continue
            if abs(candidate - value_date) <= NEAREST_ENTRY_DATE:
                nearby.append(candidate)
        if not nearby:
            raise InputError(f"impossible :61: entry date {text!r} (month {month}, day {day}) near the value "
                             f"date {value_date.isoformat()}", file=self.filename, line=line)
        return min(nearby, key=lambda candidate: abs(candidate - value_date))


class _Details(NamedTuple):
    """What a record's `:86:` (and `:NS:`) fields say: counterparty, purpose, and a last-resort name."""

    name: str
    memo: str
    fallback_name: str

    @classmethod
    def read(cls, lines: list[str], ns_lines: list[str]) -> "_Details":
        ns_name, ns_memo = _ns_fields(ns_lines)
        if not lines or not "".join(lines).strip():
            return cls(ns_name, ns_memo, "")
        lines = [lines[0].lstrip(), *lines[1:]]
        joined = "".join(lines)
        structured = _STRUCTURED.match(joined)
        if structured:
            details = cls._structured(joined, structured.group(1), ns_name, ns_memo)
            if details.memo or details.name:
                return details
        text = _join_wrapped(lines, SWIFT_LINE_LENGTH)
        if _SLASH_FIELD.match(text.lstrip()):
            return cls._slashed(text.strip(), ns_name, ns_memo)
        first_line = next((line.strip() for line in lines if line.strip()), "")
        first_line = _LEADING_ACCOUNT.sub("", first_line, count=1)
        return cls(ns_name, tidy(text) or ns_memo, first_line)

    @classmethod
    def _structured(cls, joined: str, separator: str, ns_name: str, ns_memo: str) -> "_Details":
        parts = re.split(re.escape(separator) + r"(\d\d)", joined[3:])
        fields: dict[int, list[str]] = {}
        for code, value in zip(parts[1::2], parts[2::2]):
            fields.setdefault(int(code), []).append(value)

        def collect(codes) -> str:
            return tidy(_join_wrapped([v for c in codes for v in fields.get(c, [])], STRUCTURED_FIELD_LENGTH))

        purpose = collect([*range(20, 30), *range(60, 64)])
        if "SVWZ+" in purpose:
            purpose = _sepa_purpose(purpose)
        posting_text = collect([0])
        return cls(collect([32, 33]) or ns_name, purpose or posting_text or ns_memo, posting_text or purpose)

    @classmethod
    def _slashed(cls, text: str, ns_name: str, ns_memo: str) -> "_Details":
        pieces = _SLASH_FIELD.split(text)
        values: dict[str, str] = {}
        for key, value in zip(pieces[1::2], pieces[2::2]):
            values.setdefault(key, value.strip())
        name = values.get("NAME", "")
        if not name and values.get("CNTP"):
            counterparty = values["CNTP"].split("/")
            name = counterparty[2] if len(counterparty) > 2 else ""
        remittance = values.get("REMI", "")
        remittance = re.sub(r"^(?:USTD|STRD)//?", "", remittance).strip("/ ")
        return cls(tidy(name) or ns_name, tidy(remittance) or tidy(text), values.get("TRTP", ""))


def _ns_fields(lines: list[str]) -> tuple[str, str]:
    """Hungarian banks' `:NS:` lines `NNtext`: 15 and 16 are the counterparty, 09 the narrative."""
    codes: dict[str, list[str]] = {}
    for line in lines:
        if len(line) >= 2 and line[:2].isdigit():
            codes.setdefault(line[:2], []).append(line[2:])
    return tidy("".join(codes.get("15", []) + codes.get("16", []))), tidy(" ".join(codes.get("09", [])))


def _join_wrapped(lines: list[str], width: int) -> str:
    """Join lines, without a space after one that reached `width` (a hard wrap mid-word)."""
    out = ""
    for index, line in enumerate(lines):
        if index and len(lines[index - 1]) < width:
            out += " "
        out += line
    return out


def _sepa_purpose(purpose: str) -> str:
    """The `SVWZ+` (purpose) part of German SEPA details `EREF+... SVWZ+... IBAN+...`."""
    start = purpose.index("SVWZ+") + len("SVWZ+")
    following = _SEPA_KEY.search(purpose, start)
    return purpose[start:following.start() if following else None].strip()


def _is_words(text: str) -> bool:
    return bool(text) and _LETTERS.search(text) is not None and not _ACCOUNT_LIKE.fullmatch(text)


def _amount(text: str) -> Decimal:
    whole, _, fraction = text.partition(",")
    return Decimal(f"{whole}.{fraction}" if fraction else whole)
