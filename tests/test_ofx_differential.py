"""ofxparse, the reference reader, against our OFX parser on every corpus file: they agree where ofxparse is right."""

from __future__ import annotations

import re
import warnings
from decimal import Decimal
from pathlib import Path

import ofxparse
import pytest

from importer.errors import InputError
from importer.parsers.ofx import OfxParser

# Files where ofxparse fails or reads something other than what the file says, and why. The test
# below checks each of these really does go wrong in ofxparse, so the list cannot go stale.
OFXPARSE_WRONG = {
    "beancount-import__checking-emptyledgerbal.ofx":
        "raises 'Empty ledger balance' on a valid file whose LEDGERBAL has empty <BALAMT/> (3 transactions)",
    "ofxparse__empty_balance.ofx":
        "raises 'Empty ledger balance' on an empty <BALAMT> (its own tests need fail_fast=False for 1 transaction)",
    "reds-importers__ofxstatementGenerated.n26.ofx":
        "raises 'Empty ledger balance' on <BALAMT/> (ofxstatement's output, 1 transaction)",
    "ofxparse__ofx-v102-empty-tags.ofx":
        "crashes with IndexError on empty elements (<CURDEF></CURDEF>, <FITID></FITID>)",
    "libofx__failing-ofx-file1.xml":
        "crashes with ValueError on a file that is not OFX at all, instead of saying so",
    "libofx__null-ptr-deref-1.ofx":
        "reads a damaged file (an unclosed <STMTTRN> at the end) as zero accounts, silently",
    "ofxparse__error_message.ofx":
        "reads the bank's error response (STATUS CODE 2000) as zero accounts, silently",
    "oca-bank-statement-import__test_ofx_wrong.ofx":
        "malformed (a transaction without date and amount): both refuse it, as they should",
    "ofxparse__date_missing.ofx":
        "malformed (DTPOSTED missing): both refuse it, as they should",
    "ofxparse__decimal_error.ofx":
        "malformed (TRNAMT '$120'): both refuse it, as they should",
}

# Investment transactions whose TOTAL is the cash amount we import (the others import 0).
CASH_INVESTMENT = re.compile(r"^(buy|sell)|^(income|invexpense|margininterest|retofcap)$")


def read_with_ofxparse(path: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ofxparse warns through BeautifulSoup
        with path.open("rb") as f:
            return ofxparse.OfxParser.parse(f)


def raw_dates(path: Path, tag: str) -> list[str]:
    """The first eight digits of every `tag` in the file: the dates the bank wrote."""
    return re.findall(rf"<{tag}>\s*(\d{{8}})", path.read_bytes().decode("latin-1"))


def fitids_in(path: Path) -> set[str]:
    return {m.strip() for m in re.findall(r"<FITID>([^<]*)", path.read_bytes().decode("latin-1"))}


def ofxparse_rows(document) -> list[tuple]:
    """(date digits, amount, id, payee text, memo) per transaction, in file order, from ofxparse."""
    rows = []
    for account in document.accounts:
        for txn in getattr(account.statement, "transactions", []):
            if type(txn).__name__ == "InvestmentTransaction":
                amount = txn.total if CASH_INVESTMENT.search(txn.type) else Decimal(0)
                rows.append((txn.tradeDate.strftime("%Y%m%d"), amount, txn.id, None, txn.memo or None))
            else:
                rows.append((txn.date.strftime("%Y%m%d"), txn.amount, txn.id, (txn.payee or txn.memo or "").strip(),
                             txn.memo.strip() or None))
    return rows


def our_rows(statements, written_fitids: set[str]) -> list[tuple]:
    """The same tuples from our statements, undoing the two things we add on purpose."""
    rows = []
    for statement in statements:
        for txn in statement.transactions:
            investment = statement.account.type == "INVESTMENT" and txn.type in OFX_INVESTMENT_TYPES
            fitid = txn.external_id
            if fitid not in written_fitids:  # a FITID the bank reused for another transaction: "-2"
                fitid, _, repeat = fitid.rpartition("-")
                assert repeat.isdigit() and fitid in written_fitids
            memo = txn.memo
            if investment and memo and SYNTHETIC_UNITS_MEMO.fullmatch(memo):  # ours, when MEMO is missing
                memo = None
            rows.append((txn.date.strftime("%Y%m%d"), txn.amount, fitid,
                         None if investment else txn.original_payee, memo))
    return rows


SYNTHETIC_UNITS_MEMO = re.compile(r"\S+ units( at \S+)?")
OFX_INVESTMENT_TYPES = {"BUYDEBT", "BUYMF", "BUYOPT", "BUYOTHER", "BUYSTOCK", "SELLDEBT", "SELLMF", "SELLOPT",
                        "SELLOTHER", "SELLSTOCK", "INCOME", "INVEXPENSE", "MARGININTEREST", "RETOFCAP",
                        "REINVEST", "TRANSFER", "SPLIT", "JRNLSEC", "JRNLFUND", "CLOSUREOPT"}


def parse_ours(path: Path):
    return [s.finish() for s in OfxParser().parse(path.read_bytes(), path.name)]


@pytest.mark.corpus("ofx", exclude=OFXPARSE_WRONG)
def test_we_agree_with_ofxparse_where_it_is_right(corpus_file):
    path = corpus_file.path
    theirs = ofxparse_rows(read_with_ofxparse(path))
    statements = parse_ours(path)
    ours = our_rows(statements, fitids_in(path))
    assert len(ours) == len(theirs)
    if any(s.account.type == "INVESTMENT" for s in statements):
        ours, theirs = sorted(ours), sorted(theirs)  # ofxparse groups investment rows by kind
    assert ours == theirs
    # ... and ofxparse's dates, though moved to UTC, are still the days the bank wrote in these files
    written = raw_dates(path, "DTPOSTED") + raw_dates(path, "DTTRADE")
    assert sorted(row[0] for row in ours) == sorted(written)


@pytest.mark.parametrize("name", sorted(OFXPARSE_WRONG))
def test_ofxparse_really_goes_wrong_where_we_say_it_does(corpus, name):
    path = corpus.path(f"ofx/{name}")
    assert path.exists(), f"{name} is listed but no longer in the corpus"
    try:
        document = read_with_ofxparse(path)
    except Exception:  # noqa: BLE001 - any failure of the reference reader is what this proves
        ofxparse_failed = True
    else:
        ofxparse_failed = False
        assert not any(getattr(a.statement, "transactions", []) for a in document.accounts), \
            "ofxparse read transactions from a file listed as one it gets wrong"
    reason = OFXPARSE_WRONG[name]
    if "both refuse" in reason:
        assert ofxparse_failed
        with pytest.raises(InputError):
            parse_ours(path)
    elif "silently" in reason:
        assert not ofxparse_failed
        with pytest.raises(InputError):  # zero accounts is wrong: we say what happened
            parse_ours(path)
    elif "not OFX at all" in reason:
        assert ofxparse_failed
        with pytest.raises(InputError, match="not an OFX file"):
            parse_ours(path)
    else:
        assert ofxparse_failed
        assert sum(len(s.transactions) for s in parse_ours(path)) >= 1


def test_ofxparse_moves_an_australian_midnight_to_the_previous_day_and_we_do_not(tmp_path):
    path = tmp_path / "aest.ofx"
    path.write_text(
        "OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\nSECURITY:NONE\nENCODING:USASCII\nCHARSET:1252\n"
        "COMPRESSION:NONE\nOLDFILEUID:NONE\nNEWFILEUID:NONE\n\n<OFX><BANKMSGSRSV1><STMTTRNRS><TRNUID>1"
        "<STATUS><CODE>0<SEVERITY>INFO</STATUS><STMTRS><CURDEF>AUD<BANKACCTFROM><BANKID>062000<ACCTID>1"
        "<ACCTTYPE>CHECKING</BANKACCTFROM><BANKTRANLIST><DTSTART>20240101<DTEND>20240131<STMTTRN>"
        "<TRNTYPE>DEBIT<DTPOSTED>20240105000000[+10:AEST]<TRNAMT>-4.50<FITID>1<NAME>COFFEE</STMTTRN>"
        "</BANKTRANLIST><LEDGERBAL><BALAMT>1.00<DTASOF>20240131</LEDGERBAL></STMTRS></STMTTRNRS>"
        "</BANKMSGSRSV1></OFX>\n")
    [theirs] = ofxparse_rows(read_with_ofxparse(path))
    [ours] = our_rows(parse_ours(path), {"1"})
    assert (theirs[0], ours[0]) == ("20240104", "20240105")
    assert theirs[1:] == ours[1:]
