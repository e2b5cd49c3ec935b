"""The formats every command shares: rich tables fitted to the screen, CSV, JSON, JSON lines, a progress bar."""

from __future__ import annotations

import csv
import functools
import json
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any, Callable, Iterable, Iterator, Sequence

__all__ = ["Column", "to_jsonable", "dumps", "write_json", "write_jsonl", "write_csv", "print_table", "table",
           "table_lines", "left_out", "fit_text", "screen_width", "spreadsheet_safe", "console", "progress_bar", "fit_to_screen"]

@dataclass(frozen=True)
class Column:
    """One column of tabular output: a key into the row dict (or a function of the row), a heading, and styling.

    `min_screen` is what makes a table read well at 80 columns and better wider: a column with
    one is shown only on a screen at least that wide.
    """

    key: str
    heading: str | None = None
    justify: str = "left"
    style: str | None = None
    max_width: int | None = None
    no_wrap: bool = False       # one line, cut with an ellipsis: dates, amounts, long memos
    ratio: int | None = None    # share of the spare width, for the text columns
    min_screen: int = 0         # shown only on screens at least this many columns wide
    hide_empty: bool = False    # left out when no row has anything in it
    value: Callable[[dict], Any] | None = None   # the cell, from the row (default: row[key])

    @property
    def title(self) -> str:
        return self.heading or self.key.replace("_", " ").title()

    def cell(self, row: dict) -> Any:
        return self.value(row) if self.value is not None else row.get(self.key)


def left_out(shown: int, total: int, what: str = "rows", formats: str = "json/csv") -> str:
    """What a bounded table says under itself: how many rows it left out, and how to see them."""
    return f"first {shown:,} of {total:,} {what}; --all, or --format {formats} for everything"


def to_jsonable(value: Any) -> Any:
    """Money as a decimal string, dates as ISO dates; JSON has no Decimal and we never use float."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if hasattr(value, "_asdict"):
        return value._asdict()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(value: Any, indent: int | None = None) -> str:
    return json.dumps(value, default=to_jsonable, ensure_ascii=False, indent=indent)


def write_json(value: Any, out: IO[str]) -> None:
    out.write(dumps(value, indent=2))
    out.write("\n")


def write_jsonl(rows: Iterable[dict], out: IO[str]) -> None:
    """One JSON object a line, streamed."""
    encode = json.JSONEncoder(default=to_jsonable, ensure_ascii=False).encode
    write = out.write
    for row in rows:
        write(encode(row))
        write("\n")


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """Stop a spreadsheet reading a cell as a formula (CSV injection); plain numbers stay numbers."""
    if not isinstance(value, str) or not value.startswith(_FORMULA_STARTS):
        return value
    try:
        Decimal(value)
        return value
    except ArithmeticError:
        return "'" + value
    except ValueError:
        return "'" + value


def write_csv(rows: Iterable[dict], columns: Sequence[Column], out: IO[str]) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([c.key for c in columns])
    for row in rows:
        writer.writerow([spreadsheet_safe(_csv_cell(c.cell(row))) for c in columns])


def _csv_cell(value: Any) -> str:
    # A blank cell would read as "unknown" in a spreadsheet; a CSV says false outright, as JSON does.
    if isinstance(value, bool):
        return "true" if value else "false"
    return _cell_text(value)


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def console(stderr: bool = False, file: IO[str] | None = None):
    """A rich Console (stdout, stderr or `file`) that ends quietly when its reader goes away (`| head`)."""
    return _console_class()(stderr=stderr, file=file, highlight=False)


@functools.lru_cache(maxsize=None)
def _console_class():
    from rich.console import Console

    class PipeFriendlyConsole(Console):
        def _render_buffer(self, buffer) -> str:
            # The output boundary: what rich sends to the terminal, after layout and before styling.
            return super()._render_buffer(_terminal_safe_segments(buffer))

        def on_broken_pipe(self) -> None:
            # rich would exit 1 here; the CLI ends a closed pipe with 0, as JSON and CSV output do.
            self.quiet = True
            raise BrokenPipeError()

    return PipeFriendlyConsole


def _terminal_safe_segments(segments: Iterable[Any]) -> Iterator[Any]:
    """Rich's segments with the text of each made terminal_safe and no links: the escape codes left
    are the ones rich writes itself (styles, cursor moves) and never a payee's or a file name's.

    psimport prints no links of its own, so a link can only come from data (`[link=...]` in a payee
    read as markup), and it goes too.
    """
    from rich.segment import Segment

    from importer.text import terminal_safe
    for text, style, control in segments:
        if control:
            yield Segment(text, style, control)
            continue
        if style is not None and style.link:
            style = style.update_link(None)
        yield Segment(terminal_safe(text), style)


def print_table(rows: Sequence[dict], columns: Sequence[Column], *, screen: Any, title: Any = None,
                row_style: Callable[[dict], str | None] | None = None, caption: str | None = None,
                compact: bool = False, style: str | None = None) -> None:
    """A rich table printed on `screen`, a rich Console (`console(file=out)`): see `table`."""
    screen.print(table(rows, columns, screen=screen, title=title, row_style=row_style, caption=caption,
                       compact=compact, style=style))


def table(rows: Sequence[dict], columns: Sequence[Column], *, screen: Any, title: Any = None,
          row_style: Callable[[dict], str | None] | None = None, caption: str | None = None,
          compact: bool = False, style: str | None = None, width: int | None = None) -> Any:
    """A rich Table of `rows` fitted to the screen (or `width`): the columns this width shows, one line a row.

    When the table is wider than the screen, the columns with a `ratio` share what the others
    leave, so a no_wrap text column is cut with an ellipsis instead of every row wrapping.
    `compact` drops the vertical rules and the outer edge: at 80 columns that is a payee's worth of room.
    """
    from rich import box
    from rich.table import Table
    width = width or screen.width
    shown = [c for c in columns if c.min_screen <= width]
    cells = [[c.cell(row) for c in shown] for row in rows]
    keep = [i for i, c in enumerate(shown) if not c.hide_empty or any(_cell_text(r[i]) for r in cells)]
    layout = dict(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, collapse_padding=True) if compact else {}
    result = Table(title=title, caption=caption, header_style="bold", title_justify="left",
                   caption_justify="left", style=style, **layout)
    for i in keep:
        c = shown[i]
        result.add_column(c.title, justify=c.justify, style=c.style, max_width=c.max_width, ratio=c.ratio,
                          no_wrap=c.no_wrap, overflow="ellipsis" if c.no_wrap else "fold")
    for row, values in zip(rows, cells):
        result.add_row(*(_cell_text(values[i]) for i in keep), style=row_style(row) if row_style else style)
    fit_to_screen(result, screen, width)
    return result


def table_lines(rows: Sequence[dict], columns: Sequence[Column], **options: Any) -> list[str]:
    """`table` as plain lines of text at the screen's width, for output that is printed a line at a time."""
    import io
    text = io.StringIO()
    screen = console(file=text)
    screen.print(table(rows, columns, screen=screen, **options))
    return [line.rstrip() for line in text.getvalue().splitlines()]


def fit_to_screen(rich_table: Any, screen: Any, width: int | None = None) -> None:
    """Shrink a too-wide table's ratio columns until it fits the screen (or `width`); the others keep their width.

    Each ratio column gets what its text needs or its ratio's share of the room left, whichever
    is less, and what a column does not need goes to the others (rich's own `ratio` would
    stretch every table to the full width and hand short columns room they cannot use).
    """
    flexible = [column for column in rich_table.columns if column.ratio]
    if not flexible:
        return
    unlimited = screen.options.update(width=10**6, max_width=10**6)
    natural = screen.measure(rich_table, options=unlimited).maximum
    width = width or screen.width
    if natural <= width:
        return
    need = {id(column): max([screen.measure(cell, options=unlimited).maximum
                             for cell in (column.header, *column.cells)] or [1]) for column in flexible}
    room = width - (natural - sum(need.values()))
    widths: dict[int, int] = {}
    waiting = list(flexible)
    while waiting:
        share = max(room, 0) / sum(column.ratio for column in waiting)
        fits = [column for column in waiting if need[id(column)] <= share * column.ratio]
        if not fits:
            for column in waiting:
                widths[id(column)] = max(1, int(share * column.ratio))
            for column in waiting[:max(0, room - sum(widths[id(c)] for c in waiting))]:
                widths[id(column)] += 1     # the columns' rounding remainders
            break
        for column in fits:
            widths[id(column)] = need[id(column)]
            room -= need[id(column)]
            waiting.remove(column)
    for column in flexible:
        column.width = widths[id(column)]


def screen_width() -> int:
    """The terminal's width as rich sees it ($COLUMNS first, else the terminal's, else 80), piped or not."""
    import io
    return console(file=io.StringIO()).width


def fit_text(text: str, width: int | None = None) -> str:
    """A line of prose word-wrapped to the screen, each further line indented two spaces.

    A command psimport prints for the user to run (from " psimport " to the end) starts a line
    of its own when it does not fit after the prose, and when it does not fit on one line either,
    it is broken between its arguments with a shell continuation (" \\"), so that pasted
    whole it is still the one command.
    """
    import shlex
    import textwrap

    from rich.cells import cell_len
    width = width or screen_width()
    if cell_len(text) <= width:
        return text
    command = ""
    at = text.find(" psimport ")
    if at >= 0 and "`" not in text[at:]:
        text, command = text[:at], text[at + 1:]
    lines = textwrap.wrap(text, width, subsequent_indent="  ", break_long_words=False, break_on_hyphens=False)
    if not command:
        return "\n".join(lines)
    if cell_len(lines[-1]) + 1 + cell_len(command) <= width:
        lines[-1] += " " + command
        return "\n".join(lines)
    words = [shlex.quote(word) for word in shlex.split(command)]
    lines.append("  " + words[0])
    for word in words[1:]:
        if cell_len(lines[-1]) + 1 + cell_len(word) + 2 <= width:     # room for the word and a " \\"
            lines[-1] += " " + word
        else:
            lines[-1] += " \\"
            lines.append("    " + word)
    return "\n".join(lines)


@contextmanager
def progress_bar(label: str, shown: bool = True) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar on stderr, driven by the `(done, total)` callback it yields; silent unless `shown`."""
    if not shown:
        yield lambda done, total: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
    bar = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                   console=console(stderr=True), transient=False)
    task = bar.add_task(label, total=None)
    bar.start()
    try:
        yield lambda done, total: bar.update(task, completed=done, total=total)
    finally:
        bar.stop()
