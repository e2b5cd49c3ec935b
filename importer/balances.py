"""Money that adds up: statement balances against PocketSmith's, running-balance breaks, gaps and overlaps.

Three checks a preview (and so an import) runs on its plan, none of which stops anything:

- **Balance check.** A statement that carries a closing balance (OFX `LEDGERBAL`, a CSV balance
  column's newest row, CAMT `CLBD`, MT940 `:62F:`) is compared with PocketSmith's balance of its
  transaction account on the same day once the plan's rows are created: the `closing_balance`
  PocketSmith reports on the transaction nearest that day (else the account's current balance),
  plus the rows to create up to that day. A difference is a warning that says what it probably is.
- **Running balance.** Where a file has a balance column, each row's balance should be the previous
  one plus its amount; a break names the line (a row the export lost, or rows out of order).
- **Coverage.** The period each account's statements cover, the periods earlier imports covered
  (the journal), and where PocketSmith's feed pauses: "the feed has nothing from 3 Oct to 17 Oct;
  this statement fills it", "this statement leaves 1 Sep to 9 Sep uncovered".
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import PurePath
from statistics import median
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

from importer.schema import Keys, Whole, check
from importer.text import plural

if TYPE_CHECKING:
    from importer.plan import Plan, PlanRow
    from importer.write.journal import Journal
    from importer.pocketsmith.models import PsTransaction, TransactionAccount
    from importer.record import Statement, Transaction

__all__ = ["BalanceSettings", "BALANCE_SETTINGS", "Break", "running_balance_breaks", "check_balances",
           "check_coverage", "Period", "day_text", "earlier_imports", "add_money_checks", "pocketsmith_balance",
           "feed_pauses"]

# The `balances:` section of psimport.yaml (see BalanceSettings).
BALANCE_SETTINGS = Keys({
    "gap_days": Whole(minimum=1, what="a whole number of days"),
}, what="a mapping of settings")

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class BalanceSettings:
    """`gap_days`: the fewest days with nothing in PocketSmith that count as the feed pausing (more when the
    account is usually quieter: three times its typical spacing)."""

    gap_days: int = 7

    @classmethod
    def from_config(cls, section: Mapping[str, Any] | None, *, file: str | None = None) -> "BalanceSettings":
        return cls(**dict(check(BALANCE_SETTINGS, section or {}, file=file, at="balances")))


def day_text(day: date) -> str:
    """A date as the coverage messages say it: `3 Oct 2026`."""
    return f"{day.day} {day:%b %Y}"


# ── running balance inside a file ──────────────────────────────────────────────────────────────

@dataclass(frozen=True)
class Break:
    """Where a file's balance column stops adding up: `row` should say `expected` and says `found`."""

    file: str
    previous: "Transaction"
    row: "Transaction"
    before: Decimal                               # the previous row's balance
    expected: Decimal
    found: Decimal
    swapped_with: "Transaction | None" = None     # the next row, when the two read in the other order add up

    @property
    def off(self) -> Decimal:
        return self.found - self.expected

    def message(self) -> str:
        name = PurePath(self.file).name
        if self.swapped_with is not None:
            return (f"{name} line {self.row.line}: the running balance breaks, and adds up with lines "
                    f"{self.row.line} and {self.swapped_with.line} the other way round: rows out of order "
                    "in the export (or as read)")
        return (f"{name} line {self.row.line}: the running balance breaks: {self.before} (line "
                f"{self.previous.line}) + {self.row.amount} = {self.expected}, but the file says {self.found} "
                f"(off by {self.off}): a row the export lost between {day_text(self.previous.date)} and "
                f"{day_text(self.row.date)}, or rows out of order")


Balanced = tuple["Transaction", Decimal]        # a row and the balance the file gives after it


def _in_time_order(rows: list[Balanced]) -> list[Balanced]:
    """The rows oldest first: files list newest first or oldest first (a file in neither order is sorted by
    date, keeping its order within a day); the balances say which when the dates cannot."""
    dates = [row.date for row, _ in rows]
    if any(a > b for a, b in zip(dates, dates[1:])) and any(a < b for a, b in zip(dates, dates[1:])):
        return sorted(rows, key=lambda item: item[0].date)
    if dates[0] != dates[-1]:
        return rows if dates[0] < dates[-1] else rows[::-1]

    def fits(order: list[Balanced]) -> int:
        return sum(1 for (_, before), (row, after) in zip(order, order[1:]) if before + row.amount == after)
    return rows if fits(rows) >= fits(rows[::-1]) else rows[::-1]


def running_balance_breaks(statement: "Statement") -> list[Break]:
    """Every place the statement's running balance (its rows' `balance`) does not add up, oldest first."""
    rows = [(t, t.balance) for t in statement.transactions if t.balance is not None]
    if len(rows) < 2 or len(rows) < len(statement.transactions):
        return []           # no balance column, or one some rows leave empty: nothing to add up
    ordered = list(_in_time_order(rows))
    breaks: list[Break] = []
    k = 1
    while k < len(ordered):
        (previous, before), (row, found) = ordered[k - 1], ordered[k]
        expected = before + row.amount
        if expected != found:
            following = ordered[k + 1] if k + 1 < len(ordered) else None
            if following is not None and before + following[0].amount == following[1] \
                    and following[1] + row.amount == found:
                breaks.append(Break(statement.file, previous, row, before, expected, found, following[0]))
                ordered[k], ordered[k + 1] = following, ordered[k]       # read on in the order that adds up
                k += 2
                continue
            breaks.append(Break(statement.file, previous, row, before, expected, found))
        k += 1
    return breaks


# ── the balance check ─────────────────────────────────────────────────────────────────────────

def _closing(statement: "Statement") -> tuple[Decimal, date] | None:
    if statement.closing_balance is None:
        return None
    day = statement.closing_date or statement.end or max((t.date for t in statement.transactions), default=None)
    return None if day is None else (statement.closing_balance, day)


Fetch = Callable[[int, date, date], Iterable["PsTransaction"]]     # (account, start, end): what PocketSmith holds
Command = Callable[..., str]            # (*words) -> the psimport command line for the person to run


def pocketsmith_balance(held: Sequence["PsTransaction"], day: date, account: "TransactionAccount | None",
                        fetch: Fetch | None = None) -> tuple[Decimal | None, str]:
    """PocketSmith's balance of an account at the end of `day`, from what it holds, and where it came from
    (or, with None, why it cannot be told). `fetch` reads the days between `day` and the account's current
    balance when what is held does not reach them."""
    known = sorted((t.date, t.id, t.closing_balance, t.amount) for t in held
                   if t.closing_balance is not None and t.date is not None)
    before = [k for k in known if k[0] <= day]
    if before:
        _, last_id, closing, _ = before[-1]
        return closing, f"after #{last_id}"
    if known:       # nothing held up to that day: the first after it, less its own amount
        _, first_id, closing, amount = known[0]
        return closing - amount, f"before #{first_id}"
    if account is not None and account.current_balance is not None:
        latest = max((t.date for t in held if t.date is not None), default=None)
        as_of = account.current_balance_date
        if as_of is None or as_of <= day or (latest is not None and as_of <= latest):
            later = sum((t.amount for t in held if t.date is not None and t.date > day), ZERO)
            return account.current_balance - later, "from the account's current balance"
        if fetch is not None:
            between = fetch(account.id, day + timedelta(days=1), as_of)
            later = sum((t.amount for t in between if t.date is not None and day < t.date <= as_of), ZERO)
            return account.current_balance - later, "from the account's current balance, less what came after"
        return None, f"PocketSmith's balance is as of {as_of} and nothing in between was fetched"
    if held:
        return None, "PocketSmith's transactions here carry no closing_balance (an export without it?)"
    return None, "PocketSmith holds nothing in this account around that day, and no current balance"


def _plain_command(*words: str) -> str:
    import shlex
    return shlex.join(["psimport", *words])


def check_balances(plan: "Plan", held: Mapping[int, Sequence["PsTransaction"]],
                   breaks: Mapping[int, list[Break]] | None = None,
                   uncovered: Mapping[int, list[str]] | None = None,
                   fetch: Fetch | None = None, command: Command = _plain_command,
                   created_by: Mapping[int, tuple[str, str]] | None = None) -> tuple[list[dict], list[str]]:
    """One entry per transaction account of the plan, and a warning for each that differs.

    An entry is `{transaction_account_id, date, statement_closing, pocketsmith_after, difference, status,
    reason}`: status `agrees`, `differs` or `unknown`; `reason` says why unknown, or what a difference
    probably is. `breaks` (id of a statement → its running-balance breaks) and `uncovered` (account → periods nothing
    covers) help tell it; `created_by` (PocketSmith id → the batch that created it, and the row's action then)
    tells rows created twice, and `command(*words)` writes the psimport command a reason advises.
    """
    from importer.plan import Action
    by_account: dict[int, list["Statement"]] = defaultdict(list)
    for statement, target in plan.targets:
        by_account[target.account_id].append(statement)
    rows_by_account: dict[int, list["PlanRow"]] = defaultdict(list)
    for row in plan.rows:
        rows_by_account[row.account_id].append(row)
    entries: list[dict] = []
    warnings: list[str] = []
    for account_id, statements in by_account.items():
        account = plan.accounts.get(account_id)
        name = _account_name(plan, account_id)
        closings = [(c, s) for s in statements if (c := _closing(s)) is not None]
        entry: dict[str, Any] = {"transaction_account_id": account_id, "date": None, "statement_closing": None,
                                 "pocketsmith_after": None, "difference": None, "status": "unknown", "reason": None}
        entries.append(entry)
        if not closings:
            entry["reason"] = "the statement gives no closing balance"
            continue
        (closing, day), statement = max(closings, key=lambda item: item[0][1])
        entry.update(date=day.isoformat(), statement_closing=str(closing))
        before, how = pocketsmith_balance(held.get(account_id, ()), day, account, fetch)
        if before is None:
            entry["reason"] = how
            continue
        rows = [r for r in rows_by_account[account_id] if r.record.date <= day]
        after = before + sum((r.record.amount for r in rows if r.action == Action.CREATE), ZERO)
        difference = closing - after
        entry.update(pocketsmith_after=str(after), difference=str(difference),
                     status="agrees" if difference == 0 else "differs")
        if difference:
            entry["reason"] = _probably(difference, closing, rows, statement, held.get(account_id, ()),
                                        (breaks or {}).get(id(statement), []), (uncovered or {}).get(account_id, []),
                                        command, created_by or {})
            warnings.append(f"{name}: the balance on {day_text(day)} differs by {difference} (statement {closing}, "
                            f"PocketSmith after this import {after}): {entry['reason']}")
    return entries, warnings


def _probably(difference: Decimal, closing: Decimal, rows: list["PlanRow"], statement: "Statement",
              held: Sequence["PsTransaction"], breaks: list[Break], uncovered: list[str],
              command: Command = _plain_command, created_by: Mapping[int, tuple[str, str]] | None = None) -> str:
    """What a difference most likely is, the likeliest first."""
    from importer.plan import Action, accepted_unseen
    review = [r for r in rows if r.action == Action.REVIEW]
    some = _rows_making(difference, review)
    if some:
        return _review_rows_making(some, review, command(
            "review", *dict.fromkeys(r.record.file or statement.file for r in review)))
    accepted = [r for r in rows if accepted_unseen(r)]
    extra = _rows_making(-difference, accepted)
    if extra:
        return _accepted_rows_making(extra, accepted, command(
            "review", *dict.fromkeys(r.record.file or statement.file for r in accepted)))
    twice = _created_twice(difference, rows, held, created_by or {}, command)
    if twice:
        return twice
    skipped = [r.record.amount for r in rows if r.action == Action.SKIP]
    if skipped and sum(skipped, ZERO) == difference:
        return f"the {plural(len(skipped), 'row')} that rules skip make up the difference"
    lost = [b for b in breaks if b.swapped_with is None]
    if lost and sum((b.off for b in lost), ZERO) == difference:
        where = ", ".join(f"line {b.row.line}" for b in lost[:3])
        return f"the file's running balance breaks by as much ({where}): a row the export lost"
    if uncovered:
        return f"a gap: {uncovered[0]}"
    start = statement.start or min((t.date for t in statement.transactions), default=None)
    dated = [t.date for t in held if t.date is not None]
    if start is not None and (not dated or min(dated) >= start):
        opening = closing - sum((t.amount for t in statement.transactions), ZERO)
        if opening == difference:
            return (f"an opening balance never set: the statement opens at {opening}; set it as the account's "
                    "starting balance in PocketSmith")
        return "PocketSmith holds nothing before this statement: maybe an opening balance never set"
    return "a row on one side only (lost by the export, or deleted in PocketSmith), a gap before this statement, " \
           "or an opening balance never set"


def _lines(rows: Sequence["PlanRow"]) -> str:
    """`everyday.ofx line 618`, `everyday.ofx lines 443, 642`: rows of one file or several."""
    by_file: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        by_file[PurePath(row.record.file or "").name].append(str(row.record.line))
    return ", ".join(f"{name} line{'s' if len(lines) > 1 else ''} {', '.join(lines)}" for name, lines in by_file.items())


def _review_rows_making(some: list["PlanRow"], review: list["PlanRow"], review_command: str) -> str:
    """Rows for review that make up a difference: which are probably new, which probably duplicates, and the
    command that decides each (never --accept-review, which would create the duplicates too)."""
    answer = f"answer each with: {review_command}"
    if len(some) == len(review):
        return (f"the {plural(len(review), 'row')} for review, not created, make up the difference "
                f"({_lines(review)}): probably new; {answer}")
    rest = [r for r in review if r not in some]
    alike = [r for r in rest if r.record.amount in {s.record.amount for s in some}]
    verb = "makes" if len(some) == 1 else "make"
    new, duplicates = _lines(some), _lines(rest)
    if alike:       # rows of the same amount: the balance cannot tell which of them is the new one
        new = f"{new} or {_lines(alike)} (the same amount)"
        others = [r for r in rest if r not in alike]
        duplicates = (f"{_lines(others)}, and " if others else "") + "the other of those"
    return (f"{len(some)} of the {len(review)} rows for review, not created, {verb} up the difference: probably new: "
            f"{new}; probably duplicates: {duplicates}; {answer}")


def _accepted_rows_making(extra: list["PlanRow"], accepted: list["PlanRow"], review_command: str) -> str:
    """Rows for review that --accept-review creates though the balance says PocketSmith holds them: probable
    duplicates, named before the person confirms, with the command that decides each instead."""
    rest = [r for r in accepted if r not in extra]
    alike = [r for r in rest if r.record.amount in {e.record.amount for e in extra}]
    # A row of the same amount as another the import keeps: the balance cannot tell which of them is the copy.
    unsure = [e for e in extra if e.record.amount in {r.record.amount for r in alike}]
    sure = [e for e in extra if e not in unsure]
    duplicates = ", and ".join(([_lines(sure)] if sure else [])
                               + ([f"{_lines(unsure)} or {_lines(alike)} (the same amount)"] if unsure else []))
    return (f"the {plural(len(accepted), 'row')} for review that --accept-review creates include probable "
            f"duplicates, which would be created twice: {duplicates}; to decide each instead, run the import "
            f"without --accept-review and answer with: {review_command}")


_TWIN_DAYS = 10     # how far apart a row psimport created and a PocketSmith transaction of its amount may be, twins


def _created_twice(difference: Decimal, rows: list["PlanRow"], held: Sequence["PsTransaction"],
                   created_by: Mapping[int, tuple[str, str]], command: Command = _plain_command) -> str | None:
    """Rows psimport created though PocketSmith already held them (an earlier --accept-review, a wrong decision):
    the fewest whose amounts take out as much as the difference, each beside its twin; rows created from review
    (possibly there already, by definition) are the likelier."""
    created: dict[int, "PlanRow"] = {r.duplicate_of: r for r in rows if r.duplicate_of is not None and r.reasons
                                     and r.reasons[0].startswith("imported before by psimport")}
    matched = {r.duplicate_of for r in rows if r.duplicate_of is not None}     # another row is that one
    twins: dict[int, "PsTransaction"] = {}
    for ps_id, row in created.items():
        twin = min((t for t in held if t.id not in matched and t.amount == row.record.amount and t.date is not None
                    and abs((t.date - row.record.date).days) <= _TWIN_DAYS),
                   key=lambda t: (abs((t.date - row.record.date).days), t.id), default=None)
        if twin is not None:
            twins[ps_id] = twin
    from importer.plan import Action
    id_of = {id(row): ps_id for ps_id, row in created.items()}
    with_twins = [created[ps_id] for ps_id in twins]
    accepted = [r for r in with_twins if created_by.get(id_of[id(r)], ("", ""))[1] == Action.REVIEW]
    some = (_rows_making(-difference, accepted) if accepted else []) or _rows_making(-difference, with_twins)
    if not some:
        return None
    ids = [id_of[id(r)] for r in some]
    batches = sorted({created_by[ps_id][0] for ps_id in ids if ps_id in created_by})
    each = "; ".join(f"{_lines([r])} as #{ps_id}, beside #{twins[ps_id].id} ({twins[ps_id].date})"
                     for r, ps_id in list(zip(some, ids))[:4])
    by = f" by batch {', '.join(batches)}" if batches else ""
    undo = f"take the batch back ({command('undo', batches[0])})" if len(batches) == 1 else "undo the batch"
    return (f"rows created twice{by}, though PocketSmith held them already, make up the difference ({each}): "
            f"delete the extra copies in PocketSmith, or {undo} and decide those rows with psimport review")


_MOST_SUBSET_ROWS = 12      # rows for review tried in every combination (2^12 sums at most)


def _rows_making(difference: Decimal, rows: list["PlanRow"]) -> list["PlanRow"]:
    """The fewest of `rows` whose amounts add up to `difference` (all of them when they do), else none."""
    if rows and sum((r.record.amount for r in rows), ZERO) == difference:
        return rows
    if len(rows) > _MOST_SUBSET_ROWS:
        return []
    from itertools import combinations
    for size in range(1, len(rows)):
        for chosen in combinations(rows, size):
            if sum((r.record.amount for r in chosen), ZERO) == difference:
                return list(chosen)
    return []


# ── coverage: statement periods, earlier imports, feed pauses ────────────────────────────────────────

@dataclass(frozen=True)
class Period:
    """Days from `start` to `end`, both included; `label` says whose (a batch id)."""

    start: date
    end: date
    label: str = ""

    def json(self) -> dict[str, Any]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), **({"batch": self.label}
                                                                                if self.label else {})}


def _account_name(plan: "Plan", account_id: int) -> str:
    account = plan.accounts.get(account_id)
    return f"{account_id} {account.name}" if account is not None and account.name else str(account_id)


def _holes(periods: list[Period]) -> list[tuple[Period, Period, Period]]:
    """The days between one statement's period and the next's that neither covers: (earlier, later, hole)."""
    ordered = sorted(periods, key=lambda p: p.start)
    holes = []
    reach = ordered[0]
    for period in ordered[1:]:
        if (period.start - reach.end).days > 1:
            holes.append((reach, period, Period(reach.end + timedelta(days=1), period.start - timedelta(days=1))))
        if period.end > reach.end:
            reach = period
    return holes


def _span(start: date, end: date) -> str:
    return day_text(start) if start == end else f"{day_text(start)} to {day_text(end)}"


def feed_pauses(held: Sequence["PsTransaction"], settings: BalanceSettings) -> list[Period]:
    """Runs of days with nothing in PocketSmith, longer than the account's usual quiet (and than `gap_days`)."""
    days = sorted({t.date for t in held if t.date is not None})
    if len(days) < 5:
        return []       # too little to know what "usual" is
    spacing = median((b - a).days for a, b in zip(days, days[1:]))
    longest_quiet = max(settings.gap_days, 3 * int(spacing))
    return [Period(a + timedelta(days=1), b - timedelta(days=1)) for a, b in zip(days, days[1:])
            if (b - a).days - 1 >= longest_quiet]


def check_coverage(plan: "Plan", held: Mapping[int, Sequence["PsTransaction"]],
                   earlier: Mapping[int, list[Period]] | None = None,
                   settings: BalanceSettings = BalanceSettings(),
                   fetch: Fetch | None = None,
                   ) -> tuple[list[dict], list[str], dict[int, list[str]]]:
    """Per account: its statements' period, the earlier imports' (`earlier`, from the journal) and the feed's
    pauses, each entry with its notes. Returns the entries, the warnings (periods nothing covers) and those
    uncovered periods in words by account. `fetch(account, start, end)` looks at PocketSmith between an
    earlier import and this statement, when the plan's fetch did not reach that far."""
    from importer.plan import Action
    periods: dict[int, list[Period]] = defaultdict(list)
    for statement, target in plan.targets:
        start = statement.start or min((t.date for t in statement.transactions), default=None)
        end = statement.end or max((t.date for t in statement.transactions), default=None)
        if start is not None and end is not None:
            periods[target.account_id].append(Period(start, end, PurePath(statement.file).name))
    creates: dict[int, list[date]] = defaultdict(list)
    for row in plan.rows:
        if row.action == Action.CREATE:
            creates[row.account_id].append(row.record.date)
    entries: list[dict] = []
    warnings: list[str] = []
    uncovered: dict[int, list[str]] = defaultdict(list)
    for account_id, statements in periods.items():
        name = _account_name(plan, account_id)
        mine = Period(min(p.start for p in statements), max(p.end for p in statements))
        before = sorted((earlier or {}).get(account_id, []), key=lambda p: p.start)
        notes: list[str] = []
        for period in before:
            overlap = (min(period.end, mine.end) - max(period.start, mine.start)).days + 1
            if overlap > 0:
                notes.append(f"overlaps the import of batch {period.label} ({_span(period.start, period.end)}) "
                             f"by {plural(overlap, 'day')}")
        gaps = []
        ended = [p for p in before if p.end < mine.start]
        if ended:
            last = max(ended, key=lambda p: p.end)
            if (mine.start - last.end).days > 1 and not any(p.start <= last.end + timedelta(days=1) <= p.end
                                                           for p in before):
                gaps.append((Period(last.end + timedelta(days=1), mine.start - timedelta(days=1)),
                             f"since the import of batch {last.label} ended {day_text(last.end)}"))
        gaps += [(hole, f"between {a.label} and {b.label}") for a, b, hole in _holes(statements)
                 if not any(p.start <= hole.start and hole.end <= p.end for p in before)]
        later = [p for p in before if p.start > mine.end]
        if later:
            first = min(later, key=lambda p: p.start)
            if (first.start - mine.end).days > 1:
                gaps.append((Period(mine.end + timedelta(days=1), first.start - timedelta(days=1)),
                             f"before the import of batch {first.label} from {day_text(first.start)}"))
        held_here = list(held.get(account_id, ()))
        for gap, since in gaps:
            inside = [t for t in held_here if t.date is not None and gap.start <= t.date <= gap.end]
            if not inside and fetch is not None:
                inside = list(fetch(account_id, gap.start, gap.end))
            if inside:
                notes.append(f"{_span(gap.start, gap.end)} ({since}) is covered by PocketSmith's own "
                             f"{plural(len(inside), 'transaction')}")
                continue
            these = "these statements leave" if len(statements) > 1 else "this statement leaves"
            words = f"{these} {_span(gap.start, gap.end)} uncovered ({since}, and PocketSmith has nothing in between)"
            uncovered[account_id].append(words)
            warnings.append(f"{name}: {words}")
        pauses = []
        for pause in feed_pauses(held_here, settings):
            if pause.end < mine.start or pause.start > mine.end:
                continue
            filling = [d for d in creates[account_id] if pause.start <= d <= pause.end]
            pauses.append({**pause.json(), "rows_to_create": len(filling)})
            if filling:
                notes.append(f"the feed has nothing from {_span(pause.start, pause.end)}; this statement fills it "
                             f"({plural(len(filling), 'row')} to create)")
        dated = sorted(t.date for t in held_here if t.date is not None)
        if len(dated) >= 5 and (mine.end - dated[-1]).days > settings.gap_days:
            after = [d for d in creates[account_id] if d > dated[-1]]
            notes.append(f"the feed stops at {day_text(dated[-1])}; this statement goes on to {day_text(mine.end)}"
                         + (f" ({plural(len(after), 'row')} to create)" if after else ""))
        entries.append({"transaction_account_id": account_id, "statement": mine.json(),
                        "imported_before": [p.json() for p in before], "feed_pauses": pauses,
                        "notes": [f"{name}: {n}" for n in notes]})
    return entries, warnings, dict(uncovered)


def earlier_imports(journal: "Journal", account_ids: Iterable[int], target: str = "") -> dict[int, list[Period]]:
    """The period each earlier import (not undone, to the same place) covered in each account: its plan's
    `coverage` (the statements' periods), or for a batch planned before there was one, its rows' dates."""
    wanted = set(account_ids)
    periods: dict[int, list[Period]] = defaultdict(list)
    for batch in journal.batches():
        if batch.undone_at or batch.target != target or not wanted & set(batch.accounts):
            continue
        spans: dict[int, tuple[str, str]] = {}
        coverage = journal.plan_part(batch.id, "$.coverage")
        if coverage is not None:
            for entry in coverage:
                if entry.get("transaction_account_id") in wanted and entry.get("statement"):
                    spans[entry["transaction_account_id"]] = (entry["statement"]["start"], entry["statement"]["end"])
        else:
            days: dict[int, list[str]] = defaultdict(list)
            for row in journal.plan_of(batch.id).get("transactions", []):
                if row.get("transaction_account_id") in wanted and row.get("date"):
                    days[row["transaction_account_id"]].append(row["date"])
            spans = {account: (min(dates), max(dates)) for account, dates in days.items()}
        for account_id, (start, end) in spans.items():
            periods[account_id].append(Period(date.fromisoformat(start), date.fromisoformat(end), batch.id))
    return dict(periods)


_MOST_BREAKS = 3        # per statement: a file that breaks everywhere is one problem, said a few times


def add_money_checks(plan: "Plan", *, held: Mapping[int, Sequence["PsTransaction"]],
                     settings: BalanceSettings = BalanceSettings(), journal: "Journal | None" = None,
                     target: str = "", fetch: Fetch | None = None, command: Command = _plain_command,
                     ) -> None:
    """Give the plan its `balances` and `coverage`, and warn about running-balance breaks, periods nothing
    covers and balances that differ (`command(*words)` writes the psimport commands the warnings advise)."""
    breaks = {id(statement): running_balance_breaks(statement) for statement, _ in plan.targets}
    warnings: list[str] = []
    for statement, _ in plan.targets:
        found = breaks[id(statement)]
        warnings += [b.message() for b in found[:_MOST_BREAKS]]
        if len(found) > _MOST_BREAKS:
            warnings.append(f"{PurePath(statement.file).name}: {len(found) - _MOST_BREAKS} more running-balance "
                            "breaks (is the file sorted as the bank wrote it?)")
    accounts = {destination.account_id for _, destination in plan.targets}
    earlier = earlier_imports(journal, accounts, target) if journal is not None else {}
    plan.coverage, gap_warnings, uncovered = check_coverage(plan, held, earlier, settings, fetch)
    created_by = journal.created_by(accounts, target) if journal is not None else {}
    plan.balances, balance_warnings = check_balances(plan, held, breaks, uncovered, fetch, command, created_by)
    plan.warnings += warnings + gap_warnings + balance_warnings
