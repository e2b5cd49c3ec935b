"""The parser registry: find the parser for some bytes, and read files into Statements.

Built-in parsers are OFX/QFX/QBO, QIF, CSV, spreadsheets (XLSX, XLS, ODS), CAMT and MT940. Third
parties add a format by exposing an object that follows `importer.parsers.base.Parser` under the
entry-point group `psimport.parsers` (see the README).
"""

from __future__ import annotations

import hashlib
import importlib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import Callable, Iterable, Iterator

from importer.errors import InputError, looked_up
from importer.limits import DEFAULT_MAX_FILE_MB, MB, read_bounded
from importer.parsers.base import ParseOptions, Parser
from importer.record import Statement

__all__ = ["Parser", "ParseOptions", "registered_parsers", "detect", "parse_bytes", "parse_file",
           "parse_paths", "read_files", "read_bytes", "FilesRead", "StatementFile", "FORMATS"]

ENTRY_POINT_GROUP = "psimport.parsers"
FORMATS = "OFX/QFX/QBO, QIF, CSV, XLSX/XLS/ODS, CAMT or MT940"
SNIFF_BYTES = 64 * 1024
BUILTIN = ("importer.parsers.ofx:OfxParser", "importer.parsers.qif:QifParser",
           "importer.parsers.csv:CsvParser", "importer.parsers.camt:CamtParser",
           "importer.parsers.mt940:Mt940Parser", "importer.parsers.spreadsheet:SpreadsheetParser")


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
        if b"<table" in head[:SNIFF_BYTES].lower() and head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
            # Some banks' "Excel" download is a web page holding a table, named .xls.
            raise InputError("this is a web page (an HTML table), not a spreadsheet or CSV, whatever its name; "
                             "open it in a spreadsheet program and save it as .xlsx or CSV, or download the "
                             f"statement as one of {FORMATS}", file=filename)
        if b"\x00" in head[:4096].rstrip(b"\x00"):
            raise InputError(f"this is a binary file, not a bank statement ({FORMATS})",
                             file=filename)
        raise InputError(f"not a statement format psimport knows ({FORMATS}); "
                         "export the statement from your bank as one of these", file=filename)
    if len(scored) > 1 and scored[1][0] == best_score:
        raise InputError(f"both the {best.name} and the {scored[1][2].name} parsers claim this file; "
                         "rename it with the right extension", file=filename)
    return best


def parse_bytes(data: bytes, filename: str, options: ParseOptions = ParseOptions()) -> list[Statement]:
    """Detect the format of `data` and read it."""
    head = data[:SNIFF_BYTES]
    parser = _parser_for_mapping(options, head, filename) or detect(head, filename)
    if options.sheet is not None and parser.name != "spreadsheet":
        raise InputError(f"--sheet names a sheet of a spreadsheet, and this is a {parser.name.upper()} file; "
                         "leave --sheet out for it", file=filename)
    statements = parser.parse(data, filename, options)
    return [statement.finish() for statement in statements]


def _parser_for_mapping(options: ParseOptions, head: bytes, filename: str) -> Parser | None:
    # An explicit CSV mapping means the file is CSV, whatever it looks like: or a spreadsheet, which
    # the same mappings read.
    if options.mapping is None:
        return None
    from importer.parsers.spreadsheet import sheet_kind
    wanted = "spreadsheet" if sheet_kind(head, filename) else "csv"
    return next(p for p in registered_parsers() if p.name == wanted)


def read_bytes(path: str | Path, max_bytes: int = DEFAULT_MAX_FILE_MB * MB) -> bytes:
    """A statement file's bytes, or an InputError that says why not (missing, not a regular file, too big)."""
    return read_bounded(path, max_bytes, "a statement",
                        "set max_file_mb in psimport.yaml, or pass --max-file-mb, to read a bigger one")


def parse_file(path: str | Path, options: ParseOptions = ParseOptions()) -> list[Statement]:
    """Read one statement file."""
    return parse_bytes(read_bytes(path, options.max_file_bytes), str(path), options)


STATEMENT_SUFFIXES = {".ofx", ".qfx", ".qbo", ".qif", ".csv", ".tsv", ".txt", ".dat", ".sgml", ".xml",
                      ".sta", ".swi", ".940", ".942", ".mt940", ".xlsx", ".xlsm", ".xls", ".ods"}
# A file found in a directory is read only when some parser is at least this sure of it, so a
# notes.txt or README.xml beside the statements is skipped (and reported), not an error.
CONFIDENT = 0.5


@dataclass
class StatementFile:
    """One file read: its path, its content hash (a batch is known by it) and its statements."""

    path: Path
    sha256: str
    statements: list[Statement]


@dataclass
class FilesRead:
    files: list[StatementFile] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)   # directory members that are not statements

    @property
    def statements(self) -> list[Statement]:
        return [s for f in self.files for s in f.statements]

    @property
    def notes(self) -> list[str]:
        """What the parsers inferred (a CSV layout no mapping knew), once per file: `file: note`."""
        found: dict[str, None] = {}
        for statement in self.statements:
            for note in statement.notes:
                found.setdefault(f"{statement.file}: {note}")
        return list(found)


def _expand(paths: Iterable[str | Path]) -> Iterator[tuple[Path, bool]]:
    """(file, named by the user?) for each path; a directory means its files with a statement suffix."""
    for raw in paths:
        path = Path(raw)
        if looked_up(path.is_dir, path):
            for child in sorted(path.iterdir()):
                if child.is_file() and not child.name.startswith(".") \
                        and child.suffix.lower() in STATEMENT_SUFFIXES:
                    yield child, False
        else:
            yield path, True


def read_files(paths: Iterable[str | Path], options: ParseOptions = ParseOptions(),
               options_for: Callable[[Path], ParseOptions] | None = None) -> FilesRead:
    """Read every statement file the paths name, in order; `options_for` may choose options per file.

    A file the user named is read or refused with an InputError; a file found in a directory that no
    parser recognises is skipped and listed in `skipped`. No statement file at all is an InputError.
    """
    paths = list(paths)
    result = FilesRead()
    for path, named in _expand(paths):
        file_options = options_for(path) if options_for else options
        data = read_bytes(path, file_options.max_file_bytes)
        if not named and file_options.mapping is None and _confidence(data, path.name) < CONFIDENT:
            result.skipped.append(path)
            continue
        statements = parse_bytes(data, str(path), file_options)
        result.files.append(StatementFile(path, hashlib.sha256(data).hexdigest(), statements))
    if not result.files:
        skipped = f" ({len(result.skipped)} other files skipped)" if result.skipped else ""
        raise InputError(f"no statement files found{skipped}; psimport reads {FORMATS}",
                         file=", ".join(str(p) for p in paths))
    return result


def _confidence(data: bytes, filename: str) -> float:
    head = data[:SNIFF_BYTES]
    return max(parser.sniff(head, filename) for parser in registered_parsers())


def parse_paths(paths: Iterable[str | Path], options: ParseOptions = ParseOptions()) -> list[Statement]:
    """Read every statement file the paths name, in order."""
    return read_files(paths, options).statements
