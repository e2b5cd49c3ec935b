"""The error hierarchy: every deliberate failure a user can act on.

    ImporterError(message, file=None, line=None)
    ├── InputError      bad statement, unknown format or mapping: names file and line
    ├── ConfigError     bad rules.yaml or config, unknown category, missing key
    ├── Busy            another run holds the lock (of the state dir, or of an inbox): try again later
    └── ApiError        PocketSmith refused or was unreachable (status, path; key redacted)
        └── AmbiguousWrite   outcome unknown; settled by looking it up, never re-sent

The CLI prints an ImporterError as one line on stderr and exits non-zero; anything
else is a bug and keeps its traceback.
"""

from __future__ import annotations

__all__ = ["ImporterError", "InputError", "ConfigError", "Busy", "ApiError", "AmbiguousWrite", "did_you_mean", "every_problem", "looked_up"]


class ImporterError(Exception):
    """A failure the user can fix; `str()` is the whole message, with file and line."""

    exit_code = 1

    def __init__(self, message: str, file: str | None = None, line: int | None = None):
        self.message = message
        self.file = str(file) if file is not None else None
        self.line = line
        super().__init__(self.__str__())

    def __str__(self) -> str:
        if self.file is None:
            return self.message
        where = self.file if self.line is None else f"{self.file}, line {self.line}"
        return f"{where}: {self.message}"


class InputError(ImporterError):
    """A statement file that cannot be read as given."""

    exit_code = 2


class ConfigError(ImporterError):
    """A configuration, mapping or rules problem, or a missing credential."""

    exit_code = 3


class Busy(ImporterError):
    """Another psimport run holds the lock this one needs; nothing was done, and trying again later is the fix."""

    exit_code = 75      # EX_TEMPFAIL: what cron wrappers and shell scripts read as "try again later"


class ApiError(ImporterError):
    """PocketSmith (or the sandbox) refused a request or could not be reached."""

    exit_code = 4

    def __init__(self, message: str, status: int | None = None, method: str | None = None,
                 path: str | None = None):
        self.status = status
        self.method = method
        self.path = path
        super().__init__(message)


class AmbiguousWrite(ApiError):
    """A create was sent but no answer came back: it may or may not exist now."""


def did_you_mean(word, choices) -> str:
    """" (did you mean 'x'?)" for a near miss among `choices`, else "": for messages about typos."""
    import difflib
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def every_problem(errors: list[ConfigError], path: str | None) -> ConfigError:
    """One error for all of a file's problems, each on its own line as `file, line N: ...`."""
    if len(errors) == 1:
        return errors[0]
    listed = "\n".join(f"  {error}" for error in errors)
    return ConfigError(f"{len(errors)} problems:\n{listed}", file=path)


def looked_up(check, path, error: type[ImporterError] = InputError):
    """`check()` (a path's exists(), is_dir(), is_file()), or `error` naming the path when the system cannot
    even look at it: a name over 255 characters, a path too long, a folder it may not enter."""
    import errno
    try:
        return check()
    except OSError as exc:
        why = ("a name in it is longer than the system allows (255 characters); use a shorter name"
               if exc.errno == errno.ENAMETOOLONG else f"the system cannot look at it ({exc.strerror})")
        raise error(f"cannot use this path: {why}", file=str(path)) from None
