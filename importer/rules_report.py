"""Rules run over real rows to judge them: `rules test` and `rules suggest` over the user's history, `rules explain` over files."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any, Callable, Sequence

from importer.errors import ConfigError
from importer.rules import (RuleSet, Subject, compile_rules, load_rules_for, match_key, subject_from_existing)

__all__ = ["History", "history_subjects", "load_history", "tuning_report", "rules_test_report", "suggest_rules",
           "suggest_from_history", "suggestions_file", "explain_files", "explain_rows", "unique_name"]


@dataclass
class History:
    """Transactions PocketSmith already holds, with what is known about their accounts and categories.

    `accounts` (id → TransactionAccount) gives rules the account's name and currency; `categories` are
    the user's (online, with paths) or those an export mentions (offline, titles only).
    """

    transactions: list
    accounts: dict = field(default_factory=dict)
    categories: list = field(default_factory=list)

    def category_name(self, txn) -> str | None:
        """How the user's category for `txn` is shown: its path when known, else its title."""
        if txn.category_id is None:
            return txn.category_title
        category = self._by_id.get(txn.category_id)
        return (category.path or category.title) if category else txn.category_title

    @property
    def _by_id(self) -> dict:
        cached = getattr(self, "_category_index", None)
        if cached is None:
            cached = self._category_index = {c.id: c for c in self.categories}
        return cached


def load_history(*, existing: str | Path | None = None, since: datetime | None = None,
                 connect: Callable[[], Any] | None = None, where: str = "PocketSmith",
                 warn: Callable[[str], None] = lambda text: None) -> tuple[History, str, bool]:
    """The transactions the user already categorised: an `existing` export, or PocketSmith's, per account.

    Returns the history, where it came from (for the report's title) and whether it is offline.
    From PocketSmith (`connect()` gives the client) it is the last 365 days, or since `since`; with
    nothing in the last year, all of it, and a warning.
    """
    if existing is not None:
        if since is not None:
            raise ConfigError("--since picks history from PocketSmith; an --existing file is used whole")
        from importer.pocketsmith.models import load_export
        from importer.rules import categories_seen
        transactions = load_export(existing)
        return History(transactions, {}, categories_seen(transactions)), str(existing), True
    client = connect()
    start = since.date() if since is not None else date.today() - timedelta(days=365)
    accounts = {a.id: a for a in client.transaction_accounts()}
    transactions = []
    for account_id in accounts:
        transactions.extend(client.transactions(account_id, start, None))
    source = f"{where} since {start.isoformat()}"
    if not transactions and since is None:
        # Nothing in the last year (an account not synced lately, or the demo's fixed dates): use all of it.
        for account_id in accounts:
            transactions.extend(client.transactions(account_id))
        source = f"{where}, all history"
        warn(f"no transactions in the last year; testing against all {len(transactions)} there are")
    return History(transactions, accounts, client.categories()), source, False


def history_subjects(history: History) -> list[Subject]:
    """Each history transaction as the rules see it: its account by id and name, its account's currency."""
    out = []
    for txn in history.transactions:
        account = history.accounts.get(txn.transaction_account_id)
        names = [str(txn.transaction_account_id)] if txn.transaction_account_id is not None else []
        if account is not None and account.name:
            names.append(account.name)
        out.append(subject_from_existing(txn, account=names or None,
                                         currency=getattr(account, "currency_code", None)))
    return out


def _payee_text(txn) -> str:
    return txn.original_payee or txn.payee or ""


def _same_category(rule, txn) -> bool:
    if rule.category_id is not None:
        return rule.category_id == txn.category_id
    # Offline and unresolved: compare by title, which is all an export gives.
    wanted = (rule.category_title or rule.category or "").rsplit(" > ", 1)[-1].lower()
    return wanted == (txn.category_title or "").lower()


@dataclass
class _RuleTally:
    fired: int = 0
    contributed: int = 0
    agree: int = 0
    disagree: int = 0
    uncategorised: int = 0
    blockers: Counter = field(default_factory=Counter)
    disagreements: Counter = field(default_factory=Counter)


def tuning_report(ruleset: RuleSet, history: History, *, top: int = 15) -> dict:
    """Run the rules over history and say, per rule and overall, how well they fit what the user did.

    Per rule: `matched` rows where it fired (not cut off by an earlier `stop`), of which `agree` the user
    had in the rule's category and `disagree` in another (null for rules that set no category);
    `dead` when its conditions match no row at all; `shadowed_by` the earlier rules that left it
    nothing to do on every row it matches. Also: conflicting pairs, coverage, and the most frequent
    payees no rule gives a category.
    """
    subjects = history_subjects(history)
    transactions = history.transactions
    rules = ruleset.rules
    isolated = ruleset.matches(subjects)
    per_row: list[list[int]] = [[] for _ in subjects]
    for r, rows in enumerate(isolated):
        for i in rows:
            per_row[i].append(r)
    tallies = [_RuleTally() for _ in rules]
    conflicts: Counter = Counter()
    matched_rows = categorised = skipped = 0
    uncovered: dict[str, Counter] = defaultdict(Counter)
    uncovered_texts: dict[str, Counter] = defaultdict(Counter)

    for i, matching in enumerate(per_row):
        txn = transactions[i]
        decided: dict[str, int] = {}
        labels: dict[str, int] = {}
        stopped_by: int | None = None
        categorisers: list[int] = []
        for position, r in enumerate(matching):
            rule, tally = rules[r], tallies[r]
            if stopped_by is not None:
                tally.blockers[stopped_by] += 1
                continue
            tally.fired += 1
            contributed = False
            blockers = set()
            for name, _ in rule.sets:
                if name in decided:
                    blockers.add(decided[name])
                else:
                    decided[name] = r
                    contributed = True
            for label in rule.labels:
                if label.lower() in labels:
                    blockers.add(labels[label.lower()])
                else:
                    labels[label.lower()] = r
                    contributed = True
            if rule.stop:
                stopped_by = r
                # A stop only matters when a later rule would have matched this row.
                contributed = contributed or position + 1 < len(matching)
            if contributed:
                tally.contributed += 1
            else:
                for blocker in blockers:
                    tally.blockers[blocker] += 1
            if rule.category is not None:
                categorisers.append(r)
                if txn.category_id is None and not txn.category_title:
                    tally.uncategorised += 1
                elif _same_category(rule, txn):
                    tally.agree += 1
                else:
                    tally.disagree += 1
                    tally.disagreements[(match_key(_payee_text(txn)) or _payee_text(txn),
                                         history.category_name(txn))] += 1
        if matching:
            matched_rows += 1
        for a_pos, a in enumerate(categorisers):
            for b in categorisers[a_pos + 1:]:
                if _category_key(rules[a]) != _category_key(rules[b]):
                    conflicts[(a, b)] += 1
        if "category" in decided:
            categorised += 1
        elif "skip" in decided and rules[decided["skip"]].actions.get("skip"):
            skipped += 1
        else:
            text = _payee_text(txn)
            key = match_key(text) or text.lower().strip()
            uncovered[key][history.category_name(txn)] += 1
            uncovered_texts[key][text] += 1

    rule_rows = []
    for rule, rows, tally in zip(rules, isolated, tallies):
        has_category = rule.category is not None
        shadowed = bool(rows) and tally.contributed == 0
        rule_rows.append({
            "name": rule.name, "line": rule.line,
            "category": (rule.category_path or rule.category) if has_category else None,
            "matched": tally.fired,
            "agree": tally.agree if has_category else None,
            "disagree": tally.disagree if has_category else None,
            "uncategorised": tally.uncategorised if has_category else None,
            "dead": not rows,
            "shadowed_by": [rules[b].name for b in sorted(tally.blockers)] if shadowed else [],
            "would_match": len(rows),
            "disagreements": [{"payee": payee, "category": category, "count": count}
                              for (payee, category), count in tally.disagreements.most_common(3)],
        })
    conflict_rows = [{"rules": [rules[a].name, rules[b].name],
                      "categories": [rules[a].category_path or rules[a].category,
                                     rules[b].category_path or rules[b].category],
                      "rows": count}
                     for (a, b), count in sorted(conflicts.items(), key=lambda item: (-item[1], item[0]))]
    uncovered_rows = []
    for key, categories in sorted(uncovered.items(), key=lambda item: (-sum(item[1].values()), item[0]))[:top]:
        count = sum(categories.values())
        known = Counter({c: n for c, n in categories.items() if c})
        best, best_count = known.most_common(1)[0] if known else (None, 0)
        uncovered_rows.append({"payee": key, "example": uncovered_texts[key].most_common(1)[0][0],
                               "count": count, "category": best,
                               "category_share": round(best_count / count, 3) if best else None})
    total = len(transactions)
    return {"total": total, "matched": matched_rows, "categorised": categorised, "skipped": skipped,
            "coverage": round(categorised / total, 4) if total else None,
            "rules": rule_rows, "conflicts": conflict_rows, "uncovered_payees": uncovered_rows}


def rules_test_report(rules_path: str | Path | None, config: Any, *, top: int = 15,
                      warn: Callable[[str], None] = lambda text: None, **history: Any) -> tuple[dict, str]:
    """`psimport rules test`: the rules file against the history `load_history(**history)` reads; and its source."""
    ruleset = load_rules_for(rules_path, config)
    past, source, offline = load_history(warn=warn, **history)
    for warning in ruleset.resolve_categories(past.categories, strict=not offline):
        warn(warning)
    return tuning_report(ruleset, past, top=top), source


def _category_key(rule) -> object:
    return rule.category_id if rule.category_id is not None else (rule.category or "").lower()


# ─── suggestions ──────────────────────────────────────────────────────────────────────────────

def suggest_rules(history: History, *, min_support: int = 3, min_confidence: float = 0.9,
                  ruleset: RuleSet | None = None) -> list[dict]:
    """Rules proposed from what the user categorised: cleaned payee → the category it nearly always gets.

    Rows the current `ruleset` already categorises are left out, so the proposals add to it. Each
    proposal is checked as a real rule against the remaining history: `support` is how many
    transactions it matches in its category, `confidence` that share of all it matches. A payee whose
    transactions are all money out (or all money in) gets `amount: {lt: 0}` (`{gt: 0}`) too, so a
    refund from the same shop is not filed as a purchase. Over the rows each proposal matches: `sign`
    ("out", "in" or "mixed"), `amount_min_cents`, `amount_median_cents` (the lower middle one when
    their number is even: always a real amount), `amount_max_cents` and `months` (distinct calendar
    months it occurs in).

    The history is one pandas DataFrame (money as int64 cents, exact), grouped by payee key.
    """
    transactions = [t for t in history.transactions if t.category_id is not None or t.category_title]
    if ruleset is not None and ruleset.rules:
        outcomes = ruleset.apply_all(history_subjects(History(transactions, history.accounts)))
        transactions = [t for t, o in zip(transactions, outcomes) if o.category is None and not o.skip]
    if not transactions:
        return []
    frame = _history_frame(transactions, history)
    drafts = _drafts(frame, min_support, min_confidence)
    for draft in drafts:
        draft["candidates"] = [{**condition, **draft["sign"]} for condition in _conditions_for(draft["key"],
                                                                                               draft["texts"][:50])]
    subjects = history_subjects(History(transactions, history.accounts))
    names = frame["category"].tolist()
    cents = frame["cents"].tolist()
    suggestions: dict[tuple[str, str | None], dict] = {}
    # Try each draft's conditions shortest first, all drafts in one pass per round: the first condition that
    # keeps every row of its payee and stays precise over the whole history wins.
    pending = drafts
    while pending:
        trying = [(d, d["candidates"].pop(0)) for d in pending if d["candidates"]]
        if not trying:
            break
        # The payee part runs through the rules engine; the sign is applied to its rows here, which gives the same
        # rows as the whole condition without the engine gathering every negative row once per rule.
        compiled = compile_rules({"rules": [{"name": f"#{n}", "if": _without_amount(condition),
                                             "then": {"category": d["category"]}}
                                            for n, (d, condition) in enumerate(trying)]})
        pending = []
        for (draft, condition), rows in zip(trying, compiled.matches(subjects)):
            if "amount" in condition:
                below = "lt" in condition["amount"]
                rows = [i for i in rows if (cents[i] < 0 if below else cents[i] > 0)]
            support = sum(1 for i in rows if names[i] == draft["category"])
            confidence = support / len(rows) if rows else 0.0
            if support < max(min_support, draft["count"]) or confidence < min_confidence:
                pending.append(draft)
                continue
            # Keyed by the payee part and the direction of money: payee keys that differ only by a town share
            # one rule (the one matching more), while money out and money in to the same payee stay two.
            direction = next(iter(condition["amount"])) if "amount" in condition else None
            signature = (repr(_without_amount(condition)), direction)
            if signature in suggestions and suggestions[signature]["support"] >= support:
                continue
            category = next((c for c in history.categories if (c.path or c.title) == draft["category"]), None)
            suggestions[signature] = {
                "name": None, "if": condition, "then": {"category": draft["category"]},
                "category_id": category.id if category else next(
                    (t.category_id for t in transactions if history.category_name(t) == draft["category"]), None),
                "support": support, "confidence": round(confidence, 3), "matched": len(rows),
                "examples": draft["texts"][:3], "_rows": rows,
            }
    # A rule without a sign already covers both directions of its payee: its signed twins add nothing.
    unsigned = {payee for payee, direction in suggestions if direction is None}
    kept = [s for (payee, direction), s in suggestions.items() if direction is None or payee not in unsigned]
    ordered = sorted(kept, key=lambda s: (-s["support"], s["then"]["category"] or ""))
    for suggestion, stats in zip(ordered, _amount_stats(frame, [s.pop("_rows") for s in ordered])):
        suggestion.update(stats)
    used: set[str] = set(rule.name for rule in (ruleset.rules if ruleset else []))
    for suggestion in ordered:
        suggestion["name"] = unique_name(_slug(_condition_text(suggestion["if"])), used)
    return ordered


def _without_amount(condition: dict) -> dict:
    return {field: test for field, test in condition.items() if field != "amount"}


def _history_frame(transactions: list, history: History):
    """One row per transaction: payee key, payee text (lowercased), category, amount in int64 cents, month.

    Cents are computed from the Decimal, so money stays exact; `month` is year * 12 + month, -1 when undated.
    """
    import pandas as pd

    from importer.payee import match_key as payee_key
    texts = [_payee_text(t) for t in transactions]
    keys = {text: payee_key(text) for text in set(texts)}   # statements repeat their payees: one key per text
    return pd.DataFrame({
        "key": [keys[text] for text in texts],
        "text": [text.lower() for text in texts],
        "category": [history.category_name(t) for t in transactions],
        "cents": pd.array([int(t.amount.scaleb(2).to_integral_value()) for t in transactions], dtype="int64"),
        "month": pd.array([t.date.year * 12 + t.date.month - 1 if t.date else -1 for t in transactions],
                          dtype="int64"),
    })


def _drafts(frame, min_support: int, min_confidence: float) -> list[dict]:
    """Payee keys with enough transactions mostly in one category: that category, its count, the key's texts
    (most frequent first) and, when all its amounts share a sign, the amount condition that says so."""
    keyed = frame[frame["key"] != ""]
    if keyed.empty:
        return []
    # sort=False keeps first appearance, and the stable sorts below keep it among ties, as Counter.most_common does.
    per_category = keyed.groupby(["key", "category"], sort=False, dropna=False).size().reset_index(name="n")
    top = per_category.sort_values("n", ascending=False, kind="stable").drop_duplicates("key")
    per_key = keyed.groupby("key", sort=False).agg(total=("cents", "size"), low=("cents", "min"),
                                                   high=("cents", "max"))
    top = top.join(per_key, on="key").set_index("key").reindex(per_key.index)
    top = top[(top["n"] >= min_support) & (top["n"] / top["total"] >= min_confidence)]
    if top.empty:
        return []
    texts = (keyed[keyed["key"].isin(top.index)].groupby(["key", "text"], sort=False).size()
             .reset_index(name="n").sort_values("n", ascending=False, kind="stable"))
    texts_by_key: dict[str, list[str]] = defaultdict(list)
    for key, text in zip(texts["key"], texts["text"]):
        texts_by_key[key].append(text)
    return [{"key": key, "category": None if isinstance(category, float) else category, "count": int(count),
             "texts": texts_by_key[key],
             "sign": {"amount": {"lt": 0}} if high < 0 else {"amount": {"gt": 0}} if low > 0 else {}}
            for key, category, count, low, high in zip(top.index, top["category"], top["n"], top["low"], top["high"])]


def _amount_stats(frame, matched: list[list[int]]) -> list[dict]:
    """For each list of matched row numbers: sign, min / median / max in cents, and distinct months."""
    import numpy as np
    if not matched:
        return []
    rows = frame.iloc[np.concatenate([np.asarray(m, dtype=np.int64) for m in matched])][["cents", "month"]]
    rows = rows.assign(s=np.repeat(np.arange(len(matched)), [len(m) for m in matched]))
    ordered = rows.sort_values(["s", "cents"], kind="stable")
    grouped = ordered.groupby("s", sort=True)
    sizes = grouped.size().to_numpy()
    starts = np.cumsum(sizes) - sizes
    cents = ordered["cents"].to_numpy()
    medians = cents[starts + (sizes - 1) // 2]
    lows, highs = cents[starts], cents[starts + sizes - 1]
    dated = ordered[ordered["month"] >= 0]
    months = dated.groupby("s")["month"].nunique().reindex(range(len(matched)), fill_value=0).to_numpy()
    return [{"sign": "out" if high < 0 else "in" if low > 0 else "mixed", "amount_min_cents": int(low),
             "amount_median_cents": int(median), "amount_max_cents": int(high), "months": int(month)}
            for low, median, high, month in zip(lows, medians, highs, months)]


def suggest_from_history(rules_path: str | Path | None, config: Any, *, min_support: int = 3,
                         min_confidence: float = 0.9, warn: Callable[[str], None] = lambda text: None,
                         **history: Any) -> tuple[list[dict], int]:
    """`psimport rules suggest`: proposals beyond the current rules file (if any), and how many rows were considered."""
    ruleset = load_rules_for(rules_path, config, required=False)
    past, _, _ = load_history(warn=warn, **history)
    considered = sum(1 for t in past.transactions if t.category_id is not None or t.category_title)
    return suggest_rules(past, min_support=min_support, min_confidence=min_confidence, ruleset=ruleset), considered


# Words that make a poor rule on their own, at either end of one: channel words and joiners.
_WEAK_WORDS = frozenset("the a an to from of and at for in on by bpay direct debit credit eftpos purchase pos "
                        "visa card payment ltd pty".split())


def _conditions_for(key: str, texts: list[str]) -> list[dict]:
    """Conditions every one of `texts` meets, most readable first.

    Runs of the payee key's words found as whole words in every text, earliest first (the merchant's
    name leads, places trail) and two words before one before more; then the text they all share cut
    before store numbers; then a fuzzy match on the key.
    """
    words = key.split()
    spans = [(n, i) for i in range(len(words)) for n in [2, 1] + list(range(3, len(words) - i + 1))
             if i + n <= len(words)]
    out: list[dict] = []
    for n, i in spans:
        run = words[i:i + n]
        phrase = " ".join(run)
        if len(phrase) < 4 or run[0] in _WEAK_WORDS or run[-1] in _WEAK_WORDS:
            continue
        pattern = re.compile(rf"(?<![a-z0-9]){re.escape(phrase)}(?![a-z0-9])")
        if all(pattern.search(text) for text in texts):
            out.append({"original_payee": {"contains": phrase}})
    common = texts[0]
    for text in texts[1:]:
        match = SequenceMatcher(None, common, text, autojunk=False).find_longest_match(0, len(common), 0, len(text))
        common = common[match.a:match.a + match.size]
    literal = common.strip()
    numbered = next((m for m in re.finditer(r"\S+", common) if any(ch.isdigit() for ch in m.group())), None)
    if numbered is not None:
        prefix = common[:numbered.start()].strip().rstrip("*-/# ").strip()
        if len(prefix) >= 4:
            literal = prefix
    if len(literal) >= 3 and {"original_payee": {"contains": literal}} not in out:
        out.append({"original_payee": {"contains": literal}})
    out.append({"original_payee": {"fuzzy": {"value": key, "score": 90}}})
    return out


def _condition_text(condition: dict) -> str:
    operators = next(iter(condition.values()))
    value = next(iter(operators.values()))
    return value["value"] if isinstance(value, dict) else str(value)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "payee"


def unique_name(name: str, used: set[str]) -> str:
    """`name`, or `name-2`, `name-3`... whichever is not in `used` yet; it is then added to `used`."""
    candidate, n = name, 2
    while candidate in used:
        candidate, n = f"{name}-{n}", n + 1
    used.add(candidate)
    return candidate


def suggestions_file(suggestions: Sequence[dict], *, considered: int, min_support: int,
                     min_confidence: float) -> str:
    """The suggestions as a whole rules file, each with a comment saying why; ready to paste."""
    from importer.rules import dump_rules
    header = [f"Suggested by `psimport rules suggest` from {considered:,} categorised transactions",
              f"(at least {min_support} transactions and {min_confidence:.0%} of them in one category).",
              "Read each one before you paste it into rules.yaml: the first rule that sets a field wins."]
    if not suggestions:
        header.append("Nothing to suggest: no payee left uncategorised by your rules has enough transactions in one "
                      "category. Try a lower --min-support or --min-confidence.")
    entries = []
    for s in suggestions:
        examples = ", ".join(s["examples"])
        months = s["months"]
        entries.append({"name": s["name"], "if": s["if"], "then": s["then"],
                        "comment": f"{s['support']} transactions, {s['confidence']:.0%} {s['then']['category']}, "
                                   f"{_amount_range(s)}, {months} month{'' if months == 1 else 's'}; e.g. {examples}"})
    return dump_rules(entries, header=header)


def _amount_range(suggestion: dict) -> str:
    """The amounts a suggestion matches, nearest zero first for money out: "-12.40 .. -187.35"."""
    low, high = (Decimal(suggestion[f"amount_{end}_cents"]).scaleb(-2) for end in ("min", "max"))
    if suggestion["sign"] == "out":
        low, high = high, low
    return f"{low}" if low == high else f"{low} .. {high}"


# ─── explain ──────────────────────────────────────────────────────────────────────────────────

def explain_files(files: Sequence[str | Path], rules_path: str | Path | None, config: Any, *,
                  account: int | None = None, mapping: str | None = None, date_order: str | None = None,
                  existing: str | Path | None = None, connect: Callable[[], Any] | None = None,
                  warn: Callable[[str], None] = lambda text: None) -> list[dict]:
    """`psimport rules explain`: for each row of the files, which rules matched and which set each field.

    Offline the categories stay as written; with `existing` they are checked against the export's
    (warnings), with `connect` (a client) against PocketSmith's (errors), as preview does.
    """
    from importer.accounts import account_rules, resolve_targets
    from importer.plan import read_statements
    from importer.rules import categories_seen, subject_from_record
    ruleset = load_rules_for(rules_path, config)
    known = None
    if existing is not None:
        from importer.pocketsmith.models import load_export
        for warning in ruleset.resolve_categories(categories_seen(load_export(existing)), strict=False):
            warn(warning)
    elif connect is not None:
        client = connect()
        ruleset.resolve_categories(client.categories(), strict=True)
        known = client.transaction_accounts()
    mapping_rules = account_rules(config.accounts, config.path)
    statements = read_statements(files, config=config, mapping=mapping, date_order=date_order).statements
    try:
        targets = resolve_targets(statements, account=account, rules=mapping_rules, known=known)
    except ConfigError:
        targets = [None] * len(statements)   # unmapped files: rules on `account` see the file's number only
    names = {a.id: a.name for a in known or ()}
    subjects = []
    for statement, target in zip(statements, targets):
        aliases = [str(target.account_id), names.get(target.account_id)] if target and target.account_id > 0 else []
        aliases = [a for a in aliases + [statement.account.id] if a]
        subjects.extend(subject_from_record(txn, aliases) for txn in statement.transactions)
    return explain_rows(statements, ruleset.apply_all(subjects))


def explain_rows(statements, outcomes) -> list[dict]:
    """One row per statement transaction: which rules matched it and which rule set each field."""
    rows = []
    index = 0
    for statement in statements:
        for txn in statement.transactions:
            outcome = outcomes[index]
            index += 1
            decided = {}
            for name in ("category", "payee", "note", "needs_review", "is_transfer", "skip"):
                if name in outcome.set_by:
                    value = outcome.category_path if name == "category" else getattr(outcome, name)
                    decided[name] = {"value": value, "rule": outcome.set_by[name]}
            rows.append({"file": statement.file, "line": txn.line, "date": txn.date, "amount": txn.amount,
                         "payee": txn.payee, "original_payee": txn.original_payee, "memo": txn.memo,
                         "rules": list(outcome.rules), "set": decided,
                         "labels": [{"label": label, "rule": outcome.label_by.get(label)}
                                    for label in outcome.labels],
                         "category_id": outcome.category_id})
    return rows
