"""The bounds on what psimport reads from outside: how big a file may be, and reading a file within its bound.

A statement, an export or a YAML file comes from outside; every byte of it is untrusted. Each is read
only if it is a regular file no bigger than its bound, so `/dev/zero`, a FIFO or a 50 GB file is a
clear message at once instead of memory running out.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Callable

from importer.errors import ImporterError, InputError

__all__ = ["DEFAULT_MAX_FILE_MB", "MAX_YAML_BYTES", "MAX_EXPORT_BYTES", "read_bounded"]

DEFAULT_MAX_FILE_MB = 200         # a statement: the largest real one we know of is a few MB; config `max_file_mb`
MAX_YAML_BYTES = 16 * 2**20       # psimport.yaml, rules, mappings: a rules file of 10,000 rules is about 1 MB
MAX_EXPORT_BYTES = 2 * 2**30      # an --existing export: a million transactions are about 1 GB of JSON
MB = 2**20


def read_bounded(path: str | Path, limit: int, what: str, how_to_raise: str = "",
                 error: Callable[..., ImporterError] = InputError) -> bytes:
    """The bytes of the regular file at `path`, or `error` naming the file when it is something else
    (a device, a FIFO, a folder) or bigger than `limit` bytes; `how_to_raise` says how to allow more."""
    path = Path(path)
    try:
        # Checked before opening (opening a FIFO waits for a writer), and again on what was opened.
        _check_regular(os.stat(path), path, limit, what, how_to_raise, error)
        with path.open("rb") as handle:
            _check_regular(os.fstat(handle.fileno()), path, limit, what, how_to_raise, error)
            # One byte past the limit: a file that grows while it is read is refused as well.
            data = handle.read(limit + 1)
    except FileNotFoundError:
        raise error("no such file", file=str(path)) from None
    except IsADirectoryError:
        raise error("is a directory; pass its files or the directory alone", file=str(path)) from None
    except OSError as exc:
        raise error(f"cannot read the file ({exc.strerror or exc})", file=str(path)) from None
    if len(data) > limit:
        raise error(f"grew past the {_size(limit)} psimport reads as {what} while it was read", file=str(path))
    return data


def _check_regular(info: os.stat_result, path: Path, limit: int, what: str, how_to_raise: str,
                   error: Callable[..., ImporterError]) -> None:
    if stat.S_ISDIR(info.st_mode):
        raise error("is a directory; pass its files or the directory alone", file=str(path))
    if not stat.S_ISREG(info.st_mode):
        raise error(f"is not a regular file (a device, a pipe or a socket); psimport reads {what} only from files",
                    file=str(path))
    if info.st_size > limit:
        raise error(f"is {_size(info.st_size)}, over the {_size(limit)} psimport reads as {what}"
                    f"{'; ' + how_to_raise if how_to_raise else ''}", file=str(path))


def _size(count: int) -> str:
    # One decimal, so a 1.46 MB file is not "1 MB, over the 1 MB limit"; a whole number of MB as it is.
    if count < MB:
        return f"{count:,} bytes"
    return f"{count // MB:,} MB" if count % MB == 0 else f"{count / MB:,.1f} MB"
