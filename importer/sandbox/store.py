"""The sandbox's SQLite store: users, accounts, categories, rules and transactions, returned in the API's JSON shapes.

Money is kept as integer cents, so balances are exact sums in SQL; it leaves as Decimal.
One connection guarded by a lock: the HTTP server's threads take turns, which is plenty for a
local sandbox and keeps SQLite's threading rules simple.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Iterable

from importer.config import make_private_dir, private_file

__all__ = ["Store", "TransactionFilter", "to_cents", "from_cents", "utc_timestamp"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY, login TEXT, name TEXT, email TEXT, time_zone TEXT, base_currency_code TEXT,
    week_start_day INTEGER, created_at TEXT, updated_at TEXT);
CREATE TABLE IF NOT EXISTS api_keys (key_hash TEXT PRIMARY KEY, user_id INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS institutions (
    id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, title TEXT, currency_code TEXT,
    created_at TEXT, updated_at TEXT);
CREATE TABLE IF NOT EXISTS transaction_accounts (
    id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, account_id INTEGER, institution_id INTEGER,
    name TEXT NOT NULL, number TEXT, type TEXT NOT NULL, currency_code TEXT NOT NULL,
    starting_balance_cents INTEGER NOT NULL DEFAULT 0, starting_balance_date TEXT,
    created_at TEXT, updated_at TEXT);
CREATE TABLE IF NOT EXISTS categories (
    id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, parent_id INTEGER, title TEXT NOT NULL, colour TEXT,
    is_transfer INTEGER NOT NULL DEFAULT 0, is_bill INTEGER NOT NULL DEFAULT 0,
    roll_up INTEGER NOT NULL DEFAULT 0, refund_behaviour TEXT, created_at TEXT, updated_at TEXT);
CREATE TABLE IF NOT EXISTS category_rules (
    id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, category_id INTEGER NOT NULL,
    payee_matches TEXT NOT NULL, created_at TEXT, updated_at TEXT);
CREATE TABLE IF NOT EXISTS transactions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, transaction_account_id INTEGER NOT NULL, date TEXT NOT NULL,
    amount_cents INTEGER NOT NULL, payee TEXT NOT NULL, original_payee TEXT, memo TEXT, note TEXT,
    cheque_number TEXT, labels TEXT NOT NULL DEFAULT '[]', category_id INTEGER,
    is_transfer INTEGER NOT NULL DEFAULT 0, needs_review INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'posted', upload_source TEXT, created_at TEXT, updated_at TEXT);
CREATE INDEX IF NOT EXISTS transactions_by_account
    ON transactions (transaction_account_id, date, id, amount_cents);
CREATE INDEX IF NOT EXISTS transactions_by_update ON transactions (transaction_account_id, updated_at);
"""

# Transaction ids look like PocketSmith's (large), and never collide with the small demo ids.
FIRST_TRANSACTION_ID = 880_000_001

TRANSACTION_COLUMNS = ("transaction_account_id", "date", "amount_cents", "payee", "original_payee", "memo",
                       "note", "cheque_number", "labels", "category_id", "is_transfer", "needs_review",
                       "status", "upload_source", "created_at", "updated_at")


def to_cents(amount: Decimal) -> int:
    """Exact cents; the caller has checked there are at most two decimal places."""
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise ValueError(f"{amount} has more than two decimal places")
    return int(cents)


def from_cents(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


def utc_timestamp(moment: datetime | None = None) -> str:
    moment = moment or datetime.now(timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class _DaySums:
    """One account's cents summed by day, in a Fenwick tree over day numbers: the total of every day before a
    given one in about 22 steps, however many transactions the account holds. A closing balance needs the sum of
    everything dated before its transaction, which SQLite could only get by scanning those rows' index: each
    create's answer cost a scan of a good part of the account (200 us at 5,000 transactions)."""

    _SIZE = 1 << 22          # past date(9999, 12, 31).toordinal(), 3,652,059

    def __init__(self) -> None:
        self._tree: dict[int, int] = {}

    def add(self, day: str, cents: int) -> None:
        index = date.fromisoformat(day).toordinal()
        while index < self._SIZE:
            self._tree[index] = self._tree.get(index, 0) + cents
            index += index & -index

    def before(self, day: str) -> int:
        """The cents of every day before `day`."""
        index = date.fromisoformat(day).toordinal() - 1
        total = 0
        while index > 0:
            total += self._tree.get(index, 0)
            index -= index & -index
        return total


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class TransactionFilter:
    """The list endpoint's query: a date range, updated_since, type, search and the flag filters."""

    def __init__(self, start_date: date | None = None, end_date: date | None = None,
                 updated_since: str | None = None, type: str | None = None, search: str | None = None,
                 uncategorised: bool = False, needs_review: bool = False):
        self.start_date = start_date
        self.end_date = end_date
        self.updated_since = updated_since
        self.type = type
        self.search = (search or "").strip().lower() or None
        self.uncategorised = uncategorised
        self.needs_review = needs_review

    def sql(self) -> tuple[str, list[Any]]:
        clauses, params = [], []
        if self.start_date:
            clauses.append("t.date >= ?")
            params.append(self.start_date.isoformat())
        if self.end_date:
            clauses.append("t.date <= ?")
            params.append(self.end_date.isoformat())
        if self.updated_since:
            clauses.append("t.updated_at >= ?")
            params.append(self.updated_since)
        if self.type == "debit":
            clauses.append("t.amount_cents < 0")
        elif self.type == "credit":
            clauses.append("t.amount_cents >= 0")
        if self.uncategorised:
            clauses.append("t.category_id IS NULL")
        if self.needs_review:
            clauses.append("t.needs_review = 1")
        return (" AND ".join(clauses) or "1"), params


class Store:
    """All sandbox state, in one SQLite file that survives a restart."""

    def __init__(self, path: str | Path, clock: Callable[[], datetime] | None = None):
        self.path = Path(path)
        make_private_dir(self.path.parent, "the sandbox's folder")
        private_file(self.path)      # its -wal and -shm files take its mode
        self.lock = threading.RLock()
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        # Per account: (sum of amounts in cents, latest date, earliest date), so a balance is not a
        # full scan on every answer. Only this Store writes the file, so it can keep these current.
        self._totals: dict[int, tuple[int, str | None, str | None]] = {}
        self._day_sums: dict[int, _DaySums] = {}    # per account, built on first need and kept current
        # What never changes once it exists (the sandbox has no way to re-key, move, edit or delete them), kept
        # as first read: a key's user, an account's or a category's owner, an account's row and its institution.
        # Every create asked SQLite for each of them again (five of its nine queries).
        self._key_users: dict[str, int] = {}
        self._owners: dict[tuple[str, int], int] = {}
        self._account_rows: dict[int, sqlite3.Row] = {}
        self._institutions: dict[tuple[int | None, str], dict] = {}
        self.db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        with self.lock:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(SCHEMA)
            if self.db.execute("SELECT 1 FROM sqlite_sequence WHERE name = 'transactions'").fetchone() is None:
                self.db.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('transactions', ?)",
                                (FIRST_TRANSACTION_ID - 1,))

    def close(self) -> None:
        with self.lock:
            self.db.close()

    def now(self) -> str:
        return utc_timestamp(self.clock())

    def _one(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Row | None:
        with self.lock:
            return self.db.execute(sql, tuple(params)).fetchone()

    def _all(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        with self.lock:
            return self.db.execute(sql, tuple(params)).fetchall()

    def _insert(self, table: str, values: dict[str, Any]) -> int:
        columns = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        with self.lock:
            cursor = self.db.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", tuple(values.values()))
            return int(cursor.lastrowid)

    # ─── set-up (seeding and tests) ───────────────────────────────────────────────────────────

    def is_empty(self) -> bool:
        return self._one("SELECT 1 FROM users LIMIT 1") is None

    def meta(self, key: str) -> str | None:
        row = self._one("SELECT value FROM meta WHERE key = ?", (key,))
        return None if row is None else row["value"]

    def set_meta(self, key: str, value: str) -> None:
        with self.lock:
            self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def add_user(self, id: int, login: str, name: str, email: str, time_zone: str = "Sydney",
                 base_currency_code: str = "AUD", created_at: str | None = None) -> int:
        stamp = created_at or self.now()
        return self._insert("users", {"id": id, "login": login, "name": name, "email": email,
                                      "time_zone": time_zone, "base_currency_code": base_currency_code,
                                      "week_start_day": 1, "created_at": stamp, "updated_at": stamp})

    def add_key(self, key: str, user_id: int) -> None:
        with self.lock:
            self.db.execute("INSERT OR REPLACE INTO api_keys (key_hash, user_id) VALUES (?, ?)",
                            (key_hash(key), user_id))
            self._key_users.pop(key, None)

    def user_for_key(self, key: str) -> int | None:
        user_id = self._key_users.get(key)       # by the key itself: a hash a request was 3% of the sandbox's CPU
        if user_id is None:
            row = self._one("SELECT user_id FROM api_keys WHERE key_hash = ?", (key_hash(key),))
            if row is None:
                return None
            user_id = self._key_users[key] = int(row["user_id"])
        return user_id

    def first_user_id(self) -> int | None:
        row = self._one("SELECT id FROM users ORDER BY id LIMIT 1")
        return None if row is None else int(row["id"])

    def add_institution(self, user_id: int, title: str, currency_code: str = "AUD", id: int | None = None,
                        created_at: str | None = None) -> int:
        stamp = created_at or self.now()
        return self._insert("institutions", {"id": id, "user_id": user_id, "title": title,
                                             "currency_code": currency_code, "created_at": stamp,
                                             "updated_at": stamp})

    def add_transaction_account(self, user_id: int, name: str, *, id: int | None = None, number: str | None = None,
                                type: str = "bank", currency_code: str = "AUD", institution_id: int | None = None,
                                account_id: int | None = None, starting_balance: Decimal = Decimal(0),
                                starting_balance_date: date | None = None, created_at: str | None = None) -> int:
        stamp = created_at or self.now()
        return self._insert("transaction_accounts", {
            "id": id, "user_id": user_id, "account_id": account_id, "institution_id": institution_id, "name": name,
            "number": number, "type": type, "currency_code": currency_code,
            "starting_balance_cents": to_cents(starting_balance),
            "starting_balance_date": starting_balance_date.isoformat() if starting_balance_date else None,
            "created_at": stamp, "updated_at": stamp})

    def add_category(self, user_id: int, title: str, *, id: int | None = None, parent_id: int | None = None,
                     colour: str | None = None, is_transfer: bool = False, is_bill: bool = False,
                     roll_up: bool = False, refund_behaviour: str | None = None,
                     created_at: str | None = None) -> int:
        stamp = created_at or self.now()
        return self._insert("categories", {
            "id": id, "user_id": user_id, "parent_id": parent_id, "title": title, "colour": colour,
            "is_transfer": int(is_transfer), "is_bill": int(is_bill), "roll_up": int(roll_up),
            "refund_behaviour": refund_behaviour, "created_at": stamp, "updated_at": stamp})

    def add_category_rule(self, user_id: int, category_id: int, payee_matches: str, *, id: int | None = None,
                          created_at: str | None = None) -> int:
        stamp = created_at or self.now()
        return self._insert("category_rules", {"id": id, "user_id": user_id, "category_id": category_id,
                                               "payee_matches": payee_matches, "created_at": stamp,
                                               "updated_at": stamp})

    def add_transactions(self, rows: Iterable[dict[str, Any]]) -> list[int]:
        """Insert many transactions at once (seeding). Each row uses the API's field names; amount is Decimal."""
        ids = []
        with self.lock:
            self.db.execute("BEGIN")
            try:
                for row in rows:
                    ids.append(self._insert("transactions", self._transaction_values(row)))
                self.db.execute("COMMIT")
                self._totals.clear()
                self._day_sums.clear()
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
        return ids

    def _transaction_values(self, row: dict[str, Any]) -> dict[str, Any]:
        stamp = row.get("created_at") or self.now()
        day = row["date"]
        return {
            "transaction_account_id": row["transaction_account_id"],
            "date": day.isoformat() if isinstance(day, date) else str(day),
            "amount_cents": to_cents(Decimal(row["amount"])),
            "payee": row["payee"],
            "original_payee": row.get("original_payee") or row["payee"],
            "memo": row.get("memo"), "note": row.get("note"), "cheque_number": row.get("cheque_number"),
            "labels": json.dumps(list(row.get("labels") or [])),
            "category_id": row.get("category_id"),
            "is_transfer": int(bool(row.get("is_transfer"))),
            "needs_review": int(bool(row.get("needs_review"))),
            "status": row.get("status") or "posted",
            "upload_source": row.get("upload_source"),
            "created_at": stamp, "updated_at": row.get("updated_at") or stamp,
        }

    # ─── ownership look-ups ───────────────────────────────────────────────────────────────────

    def owner(self, table: str, id: int) -> int | None:
        """The user a row belongs to, or None when there is no such row."""
        if table == "transactions":      # deleted by the API: asked each time
            row = self._one("SELECT a.user_id FROM transactions t JOIN transaction_accounts a "
                            "ON a.id = t.transaction_account_id WHERE t.id = ?", (id,))
            return None if row is None else int(row["user_id"])
        owner = self._owners.get((table, id))
        if owner is None:
            row = self._one(f"SELECT user_id FROM {table} WHERE id = ?", (id,))
            if row is None:
                return None
            owner = self._owners[table, id] = int(row["user_id"])
        return owner

    # ─── API shapes ───────────────────────────────────────────────────────────────────────────

    def user_json(self, user_id: int) -> dict | None:
        row = self._one("SELECT * FROM users WHERE id = ?", (user_id,))
        if row is None:
            return None
        accounts = self._one("SELECT COUNT(*) AS n FROM transaction_accounts WHERE user_id = ?", (user_id,))["n"]
        return {
            "id": row["id"], "login": row["login"], "name": row["name"], "email": row["email"],
            "avatar_url": f"https://sandbox.invalid/avatars/{row['id']}.png",
            "beta_user": False, "time_zone": row["time_zone"], "week_start_day": row["week_start_day"],
            "is_reviewing_transactions": True, "base_currency_code": row["base_currency_code"],
            "always_show_base_currency": False, "using_multiple_currencies": False,
            "available_accounts": max(10, accounts), "available_budgets": 10,
            "forecast_last_updated_at": row["updated_at"], "forecast_last_accessed_at": row["updated_at"],
            "forecast_start_date": row["created_at"][:10], "forecast_end_date": row["created_at"][:10],
            "forecast_defer_recalculate": False, "forecast_needs_recalculate": False,
            "last_logged_in_at": row["updated_at"], "last_activity_at": row["updated_at"],
            "created_at": row["created_at"], "updated_at": row["updated_at"],
        }

    def _institution_json(self, institution_id: int | None, currency: str) -> dict:
        known = self._institutions.get((institution_id, currency))
        if known is not None:
            return dict(known)
        row = self._one("SELECT * FROM institutions WHERE id = ?", (institution_id,)) if institution_id else None
        if row is None:
            return {"id": 0, "title": "Unknown", "currency_code": currency}
        known = self._institutions[institution_id, currency] = {
            "id": row["id"], "title": row["title"], "currency_code": row["currency_code"],
            "created_at": row["created_at"], "updated_at": row["updated_at"]}
        return dict(known)

    def _account_row(self, account_id: int) -> sqlite3.Row | None:
        row = self._account_rows.get(account_id)
        if row is None:
            row = self._one("SELECT * FROM transaction_accounts WHERE id = ?", (account_id,))
            if row is not None:
                self._account_rows[account_id] = row
        return row

    def _account_totals(self, account_id: int) -> tuple[int, str | None, str | None]:
        with self.lock:
            totals = self._totals.get(account_id)
            if totals is None:
                row = self.db.execute("SELECT COALESCE(SUM(amount_cents), 0) AS total, MAX(date) AS last, "
                                      "MIN(date) AS first FROM transactions WHERE transaction_account_id = ?",
                                      (account_id,)).fetchone()
                totals = self._totals[account_id] = (row["total"], row["last"], row["first"])
            return totals

    def _cents_before(self, account_id: int, day: str, transaction_id: int) -> int:
        """The cents of the account's transactions before (day, id) in (date, id) order."""
        with self.lock:
            sums = self._day_sums.get(account_id)
            if sums is None:
                sums = self._day_sums[account_id] = _DaySums()
                for row in self.db.execute("SELECT date, SUM(amount_cents) AS cents FROM transactions "
                                           "WHERE transaction_account_id = ? GROUP BY date", (account_id,)):
                    sums.add(row["date"], row["cents"])
            same_day = self.db.execute(
                "SELECT COALESCE(SUM(amount_cents), 0) AS s FROM transactions WHERE transaction_account_id = ? "
                "AND date = ? AND id < ?", (account_id, day, transaction_id)).fetchone()["s"]
            return sums.before(day) + same_day

    def transaction_account_json(self, account_id: int) -> dict | None:
        row = self._account_row(account_id)
        if row is None:
            return None
        total, last, _ = self._account_totals(account_id)
        balance = from_cents(row["starting_balance_cents"] + total)
        return {
            "id": row["id"], "account_id": row["account_id"], "name": row["name"], "number": row["number"],
            "current_balance": balance,
            "current_balance_date": last or row["starting_balance_date"] or row["created_at"][:10],
            "current_balance_in_base_currency": balance, "current_balance_exchange_rate": None,
            "safe_balance": None, "safe_balance_in_base_currency": None,
            "starting_balance": from_cents(row["starting_balance_cents"]),
            "starting_balance_date": row["starting_balance_date"] or row["created_at"][:10],
            "created_at": row["created_at"], "updated_at": row["updated_at"],
            "institution": self._institution_json(row["institution_id"], row["currency_code"]),
            "currency_code": row["currency_code"], "type": row["type"],
        }

    def transaction_accounts_json(self, user_id: int) -> list[dict]:
        ids = [r["id"] for r in self._all("SELECT id FROM transaction_accounts WHERE user_id = ? ORDER BY id",
                                          (user_id,))]
        return [self.transaction_account_json(i) for i in ids]

    @staticmethod
    def _category_fields(row: sqlite3.Row) -> dict:
        return {"id": row["id"], "title": row["title"], "colour": row["colour"], "parent_id": row["parent_id"],
                "is_transfer": bool(row["is_transfer"]), "is_bill": bool(row["is_bill"]),
                "roll_up": bool(row["roll_up"]), "refund_behaviour": row["refund_behaviour"],
                "created_at": row["created_at"], "updated_at": row["updated_at"]}

    def category_json(self, category_id: int, with_children: bool = True) -> dict | None:
        row = self._one("SELECT * FROM categories WHERE id = ?", (category_id,))
        if row is None:
            return None
        data = self._category_fields(row)
        if with_children:
            data["children"] = [self.category_json(r["id"]) for r in
                                self._all("SELECT id FROM categories WHERE parent_id = ? ORDER BY title, id",
                                          (category_id,))]
        return data

    def categories_json(self, user_id: int) -> list[dict]:
        """The user's categories as the API gives them: a tree of top-level categories with children."""
        rows = self._all("SELECT * FROM categories WHERE user_id = ? ORDER BY title, id", (user_id,))
        nodes = {r["id"]: {**self._category_fields(r), "children": []} for r in rows}
        roots = []
        for r in rows:
            parent = nodes.get(r["parent_id"]) if r["parent_id"] else None
            (parent["children"] if parent else roots).append(nodes[r["id"]])
        return roots

    def category_rule_json(self, rule_id: int) -> dict | None:
        row = self._one("SELECT * FROM category_rules WHERE id = ?", (rule_id,))
        if row is None:
            return None
        return {"id": row["id"], "category": self.category_json(row["category_id"], with_children=False),
                "payee_matches": row["payee_matches"], "created_at": row["created_at"],
                "updated_at": row["updated_at"]}

    def category_rules_json(self, user_id: int) -> list[dict]:
        return [self.category_rule_json(r["id"]) for r in
                self._all("SELECT id FROM category_rules WHERE user_id = ? ORDER BY id", (user_id,))]

    def labels(self, user_id: int) -> list[str]:
        rows = self._all("SELECT DISTINCT t.labels FROM transactions t JOIN transaction_accounts a "
                         "ON a.id = t.transaction_account_id WHERE a.user_id = ? AND t.labels != '[]'", (user_id,))
        return sorted({label for r in rows for label in json.loads(r["labels"])}, key=str.lower)

    def _transactions_json(self, rows: list[sqlite3.Row]) -> list[dict]:
        accounts: dict[int, dict] = {}
        categories: dict[int, dict | None] = {}
        balances = self._closing_balances(rows)
        out = []
        for row in rows:
            account_id = row["transaction_account_id"]
            if account_id not in accounts:
                accounts[account_id] = self.transaction_account_json(account_id)
            category = None
            if row["category_id"] is not None:
                if row["category_id"] not in categories:
                    categories[row["category_id"]] = self.category_json(row["category_id"], with_children=False)
                category = categories[row["category_id"]]
            amount = from_cents(row["amount_cents"])
            out.append({
                "id": row["id"], "payee": row["payee"], "original_payee": row["original_payee"],
                "date": row["date"], "upload_source": row["upload_source"] or "api", "category": category,
                "closing_balance": balances[row["id"]], "cheque_number": row["cheque_number"],
                "memo": row["memo"], "amount": amount, "amount_in_base_currency": amount,
                "type": "debit" if row["amount_cents"] < 0 else "credit",
                "is_transfer": bool(row["is_transfer"]), "needs_review": bool(row["needs_review"]),
                "status": row["status"], "note": row["note"], "labels": json.loads(row["labels"]),
                "transaction_account": accounts[account_id],
                "created_at": row["created_at"], "updated_at": row["updated_at"],
            })
        return out

    def _closing_balances(self, rows: list[sqlite3.Row]) -> dict[int, Decimal]:
        """Each row's account balance after it, in (date, id) order.

        What comes before the page's oldest row from the account's day sums, then a walk over the account's rows
        between the page's oldest and newest: a page costs its own span, not the whole account.
        """
        result: dict[int, Decimal] = {}
        by_account: dict[int, list[sqlite3.Row]] = {}
        for row in rows:
            by_account.setdefault(row["transaction_account_id"], []).append(row)
        for account_id, page in by_account.items():
            keys = sorted((r["date"], r["id"]) for r in page)
            (first_date, first_id), (last_date, last_id) = keys[0], keys[-1]
            wanted = {r["id"] for r in page}
            start = self._account_row(account_id)
            running = (start["starting_balance_cents"] if start else 0) + \
                self._cents_before(account_id, first_date, first_id)
            if len(page) == 1:      # one transaction (a create's answer): its span is itself
                span = page
            else:
                span = self._all(
                    "SELECT id, amount_cents FROM transactions WHERE transaction_account_id = ? "
                    "AND (date, id) BETWEEN (?, ?) AND (?, ?) ORDER BY date, id",
                    (account_id, first_date, first_id, last_date, last_id))
            for item in span:
                running += item["amount_cents"]
                if item["id"] in wanted:
                    result[item["id"]] = from_cents(running)
        return result

    def transaction_json(self, transaction_id: int) -> dict | None:
        row = self._one("SELECT * FROM transactions WHERE id = ?", (transaction_id,))
        return None if row is None else self._transactions_json([row])[0]

    def list_transactions(self, account_ids: list[int], query: TransactionFilter, page: int,
                          per_page: int) -> tuple[list[dict], int]:
        """One page of transactions, newest first, and the total that match."""
        if not account_ids:
            return [], 0
        where, params = query.sql()
        accounts = ", ".join("?" for _ in account_ids)
        base = f"FROM transactions t WHERE t.transaction_account_id IN ({accounts}) AND {where}"
        params = [*account_ids, *params]
        order = "ORDER BY t.date DESC, t.id DESC"
        offset = (page - 1) * per_page
        if query.search is None:
            total = self._one(f"SELECT COUNT(*) AS n {base}", params)["n"]
            rows = self._all(f"SELECT t.* {base} {order} LIMIT ? OFFSET ?", [*params, per_page, offset])
        else:
            matching = [r for r in self._all(f"SELECT t.* {base} {order}", params) if self._matches(r, query.search)]
            total = len(matching)
            rows = matching[offset:offset + per_page]
        return self._transactions_json(rows), total

    def _matches(self, row: sqlite3.Row, needle: str) -> bool:
        # The documented search fields: amount, account name, payee, category title, note, labels, date.
        amount = from_cents(row["amount_cents"])
        category = self._one("SELECT title FROM categories WHERE id = ?", (row["category_id"],)) \
            if row["category_id"] is not None else None
        account = self._one("SELECT name FROM transaction_accounts WHERE id = ?", (row["transaction_account_id"],))
        haystack = " | ".join(str(v) for v in (
            amount, abs(amount), account["name"] if account else "", row["payee"], row["original_payee"],
            category["title"] if category else "", row["note"] or "", " ".join(json.loads(row["labels"])),
            row["date"]))
        return needle in haystack.lower()

    def account_ids(self, user_id: int) -> list[int]:
        return [r["id"] for r in self._all("SELECT id FROM transaction_accounts WHERE user_id = ? ORDER BY id",
                                           (user_id,))]

    def create_transaction(self, fields: dict[str, Any]) -> int:
        stamp = self.now()
        values = self._transaction_values({**fields, "created_at": stamp, "updated_at": stamp})
        with self.lock:
            new_id = self._insert("transactions", values)
            account = values["transaction_account_id"]
            if account in self._totals:
                total, last, first = self._totals[account]
                day = values["date"]
                self._totals[account] = (total + values["amount_cents"], max(last or day, day), min(first or day, day))
            if account in self._day_sums:
                self._day_sums[account].add(values["date"], values["amount_cents"])
            return new_id

    def _forget_totals_of_transaction(self, transaction_id: int) -> None:
        row = self.db.execute("SELECT transaction_account_id FROM transactions WHERE id = ?",
                              (transaction_id,)).fetchone()
        if row is not None:
            self._totals.pop(row["transaction_account_id"], None)
            self._day_sums.pop(row["transaction_account_id"], None)

    def update_transaction(self, transaction_id: int, fields: dict[str, Any]) -> None:
        columns = {}
        for key, value in fields.items():
            if key == "amount":
                columns["amount_cents"] = to_cents(value)
            elif key == "date":
                columns["date"] = value.isoformat()
            elif key == "labels":
                columns["labels"] = json.dumps(list(value))
            elif key in ("is_transfer", "needs_review"):
                columns[key] = int(bool(value))
            else:
                columns[key] = value
        columns["updated_at"] = self.now()
        assignments = ", ".join(f"{k} = ?" for k in columns)
        with self.lock:
            self._forget_totals_of_transaction(transaction_id)
            self.db.execute(f"UPDATE transactions SET {assignments} WHERE id = ?", (*columns.values(), transaction_id))

    def delete_transaction(self, transaction_id: int) -> None:
        with self.lock:
            self._forget_totals_of_transaction(transaction_id)
            self.db.execute("DELETE FROM transactions WHERE id = ?", (transaction_id,))

    def apply_rule_to_uncategorised(self, user_id: int, category_id: int, payee_matches: str,
                                    everything: bool = False) -> int:
        """What `apply_to_uncategorised` / `apply_to_all` do: categorise matching payees now."""
        condition = "" if everything else "AND t.category_id IS NULL"
        with self.lock:
            cursor = self.db.execute(
                f"UPDATE transactions SET category_id = ?, updated_at = ? WHERE id IN ("
                f"SELECT t.id FROM transactions t JOIN transaction_accounts a ON a.id = t.transaction_account_id "
                f"WHERE a.user_id = ? {condition} AND instr(lower(t.payee), lower(?)) > 0)",
                (category_id, self.now(), user_id, payee_matches))
            return cursor.rowcount

    # ─── for tests: the stored rows as plain values ───────────────────────────────────────────

    def stored_transactions(self, account_id: int | None = None) -> list[dict]:
        """Every stored transaction (oldest first) with Decimal amounts and date objects."""
        sql, params = "SELECT * FROM transactions", ()
        if account_id is not None:
            sql, params = sql + " WHERE transaction_account_id = ?", (account_id,)
        rows = self._all(sql + " ORDER BY date, id", params)
        return [{**dict(r), "amount": from_cents(r["amount_cents"]), "date": date.fromisoformat(r["date"]),
                 "labels": json.loads(r["labels"]), "is_transfer": bool(r["is_transfer"]),
                 "needs_review": bool(r["needs_review"])} for r in rows]
