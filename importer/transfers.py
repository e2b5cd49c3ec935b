"""Transfers between the user's own accounts: the two sides of the same money paired, one to one.

Money that leaves one of the user's accounts and arrives in another shows as spending twice in
PocketSmith unless both sides are transfers. A side is a row of the plan to create, or a
transaction PocketSmith already holds in another of the user's accounts; a pair is an outflow and
an inflow of the same amount in two different accounts, at most `days` apart, where at least one
side's text says so: a transfer word ("TRANSFER TO", "PAYMENT RECEIVED", "TFR"...) or the last
digits of the other account's number. Among the candidates the pairs are chosen one to one and
optimally, cluster by cluster (a few sides by exhaustive search; more by `importer.assignment`,
as dedupe does), the score preferring the other account's digits, then
transfer words, then closer dates.

A pairing that another, different one fits almost as well (one repayment, two accounts it could
have come from) is not made: each row it concerns says so in its reasons. A rule with
`is_transfer: false` keeps its rows out of every pair. Pairs only mark what is new: the rows to
create get `is_transfer`, `transfer_with` and, where no rule chose a category, the transfer category;
a side already in PocketSmith is named, never changed.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cached_property
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from importer.schema import Bool, Keys, Text, Whole, check
from importer.text import plural

if TYPE_CHECKING:
    from importer.plan import PlanRow
    from importer.pocketsmith.models import PsTransaction

__all__ = ["TransferSettings", "TRANSFER_SETTINGS", "Transfer", "pair_transfers", "apply_transfers",
           "TRANSFER_WORDS", "window", "transfer_category", "find_transfers"]

# The `transfers:` section of psimport.yaml (see TransferSettings).
TRANSFER_SETTINGS = Keys({
    "enabled": Bool(),
    "days": Whole(minimum=0, what="a whole number of days"),
    "category": Text("a category title or 'Parent > Child' path", nonempty=True),
}, what="a mapping of settings")

# What a bank writes on either side of money moved between two of one person's accounts.
TRANSFER_WORDS = re.compile(
    r"\b(?:transfer|trans(?:fer)?\s+(?:to|from)|tfr|xfer|payment\s+received|payment\s*-?\s*thank\s*you|thank\s+you"
    r"|repayment|card\s+payment|cc\s+payment|internal|own\s+account|sweep|umbuchung|overboeking|virement)\b",
    re.IGNORECASE)

_NUMBER = re.compile(r"\d+")
_AMBIGUITY_MARGIN = 0.1     # a rival pairing this close in score (a day is 0.9/(days+1)) cannot be told apart
_DIGITS = 4                 # how many of an account number's last digits a statement line quotes
_ARRIVES_BEFORE = 1         # days the arriving side may be dated before the leaving one (banks date differently)


@dataclass(frozen=True)
class TransferSettings:
    """How transfers are found: `days` apart at most; `category` for both new sides (a rule's choice wins)."""

    enabled: bool = True
    days: int = 4
    category: str | None = None

    @classmethod
    def from_config(cls, section: Mapping[str, Any] | None, *, file: str | None = None) -> "TransferSettings":
        values = dict(check(TRANSFER_SETTINGS, section or {}, file=file, at="transfers"))
        return cls(**values)


@dataclass(eq=False)         # compared and hashed by identity: each side is one row or one transaction
class _Side:
    """One side a transfer can have: a plan row (`row`) or a PocketSmith transaction (`held`).

    Its text and what the text says are worked out only for sides that meet a candidate other side:
    most rows have no opposite amount in another account within days, and cost no more than a lookup.
    """

    account: int
    day: int                        # date.toordinal()
    cents: int                      # signed
    row: "PlanRow | None" = None
    held: "PsTransaction | None" = None

    @cached_property
    def text(self) -> str:
        """What the bank wrote and what it is called now (after rules), to look for transfer words in."""
        if self.row is not None:
            record = self.row.record
            parts = (record.original_payee, self.row.payee or record.payee, record.memo)
        else:
            assert self.held is not None
            parts = (self.held.original_payee, self.held.payee, self.held.memo)
        return " ".join(filter(None, parts)).casefold()

    @cached_property
    def says_transfer(self) -> bool:
        """A transfer word in its text."""
        return bool(TRANSFER_WORDS.search(self.text))

    @cached_property
    def numbers(self) -> frozenset[str]:
        """Its text's runs of digits: one may be the other account's number's tail."""
        return frozenset(_NUMBER.findall(self.text))

    def reference(self) -> dict[str, int]:
        """The side as a preview row's `transfer_with` names it."""
        if self.row is not None:
            return {"index": self.row.index}
        assert self.held is not None
        return {"transaction_id": self.held.id}

    def twin_key(self) -> tuple:
        """Sides alike in all of this are interchangeable: which of them pairs changes nothing."""
        return self.account, self.day, self.cents, self.text


@dataclass(frozen=True)
class Transfer:
    """A chosen pair: `out` the money leaving, `into` the money arriving; each a plan row or a held transaction."""

    out: _Side
    into: _Side
    score: float


def _cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


def _tail_digits(number: str | None) -> str | None:
    digits = re.sub(r"\D", "", number or "")
    return digits[-_DIGITS:] if len(digits) >= _DIGITS else None


def pair_transfers(rows: Sequence["PlanRow"], held: Mapping[int, Iterable["PsTransaction"]],
                   numbers: Mapping[int, Iterable[str | None]], settings: TransferSettings = TransferSettings(),
                   ) -> tuple[list[Transfer], dict[int, list[str]]]:
    """The transfers among `rows` (those to create, not kept out by a rule) and `held` (account → transactions).

    `numbers` are each account's numbers as PocketSmith and the statements know them. Returns the pairs,
    and for rows left unpaired because two pairings fit alike, their reasons (by row index).
    """
    if not settings.enabled:
        return [], {}
    digits = {account: {d for d in map(_tail_digits, values) if d} for account, values in numbers.items()}
    # Grouped by signed amount (a Decimal caches its hash, and equal values hash alike: 850 and 850.00),
    # sides made only where the same money both leaves and arrives.
    by_amount: dict[Decimal, list[Any]] = {}
    for row in rows:
        amount = row.record.amount
        if amount and _may_pair(row):
            group = by_amount.get(amount)
            if group is None:
                by_amount[amount] = [row]
            else:
                group.append(row)
    if not by_amount:
        return [], {}
    seen: set[int] = set()      # an export's transaction without an account is offered to every account: once
    for account, transactions in held.items():
        for txn in transactions:
            amount = txn.amount
            if txn.date is not None and amount and (amount in by_amount or -amount in by_amount) \
                    and txn.id not in seen:
                seen.add(txn.id)
                by_amount.setdefault(amount, []).append((account, txn))
    groups: list[tuple[list[_Side], list[_Side]]] = []
    for amount, arriving in by_amount.items():
        leaving = by_amount.get(-amount) if amount > 0 else None
        if leaving is None or all(isinstance(i, tuple) for i in arriving + leaving):
            continue
        groups.append(([_side(i) for i in leaving], [_side(i) for i in arriving]))
    chosen: list[Transfer] = []
    unsure: dict[int, list[str]] = {}
    for outs, ins in groups:
        if outs and ins:
            edges = _candidates(outs, ins, digits, settings.days)
            if edges:
                _choose(edges, chosen, unsure)
    return chosen, unsure


def _side(item: Any) -> _Side:
    """A plan row, or a held `(account, transaction)`, as a side."""
    if isinstance(item, tuple):
        account, txn = item
        return _Side(txn.transaction_account_id or account, txn.date.toordinal(), _cents(txn.amount), held=txn)
    return _Side(item.account_id, item.record.date.toordinal(), _cents(item.record.amount), row=item)


def _may_pair(row: "PlanRow") -> bool:
    if row.action != "create":         # an Action, a StrEnum: compared as its text
        return False
    return not ("is_transfer" in row.set_by_rules and not row.is_transfer)      # a rule said: not a transfer


def _candidates(outs: list[_Side], ins: list[_Side], digits: Mapping[int, set[str]],
                days: int) -> dict[tuple[_Side, _Side], float]:
    """Every outflow/inflow pair that could be one transfer, with its score.

    Pairs of two transactions PocketSmith holds compete too (they are its own transfers, and take each
    other), though only new rows are ever marked.
    """
    order = sorted(range(len(ins)), key=lambda k: ins[k].day)
    in_days = [ins[k].day for k in order]
    edges: dict[tuple[_Side, _Side], float] = {}
    for out in outs:
        for position in range(bisect_left(in_days, out.day - _ARRIVES_BEFORE),
                              bisect_right(in_days, out.day + days)):
            into = ins[order[position]]
            if into.account == out.account:
                continue
            score = _score(out, into, digits, days)
            if score is not None:
                edges[(out, into)] = score
    return edges


def _score(out: _Side, into: _Side, digits: Mapping[int, set[str]], days: int) -> float | None:
    """How surely these two are one transfer; None when neither side's text says transfer at all."""
    quotes = sum(1 for side, other in ((out, into), (into, out)) if side.numbers & digits.get(other.account, set()))
    words = out.says_transfer + into.says_transfer
    if not quotes and not words:
        return None
    lag = into.day - out.day          # money arrives as it leaves or after; a day before at most, and costs more
    return 1.0 + quotes + 0.5 * words - 0.9 * (lag if lag >= 0 else -2 * lag) / (days + 1)


def _choose(edges: dict, chosen: list[Transfer], unsure: dict[int, list[str]]) -> None:
    """The optimal one-to-one pairs among `edges`, cluster by cluster, leaving out those a rival fits alike."""
    parent: dict[_Side, _Side] = {}

    def find(x: _Side) -> _Side:
        while parent.setdefault(x, x) is not x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for out, into in edges:
        parent[find(out)] = find(into)
    clusters: dict[_Side, list[tuple[_Side, _Side]]] = {}
    for out, into in edges:
        clusters.setdefault(find(out), []).append((out, into))
    for pairs in clusters.values():
        if all(o.row is None and i.row is None for o, i in pairs):
            continue                    # PocketSmith's own transfers, nothing of this plan's among them
        solved = pairs if len(pairs) == 1 else _solve(pairs, edges)
        matched_out = {o: i for o, i in solved}
        matched_in = {i: o for o, i in solved}
        for out, into in solved:
            if out.row is None and into.row is None:
                continue
            rival = _rival(out, into, pairs, edges, matched_out, matched_in)
            if rival is None:
                chosen.append(Transfer(out, into, edges[(out, into)]))
                continue
            others = sorted({_where(s) for s in (out, into, rival)})
            for side in (out, into, rival):
                if side.row is not None:
                    alike = [w for w in others if w != _where(side)]
                    unsure.setdefault(side.row.index, []).append(
                        f"maybe a transfer with {' or '.join(alike)}: which of them cannot be told, so it is not "
                        "paired (a rule with is_transfer can say)")


_SMALL = 6       # a cluster with at most this many sides either way is solved by search


def _solve(pairs: list[tuple[_Side, _Side]], edges: dict) -> list[tuple[_Side, _Side]]:
    """The one-to-one choice of pairs with the highest total score."""
    outs = list(dict.fromkeys(o for o, _ in pairs))
    ins = list(dict.fromkeys(i for _, i in pairs))
    if len(outs) <= _SMALL and len(ins) <= _SMALL:
        return _search(outs, edges)
    return _assign(pairs, edges)


def _search(outs: list[_Side], edges: dict) -> list[tuple[_Side, _Side]]:
    """Every way to give each outflow one inflow or none (a few sides only), the best total kept."""
    options: dict[_Side, list[tuple[_Side, float]]] = {o: [] for o in outs}
    for (out, into), score in edges.items():
        if out in options:
            options[out].append((into, score))
    best: tuple[float, list[tuple[_Side, _Side]]] = (0.0, [])

    def walk(k: int, taken: frozenset, total: float, chosen: list) -> None:
        nonlocal best
        if k == len(outs):
            if total > best[0] + 1e-12:
                best = (total, list(chosen))
            return
        walk(k + 1, taken, total, chosen)
        for into, score in options[outs[k]]:
            if into not in taken:
                chosen.append((outs[k], into))
                walk(k + 1, taken | {into}, total + score, chosen)
                chosen.pop()
    walk(0, frozenset(), 0.0, [])
    return best[1]


def _assign(pairs: list[tuple[_Side, _Side]], edges: dict) -> list[tuple[_Side, _Side]]:
    """A larger cluster: the optimal assignment (`importer.assignment`, as dedupe's; a missing weight is no pair)."""
    from importer.assignment import max_weight_assignment
    outs = list(dict.fromkeys(o for o, _ in pairs))
    ins = list(dict.fromkeys(i for _, i in pairs))
    row_at = {o: k for k, o in enumerate(outs)}
    col_at = {i: k for k, i in enumerate(ins)}
    weights = {(row_at[out], col_at[into]): edges[(out, into)] for out, into in pairs if edges[(out, into)] > 0}
    return [(outs[r], ins[c]) for r, c in max_weight_assignment(len(outs), len(ins), weights)]


def _rival(out: _Side, into: _Side, pairs: list[tuple[_Side, _Side]], edges: dict,
           matched_out: dict[_Side, _Side], matched_in: dict[_Side, _Side]) -> _Side | None:
    """Another side this pair's sides could take instead, at almost no cost, that changes what is marked: one
    left unpaired, or a swap with another pair across different accounts. A swap between pairs of the same two
    accounts (a run of equal weekly transfers) marks the same rows, so it is no doubt."""
    score = edges[(out, into)]
    floor = score - _AMBIGUITY_MARGIN
    for other_out, other_in in pairs:
        if other_out is out and other_in is not into and _changes_marks(other_in, into):
            holder = matched_in.get(other_in)
            if holder is None:
                if edges[(out, other_in)] >= floor:
                    return other_in
            elif (holder.account != out.account or other_in.account != into.account) and \
                    holder.twin_key() != out.twin_key() and (holder, into) in edges and \
                    edges[(out, other_in)] + edges[(holder, into)] >= score + edges[(holder, other_in)] - \
                    _AMBIGUITY_MARGIN:
                return other_in
        if other_in is into and other_out is not out and other_out not in matched_out and \
                _changes_marks(other_out, out) and edges[(other_out, into)] >= floor:
            return other_out
    return None


def _changes_marks(rival: _Side, chosen: _Side) -> bool:
    """Whether pairing `rival` instead of `chosen` would mark other rows, or name another account."""
    if rival.twin_key() == chosen.twin_key():
        return False
    return rival.row is not None or chosen.row is not None or rival.account != chosen.account


def _where(side: _Side) -> str:
    """A side as a person finds it: `line 12 of savings.csv`, or `#880000123 in PocketSmith`."""
    if side.row is not None:
        record = side.row.record
        return f"line {record.line} of {PurePath(record.file or '').name}"
    assert side.held is not None
    return f"#{side.held.id} in PocketSmith"


def apply_transfers(transfers: Sequence[Transfer], unsure: Mapping[int, list[str]], rows: Sequence["PlanRow"],
                    category: tuple[str, int | None] | None = None,
                    account_names: Mapping[int, str] | None = None) -> None:
    """Mark both new sides of each pair (`is_transfer`, `transfer_with`, the transfer category where no rule
    chose one), and give the rows left unpaired their reasons."""
    names = account_names or {}
    for transfer in transfers:
        for side, other in ((transfer.out, transfer.into), (transfer.into, transfer.out)):
            row = side.row
            if row is None:
                continue
            row.is_transfer = True
            row.transfer_with = other.reference()
            if category is not None and "category" not in row.set_by_rules:
                row.category, row.category_id = category
            account = names.get(other.account, f"account {other.account}")
            direction = "to" if side is transfer.out else "from"
            when = _days(other.day - side.day)
            row.reasons = row.reasons + [f"transfer {direction} {account}: {_where(other)} ({when})"]
    by_index = {row.index: row for row in rows}
    for index, reasons in unsure.items():
        row = by_index.get(index)
        if row is not None and row.transfer_with is None:
            row.reasons = row.reasons + [r for r in reasons if r not in row.reasons]


def _days(apart: int) -> str:
    """When the other side is, against this row: "same day", "3 days later"."""
    if apart == 0:
        return "same day"
    return f"{plural(abs(apart), 'day')} {'later' if apart > 0 else 'earlier'}"


def window(rows: Sequence["PlanRow"], days: int) -> tuple[date, date] | None:
    """The dates a transfer's other side can have, for every row that may pair."""
    dates = [r.record.date for r in rows if _may_pair(r)]
    if not dates:
        return None
    return date.fromordinal(min(dates).toordinal() - days), date.fromordinal(max(dates).toordinal() + days)


def transfer_category(settings: TransferSettings, ruleset: Any, categories: Sequence[Any], *, strict: bool,
                      file: str | None = None) -> tuple[tuple[str, int | None] | None, list[str]]:
    """The category both new sides of a transfer get: the config's `transfers.category`, else the category of
    the first rule that sets `is_transfer: true` with one; (title, id), and any warning.

    The config's is resolved by `Parent > Child` path or title: online an unknown one is a ConfigError,
    offline (an export names only the categories its rows use) it keeps its name, with a warning.
    """
    from importer.errors import ConfigError
    from importer.rules.compiler import normalise_path
    if settings.category:
        wanted = normalise_path(settings.category).lower()
        found = [c for c in categories if normalise_path(c.path or c.title).lower() == wanted] or \
            [c for c in categories if (c.title or "").strip().lower() == wanted.rsplit(" > ", 1)[-1]]
        if len(found) == 1:
            return (found[0].title, found[0].id), []
        problem = "is ambiguous; write its full path" if found else "does not exist in PocketSmith"
        if strict:
            raise ConfigError(f"transfers.category '{settings.category}' {problem}", file=file)
        return (settings.category, None), [f"transfers.category '{settings.category}' is not among the export's "
                                           "categories; transfers get it by name, without an id"]
    for rule in getattr(ruleset, "rules", ()):
        if rule.actions.get("is_transfer") is True and rule.category:
            return (rule.category_title or rule.category, rule.category_id), []
    return None, []


def find_transfers(plan: Any, *, source: Any, held: Mapping[int, Sequence["PsTransaction"]],
                   settings: TransferSettings, category: tuple[str, int | None] | None) -> None:
    """Pair the plan's transfers, within the run and against what PocketSmith holds in the user's other
    accounts (fetched over the rows' dates, `days` either side), and mark them on the plan's rows."""
    if not settings.enabled:
        return
    span = window(plan.rows, settings.days)
    if span is None:
        return
    accounts = set(plan.accounts) or {t.transaction_account_id for t in getattr(source, "all", ())
                                      if t.transaction_account_id is not None}
    sides: dict[int, Sequence[PsTransaction]] = dict(held)
    missing = accounts - set(held)
    every = getattr(source, "user_transactions", None)
    if len(missing) > 1 and every is not None:        # online, many accounts: one listing, not one per account
        fetched: dict[int, list[PsTransaction]] = defaultdict(list)
        for txn in every(*span):
            if txn.transaction_account_id in missing:
                fetched[txn.transaction_account_id].append(txn)
        sides.update(fetched)
    else:
        for account_id in sorted(missing):
            sides[account_id] = source.transactions(account_id, *span)
    numbers: dict[int, list[str | None]] = defaultdict(list)
    for account_id, account in plan.accounts.items():
        numbers[account_id].append(getattr(account, "number", None))
    for statement, target in plan.targets:
        numbers[target.account_id].append(statement.account.id)
    pairs, unsure = pair_transfers(plan.rows, sides, numbers, settings)
    names = {a: f"{a} {account.name}" if getattr(account, "name", None) else str(a)
             for a, account in plan.accounts.items()}
    apply_transfers(pairs, unsure, plan.rows, category, names)
