"""The dedupe bound's odds (benchmarks/dedupe_typed_bound.py): a probability per typed-stretch coffee row."""

import sys
from decimal import Decimal
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import dedupe_typed_bound as bound  # noqa: E402


@pytest.mark.parametrize("seed_runs", [(1, False), (2, False), (1001, True), (1002, True)])
def test_the_odds_count_every_typed_entry_once(seed_runs):
    # Every typed coffee is exactly one of the stretch's rows, so the odds that each row is held add up to
    # the number of typed coffees, and the rows held in truth are among those with odds above zero.
    seed, runs = seed_runs
    first = bound.quality.RUN_SEEDS_FROM if runs else 1
    _, truth, _, held, visible = list(bound.households(seed - first + 1, runs))[-1]
    assert held, "the household has coffee rows in the typed stretch"
    existing = bound.quality.build_run(seed, runs)[1]
    typed = [e for e in existing if e.upload_source == "manual" and e.amount == Decimal("-4.50")
             and e.transaction_account_id == bound.quality.ACCOUNT]
    for odds in (held, visible):
        assert sum(odds.values()) == pytest.approx(len(typed))
        assert all(0.0 <= p <= 1.0 + 1e-9 for p in odds.values())
    assert all(held[row] > 0 for row in held if truth[row])


def test_the_best_band_scores_no_worse_than_calling_everything_held():
    data = list(bound.households(2, False))
    errors_all_duplicate = bound.totals(data, (0.0, 0.0))[0]
    for visible in (False, True):
        assert bound.totals(data, (0.3, 0.7), visible)[0] < errors_all_duplicate
