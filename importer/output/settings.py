"""What `psimport config show` prints: each setting, its value and where it came from."""

from __future__ import annotations

from typing import IO, Sequence

from importer.output.render import write_json

__all__ = ["show_settings"]


def show_settings(settings: Sequence, fmt: str, out: IO[str]) -> None:
    """JSON, or a line per setting with where it came from under it: paths are never cut or wrapped mid-name."""
    if fmt == "json":
        write_json({"settings": [s.as_json() for s in settings]}, out)
        return
    width = max(len(s.name) for s in settings) + 2
    for setting in settings:
        out.write(f"{setting.name:<{width}}{setting.value}\n{'':<{width}}← {setting.source}\n")
