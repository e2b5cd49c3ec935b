"""Which PocketSmith transaction account each statement goes to: `--account`, the config's `accounts:`, or its number.

A config entry names a transaction account and any of `ofx_account`, `qif_account`, `account`
(a statement's account id in any format), `mapping` (the CSV mapping that read it) and `glob`
(the file name); every key an entry gives must match. Entries are tried in order. A statement
no entry claims goes to the one transaction account whose `number` equals its account id, if
exactly one does; otherwise the run stops, listing the user's transaction accounts.

A statement whose currency (the file's, or a row's) is not its transaction account's is refused
before anything is written (`check_currencies`), unless the user says `--allow-currency-mismatch`;
neither the number match nor the hint for an unmapped statement ever offers an account in another
currency.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path, PurePath
from typing import Any, Iterable, Mapping, Sequence

from importer.errors import ConfigError
from importer.pocketsmith.models import TransactionAccount
from importer.record import Statement
from importer.schema import Keys, ListOf, Text, Whole, check
from importer.yamlfile import line_of

__all__ = ["Target", "AccountRule", "ACCOUNT_LIST", "account_rules", "resolve_targets", "mapping_for_file",
           "statement_mapping", "statement_currencies", "check_currencies", "check_decimal_places"]

_MATCH_KEYS = ("ofx_account", "qif_account", "account", "mapping", "glob")


@dataclass(frozen=True)
class Target:
    """A statement's transaction account, and how it was chosen (shown in the preview)."""

    account_id: int
    how: str


@dataclass(frozen=True)
class AccountRule:
    """One entry of the config's `accounts:` list."""

    transaction_account_id: int
    ofx_account: str | None = None
    qif_account: str | None = None
    account: str | None = None
    mapping: str | None = None
    glob: str | None = None
    position: int = 0
    mapping_dirs: tuple[Path, ...] = ()      # where a `mapping:` name is looked up
    config_path: str | None = None
    line: int | None = None                  # the line of its `mapping:` in the config, for errors

    def matches(self, statement: Statement) -> bool:
        account_id = _norm(statement.account.id)
        fmt = (statement.format or "").lower()
        if self.ofx_account is not None and (not fmt.startswith(("ofx", "qfx", "qbo"))
                                             or account_id != _norm(self.ofx_account)):
            return False
        if self.qif_account is not None and (not fmt.startswith("qif")
                                             or account_id != _norm(self.qif_account)):
            return False
        if self.account is not None and account_id != _norm(self.account):
            return False
        if self.mapping is not None:
            used = statement_mapping(statement)
            if used is None or used.casefold() not in self.mapping_names:
                return False
        if self.glob is not None and not glob_matches(self.glob, statement.file):
            return False
        return True

    @cached_property
    def mapping_names(self) -> frozenset[str]:
        """What a statement's mapping may be called to match `mapping:`: the name or file given, and the
        name inside that mapping's YAML (a file my-bank.yaml may say `name: mybank`)."""
        from importer.parsers.csv.mapping import find_mapping
        from importer.parsers.csv import INFER
        assert self.mapping is not None
        if self.mapping.casefold() == INFER:
            return frozenset((INFER, "inferred"))     # a statement read so is csv:inferred
        given = {self.mapping.casefold(), Path(self.mapping).stem.casefold()}
        try:
            found = find_mapping(self.mapping, self.mapping_dirs)
        except ConfigError as exc:
            hint = (f"; `mapping: {INFER}` reads the layout from the file itself"
                    if self.mapping.casefold() == "inferred" else "")
            raise ConfigError(f"accounts[{self.position}].mapping: {exc.message}{hint}", file=self.config_path,
                              line=self.line) from None
        return frozenset(given | {found.name.casefold()})

    def describe(self) -> str:
        parts = [f"{k} {getattr(self, k)!r}" for k in _MATCH_KEYS if getattr(self, k) is not None]
        return f"config accounts[{self.position}]: " + ", ".join(parts)


def _norm(value: Any) -> str | None:
    if value is None:
        return None
    return " ".join(str(value).split()).casefold()


def _digits(value: str | None) -> str:
    return "".join(ch for ch in (value or "") if ch.isalnum()).casefold()


def glob_matches(pattern: str, file: str) -> bool:
    """A glob against the file name, or against the whole path if the pattern has a slash."""
    path = PurePath(file)
    if "/" in pattern or "\\" in pattern:
        return fnmatch.fnmatch(path.as_posix(), pattern) or path.match(pattern)
    return fnmatch.fnmatch(path.name, pattern) or fnmatch.fnmatch(path.name.lower(), pattern.lower())


def statement_mapping(statement: Statement) -> str | None:
    """The CSV mapping that read a statement, if the parser recorded one.

    The CSV parser reports it as the format `csv:NAME` (a spreadsheet as `xlsx:NAME`, `xls:NAME` or
    `ods:NAME`: the same mappings read them), or in `mapping` if it adds that field.
    """
    named = getattr(statement, "mapping", None)
    if named:
        return str(named)
    fmt = statement.format or ""
    if ":" in fmt:
        kind, _, name = fmt.partition(":")
        if kind.lower() in ("csv", "xlsx", "xls", "ods") and name:
            return name
    return None


_ID = Text("an account number or name", nonempty=True, numbers=True)

# One entry of psimport.yaml's `accounts:` list (see the module docstring).
ACCOUNT_ENTRY = Keys({
    "ofx_account": _ID,
    "qif_account": _ID,
    "account": _ID,
    "mapping": Text("a CSV mapping's name or file", nonempty=True),
    "glob": Text("a file name pattern such as savings*.csv", nonempty=True),
    "transaction_account_id": Whole(minimum=1, text=True, what="a PocketSmith transaction account id "
                                                               "(`psimport accounts` lists them)"),
    "name": Text(numbers=True),
    "note": Text(numbers=True),
}, required=("transaction_account_id",), any_of=_MATCH_KEYS,
   what='a mapping like {ofx_account: "12345678", transaction_account_id: 42}')
ACCOUNT_LIST = ListOf(ACCOUNT_ENTRY,
                      what='a list of entries like {ofx_account: "12345678", transaction_account_id: 42}')


def account_rules(entries: Sequence[Any] | None, config_path: str | Path | None = None,
                  mapping_dirs: Sequence[Path] = ()) -> list[AccountRule]:
    """The config's `accounts:` list as read, checked; a ConfigError names each bad entry and key.

    A `mapping:` is a mapping's name (looked up in `mapping_dirs`, then the shipped ones) or a
    YAML file's path, which is relative to the config file's folder.
    """
    checked = check(ACCOUNT_LIST, entries or [], file=config_path, at="accounts")
    rules = []
    for position, entry in enumerate(checked):
        fields = {key: entry.get(key) for key in ("transaction_account_id", *_MATCH_KEYS)}
        if fields["mapping"] is not None:
            fields["mapping"] = _beside_config(str(fields["mapping"]), config_path)
        rules.append(AccountRule(position=position, mapping_dirs=tuple(mapping_dirs),
                                 config_path=None if config_path is None else str(config_path),
                                 line=line_of(entry, "mapping", line_of(entries, position)), **fields))
    return rules


def _beside_config(mapping: str, config_path: str | Path | None) -> str:
    """A mapping file's path as the config gives it, made relative to the config file's folder."""
    looks_like_path = Path(mapping).suffix.lower() in (".yaml", ".yml") or "/" in mapping or "\\" in mapping
    path = Path(mapping).expanduser()
    if not looks_like_path or path.is_absolute() or config_path is None:
        return str(path) if looks_like_path else mapping
    return str(Path(config_path).parent / path)


def mapping_for_file(path: str | Path, rules: Iterable[AccountRule]) -> str | None:
    """The CSV mapping a config entry with a `glob` names for this file, so the file parses with it."""
    for rule in rules:
        if rule.glob is not None and rule.mapping is not None and glob_matches(rule.glob, str(path)):
            rule.mapping_names      # a mapping the config names that does not exist: its error, at its line
            return rule.mapping
    return None


def resolve_targets(statements: Sequence[Statement], *, account: int | None = None,
                    rules: Sequence[AccountRule] = (),
                    known: Sequence[TransactionAccount] | None = None,
                    config_path: str | Path | None = None) -> list[Target]:
    """One Target per statement, or a ConfigError saying which statements have none and how to map them.

    `known` is the user's transaction accounts; None when offline, where ids cannot be checked.
    `config_path` is the config in use, named where the message says what to add to it.
    """
    known_by_id = {a.id: a for a in known} if known is not None else None

    def checked(account_id: int, how: str) -> Target:
        if known_by_id is not None and account_id not in known_by_id:
            raise ConfigError(f"transaction account {account_id} ({how}) is not one of yours.\n"
                              + _account_list(known))
        return Target(account_id, how)

    if account is not None:
        ids = sorted({s.account.id for s in statements if s.account.id})
        if len(ids) > 1:
            raise ConfigError(f"--account is for files of one account, but these hold {len(ids)} "
                              f"({', '.join(ids)}); map each in the config's accounts: list instead.\n"
                              + _how_to_map(statements, known, config_path))
        target = checked(account, "--account")
        return [target] * len(statements)

    targets: list[Target] = []
    unmapped: list[Statement] = []
    for statement in statements:
        rule = next((r for r in rules if r.matches(statement)), None)
        if rule is not None:
            targets.append(checked(rule.transaction_account_id, rule.describe()))
            continue
        by_number = _by_number(statement, known or ())
        if by_number is not None:
            targets.append(Target(by_number.id, f"account number {by_number.number} (auto-matched)"))
            continue
        unmapped.append(statement)
        targets.append(Target(-1, ""))
    if unmapped:
        names = ", ".join(f"{s.file}" + (f" (account {s.account.id})" if s.account.id else "")
                          for s in unmapped)
        listing = _account_list(known) if known is not None else \
            "Offline, psimport cannot list your transaction accounts; `psimport accounts` does."
        raise ConfigError(f"no PocketSmith transaction account for {names}.\n{listing}\n"
                          + _how_to_map(unmapped, known, config_path))
    return targets


def _by_number(statement: Statement, known: Sequence[TransactionAccount]) -> TransactionAccount | None:
    wanted = _digits(statement.account.id)
    if len(wanted) < 4:
        return None
    # One number can hold several currencies (a multi-currency account is one IBAN): only an
    # account in the statement's currency is it.
    found = [a for a in _same_currency(statement, known) if a.number and _digits(a.number) == wanted]
    return found[0] if len(found) == 1 else None


def statement_currencies(statement: Statement) -> set[str]:
    """The currencies a statement's amounts are in: the file's (OFX CURDEF, CAMT/MT940, a mapping's), and each row's."""
    found = {t.currency for t in statement.transactions}
    found.add(statement.account.currency)
    found.discard(None)
    return {str(code).strip().upper() for code in found if str(code).strip()}


def _same_currency(statement: Statement, known: Iterable[TransactionAccount]) -> list[TransactionAccount]:
    """The accounts that could take this statement's amounts: in its currency, or of an unknown one."""
    currencies = statement_currencies(statement)
    return [a for a in known if not currencies or not a.currency_code
            or currencies == {a.currency_code.strip().upper()}]


def check_currencies(statements: Sequence[Statement], targets: Sequence[Target],
                     accounts: Mapping[int, TransactionAccount], *, allow: bool = False) -> list[str]:
    """Refuse a statement whose amounts are in another currency than its transaction account's.

    PocketSmith takes an amount as being in the account's currency, so 100 USD sent to an AUD
    account would silently become 100 AUD. A ConfigError names both currencies and what settles
    it; with `allow` (`--allow-currency-mismatch`) the same words come back as warnings and the
    amounts go as they are, unconverted. An account whose currency is unknown (offline, not in
    the export) cannot be checked: that is a warning too, so the preview says it.
    """
    problems: list[str] = []
    unchecked: list[str] = []
    guessed = False     # a currency a mapping stated, not the file: the mapping may be another bank's
    for statement, target in zip(statements, targets):
        currencies = statement_currencies(statement)
        if not currencies:
            continue
        account, code = _account_currency(accounts, target.account_id)
        if not code:
            unchecked.append(f"{statement.file}: its amounts are in {'/'.join(sorted(currencies))}, but the currency "
                             f"of transaction account {target.account_id} is not known here, so it is not checked")
            continue
        other = sorted(currencies - {code})
        if other:
            name = f" ({account.name})" if account.name else ""
            source = (f"; {'/'.join(other)} is not written in the file: it is the currency of "
                      f"{statement.currency_source}" if statement.currency_source else "")
            problems.append(f"{statement.file}: its amounts are in {'/'.join(other)}, but transaction account "
                            f"{target.account_id}{name}, chosen by {target.how}, is in {code}{source}")
            guessed = guessed or bool(statement.currency_source)
    if problems and not allow:
        listed = "\n".join(f"  {p}" for p in problems)
        wrong_mapping = ("If the mapping is not this bank's, read the file with --mapping infer (its layout "
                         "inferred from the file itself) or a mapping of your own (psimport mappings new FILE). "
                         if guessed else "")
        raise ConfigError(f"currency mismatch, nothing was written:\n{listed}\n{wrong_mapping}Send the statement "
                          "to an account in its currency (--account ID, or the config's accounts: list; `psimport "
                          "accounts` lists each account's currency), or pass --allow-currency-mismatch to import "
                          "the amounts unconverted, as amounts in the account's currency")
    return [f"{p}; imported unconverted (--allow-currency-mismatch)" for p in problems] + unchecked


def _account_currency(accounts: Mapping[int, TransactionAccount],
                      account_id: int) -> tuple[TransactionAccount | None, str]:
    """The account, and its currency code in capitals ("" when not known here)."""
    account = accounts.get(account_id)
    return account, (account.currency_code or "").strip().upper() if account is not None else ""


def check_decimal_places(statements: Sequence[Statement], targets: Sequence[Target],
                         accounts: Mapping[int, TransactionAccount]) -> list[str]:
    """Refuse amounts with a digit past the cents (12.345) for an account whose currency has two decimal
    places: PocketSmith would round them, so the ledger would no longer add up to the bank's, and the
    row may not be money at all (a thousands separator read as the decimal mark, a price). An InputError
    at the first such row; an account whose currency is not known here is a warning, unchecked."""
    from importer.errors import InputError
    from importer.record import THREE_DECIMAL_CURRENCIES, sub_cent_rows
    unchecked = []
    for statement, target in zip(statements, targets):
        rows = sub_cent_rows(statement)
        if not rows:
            continue
        account, code = _account_currency(accounts, target.account_id)
        if not code:
            unchecked.append(f"{statement.file}: amounts with more than two decimal places, and the currency of "
                             f"transaction account {target.account_id} is not known here, so whether it holds "
                             "them is not checked")
        elif code not in THREE_DECIMAL_CURRENCIES:
            name = f" ({account.name})" if account is not None and account.name else ""
            raise InputError(
                f"the amount {rows[0].amount} has more than two decimal places, and transaction account "
                f"{target.account_id}{name} is in {code}, which has two: PocketSmith would round it, so nothing "
                f"was written ({len(rows)} such row{'s' if len(rows) > 1 else ''}); if the file's decimal mark "
                "separates thousands here, set `decimal:` in a mapping, else round the amounts in the file or "
                "send it to an account in its currency", file=statement.file, line=rows[0].line)
    return unchecked


def _account_list(known: Sequence[TransactionAccount] | None) -> str:
    if not known:
        return "You have no transaction accounts in PocketSmith yet; add one there first."
    lines = ["Your transaction accounts:"]
    for a in sorted(known, key=lambda a: a.id):
        extra = ", ".join(x for x in (a.number and f"number {a.number}", a.institution, a.currency_code) if x)
        lines.append(f"  {a.id}  {a.name}" + (f"  ({extra})" if extra else ""))
    return "\n".join(lines)


def _how_to_map(statements: Sequence[Statement], known: Sequence[TransactionAccount] | None = None,
                config_path: str | Path | None = None) -> str:
    """A config line per statement, its id filled in when one of the user's accounts is plainly it: a CSV by a
    pattern of its name that next month's download matches too (`psimport init FILE` writes such lines)."""
    lines = []
    for statement in statements:
        fmt = (statement.format or "").lower()
        name = Path(statement.file).name
        if statement.account.id and fmt.startswith(("ofx", "qfx", "qbo")):
            match = f'ofx_account: "{statement.account.id}"'
        elif statement.account.id and fmt.startswith("qif"):
            match = f'qif_account: "{statement.account.id}"'
        else:
            mapping = statement_mapping(statement)
            if mapping == "inferred":
                from importer.parsers.csv import INFER
                mapping = INFER         # the config's word for "its layout inferred from the file itself"
            match = f'glob: "{file_pattern(name)}"' + (f", mapping: {mapping}" if mapping else "")
        candidate, why = _candidate(statement, _same_currency(statement, known or ()))
        target = candidate.id if candidate else "ID"
        comment = f"{name}: {candidate.name} ({why})" if candidate else f"{name}: ID from your accounts"
        if candidate is None:
            # The account it plainly is, but in another currency: say so, rather than offer it.
            other, other_why = _candidate(statement, known or ())
            if other is not None:
                comment = (f"{name}: ID of an account in {'/'.join(sorted(statement_currencies(statement)))}; "
                           f"{other.name} ({other_why}) is in {other.currency_code}")
        line = f"    - {{{match}, transaction_account_id: {target}}}   # {comment}"
        if line not in lines:       # e.g. the daily statements of one MT940 file
            lines.append(line)
    where = config_path if config_path and not _is_demo_config(config_path) else _user_config_path()
    return f"Pass --account ID for a single account, or add to {where}:\n  accounts:\n" + "\n".join(lines)


def _is_demo_config(path: str | Path) -> bool:
    """Whether `path` is the demo household's config shipped with psimport (what --sandbox reads when the user
    has none): not a file to edit, since an upgrade replaces it."""
    from importer.config import samples_dir
    try:
        return Path(path).resolve().parent == samples_dir().resolve()
    except OSError:
        return False


def _user_config_path() -> str:
    from importer.config import user_config_dir
    return f"psimport.yaml (here, or {user_config_dir() / 'psimport.yaml'})"


def file_pattern(name: str) -> str:
    """A glob for this download's name and next month's: digit runs (dates, numbers) and a copy's " (1)" become
    `*`, and a `*` before the suffix takes what a bank or browser adds there (savings.csv → savings*.csv)."""
    stem, suffix = Path(name).stem, Path(name).suffix
    stem = re.sub(r"\s*\(\d+\)$", "", stem)
    stem = re.sub(r"\d+(?:[-_.]\d+)*", "*", stem)
    return stem + ("" if stem.endswith("*") else "*") + suffix


def _candidate(statement: Statement, known: Sequence[TransactionAccount]) -> tuple[TransactionAccount | None, str]:
    """The one account whose name is the statement's account, or whose number ends in the same 4+ digits.

    The hint asks it among the accounts in the statement's currency only: one in another currency
    is never offered, since that import would be refused."""
    wanted = statement.account.id
    if not wanted:
        return None, ""
    same_name = [a for a in known if a.name and " ".join(a.name.split()).casefold() ==
                 " ".join(wanted.split()).casefold()]
    if len(same_name) == 1:
        return same_name[0], "same name"
    digits = "".join(ch for ch in wanted if ch.isdigit())
    if len(digits) >= 4:
        same_end = [a for a in known if a.number and "".join(ch for ch in a.number if ch.isdigit())
                    .endswith(digits[-4:])]
        if len(same_end) == 1:
            return same_end[0], f"number ending {digits[-4:]}"
    return None, ""
