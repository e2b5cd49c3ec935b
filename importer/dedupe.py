"""Dedupe: decide for each statement row whether PocketSmith already holds it (duplicate), may hold it (review), or not (create).

How a run is decided, for one target transaction account:

1. Overlapping files in one run are folded first, as multisets. Rows of one file never fold into each other
   (two identical coffees in a file are two); a row of a later file folds into an earlier file's row with the
   same external id, or the same date, amount and payee key. N such rows in file A and M in file B give
   max(N, M) distinct rows. A folded row is `duplicate` with `duplicate_of_row` set.
2. Exact evidence: the journal (`imported`: external id -> PocketSmith id) says psimport created this row
   before. If that transaction is among `existing`, the row is a duplicate of it. If it is not (the user deleted
   it, moved it to another account or re-dated it outside the window), the row is `review`: re-creating it
   silently would undo the user's deletion, dropping it silently could lose it. PocketSmith's API has no
   external-id field, so the journal is the only exact evidence against PocketSmith itself.
3. Scored candidates: same account, same amount to the cent, PocketSmith's date within `window_before` days
   before to `window_after` days after the statement's date. Each pair's score is a probability built from
   log-odds: how rare the amount is here (same-amount transactions within `rarity_days`; whole dollars count as
   common: a weekday 4.50 coffee proves little, 1234.56 a lot), how usual the lag in business days is (learned
   from this run's unambiguous pairs, per source: a bank feed carries the transaction date, a statement the
   posting date a day or two later, an earlier upload the posting date itself, a hand-typed entry a rough
   date), and payee similarity (`importer.payee.similarity` of the match keys against PocketSmith's `payee` and
   `original_payee`, with the memo as a second chance, which rescues a NAME cut at 32 characters; a name typed
   by hand that differs counts for little).
4. Assignment is one-to-one and optimal: rows and candidates form connected blocks per amount, each solved
   exactly (`importer.assignment`) maximising the summed log-odds, so N identical rows against M existing
   give M matches and N-M creates, and yesterday's coffee cannot swallow today's. A long block of one recurring
   amount against a bank feed (a run: the daily coffee, `_RUN_MIN_ROWS` rows or more) finds its own posting lag by
   counting, day by day, how its rows and the feed's items line up (a weekday run looks alike at any lag but for
   its gaps, doubles and drops, which line up at one lag only); its feed pairs then keep to that lag or up to
   `_RUN_LATE_DAYS` later (a batch run late), never sooner, so a row the feed dropped stays new on its own day
   rather than shifting a stretch of the run by a day. Without a clear count, it tries its merchant posting a
   business day sooner or later than the account's usual.
   Where such a recurring amount (a run, or a weekly debit only one shop charges) meets entries typed by hand,
   one best assignment guesses which row each typed entry is (some were forgotten, dates are rough): there
   every way the typed entries can be the rows is weighed instead, with the typing rate, the person's date
   slips and the amount's posting lags learned from the statement and PocketSmith, and each row is duplicate,
   review or create by the probability that PocketSmith holds it (`_TYPED_UNSURE`).
5. Bands: score >= duplicate_threshold is `duplicate`, >= review_threshold is `review`, else `create`. Two rows
   that could swap (one duplicate, one new) at almost no loss of likelihood are both `review`: which of them
   PocketSmith holds cannot be told (in a counted run, whose lag is known, the swap must cost less). A PocketSmith
   transaction well inside the statement's period that matched nothing makes its best same-amount row `review`
   rather than `create`: a statement lists every transaction of its period, so the leftover ("cash" typed for an
   ATM withdrawal) is most likely that row.

Pending PocketSmith transactions (`status: pending`): a pending one whose posted twin is also present (same
sign, amount within `pending_tolerance`, posted 0..window_before days later, similar payee) is superseded and
ignored. Any other pending one is a candidate like a posted one when the amount is equal to the cent (the
feed will replace it with the posted version, so creating the row would double it); if the amount differs
within the tolerance (tips, fuel and hotel holds), the pair is scored with weaker amount evidence, and matched
(`duplicate`, the difference in its reasons) when the rest of the evidence carries it over the threshold: the
posted row and its pending hold are never both kept.

Existing transactions must belong to the target account: pass `account_id` and any whose
`transaction_account_id` is set and differs are ignored; without `account_id`, existing of several accounts
is a programming error (ValueError), since a look-alike in another account must never match.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from operator import attrgetter
from typing import Any, Iterator, Mapping, Sequence

from importer.assignment import max_weight_assignment
from importer.errors import ConfigError
from importer.payee import PayeeSettings, match_key, similarities, similarity
from importer.pocketsmith.models import PsTransaction
from importer.record import Transaction
from importer.schema import INVALID, Either, Fraction, Keys, Number, Whole, check
from importer.text import plural
from importer.yamlfile import line_of

__all__ = ["DedupeSettings", "DEDUPE_SETTINGS", "Decision", "dedupe", "fetch_window"]

CREATE, DUPLICATE, REVIEW = "create", "duplicate", "review"

# Log-odds weights. Calibrated on benchmarks/dedupe_quality.py; see the README's dedupe section.
_PRIOR = -2.0                  # a same-amount pair in the window, before any other evidence
_AMOUNT_ODD_CENTS = 3.0        # 87.35: a cent-exact match is strong evidence
_AMOUNT_WHOLE = 1.5            # 20.00: many shops charge whole dollars
_AMOUNT_TENS = 1.0             # 50.00, 100.00: ATMs, transfers, vouchers
_RARITY_SLOPE = 1.0            # each e-fold of same-amount transactions nearby takes this much away
_AMOUNT_FLOOR = -2.0
_PENDING_INEXACT_AMOUNT = 0.5  # a pending amount within tolerance, not equal
_PAYEE_NEUTRAL = 0.65          # similarity of unrelated shops sits around 0.4-0.6 with partial_ratio
_PAYEE_SLOPE = 14.0
_PAYEE_MIN, _PAYEE_MAX = -4.5, 4.5
_PAYEE_MIN_TYPED = -0.5        # "gym" for FITNESS FIRST: a name typed by hand proves little when it differs
_DATE_MIN, _DATE_MAX = -2.5, 2.0
_LAG_PSEUDO_COUNT = 4.0        # how many learned lags it takes to outweigh the default lag shape
_LAG_MAX_TRUST = 0.8
_MIN_LAG_SAMPLES = 3
_TYPED_SOURCES = frozenset({"manual", "typed", "user", "app", "web", "mobile", "ios", "android"})
_FILE_SOURCES = frozenset({"file", "upload", "import", "csv", "ofx", "qif", "qfx", "api", "psimport"})
_FEED_SOURCES = frozenset({"feed", "bank_feed", "data_feed", "bankfeed", "datafeed", "yodlee", "basiq", "plaid",
                           "akahu", "saltedge", "salt_edge"})
_AMBIGUITY_MARGIN = 1.0        # log-odds: swaps costing less than this are a coin toss, shown for review
_AMBIGUITY_MARGIN_TYPED = 1.5
_AMBIGUITY_MARGIN_COUNTED = 0.5  # in a run whose lag was counted, a swap must be closer still to be a coin toss
_AMBIGUITY_RIVALS_TYPED = 1
_AMBIGUITY_DEPTH = 6           # rows along one alternating path
_AMBIGUITY_MAX_PAIRS = 5000
_ORPHAN_MIN_SCORE = 0.05
_SHIFT_MIN_ROWS, _SHIFT_MAX_ROWS = 6, 400
_RUN_MIN_ROWS = 15             # rows and feed items a run needs before its lag is counted: fewer days line up by chance
_RUN_MAX_LAG = 4               # business days a run's purchases may post after the feed's date
_RUN_CLEAR = 0.05              # alignment cost per day by which the best lag must beat the next
_LATE_COST = 1.5               # a run's item posted a business day later than its lag: a batch run late
_UNPAIRED_COST = 3.0           # a row the feed lacks, or a feed item the statement lacks
_RUN_LATE_DAYS = 3             # a batch run late posts at most this many business days after the run's lag
# A run's rows against entries typed by hand (see _Matcher._typed_run_odds).
# Held with a probability within this of 1 (or of 0) is a duplicate (or new), else review: one band both ways, as
# losing a row and doubling one are alike. Chosen on benchmarks/dedupe_quality.py's seeds 1001-1050; seeds
# 1051-1100, not used to choose it, do as well (see docs/speed.md).
_TYPED_UNSURE = 0.24
_TYPED_ELSEWHERE = 0.01      # weight of a typed entry being none of the run's open rows (a statement lists them all)
_TYPED_MAX_SLIP = 3          # days a typed date may be off the purchase's
_TYPED_PSEUDO = 0.5          # pseudo-counts of the slip odds' two numbers: a few entries must not make them 0 or 1
_TYPED_EM_ROUNDS = 8
_TYPED_MAX_RATE = 0.95       # a person never surely typed every purchase: some rows stay possibly forgotten
_SHIFT_GAIN = 2.0              # log-odds a shifted lag must add to a block before it is believed
_BLOCK_ROWS = 200              # rows solved at once in a very long block (a daily coffee over years)
_BLOCK_MARGIN = 40             # rows re-solved with the next chunk, so chunk edges do not decide
_DAY_SHIFT = 1 << 22           # key = amount in cents * _DAY_SHIFT + day offset
_MAX_KEY_CENTS = 1 << 40       # beyond this (ten billion dollars) amounts are ranked first to fit the key
_HUNDRED = Decimal(100)
_TEXTS = attrgetter("payee", "original_payee", "memo")
_PENDING = frozenset({"pending"})


@dataclass(frozen=True)
class DedupeSettings:
    """Thresholds and windows (config section `dedupe`).

        dedupe:
          duplicate_threshold: 0.7    # score at or above: skipped as already in PocketSmith
          review_threshold: 0.5       # at or above (and below duplicate): shown, created only if accepted
          window_days: {before: 7, after: 4}   # PocketSmith's date this many days before/after the statement's
          pending_tolerance: 0.2      # a pending amount may differ by this fraction (review only)
          rarity_days: 6              # "how common is this amount here" looks this far either side
    """

    duplicate_threshold: float = 0.7
    review_threshold: float = 0.5
    window_before: int = 7
    window_after: int = 4
    pending_tolerance: Decimal = Decimal("0.20")
    rarity_days: int = 6
    payee: PayeeSettings = field(default_factory=PayeeSettings)

    def __post_init__(self):
        if not 0 < self.review_threshold <= self.duplicate_threshold < 1:
            raise ConfigError("dedupe: need 0 < review_threshold <= duplicate_threshold < 1 "
                              f"(got {self.review_threshold} and {self.duplicate_threshold})")
        if self.window_before < 0 or self.window_after < 0 or self.rarity_days < 0:
            raise ConfigError("dedupe: window_days and rarity_days must not be negative")
        if not 0 <= self.pending_tolerance < 1:
            raise ConfigError("dedupe: pending_tolerance must be a fraction between 0 and 1")

    @classmethod
    def from_config(cls, section: dict[str, Any] | None, payee: PayeeSettings | None = None, *,
                    file: str | None = None) -> "DedupeSettings":
        """Settings from the config's `dedupe` section as read (and the `payee` section's PayeeSettings);
        `file` names the config file in error messages."""
        values = dict(check(DEDUPE_SETTINGS, section or {}, file=file, at="dedupe"))
        window = values.pop("window_days", None)
        if isinstance(window, int):
            values["window_before"] = values["window_after"] = window
        elif window is not None:
            values.update({f"window_{side}": days for side, days in window.items()})
        for name in ("duplicate_threshold", "review_threshold"):
            if name in values:
                values[name] = float(values[name])
        if payee is not None:
            values["payee"] = payee
        return cls(**values)


def _thresholds_in_order(values: Mapping[str, Any], at: str) -> Iterator[tuple[str, int | None]]:
    review = values.get("review_threshold", DedupeSettings.review_threshold)
    duplicate = values.get("duplicate_threshold", DedupeSettings.duplicate_threshold)
    if INVALID not in (review, duplicate) and not 0 < review <= duplicate < 1:
        yield (f"'{at}' needs 0 < review_threshold <= duplicate_threshold < 1, not {review} and {duplicate}",
               line_of(values, "review_threshold" if "review_threshold" in values else "duplicate_threshold"))


_DAYS = Whole(minimum=0, what="a whole number of days (0 or more)")

# The `dedupe:` section of psimport.yaml (see DedupeSettings).
DEDUPE_SETTINGS = Keys({
    "duplicate_threshold": Number(0, 1),
    "review_threshold": Number(0, 1),
    "window_days": Either(_DAYS, Keys({"before": _DAYS, "after": _DAYS}),
                          what="a whole number of days, or {before: days, after: days}"),
    "pending_tolerance": Fraction(),
    "rarity_days": _DAYS,
}, between=_thresholds_in_order, what="a mapping of settings")


@dataclass
class Decision:
    """What to do with one statement row, and why.

    `duplicate_of` is the PocketSmith id it duplicates (or, for `review`, may duplicate); `duplicate_of_row`
    the index of an earlier row of this run it repeats (overlapping files). `score` is 0..1, None when no
    candidate was scored.
    """

    action: str
    duplicate_of: int | None
    score: float | None
    reasons: list[str]
    matched: PsTransaction | None = None
    duplicate_of_row: int | None = None


def fetch_window(records: Sequence[Transaction], settings: DedupeSettings = DedupeSettings()) -> tuple[date, date]:
    """The date range (inclusive) of existing transactions that can match these records."""
    if not records:
        raise ValueError("fetch_window needs at least one record")
    dates = [r.date for r in records]
    return (min(dates) - timedelta(days=settings.window_before), max(dates) + timedelta(days=settings.window_after))


def dedupe(records: Sequence[Transaction], existing: Sequence[PsTransaction], *,
           imported: Mapping[str, int] | None = None, settings: DedupeSettings = DedupeSettings(),
           account_id: int | None = None) -> list[Decision]:
    """One Decision per record, in the records' order. See the module docstring for the method."""
    decisions: list[Decision | None] = [None] * len(records)
    if not records:
        return []
    repeat_of = _fold_repeats(records, settings)
    distinct = [i for i, rep in enumerate(repeat_of) if rep is None]
    pool = _account_transactions(existing, account_id)
    matcher = _Matcher(records, distinct, pool, settings)
    matcher.apply_journal(imported or {}, decisions)
    matcher.match(decisions)
    for index, rep in enumerate(repeat_of):
        if rep is not None:
            decisions[index] = _repeat_decision(records, index, rep, decisions[rep])
    return decisions  # type: ignore[return-value]


def _account_transactions(existing: Sequence[PsTransaction], account_id: int | None) -> Sequence[PsTransaction]:
    owners = list(map(attrgetter("transaction_account_id"), existing))
    accounts = set(owners) - {None}
    if account_id is not None:
        if accounts <= {account_id}:
            return existing
        return [e for e, owner in zip(existing, owners) if owner is None or owner == account_id]
    if len(accounts) > 1:
        raise ValueError(f"existing transactions span {len(accounts)} accounts; pass account_id so only the "
                         "target account's are matched")
    return existing


def _where(record: Transaction) -> str:
    name = (record.file or "").replace("\\", "/").rsplit("/", 1)[-1]
    if name and record.line is not None:
        return f"{name} line {record.line}"
    if record.line is not None:
        return f"line {record.line}"
    return name or "an earlier row"


def _fold_repeats(records: Sequence[Transaction], settings: DedupeSettings) -> list[int | None]:
    """For each row, the earlier row (of an earlier file) it repeats, or None: multiset semantics per file."""
    repeat_of: list[int | None] = [None] * len(records)
    files: dict[Any, list[int]] = {}
    for index, record in enumerate(records):
        files.setdefault(record.file, []).append(index)
    if len(files) < 2:
        return repeat_of
    by_id: dict[str, list[int]] = {}
    by_key: dict[tuple, list[int]] = {}
    for rows in files.values():
        claimed: set[int] = set()
        added: list[tuple[int, tuple]] = []
        for index in rows:
            record = records[index]
            key = (record.date, _cents(record.amount), match_key(record.original_payee or record.payee, settings.payee))
            earlier = None
            if record.external_id:
                earlier = next((r for r in by_id.get(record.external_id, ()) if r not in claimed), None)
            if earlier is None:
                earlier = next((r for r in by_key.get(key, ()) if r not in claimed), None)
            if earlier is None:
                added.append((index, key))
            else:
                claimed.add(earlier)
                repeat_of[index] = earlier
        # Added only after the whole file: rows of one file never fold into each other.
        for index, key in added:
            by_key.setdefault(key, []).append(index)
            if records[index].external_id:
                by_id.setdefault(records[index].external_id, []).append(index)
    return repeat_of


def _repeat_decision(records: Sequence[Transaction], index: int, rep: int, rep_decision: Decision) -> Decision:
    same_in_pocketsmith = rep_decision.action == DUPLICATE
    reason = f"repeats {_where(records[rep])} (overlapping statements)"
    reasons = [reason] + ([f"which is already in PocketSmith as #{rep_decision.duplicate_of}"]
                          if same_in_pocketsmith and rep_decision.duplicate_of is not None else [])
    return Decision(DUPLICATE, rep_decision.duplicate_of if same_in_pocketsmith else None, 1.0, reasons,
                    matched=rep_decision.matched if same_in_pocketsmith else None, duplicate_of_row=rep)


@lru_cache(maxsize=1 << 14)
def _source_kind(upload_source: str | None, payee: str | None, original_payee: str | None) -> str:
    named = (upload_source or "").strip().lower().replace(" ", "_")
    if named in _TYPED_SOURCES:
        return "typed"
    if named in _FILE_SOURCES:
        return "file"
    if named in _FEED_SOURCES:
        return "feed"
    payee = (payee or "").strip()
    raw = (original_payee or "").strip()
    if raw and raw.casefold() != payee.casefold():
        return "feed"
    if not any(ch.isdigit() for ch in payee) and not payee.isupper():
        return "typed"
    return "file"


def _alignment_cost(statement: Counter, fed: Counter, lag: int, low: int, high: int) -> float:
    """How badly a run's rows per business day (`statement`) and feed items per day (`fed`) line up if the
    bank posts `lag` business days after the purchase, over the statement's days `low`..`high`.

    Day by day, rows take the items of their own day first, then the oldest waiting up to `_RUN_LATE_DAYS`
    before (a batch run late, `_LATE_COST` a day); a row left over is a feed drop, an item left waiting too
    long one the statement lacks (`_UNPAIRED_COST` each)."""
    waiting: list[int] = []       # purchase days of items not yet posted, oldest first
    cost = 0.0
    for day in range(low, high + 1):
        expired = sum(1 for d in waiting if d < day - lag - _RUN_LATE_DAYS)
        cost += _UNPAIRED_COST * expired
        waiting = waiting[expired:]
        waiting.extend([day - lag] * fed.get(day - lag, 0))
        for _ in range(statement.get(day, 0)):
            own = [d for d in waiting if d == day - lag]
            pick = own[0] if own else (waiting[0] if waiting else None)
            if pick is None:
                cost += _UNPAIRED_COST
                continue
            waiting.remove(pick)
            cost += _LATE_COST * (day - lag - pick)
    return cost


def _slip_odds(right: float, fade: float) -> dict[int, float]:
    """Odds of a typed date being each number of days off the purchase's: `right` on the day itself, the rest
    split evenly between earlier and later, each day further off `fade` times as likely (up to
    `_TYPED_MAX_SLIP`). Two numbers, not one per day: a dozen typed entries can pin two down, not seven."""
    steps = [fade ** (k - 1) for k in range(1, _TYPED_MAX_SLIP + 1)]
    odds = {0: right}
    for k, step in enumerate(steps, 1):
        odds[k] = odds[-k] = (1 - right) / 2 * step / sum(steps)
    return odds


def _typed_total(entries: list[int], options: Mapping[int, list[tuple[int, float]]], without: int | None) -> float:
    """The summed weight of every way the typed `entries` (in date order) can be distinct rows: each entry is
    one of its `options` (row, weight) or, at `_TYPED_ELSEWHERE`, none of them; with `without`, that row is
    no entry. A dynamic programme over the entries whose state is the set of rows taken that a later entry
    could still take, so it stays small: a typed date is never far from its row's."""
    later: list[set[int]] = [set() for _ in entries]
    reach: set[int] = set()
    for k in range(len(entries) - 1, -1, -1):
        later[k] = set(reach)
        reach |= {row for row, _ in options[entries[k]]}
    states: dict[frozenset[int], float] = {frozenset(): 1.0}
    for k, pos in enumerate(entries):
        following: dict[frozenset[int], float] = {}
        for taken, weight in states.items():
            kept = taken & later[k]
            following[kept] = following.get(kept, 0.0) + weight * _TYPED_ELSEWHERE
            for row, fit in options[pos]:
                if row != without and row not in taken:
                    key = (taken | {row}) & later[k]
                    following[key] = following.get(key, 0.0) + weight * fit
        states = following
    return sum(states.values())


def _cents(amount: Decimal) -> int:
    return round(amount * 100)


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


class _LagModel:
    """How likely each lag (statement date minus PocketSmith date, in business days) is, learned from this
    run's clear pairs."""

    # Default shape before any learning: posting trails the transaction by 0-3 days; hand entries wander.
    _DEFAULT = {-4: 0.3, -3: 0.4, -2: 0.8, -1: 1.5, 0: 5.0, 1: 4.0, 2: 3.0, 3: 2.0, 4: 1.0}

    def __init__(self, before: int, after: int, samples: Sequence[int]):
        self.lags = list(range(-after, before + 1))
        prior = {lag: self._DEFAULT.get(lag, 0.5 if lag > 0 else 0.2) for lag in self.lags}
        prior_total = sum(prior.values())
        counts = {lag: 0 for lag in self.lags}
        used = [lag for lag in samples if lag in counts]
        for lag in used:
            counts[lag] += 1
        self.learned = len(used) >= _MIN_LAG_SAMPLES
        # The learned shape never fully replaces the default: a feed's lags are tight, but hand entries and
        # weekend postings in the same account are not, and a rare lag must stay possible.
        trust = min(_LAG_MAX_TRUST, len(used) / (len(used) + _LAG_PSEUDO_COUNT)) if self.learned else 0.0
        width = len(self.lags)
        self.evidence: dict[int, float] = {}
        for lag in self.lags:
            learned = counts[lag] / len(used) if self.learned else 0.0
            p = trust * learned + (1 - trust) * prior[lag] / prior_total
            self.evidence[lag] = min(_DATE_MAX, max(_DATE_MIN, math.log(p * width)))
        self.usual = sorted(used)[len(used) // 2] if self.learned else None
        self.peak = max(self.lags, key=lambda lag: (self.evidence[lag], -abs(lag)))   # the likeliest lag

    def __call__(self, lag: int) -> float:
        return self.evidence.get(lag, _DATE_MIN)


@dataclass(slots=True)
class _Pair:
    row: int          # index into records
    pos: int          # index into the matcher's pool
    lag: int          # statement date minus PocketSmith date, in days
    business_lag: int  # the same in business days: banks post on weekdays, so Friday -> Monday is 1
    similarity: float
    similar_to: str   # PocketSmith's text that gave the similarity
    via_memo: bool
    pending: bool
    exact: bool
    amount_evidence: float
    logit: float = 0.0
    shift: int = 0    # business days this pair's block posts later than the account's usual


class _Matcher:
    """The scored, one-to-one matching of distinct rows against one account's existing transactions."""

    def __init__(self, records: Sequence[Transaction], rows: list[int], pool: list[PsTransaction],
                 settings: DedupeSettings):
        import numpy as np

        self.np = np
        self.records = records
        self.rows = rows
        self.settings = settings
        self.taken_by: dict[int, int] = {}      # pool position -> record index that has it
        self.journal_rows: set[int] = set()
        # Only PocketSmith transactions near the statement can match or count towards rarity.
        row_ords = np.fromiter((records[i].date.toordinal() for i in rows), np.int64, len(rows))
        reach = settings.window_before + settings.window_after + settings.rarity_days
        low, high = (int(row_ords.min()) - reach, int(row_ords.max()) + reach) if len(rows) else (0, -1)
        # map() over attrgetter keeps these passes in C: they touch every existing transaction.
        all_ords = np.fromiter(map(date.toordinal, map(attrgetter("date"), pool)), np.int64, len(pool))
        keep = np.nonzero((all_ords >= low) & (all_ords <= high))[0]
        self.pool = [pool[i] for i in keep] if len(keep) < len(pool) else pool
        self.pool_ords = all_ords[keep]
        n = len(self.pool)
        self.pool_cents = np.fromiter(map(round, map(_HUNDRED.__mul__, map(attrgetter("amount"), self.pool))),
                                      np.int64, n)
        self.pool_ids = np.fromiter(map(attrgetter("id"), self.pool), np.int64, n)
        self.pool_pending = np.fromiter(map(_PENDING.__contains__, map(attrgetter("status"), self.pool)), bool, n)
        self.row_ords = row_ords
        self.row_cents = np.fromiter((_cents(records[i].amount) for i in rows), np.int64, len(rows))
        self.usable = np.ones(n, bool)
        self._pool_keys: dict[int, tuple[str, ...]] = {}
        self._sources: dict[int, str] = {}
        self.lag_models: dict[str, _LagModel] = {}
        self._chain_lags: dict[str, list[int]] = {}
        self._clear_lags: dict[str, list[int]] = {}
        self.ambiguous: dict[int, tuple[int, _Pair]] = {}   # row -> (the row it may swap with, pair to show)
        self._row_keys: dict[int, tuple[tuple[str, ...], tuple[str, ...]]] = {}
        self._business_days: dict[date, int] = {}
        self.counted_rows: set[int] = set()      # rows of runs whose lag was found by counting
        self.typed_over_count: set[int] = set()  # rows past the typed entries' count in the duplicate band
        self.run_lags: dict[int, list[int]] = {}  # recurring amount in cents -> its feed pairs' business lags

    # -- exact evidence ---------------------------------------------------------------------------------
    def apply_journal(self, imported: Mapping[str, int], decisions: list[Decision | None]) -> None:
        if not imported:
            return
        np = self.np
        wanted = [i for i in self.rows if self.records[i].external_id in imported]
        if not wanted:
            return
        positions: dict[int, int] = {}
        ids = {imported[self.records[i].external_id] for i in wanted}
        for pos in np.nonzero(np.isin(self.pool_ids, np.fromiter(ids, np.int64, len(ids))))[0]:
            positions.setdefault(int(self.pool_ids[pos]), int(pos))
        for index in wanted:
            ps_id = imported[self.records[index].external_id]
            pos = positions.get(ps_id)
            self.journal_rows.add(index)
            if pos is not None and pos not in self.taken_by:
                self.taken_by[pos] = index
                self.usable[pos] = False
                decisions[index] = Decision(DUPLICATE, ps_id, 1.0, [f"imported before by psimport as #{ps_id} (journal)"],
                                            matched=self.pool[pos])
            else:
                decisions[index] = Decision(REVIEW, None, None, [
                    f"psimport imported this row before as #{ps_id}, which is no longer in this account in "
                    "PocketSmith (deleted, moved or re-dated?); accept to create it again"])

    # -- payee evidence -----------------------------------------------------------------------------------
    def _pool_texts(self, pos: int) -> tuple[str, ...]:
        keys = self._pool_keys.get(pos)
        if keys is None:
            e = self.pool[pos]
            settings = self.settings.payee
            keys = (match_key(e.payee, settings), match_key(e.original_payee, settings),
                    match_key(e.memo, settings) if e.memo else "")
            self._pool_keys[pos] = keys
        return keys

    def _row_texts(self, index: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
        keys = self._row_keys.get(index)
        if keys is None:
            r = self.records[index]
            settings = self.settings.payee
            names = {match_key(r.original_payee, settings), match_key(r.payee, settings)} - {""}
            memo = tuple(k for k in {match_key(f"{r.original_payee or r.payee} {r.memo}", settings),
                                     match_key(r.memo, settings)} if len(k) >= 4) if r.memo else ()
            keys = (tuple(sorted(names)), tuple(sorted(set(memo) - names)))
            self._row_keys[index] = keys
        return keys

    def _source(self, pos: int) -> str:
        """Where a PocketSmith transaction came from, which sets its date habits: "feed" (transaction dates),
        "typed" (a person's rough dates) or "file" (a statement's posting dates). From the API's
        `upload_source` when it names one of them; otherwise guessed: a raw bank text beside a different
        payee is a feed, a person's words (no raw text, no digits, not all capitals) are typed, the rest file."""
        kind = self._sources.get(pos)
        if kind is None:
            e = self.pool[pos]
            kind = self._sources[pos] = _source_kind(e.upload_source, e.payee, e.original_payee)
        return kind

    def _similarity(self, index: int, pos: int) -> tuple[float, str, bool]:
        """Best similarity of the row's name (then memo) keys to PocketSmith's payee/original_payee/memo."""
        names, memos = self._row_texts(index)
        theirs = self._pool_texts(pos)
        e = self.pool[pos]
        shown = (e.payee, e.original_payee, e.memo or "")
        best, best_text, via_memo = -1.0, "", False
        for own, is_memo in ((names, False), (memos, True)):
            for key in own:
                for slot, other in enumerate(theirs):
                    if not other or (slot == 2 and len(other) < 4):
                        continue
                    score = similarity(key, other)
                    if score > best + 1e-9:
                        best, best_text, via_memo = score, shown[slot], is_memo
        # -1 when there was nothing to compare: neither evidence for nor against.
        return best, best_text, via_memo

    # -- candidates -----------------------------------------------------------------------------------------
    def _keys(self):
        np = self.np
        if max(int(np.abs(self.row_cents).max()), int(np.abs(self.pool_cents).max())) < _MAX_KEY_CENTS:
            row_rank, pool_rank = self.row_cents, self.pool_cents
        else:
            _, inverse = np.unique(np.concatenate([self.row_cents, self.pool_cents]), return_inverse=True)
            row_rank = inverse[:len(self.rows)].astype(np.int64)
            pool_rank = inverse[len(self.rows):].astype(np.int64)
        base = min(int(self.row_ords.min()), int(self.pool_ords.min()) if len(self.pool_ords) else 0) \
            - self.settings.window_before - self.settings.rarity_days - 2
        pool_keys = pool_rank * _DAY_SHIFT + (self.pool_ords - base)
        self.pool_order = np.lexsort((self.pool_ids, pool_keys))
        self.pool_sorted_keys = pool_keys[self.pool_order]
        self.row_keys = row_rank * _DAY_SHIFT + (self.row_ords - base)
        self.row_sorted_keys = np.sort(self.row_keys)

    def _rarity(self):
        """Same-amount transactions within rarity_days either side: in PocketSmith, and in the statement."""
        np = self.np
        d = self.settings.rarity_days
        in_pool = (np.searchsorted(self.pool_sorted_keys, self.row_keys + d, "right")
                   - np.searchsorted(self.pool_sorted_keys, self.row_keys - d, "left"))
        in_rows = (np.searchsorted(self.row_sorted_keys, self.row_keys + d, "right")
                   - np.searchsorted(self.row_sorted_keys, self.row_keys - d, "left"))
        return np.maximum(np.maximum(in_pool, in_rows), 1)

    def _supersede_pending(self) -> None:
        """Drop pending transactions whose posted twin is present: the twin is what the statement row matches."""
        np = self.np
        pending = np.nonzero(self.pool_pending & self.usable)[0]
        if not len(pending):
            return
        pending = pending[np.lexsort((self.pool_ids[pending], self.pool_ords[pending]))]
        posted = np.nonzero(~self.pool_pending & self.usable)[0]
        posted = posted[np.lexsort((self.pool_ids[posted], self.pool_ords[posted], self.pool_cents[posted]))]
        posted_cents = self.pool_cents[posted]
        used: set[int] = set()
        tolerance = float(self.settings.pending_tolerance)
        for p in pending.tolist():
            cents = int(self.pool_cents[p])
            slack = int(abs(cents) * tolerance)
            span = posted[np.searchsorted(posted_cents, cents - slack, "left"):
                          np.searchsorted(posted_cents, cents + slack, "right")]
            lag = self.pool_ords[span] - self.pool_ords[p]
            near = span[(np.sign(self.pool_cents[span]) == np.sign(cents))
                        & (lag >= 0) & (lag <= self.settings.window_before)]
            best = None
            for q in near.tolist():
                if q in used:
                    continue
                mine, theirs = self._pool_texts(p), self._pool_texts(q)
                alike = max((similarity(a, b) for a in mine[:2] for b in theirs[:2] if a and b), default=0.0)
                if alike < 0.7 and any(mine[:2]) and any(theirs[:2]):
                    continue
                rank = (abs(int(self.pool_cents[q]) - cents), int(self.pool_ords[q] - self.pool_ords[p]),
                        int(self.pool_ids[q]))
                if best is None or rank < best[0]:
                    best = (rank, q)
            if best is not None:
                used.add(best[1])
                self.usable[p] = False

    def _candidate_pairs(self, nearby, floor: float) -> list[_Pair]:
        """Every same-amount pair within the window, scored with numpy (a million existing transactions give
        ~10 candidates a row); only pairs that could still be chosen become _Pair objects, plus each row's best
        for its reasons. The lags are learned here, from the clear pairs among all candidates."""
        np = self.np
        s = self.settings
        lo = np.searchsorted(self.pool_sorted_keys, self.row_keys - s.window_before, "left")
        hi = np.searchsorted(self.pool_sorted_keys, self.row_keys + s.window_after, "right")
        counts = hi - lo
        total = int(counts.sum())
        self._learn_lags({})
        if total == 0:
            return []
        row_at = np.repeat(np.arange(len(self.rows)), counts)
        starts = np.repeat(lo - (np.cumsum(counts) - counts), counts)
        pos_at = self.pool_order[starts + np.arange(total)]
        journal = np.fromiter((index in self.journal_rows for index in self.rows), bool, len(self.rows))
        keep = self.usable[pos_at] & ~journal[row_at]
        row_at, pos_at = row_at[keep], pos_at[keep]
        if not len(row_at):
            return []
        lag = self.row_ords[row_at] - self.pool_ords[pos_at]
        business = self._business_lags(self.pool_ords[pos_at], self.row_ords[row_at])
        similar, slot, via_memo = self._similarities(row_at, pos_at)
        pending = self.pool_pending[pos_at]
        cents = self.row_cents[row_at]
        base = np.where(cents % 100 != 0, _AMOUNT_ODD_CENTS, np.where(cents % 1000 != 0, _AMOUNT_WHOLE, _AMOUNT_TENS))
        amount = np.maximum(_AMOUNT_FLOOR, base - _RARITY_SLOPE * np.log(nearby[row_at]))
        positions, inverse = np.unique(pos_at, return_inverse=True)
        names = ("feed", "typed", "file")
        source_of = np.fromiter((names.index(self._source(q)) for q in positions.tolist()), np.int64,
                                len(positions))[inverse]

        # Clear pairs: one candidate each way, an odd amount, a clearly alike payee.
        per_row = np.bincount(row_at, minlength=len(self.rows))[row_at]
        per_pos = np.bincount(inverse, minlength=len(positions))[inverse]
        clear = (per_row == 1) & (per_pos == 1) & (similar >= 0.8) & (cents % 100 != 0) & ~pending
        self._learn_lags({name: business[clear & (source_of == code)].tolist() for code, name in enumerate(names)})

        date_evidence = np.zeros(len(row_at))
        # The most the date could add once a block tries its merchant posting a day sooner or later, or (for
        # a source with no lags learned yet) once a first assignment teaches them.
        date_ceiling = np.full(len(row_at), _DATE_MAX)
        for code, name in enumerate(names):
            model = self.lag_models.get(name, self.lag_default)
            table = np.array([_DATE_MIN] + [model(lag) for lag in model.lags] + [_DATE_MIN])
            where = source_of == code
            index = np.clip(business[where] + s.window_after + 1, 0, len(table) - 1)
            date_evidence[where] = table[index]
            if name in self.lag_models:
                date_ceiling[where] = np.maximum(np.maximum(table[np.maximum(index - 1, 0)], table[index]),
                                                 table[np.minimum(index + 1, len(table) - 1)])
        low = np.where(source_of == names.index("typed"), _PAYEE_MIN_TYPED, _PAYEE_MIN)
        payee = np.where(similar < 0, 0.0,
                         np.minimum(_PAYEE_MAX, np.maximum(low, _PAYEE_SLOPE * (similar - _PAYEE_NEUTRAL))))
        logit = _PRIOR + amount + date_evidence + payee

        # Pairs that cannot reach the floor (or, for a leftover PocketSmith transaction, the orphan floor) even
        # then are never chosen; only the numbers were needed.
        wanted = logit - date_evidence + date_ceiling > min(floor, _logit(_ORPHAN_MIN_SCORE))
        order = np.lexsort((-logit, row_at))
        first_of_row = order[np.r_[True, row_at[order][1:] != row_at[order][:-1]]]
        wanted[first_of_row] = True
        pairs = []
        for i in np.nonzero(wanted)[0].tolist():
            k, p = int(row_at[i]), int(pos_at[i])
            e = self.pool[p]
            shown = (e.payee, e.original_payee, e.memo or "")[slot[i]] if similar[i] >= 0 else ""
            pair = _Pair(self.rows[k], p, int(lag[i]), int(business[i]), float(similar[i]), shown,
                         bool(via_memo[i]), bool(pending[i]), True, float(amount[i]))
            pair.logit = float(logit[i])
            pairs.append(pair)
        return pairs

    def _similarities(self, row_at, pos_at):
        """Best similarity per pair over the row's name (then memo) keys and PocketSmith's payee,
        original_payee and memo keys: values (-1 when nothing could be compared), PocketSmith's slot, via memo."""
        np = self.np
        texts: dict[str, int] = {"": -1}

        def code(key: str) -> int:
            return texts.setdefault(key, len(texts) - 1)

        rows, row_inverse = np.unique(row_at, return_inverse=True)
        row_codes = np.full((len(rows), 4), -1, np.int64)   # two name keys, then two memo keys
        for n, k in enumerate(rows.tolist()):
            names, memos = self._row_texts(self.rows[k])
            for j, key in enumerate(names[:2]):
                row_codes[n, j] = code(key)
            for j, key in enumerate(memos[:2]):
                row_codes[n, 2 + j] = code(key)
        positions, pos_inverse = np.unique(pos_at, return_inverse=True)
        pos_codes = np.full((len(positions), 3), -1, np.int64)
        # Feeds repeat their payees: the keys of each distinct text triple are worked out once.
        known: dict[tuple, tuple[int, int, int]] = {}
        payee_settings = self.settings.payee
        triples = map(_TEXTS, map(self.pool.__getitem__, positions.tolist()))
        for n, triple in enumerate(triples):
            codes = known.get(triple)
            if codes is None:
                keys = [match_key(text, payee_settings) if text else "" for text in triple]
                codes = known[triple] = tuple(code(key) if key and not (j == 2 and len(key) < 4) else -1
                                              for j, key in enumerate(keys))
            pos_codes[n] = codes
        left = np.repeat(row_codes[row_inverse], 3, axis=1)           # combos: row key j x PocketSmith slot
        right = np.tile(pos_codes[pos_inverse], (1, 4))
        valid = (left >= 0) & (right >= 0)
        # Sorted distinct pairs; np.unique's plain form would import numpy.ma (7 ms of every preview's start-up).
        combos = np.unique(left[valid] * len(texts) + right[valid], return_index=True)[0]
        strings = list(texts)[1:]
        values = similarities([strings[c // len(texts)] for c in combos.tolist()],
                              [strings[c % len(texts)] for c in combos.tolist()])
        scores = np.full(left.shape, -1.0)
        scores[valid] = values[np.searchsorted(combos, left[valid] * len(texts) + right[valid])]
        # Names before memos, and ties to the earlier combo, as a person would read them.
        best = np.argmax(scores + np.arange(scores.shape[1])[::-1] * 1e-9, axis=1)
        return scores[np.arange(len(best)), best], best % 3, best >= 6

    def _business_lags(self, pool_ords, row_ords):
        """Business days in (PocketSmith date, statement date], negative when the statement is earlier."""
        np = self.np
        epoch = date(1970, 1, 1).toordinal() - 1
        # numpy counts a reversed range differently, so count (earlier, later] and put the sign back.
        earlier = (np.minimum(pool_ords, row_ords) - epoch).astype("datetime64[D]")
        later = (np.maximum(pool_ords, row_ords) - epoch).astype("datetime64[D]")
        return np.busday_count(earlier, later) * np.where(row_ords >= pool_ords, 1, -1)

    def _pending_inexact_pairs(self, open_rows: list[int]) -> list[_Pair]:
        """Rows still unmatched against pending transactions whose amount differs within the tolerance."""
        np = self.np
        s = self.settings
        pending = [p for p in np.nonzero(self.pool_pending & self.usable)[0].tolist() if p not in self.taken_by]
        if not pending or not open_rows:
            return []
        position = {index: k for k, index in enumerate(self.rows)}
        ks = np.array([position[i] for i in open_rows], np.int64)
        cents, ords = self.row_cents[ks], self.row_ords[ks]
        tolerance = float(s.pending_tolerance)
        pairs = []
        for p in pending:
            pc = int(self.pool_cents[p])
            lag = ords - self.pool_ords[p]
            hit = np.nonzero((np.sign(cents) == np.sign(pc)) & (cents != pc)
                             & (np.abs(cents - pc) <= abs(pc) * tolerance)
                             & (lag >= -s.window_after) & (lag <= s.window_before))[0]
            business = self._business_lags(np.full(len(hit), self.pool_ords[p]), ords[hit])
            for h, b in zip(hit.tolist(), business.tolist()):
                index = open_rows[h]
                sim, text, via_memo = self._similarity(index, p)
                pairs.append(_Pair(index, p, int(lag[h]), b, sim, text, via_memo, True, False,
                                   _PENDING_INEXACT_AMOUNT))
        return pairs

    # -- scoring ------------------------------------------------------------------------------------------
    def _learn_lags(self, clear: Mapping[str, list[int]], chosen: Sequence[_Pair] = ()) -> None:
        """Lag models per source from the business lags of clear pairs, and, for a source with too few of
        those to learn anything, of the clearly alike pairs a first assignment `chosen`: a feed's transaction
        dates and an earlier upload's posting dates lag differently."""
        if clear:
            self._clear_lags = {source: list(lags) for source, lags in clear.items() if lags}
        by_source = {source: list(lags) for source, lags in self._clear_lags.items()}
        # Only there: elsewhere a chain's first assignment would just confirm itself.
        for pair in chosen:
            source = self._source(pair.pos)
            if len(self._clear_lags.get(source, ())) < _MIN_LAG_SAMPLES and pair.similarity >= 0.8 \
                    and not pair.pending:
                self._chain_lags.setdefault(source, []).append(pair.business_lag)
        for source, lags in self._chain_lags.items():
            by_source[source] = by_source.get(source, []) + lags
        before, after = self.settings.window_before, self.settings.window_after
        self.lag_default = _LagModel(before, after, [lag for lags in by_source.values() for lag in lags])
        self.lag_models = {source: _LagModel(before, after, lags) for source, lags in by_source.items()
                           if len(lags) >= _MIN_LAG_SAMPLES}
        # Feed and hand-typed entries both carry the transaction date: one stands in for the other when it has
        # too few clear pairs of its own (uploads of statement text carry posting dates and never do).
        pooled = by_source.get("feed", []) + by_source.get("typed", [])
        for source in ("feed", "typed"):
            if source not in self.lag_models and len(pooled) >= _MIN_LAG_SAMPLES:
                self.lag_models[source] = _LagModel(before, after, pooled)

    def _lags(self, pos: int) -> _LagModel:
        return self.lag_models.get(self._source(pos), self.lag_default)

    def _score(self, pair: _Pair, shift: int = 0) -> None:
        """Log-odds that the pair is one transaction. `shift`: this block's merchant posts that many business
        days later than the account's usual (statement-text uploads carry posting dates and never shift)."""
        source = self._source(pair.pos)
        if pair.similarity < 0:
            payee = 0.0
        else:
            low = _PAYEE_MIN_TYPED if source == "typed" else _PAYEE_MIN
            payee = min(_PAYEE_MAX, max(low, _PAYEE_SLOPE * (pair.similarity - _PAYEE_NEUTRAL)))
        pair.shift = 0 if source == "file" else shift
        pair.logit = _PRIOR + pair.amount_evidence + self._lags(pair.pos)(pair.business_lag - pair.shift) + payee

    # -- assignment ---------------------------------------------------------------------------------------
    def _assign(self, pairs: list[_Pair], floor: float) -> list[_Pair]:
        """Optimal one-to-one choice among pairs scoring above `floor` (log-odds), block by block."""
        live = [p for p in pairs if p.logit > floor]
        parent: dict[Any, Any] = {}

        def find(x):
            root = x
            while parent.setdefault(root, root) != root:
                root = parent[root]
            while parent[x] != root:
                parent[x], x = root, parent[x]
            return root

        for pair in live:
            a, b = find(("r", pair.row)), find(("p", pair.pos))
            if a != b:
                parent[a] = b
        blocks: dict[Any, list[_Pair]] = {}
        for pair in live:
            blocks.setdefault(find(("r", pair.row)), []).append(pair)
        chosen: list[_Pair] = []
        for block in blocks.values():
            if len(block) == 1:
                chosen.extend(block)
            else:
                solved = self._solve_shifted(block, floor)
                self._note_run(block, solved)
                chosen.extend(solved)
                self._find_ambiguity(block, solved, floor)
        return chosen

    def _solve_shifted(self, block: list[_Pair], floor: float) -> list[_Pair]:
        """Solve a block, and for a long run of one recurring amount also try the merchant posting a business
        day sooner or later than the account's usual: a weekday coffee chain fits a shifted lag almost as well,
        so only its ends, doubles and gaps can tell, and only a clear gain in likelihood is taken."""
        solved = self._solve_block(block, floor)
        rows = {p.row for p in block}
        if not _SHIFT_MIN_ROWS <= len(rows) <= _SHIFT_MAX_ROWS:
            return solved
        counted = self._counted_lag(block)
        if counted is not None:
            lag, feed = counted
            self.counted_rows.update(rows)
            for pair in block:
                # Each kind of entry around the run's lag: a feed's dates exactly, typed ones give or take.
                self._score(pair, lag - self._lags(pair.pos).peak)
            for pair in feed:
                if not lag <= pair.business_lag <= lag + _RUN_LATE_DAYS:
                    # A bank posts a run's purchases at its lag or a little later (a batch run late), never sooner.
                    pair.logit = min(pair.logit, floor - 1.0)
            return self._solve_block(block, floor)
        best_total, best_shift, best_solved = sum(p.logit - floor for p in solved), 0, solved
        for shift in (-1, 1):
            for pair in block:
                self._score(pair, shift)
            trial = self._solve_block(block, floor)
            total = sum(p.logit - floor for p in trial)
            if total > best_total + _SHIFT_GAIN:
                best_total, best_shift, best_solved = total, shift, trial
        for pair in block:
            self._score(pair, best_shift)
        return best_solved

    def _note_run(self, block: list[_Pair], solved: list[_Pair]) -> None:
        """Keep the posting lags (its feed pairs' business lags, as solved) of a recurring amount for its typed
        entries: a run (`_RUN_MIN_ROWS` feed pairs or more, as for counting), or an amount that only one shop
        in the statement charges (a weekly direct debit) with a few feed pairs to learn its lag from."""
        lags = [p.business_lag for p in solved if p.exact and not p.pending and self._source(p.pos) == "feed"]
        one_shop = len({self._row_texts(p.row)[0] for p in block}) == 1
        if len(lags) >= _RUN_MIN_ROWS or (one_shop and len(lags) >= _MIN_LAG_SAMPLES):
            self.run_lags[_cents(self.records[block[0].row].amount)] = lags

    def _counted_lag(self, block: list[_Pair]) -> tuple[int, list[_Pair]] | None:
        """The business days by which a run of one amount posts after the feed's dates, found by counting:
        the statement's rows and the feed's items, day by day, line up at the run's true lag; and the run's
        feed pairs.

        A weekday run looks the same at any lag, but for its gaps (a day without the purchase), its doubles
        (two on one day) and its drops (a day the feed missed): those line up at one lag only. Each lag
        from 0 to `_RUN_MAX_LAG` is scored by `_alignment_cost` per day of the overlap; the best wins if it
        is clearly best (`_RUN_CLEAR`), else None and the log-odds decide."""
        feed = [p for p in block if p.exact and not p.pending and self._source(p.pos) == "feed"]
        rows, items = {p.row for p in feed}, {p.pos for p in feed}
        if len(rows) < _RUN_MIN_ROWS or len(items) < _RUN_MIN_ROWS:
            return None
        statement = Counter(self._business_day(self.records[row].date) for row in rows)
        fed = Counter(self._business_day(self.pool[pos].date) for pos in items)
        # From the feed's first pending item of this amount on, its posted items are not all in yet.
        pending = [self._business_day(self.pool[p.pos].date) for p in block if p.exact and p.pending]
        last_fed = min(max(fed), min(pending) - 1) if pending else max(fed)
        rates = []
        for lag in range(_RUN_MAX_LAG + 1):
            low, high = max(min(statement), min(fed) + lag), min(max(statement), last_fed + lag)
            if high - low + 1 < _SHIFT_MIN_ROWS:
                continue
            rates.append((_alignment_cost(statement, fed, lag, low, high) / (high - low + 1), lag))
        if len(rates) < 2:
            return None
        rates.sort()
        (best, lag), (second, _) = rates[0], rates[1]
        if second - best < _RUN_CLEAR:
            return None
        return lag, feed

    def _business_day(self, day: date) -> int:
        """Business days from a fixed start to `day`, inclusive: a weekend day counts as the Friday before."""
        found = self._business_days.get(day)
        if found is None:
            np = self.np
            found = self._business_days[day] = int(np.busday_count(np.datetime64("1970-01-01"),
                                                                    np.datetime64(day + timedelta(days=1))))
        return found

    def _twin_key(self, index: int) -> tuple:
        r = self.records[index]
        return r.date, _cents(r.amount), self._row_texts(index)

    def _find_ambiguity(self, block: list[_Pair], solved: list[_Pair], floor: float) -> None:
        """Rows whose action could swap with another's at almost no cost: which of them PocketSmith holds
        cannot be told (a coffee typed by hand on a day between two statement coffees). Both become review.

        From each unmatched row, follow alternating paths (take a matched transaction, release its row, let
        that row take another ...); the gain of a path that ends by releasing row r is how much less likely
        "r is new" is than the chosen answer. The chosen answer is optimal, so gains are <= 0."""
        if len(block) > _AMBIGUITY_MAX_PAIRS:
            return
        holder = {p.pos: p for p in solved}
        matched_rows = {p.row for p in solved}
        by_row: dict[int, list[_Pair]] = {}
        for pair in block:
            by_row.setdefault(pair.row, []).append(pair)
        for start in by_row:
            if start in matched_rows:
                continue
            best: dict[int, float] = {}
            first: dict[int, _Pair] = {}
            typed: dict[int, bool] = {}
            frontier: list[tuple[int, float, _Pair | None, bool]] = [(start, 0.0, None, False)]
            for _ in range(_AMBIGUITY_DEPTH):
                following = []
                for row, gain, opening, seen_typed in frontier:
                    for pair in by_row.get(row, ()):
                        kept = holder.get(pair.pos)
                        if kept is None or kept.row == row:
                            continue
                        released = gain + (pair.logit - floor) - (kept.logit - floor)
                        if released > best.get(kept.row, -math.inf) + 1e-9:
                            hand = seen_typed or self._source(pair.pos) == "typed"
                            best[kept.row], first[kept.row], typed[kept.row] = released, opening or pair, hand
                            following.append((kept.row, released, opening or pair, hand))
                frontier = following
                if not frontier:
                    break
            # The closest alternative only: the row that would be new instead of this one, if any is close.
            # Two rows alike in date, amount and text are interchangeable: swapping them changes nothing.
            rivals = [(gain, row) for row, gain in best.items() if self._twin_key(row) != self._twin_key(start)]
            if not rivals:
                continue
            rivals.sort(reverse=True)
            for rank, (gain, row) in enumerate(rivals):
                # Dates typed by hand are rough, so which of two rows such an entry is can be told less surely,
                # and more than one row may be it.
                margin = (_AMBIGUITY_MARGIN_TYPED if typed[row] else
                          _AMBIGUITY_MARGIN_COUNTED if start in self.counted_rows else _AMBIGUITY_MARGIN)
                if gain < -margin or rank >= (_AMBIGUITY_RIVALS_TYPED if typed[row] else 1):
                    continue
                self.ambiguous.setdefault(start, (row, first[row]))
                self.ambiguous.setdefault(row, (start, first[row]))

    def _solve_block(self, block: list[_Pair], floor: float) -> list[_Pair]:
        rows = sorted({p.row for p in block}, key=lambda i: (self.records[i].date, i))
        by_row: dict[int, list[_Pair]] = {}
        for pair in block:
            by_row.setdefault(pair.row, []).append(pair)
        chosen: list[_Pair] = []
        taken: set[int] = set()
        start = 0
        while start < len(rows):
            chunk = rows[start:start + _BLOCK_ROWS + _BLOCK_MARGIN]
            final = set(rows[start:start + _BLOCK_ROWS]) if start + _BLOCK_ROWS < len(rows) else set(chunk)
            candidates = [p for i in chunk for p in by_row[i] if p.pos not in taken]
            positions = sorted({p.pos for p in candidates}, key=lambda q: (self.pool[q].date, self.pool[q].id))
            if not positions:
                start += _BLOCK_ROWS
                continue
            row_at = {i: k for k, i in enumerate(chunk)}
            col_at = {q: k for k, q in enumerate(positions)}
            weights = {}
            lookup = {}
            for pair in candidates:
                if pair.logit > floor:
                    cell = row_at[pair.row], col_at[pair.pos]
                    weights[cell] = pair.logit - floor
                    lookup[cell] = pair
            for cell in max_weight_assignment(len(chunk), len(positions), weights):
                pair = lookup[cell]
                if pair.row in final:
                    chosen.append(pair)
                    taken.add(pair.pos)
            start += _BLOCK_ROWS
        return chosen

    # -- the whole matching ----------------------------------------------------------------------------------
    def match(self, decisions: list[Decision | None]) -> None:
        open_rows = [i for i in self.rows if decisions[i] is None]
        if not open_rows:
            return
        if not self.pool:
            for index in open_rows:
                decisions[index] = self._create(index, None)
            return
        self._keys()
        nearby = self._rarity()
        self.nearby = {index: int(nearby[k]) for k, index in enumerate(self.rows)}
        self._supersede_pending()
        floor = _logit(self.settings.review_threshold)
        pairs = self._candidate_pairs(nearby, floor)
        # A first assignment shows the lags of recurring amounts too (a coffee chain posting a day late);
        # where one-off pairs were too few, learn from it as well, then assign again.
        assigned_list = self._assign(pairs, floor)
        self._learn_lags({}, assigned_list)
        if self._chain_lags:
            self.ambiguous.clear()
            for pair in pairs:
                self._score(pair)
            assigned_list = self._assign(pairs, floor)
        assigned = {p.row: p for p in assigned_list}
        for pair in assigned.values():
            self.taken_by[pair.pos] = pair.row
        still_open = [i for i in open_rows if i not in assigned]
        inexact = self._pending_inexact_pairs(still_open)
        for pair in inexact:
            self._score(pair)
        for pair in self._assign(inexact, floor):
            assigned[pair.row] = pair
            self.taken_by[pair.pos] = pair.row
        best: dict[int, _Pair] = {}
        for pair in pairs + inexact:
            if pair.row not in best or pair.logit > best[pair.row].logit:
                best[pair.row] = pair
        typed_odds = self._typed_run_odds(pairs, assigned, open_rows)
        for index in typed_odds:
            self.ambiguous.pop(index, None)
        orphans = self._orphans(pairs, assigned, [i for i in open_rows if i not in typed_odds])
        for index in open_rows:
            pair = assigned.get(index)
            if index in typed_odds:
                decisions[index] = self._typed_run_decision(*typed_odds[index])
            elif index in self.ambiguous:
                decisions[index] = self._ambiguous_decision(index, pair)
            elif pair is not None:
                decisions[index] = self._matched(pair)
            elif index in orphans:
                decisions[index] = self._orphan_decision(orphans[index])
            else:
                decisions[index] = self._create(index, best.get(index))

    # -- a run against entries typed by hand -------------------------------------------------------------------
    def _typed_run_odds(self, pairs: list[_Pair], assigned: dict[int, _Pair],
                        open_rows: list[int]) -> dict[int, tuple[float, _Pair]]:
        """Row -> (the probability that PocketSmith holds it, the typed pair to show) for the rows of a
        recurring amount (a run like the daily coffee, or a weekly direct debit only one shop charges: see
        `_note_run`) that entries typed by hand could be, unless something else in PocketSmith holds them.

        Which statement coffee a typed "Coffee" is can often not be told: the person typed some of them and
        forgot the rest, each on the day they remember. One best assignment then loses a row and doubles
        another a few days apart, whichever it picks. Instead, every way the typed entries can be the run's
        rows is weighed (`_typed_total`, a small dynamic programme over the entries in date order), with odds
        learned from this statement and PocketSmith alone: how often this person types a purchase at all
        (`_typing_rate`), how many days off their typed dates are (`_typed_slips`, from typed entries matched
        outside runs), and on which days the run's rows were bought (the run's own feed pairs: its posting
        lags, late batches included, and the weekdays it is bought on). A row's probability of being held is
        the share of that weight in which some typed entry is it."""
        if not self.run_lags:
            return {}
        typed = [p for p in pairs if p.exact and not p.pending and self._source(p.pos) == "typed"
                 and _cents(self.records[p.row].amount) in self.run_lags]
        if not typed:
            return {}
        slips = self._typed_slips(assigned)
        rate = self._typing_rate(pairs, assigned, open_rows)
        if slips is None or rate is None:
            return {}
        odds: dict[int, tuple[float, _Pair]] = {}
        free = set(open_rows)
        by_amount: dict[int, list[_Pair]] = {}
        for pair in typed:
            held = assigned.get(pair.row)
            if pair.row in free and (held is None or self._source(held.pos) == "typed"):
                by_amount.setdefault(_cents(self.records[pair.row].amount), []).append(pair)
        for cents, group in by_amount.items():
            lags = self.run_lags[cents]
            if not lags:
                continue
            posting = {lag: n / len(lags) for lag, n in Counter(lags).items()}
            weekdays = self._weekday_shares([self.pool[q].date for q in self._run_feed_items(cents)])
            options: dict[int, list[tuple[int, float]]] = {}
            best: dict[int, tuple[float, _Pair]] = {}
            for pair in group:
                fit = self._typed_fit(self.records[pair.row].date, self.pool[pair.pos].date, posting, weekdays,
                                      slips)
                if fit <= 0:
                    continue
                options.setdefault(pair.pos, []).append((pair.row, rate / (1 - rate) * fit))
                if pair.row not in best or fit > best[pair.row][0]:
                    best[pair.row] = (fit, pair)
            entries = sorted(options, key=lambda q: (self.pool[q].date, self.pool[q].id))
            total = _typed_total(entries, options, None)
            if total <= 0:
                continue
            group_odds = {}
            for row, (_, pair) in best.items():
                shown = assigned.get(row)
                group_odds[row] = (1.0 - _typed_total(entries, options, row) / total,
                                   shown if shown is not None and self._source(shown.pos) == "typed" else pair)
            # Each row is banded on its own odds, so more look-alike rows than typed entries could all pass the
            # duplicate band (five coffees at 0.8 against four entries) and one would be lost: at most as many
            # rows as there are entries are duplicates; the least likely of the rest go to review.
            surest = sorted((row for row, (held, _) in group_odds.items() if held >= 1 - _TYPED_UNSURE),
                            key=lambda row: (-group_odds[row][0], row))
            self.typed_over_count.update(surest[len(entries):])
            odds.update(group_odds)
        return odds

    def _run_feed_items(self, cents: int) -> list[int]:
        same = self.np.nonzero((self.pool_cents == cents) & ~self.pool_pending)[0].tolist()
        return [pos for pos in same if self._source(pos) == "feed"]

    @staticmethod
    def _weekday_shares(days: Sequence[date]) -> list[float]:
        """How a purchase's day falls on the days of its business day (Friday, Saturday and Sunday share one):
        the share of each weekday among `days` within its business day, so a weekday habit is bought on the
        Friday and a shop open at weekends on any of the three."""
        counts = Counter(day.weekday() for day in days)
        weekend = counts[4] + counts[5] + counts[6]
        return [1.0] * 4 + ([counts[d] / weekend for d in (4, 5, 6)] if weekend else [1.0, 0.0, 0.0])

    def _purchase_days(self, posted: date, posting: Mapping[int, float],
                       weekdays: Sequence[float]) -> dict[date, float]:
        """The calendar days a row posted on `posted` was bought on, with their odds: its business day minus
        each posting lag, spread over that business day's calendar days by `weekdays`."""
        days: dict[date, float] = {}
        index = self._business_day(posted)
        for back in range(7 * (max(posting) + 2) // 5 + 3):
            day = posted - timedelta(days=back)
            share = posting.get(index - self._business_day(day), 0.0) * weekdays[day.weekday()]
            if share > 0:
                days[day] = days.get(day, 0.0) + share
        return days

    def _typed_fit(self, posted: date, typed: date, posting: Mapping[int, float], weekdays: Sequence[float],
                   slips: Mapping[int, float]) -> float:
        """The odds that an entry typed on `typed` is the purchase a row posted on `posted` stands for."""
        return sum(p * slips.get((typed - day).days, 0.0)
                   for day, p in self._purchase_days(posted, posting, weekdays).items())

    def _typed_slips(self, assigned: dict[int, _Pair]) -> dict[int, float] | None:
        """How many calendar days off this person's typed dates are, learned from the typed entries matched
        with confidence outside runs (a one-off shop, a rare amount). Each such entry's purchase day is its
        row's posting day less its shop's posting lag: the median lag of the shop's bank-feed matches (the
        feed carries the purchase date), or of all feed matches for a shop without any, give or take the
        bank's late batches (how the feed's lags spread around each shop's median). Which of those it was is
        not known, so the slips are estimated by expectation-maximisation: each entry's possible purchase days
        weighed by the current estimate, a few rounds. A small pseudo-count keeps slips of up to
        `_TYPED_MAX_SLIP` days possible."""
        threshold = _logit(self.settings.duplicate_threshold)
        confident = [p for p in assigned.values() if p.exact and p.row not in self.counted_rows
                     and p.logit >= threshold]
        typed = [p for p in confident if self._source(p.pos) == "typed"]
        if len(typed) < _MIN_LAG_SAMPLES:
            return None
        shop_lags: dict[tuple[str, ...], list[int]] = {}
        feed_days = []
        for pair in confident:
            if self._source(pair.pos) == "feed":
                shop_lags.setdefault(self._row_texts(pair.row)[0], []).append(pair.business_lag)
                feed_days.append(self.pool[pair.pos].date)
        if not shop_lags:
            return None
        medians = {shop: sorted(lags)[len(lags) // 2] for shop, lags in shop_lags.items()}
        spread = Counter(lag - medians[shop] for shop, lags in shop_lags.items() for lag in lags)
        spread_total = sum(spread.values())
        everyone = sorted(lag for lags in shop_lags.values() for lag in lags)
        overall = everyone[len(everyone) // 2]
        weekdays = self._weekday_shares(feed_days)
        candidates = []
        for pair in typed:
            centre = medians.get(self._row_texts(pair.row)[0], overall)
            posting = {centre + d: n / spread_total for d, n in spread.items()}
            typed_day = self.pool[pair.pos].date
            bought = self._purchase_days(self.records[pair.row].date, posting, weekdays)
            candidates.append({(typed_day - day).days: p for day, p in bought.items()
                               if abs((typed_day - day).days) <= _TYPED_MAX_SLIP})
        slips = _slip_odds(0.5, 0.5)
        for _ in range(_TYPED_EM_ROUNDS):
            # Expected counts of entries on the day and off it, and of the days beyond the first off.
            right, off, far = _TYPED_PSEUDO, _TYPED_PSEUDO, _TYPED_PSEUDO
            for options in candidates:
                weights = {slip: p * slips[slip] for slip, p in options.items()}
                total = sum(weights.values())
                if not total:
                    continue
                for slip, w in weights.items():
                    if slip == 0:
                        right += w / total
                    else:
                        off += w / total
                        far += w / total * (abs(slip) - 1)
            slips = _slip_odds(right / (right + off), far / (far + off))
        return slips

    def _typing_rate(self, pairs: list[_Pair], assigned: dict[int, _Pair], open_rows: list[int]) -> float | None:
        """The share of purchases this person typed by hand: typed entries (of any amount some row of the
        statement has) against the statement's rows in the days they cover that nothing else in PocketSmith
        holds. A habit of the person, not of one shop, so all amounts count and the estimate rests on a few
        dozen rows, not a handful."""
        typed = sorted({p.pos for p in pairs if not p.pending and self._source(p.pos) == "typed"})
        if not typed:
            return None
        centre = self.lag_models.get("feed", self.lag_default).usual or 0
        days = [self._business_day(self.pool[pos].date) for pos in typed]
        first, last = min(days), max(days)
        rows = 0
        for index in open_rows:
            held = assigned.get(index)
            if held is not None and self._source(held.pos) != "typed":
                continue
            if first <= self._business_day(self.records[index].date) - centre <= last:
                rows += 1
        if not rows:
            return None
        return min(_TYPED_MAX_RATE, len(typed) / max(rows, len(typed)))

    def _orphans(self, pairs: list[_Pair], assigned: dict[int, _Pair], open_rows: list[int]) -> dict[int, _Pair]:
        """Rows to review because a PocketSmith transaction of the same amount, well inside the statement's
        period, matched nothing else. A statement lists every transaction of its period, so such a leftover
        ("cash" typed by hand for an ATM withdrawal) is most likely one of this statement's rows after all."""
        if not open_rows:
            return {}
        first = min(self.records[i].date for i in open_rows)
        last = max(self.records[i].date for i in open_rows) - timedelta(days=self.settings.window_after)
        free_rows = {i for i in open_rows if i not in assigned and i not in self.ambiguous}
        candidates: dict[int, list[_Pair]] = {}
        for pair in pairs:
            if pair.pos in self.taken_by or pair.row not in free_rows or pair.pending:
                continue
            if first <= self.pool[pair.pos].date <= last and _sigmoid(pair.logit) >= _ORPHAN_MIN_SCORE:
                candidates.setdefault(pair.pos, []).append(pair)
        chosen: dict[int, _Pair] = {}
        ranked = sorted((max(group, key=lambda p: (p.logit, -p.row)) for group in candidates.values()),
                        key=lambda p: (-p.logit, self.pool[p.pos].date, self.pool[p.pos].id))
        for pair in ranked:
            group = [p for p in candidates[pair.pos] if p.row not in chosen]
            if group:
                pick = max(group, key=lambda p: (p.logit, -p.row))
                chosen[pick.row] = pick
        return chosen

    def _typed_run_decision(self, held: float, pair: _Pair) -> Decision:
        e = self.pool[pair.pos]
        weighed = (f"typed by hand: weighing every way the typed {e.amount} entries can be the statement's rows, "
                   f"PocketSmith holds this one with probability {held:.2f}")
        reasons = [*self._pair_reasons(pair), weighed]
        if held >= 1 - _TYPED_UNSURE and pair.row in self.typed_over_count:
            reasons[-1] += (f"; but more of these rows are that likely than there are typed {e.amount} entries, and "
                            "one entry is one row")
            return Decision(REVIEW, e.id, round(held, 4), reasons, matched=e)
        if held >= 1 - _TYPED_UNSURE:
            return Decision(DUPLICATE, e.id, round(held, 4), reasons, matched=e)
        if held > _TYPED_UNSURE:
            return Decision(REVIEW, e.id, round(held, 4), reasons, matched=e)
        return Decision(CREATE, None, round(held, 4), reasons)

    def _orphan_decision(self, pair: _Pair) -> Decision:
        e = self.pool[pair.pos]
        reasons = self._pair_reasons(pair) + [
            f"nothing else in this statement matches PocketSmith's {e.amount} '{e.payee or e.original_payee}' "
            f"on {e.date.isoformat()}, though the statement covers that day"]
        return Decision(REVIEW, e.id, round(_sigmoid(pair.logit), 4), reasons, matched=e)

    # -- decisions and their reasons -----------------------------------------------------------------------
    def _pair_reasons(self, pair: _Pair) -> list[str]:
        record, e = self.records[pair.row], self.pool[pair.pos]
        reasons = ["same amount" if pair.exact else
                   f"amount {record.amount} vs {e.amount} pending in PocketSmith (posted {abs(record.amount - e.amount)} "
                   f"{'more' if abs(record.amount) > abs(e.amount) else 'less'})"]
        if pair.lag == 0:
            when = "same date"
        elif pair.lag > 0:
            when = f"{plural(pair.lag, 'day')} later"
        else:
            when = f"{plural(-pair.lag, 'day')} earlier"
        usual = self._lags(pair.pos).usual
        if usual is not None:
            usual += pair.shift
        if usual is not None and pair.business_lag != 0 and pair.business_lag == usual:
            when += " (the usual posting lag here)"
        reasons.append(when)
        if pair.similarity >= 0:
            text = f"payee {round(pair.similarity * 100)}% similar to '{pair.similar_to}'"
            reasons.append(text + " (via the memo)" if pair.via_memo else text)
        nearby = self.nearby.get(pair.row, 1)
        if pair.exact and nearby >= 3:
            reasons.append(f"amount common here ({nearby} within {self.settings.rarity_days} days)")
        if pair.pending:
            reasons.append("pending in PocketSmith; the bank feed will replace it with the posted one")
        return reasons

    def _matched(self, pair: _Pair) -> Decision:
        score = round(_sigmoid(pair.logit), 4)
        e = self.pool[pair.pos]
        # A pending amount that differs (a tip, a hold) is the same purchase when everything else says so:
        # the feed replaces the pending one with this posted one, so creating the row would make it two.
        if score >= self.settings.duplicate_threshold and (pair.exact or pair.pending):
            return Decision(DUPLICATE, e.id, score, self._pair_reasons(pair), matched=e)
        if score >= self.settings.review_threshold:
            return Decision(REVIEW, e.id, score, self._pair_reasons(pair), matched=e)
        return self._create(pair.row, pair)

    def _ambiguous_decision(self, index: int, pair: _Pair | None) -> Decision:
        other, contested = self.ambiguous[index]
        shown = pair or contested
        e = self.pool[shown.pos]
        score = round(_sigmoid(shown.logit), 4)
        if pair is not None:
            note = f"{_where(self.records[other])} fits it almost as well: which of the two PocketSmith holds is unclear"
            reasons = self._pair_reasons(pair) + [note]
        else:
            c = self.pool[contested.pos]
            reasons = self._pair_reasons(contested) + [
                f"the {c.amount} '{c.payee or c.original_payee}' on {c.date.isoformat()} fits this row almost as "
                f"well as {_where(self.records[other])}: which of the two PocketSmith holds is unclear"]
        return Decision(REVIEW, e.id, score, reasons, matched=e)

    def _create(self, index: int, best: _Pair | None) -> Decision:
        record = self.records[index]
        s = self.settings
        if best is None:
            return Decision(CREATE, None, None, [
                f"nothing of {record.amount} in PocketSmith from {plural(s.window_before, 'day')} before to "
                f"{plural(s.window_after, 'day')} after"])
        e = self.pool[best.pos]
        holder = self.taken_by.get(best.pos)
        score = round(_sigmoid(best.logit), 4)
        if holder is not None and holder != index:
            # The score stays (it is what this row came closest to), so the reason must say it went elsewhere.
            reason = (f"closest candidate: the {e.amount} '{e.payee or e.original_payee}' on {e.date.isoformat()} "
                      f"scored {score:.2f} but is the match of {_where(self.records[holder])}, so this row is new")
        else:
            reason = (f"closest: {e.amount} '{e.payee or e.original_payee}' on {e.date.isoformat()}, "
                      f"score {score:.2f} (" + ", ".join(self._pair_reasons(best)) + ")")
        return Decision(CREATE, None, score, [reason])
