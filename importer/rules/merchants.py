"""Merchants in a categorised history, for `rules suggest`: who each transaction was with, and the phrases that say so.

A transaction's merchant is the leading words of its payee key, read from what says it best:
- the name the user gave it in PocketSmith, when that is not just a tidy form of the bank's text (the feed
  says "HJ 0412 PYRMONT", the user renamed it "Hungry Jack's", the next statement says "HUNGRY JACKS PYRMONT");
- else the bank's text as rules see it (an OFX NAME cut at 32 characters continued by its memo: "...BONDI
  ICE" + "BERGS CLUB"), keeping the word after a brand's star ("UBER *EATS", "UBER *TRIP"): one brand selling
  two things.

Merchants form a tree by their leading words ("woolworths" → "woolworths petrol"). A draft rule is the
shortest phrase whose transactions are mostly one category, minus its longer branches of another category,
so a shop's rule does not swallow its own petrol station or phone plan.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Iterator

from importer.payee import match_key
from importer.rules.subject import whole_payee_text

__all__ = ["Merchant", "merchants_of", "merchant_drafts", "finer_key", "WEAK_WORDS"]

_DEPTH = 3          # merchant words looked at: the brand leads, places and store details trail
# Words that make a poor phrase on their own, at either end of one: channel words and joiners.
WEAK_WORDS = frozenset("the a an to from of and at for in on by bpay direct debit credit eftpos purchase pos "
                       "visa card payment ltd pty transfer internet online".split())
# A company's legal or trading suffix: "TELSTRA CORP" is Telstra, and the statement may say only that.
_SUFFIX_WORDS = frozenset("corp corporation group services service holdings company co limited inc australia "
                          "aust intl international enterprises trading retail stores store".split())
_PLACE_SPREAD = 3   # a word after this many different brands is a place (or a generic word), not a name
_STAR_WORD = re.compile(r"\*\s*([a-z]{3,})\b")


@dataclass(slots=True)
class Merchant:
    """Who one history transaction was with, and the texts a rule can test for it (lowercased)."""

    words: tuple[str, ...]   # the merchant's leading words
    named: bool              # read from the name the user gave it, not the bank's text
    bank: str                # the bank's text as rules see it: a cut NAME continued by its memo
    name: str                # the name (payee) as PocketSmith shows it


def finer_key(text: str) -> str:
    """The payee key, keeping the word after a brand's star: "UBER *EATS" is "uber eats", not "uber"."""
    key = match_key(text)
    star = _STAR_WORD.search(text)
    if key and star and star.group(1) not in key.split():
        key = f"{key} {star.group(1)}"
    return key


def _leading_words(key: str) -> tuple[str, ...]:
    words = key.split()
    while words and words[0] in WEAK_WORDS:
        words.pop(0)
    return tuple(words[:_DEPTH])


def merchants_of(transactions: list) -> list[Merchant]:
    """Each transaction's merchant: the name the user gave it when that is not just a tidy form of the
    bank's text, else the bank's text. A history repeats its texts: each distinct one is read once."""
    seen: dict[tuple, Merchant] = {}
    out = []
    for txn in transactions:
        texts = (txn.original_payee or txn.payee or "", txn.payee or "", txn.memo or "")
        merchant = seen.get(texts)
        if merchant is None:
            merchant = seen[texts] = _merchant(*(text.lower() for text in texts))
        out.append(merchant)
    return out


def _merchant(original: str, name: str, memo: str) -> Merchant:
    bank = whole_payee_text(original, memo) or ""
    bank_key = finer_key(bank)
    named_key = match_key(name) if name and name != original else ""
    renamed = bool(named_key) and not set(named_key.split()) <= set(bank_key.split())
    return Merchant(_leading_words(named_key if renamed else bank_key), renamed, bank, name)


# ─── the tree of merchants and its drafts ────────────────────────────────────────────────────────

@dataclass
class _Node:
    words: tuple[str, ...]
    rows: list[int] = field(default_factory=list)
    children: dict[str, "_Node"] = field(default_factory=dict)


def _tree(merchants: list[Merchant]) -> dict[str, _Node]:
    rows_by_words: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for n, merchant in enumerate(merchants):
        rows_by_words[merchant.words].append(n)
    roots: dict[str, _Node] = {}
    for words, rows in rows_by_words.items():
        level = roots
        for depth in range(1, len(words) + 1):
            node = level.get(words[depth - 1])
            if node is None:
                node = level[words[depth - 1]] = _Node(words[:depth])
            node.rows.extend(rows)
            level = node.children
    for node in _walk(roots):
        node.rows.sort()          # rows in history order, as the drafts' texts and counts expect
    return roots


def _walk(level: dict[str, _Node]) -> Iterator[_Node]:
    for node in level.values():
        yield node
        yield from _walk(node.children)


def _places(merchants: list[Merchant]) -> set[str]:
    """Words that follow many different brands: the household's suburbs, and generic words."""
    brands_after: dict[str, set[str]] = defaultdict(set)
    for merchant in merchants:
        for word in merchant.words[1:]:
            brands_after[word].add(merchant.words[0])
    return {word for word, brands in brands_after.items() if len(brands) >= _PLACE_SPREAD}


def _phrase_pattern(words: tuple[str, ...]) -> re.Pattern:
    """The words as they may be written: apostrophes inside them ("mcdonald's"), anything but letters and
    digits between them ("uber *eats", "jb hi-fi"), and no letters either side."""
    spelled = [r"'?".join(re.escape(ch) for ch in word) for word in words]
    return re.compile(r"(?<![a-z])" + r"[^a-z0-9]+".join(spelled) + r"(?![a-z])")


def _literals(pattern: re.Pattern, texts: list[str]) -> list[str] | None:
    """The spellings of the phrase in `texts`, commonest first; None when a text lacks it."""
    forms: Counter = Counter()
    for text in texts:
        found = pattern.search(text)
        if found is None:
            return None
        forms[found.group()] += 1
    return [form for form, _ in forms.most_common()]


def _forms(found: list[str]):
    """A `contains` operand: the spelling found, or the (at most four) commonest spellings."""
    forms = [form for form, _ in Counter(found).most_common(4)]
    return forms[0] if len(forms) == 1 else forms


class _Drafter:
    """Walks the tree top-down, drafting a rule at the shortest phrase that is mostly one category."""

    def __init__(self, merchants: list[Merchant], categories: list, cents: list[int], min_support: int,
                 min_confidence: float):
        self.merchants, self.categories, self.cents = merchants, categories, cents
        self.min_support, self.min_confidence = min_support, min_confidence
        self.places = _places(merchants)

    def drafts(self, nodes) -> Iterator[dict]:
        for node in nodes:
            yield from self.visit(node)

    def visit(self, node: _Node) -> Iterator[dict]:
        if len(node.rows) < self.min_support:
            return
        category, _ = self.top(node.rows)
        branches = [child for child in node.children.values() if self.top(child.rows)[0] != category]
        left_out = {row for branch in branches for row in branch.rows}
        kept = [row for row in node.rows if row not in left_out]
        count = sum(1 for row in kept if self.categories[row] == category)
        candidates = (self.conditions(node, kept, branches)
                      if count >= self.min_support and count / len(kept) >= self.min_confidence else [])
        if candidates:
            rest = [child for child in node.children.values() if child not in branches]
            yield self.draft(node, category, count, kept, candidates, refine=lambda: list(self.drafts(rest)))
            yield from self.drafts(branches)
        else:
            yield from self.drafts(node.children.values())

    def top(self, rows: list[int]) -> tuple[object, int]:
        return Counter(self.categories[row] for row in rows).most_common(1)[0]

    def draft(self, node: _Node, category, count: int, rows: list[int], candidates: list[dict], refine) -> dict:
        low, high = min(self.cents[row] for row in rows), max(self.cents[row] for row in rows)
        sign = {"amount": {"lt": 0}} if high < 0 else {"amount": {"gt": 0}} if low > 0 else {}
        texts = Counter(self.merchants[row].bank for row in rows)
        return {"key": " ".join(node.words), "category": category, "count": count, "kind": False, "sign": sign,
                "texts": [text for text, _ in texts.most_common()],
                "candidates": [{**condition, **sign} for condition in candidates], "refine": refine}

    def conditions(self, node: _Node, rows: list[int], branches: list[_Node]) -> list[dict]:
        """The conditions a rule for `node` could have, most readable first, each matching all of `rows`
        and none of the `branches` (longer merchant names of another category)."""
        phrases = [node.words]
        single = next(iter(node.children.values())) if len(node.children) == 1 else None
        if (len(node.words) == 1 and single is not None and len(single.rows) == len(node.rows)
                and single.words[-1] not in WEAK_WORDS | _SUFFIX_WORDS | self.places):
            phrases.insert(0, single.words)        # "daily grind" says more than "daily"
        exclusions = [alternative for branch in branches for alternative in self.alternatives(branch.words,
                                                                                              branch.rows)]
        out = []
        for words in phrases:
            if len(" ".join(words)) < 4:
                continue
            alternatives = self.alternatives(words, rows)
            if not alternatives:
                continue
            condition = alternatives[0] if len(alternatives) == 1 else {"any": alternatives}
            if exclusions:
                excluded = exclusions[0] if len(exclusions) == 1 else {"any": exclusions}
                condition = {**condition, "not": excluded}
            out.append(condition)
        return out

    def alternatives(self, words: tuple[str, ...], rows: list[int]) -> list[dict]:
        """Tests that together match every row: the phrase in the bank's text (a cut NAME continued by its
        memo, as rules see it) and the user's name for the merchant; empty when some row has neither."""
        pattern = _phrase_pattern(words)
        named = [self.merchants[row] for row in rows if self.merchants[row].named]
        banked = [self.merchants[row] for row in rows if not self.merchants[row].named]
        out: list[dict] = []
        if banked:
            forms = _literals(pattern, [merchant.bank for merchant in banked])
            if forms is None:
                return []
            # The user's spelling too, where it differs: the feed writes MCDONALDS, the user and the
            # statement MCDONALD'S.
            spelled = [found.group() for m in banked if (found := pattern.search(m.name))]
            user_spelling = [s for s in dict.fromkeys(spelled) if s not in forms][:1]
            out.append({"original_payee": {"contains": _forms(forms[:4 - len(user_spelling)] + user_spelling)}})
        if named:
            phrase = " ".join(words)
            if len(phrase.replace(" ", "")) >= 5:
                out.append({"payee": {"fuzzy": {"value": phrase, "score": 90}}})
            else:
                forms = _literals(pattern, [m.name for m in named])
                if forms is None:
                    return []
                out.append({"payee": {"contains": _forms(forms)}})
            # What the bank called it, when all those texts agree on a phrase: the statement may say it too.
            leading = _shared_leading(finer_key(m.bank) for m in named)
            if leading and len(" ".join(leading)) >= 4:
                bank_forms = _literals(_phrase_pattern(leading), [m.bank for m in named])
                if bank_forms:
                    out.insert(0, {"original_payee": {"contains": _forms(bank_forms)}})
        return out


def _shared_leading(keys) -> tuple[str, ...]:
    """The leading words (at most two) every key starts with."""
    shared: tuple[str, ...] | None = None
    for key in keys:
        words = _leading_words(key)[:2]
        if shared is None:
            shared = words
        else:
            n = 0
            while n < min(len(shared), len(words)) and shared[n] == words[n]:
                n += 1
            shared = shared[:n]
        if not shared:
            return ()
    return shared or ()


def merchant_drafts(merchants: list[Merchant], categories: list, cents: list[int], min_support: int,
                    min_confidence: float) -> list[dict]:
    """Draft rules, one per merchant phrase mostly in one category: its key, category, count, texts, `sign`
    (the amount condition its amounts share, if any), the candidate conditions (most readable first, each
    with that sign) and `refine()`: the drafts of its longer phrases, to try when none of its conditions
    holds up against the whole history.

    Then the words that say a kind of shop across several merchants ("KOWALSKI PHARMACY", "NGUYEN
    PHARMACY", "OBRIEN PHARMACY"), drafted the same way with `kind` set: they cover merchants seen too
    rarely for a rule of their own, and belong after the merchants' rules."""
    drafter = _Drafter(merchants, categories, cents, min_support, min_confidence)
    drafts = list(drafter.drafts(_tree(merchants).values()))
    for node in _kind_nodes(merchants, drafter.places):
        for draft in drafter.visit(node):
            draft["kind"] = True
            drafts.append(draft)
    return drafts


def _kind_nodes(merchants: list[Merchant], spread_words: set[str]) -> list[_Node]:
    """A node per word found after several brands (suburbs and kinds of shop alike: the category decides
    which make a rule), holding the rows whose merchant has it; no longer phrases below it."""
    kinds = {word for word in spread_words if len(word) >= 4 and word not in WEAK_WORDS | _SUFFIX_WORDS}
    nodes: dict[str, _Node] = {}
    for n, merchant in enumerate(merchants):
        for word in kinds.intersection(merchant.words[1:]):
            node = nodes.get(word)
            if node is None:
                node = nodes[word] = _Node((word,))
            node.rows.append(n)
    return [nodes[word] for word in sorted(nodes)]
