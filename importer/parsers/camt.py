"""The CAMT parser: ISO 20022 bank-to-customer cash reports (camt.052, camt.053, camt.054) read into Statements.

What it reads, and the choices it makes:

- The document: `Document` in a `urn:iso:std:iso:20022:tech:xsd:camt.052|053|054.*` namespace (any
  version; elements are matched on their local names, so prefixes and versions do not matter). A
  `Document` in another namespace, or a camt message that is not a statement, is an error; so is a
  message with a group header and no statement in it. The XML encoding declaration is honoured
  (UTF-8, ISO-8859-1, windows-1252...). A DOCTYPE is refused: banks never send one, and it is how
  entity-expansion attacks arrive.
- One Statement per `Stmt` (053), `Rpt` (052) or `Ntfctn` (054): account = `Acct/Id/IBAN`, else
  `Acct/Id/Othr/Id`; bank = the servicer's BIC; currency = `Acct/Ccy`, else the balances' or entries'
  `Ccy`; closing balance = the `Bal` whose type is `CLBD`; period = `FrToDt`, else the entries' dates.
- Each `Ntry` is a record: amount signed by `CdtDbtInd` (`DBIT` negative; a reversal, `RvslInd`, is
  already reported with the opposite indicator, so it is not flipped again), kept exactly as written
  (five decimals stay five); date = `BookgDt` (`Dt`, or the date part of `DtTm` as written, never
  shifted to another zone), else `ValDt`; payee = the counterparty (`Cdtr` for a debit, `Dbtr` for a
  credit, also under `Pty` as in version 8), else `AddtlNtryInf` (also when a merged batch names
  several counterparties), `AddtlTxInf` or the remittance text, so that no record lacks a payee;
  memo = the `RmtInf/Ustrd` lines (or the structured reference), `AddtlTxInf` and `AddtlNtryInf`;
  type = the `BkTxCd` domain/family/sub-family codes (`PMNT/RCDT/ESCT`), else the proprietary code,
  else `credit` / `debit`; cheque number = `Refs/ChqNb`. Entries of every status (`BOOK`, `PDNG`,
  `INFO`) are read, as the file gives them. An `AmtDtls/InstdAmt` in another currency (a payment
  abroad) is kept as the row's `foreign`, with `CcyXchg/XchgRate` as its rate.
- Batches: an entry with several `TxDtls` becomes one record per `TxDtls` only when every one of them
  carries its own amount (`Amt`, or `AmtDtls/TxAmt|InstdAmt/Amt`) in the entry's currency and those
  amounts add up to the entry's amount. Otherwise the entry stays one record with the details merged:
  that is the case of a notification whose `TxDtls` only add remittance text to one booking (genkgo's
  camt.054: three `TxDtls`, no amounts, one record), and splitting it would invent money.
- External id: the first of `AcctSvcrRef` (the entry's, for a whole entry), the transaction's
  `Refs/AcctSvcrRef` and its `Refs/EndToEndId` (not `NOTPROVIDED`) that no other record in the file
  shares; records without one get the common synthetic id.
- Line numbers are those of the `Ntry` start tag (of the `TxDtls` for a record split from a batch).
"""

from __future__ import annotations

import codecs
import re
from collections import Counter
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import NamedTuple
from xml.etree import ElementTree

from importer.errors import InputError
from importer.parsers.base import ParseOptions
from importer.payee import tidy
from importer.record import Account, Foreign, Statement, Transaction

__all__ = ["CamtParser", "CAMT_NAMESPACE_PREFIX"]

CAMT_NAMESPACE_PREFIX = "urn:iso:std:iso:20022:tech:xsd:camt."
# camt message number → (message element, statement element)
STATEMENT_MESSAGES = {
    "052": ("BkToCstmrAcctRpt", "Rpt"),
    "053": ("BkToCstmrStmt", "Stmt"),
    "054": ("BkToCstmrDbtCdtNtfctn", "Ntfctn"),
}
MESSAGE_NUMBERS = {message: number for number, (message, _) in STATEMENT_MESSAGES.items()}

_AMOUNT = re.compile(r"\d+(?:\.\d+)?", re.ASCII)
_DATE_PREFIX = re.compile(r"(\d{4})-(\d{2})-(\d{2})", re.ASCII)
_NAMESPACE_NUMBER = re.compile(r"camt\.(\d{3})\b")
MISSING_REFERENCES = {"NOTPROVIDED", "NONREF", "NONE"}
MEMO_SEPARATOR = "; "
_LINED_ELEMENTS = frozenset({"Ntry", "TxDtls"})


class CamtParser:
    """ISO 20022 camt.052 / camt.053 / camt.054 XML."""

    name = "camt"

    def sniff(self, head: bytes, filename: str) -> float:
        """Sure on the camt namespace; a `Document` holding a `BkToCstmr...` message is claimed too, so
        that one in an unknown namespace gets this parser's clear error rather than "unknown format"."""
        if CAMT_NAMESPACE_PREFIX.encode() + b"05" in head:
            return 0.95
        if b"<Document" in head and b"BkToCstmr" in head:
            return 0.8
        return 0.0

    def parse(self, data: bytes, filename: str, options: ParseOptions = ParseOptions()) -> list[Statement]:
        return _CamtReader(filename).read(data)


class _Row(NamedTuple):
    """A record before external ids are settled across the whole file."""

    statement: int
    transaction: Transaction
    references: tuple[str, ...]


class _CamtReader:
    """Streams the XML through expat into small ElementTree subtrees, one entry at a time.

    expat rather than `ElementTree.iterparse` because only expat tells the line of each element; each
    `Ntry` is turned into records as soon as it closes and then dropped, so memory stays flat however
    long the statement is.
    """

    def __init__(self, filename: str):
        self.filename = filename
        self.builder = ElementTree.TreeBuilder()
        self.stack: list[ElementTree.Element] = []
        self.lines: dict[ElementTree.Element, int] = {}
        self.line_offset = 0
        self.message_number: str | None = None
        self.statement_element: str | None = None
        self.statements: list[Statement] = []
        self.rows: list[_Row] = []
        self.expat = None

    def read(self, data: bytes) -> list[Statement]:
        from xml.parsers import expat

        data = self._trim(data)
        if not data:
            raise InputError("the file is empty; download the statement again", file=self.filename)
        self.expat = parser = expat.ParserCreate(namespace_separator="}")
        parser.buffer_text = True
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        parser.CharacterDataHandler = self.builder.data
        parser.StartDoctypeDeclHandler = self._refuse_doctype
        try:
            parser.Parse(data, True)
        except expat.ExpatError as exc:
            message = expat.errors.messages[exc.code]
            raise InputError(f"this is not well-formed XML ({message}, column {exc.offset + 1}); "
                             "download the statement again", file=self.filename,
                             line=exc.lineno + self.line_offset) from None
        except (LookupError, UnicodeError) as exc:
            raise InputError(f"cannot decode the XML in the encoding it declares ({exc})",
                             file=self.filename) from None
        if self.message_number is None:
            raise InputError("this XML is not a camt statement: it holds no bank-to-customer message",
                             file=self.filename)
        if not self.statements:
            message, statement = STATEMENT_MESSAGES[self.message_number]
            raise InputError(f"the camt.{self.message_number} document has a group header but no statement "
                             f"(no <{statement}> in <{message}>); download the statement again",
                             file=self.filename)
        self._settle_external_ids()
        return self.statements

    def _trim(self, data: bytes) -> bytes:
        """Drop trailing NULs and whitespace before the XML declaration, which expat rejects."""
        data = data.rstrip(b"\x00")
        bom = codecs.BOM_UTF8 if data.startswith(codecs.BOM_UTF8) else b""
        body = data[len(bom):]
        stripped = body.lstrip(b" \t\r\n")
        if len(stripped) != len(body):
            removed = body[:len(body) - len(stripped)]
            self.line_offset = removed.count(b"\n") or removed.count(b"\r")
        return bom + stripped if stripped else b""

    def _line(self) -> int:
        return self.expat.CurrentLineNumber + self.line_offset

    def _refuse_doctype(self, *args) -> None:
        raise InputError("the XML declares a DOCTYPE; bank statements never do, and psimport refuses them "
                         "(entity expansion)", file=self.filename, line=self._line())

    # -- the element stream ------------------------------------------------------------------

    def _start(self, name: str, attributes: dict[str, str]) -> None:
        local = name[name.find("}") + 1:]
        stack = self.stack
        if len(stack) == 0:
            self._check_document(name[:max(name.find("}"), 0)], local)
        elif len(stack) == 1:
            self._check_message(local)
        if attributes:
            attributes = {key[key.find("}") + 1:]: value for key, value in attributes.items()}
        element = self.builder.start(local, attributes)
        stack.append(element)
        if local in _LINED_ELEMENTS or local == self.statement_element:
            self.lines[element] = self.expat.CurrentLineNumber + self.line_offset

    def _end(self, name: str) -> None:
        element = self.builder.end(name[name.find("}") + 1:])
        stack = self.stack
        stack.pop()
        if element.tag == "Ntry":
            if len(stack) < 3 or stack[2].tag != self.statement_element:
                raise InputError("an entry (<Ntry>) outside any statement", file=self.filename,
                                 line=self.lines.get(element))
            self._read_entry(element)
            stack[-1].remove(element)
        elif len(stack) == 2:
            if element.tag == self.statement_element:
                self._read_statement(element)
            # Statements are read by now, the group header is not needed: drop both to keep memory flat.
            stack[-1].remove(element)

    def _check_document(self, namespace: str, local: str) -> None:
        if local != "Document":
            raise InputError(f"this XML is not a camt statement: its root element is <{local}>, not "
                             "<Document>", file=self.filename, line=self._line())
        if not namespace:
            return  # an unqualified Document: the message element decides
        number = _NAMESPACE_NUMBER.search(namespace)
        if not namespace.startswith(CAMT_NAMESPACE_PREFIX) or number is None:
            raise InputError(f"unsupported XML namespace {namespace!r}: psimport reads ISO 20022 camt.052, "
                             "camt.053 and camt.054 statements", file=self.filename, line=self._line())
        if number.group(1) not in STATEMENT_MESSAGES:
            raise InputError(f"this is a camt.{number.group(1)} message, not a statement; export a "
                             "camt.053 (or camt.052 / camt.054) file instead", file=self.filename,
                             line=self._line())
        self.message_number = number.group(1)

    def _check_message(self, local: str) -> None:
        number = MESSAGE_NUMBERS.get(local)
        if number is None or (self.message_number and number != self.message_number):
            expected = STATEMENT_MESSAGES[self.message_number][0] if self.message_number else \
                " or ".join(f"<{m}>" for m, _ in STATEMENT_MESSAGES.values())
            raise InputError(f"unexpected <{local}> in the camt document; expected {expected}",
                             file=self.filename, line=self._line())
        self.message_number = number
        self.statement_element = STATEMENT_MESSAGES[number][1]

    # -- statements and entries ---------------------------------------------------------------

    def _read_statement(self, element: ElementTree.Element) -> None:
        line = self.lines.pop(element, None)
        account = Account(
            id=_text(element, "Acct/Id/IBAN") or _text(element, "Acct/Id/Othr/Id"),
            bank_id=_text(element, "Acct/Svcr/FinInstnId/BIC") or _text(element, "Acct/Svcr/FinInstnId/BICFI"),
            type=_text(element, "Acct/Tp/Cd") or _text(element, "Acct/Tp/Prtry"),
            currency=_text(element, "Acct/Ccy"),
        )
        closing = closing_date = None
        for balance in element.iterfind("Bal"):
            amount_element = _find(balance, "Amt")
            if account.currency is None and amount_element is not None:
                account.currency = amount_element.get("Ccy")
            if _text(balance, "Tp/CdOrPrtry/Cd") == "CLBD" and amount_element is not None:
                closing = self._signed(amount_element, _text(balance, "CdtDbtInd"), line, "closing balance")
                as_of = _text(balance, "Dt/Dt") or _text(balance, "Dt/DtTm")
                closing_date = self._date(as_of, line) if as_of else None
        index = len(self.statements)
        transactions = [row.transaction for row in self.rows if row.statement == index]
        if account.currency is None and transactions:
            account.currency = transactions[0].currency
        start = _text(element, "FrToDt/FrDtTm") or _text(element, "FrToDt/FrDt")
        end = _text(element, "FrToDt/ToDtTm") or _text(element, "FrToDt/ToDt")
        self.statements.append(Statement(
            file=self.filename, format=f"camt.{self.message_number}", account=account,
            transactions=transactions,
            start=self._date(start, line) if start else None,
            end=self._date(end, line) if end else None,
            closing_balance=closing, closing_date=closing_date,
        ))

    def _read_entry(self, entry: ElementTree.Element) -> None:
        line = self.lines.pop(entry, None)
        details = _find_all(entry, "NtryDtls/TxDtls")
        detail_lines = [self.lines.pop(detail, line) for detail in details]
        index = len(self.statements)
        amount_element = _find(entry, "Amt")
        if amount_element is None:
            raise InputError("the entry (<Ntry>) has no amount (<Amt>)", file=self.filename, line=line)
        indicator = _text(entry, "CdtDbtInd")
        amount = self._signed(amount_element, indicator, line, "entry")
        currency = amount_element.get("Ccy")
        day = self._entry_date(entry, line)
        entry_info = _text(entry, "AddtlNtryInf")
        parts = self._split_amounts(details, amount, currency, indicator, detail_lines)
        if parts is None:
            self.rows.append(self._record(index, entry, details, amount, currency, day, entry_info, line,
                                          indicator, whole_entry=True))
            return
        for detail, part_amount, part_line in zip(details, parts, detail_lines):
            part_indicator = _text(detail, "CdtDbtInd") or indicator
            self.rows.append(self._record(index, entry, [detail], part_amount, currency, day, entry_info,
                                          part_line, part_indicator, whole_entry=False))

    def _split_amounts(self, details, amount: Decimal, currency: str | None, indicator: str | None,
                       detail_lines: list[int]) -> list[Decimal] | None:
        """Each TxDtls's own signed amount when all have one and they add up to the entry; else None."""
        if len(details) < 2:
            return None
        amounts = []
        for detail, detail_line in zip(details, detail_lines):
            amount_element = _first(detail, "Amt", "AmtDtls/TxAmt/Amt", "AmtDtls/InstdAmt/Amt")
            if amount_element is None or amount_element.get("Ccy", currency) != currency:
                return None
            own_indicator = _text(detail, "CdtDbtInd") or indicator
            amounts.append(self._signed(amount_element, own_indicator, detail_line, "transaction"))
        return amounts if sum(amounts) == amount else None

    def _record(self, index: int, entry, details: list, amount: Decimal, currency: str | None, day: date,
                entry_info: str | None, line: int | None, indicator: str | None, whole_entry: bool) -> _Row:
        counterparty = "Cdtr" if indicator == "DBIT" else "Dbtr"
        names = _unique(name for detail in details for name in (
            _text(detail, f"RltdPties/{counterparty}/Nm"), _text(detail, f"RltdPties/{counterparty}/Pty/Nm"),
            _text(detail, f"RltdPties/Ultmt{counterparty}/Nm"),
            _text(detail, f"RltdPties/Ultmt{counterparty}/Pty/Nm")) if name)
        remittance = _unique(text for detail in details for text in _remittance(detail))
        transaction_info = _unique(_text(detail, "AddtlTxInf") for detail in details)
        if len(names) == 1 or (names and not entry_info):
            payee = ", ".join(names)
        else:
            payee = entry_info or (transaction_info[0] if transaction_info else "") or \
                (remittance[0] if remittance else "")
        memo_parts = _unique([*remittance, *transaction_info, entry_info])
        memo = MEMO_SEPARATOR.join(memo_parts) or None
        # A split part's own code first; a whole entry's code is the entry's, its one TxDtls's if it has none.
        code_sources = [details[0], entry] if not whole_entry else [entry, *details[:len(details) == 1]]
        code = next(filter(None, map(_bank_transaction_code, code_sources)), None)
        cheques = _unique(_text(detail, "Refs/ChqNb") for detail in details)
        references = [_text(entry, "AcctSvcrRef")] if whole_entry else []
        for detail in details:
            references += [_text(detail, "Refs/AcctSvcrRef"), _text(detail, "Refs/EndToEndId")]
        references = tuple(_unique(r for r in references if r and r.upper() not in MISSING_REFERENCES))
        transaction = Transaction(
            date=day, amount=amount, payee=tidy(payee), original_payee=payee.strip(), memo=memo,
            cheque_number=cheques[0] if len(cheques) == 1 else None, currency=currency, file=self.filename,
            line=line, type=code or ("debit" if amount < 0 else "credit"),
            foreign=_instructed_amount(details, currency, amount < 0))
        return _Row(index, transaction, references)

    def _entry_date(self, entry, line: int | None) -> date:
        for path in ("BookgDt/Dt", "BookgDt/DtTm", "ValDt/Dt", "ValDt/DtTm"):
            text = _text(entry, path)
            if text:
                return self._date(text, line)
        raise InputError("the entry has neither a booking date (<BookgDt>) nor a value date (<ValDt>)",
                         file=self.filename, line=line)

    def _date(self, text: str, line: int | None) -> date:
        # The date part exactly as written: `2017-04-01+02:00` and `2014-12-31T23:30:00-05:00` are the
        # days the bank meant, which converting to another zone would change.
        match = _DATE_PREFIX.match(text)
        if match is None:
            raise InputError(f"cannot read the date {text!r}; camt dates look like 2024-01-31",
                             file=self.filename, line=line)
        try:
            return date(*map(int, match.groups()))
        except ValueError:
            raise InputError(f"impossible date {text!r}", file=self.filename, line=line) from None

    def _signed(self, amount_element, indicator: str | None, line: int | None, what: str) -> Decimal:
        text = (amount_element.text or "").strip()
        if not _AMOUNT.fullmatch(text):
            raise InputError(f"cannot read the {what} amount {text!r}; camt amounts look like 1234.56",
                             file=self.filename, line=line)
        if indicator not in ("CRDT", "DBIT"):
            raise InputError(f"the {what} has no credit/debit indicator (<CdtDbtInd> is "
                             f"{indicator!r}, expected CRDT or DBIT)", file=self.filename, line=line)
        amount = Decimal(text)
        return -amount if indicator == "DBIT" and amount else amount

    def _settle_external_ids(self) -> None:
        """Give each record the first of its bank references that no other record in the file shares."""
        holders = Counter(reference for row in self.rows for reference in set(row.references))
        by_statement: dict[int, list[Transaction]] = {}
        for row in self.rows:
            reference = next((r for r in row.references if holders[r] == 1), None)
            by_statement.setdefault(row.statement, []).append(
                row.transaction._replace(external_id=reference))
        for index, statement in enumerate(self.statements):
            statement.transactions = by_statement.get(index, [])


def _find(element, path: str):
    # Element.find with a plain tag runs in C; a path with slashes goes through the Python ElementPath
    # machinery and made this parser three times slower.
    for step in _steps(path):
        element = element.find(step)
        if element is None:
            return None
    return element


def _find_all(element, path: str) -> list:
    found = [element]
    for step in _steps(path):
        found = [child for parent in found for child in parent.findall(step)]
    return found


@lru_cache(maxsize=None)
def _steps(path: str) -> tuple[str, ...]:
    return tuple(path.split("/"))


def _text(element, path: str) -> str | None:
    found = _find(element, path)
    if found is None or found.text is None:
        return None
    return found.text.strip() or None


def _instructed_amount(details: list, currency: str | None, money_out: bool) -> Foreign | None:
    """`AmtDtls/InstdAmt` in another currency than the entry's: what was paid abroad, with `CcyXchg/XchgRate`
    (the instructed amount's, else the transaction amount's) as the rate the bank gives."""
    if len(details) != 1:
        return None
    amount_element = _find(details[0], "AmtDtls/InstdAmt/Amt")
    if amount_element is None or amount_element.get("Ccy") in (None, "", "XXX", currency):
        return None         # XXX is ISO 4217's "no currency": some banks fill the field with it
    try:
        original = Decimal((amount_element.text or "").strip())
    except ArithmeticError:
        return None
    rate_text = _text(details[0], "AmtDtls/InstdAmt/CcyXchg/XchgRate") or \
        _text(details[0], "AmtDtls/TxAmt/CcyXchg/XchgRate")
    try:
        rate = Decimal(rate_text) if rate_text else None
    except ArithmeticError:
        rate = None
    return Foreign(-original if money_out else original, amount_element.get("Ccy").upper(), rate)


def _first(element, *paths: str):
    for path in paths:
        found = _find(element, path)
        if found is not None:
            return found
    return None


def _unique(values) -> list:
    """The non-empty values in first-seen order, each once."""
    seen: dict = {}
    for value in values:
        if value:
            seen.setdefault(value, None)
    return list(seen)


def _remittance(detail) -> list[str]:
    """The payment's own words: the unstructured lines, else the structured reference and its text."""
    unstructured = [text for text in (u.text.strip() for u in _find_all(detail, "RmtInf/Ustrd") if u.text)
                    if text]
    if unstructured:
        return [" ".join(unstructured)]
    structured = []
    for block in _find_all(detail, "RmtInf/Strd"):
        structured += [_text(block, "CdtrRefInf/Ref"), _text(block, "AddtlRmtInf")]
    return [text for text in structured if text]


def _bank_transaction_code(element) -> str | None:
    domain = _text(element, "BkTxCd/Domn/Cd")
    if domain:
        codes = [domain, _text(element, "BkTxCd/Domn/Fmly/Cd"), _text(element, "BkTxCd/Domn/Fmly/SubFmlyCd")]
        return "/".join(code for code in codes if code)
    return _text(element, "BkTxCd/Prtry/Cd")
