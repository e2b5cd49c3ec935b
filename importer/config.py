"""Where psimport keeps things: the config file (YAML), the state dir, and built-in data."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
import importlib.util
from pathlib import Path
from typing import Any

from importer.errors import ConfigError
from importer.yamlfile import read_yaml_file

__all__ = ["Config", "load_config", "sandbox_config", "default_state_dir", "user_config_dir",
           "make_dir", "builtin_mappings_dir", "samples_dir", "DEFAULT_API_URL"]

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


@dataclass
class Config:
    """The user's settings. Sections are plain dicts read by the stage that owns them."""

    path: Path | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def section(self, name: str) -> dict[str, Any]:
        value = self.data.get(name) or {}
        if not isinstance(value, dict):
            raise ConfigError(f"'{name}' must be a mapping of settings", file=str(self.path))
        return value

    @property
    def accounts(self) -> list[dict[str, Any]]:
        value = self.data.get("accounts") or []
        if not isinstance(value, list):
            raise ConfigError("'accounts' must be a list", file=str(self.path))
        return value

    @property
    def date_order(self) -> str | None:
        value = self.data.get("date_order")
        if value is not None and value not in ("dmy", "mdy", "ymd"):
            raise ConfigError(f"'date_order' must be dmy, mdy or ymd, not {value!r}", file=str(self.path))
        return value

    @property
    def mapping_dirs(self) -> tuple[Path, ...]:
        dirs = [user_config_dir() / "mappings"]
        if self.path is not None:
            dirs.insert(0, self.path.parent / "mappings")
        extra = self.data.get("mappings_dir")
        if extra:
            if not isinstance(extra, str):
                raise ConfigError("'mappings_dir' must be a folder's path", file=str(self.path))
            dirs.insert(0, Path(extra).expanduser())
        return tuple(d for d in dirs if d.is_dir())


def load_config(path: str | Path | None = None) -> Config:
    """Read the config: the given file, else ./psimport.yaml, else the user config dir's."""
    if path is None:
        for candidate in (Path("psimport.yaml"), user_config_dir() / "psimport.yaml"):
            if candidate.is_file():
                path = candidate
                break
        else:
            return Config()
    path = Path(path)
    if not path.is_file():
        raise ConfigError("config file not found", file=str(path))
    data = read_yaml_file(path, "config") or {}
    if not isinstance(data, dict):
        raise ConfigError("the config must be a YAML mapping", file=str(path))
    return Config(path=path, data=data)


def sandbox_config(config: Config) -> Config:
    """The config for a --sandbox run: the user's, or with none of their own, the demo household's."""
    if config.path is None:
        demo = samples_dir() / "psimport.yaml"
        if demo.is_file():
            return load_config(demo)
    return config
