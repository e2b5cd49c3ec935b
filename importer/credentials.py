"""Where the PocketSmith key comes from: the environment, then the system keyring, then a 0600 key file.

A key is kept per API URL, because a sandbox's key opens only that sandbox and a real key should
never be sent to one. `psimport init` stores it: in the system keyring when one is usable (the
optional `keyring` library, imported only here and only when needed), otherwise in
`credentials` in the user config dir, one `URL KEY` line per API, readable by the user alone.
The key never goes into psimport.yaml, and nothing here ever puts it in a message.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from importer.errors import ConfigError

__all__ = ["FoundKey", "find_key", "store_key", "forget_key", "key_file", "keyring_usable", "redact",
           "KEY_VARIABLES", "NO_KEYRING_VARIABLE"]

KEY_VARIABLES = ("POCKETSMITH_DEVELOPER_KEY", "POCKETSMITH_ACCESS_TOKEN")
NO_KEYRING_VARIABLE = "PSIMPORT_NO_KEYRING"     # set to 1 to keep keys out of the system keyring
_SERVICE = "psimport"
_FILE_NAME = "credentials"


@dataclass(frozen=True)
class FoundKey:
    """A key and where it was found ("environment POCKETSMITH_DEVELOPER_KEY", "system keyring", "key file PATH")."""

    key: str
    source: str
    bearer: bool = False        # an OAuth access token rather than a developer key

    def __repr__(self) -> str:
        return f"FoundKey(key={redact(self.key)!r}, source={self.source!r})"


def redact(key: str) -> str:
    """What of a key may be shown: its length and last two characters, never enough to use it."""
    return f"…{key[-2:]} ({len(key)} characters)" if len(key) > 8 else f"({len(key)} characters)"


def key_file() -> Path:
    from importer.config import user_config_dir
    return user_config_dir() / _FILE_NAME


def _api_id(api_url: str) -> str:
    return api_url.rstrip("/")


def find_key(api_url: str) -> FoundKey | None:
    """The key for `api_url`: the environment first, then the system keyring, then the key file."""
    env_key = os.environ.get("POCKETSMITH_DEVELOPER_KEY", "").strip()
    if env_key:
        bearer = env_key[:7].lower() == "bearer "
        return FoundKey(env_key[7:].strip() if bearer else env_key, "environment POCKETSMITH_DEVELOPER_KEY", bearer)
    token = os.environ.get("POCKETSMITH_ACCESS_TOKEN", "").strip()
    if token:
        return FoundKey(token, "environment POCKETSMITH_ACCESS_TOKEN", bearer=True)
    backend = _keyring()
    if backend is not None:
        try:
            stored = backend.get_password(_SERVICE, _api_id(api_url))
        except Exception:       # a locked or broken keyring is no keyring: fall through to the file
            stored = None
        if stored:
            return FoundKey(stored, "system keyring")
    stored = _file_keys().get(_api_id(api_url))
    if stored:
        return FoundKey(stored, f"key file {key_file()}")
    return None


def kept_key_urls() -> list[str]:
    """The API URLs a key is kept for (in the key file, or the keyring as its list says), for messages."""
    return sorted(set(_file_keys()) | set(_keyring_urls()))


def _keyring_urls_file() -> Path:
    """The list of API URLs with a key in the keyring (a keyring cannot be asked): URLs only, never a key."""
    return key_file().with_name("keyring-urls")


def _keyring_urls() -> list[str]:
    try:
        return [line.strip() for line in _keyring_urls_file().read_text(encoding="utf-8").splitlines()
                if line.strip()]
    except OSError:
        return []


def _note_keyring_url(api_url: str, kept: bool) -> None:
    urls = set(_keyring_urls()) - {api_url}
    if kept:
        urls.add(api_url)
    path = _keyring_urls_file()
    try:
        if urls:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(f"{url}\n" for url in sorted(urls)), encoding="utf-8")
        else:
            path.unlink(missing_ok=True)
    except OSError:
        pass        # only messages read it


def store_key(api_url: str, key: str, *, use_keyring: bool = True) -> str:
    """Keep `key` for `api_url` (the keyring if usable and wanted, else the key file); returns where, in words."""
    backend = _keyring() if use_keyring else None
    if backend is not None:
        try:
            backend.set_password(_SERVICE, _api_id(api_url), key)
        except Exception:
            backend = None
        else:
            _write_file_keys({u: k for u, k in _file_keys().items() if u != _api_id(api_url)})
            _note_keyring_url(_api_id(api_url), kept=True)
            return "the system keyring"
    keys = _file_keys()
    keys[_api_id(api_url)] = key
    _write_file_keys(keys)
    return f"{key_file()} (readable only by you)"


def forget_key(api_url: str) -> None:
    """Remove a stored key for `api_url` from the keyring and the key file."""
    backend = _keyring()
    if backend is not None:
        try:
            backend.delete_password(_SERVICE, _api_id(api_url))
        except Exception:
            pass
        _note_keyring_url(_api_id(api_url), kept=False)
    keys = _file_keys()
    if keys.pop(_api_id(api_url), None) is not None:
        _write_file_keys(keys)


def keyring_usable() -> bool:
    return _keyring() is not None


def _keyring():
    """The keyring module when a real system keyring is there to use, else None."""
    if os.environ.get(NO_KEYRING_VARIABLE, "").strip() not in ("", "0"):
        return None
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        return None
    try:
        backend = keyring.get_keyring()
    except Exception:
        return None
    # With no keyring daemon (a server, a container, cron) the library falls back to a backend that
    # refuses every call, or on some systems to a plaintext one; neither beats our own 0600 file.
    if isinstance(backend, fail.Keyring) or getattr(backend, "priority", 0) < 1 \
            or type(backend).__module__.startswith(("keyrings.alt", "keyring.backends.null")):
        return None
    return keyring


def _file_keys() -> dict[str, str]:
    path = key_file()
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return {}
    if os.name == "posix" and mode & 0o077:
        raise ConfigError("the key file can be read by other users; make it yours alone with "
                          f"`chmod 600 {path}`", file=str(path))
    keys: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        url, _, key = line.strip().partition(" ")
        if url and key.strip() and not url.startswith("#"):
            keys[url] = key.strip()
    return keys


def _write_file_keys(keys: dict[str, str]) -> None:
    from importer.config import make_dir
    path = key_file()
    if not keys:
        path.unlink(missing_ok=True)
        return
    make_dir(path.parent, "the config folder")
    text = "# PocketSmith keys psimport uses, one `API-URL KEY` a line (psimport init writes it).\n" + \
        "".join(f"{url} {key}\n" for url, key in sorted(keys.items()))
    temporary = path.with_name(path.name + ".new")
    # Created 0600 from the start: the key is never readable by others, not even for a moment.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
