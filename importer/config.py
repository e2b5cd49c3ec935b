"""Where psimport keeps things: the config file (YAML), the state dir, and built-in data."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from importer.errors import ConfigError, looked_up
from importer.schema import Keys, OneOf, Text, Whole, check
from importer.yamlfile import read_yaml_file

__all__ = ["Config", "load_config", "settings_schema", "sandbox_config", "default_state_dir", "user_config_dir",
           "make_dir", "make_private_dir", "private_file", "builtin_mappings_dir", "samples_dir", "DEFAULT_API_URL"]

APP = "psimport"
DEFAULT_API_URL = "https://api.pocketsmith.com/v2"


def user_config_dir() -> Path:
    from platformdirs import user_config_path
    return user_config_path(APP)


def default_state_dir() -> Path:
    env = os.environ.get("PSIMPORT_STATE_DIR")
    if env:
        return Path(env)
    from platformdirs import user_data_path
    return user_data_path(APP)


def make_dir(path: str | Path, what: str) -> Path:
    """Create a folder psimport keeps things in (and its parents), or a ConfigError saying why it cannot."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create {what} here ({exc.strerror})", file=str(path)) from None
    return path


def make_private_dir(path: str | Path, what: str) -> Path:
    """make_dir for a folder of private state (the journal, the sandbox, locks, keys): a folder it creates is
    0700, readable by this user alone. One that exists keeps its mode: it may be shared on purpose."""
    path = Path(path)
    try:
        missing = [folder for folder in (path, *path.parents) if not folder.exists()]
        for folder in reversed(missing):       # each folder it creates, the state dir above the sandbox's too
            folder.mkdir(mode=0o700, exist_ok=True)
        if not path.is_dir():
            raise FileExistsError(17, "a file is in the way")
    except OSError as exc:
        raise ConfigError(f"cannot create {what} here ({exc.strerror})", file=str(path)) from None
    return path


def private_file(path: str | Path) -> Path:
    """Make sure the state file at `path` exists and is 0600 (its owner's alone) before anything writes to it.

    The journal holds payees and amounts. SQLite gives its -wal and -shm files the database's own
    mode, so creating the database 0600 keeps all three private; an older one is narrowed to 0600.
    """
    path = Path(path)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
        try:
            if os.name == "posix" and os.fstat(descriptor).st_mode & 0o077:
                os.fchmod(descriptor, 0o600)
        finally:
            os.close(descriptor)
    except OSError as exc:
        raise ConfigError(f"cannot create this state file ({exc.strerror})", file=str(path)) from None
    return path


@contextmanager
def pid_lock(path: Path, busy: Callable[[str], Exception]) -> Iterator[None]:
    """Hold an exclusive lock on the 0600 file `path`, with this process's id in it, until the block ends.

    The OS drops the lock when its holder dies, even by SIGKILL. Already held: `busy(holder's pid)` is
    raised. Windows has no advisory locks: there one run at a time is on the user.
    """
    with open(private_file(path), "a+", encoding="ascii") as handle:
        try:
            import fcntl
        except ImportError:
            yield
            return
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            raise busy(handle.read().strip() or "another process") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _data_package_dir(name: str) -> Path:
    # The data folders are installed as packages of their own (pyproject's package-dir maps them),
    # which a wheel and an editable install place differently; their spec knows where they are.
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(f"psimport is installed without its data ({name}); reinstall it")
    return Path(list(spec.submodule_search_locations)[0])


def builtin_mappings_dir() -> Path:
    """The shipped CSV mappings, wherever psimport is installed."""
    return _data_package_dir("importer.builtin_mappings")


def samples_dir() -> Path:
    """The shipped sample statements (the demo household)."""
    return _data_package_dir("importer.samples")


@cache
def settings_schema() -> Keys:
    """Every key psimport.yaml takes. A new setting is one line here; a section's own keys are declared
    beside the code that reads them (dedupe.py, payee.py, accounts.py, transfers.py, balances.py)."""
    from importer.accounts import ACCOUNT_LIST
    from importer.balances import BALANCE_SETTINGS
    from importer.dedupe import DEDUPE_SETTINGS
    from importer.payee import PAYEE_SETTINGS
    from importer.transfers import TRANSFER_SETTINGS
    return Keys({
        "accounts": ACCOUNT_LIST,
        "dedupe": DEDUPE_SETTINGS,
        "payee": PAYEE_SETTINGS,
        "rules": Text("a rules file's path", nonempty=True),
        "mappings_dir": Text("a folder's path", nonempty=True),
        "date_order": OneOf("dmy", "mdy", "ymd"),
        "api_url": Text("a PocketSmith API URL such as https://api.pocketsmith.com/v2", nonempty=True),
        "inbox": Text("a folder's path (`psimport import --inbox` reads it)", nonempty=True),
        "transfers": TRANSFER_SETTINGS,
        "balances": BALANCE_SETTINGS,
        "max_file_mb": Whole(1, what="a whole number of megabytes, 1 or more"),
    }, what="a mapping of settings")


@dataclass
class Config:
    """The user's settings, checked whole against settings_schema() when made. `data` is as read (with
    its lines); each section is turned into its settings by the stage that owns it."""

    path: Path | None = None
    data: dict[str, Any] = field(default_factory=dict)
    max_file_mb: int | None = None      # --max-file-mb, over the file's max_file_mb

    def __post_init__(self):
        check(settings_schema(), self.data, file=self.path)

    def section(self, name: str) -> dict[str, Any]:
        return self.data.get(name) or {}

    @property
    def accounts(self) -> list[dict[str, Any]]:
        return self.data.get("accounts") or []

    @property
    def date_order(self) -> str | None:
        return self.data.get("date_order")

    @property
    def max_file_bytes(self) -> int:
        """The largest statement file read (importer.limits): --max-file-mb, else `max_file_mb`, else 200 MB."""
        from importer.limits import DEFAULT_MAX_FILE_MB, MB
        return int(self.max_file_mb or self.data.get("max_file_mb") or DEFAULT_MAX_FILE_MB) * MB

    @property
    def api_url(self) -> str | None:
        return self.data.get("api_url")

    @property
    def inbox(self) -> Path | None:
        """The inbox folder, relative to the config file's folder when not absolute."""
        value = self.data.get("inbox")
        if not value:
            return None
        path = Path(value).expanduser()
        return path if path.is_absolute() or self.path is None else self.path.parent / path

    @property
    def mapping_dirs(self) -> tuple[Path, ...]:
        """The folders of user mappings, first first: the config's `mappings_dir:`, `mappings/` beside the
        config file, the user config dir's `mappings/`. Each is listed whether or not it exists yet, so a
        message can say where to put one; a missing folder simply holds no mappings."""
        dirs = [user_config_dir() / "mappings"]
        if self.path is not None:
            dirs.insert(0, self.path.parent / "mappings")
        extra = self.data.get("mappings_dir")
        if extra:
            folder = Path(extra).expanduser()
            if not folder.is_absolute() and self.path is not None:
                folder = self.path.parent / folder     # relative to the config file, not to where psimport runs
            dirs.insert(0, folder)
        return tuple(dict.fromkeys(dirs))


def load_config(path: str | Path | None = None) -> Config:
    """Read and check the config: the given file, else ./psimport.yaml, else the user config dir's."""
    if path is None:
        for candidate in (Path("psimport.yaml"), user_config_dir() / "psimport.yaml"):
            if candidate.is_file():
                path = candidate
                break
        else:
            return Config()
    path = Path(path)
    if not looked_up(path.exists, path, ConfigError):
        raise ConfigError("config file not found; `psimport init --config FILE` creates one (without --config, "
                          f"psimport reads ./psimport.yaml, else {user_config_dir() / 'psimport.yaml'})",
                          file=str(path))
    data = read_yaml_file(path, "config")      # which refuses a folder, a device or a pipe
    return Config(path=path, data={} if data is None else data)


def sandbox_config(config: Config, demo_rules: bool = True) -> Config:
    """The config for a --sandbox run: the user's, or with none of their own, the demo household's (and,
    unless `demo_rules` is false, the demo's rules)."""
    if config.path is None:
        demo = samples_dir() / "psimport.yaml"
        if demo.is_file():
            demo_config = load_config(demo)
            # With the demo's config come the demo's rules (shipped beside it), unless ./rules.yaml says
            # otherwise: so the demo categorises the same in a clone and anywhere else.
            shipped = samples_dir() / "rules.yaml"
            if demo_rules and "rules" not in demo_config.data and shipped.is_file() and not Path("rules.yaml").is_file():
                demo_config.data["rules"] = str(shipped)
            return demo_config
    return config
