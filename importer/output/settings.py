"""What `psimport config show` prints: each setting, its value and where it came from."""

from __future__ import annotations

from typing import IO, Sequence

from importer.output.render import Column, console, print_table, write_json

__all__ = ["show_settings"]

SETTING_COLUMNS = [
    Column("name", "Setting", no_wrap=True),
    Column("value", "Value", ratio=3),
    Column("source", "From", style="dim", ratio=3),
]


def show_settings(settings: Sequence, fmt: str, out: IO[str]) -> None:
    if fmt == "json":
        write_json({"settings": [s.as_json() for s in settings]}, out)
        return
    print_table([s.as_json() for s in settings], SETTING_COLUMNS, title="Settings in effect",
                screen=console(file=out))
