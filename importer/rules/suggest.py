"""`rules suggest`: rules proposed from the user's categorised history, each checked as a real rule against it."""

from __future__ import annotations

import re
from decimal import Decimal
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any, Callable, Sequence

from importer.rules.engine import RuleSet
from importer.text import plural
from importer.rules.file import compile_rules, load_rules_for
from importer.rules.history import History, history_subjects, load_history
from importer.rules.merchants import WEAK_WORDS, merchant_drafts, merchants_of

__all__ = ["suggest_rules", "suggest_from_history", "suggestions_file", "unique_name"]


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
    transactions, subjects = _left_to_suggest_for(history, ruleset)
    if not transactions:
        return []
    frame = _history_frame(transactions, history)
    drafts = merchant_drafts(merchants_of(transactions), frame["category"].tolist(), frame["cents"].tolist(),
                             min_support, min_confidence)
    for draft in drafts:
        draft["candidates"] += _fallback_conditions(draft)
    proven = _proven_rules(drafts, subjects, frame, min_support, min_confidence)
    # The merchants' rules first: a kind of shop ("pharmacy") is for what none of them takes.
    suggestions = sorted(_without_signed_twins(proven),
                         key=lambda s: (s["_kind"], -s["support"], s["then"]["category"] or ""))
    for suggestion, stats in zip(suggestions, _amount_stats(frame, [s.pop("_rows") for s in suggestions])):
        suggestion["category_id"] = _category_id(suggestion["then"]["category"], transactions, history)
        suggestion.update(stats)
    used: set[str] = set(rule.name for rule in (ruleset.rules if ruleset else []))
    for suggestion in suggestions:
        suggestion["name"] = unique_name(_slug(_condition_phrase(suggestion["if"]) or suggestion["_key"]), used)
        del suggestion["_kind"], suggestion["_key"]
    return suggestions


def _left_to_suggest_for(history: History, ruleset: RuleSet | None) -> tuple[list, list]:
    """The transactions the user categorised that `ruleset` neither categorises nor skips; and their subjects."""
    transactions = [t for t in history.transactions if t.category_id is not None or t.category_title]
    subjects = history_subjects(History(transactions, history.accounts))
    if ruleset is not None and ruleset.rules:
        left = [n for n, outcome in enumerate(ruleset.apply_all(subjects))
                if outcome.category is None and not outcome.skip]
        transactions, subjects = [transactions[n] for n in left], [subjects[n] for n in left]
    return transactions, subjects


def _fallback_conditions(draft: dict) -> list[dict]:
    """After the merchant's phrases: the text all its rows share, then a fuzzy match on its key; with its sign."""
    tried = [_without_amount(c) for c in draft["candidates"]]
    return [{**condition, **draft["sign"]} for condition in _conditions_for(draft["key"], draft["texts"][:50])
            if condition not in tried]


def _proven_rules(drafts: list[dict], subjects: list, frame, min_support: int,
                  min_confidence: float) -> dict[tuple[str, str | None], dict]:
    """Each draft as the first of its candidate conditions that, run as a real rule, keeps every row of its
    payee and stays precise over the whole history; by payee condition and direction of money.

    Candidates are tried shortest first, all drafts in one pass per round. Payee keys that differ only by a
    town give the same condition: they share one rule, the one matching more.
    """
    categories, cents = frame["category"].tolist(), frame["cents"].tolist()
    proven: dict[tuple[str, str | None], dict] = {}
    pending = drafts
    while pending:
        exhausted = [draft for draft in pending if not draft["candidates"]]
        trying = [(draft, draft["candidates"].pop(0)) for draft in pending if draft["candidates"]]
        # A draft none of whose conditions held up: its longer phrases may ("woolworths" failed, but
        # "woolworths metro" holds).
        pending = [refined for draft in exhausted for refined in draft["refine"]()]
        for (draft, condition), rows in zip(trying, _rows_matched(trying, subjects, cents)):
            support = sum(1 for i in rows if categories[i] == draft["category"])
            confidence = support / len(rows) if rows else 0.0
            if support < max(min_support, draft["count"]) or confidence < min_confidence:
                pending.append(draft)
                continue
            # Money out and money in to the same payee stay two rules.
            direction = next(iter(condition["amount"])) if "amount" in condition else None
            signature = (repr(_without_amount(condition)), direction)
            if signature not in proven or proven[signature]["support"] < support:
                proven[signature] = {
                    "name": None, "if": condition, "then": {"category": draft["category"]}, "category_id": None,
                    "support": support, "confidence": round(confidence, 3), "matched": len(rows),
                    "examples": draft["texts"][:3], "_rows": rows, "_key": draft["key"], "_kind": draft["kind"],
                }
    return proven


def _rows_matched(trying: list[tuple[dict, dict]], subjects: list, cents: list[int]) -> list[list[int]]:
    """For each (draft, condition), the rows the condition matches, all found in one run of the rules engine.

    The payee part runs through the engine; the sign is applied to its rows here, which gives the same
    rows as the whole condition without the engine gathering every negative row once per rule.
    """
    compiled = compile_rules({"rules": [{"name": f"#{n}", "if": _without_amount(condition),
                                         "then": {"category": draft["category"]}}
                                        for n, (draft, condition) in enumerate(trying)]})
    out = []
    for (_, condition), rows in zip(trying, compiled.matches(subjects)):
        if "amount" in condition:
            below = "lt" in condition["amount"]
            rows = [i for i in rows if (cents[i] < 0 if below else cents[i] > 0)]
        out.append(rows)
    return out


def _without_signed_twins(proven: dict[tuple[str, str | None], dict]) -> list[dict]:
    """A rule without a sign already covers both directions of its payee: its signed twins add nothing."""
    unsigned = {payee for payee, direction in proven if direction is None}
    return [s for (payee, direction), s in proven.items() if direction is None or payee not in unsigned]


def _category_id(name: str | None, transactions: list, history: History) -> int | None:
    """The id of the category shown as `name`: the user's category of that path, else a transaction's."""
    category = next((c for c in history.categories if (c.path or c.title) == name), None)
    if category is not None:
        return category.id
    return next((t.category_id for t in transactions if history.category_name(t) == name), None)


def _without_amount(condition: dict) -> dict:
    return {field: test for field, test in condition.items() if field != "amount"}


def _history_frame(transactions: list, history: History):
    """One row per transaction: category, amount in int64 cents, month.

    Cents are computed from the Decimal, so money stays exact; `month` is year * 12 + month, -1 when undated.
    """
    import pandas as pd

    return pd.DataFrame({
        "category": [history.category_name(t) for t in transactions],
        "cents": pd.array([int(t.amount.scaleb(2).to_integral_value()) for t in transactions], dtype="int64"),
        "month": pd.array([t.date.year * 12 + t.date.month - 1 if t.date else -1 for t in transactions],
                          dtype="int64"),
    })


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
        if len(phrase) < 4 or run[0] in WEAK_WORDS or run[-1] in WEAK_WORDS:
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


def _condition_phrase(condition) -> str | None:
    """The first text a condition looks for (not what it excludes): what the rule is named after."""
    if isinstance(condition, list):
        return next(filter(None, map(_condition_phrase, condition)), None)
    if not isinstance(condition, dict):
        return None
    for field, test in condition.items():
        if field in ("any", "all"):
            found = _condition_phrase(test)
        elif field in ("not", "amount"):
            continue
        else:
            value = next(iter(test.values()))
            found = value["value"] if isinstance(value, dict) else value[0] if isinstance(value, list) else value
        if found:
            return str(found)
    return None


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
                                   f"{_amount_range(s)}, {plural(months, 'month')}; e.g. {examples}"})
    return dump_rules(entries, header=header)


def _amount_range(suggestion: dict) -> str:
    """The amounts a suggestion matches, nearest zero first for money out: "-12.40 .. -187.35"."""
    low, high = (Decimal(suggestion[f"amount_{end}_cents"]).scaleb(-2) for end in ("min", "max"))
    if suggestion["sign"] == "out":
        low, high = high, low
    return f"{low}" if low == high else f"{low} .. {high}"
