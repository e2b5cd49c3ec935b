"""Dedupe properties over generated statements: multiset counts, self-dedupe, order independence."""

import random
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from importer.dedupe import dedupe
from importer.pocketsmith.models import PsTransaction
from importer.record import Transaction

START = date(2024, 5, 6)
MERCHANTS = ["WOOLWORTHS 1234 BONDI", "SQ *DAILY GRIND 5521", "CALTEX WOOLLAHRA", "KMART 1022 EASTGARDENS",
             "WILSON PARKING 2201", "PAYPAL *NETFLIX.COM", "SALARY ACME PTY LTD", "BUNNINGS 7734 ALEXANDRIA"]
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

amounts = st.builds(lambda cents, sign: Decimal(cents * sign) / 100,
                    st.integers(min_value=1, max_value=50_000), st.sampled_from([-1, -1, -1, 1]))


def as_existing(rows: list[Transaction], first_id: int = 1) -> list[PsTransaction]:
    return [PsTransaction(id=first_id + i, date=r.date, amount=r.amount, payee=r.payee.title(),
                          original_payee=r.original_payee, transaction_account_id=7, upload_source="file")
            for i, r in enumerate(rows)]


@FAST
@given(n=st.integers(min_value=0, max_value=7), m=st.integers(min_value=0, max_value=7), amount=amounts,
       text=st.sampled_from(MERCHANTS), offset=st.integers(min_value=0, max_value=2))
def test_n_identical_rows_against_m_existing_give_n_minus_m_creates(n, m, amount, text, offset):
    when = START + timedelta(days=offset)
    rows = [Transaction(date=when, amount=amount, payee=text, original_payee=text, file="s.ofx", line=i + 1)
            for i in range(n)]
    twin = Transaction(date=when, amount=amount, payee=text, original_payee=text)
    existing = as_existing([twin] * m)
    got = [d.action for d in dedupe(rows, existing)]
    assert got.count("create") == max(0, n - m)
    assert got.count("duplicate") == min(n, m)
    assert len({d.duplicate_of for d in dedupe(rows, existing) if d.duplicate_of}) == min(n, m)


statement_rows = st.lists(
    st.tuples(st.integers(min_value=0, max_value=40), amounts, st.sampled_from(MERCHANTS)),
    min_size=1, max_size=40)


def to_rows(spec) -> list[Transaction]:
    return [Transaction(date=START + timedelta(days=d), amount=a, payee=t, original_payee=t, file="s.ofx",
                        line=i + 1) for i, (d, a, t) in enumerate(spec)]


@FAST
@given(spec=statement_rows)
def test_a_statement_deduplicated_against_itself_is_all_duplicates(spec):
    rows = to_rows(spec)
    decisions = dedupe(rows, as_existing(rows))
    assert [d.action for d in decisions] == ["duplicate"] * len(rows)
    assert sorted(d.duplicate_of for d in decisions) == list(range(1, len(rows) + 1))


@FAST
@given(spec=statement_rows, keep=st.lists(st.booleans(), min_size=40, max_size=40),
       lags=st.lists(st.integers(min_value=-1, max_value=3), min_size=40, max_size=40),
       seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_the_order_of_existing_does_not_change_the_outcome(spec, keep, lags, seed):
    rows = to_rows(spec)
    held = [r._replace(date=r.date - timedelta(days=lag)) for r, k, lag in zip(rows, keep, lags) if k]
    existing = as_existing(held, first_id=100)
    shuffled = existing[:]
    random.Random(seed).shuffle(shuffled)
    outcome = [(d.action, d.duplicate_of, d.score) for d in dedupe(rows, existing)]
    assert [(d.action, d.duplicate_of, d.score) for d in dedupe(rows, shuffled)] == outcome
