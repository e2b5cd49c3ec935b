"""Dedupe traps, one small hand-made case each, whose right answer a person sees at a glance."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from importer.dedupe import DedupeSettings, dedupe, fetch_window
from importer.errors import ConfigError
from importer.pocketsmith.models import PsTransaction
from importer.record import Transaction

MON = date(2024, 3, 4)   # a Monday


def day(n: int) -> date:
    return MON + timedelta(days=n)


def row(n: int, amount: str, text: str, memo: str | None = None, file: str = "march.ofx", line: int = 1,
        external_id: str | None = None) -> Transaction:
    return Transaction(date=day(n), amount=Decimal(amount), payee=text, original_payee=text, memo=memo,
                       external_id=external_id, file=file, line=line)


def feed(ps_id: int, n: int, amount: str, payee: str, raw: str, status: str = "posted",
         account: int | None = 11) -> PsTransaction:
    """A bank-feed transaction: PocketSmith's cleaned payee, the bank's raw text, the transaction date."""
    return PsTransaction(id=ps_id, date=day(n), amount=Decimal(amount), payee=payee, original_payee=raw,
                         status=status, transaction_account_id=account, upload_source="feed")


def actions(decisions):
    return [d.action for d in decisions]


# Three one-off purchases the bank posted one business day after the feed's transaction date: enough for
# the matcher to learn this account's posting lag.
LAG_ROWS = [row(1, "-87.35", "WOOLWORTHS 1234 BONDI JUNCTION", line=90),
            row(2, "-61.20", "CALTEX WOOLLAHRA 0231", line=91),
            row(3, "-142.17", "BUNNINGS 7734 ALEXANDRIA", line=92)]
LAG_FEED = [feed(900, 0, "-87.35", "Woolworths", "WOOLWORTHS 1234 BONDI JUNCTI NSW AU"),
            feed(901, 1, "-61.20", "Caltex", "CALTEX WOOLLAHRA NSW AU"),
            feed(902, 2, "-142.17", "Bunnings", "BUNNINGS ALEXANDRIA NSW AU")]


def test_weekday_coffees_with_one_day_missing_from_the_feed_create_exactly_that_day():
    # Feed: Mon, Tue, Thu, Fri (Wednesday's never arrived). Statement: each posted the next business day.
    coffees = [feed(100 + n, n, "-4.50", "The Daily Grind", "SQ *DAILY GRIND SURRY HILLS NSW AU") for n in (0, 1, 3, 4)]
    posted = [1, 2, 3, 4, 7]            # Tue, Wed, Thu (= Wednesday's coffee), Fri, next Mon
    rows = [row(n, "-4.50", "SQ *DAILY GRIND 5521 SURRY HILLS", line=i + 1) for i, n in enumerate(posted)]
    decisions = dedupe(rows + LAG_ROWS, coffees + LAG_FEED)
    assert actions(decisions[:5]) == ["duplicate", "duplicate", "create", "duplicate", "duplicate"]
    assert [d.duplicate_of for d in decisions[:5]] == [100, 101, None, 103, 104]
    assert "the usual posting lag here" in decisions[0].reasons[1]


def test_weekday_coffees_on_the_same_dates_create_the_missing_day():
    coffees = [feed(100 + n, n, "-4.50", "The Daily Grind", "SQ *DAILY GRIND SURRY HILLS NSW AU") for n in (0, 1, 3, 4)]
    rows = [row(n, "-4.50", "SQ *DAILY GRIND 5521 SURRY HILLS", line=n + 1) for n in range(5)]
    assert actions(dedupe(rows, coffees)) == ["duplicate", "duplicate", "create", "duplicate", "duplicate"]


def test_two_identical_purchases_on_one_day_against_one_in_the_feed_give_one_create():
    rows = [row(0, "-12.00", "HOYTS CINEMA BONDI", line=1), row(0, "-12.00", "HOYTS CINEMA BONDI", line=2)]
    decisions = dedupe(rows, [feed(9, 0, "-12.00", "Hoyts", "HOYTS CINEMA BONDI NSW")])
    assert sorted(actions(decisions)) == ["create", "duplicate"]
    created = next(d for d in decisions if d.action == "create")
    assert "is the match of march.ofx line" in created.reasons[0]
    # Its score is the candidate's, which another row took: the reason says so, so 0.9+ on a create is not a puzzle.
    assert created.score is not None
    assert created.reasons[0].startswith(f"closest candidate: the -12.00 'Hoyts' on {MON.isoformat()} scored "
                                         f"{created.score:.2f} but is the match of march.ofx line")


def test_a_refund_of_the_same_amount_never_matches_the_purchase():
    purchase = feed(9, 0, "-59.95", "Kmart", "KMART EASTGARDENS NSW")
    rows = [row(0, "-59.95", "KMART 1022 EASTGARDENS", line=1), row(4, "59.95", "REFUND KMART 1022 EASTGARDENS", line=2)]
    assert actions(dedupe(rows, [purchase])) == ["duplicate", "create"]
    # Even when the purchase itself is not in the statement, the refund is new.
    assert actions(dedupe(rows[1:], [purchase])) == ["create"]


def test_whole_dollars_at_a_different_shop_the_same_day_do_not_match():
    decisions = dedupe([row(0, "-20.00", "WILSON PARKING 2201 SYDNEY")],
                       [feed(9, 0, "-20.00", "Bondi Car Wash", "BONDI HAND CAR WASH BONDI NSW")])
    assert actions(decisions) == ["create"]
    assert "Bondi Car Wash" in decisions[0].reasons[0]


def test_whole_dollars_at_the_same_shop_do_match():
    decisions = dedupe([row(1, "-20.00", "WILSON PARKING 2201 SYDNEY")],
                       [feed(9, 0, "-20.00", "Wilson Parking", "WILSON PARKING SYDNEY NSW AU")])
    assert actions(decisions) == ["duplicate"]


def test_a_look_alike_in_another_account_is_never_matched():
    rows = [row(0, "-87.35", "WOOLWORTHS 1234 BONDI JUNCTION")]
    elsewhere = feed(9, 0, "-87.35", "Woolworths", "WOOLWORTHS 1234 BONDI JUNCTI NSW AU", account=12)
    # The caller passes only the target account's transactions ...
    assert actions(dedupe(rows, [])) == ["create"]
    # ... and given the account, others are ignored even if passed.
    assert actions(dedupe(rows, [elsewhere], account_id=11)) == ["create"]
    # Without the account, transactions of several accounts are a programming error, not a guess.
    with pytest.raises(ValueError, match="account_id"):
        dedupe(rows, [elsewhere, feed(10, 0, "-1.00", "X", "X")])


def test_a_name_cut_at_32_characters_with_the_rest_in_the_memo_matches_the_full_feed_payee():
    decisions = dedupe([row(0, "-150.00", "DIRECT DEBIT 000123 ENERGYAUSTRA", memo="LIA ELECTRICITY")],
                       [feed(9, 0, "-150.00", "EnergyAustralia", "ENERGYAUSTRALIA ELECTRICITY 000123")])
    assert actions(decisions) == ["duplicate"]
    # A NAME that holds only the channel and a card number: the memo is the second chance.
    decisions = dedupe([row(0, "-23.40", "EFTPOS PURCHASE 0000123456789012", memo="ZAMBRERO BONDI JUNCTION")],
                       [feed(9, 0, "-23.40", "Zambrero", "ZAMBRERO BONDI JUNCTION NSW")])
    assert actions(decisions) == ["duplicate"]
    assert "(via the memo)" in decisions[0].reasons[2]


def typed(ps_id: int, n: int, amount: str, payee: str) -> PsTransaction:
    return PsTransaction(id=ps_id, date=day(n), amount=Decimal(amount), payee=payee, original_payee=payee,
                         transaction_account_id=11, upload_source="manual")


def test_woolies_typed_by_hand_a_day_off_is_a_duplicate():
    # Same odd amount to the cent, a day apart, a nickname that is 73% the bank's text: a duplicate.
    decisions = dedupe([row(1, "-87.35", "POS W/D WOOLWORTHS 1234 BONDI")], [typed(1, 0, "-87.35", "Woolies")])
    assert actions(decisions) == ["duplicate"]
    assert decisions[0].reasons == ["same amount", "1 day later", "payee 73% similar to 'Woolies'"]


def test_a_typed_entry_with_an_unrelated_name_is_shown_for_review_not_skipped():
    # "cash" for an ATM withdrawal: nothing else in the statement matches it, so it is probably this row.
    rows = [row(n, "-4.50", "SQ *DAILY GRIND 5521", line=n + 1) for n in range(6)]
    rows.append(row(2, "-200.00", "ATM WITHDRAWAL 9876 BONDI", line=10))
    existing = [typed(10 + n, n, "-4.50", "Daily Grind") for n in range(6)] + [typed(1, 1, "-200.00", "cash")]
    decisions = dedupe(rows, existing)
    assert decisions[-1].action == "review" and decisions[-1].duplicate_of == 1
    assert "nothing else in this statement matches" in decisions[-1].reasons[-1]


def test_pending_with_a_posted_twin_is_ignored_and_alone_is_matched_or_reviewed():
    pending = feed(1, 0, "-45.00", "Chat Thai", "CHAT THAI HAYMARKET NSW", status="pending")
    posted = feed(2, 0, "-51.75", "Chat Thai", "CHAT THAI HAYMARKET NSW")
    dinner, next_week = row(1, "-51.75", "CHAT THAI HAYMARKET", line=1), row(8, "-45.00", "CHAT THAI HAYMARKET", line=2)
    # Superseded: the posted twin is the match; the pending one cannot take next week's 45.00 dinner.
    assert actions(dedupe([dinner, next_week], [pending, posted])) == ["duplicate", "create"]
    # Alone and to the cent: the feed will replace it with the posted one, so creating would double it.
    exact = dedupe([row(1, "-45.00", "CHAT THAI HAYMARKET")], [pending])
    assert actions(exact) == ["duplicate"] and "pending in PocketSmith" in exact[0].reasons[-1]
    # Alone with a different amount (the tip came later): matched, never both, with the difference said.
    tipped = dedupe([dinner], [pending])
    assert actions(tipped) == ["duplicate"] and tipped[0].duplicate_of == 1
    assert tipped[0].reasons[0] == "amount -51.75 vs -45.00 pending in PocketSmith (posted 6.75 more)"
    # Another shop's pending hold of a near amount is not this dinner.
    elsewhere = feed(3, 0, "-48.00", "Caltex", "CALTEX STAR MART ENMORE", status="pending")
    assert actions(dedupe([dinner], [elsewhere])) == ["create"]


def test_an_earlier_import_in_the_journal_is_a_duplicate_and_a_deleted_one_is_review():
    rows = [row(n, amount, text, line=n + 1, external_id=f"FIT{n}") for n, (amount, text) in
            enumerate([("-87.35", "WOOLWORTHS 1234"), ("-4.50", "SQ *DAILY GRIND"), ("-4.50", "SQ *DAILY GRIND")])]
    existing = [PsTransaction(id=500 + n, date=day(n), amount=r.amount, payee=r.payee, original_payee=r.payee,
                              transaction_account_id=11, upload_source="api") for n, r in enumerate(rows)]
    journal = {"FIT0": 500, "FIT1": 501, "FIT2": 502}
    decisions = dedupe(rows, existing, imported=journal)
    assert actions(decisions) == ["duplicate"] * 3
    assert [d.duplicate_of for d in decisions] == [500, 501, 502]
    assert decisions[0].score == 1.0 and "journal" in decisions[0].reasons[0]
    # The user deleted #502 in PocketSmith since: neither silently re-created nor silently dropped.
    decisions = dedupe(rows, existing[:2], imported=journal)
    assert actions(decisions) == ["duplicate", "duplicate", "review"]
    assert "no longer in this account" in decisions[2].reasons[0]


def test_an_earlier_statement_imported_again_without_a_journal_is_all_duplicates():
    rows = [row(n % 5, amount, text, line=n + 1) for n, (amount, text) in enumerate([
        ("-87.35", "WOOLWORTHS 1234"), ("-4.50", "SQ *DAILY GRIND"), ("-4.50", "SQ *DAILY GRIND"),
        ("-20.00", "WILSON PARKING"), ("2843.17", "SALARY ACME PTY LTD")])]
    uploaded = [PsTransaction(id=700 + n, date=r.date, amount=r.amount, payee=r.payee.title(),
                              original_payee=r.payee, transaction_account_id=11, upload_source="file")
                for n, r in enumerate(rows)]
    assert actions(dedupe(rows, uploaded)) == ["duplicate"] * 5


def test_overlapping_files_in_one_run_fold_as_multisets():
    last = [row(n, f"-{10 + n}.{n}5", f"SHOP {chr(65 + n)}", file="feb.ofx", line=n + 1, external_id=f"F{n}")
            for n in range(6)]
    this = [row(n, f"-{10 + n}.{n}5", f"SHOP {chr(65 + n)}", file="mar.ofx", line=n - 2, external_id=f"F{n}")
            for n in range(3, 9)]
    # Two identical coffees in February's file, three in March's (one more bought that day, posted later).
    last += [row(4, "-4.50", "SQ *DAILY GRIND", file="feb.ofx", line=7 + i) for i in range(2)]
    this += [row(4, "-4.50", "SQ *DAILY GRIND", file="mar.ofx", line=7 + i) for i in range(3)]
    records = last + this
    decisions = dedupe(records, [])
    repeats = {i: d.duplicate_of_row for i, d in enumerate(decisions) if d.duplicate_of_row is not None}
    # March's rows 3..5 repeat February's (same bank ids); of March's three coffees two repeat February's two.
    assert repeats == {8: 3, 9: 4, 10: 5, 14: 6, 15: 7}
    assert all(decisions[i].action == "duplicate" for i in repeats)
    assert sum(d.action == "create" for d in decisions) == 8 + 3 + 1
    assert decisions[8].reasons == ["repeats feb.ofx line 4 (overlapping statements)"]


def test_rows_of_one_file_never_fold_into_each_other():
    rows = [row(0, "-4.50", "SQ *DAILY GRIND", line=1), row(0, "-4.50", "SQ *DAILY GRIND", line=2)]
    assert actions(dedupe(rows, [])) == ["create", "create"]


def test_every_decision_has_a_score_and_readable_reasons():
    decisions = dedupe([row(2, "-87.35", "POS W/D WOOLWORTHS 1234 SYDNEY AU")],
                       [feed(9, 0, "-87.35", "Woolworths", "WOOLWORTHS 1234 SYDNEY AU")])
    assert decisions[0].action == "duplicate" and 0.7 <= decisions[0].score <= 1
    assert decisions[0].reasons == ["same amount", "2 days later", "payee 100% similar to 'Woolworths'"]
    assert decisions[0].matched.id == 9
    lonely = dedupe([row(0, "-3.10", "NEWSAGENT")], [])[0]
    assert lonely.action == "create" and lonely.score is None
    assert lonely.reasons == ["nothing of -3.10 in PocketSmith from 7 days before to 4 days after"]


def test_fetch_window_widens_the_statement_period_by_the_match_window():
    rows = [row(0, "-1.00", "A"), row(20, "-2.00", "B")]
    assert fetch_window(rows) == (day(-7), day(24))
    assert fetch_window(rows, DedupeSettings(window_before=2, window_after=1)) == (day(-2), day(21))
    assert dedupe([], [feed(1, 0, "-1.00", "A", "A")]) == []


def test_settings_from_config():
    settings = DedupeSettings.from_config({"duplicate_threshold": 0.9, "review_threshold": 0.4,
                                           "window_days": {"before": 5, "after": 2}, "pending_tolerance": "15%"})
    assert (settings.duplicate_threshold, settings.review_threshold) == (0.9, 0.4)
    assert (settings.window_before, settings.window_after) == (5, 2)
    assert settings.pending_tolerance == Decimal("0.15")
    assert DedupeSettings.from_config({"window_days": 3}).window_after == 3
    assert DedupeSettings.from_config(None) == DedupeSettings()


@pytest.mark.parametrize("section, message", [
    ({"duplicate_treshold": 0.9}, r"unknown key 'dedupe.duplicate_treshold' \(did you mean 'duplicate_threshold'\?\)"),
    ({"duplicate_threshold": 0.4, "review_threshold": 0.6}, "review_threshold <= duplicate_threshold"),
    ({"window_days": "a week"}, "whole number of days"),
    ({"window_days": {"before": 3, "later": 1}}, "unknown key 'dedupe.window_days.later'"),
    ({"window_days": -1}, "whole number of days"),
    ({"duplicate_threshold": 2}, "'dedupe.duplicate_threshold' must be a number from 0 to 1, not 2"),
    ({"pending_tolerance": "120%"}, "below 100%"),
    ({"pending_tolerance": "lots"}, "fraction like 0.2"),
    ({"review_threshold": True}, "must be a number"),
])
def test_bad_dedupe_settings_are_config_errors_naming_the_file(section, message):
    with pytest.raises(ConfigError, match=message) as caught:
        DedupeSettings.from_config(section, file="psimport.yaml")
    assert str(caught.value).startswith("psimport.yaml: ")


def test_a_stricter_duplicate_threshold_turns_duplicates_into_review():
    rows, existing = [row(1, "-87.35", "POS W/D WOOLWORTHS 1234")], [typed(1, 0, "-87.35", "Woolies")]
    assert actions(dedupe(rows, existing, settings=DedupeSettings(duplicate_threshold=0.99))) == ["review"]


def business_days_after(start: int, count: int) -> int:
    """The day `count` business days after day `start` (MON is day 0)."""
    n = start
    while count:
        n += 1
        if day(n).weekday() < 5:
            count -= 1
    return n


def coffee_run(posting_lag: int, dropped: set[int], late: set[int] = frozenset()):
    """Five weeks of weekday coffees at one price (none on two days, two on two others), the feed carrying
    the purchase date, the statement posting `posting_lag` business days later (a day more for the purchases
    numbered in `late`: a batch run late); the feed lacks those numbered in `dropped`. Returns the statement
    rows, the feed, and which rows are new."""
    weekdays = [n for n in range(35) if day(n).weekday() < 5 and n not in (9, 22)]
    purchases = sorted(weekdays + [3, 17])
    rows, coffees, new = [], [], []
    for k, n in enumerate(purchases):
        posted = business_days_after(n, posting_lag + (k in late))
        rows.append(row(posted, "-4.50", "SQ *DAILY GRIND 5521 SURRY HILLS", line=k + 1))
        new.append(k in dropped)
        if k not in dropped:
            coffees.append(feed(100 + k, n, "-4.50", "The Daily Grind", "SQ *DAILY GRIND SURRY HILLS NSW AU"))
    return rows, coffees, new


def created_per_day(rows, creates) -> dict:
    out: dict = {}
    for r, created in zip(rows, creates):
        out[r.date] = out.get(r.date, 0) + created
    return {when: n for when, n in out.items() if n}


def test_a_run_of_one_amount_finds_its_own_posting_lag_by_counting_day_by_day():
    # The account's one-off purchases post one business day after the feed's date, this coffee shop two, and
    # twice a batch ran a day late, each the day after a coffee the feed dropped. A weekday run looks alike at
    # any lag but for its gaps, doubles and drops: counted day by day they line up at two days only, and
    # there a late coffee is the late row's, so the dropped ones are created on their own days and nothing
    # is left for review (without counting, four rows went to review).
    rows, coffees, new = coffee_run(posting_lag=2, dropped={6, 19}, late={7, 20})
    decisions = dedupe(rows + LAG_ROWS, coffees + LAG_FEED)[:len(rows)]
    assert created_per_day(rows, [d.action == "create" for d in decisions]) == created_per_day(rows, new)
    assert [d.action for d, n in zip(decisions, new) if not n] == ["duplicate"] * (len(rows) - 2)


def test_a_counted_run_leaves_one_off_amounts_alone():
    rows, coffees, _ = coffee_run(posting_lag=2, dropped={6})
    decisions = dedupe(rows + LAG_ROWS, coffees + LAG_FEED)
    # The one-off purchases keep the account's lag of one business day: each is its feed item.
    assert [d.duplicate_of for d in decisions[len(rows):]] == [900, 901, 902]
    assert "(the usual posting lag here)" in decisions[len(rows)].reasons[1]


def test_aligning_a_run_costs_least_at_its_lag():
    from collections import Counter

    from importer.dedupe import _alignment_cost
    # Purchases on business days 0..9 but 4; each posted 2 business days later, the one of day 6 a day later.
    fed = Counter(n for n in range(10) if n != 4)
    statement = Counter(n + 2 + (n == 6) for n in range(10))
    costs = {lag: _alignment_cost(statement, fed, lag, 2, 11) for lag in range(4)}
    assert min(costs, key=costs.get) == 2
    # There: the dropped purchase is one row left over, the late one a day's lateness.
    assert costs[2] == 3.0 + 1.5


def test_the_typed_entries_weight_sums_every_way_they_can_be_distinct_rows():
    from itertools import product

    from importer.dedupe import _TYPED_ELSEWHERE, _typed_total
    # Three typed entries (in date order), each one of a few rows or none of them: the dynamic programme must
    # give the sum over every assignment to distinct rows, with and without a row that no entry may be.
    options = {7: [(1, 0.5), (2, 0.25)], 8: [(2, 0.4), (3, 0.3), (1, 0.05)], 9: [(3, 0.6), (4, 0.2)]}
    entries = [7, 8, 9]
    for without in (None, 1, 2, 3, 4):
        expected = 0.0
        for choice in product(*[[None] + [r for r, _ in options[e] if r != without] for e in entries]):
            taken = [r for r in choice if r is not None]
            if len(taken) != len(set(taken)):
                continue
            weight = 1.0
            for entry, r in zip(entries, choice):
                weight *= _TYPED_ELSEWHERE if r is None else dict(options[entry])[r]
            expected += weight
        assert _typed_total(entries, options, without) == pytest.approx(expected)


def test_a_runs_rows_against_typed_entries_are_decided_by_their_odds_of_being_held():
    # In the benchmark's households a person typed ten days of purchases by hand, the daily coffee among
    # them, some forgotten and some dated a day or two off. Each coffee row such an entry could be gets the
    # probability that PocketSmith holds it; those probabilities add up to the typed coffees they cover,
    # and a row is a duplicate only when likely held, created only when likely new.
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import dedupe_quality as quality

    for seed in (1002, 1003):
        rows, existing, journal, truth, _ = quality.build_run(seed, runs=True)
        decisions = dedupe(rows, existing, imported=journal, account_id=quality.ACCOUNT)
        typed = [(i, d) for i, d in enumerate(decisions) if "weighing every way the typed" in d.reasons[-1]
                 and rows[i].amount == Decimal("-4.50")]
        assert len(typed) >= 5
        coffees = {e.id for e in existing if e.upload_source == "manual" and e.amount == Decimal("-4.50")}
        assert all(d.matched.id in coffees for _, d in typed if d.action != "create")
        held = sum(d.score for _, d in typed)
        assert len(coffees) - 1.5 <= held <= len(coffees) + 1e-6
        for index, d in typed:
            band = "duplicate" if d.score >= 0.76 else "create" if d.score <= 0.24 else "review"
            assert d.action == band or (band == "duplicate" and d.action == "review" and "one entry is one row"
                                        in d.reasons[-1])
        assert sum(d.action == "duplicate" for _, d in typed) <= len(coffees)
        right = sum((d.action == "duplicate") == truth[i] for i, d in typed if d.action != "review")
        assert right >= 0.75 * sum(d.action != "review" for _, d in typed)


def test_more_look_alike_rows_than_typed_entries_are_never_all_duplicates():
    # Household 43 of the benchmark: around its typed entries of one amount, more statement rows pass the
    # duplicate band on their own odds than there are typed entries, so one of them must be new (and it is:
    # the truth says so). It goes to review, not to duplicate, where it would have been lost.
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import dedupe_quality as quality

    rows, existing, journal, truth, _ = quality.build_run(43)
    decisions = dedupe(rows, existing, imported=journal, account_id=quality.ACCOUNT)
    capped = [i for i, d in enumerate(decisions) if d.reasons and "one entry is one row" in d.reasons[-1]]
    assert capped and all(decisions[i].action == "review" and not truth[i] for i in capped)
    for index in capped:
        amount = rows[index].amount
        typed = {e.id for e in existing if e.upload_source == "manual" and e.amount == amount}
        duplicates = [d for d in decisions if d.action == "duplicate" and d.duplicate_of in typed]
        assert len({d.duplicate_of for d in duplicates}) == len(duplicates)
