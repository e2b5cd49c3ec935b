"""The one YAML loader (psimport.yaml, rules, mappings): safe, with the line of every mapping, list, key and string.

What it refuses, each as a ConfigError naming the file and line: a key given twice in one mapping,
anchors, aliases and merge keys (none of psimport's files needs them, and a few hundred bytes of
aliases can stand for billions of values), lists and mappings nested more than MAX_DEPTH deep, and
anything but plain data (no Python tags). Numbers with a decimal point are read as Decimal, never
float, so `12.30` stays exactly 12.30. libyaml's C parser does the parsing when PyYAML has it (8x
faster than the pure-Python one on the shipped mappings).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping, Sequence

from importer.errors import ConfigError, looked_up

__all__ = ["read_yaml", "read_yaml_file", "LineMap", "LineList", "LineText", "WrittenInt", "line_of", "excerpt",
           "comment_text"]

EXCERPT_CHARS = 60
MAX_DEPTH = 100                 # lists and mappings inside each other; our files nest a handful deep

# An anchor or alias starts a node: at a line's start, or after a space or a flow or block indicator.
# Text without such a '&' or '*' cannot hold one, so only the rest pays for the exact check.
_MAY_HOLD_ANCHORS = re.compile(r"(?:^|[\s\[\]{},:?\-\ufeff])[&*]", re.MULTILINE)
# libyaml's composer recurses in C without a limit: nesting tens of thousands deep crashes the process.
# Each level on one line takes one of these (by indentation alone, that deep would take gigabytes), so
# text with few of them is composed at once and the rest is measured first, from the parser's events.
_NESTING_MARKS = ("[", "{", "- ", "-\t", "? ", "?\t")
_MANY_NESTING_MARKS = 2000
_STR_TAG, _MAP_TAG, _SEQ_TAG, _MERGE_TAG = (f"tag:yaml.org,2002:{kind}" for kind in ("str", "map", "seq", "merge"))


class LineMap(dict):
    """A YAML mapping that remembers its line and each key's line."""

    line: int | None = None
    key_lines: Mapping = MappingProxyType({})   # each instance read from YAML has its own


class LineList(list):
    """A YAML list that remembers its line and each item's line."""

    line: int | None = None
    item_lines: Sequence[int] = ()


class LineText(str):
    """A YAML string that remembers its line (for errors about a category or a regex)."""

    line: int | None = None


class WrittenInt(int):
    """A YAML whole number not written as Python writes it (0620012345, which YAML 1.1 reads as octal; 1_000):
    `text` is as written, so an account number keeps its digits."""

    text: str = ""


def line_of(container, key=None, default=None) -> int | None:
    """The line of `key` in a mapping (or of item `key` in a list) read by read_yaml, or of the container
    itself when `key` is None; else `default` (data built in code has no lines)."""
    if key is not None:
        if isinstance(container, LineMap) and key in container.key_lines:
            return container.key_lines[key]
        if isinstance(container, LineList) and isinstance(key, int) and 0 <= key < len(container.item_lines):
            return container.item_lines[key]
    return getattr(container, "line", None) or default


def excerpt(value: Any, limit: int = EXCERPT_CHARS) -> str:
    """A value as quoted in a message: text in quotes, a number as written, cut to `limit` characters (so a
    message stays one readable line)."""
    if isinstance(value, str):
        text = repr(str(value))
    elif isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        text = getattr(value, "text", None) or str(value)
    else:
        text = repr(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


# What a YAML file may hold outside quotes (YAML 1.1's printable set, less its line breaks).
_NOT_IN_A_COMMENT = re.compile("[^\t\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]+")


def comment_text(text: Any) -> str:
    """`text` safe to write after a `#` in a YAML file psimport writes: one line (a newline in data would
    end the comment and start YAML of its own), with nothing YAML refuses to read."""
    from importer.text import one_line
    return _NOT_IN_A_COMMENT.sub(" ", one_line(str(text)))


def read_yaml_file(path: str | Path, kind: str) -> Any:
    """A YAML file's data; `kind` ("config", "rules", "mapping") names the file in errors."""
    from importer.limits import MAX_YAML_BYTES, read_bounded
    path = Path(path)
    if not looked_up(path.exists, path, ConfigError):
        raise ConfigError(f"{kind} file not found", file=str(path))
    data = read_bounded(path, MAX_YAML_BYTES, f"a {kind} file", error=ConfigError)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"the {kind} file is not UTF-8 text ({exc.reason})", file=str(path)) from None
    return read_yaml(text, str(path))


def read_yaml(text: str, path: str | None = None) -> Any:
    """YAML text to data (LineMap, LineList, LineText, int, Decimal, bool, date, None); `path` names it in errors."""
    import yaml
    loader_class = _loader_class()
    try:
        if (("&" in text or "*" in text) and _MAY_HOLD_ANCHORS.search(text)) \
                or sum(map(text.count, _NESTING_MARKS)) > _MANY_NESTING_MARKS:
            _refuse_anchors_and_deep_nesting(loader_class(text))
        loader = loader_class(text)
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()
    except ConfigError as exc:
        raise ConfigError(exc.message, file=path, line=exc.line) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        line = None if mark is None else mark.line + 1
        if "nesting depth" in str(problem):
            # Newer libyaml builds stop deep nesting in their scanner, before our own count sees it.
            raise ConfigError(_too_deep(line).message, file=path, line=line) from None
        raise ConfigError(f"not valid YAML: {problem}", file=path, line=line) from None


def _refuse_anchors_and_deep_nesting(loader) -> None:
    # Events, not nodes: the parser reports each anchor and alias where it is written, before
    # anything is built from it, so an alias bomb fails at its first alias.
    import yaml
    depth = 0
    try:
        while loader.check_event():
            event = loader.get_event()
            line = event.start_mark.line + 1
            if isinstance(event, yaml.AliasEvent):
                raise ConfigError(f"{excerpt('*' + event.anchor)} is a YAML alias; psimport does not accept anchors "
                                  "and aliases: write the value out in full", line=line)
            if getattr(event, "anchor", None) is not None:
                raise ConfigError(f"{excerpt('&' + event.anchor)} is a YAML anchor; psimport does not accept anchors "
                                  "and aliases: write the value out in full", line=line)
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise _too_deep(line)
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    finally:
        loader.dispose()


def _too_deep(line: int) -> ConfigError:
    return ConfigError(f"lists and mappings are nested more than {MAX_DEPTH} deep", line=line)


@cache
def _loader_class():
    import yaml

    class LineLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc, valid-type]
        depth = 0      # of the collection being built: children are built inside their parent

    # Aliases are refused before anything is built, so no node is reached twice and each collection
    # is built whole in one call; text, most of what a file holds, skips PyYAML's general dispatch.
    def build(loader, node):
        tag = node.tag
        if tag == _STR_TAG and type(node) is yaml.ScalarNode:
            return construct_text(loader, node)
        if tag == _MAP_TAG and type(node) is yaml.MappingNode:
            return construct_map(loader, node)
        if tag == _SEQ_TAG and type(node) is yaml.SequenceNode:
            return construct_list(loader, node)
        return loader.construct_object(node, deep=True)

    def construct_map(loader, node):
        data = LineMap()
        data.line = node.start_mark.line + 1
        data.key_lines = key_lines = {}
        loader.depth += 1
        if loader.depth > MAX_DEPTH:
            raise _too_deep(data.line)
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if key_node.tag == _MERGE_TAG:
                raise ConfigError("'<<' is a YAML merge key; psimport does not accept merge keys: "
                                  "write the keys out in full", line=line)
            key = build(loader, key_node)
            try:
                hash(key)
            except TypeError:
                raise ConfigError("a mapping key must be plain text", line=line) from None
            if key in data:
                raise ConfigError(f"{excerpt(key)} is given twice in one mapping (first on line "
                                  f"{key_lines[key]})", line=line)
            data[key] = build(loader, value_node)
            key_lines[key] = line
        loader.depth -= 1
        return data

    def construct_list(loader, node):
        data = LineList()
        data.line = node.start_mark.line + 1
        loader.depth += 1
        if loader.depth > MAX_DEPTH:
            raise _too_deep(data.line)
        data.item_lines = [item.start_mark.line + 1 for item in node.value]
        data.extend([build(loader, item) for item in node.value])
        loader.depth -= 1
        return data

    def construct_text(loader, node):
        text = LineText(node.value if type(node) is yaml.ScalarNode else loader.construct_scalar(node))
        text.line = node.start_mark.line + 1
        return text

    def construct_int(loader, node):
        number = loader.construct_yaml_int(node)
        if node.value == str(number):
            return number
        written = WrittenInt(number)
        written.text = node.value
        return written

    def construct_decimal(loader, node):
        # Money never passes through float: 12.30 in rules.yaml is Decimal("12.30").
        text = loader.construct_scalar(node)
        try:
            return Decimal(text.replace("_", ""))
        except InvalidOperation:
            return construct_text(loader, node)   # YAML 1.1's 1:30.5 and .inf: left as written

    LineLoader.add_constructor("tag:yaml.org,2002:map", construct_map)
    LineLoader.add_constructor("tag:yaml.org,2002:seq", construct_list)
    LineLoader.add_constructor("tag:yaml.org,2002:str", construct_text)
    LineLoader.add_constructor("tag:yaml.org,2002:int", construct_int)
    LineLoader.add_constructor("tag:yaml.org,2002:float", construct_decimal)
    return LineLoader
