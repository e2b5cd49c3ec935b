"""Writes docs/cli.md, the command reference: the `--help` of psimport and of every command under it.

    python docs/generate_cli_reference.py           # rewrite docs/cli.md from this checkout's commands
    python docs/generate_cli_reference.py --check   # exit 1 and show the diff when docs/cli.md is stale

The commands are found by walking the click group, so a new one is never missed, and the help is
rendered at a fixed width whatever the terminal, so the file is the same on every machine.
tests/test_docs.py renders it the same way and fails when docs/cli.md is stale.
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "docs" / "cli.md"
WIDTH = 100   # the commands' own max_content_width: what a wide terminal shows
COMMAND = "python docs/generate_cli_reference.py"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))   # this checkout's commands, whatever psimport is installed from

import click  # noqa: E402

from importer.cli import cli  # noqa: E402


def commands(group: click.Group = cli, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    """Every visible command under `group`, in the order they are defined, groups before their commands."""
    for name, command in group.commands.items():
        if command.hidden:
            continue
        yield path + (name,), command
        if isinstance(command, click.Group):
            yield from commands(command, path + (name,))


def help_text(path: tuple[str, ...]) -> str:
    """`psimport PATH --help` exactly as the command prints it, WIDTH columns wide."""
    from click.testing import CliRunner
    result = CliRunner().invoke(cli, [*path, "--help"], prog_name="psimport", terminal_width=WIDTH)
    if result.exit_code != 0:
        raise RuntimeError(f"psimport {' '.join(path)} --help failed:\n{result.output}")
    return result.output


def _first_paragraph(command: click.Command) -> str:
    return " ".join((command.help or "").split("\n\n")[0].split())


def _anchor(title: str) -> str:
    """The anchor GitHub gives a heading."""
    return re.sub(r"[^a-z0-9 -]", "", title.lower()).replace(" ", "-")


def reference() -> str:
    """docs/cli.md's text."""
    entries = [(("psimport",), cli)] + [(("psimport", *path), command) for path, command in commands()]
    lines = ["# psimport command reference", "",
             "Every command's `--help`, generated from the commands themselves by",
             f"`{COMMAND}`: do not edit it by hand (`tests/test_docs.py` fails",
             "when it is stale). Global options (`--api-url`, `--config`, `--state-dir`, `-v`, `--quiet`) work",
             "before or after the command.", ""]
    for words, command in entries:
        title = " ".join(words)
        lines.append(f"{'  ' * (len(words) - 1)}- [`{title}`](#{_anchor(title)}): {_first_paragraph(command)}")
    for words, _ in entries:
        title = " ".join(words)
        lines += ["", f"## {title}", "", "```text", help_text(words[1:]).rstrip("\n"), "```"]
    return "\n".join(lines) + "\n"


def stale_diff(expected: str | None = None) -> str:
    """The diff from docs/cli.md to what the commands say now; empty when it is up to date."""
    expected = reference() if expected is None else expected
    current = REFERENCE.read_text(encoding="utf-8") if REFERENCE.is_file() else ""
    return "".join(difflib.unified_diff(current.splitlines(keepends=True), expected.splitlines(keepends=True),
                                        "docs/cli.md", "the commands' --help now"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="Only compare; exit 1 with the diff when stale.")
    args = parser.parse_args(argv)
    expected = reference()
    diff = stale_diff(expected)
    if args.check:
        if diff:
            print(f"docs/cli.md is stale; run: {COMMAND}\n{diff}", end="")
            return 1
        print("docs/cli.md is up to date.")
        return 0
    REFERENCE.write_text(expected, encoding="utf-8")
    print(f"Wrote {REFERENCE.relative_to(ROOT)} ({sum(1 for _ in commands()) + 1} commands)"
          + ("" if diff else ", unchanged") + ".")
    return 0


if __name__ == "__main__":
    sys.exit(main())
