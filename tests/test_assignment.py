"""The assignment solver: optimal like scipy's on any matrix, and scipy imported only for large blocks."""

from __future__ import annotations

import itertools
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from importer import assignment
from importer.assignment import max_weight_assignment, solve_dense


def _scipy_total(rows: int, columns: int, weights: dict) -> float:
    np = pytest.importorskip("numpy")
    optimize = pytest.importorskip("scipy.optimize")
    matrix = np.zeros((rows, columns))
    for (r, c), w in weights.items():
        matrix[r, c] = w
    found = optimize.linear_sum_assignment(matrix, maximize=True)
    return float(matrix[found].sum())


def _check_matching(rows: int, columns: int, weights: dict, pairs: list) -> float:
    assert pairs == sorted(pairs)
    assert all(pair in weights for pair in pairs), "a pair that was not allowed"
    assert len({r for r, _ in pairs}) == len(pairs) and len({c for _, c in pairs}) == len(pairs), "not one-to-one"
    return sum(weights[pair] for pair in pairs)


@st.composite
def problems(draw, max_side: int = 9):
    """A sparse weight table of any shape: tall, wide or square, with many ties (a few small whole numbers)
    or without (floats), as dedupe builds them (every weight positive)."""
    rows = draw(st.integers(0, max_side))
    columns = draw(st.integers(0, max_side))
    values = draw(st.sampled_from([st.sampled_from([1.0, 2.0, 3.0]), st.sampled_from([0.5, 1.0]),
                                   st.floats(0.001, 50, allow_nan=False, allow_infinity=False)]))
    cells = draw(st.sets(st.tuples(st.integers(0, max(rows - 1, 0)), st.integers(0, max(columns - 1, 0)))))
    if not rows or not columns:
        return rows, columns, {}
    return rows, columns, {cell: draw(values) for cell in sorted(cells)}


@settings(max_examples=400, deadline=None)
@given(problems())
def test_the_same_optimal_total_as_scipy(problem):
    rows, columns, weights = problem
    pairs = max_weight_assignment(rows, columns, weights)
    total = _check_matching(rows, columns, weights, pairs)
    assert total == pytest.approx(_scipy_total(rows, columns, weights), rel=1e-12, abs=1e-9)


def _best_of_every_matching(rows: int, columns: int, weights: dict) -> float:
    if rows > columns:
        return _best_of_every_matching(columns, rows, {(c, r): w for (r, c), w in weights.items()})
    return max(sum(weights.get(cell, 0.0) for cell in enumerate(chosen))
               for chosen in itertools.permutations(range(columns), rows))


@settings(max_examples=300, deadline=None)
@given(problems(max_side=5))
def test_optimal_against_every_matching_of_a_tiny_problem(problem):
    rows, columns, weights = problem
    total = _check_matching(rows, columns, weights, max_weight_assignment(rows, columns, weights))
    assert total == pytest.approx(_best_of_every_matching(rows, columns, weights), rel=1e-12, abs=1e-9)


def test_equal_costs_give_the_identity():
    assert solve_dense([[1.0] * 4 for _ in range(4)]) == [0, 1, 2, 3]
    assert solve_dense([[5.0, 1.0, 2.0], [1.0, 5.0, 5.0]]) == [1, 0]    # least cost: 1 + 1


def test_a_tall_matrix_must_be_transposed_by_the_caller():
    with pytest.raises(ValueError, match="transpose"):
        solve_dense([[1.0], [2.0]])


def test_a_large_block_goes_to_scipy_with_the_same_answer(monkeypatch):
    pytest.importorskip("scipy.optimize")
    # A run of identical amounts: each row may be any of the 8 transactions nearest it, the nearer the better.
    weights = {(r, c): 10.0 - abs(r - c) for r in range(150) for c in range(max(0, r - 4), min(150, r + 4))}
    assert 150 ** 3 > assignment.PURE_PYTHON_WORK
    by_scipy = max_weight_assignment(150, 150, weights)
    monkeypatch.setattr(assignment, "PURE_PYTHON_WORK", 150 ** 3)
    by_python = max_weight_assignment(150, 150, weights)
    assert _check_matching(150, 150, weights, by_python) == pytest.approx(_check_matching(150, 150, weights, by_scipy))


def test_small_blocks_do_not_import_scipy_or_numpy():
    code = ("import sys\nfrom importer.assignment import max_weight_assignment\n"
            "w = {(r, c): 1.0 + (r == c) for r in range(30) for c in range(30) if abs(r - c) < 3}\n"
            "assert len(max_weight_assignment(30, 30, w)) == 30\n"
            "print([m for m in ('scipy', 'numpy') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
