"""The one YAML loader: safe, with the line of every mapping, key and string, and duplicate keys refused."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from importer.errors import ConfigError

__all__ = ["read_yaml", "LineMap", "LineText", "line_of"]

class LineMap(dict):
    """A YAML mapping that remembers its line and each key's line."""

    line: int = 0
    key_lines: dict


class LineText(str):
    """A YAML string that remembers its line (for errors about a category or a regex)."""

    line: int = 0


def _loader_class():
    import yaml

    class LineLoader(yaml.SafeLoader):
        pass

    def construct_map(loader, node):
        data = LineMap()
        data.line = node.start_mark.line + 1
        data.key_lines = {}
        yield data
        loader.flatten_mapping(node)
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                raise ConfigError("a mapping key must be plain text", line=key_node.start_mark.line + 1) from None
            if key in data:
                raise ConfigError(f"'{key}' is given twice in one mapping", line=key_node.start_mark.line + 1)
            data[key] = loader.construct_object(value_node, deep=True)
            data.key_lines[key] = key_node.start_mark.line + 1

    def construct_str(loader, node):
        text = LineText(loader.construct_scalar(node))
        text.line = node.start_mark.line + 1
        return text

    def construct_decimal(loader, node):
        # Money never passes through float: 12.30 in rules.yaml is Decimal("12.30").
        text = loader.construct_scalar(node).replace("_", "")
        try:
            return Decimal(text)
        except InvalidOperation:
            return text

    LineLoader.add_constructor("tag:yaml.org,2002:map", construct_map)
    LineLoader.add_constructor("tag:yaml.org,2002:str", construct_str)
    LineLoader.add_constructor("tag:yaml.org,2002:float", construct_decimal)
    return LineLoader


def read_yaml(text: str, path: str):
    import yaml
    loader = _loader_class()(text)
    try:
        return loader.get_single_data()
    except ConfigError as exc:
        raise ConfigError(exc.message, file=path, line=exc.line) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"not valid YAML: {problem}", file=path,
                          line=None if mark is None else mark.line + 1) from None
    finally:
        loader.dispose()


def line_of(mapping, key=None, default=None) -> int | None:
    """The line of `key` in a mapping read by read_yaml (or of the mapping itself), else `default`."""
    if key is not None and isinstance(mapping, LineMap) and key in mapping.key_lines:
        return mapping.key_lines[key]
    return getattr(mapping, "line", None) or default
