"""Assignment: the one-to-one choice of pairs with the largest total weight; small problems in pure Python.

`max_weight_assignment(rows, columns, weights)` takes the weight of each allowed (row, column) pair
(all positive) and returns the pairs of an optimal matching: each row and each column used at most
once, the summed weight as large as it can be. It is what `scipy.optimize.linear_sum_assignment(
matrix, maximize=True)` answers on the dense matrix with 0 where no pair is allowed, minus the pairs
of weight 0.

Why not scipy every time: importing `scipy.optimize` costs about half a second, several times what
parsing a monthly statement costs, and dedupe's blocks are nearly always a handful of rows (the
same amount within a week or so). So blocks up to `PURE_PYTHON_WORK` steps are solved here, by the
shortest augmenting path algorithm (Jonker-Volgenant as described by Crouse, "On implementing 2D
rectangular assignment algorithms", IEEE TAES 52(4), 2016, pp. 1685-1686: the algorithm scipy
implements in C++), and only a larger block (a daily coffee over months) imports scipy. The choice
depends on the block's size alone, never on what a process imported before, so the same files
always give the same answer.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

__all__ = ["PURE_PYTHON_WORK", "max_weight_assignment", "solve_dense"]

# Above this many inner steps (short side² × long side, the worst case of the augmenting paths) a
# block goes to scipy. A step costs about 55 ns in CPython 3.11, so the pure-Python worst case
# (~0.1 s, on matrices built to be hard) stays well under what importing scipy.optimize costs
# (~0.5 s). Dedupe's blocks are banded by date and take a small part of the worst case: a run of 240
# coffees against 240 feed rows is solved in ~35 ms.
PURE_PYTHON_WORK = 2_000_000


def max_weight_assignment(rows: int, columns: int, weights: Mapping[tuple[int, int], float]) -> list[tuple[int, int]]:
    """The (row, column) pairs of a maximum-weight one-to-one matching, sorted by row.

    `weights[(r, c)]` > 0 for each allowed pair, 0 <= r < rows, 0 <= c < columns; pairs absent from
    `weights` are never chosen. Exact: the optimum of the assignment problem, ties resolved the way
    the shortest augmenting path algorithm meets them (deterministically).
    """
    if not weights or rows == 0 or columns == 0:
        return []
    short, long = min(rows, columns), max(rows, columns)
    if short * short * long > PURE_PYTHON_WORK:
        pairs = _scipy(rows, columns, weights)
    else:
        pairs = _pure_python(rows, columns, weights)
    return sorted((r, c) for r, c in pairs if (r, c) in weights)


def _pure_python(rows: int, columns: int, weights: Mapping[tuple[int, int], float]) -> list[tuple[int, int]]:
    # Minimise the negated weights; the algorithm wants no more rows than columns, so a tall problem is
    # solved transposed.
    if rows <= columns:
        cost = [[0.0] * columns for _ in range(rows)]
        for (r, c), w in weights.items():
            cost[r][c] = -w
        return list(enumerate(solve_dense(cost)))
    cost = [[0.0] * rows for _ in range(columns)]
    for (r, c), w in weights.items():
        cost[c][r] = -w
    return [(r, c) for c, r in enumerate(solve_dense(cost))]


def _scipy(rows: int, columns: int, weights: Mapping[tuple[int, int], float]) -> list[tuple[int, int]]:
    import numpy as np
    from scipy.optimize import linear_sum_assignment  # type: ignore[import-untyped]

    matrix = np.zeros((rows, columns))
    for (r, c), w in weights.items():
        matrix[r, c] = w
    found_rows, found_columns = linear_sum_assignment(matrix, maximize=True)
    return list(zip(found_rows.tolist(), found_columns.tolist()))


def solve_dense(cost: list[list[float]]) -> list[int]:
    """For a dense cost matrix with no more rows than columns, the column of each row in an assignment of
    least total cost (every row assigned).

    One row at a time, the cheapest augmenting path from it (Dijkstra over reduced costs, with the dual
    variables `u` for rows and `v` for columns keeping them non-negative) ends at a free column, and the
    assignment is flipped along it. Among columns tied at the lowest cost a free one is taken, which ends
    the search sooner."""
    row_count = len(cost)
    if row_count == 0:
        return []
    column_count = len(cost[0])
    if column_count < row_count:
        raise ValueError("solve_dense needs no more rows than columns; transpose the matrix")
    inf = math.inf
    u = [0.0] * row_count
    v = [0.0] * column_count
    column_of = [-1] * row_count
    row_of = [-1] * column_count
    path = [-1] * column_count
    for current in range(row_count):
        distance = [inf] * column_count
        # Columns in reverse order, as scipy fills them, so a matrix of equal costs gives the identity.
        remaining = list(range(column_count - 1, -1, -1))
        visited_rows: list[int] = []
        visited_columns: list[int] = []
        row, reached, sink = current, 0.0, -1
        while sink < 0:
            visited_rows.append(row)
            costs, u_row = cost[row], u[row]
            lowest, index = inf, -1
            for at, column in enumerate(remaining):
                reduced = reached + costs[column] - u_row - v[column]
                if reduced < distance[column]:
                    path[column] = row
                    distance[column] = reduced
                    known = reduced
                else:
                    known = distance[column]
                if known < lowest or (known == lowest and row_of[column] == -1):
                    lowest, index = known, at
            reached = lowest
            column = remaining[index]
            if row_of[column] == -1:
                sink = column
            else:
                row = row_of[column]
            visited_columns.append(column)
            remaining[index] = remaining[-1]
            remaining.pop()
        u[current] += reached
        for row in visited_rows:
            if row != current:
                u[row] += reached - distance[column_of[row]]
        for column in visited_columns:
            v[column] -= reached - distance[column]
        column = sink
        while True:
            row = path[column]
            row_of[column] = row
            column_of[row], column = column, column_of[row]
            if row == current:
                break
    return column_of
