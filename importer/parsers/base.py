"""The Parser protocol every statement format implements, and the options a parse takes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from importer.limits import DEFAULT_MAX_FILE_MB, MB
from importer.record import Statement

__all__ = ["Parser", "ParseOptions"]


@dataclass(frozen=True)
class ParseOptions:
    """What the user told us about a file beyond its bytes.

    `mapping` is a built-in mapping name or a path to a mapping YAML (CSV only);
    `date_order` ("dmy", "mdy" or "ymd") settles day/month ambiguity the data cannot;
    `mapping_dirs` are extra folders of user mappings (the config dir, `--config`'s);
    `sheet` is the sheet of a spreadsheet to read (XLSX, XLS, ODS; default its first);
    `max_file_bytes` is the largest file read (importer.limits; config `max_file_mb`).
    """

    mapping: str | None = None
    date_order: str | None = None
    mapping_dirs: tuple[Path, ...] = ()
    sheet: str | None = None
    max_file_bytes: int = DEFAULT_MAX_FILE_MB * MB


@runtime_checkable
class Parser(Protocol):
    """A statement format.

    `sniff` says how sure the parser is (0.0 to 1.0) that the bytes are its format,
    looking at the content first and the file name only as a hint. `parse` reads the
    whole file into one Statement per account, raising InputError (naming the file and
    line) for anything it cannot read.
    """

    name: str

    def sniff(self, head: bytes, filename: str) -> float: ...

    def parse(self, data: bytes, filename: str, options: ParseOptions) -> list[Statement]: ...
