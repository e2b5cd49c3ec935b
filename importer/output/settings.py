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
    import textwrap

    from importer.output.render import screen_width
    width = max(len(s.name) for s in settings) + 2
    screen = max(screen_width(), width + 30)
    for setting in settings:
        # Value and source wrap at their spaces under themselves; a path (one word) is never broken.
        value = textwrap.wrap(str(setting.value), screen - width, break_long_words=False,
                              break_on_hyphens=False) or [""]
        source = textwrap.wrap(f"← {setting.source}", screen - width, subsequent_indent="  ",
                               break_long_words=False, break_on_hyphens=False) or ["←"]
        out.write(f"{setting.name:<{width}}{value[0]}\n")
        out.write("".join(f"{'':<{width}}{line}\n" for line in [*value[1:], *source]))
