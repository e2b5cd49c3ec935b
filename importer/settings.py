"""The effective settings of a run and where each came from (a flag, the environment, a file and line, a default).

One place answers "which API, which config, which state dir, which key" for every command, so
`psimport config show` reports exactly what the others use. Precedence, highest first: the
command-line flag, the environment, psimport.yaml, the default. The key: the environment, then
the system keyring, then the key file (importer.credentials); it is shown only redacted.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from importer.config import DEFAULT_API_URL, Config, default_state_dir, user_config_dir

__all__ = ["Setting", "api_url", "effective_settings"]


@dataclass(frozen=True)
class Setting:
    name: str
    value: str
    source: str

    def as_json(self) -> dict:
        return {"name": self.name, "value": self.value, "source": self.source}


def _in_file(config: Config, key: str) -> str:
    from importer.yamlfile import line_of
    line = line_of(config.data, key)
    return f"{config.path}, line {line}" if line else str(config.path)


def api_url(flag: str | None, config: Config) -> Setting:
    """The PocketSmith API URL: --api-url, POCKETSMITH_API_URL, the config's api_url:, PocketSmith's own."""
    if flag:
        return Setting("api_url", flag, "flag --api-url")
    env = os.environ.get("POCKETSMITH_API_URL", "").strip()
    if env:
        return Setting("api_url", env, "environment POCKETSMITH_API_URL")
    if config.api_url:
        return Setting("api_url", str(config.api_url), _in_file(config, "api_url"))
    return Setting("api_url", DEFAULT_API_URL, "default")


def effective_settings(config: Config, *, config_flag: str | None, api_url_flag: str | None,
                       state_dir_flag: str | None) -> list[Setting]:
    """Every setting a run would use, in the order `psimport config show` lists them."""
    from importer.credentials import find_key, redact
    from importer.rules.file import find_rules_file

    settings: list[Setting] = []
    if config.path is None:
        searched = f"./psimport.yaml, {user_config_dir() / 'psimport.yaml'}"
        settings.append(Setting("config", "(none)", f"default: none of {searched} exists"))
    else:
        settings.append(Setting("config", str(config.path), "flag --config" if config_flag else
                                "default: the first of ./psimport.yaml and the user config dir's"))
    url = api_url(api_url_flag, config)
    settings.append(url)
    if state_dir_flag:
        settings.append(Setting("state_dir", state_dir_flag, "flag --state-dir"))
    elif os.environ.get("PSIMPORT_STATE_DIR"):
        settings.append(Setting("state_dir", str(default_state_dir()), "environment PSIMPORT_STATE_DIR"))
    else:
        settings.append(Setting("state_dir", str(default_state_dir()), "default (the user data dir)"))

    key = find_key(url.value)
    settings.append(Setting("key", redact(key.key), key.source) if key is not None else
                    Setting("key", "(none)", "not in the environment, the keyring or the key file: "
                                             "run `psimport init`"))

    rules = find_rules_file(None, config)
    settings.append(Setting("rules", str(rules) if rules else "(none)",
                            _in_file(config, "rules") if config.data.get("rules") else
                            "default: ./rules.yaml" if rules else "default: none (no ./rules.yaml)"))
    for name, describe in (("inbox", None), ("date_order", "default: worked out from each file"),
                           ("mappings_dir", None)):
        value = config.data.get(name)
        if value:
            shown = str(config.inbox) if name == "inbox" else str(value)
            settings.append(Setting(name, shown, _in_file(config, name)))
        elif describe:
            settings.append(Setting(name, "(auto)", describe))
    from importer.config import builtin_mappings_dir
    folders = [*map(str, config.mapping_dirs), f"{builtin_mappings_dir()} (shipped)"]
    settings.append(Setting("mapping folders", "; ".join(folders), "searched in this order (yours first)"))
    entries = config.accounts
    settings.append(Setting("accounts", f"{len(entries)} entries", _in_file(config, "accounts") if entries
                            else "default: none (statements go to the account with their number)"))
    for section in ("dedupe", "payee"):
        if config.data.get(section):
            keys = ", ".join(sorted(config.section(section)))
            settings.append(Setting(section, keys, _in_file(config, section)))
        else:
            settings.append(Setting(section, "(defaults)", "default"))
    return settings

