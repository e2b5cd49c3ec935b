"""The parser registry: find the parser for some bytes, and read files into Statements.

Built-in parsers are OFX/QFX/QBO, QIF and CSV. Third parties add a format by exposing
an object that follows `importer.parsers.base.Parser` under the entry-point group
`psimport.parsers` (see the README).
"""

from __future__ import annotations

import importlib
from functools import lru_cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import Iterable, Iterator

from importer.errors import InputError
from importer.parsers.base import ParseOptions, Parser
from importer.record import Statement

__all__ = ["Parser", "ParseOptions", "registered_parsers", "detect", "parse_bytes", "parse_file",
           "parse_paths", "statement_files"]

ENTRY_POINT_GROUP = "psimport.parsers"
SNIFF_BYTES = 64 * 1024
BUILTIN = ("importer.parsers.ofx:OfxParser", "importer.parsers.qif:QifParser",
           "importer.parsers.csv:CsvParser", "importer.parsers.camt:CamtParser",
           "importer.parsers.mt940:Mt940Parser")


def _load(spec: str) -> Parser:
    module_name, _, attr = spec.partition(":")
    obj = getattr(importlib.import_module(module_name), attr)
    return obj() if isinstance(obj, type) else obj


@lru_cache(maxsize=1)
def registered_parsers() -> tuple[Parser, ...]:
    """The built-in parsers, then any installed through the `psimport.parsers` entry points."""
    parsers = [_load(spec) for spec in BUILTIN]
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        parser = ep.load()
        parsers.append(parser() if isinstance(parser, type) else parser)
    return tuple(parsers)


def detect(head: bytes, filename: str) -> Parser:
    """The parser most sure of these bytes; an InputError if none is, or two are equally sure."""
    if not head.strip(b"\x00 \t\r\n\xef\xbb\xbf"):
        raise InputError("the file is empty; download the statement again", file=filename)
    scored = sorted(((p.sniff(head, filename), i, p) for i, p in enumerate(registered_parsers())),
                    key=lambda item: (-item[0], item[1]))
    best_score, _, best = scored[0]
    if best_score <= 0:
        if b"\x00" in head[:4096].rstrip(b"\x00"):
            raise InputError("this is a binary file, not a bank statement (OFX, QFX, QIF or CSV)",
                             file=filename)
        raise InputError("not a statement format psimport knows (OFX/QFX/QBO, QIF, CSV, CAMT or MT940); "
                         "export the statement from your bank as one of these", file=filename)
    if len(scored) > 1 and scored[1][0] == best_score:
        raise InputError(f"both the {best.name} and the {scored[1][2].name} parsers claim this file; "
                         "rename it with the right extension", file=filename)
    return best


def parse_bytes(data: bytes, filename: str, options: ParseOptions = ParseOptions()) -> list[Statement]:
    """Detect the format of `data` and read it."""
    head = data[:SNIFF_BYTES]
    parser = _parser_for_mapping(options) or detect(head, filename)
    statements = parser.parse(data, filename, options)
    return [statement.finish() for statement in statements]


def _parser_for_mapping(options: ParseOptions) -> Parser | None:
    # An explicit CSV mapping means the file is CSV, whatever it looks like.
    if options.mapping is None:
        return None
    return next(p for p in registered_parsers() if p.name == "csv")


def parse_file(path: str | Path, options: ParseOptions = ParseOptions()) -> list[Statement]:
    """Read one statement file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError("no such file", file=str(path)) from None
    except IsADirectoryError:
        raise InputError("is a directory; pass its files or the directory alone", file=str(path)) from None
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror})", file=str(path)) from None
    return parse_bytes(data, str(path), options)


STATEMENT_SUFFIXES = {".ofx", ".qfx", ".qbo", ".qif", ".csv", ".tsv", ".txt", ".dat", ".sgml", ".xml",
                      ".sta", ".swi", ".940", ".942", ".mt940"}


def statement_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Expand the paths a user gave: a directory means every statement file in it, sorted."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for child in sorted(path.iterdir()):
                if child.is_file() and not child.name.startswith(".") \
                        and child.suffix.lower() in STATEMENT_SUFFIXES:
                    yield child
        else:
            yield path


def parse_paths(paths: Iterable[str | Path], options: ParseOptions = ParseOptions()) -> list[Statement]:
    """Read every statement file the paths name, in order."""
    statements: list[Statement] = []
    for path in statement_files(paths):
        statements.extend(parse_file(path, options))
    return statements
