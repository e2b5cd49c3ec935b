"""`psimport init`: check a PocketSmith key, keep it safe, and write the config's `accounts:` for the user's statements.

The wizard asks through an `Asker` the command line supplies (a terminal, or the flags of a script),
so the library never prints. Every question has an answer that can be given up front:
the key (`key`), the statements (`paths`), each statement's account (`mapped`), and the final
go-ahead (`yes`). Without a terminal, a question that has no answer is a ConfigError naming
the flag that gives it.

psimport.yaml is edited as text, so the user's comments, order and other settings stay as they
were: new `accounts:` entries go at the end of that list (which is made if missing), and the
file is checked whole before it replaces the old one.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol, Sequence

from importer.accounts import account_rules, file_pattern, statement_mapping
from importer.errors import ApiError, ConfigError
from importer.pocketsmith.models import TransactionAccount
from importer.record import Statement

__all__ = ["Asker", "InitOptions", "InitResult", "Proposal", "run_init", "propose_account", "account_entry",
           "add_to_config", "account_line"]

MAX_KEY_TRIES = 3


class Asker(Protocol):
    """How the wizard talks to the person. `can_ask` False: no terminal, every answer must come from options."""

    can_ask: bool

    def say(self, text: str) -> None: ...

    def secret(self, prompt: str) -> str:
        """A line typed without echo."""

    def text(self, prompt: str, default: str = "") -> str: ...

    def confirm(self, prompt: str, default: bool) -> bool: ...


@dataclass
class InitOptions:
    api_url: str
    config_path: Path
    key: str | None = None                      # --key-stdin
    paths: Sequence[Path] = ()                   # statement files or folders
    mapped: dict[str, int] = field(default_factory=dict)   # --map FILE=ID: file name or path -> account id
    yes: bool = False                            # accept every proposal and write without asking
    use_keyring: bool = True                     # --key-file: the 0600 file even where a keyring exists
    write_api_url: bool = False                  # the URL is not PocketSmith's: keep it in psimport.yaml
    inbox: Path | None = None                    # --inbox: kept as the config's inbox:, its statements set up


@dataclass
class Proposal:
    """The account psimport proposes for a statement, and why (None: nothing plainly fits)."""

    account: TransactionAccount | None
    why: str = ""


@dataclass
class InitResult:
    config_path: Path
    added: list[str] = field(default_factory=list)    # the accounts: lines written
    key_kept_in: str | None = None
    user: str = ""
    paths: list[Path] = field(default_factory=list)   # the statements set up


def run_init(options: InitOptions, asker: Asker, *, connect: Callable[[str, str, bool], object],
             read: Callable[[Sequence[Path]], list[Statement]]) -> InitResult:
    """The whole wizard. `connect(url, key, bearer)` makes a client; `read(paths)` parses statements with the
    config."""
    from importer.credentials import store_key

    client, user, key, found = _checked_key(options, asker, connect)
    asker.say(f"The key works: signed in to {options.api_url} as {user}.")
    result = InitResult(options.config_path, user=user)
    if found is None:
        result.key_kept_in = store_key(options.api_url, key, use_keyring=options.use_keyring)
        asker.say(f"Kept the key in {result.key_kept_in}; it is not written to psimport.yaml.")
    elif found.source.startswith("environment"):
        asker.say(f"The key stays in the {found.source.removeprefix('environment ')} variable; nothing is stored.")

    accounts = client.transaction_accounts()     # type: ignore[attr-defined]
    asker.say("Your transaction accounts:")
    for number, account in enumerate(accounts, 1):
        asker.say(f"  {number:>2}. {account_line(account)}")

    result.paths = _statements_to_set_up(options, asker)
    entries = _choose_accounts(read(result.paths), accounts, options, asker) if result.paths else []
    settings = {"api_url": options.api_url} if options.write_api_url else {}
    if options.inbox is not None:
        settings["inbox"] = str(options.inbox)
    if entries or settings:
        named = " and ".join(settings)
        what = " and ".join([plural_entries(len(entries))] * bool(entries)
                            + [f"the {named} setting{'s' if len(settings) > 1 else ''}"] * bool(settings))
        if not options.yes and asker.can_ask and not asker.confirm(f"Write {what} to {options.config_path}?",
                                                                   True):
            asker.say("psimport.yaml was left as it was.")
            return result
        result.added = add_to_config(options.config_path, entries, settings)
    return result


def _checked_key(options: InitOptions, asker: Asker, connect: Callable[[str, str, bool], object]):
    """(client, user name, key, the stored key used or None) once PocketSmith has accepted a key for `/me`.

    The key is --key-stdin's, else the one already kept (if the person wants it), else typed: on a
    terminal, up to MAX_KEY_TRIES times while PocketSmith refuses it.
    """
    from importer.credentials import FoundKey, find_key

    found: FoundKey | None = None
    if options.key is None:
        found = find_key(options.api_url)
        if found is not None and asker.can_ask and not asker.confirm(f"Use the key from the {found.source}?", True):
            found = None        # a new key is typed, and kept in place of the old one
    key = options.key or (found.key if found else None)
    for tries in range(1, MAX_KEY_TRIES + 1):
        if key is None:
            if not asker.can_ask:
                raise ConfigError("no PocketSmith key to check, and no terminal to ask for one; pipe it in "
                                  "with --key-stdin (or set POCKETSMITH_DEVELOPER_KEY)")
            key = asker.secret("PocketSmith developer key (Settings > Security > Manage developer keys; "
                               "typing is hidden)").strip()
        client = connect(options.api_url, key, bool(found and found.bearer))
        try:
            me = client.me()         # type: ignore[attr-defined]
        except ApiError as exc:
            client.close()           # type: ignore[attr-defined]
            if exc.status != 401 or not asker.can_ask or options.key is not None or tries == MAX_KEY_TRIES:
                raise
            asker.say("PocketSmith does not accept that key; copy it again.")
            key, found = None, None
            continue
        user = str(me.get("login") or me.get("name") or me.get("email") or me.get("id") or "")
        return client, user, key, found
    raise AssertionError("unreachable: the last try raises")


def _statements_to_set_up(options: InitOptions, asker: Asker) -> list[Path]:
    """The statement files and folders given (and the inbox), or on a terminal, asked for one at a time."""
    paths = list(options.paths) + ([options.inbox] if options.inbox is not None else [])
    if not paths and asker.can_ask:
        while answer := asker.text("A statement file or folder to set up (Enter when done)").strip():
            path = Path(answer).expanduser()
            if path.exists():
                paths.append(path)
            else:
                asker.say(f"There is no {path}; try again.")
    return paths


def plural_entries(count: int) -> str:
    return f"{count} accounts: entr{'y' if count == 1 else 'ies'}"


def account_line(account: TransactionAccount) -> str:
    extra = ", ".join(x for x in (account.number and f"number {account.number}", account.currency_code,
                                  account.institution) if x)
    return f"{account.id}  {account.name}" + (f"  ({extra})" if extra else "")


def _choose_accounts(statements: list[Statement], accounts: list[TransactionAccount], options: InitOptions,
                     asker: Asker) -> list[tuple[dict, str]]:
    """One (entry, comment) per statement not yet routed by the config, each with the account chosen for it."""
    from importer.config import load_config
    existing = account_rules(load_config(options.config_path).accounts if options.config_path.is_file() else [],
                             options.config_path)
    by_id = {a.id: a for a in accounts}
    chosen: list[tuple[dict, str]] = []
    # A CSV layout routes a statement by itself only when no other statement here, nor an entry kept, reads so.
    layouts = Counter((statement_mapping(s) or "").lower() for s in statements if not s.account.id)
    layouts.update(Path(rule.mapping).stem.lower() for rule in existing if rule.mapping)
    hinted = False
    for statement in statements:
        name = Path(statement.file).name
        described = name + (f" (account {statement.account.id})" if statement.account.id else "")
        entry, routes = account_entry(statement,
                                      layout_shared=layouts[(statement_mapping(statement) or "").lower()] > 1)
        routed = next((rule for rule in existing if rule.matches(statement)), None)
        if routed is not None or any(_same_match(entry, e) for e, _ in chosen):
            if routed is not None:
                asker.say(f"{described}: already goes to {routed.transaction_account_id} ({routed.describe()}).")
            continue
        given = options.mapped.get(name, options.mapped.get(statement.file))
        proposal = Proposal(by_id.get(given), "--map") if given is not None else propose_account(statement, accounts)
        if given is not None and proposal.account is None:
            raise ConfigError(f"--map {name}={given}: {given} is not one of your transaction accounts")
        account = proposal.account
        if asker.can_ask and not options.yes and given is None:
            if not hinted:      # said once, before the first statement that is asked about
                asker.say("For each statement, type its account's number in the list above, or an account "
                          "id (Enter takes the one proposed in brackets; - leaves the statement out).")
                hinted = True
            account = _ask_account(described, proposal, accounts, asker)
        elif account is None:
            raise ConfigError(f"{described}: no transaction account plainly fits; say which with "
                              f"--map {name}=ID (ids above, or from `psimport accounts`)")
        if account is None:
            asker.say(f"{described}: left out.")
            continue
        how = f", {proposal.why}" if account is proposal.account and proposal.why else ""
        asker.say(f"{described} -> {account.id} {account.name}{how}" + (f"; routes {routes}" if routes else ""))
        entry["transaction_account_id"] = account.id
        chosen.append((entry, f"{name}: {account.name}"))
    return chosen


def _same_match(a: dict, b: dict) -> bool:
    return {k: v for k, v in a.items() if k != "transaction_account_id"} == \
        {k: v for k, v in b.items() if k != "transaction_account_id"}


def _ask_account(described: str, proposal: Proposal, accounts: list[TransactionAccount],
                 asker: Asker) -> TransactionAccount | None:
    default = str(accounts.index(proposal.account) + 1) if proposal.account is not None else ""
    hint = f" [{default}: {proposal.account.name}, {proposal.why}]" if proposal.account is not None else ""
    while True:
        answer = asker.text(f"Account for {described}{hint}", default).strip()
        if answer == "-":
            return None
        if answer.isdigit():
            value = int(answer)
            if 1 <= value <= len(accounts):
                return accounts[value - 1]
            match = next((a for a in accounts if a.id == value), None)
            if match is not None:
                return match
        asker.say(f"{answer!r} is not one of the {len(accounts)} numbers above nor an account id.")


def propose_account(statement: Statement, accounts: Sequence[TransactionAccount]) -> Proposal:
    """The account a statement plainly belongs to: the same number, else the same name, else the only one in
    its currency; within a tie the currency decides. Nothing when it stays ambiguous."""
    wanted = statement.account.id or ""
    currency = (statement.account.currency or "").upper()

    def pick(found: list[TransactionAccount], why: str) -> Proposal | None:
        if currency and len(found) > 1:
            found = [a for a in found if (a.currency_code or "").upper() == currency] or found
        return Proposal(found[0], why) if len(found) == 1 else None

    digits = _alnum(wanted)
    if len(digits) >= 4:
        same = pick([a for a in accounts if a.number and _alnum(a.number) == digits], "same number")
        if same:
            return same
        end = re.sub(r"\D", "", wanted)[-4:]
        if len(end) == 4:
            same = pick([a for a in accounts if a.number and re.sub(r"\D", "", a.number).endswith(end)],
                        f"number ending {end}")
            if same:
                return same
    if wanted:
        same = pick([a for a in accounts if _words(a.name) == _words(wanted)], "same name")
        if same:
            return same
    if currency:
        in_currency = [a for a in accounts if (a.currency_code or "").upper() == currency]
        if len(in_currency) == 1:
            return Proposal(in_currency[0], f"your only {currency} account")
    return Proposal(None)


def _alnum(text: str) -> str:
    return "".join(ch for ch in text if ch.isalnum()).casefold()


def _words(text: str) -> str:
    return " ".join(text.split()).casefold()


def account_entry(statement: Statement, layout_shared: bool = True) -> tuple[dict, str]:
    """The `accounts:` keys that pick this statement out, and next month's downloads too, with how they do.

    Its account number where the file has one. Else, for a CSV read by a known bank layout that no other
    account's statements share (`layout_shared` false), that layout alone: a bank's CSV download is named
    anything (CommBank's is CSVData.csv). Else its file name as a pattern (digits, which change month to
    month, and a browser's "(1)" made wildcards) and the layout that read it.
    """
    fmt = (statement.format or "").lower()
    if statement.account.id and fmt.startswith(("ofx", "qfx", "qbo")):
        return {"ofx_account": statement.account.id}, ""
    if statement.account.id and fmt.startswith("qif"):
        return {"qif_account": statement.account.id}, ""
    if statement.account.id:
        return {"account": statement.account.id}, ""
    mapping = statement_mapping(statement)
    if mapping is not None and mapping not in INFERRED_LAYOUTS and not layout_shared:
        return {"mapping": mapping}, f"any CSV in the {mapping} layout, whatever its name"
    entry: dict = {"glob": file_pattern(Path(statement.file).name)}
    if mapping is not None:
        entry["mapping"] = mapping
        return entry, f"files named {entry['glob']} in the {mapping} layout"
    return entry, f"files named {entry['glob']}"


# A layout worked out from the file itself is no bank's: it cannot tell one account's files from another's.
INFERRED_LAYOUTS = ("inferred", "generic")


_ACCOUNTS_KEY = re.compile(r"^accounts:[ \t]*(?P<rest>[^#\n]*?)[ \t]*(?:#.*)?$", re.MULTILINE)


def add_to_config(path: Path, entries: list[tuple[dict, str]], settings: dict[str, str] | None = None) -> list[str]:
    """Add `accounts:` entries to the config file, and set top-level `settings` (api_url, inbox), as text,
    keeping everything already in it.

    Returns the lines added. The new text is checked whole (YAML and schema) before it replaces the file.
    """
    from importer.config import Config, make_dir
    from importer.yamlfile import read_yaml
    text = path.read_text(encoding="utf-8") if path.is_file() else \
        "# psimport settings (psimport init wrote the first ones; `psimport config show` lists them all).\n"
    if text and not text.endswith("\n"):
        text += "\n"
    from importer.yamlfile import comment_text
    lines = [f"- {_flow(entry)}   # {comment_text(comment)}" for entry, comment in entries]
    if lines:
        text = _with_account_lines(text, lines, path)
    for key, value in (settings or {}).items():
        setting = f"{key}: {json.dumps(value)}\n"
        text, found = re.subn(rf"^{key}:.*\n", setting, text, count=1, flags=re.MULTILINE)
        if not found:
            text += setting
        lines.append(setting.strip())
    Config(path=path, data=read_yaml(text, str(path)) or {})    # refuses anything psimport would not read
    make_dir(path.parent, "the config folder")
    temporary = path.with_name(path.name + ".new")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
    return lines


def _with_account_lines(text: str, lines: list[str], path: Path) -> str:
    found = _ACCOUNTS_KEY.search(text)
    if found is None:
        return text + "accounts:\n" + "".join(f"  {line}\n" for line in lines)
    if found.group("rest") not in ("", "[]"):
        raise ConfigError("psimport init adds to an accounts: list written one entry a line (`- {...}`); "
                          "this one is written another way, so add these by hand:\n"
                          + "\n".join(f"  {line}" for line in lines), file=str(path))
    before, after = text[:found.start()], text[found.end():]
    # The list runs on while lines are indented, list items, comments or blank; entries go after its last item.
    block = after.split("\n")[1:]
    end, indent = 0, "  "
    for number, line in enumerate(block):
        stripped = line.strip()
        if line[:1] in (" ", "\t", "-") or not stripped or stripped.startswith("#"):
            if stripped.startswith("-"):
                indent = line[:len(line) - len(line.lstrip())]
            if stripped and not (stripped.startswith("#") and not line[:1].isspace()):
                end = number + 1
            continue
        break
    added = [indent + line for line in lines]
    return before + "accounts:\n" + "\n".join(block[:end] + added + block[end:])


def _flow(entry: dict) -> str:
    """An entry as a one-line YAML mapping; strings in double quotes (JSON's are YAML's)."""
    return "{" + ", ".join(f"{key}: {value if isinstance(value, int) else json.dumps(value)}"
                          for key, value in entry.items()) + "}"
