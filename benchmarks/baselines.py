"""Simple re-implementations of other tools' duplicate matchers, for comparison in dedupe_quality.py only.

Each takes the statement rows of ONE file, the account's existing transactions and the ids a previous import
recorded (the tools that store a bank id use it), and returns "create" / "duplicate" / "review" per row.
They are written from the tools' published behaviour, charitably: payees are compared by psimport's
`match_key`, which is kinder than the raw strings the tools compare.

- Actual Budget (`reconcileTransactions`): a stored imported_id match first; then the same account, amount
  exactly equal, date within 7 days either side; among those prefer one with the same payee, else the nearest
  date; first come, first served, each existing transaction matched once.
- GnuCash (generic import matcher): points per candidate: amount equal +3 (else not a candidate); date same
  day +3, within 4 days +2, within 14 days +0, further -5; description equal +2, half equal +1; the best
  candidate's points: >= 6 matched, <= 3 new, in between the user is asked. The stored online_id matches first.
  Each existing transaction is matched once.
- beangulp (`similar.heuristic_comparator`): a new entry is a duplicate if any existing one is within 2 days
  and its amount within 5%: not one-to-one, no review.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Mapping, Sequence

from importer.payee import match_key
from importer.pocketsmith.models import PsTransaction
from importer.record import Transaction

__all__ = ["actual_budget", "gnucash", "beangulp", "BASELINES"]


def _by_amount(existing: Sequence[PsTransaction]) -> dict[Decimal, list[PsTransaction]]:
    index: dict[Decimal, list[PsTransaction]] = {}
    for e in existing:
        index.setdefault(e.amount, []).append(e)
    return index


def _payee_keys(e: PsTransaction) -> set[str]:
    return {match_key(e.payee), match_key(e.original_payee)} - {""}


def _stored_id(row: Transaction, imported: Mapping[str, int], ids: set[int]) -> int | None:
    ps_id = imported.get(row.external_id or "")
    return ps_id if ps_id in ids else None


def actual_budget(rows: Sequence[Transaction], existing: Sequence[PsTransaction],
                  imported: Mapping[str, int]) -> list[str]:
    index = _by_amount(existing)
    ids = {e.id for e in existing}
    matched: set[int] = set()
    out = []
    for row in rows:
        stored = _stored_id(row, imported, ids)
        if stored is not None and stored not in matched:
            matched.add(stored)
            out.append("duplicate")
            continue
        candidates = [e for e in index.get(row.amount, ()) if e.id not in matched
                      and abs((e.date - row.date).days) <= 7]
        if not candidates:
            out.append("create")
            continue
        key = match_key(row.original_payee or row.payee)
        same_payee = [e for e in candidates if key and key in _payee_keys(e)]
        pick = min(same_payee or candidates, key=lambda e: (abs((e.date - row.date).days), e.id))
        matched.add(pick.id)
        out.append("duplicate")
    return out


def _description_points(row: Transaction, e: PsTransaction) -> int:
    key = match_key(row.original_payee or row.payee)
    theirs = _payee_keys(e)
    if key and key in theirs:
        return 2
    half = len(key) // 2
    if half >= 3 and any(t[:half] == key[:half] for t in theirs):
        return 1
    return 0


def gnucash(rows: Sequence[Transaction], existing: Sequence[PsTransaction],
            imported: Mapping[str, int]) -> list[str]:
    index = _by_amount(existing)
    ids = {e.id for e in existing}
    matched: set[int] = set()
    out = []
    for row in rows:
        stored = _stored_id(row, imported, ids)
        if stored is not None and stored not in matched:
            matched.add(stored)
            out.append("duplicate")
            continue
        best, best_points = None, None
        for e in index.get(row.amount, ()):
            if e.id in matched:
                continue
            days = abs((e.date - row.date).days)
            if days > 42:
                continue
            points = 3
            points += 3 if days == 0 else 2 if days <= 4 else 0 if days <= 14 else -5
            points += _description_points(row, e)
            if best_points is None or points > best_points:
                best, best_points = e, points
        if best is None or best_points <= 3:
            out.append("create")
        elif best_points >= 6:
            matched.add(best.id)
            out.append("duplicate")
        else:
            matched.add(best.id)
            out.append("review")
    return out


def beangulp(rows: Sequence[Transaction], existing: Sequence[PsTransaction],
             imported: Mapping[str, int]) -> list[str]:
    by_date: dict = {}
    for e in existing:
        by_date.setdefault(e.date, []).append(e)
    out = []
    for row in rows:
        duplicate = False
        for offset in range(-2, 3):
            for e in by_date.get(row.date + timedelta(days=offset), ()):
                if (e.amount < 0) == (row.amount < 0) and abs(e.amount - row.amount) <= Decimal("0.05") * abs(row.amount):
                    duplicate = True
                    break
            if duplicate:
                break
        out.append("duplicate" if duplicate else "create")
    return out


BASELINES = {"Actual Budget": actual_budget, "GnuCash": gnucash, "beangulp": beangulp}
