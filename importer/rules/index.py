"""The rules' column index: all rows one field at a time, so a condition finds its rows in all of them at once."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import date
from typing import Any, Callable, Iterable

from importer.rules.compiler import fuzzy_score  # noqa: F401  (the scorer fuzzy_rows' superset must cover)
from importer.rules.subject import ROW_DATE, SEP, match_key

__all__ = ["Columns"]

class Columns:
    """The rows one field at a time, indexed on demand, so a condition finds its rows in all of them at once.

    Statements repeat themselves (the same payees, amounts and dates over and over), so each field is
    reduced to its distinct values first, each with the rows that hold it. Distinct texts are joined
    into one string (separated by NUL), so a literal is found with `str.find` at C speed; distinct
    amounts and dates are sorted once for ranges. Returned sets are new: callers may combine them freely.
    """

    def __init__(self, rows: list[tuple]):
        self.rows = rows
        self._cache: dict[tuple, Any] = {}

    def _cached(self, key: tuple, build: Callable[[], Any]):
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = build()
        return found

    def distinct(self, index: int) -> tuple[list, list[list[int]]]:
        """The field's distinct values, and for each the rows that have it."""
        def build():
            groups: dict[Any, list[int]] = {}
            for i, row in enumerate(self.rows):
                value = row[index]
                rows = groups.get(value)
                if rows is None:
                    groups[value] = [i]
                else:
                    rows.append(i)
            return list(groups), list(groups.values())
        return self._cached(("distinct", index), build)

    def _rows_of(self, index: int, positions: Iterable[int]) -> set[int]:
        groups = self.distinct(index)[1]
        found: set[int] = set()
        for position in positions:
            found.update(groups[position])
        return found

    def _joined(self, index: int) -> tuple[str, list[int], bool]:
        def build():
            texts = self.distinct(index)[0]
            starts = []
            position = 1
            for text in texts:
                starts.append(position)
                position += len(text) + 1
            starts.append(position)        # sentinel: where a text after the last would start
            joined = SEP + SEP.join(texts) + SEP
            # A NUL inside a text would blur the boundaries: the answer is then only a superset.
            clean = joined.count(SEP) == len(texts) + 1
            return joined, starts, clean
        return self._cached(("joined", index), build)

    def rows_with(self, index: int, framed: list[str]) -> tuple[set[int], bool]:
        joined, starts, clean = self._joined(index)
        last = len(starts) - 1
        hits: set[int] = set()
        find = joined.find
        for needle in framed:
            # A needle framed by the separator starts one character before its text.
            lead = 1 if needle.startswith(SEP) else 0
            position = find(needle)
            while position >= 0:
                text = bisect_right(starts, position + lead) - 1
                hits.add(text)
                if text + 1 >= last:
                    break
                position = find(needle, starts[text + 1] - 1)
        return self._rows_of(index, hits), clean

    def rows_where(self, index: int, check: Callable[[str], bool]) -> set[int]:
        return self._rows_of(index, [i for i, text in enumerate(self.distinct(index)[0]) if check(text)])

    def _sorted(self, index: int) -> tuple[list, list[int]]:
        def build():
            values = self.distinct(index)[0]
            order = sorted(range(len(values)), key=values.__getitem__)
            return [values[i] for i in order], order
        return self._cached(("sorted", index), build)

    def rows_between(self, index: int, low, high) -> set[int]:
        ordered, order = self._sorted(index)
        return self._rows_of(index, order[bisect_left(ordered, low):bisect_right(ordered, high)])

    def rows_beyond(self, index: int, bound, below: bool, inclusive: bool) -> set[int]:
        ordered, order = self._sorted(index)
        if below:
            return self._rows_of(index, order[:(bisect_right if inclusive else bisect_left)(ordered, bound)])
        return self._rows_of(index, order[(bisect_left if inclusive else bisect_right)(ordered, bound):])

    def rows_equal(self, index: int, options: Iterable) -> set[int]:
        positions = self._cached(("positions", index),
                                 lambda: {value: i for i, value in enumerate(self.distinct(index)[0])})
        return self._rows_of(index, [positions[o] for o in options if o in positions])

    def rows_on(self, keys_of: Callable[[date], Iterable[int]], wanted: frozenset) -> set[int]:
        days = self.distinct(ROW_DATE)[0]
        return self._rows_of(ROW_DATE, [i for i, day in enumerate(days) if not wanted.isdisjoint(keys_of(day))])

    def fuzzy_rows(self, index: int, needle: str, score: float) -> set[int]:
        from rapidfuzz import fuzz, process
        keys = self._cached(("keys", index), lambda: [match_key(text) for text in self.distinct(index)[0]])
        found: set[int] = set()
        # Superset of fuzzy_score's verdict: either scorer reaching the score keeps the text for the exact test.
        for scorer in (fuzz.partial_ratio, fuzz.ratio):
            for _, _, position in process.extract_iter(needle, keys, scorer=scorer, score_cutoff=score):
                found.add(position)
        return self._rows_of(index, found)
