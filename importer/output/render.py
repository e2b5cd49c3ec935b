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

__all__ = ["Column", "to_jsonable", "dumps", "write_json", "write_jsonl", "write_csv", "print_table",
           "spreadsheet_safe", "console", "progress_bar", "fit_to_screen"]


@dataclass(frozen=True)
class Column:
    """One column of tabular output: a key into the row dict, a heading, and table styling."""

    key: str
    heading: str | None = None
    justify: str = "left"
    style: str | None = None
    max_width: int | None = None
    no_wrap: bool = False       # one line, cut with an ellipsis: dates, amounts, long memos
    ratio: int | None = None    # share of the spare width, for the text columns

    @property
    def title(self) -> str:
        return self.heading or self.key.replace("_", " ").title()


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
        writer.writerow([spreadsheet_safe(_csv_cell(row.get(c.key))) for c in columns])


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
        def on_broken_pipe(self) -> None:
            # rich would exit 1 here; the CLI ends a closed pipe with 0, as JSON and CSV output do.
            self.quiet = True
            raise BrokenPipeError()

    return PipeFriendlyConsole


def print_table(rows: Iterable[dict], columns: Sequence[Column], *, screen: Any, title: str | None = None,
                row_style: Callable[[dict], str | None] | None = None, caption: str | None = None,
                compact: bool = False) -> None:
    """A rich table printed on `screen`, a rich Console (`console(file=out)`).

    When the table is wider than the screen, the columns with a `ratio` share what the others
    leave, so a no_wrap text column is cut with an ellipsis instead of every row wrapping.
    """
    from rich import box
    from rich.table import Table
    # compact: no vertical rules and no edge padding; at 80 columns that is a file name's worth of room.
    style = dict(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True) if compact else {}
    table = Table(title=title, caption=caption, header_style="bold", title_justify="left",
                  caption_justify="left", **style)
    for c in columns:
        table.add_column(c.title, justify=c.justify, style=c.style, max_width=c.max_width, ratio=c.ratio,
                         no_wrap=c.no_wrap, overflow="ellipsis" if c.no_wrap else "fold")
    for row in rows:
        table.add_row(*(_cell_text(row.get(c.key)) for c in columns),
                      style=row_style(row) if row_style else None)
    fit_to_screen(table, screen)
    screen.print(table)


def fit_to_screen(table: Any, screen: Any) -> None:
    """Shrink a too-wide table's ratio columns until it fits the screen; the other columns keep their width.

    Each ratio column gets what its text needs or its ratio's share of the room left, whichever
    is less, and what a column does not need goes to the others (rich's own `ratio` would
    stretch every table to the full width and hand short columns room they cannot use).
    """
    flexible = [column for column in table.columns if column.ratio]
    if not flexible:
        return
    unlimited = screen.options.update(width=10**6, max_width=10**6)
    natural = screen.measure(table, options=unlimited).maximum
    if natural <= screen.width:
        return
    need = {id(column): max([screen.measure(cell, options=unlimited).maximum
                             for cell in (column.header, *column.cells)] or [1]) for column in flexible}
    room = screen.width - (natural - sum(need.values()))
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
