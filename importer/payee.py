"""Payee clean-up: turn raw statement or bank-feed payee text into a comparable key and a tidy display form."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable, Sequence

from importer.schema import Keys, ListOf, Regex, Text, check

__all__ = ["PayeeSettings", "PAYEE_SETTINGS", "tidy", "match_key", "similarity", "similarities", "DEFAULT_PREFIXES",
           "DEFAULT_PROCESSORS", "DEFAULT_LOCATIONS"]

# Channel words banks put before the merchant. Longest first, so "visa debit purchase" wins over "visa".
DEFAULT_PREFIXES: tuple[str, ...] = (
    "eftpos purchase", "eftpos debit", "eftpos", "visa debit purchase", "visa purchase", "visa debit",
    "mastercard purchase", "debit card purchase", "card purchase", "pos w/d", "pos purchase", "pos debit",
    "point of sale", "pos", "purchase authorisation", "purchase", "contactless", "tap and pay", "tap & pay",
    "international purchase", "int'l purchase", "recurring payment", "direct debit", "debit card",
    "apple pay", "google pay", "card",
)

# Payment processors that front the real merchant ("SQ *DAILY GRIND", "PAYPAL *NETFLIX").
DEFAULT_PROCESSORS: tuple[str, ...] = (
    "sq", "sqr", "square", "paypal", "pp", "sp", "tst", "sumup", "zettle", "izettle", "iz", "py", "ls", "lsp",
    "smp", "cko", "dnh", "fs", "gglpay", "google", "pos", "stripe", "ezi", "eway", "tyro", "afterpay", "zip",
    "klarna", "wpy", "wp",
)

# Place words a feed or statement appends after the merchant; stripped only from the end.
DEFAULT_LOCATIONS: tuple[str, ...] = (
    "nsw", "vic", "qld", "wa", "sa", "tas", "act", "nt", "au", "aus", "australia", "nz", "nzl", "new zealand",
    "us", "usa", "gb", "gbr", "uk", "ca", "can",
    "sydney", "melbourne", "brisbane", "perth", "adelaide", "hobart", "darwin", "canberra", "gold coast",
    "newcastle", "wollongong", "geelong", "parramatta", "chatswood", "bondi", "surry hills", "north sydney",
    "auckland", "wellington", "christchurch", "london", "new york", "san francisco", "toronto",
    "pty ltd", "pty", "ltd", "limited", "inc", "llc", "co",
)

_MONTHS = "jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec"
# Dates, times, card numbers, references and terminal ids: removed before digits are dropped, because
# the words around them ("card", "value date", "ref") would otherwise survive as noise.
_BUILTIN_NOISE: tuple[str, ...] = (
    r"\bvalue\s+date:?\s*\d{1,4}[/.-]\d{1,2}(?:[/.-]\d{2,4})?",
    r"\b\d{1,4}[/.-]\d{1,2}(?:[/.-]\d{2,4})?\b",
    rf"\b\d{{1,2}}\s?(?:{_MONTHS})\s?(?:\d{{2,4}})?\b",
    rf"\b(?:{_MONTHS})\s?\d{{1,2}}\b",
    r"\b\d{1,2}:\d{2}(?::\d{2})?\b",
    r"\b(?:card|crd|cd)\s*(?:no\.?|number|#)?\s*[x*#.]*\d{2,}",
    r"[x*#]{2,}\s?\d{2,}",
    r"\b(?:ref|reference|receipt|rcpt|terminal|term|tid|auth|store|str|id|trace|txn|inv)\s*(?:no\.?|#|:)?\s*\d[\w-]*",
    r"#\s*\d+",
    r"\bfrgn\s+amt\b.*$",
    r"\b(?:foreign|fx)\s+(?:currency|amount)\b.*$",
)


_WORDS = ListOf(Text("a word or phrase", nonempty=True), single=True, what="a list of words or phrases")

# The `payee:` section of psimport.yaml (see PayeeSettings).
PAYEE_SETTINGS = Keys({
    "prefixes": _WORDS,
    "processors": _WORDS,
    "locations": _WORDS,
    "noise": ListOf(Regex(), single=True, what="a list of regular expressions"),
}, what="a mapping of settings")


@dataclass(frozen=True, slots=True)
class PayeeSettings:
    """What `match_key` strips, beyond the built-in lists. Frozen and hashable, so keys can be cached per setting.

    Config (section `payee`, shared by dedupe and rules):
        payee:
          prefixes: ["online purchase"]        # channel words before the merchant
          processors: ["ezi"]                  # "EZI *MERCHANT" fronts the merchant
          locations: ["fremantle"]             # place words stripped from the end
          noise: ['\\bmember \\d+']            # regexes removed anywhere (case-insensitive)
    """

    extra_prefixes: tuple[str, ...] = ()
    extra_processors: tuple[str, ...] = ()
    extra_locations: tuple[str, ...] = ()
    extra_noise: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, section: dict[str, Any] | None, *, file: str | None = None) -> "PayeeSettings":
        """Settings from the config's `payee` section as read; `file` names the config file in error messages."""
        values = check(PAYEE_SETTINGS, section or {}, file=file, at="payee")
        words = {name: tuple(_fold(word).strip() for word in values.get(name, ()))
                 for name in ("prefixes", "processors", "locations")}
        # A pattern loses its accents as the text it is matched against does, but not its case: \D is not \d.
        noise = tuple(_strip_accents(pattern) for pattern in values.get("noise", ()))
        return cls(words["prefixes"], words["processors"], words["locations"], noise)


def tidy(text: str | None) -> str:
    """Display form: runs of whitespace collapsed to one space, ends trimmed; otherwise unchanged."""
    if not text:
        return ""
    return " ".join(text.split())


def _fold(text: str) -> str:
    """Lowercase ASCII: accents dropped so 'CAFE' and 'Café' compare equal."""
    return _strip_accents(text).lower()


def _strip_accents(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def _alternation(phrases: Iterable[str]) -> str:
    ordered = sorted({p for p in phrases if p}, key=len, reverse=True)
    return "|".join(r"\s+".join(re.escape(part) for part in p.split()) for p in ordered)


class _Cleaner:
    """The compiled regexes for one PayeeSettings."""

    def __init__(self, settings: PayeeSettings):
        self.noise = re.compile("|".join(f"(?:{n})" for n in _BUILTIN_NOISE), re.IGNORECASE)
        self.user_noise = _bounded_noise(settings.extra_noise) if settings.extra_noise else None
        processors = _alternation(DEFAULT_PROCESSORS + settings.extra_processors)
        # "SQ *DAILY GRIND", "PAYPAL *NETFLIX", "ZETTLE_*CAFE": keep what follows the star.
        self.processor = re.compile(rf"^\s*(?:{processors})\s*[_ ]?\*\s*")
        # "AMAZON.COM*AB12CD": a star after the merchant introduces an order reference.
        self.star_suffix = re.compile(r"\*.*$")
        self.prefix = re.compile(rf"^\s*(?:{_alternation(DEFAULT_PREFIXES + settings.extra_prefixes)})\b[\s:/-]*")
        self.location = re.compile(rf"\s+(?:{_alternation(DEFAULT_LOCATIONS + settings.extra_locations)})$")
        self.web_suffix = re.compile(r"\.(?:com|net|org)(?:\.[a-z]{2})?\b")
        self.non_letters = re.compile(r"[^a-z]+")

    def key(self, text: str) -> str:
        text = _fold(text)
        text = self.noise.sub(" ", text)
        if self.user_noise is not None:
            text = self.user_noise(text)
        for _ in range(3):  # "EFTPOS PURCHASE SQ *CAFE": prefixes and processors can stack
            before = text
            text = self.prefix.sub("", text)
            text = self.processor.sub("", text)
            if text == before:
                break
        text = self.star_suffix.sub("", text)
        text = self.web_suffix.sub("", text.replace("'", ""))
        text = self.non_letters.sub(" ", text).strip()
        while True:
            stripped = self.location.sub("", text)
            if stripped == text or not stripped.strip():
                break
            text = stripped
        return " ".join(text.split())


NOISE_SECONDS = 0.5    # for the config's noise regexes on one payee; a sane pattern takes microseconds


def _bounded_noise(patterns: tuple[str, ...]):
    """The config's `payee: noise:` regexes removed from a text by the `regex` module, with a time bound:
    a pattern that backtracks catastrophically stops the run with a message, instead of never ending."""
    import regex

    from importer.errors import ConfigError
    from importer.yamlfile import excerpt
    compiled = regex.compile("|".join(f"(?:{n})" for n in patterns), regex.IGNORECASE | regex.VERSION0)

    def remove(text: str) -> str:
        try:
            return compiled.sub(" ", text, timeout=NOISE_SECONDS)
        except TimeoutError:
            raise ConfigError(f"payee: noise: a regex among {excerpt(', '.join(patterns))} took over {NOISE_SECONDS} "
                              "s on one payee (it backtracks catastrophically, as nested repeats like (a+)+ do); "
                              "rewrite it without a repeat inside a repeat") from None
    return remove


@lru_cache(maxsize=64)
def _cleaner(settings: PayeeSettings) -> _Cleaner:
    return _Cleaner(settings)


_DEFAULT = PayeeSettings()


MAX_KEY_INPUT = 256


@lru_cache(maxsize=1 << 17)
def _key(text: str, settings: PayeeSettings) -> str:
    return _cleaner(settings).key(text)


def match_key(text: str | None, settings: PayeeSettings | None = None) -> str:
    """Comparable key: lowercase letters only, channel prefixes, processors, card numbers, store and
    terminal ids, dates and trailing locations removed. "POS W/D WOOLWORTHS 1234 SYDNEY AU" -> "woolworths".

    Cached, because bank feeds repeat the same payees over and over.
    """
    if not text:
        return ""
    # A key is made from the payee's first MAX_KEY_INPUT characters: every real payee fits (OFX caps NAME
    # at 32, banks' CSVs stay under 100), and a hostile 1 MB one costs what a long one does, not minutes
    # in the clean-up's regexes and the fuzzy scorer (both grow faster than the text).
    return _key(text[:MAX_KEY_INPUT], settings or _DEFAULT)


def similarity(key_a: str, key_b: str) -> float:
    """How alike two match keys are, 0..1.

    `partial_ratio` on the keys without spaces: the best-aligned substring, so a statement NAME cut at
    32 characters, or "daily grind" against "the daily grind", still scores high. Measured on real pairs it
    was the only rapidfuzz scorer that kept every true pair above every false one; `token_set_ratio` gives
    100 whenever one side's words are a subset of the other's. Very short keys use the plain ratio,
    since a two-letter key is a substring of too much.
    """
    if not key_a or not key_b:
        return 0.0
    # Keys from match_key are bounded already; a key made elsewhere is cut too, as partial_ratio's time
    # grows with the product of the lengths.
    a = key_a[:MAX_KEY_INPUT].replace(" ", "")
    b = key_b[:MAX_KEY_INPUT].replace(" ", "")
    if a == b:
        return 1.0
    from rapidfuzz import fuzz
    if min(len(a), len(b)) < 4:
        return fuzz.ratio(a, b) / 100.0
    return fuzz.partial_ratio(a, b) / 100.0


def similarities(left: Sequence[str], right: Sequence[str]):
    """`similarity` of each pair left[i], right[i], as a numpy array, computed in C for many pairs at once."""
    import numpy as np
    from rapidfuzz import fuzz
    from rapidfuzz.process import cpdist

    if not len(left):
        return np.zeros(0)
    stripped: dict[str, str] = {}
    a = [stripped.get(k) or stripped.setdefault(k, k[:MAX_KEY_INPUT].replace(" ", "")) for k in left]
    b = [stripped.get(k) or stripped.setdefault(k, k[:MAX_KEY_INPUT].replace(" ", "")) for k in right]
    shorter = np.minimum(np.fromiter(map(len, a), np.int64, len(a)), np.fromiter(map(len, b), np.int64, len(b)))
    partial = cpdist(a, b, scorer=fuzz.partial_ratio, dtype=np.float64) / 100.0
    whole = cpdist(a, b, scorer=fuzz.ratio, dtype=np.float64) / 100.0
    return np.where(shorter == 0, 0.0, np.where(shorter < 4, whole, partial))
