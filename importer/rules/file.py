"""The rules file: found, read and validated into a RuleSet (every problem at once), and rule entries written back as YAML."""

from __future__ import annotations

import re
from functools import cache
from decimal import Decimal
from pathlib import Path
from typing import Iterable, Sequence

from importer.errors import ConfigError, did_you_mean, every_problem
from importer.rules.compiler import RULE_KEYS, Compiler, always
from importer.rules.engine import Rule, RuleSet
from importer.yamlfile import comment_text, excerpt, read_yaml_file

__all__ = ["load_rules", "compile_rules", "find_rules_file", "load_rules_for", "dump_rules"]

def load_rules(path) -> RuleSet:
    """Read, validate and compile a rules file; any problem is a ConfigError naming file, line and rule."""
    path = Path(path)
    data = read_yaml_file(path, "rules")
    if not isinstance(data, dict):
        # compile_rules takes a bare list from code; a file says what it is, as the README shows.
        found = "empty" if data is None else "a bare list" if isinstance(data, list) else f"just {excerpt(data)}"
        raise ConfigError(f"the rules file is {found}; it must be a mapping with a 'rules:' list, such as\n"
                          "  rules:\n    - name: coffee\n      if: {payee: {contains: coffee}}\n"
                          "      then: {category: Coffee}", file=str(path))
    return compile_rules(data, str(path))


def compile_rules(data, path: str | None = None) -> RuleSet:
    """Validate and compile rules given as data (`{"rules": [...]}` or the list itself)."""
    errors: list[ConfigError] = []      # every problem, so a file is fixed in one pass, not a run per mistake
    if data is None:
        data = {"rules": []}
    if isinstance(data, dict):
        errors += [ConfigError(f"unknown top-level key {excerpt(key)}{did_you_mean(key, ['rules'])}; a rules file "
                               "is a mapping with one key, 'rules'", file=path, line=Compiler.line_of(data, key))
                   for key in data if key != "rules"]
        items = data.get("rules") or []
        list_line = Compiler.line_of(data, "rules")
    elif isinstance(data, list):
        items, list_line = data, None
    else:
        raise ConfigError("a rules file must be a mapping with a 'rules:' list", file=path)
    if not isinstance(items, list):
        raise every_problem([*errors, ConfigError("'rules' must be a list of rules", file=path, line=list_line)], path)
    rules: list[Rule] = []
    names: dict[str, int] = {}
    for index, item in enumerate(items):
        line = getattr(item, "line", None) or list_line
        if not isinstance(item, dict):
            errors.append(ConfigError(f"rule #{index + 1}: expected a mapping with name, if, then; got {excerpt(item)}",
                                      file=path, line=line))
            continue
        raw_name = item.get("name", f"#{index + 1}")
        name = str(raw_name).strip() if raw_name is not None else f"#{index + 1}"
        compiler = Compiler(path, name, line)
        problems = [compiler.error(f"unknown key '{key}'{did_you_mean(key, RULE_KEYS)}; a rule has "
                                   f"{', '.join(RULE_KEYS)}", Compiler.line_of(item, key, line))
                    for key in item if key not in RULE_KEYS]
        if not name or isinstance(raw_name, (dict, list, bool)):
            problems.append(compiler.error("a rule's name must be text", line))
        elif name in names:
            problems.append(compiler.error(f"the name is already used by the rule on line {names[name]}", line))
        else:
            names[name] = line
        test, prefilter, actions = always, None, {}
        if "if" in item:
            try:
                test, prefilter = compiler.condition(item["if"], Compiler.line_of(item, "if", line))
            except ConfigError as exc:
                problems.append(exc)
        if "then" not in item:
            problems.append(compiler.error("it has no 'then': a rule needs at least one action", line))
        else:
            try:
                actions = compiler.actions(item["then"], Compiler.line_of(item, "then", line))
            except ConfigError as exc:
                problems.append(exc)
        if problems:
            errors.extend(problems)
            continue
        rule = Rule(name=name, line=line or 0, index=index, condition=item.get("if"), actions=actions,
                    test=test, prefilter=prefilter)
        rule._build()
        rules.append(rule)
    if errors:
        raise every_problem(errors, path)
    return RuleSet(rules, path)



def find_rules_file(option: str | Path | None, config=None) -> Path | None:
    """The rules file to use: --rules, else the config's `rules:` path, else ./rules.yaml if present."""
    if option:
        return Path(option)
    if config is not None:
        configured = (getattr(config, "data", None) or {}).get("rules")
        if configured:
            configured = Path(str(configured)).expanduser()
            if not configured.is_absolute() and getattr(config, "path", None) is not None:
                configured = Path(config.path).parent / configured
            return configured
    local = Path("rules.yaml")
    return local if local.is_file() else None


def load_rules_for(option: str | Path | None, config=None, *, required: bool = True) -> RuleSet | None:
    """The rules a run uses (see find_rules_file); without any, None, or a ConfigError if `required`."""
    path = find_rules_file(option, config)
    if path is None:
        if not required:
            return None
        raise ConfigError("no rules file: pass --rules FILE, set rules: in psimport.yaml, or create ./rules.yaml")
    return load_rules(path)


# ─── writing ──────────────────────────────────────────────────────────────────────────────────

def dump_rules(entries: Iterable[dict], header: Sequence[str] = ()) -> str:
    """A rules file from rule dicts (name, if, then, optional comment), one compact rule per three lines.

    Every value is written by YAML's own serializer (flow style, one line), never pasted in, and
    each comment is made one line of text: a payee or a category title from PocketSmith is data, and
    whatever it holds (a newline and a rule after it) stays inside its string. The result loads with
    load_rules.
    """
    lines = [f"# {comment_text(line)}" for line in header]
    lines.append("rules:")
    count = 0
    for entry in entries:
        count += 1
        if entry.get("comment"):
            lines.append(f"  # {comment_text(entry['comment'])}")
        lines.append(f"  - name: {_flow(entry['name'])}")
        if entry.get("if") is not None:
            lines.append(f"    if: {_flow(entry['if'])}")
        lines.append(f"    then: {_flow(entry['then'])}")
    if not count:
        lines[-1] = "rules: []"
    return "\n".join(lines) + "\n"


def _flow(value) -> str:
    """One value as YAML on one line (a flow mapping or list, or a scalar quoted when it must be)."""
    import yaml
    text = yaml.dump(value, Dumper=_rules_dumper(), default_flow_style=True, allow_unicode=True,
                     sort_keys=False, width=float("inf"))
    return text.removesuffix("\n...\n").removesuffix("\n")


_YAML_LINE_BREAKS = re.compile("[\x85\u2028\u2029]")


@cache
def _rules_dumper():
    import yaml

    class RulesDumper(yaml.SafeDumper):
        """SafeDumper that also writes what the loader reads: LineText, WrittenInt and Decimal (as its text)."""

    def represent_text(dumper, value):
        value = str(value)
        if _YAML_LINE_BREAKS.search(value):
            # YAML reads these as line breaks; only a double-quoted string keeps them (escaped) as they are.
            return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')
        return dumper.represent_str(value)

    RulesDumper.add_representer(str, represent_text)
    RulesDumper.add_multi_representer(str, represent_text)
    RulesDumper.add_multi_representer(int, lambda dumper, value: dumper.represent_int(int(value)))
    RulesDumper.add_representer(Decimal, lambda dumper, value: dumper.represent_scalar(
        "tag:yaml.org,2002:float" if value.as_tuple().exponent < 0 else "tag:yaml.org,2002:int", str(value)))
    return RulesDumper
