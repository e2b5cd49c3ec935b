"""Wording and text hygiene shared by messages and output: plurals, one-line text, text safe for a terminal."""

from __future__ import annotations

import re

__all__ = ["plural", "one_line", "terminal_safe"]


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """"1 rule", "3 rules"; `nouns` for a plural that is not noun + "s" ("1 category", "2 categories")."""
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"


# Control characters (C0, DEL, C1) and the Unicode line and paragraph separators: none belongs in a
# payee or memo, and a newline in one would break a table row, a YAML line or a CSV record.
_CONTROLS = re.compile(r" *[\x00-\x1f\x7f-\x9f\u2028\u2029]+ *")


def one_line(text: str) -> str:
    """`text` with each run of control characters (newlines, tabs, escapes) and the spaces around it turned
    into one space, and none at either end."""
    return _CONTROLS.sub(" ", text).strip(" ") if not text.isprintable() else text


# What a terminal would obey rather than show: escape sequences whole (CSI such as clear-screen and
# cursor moves; OSC such as a window title, a clipboard write (OSC 52) or a link (OSC 8), up to their
# terminator; DCS, SOS, PM, APC strings; two-character escapes), then any control character left
# (C0 but tab and newline, DEL, C1) and the bidirectional overrides that reorder what is shown.
_ESCAPE_SEQUENCES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]?"                 # CSI
    r"|\x1b\][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"   # OSC, to BEL or ST
    r"|\x1b[PX^_][^\x1b\x9c]*(?:\x1b\\|\x9c)?"  # DCS, SOS, PM, APC
    r"|\x1b.?", re.DOTALL)
_UNSHOWABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def terminal_safe(text: str) -> str:
    """`text` as a terminal should receive it from data: no escape sequences, no control characters but
    tab and newline. Every text psimport renders to a terminal passes through here."""
    if not _UNSHOWABLE.search(text):
        return text
    return _UNSHOWABLE.sub("", _ESCAPE_SEQUENCES.sub("", text))
