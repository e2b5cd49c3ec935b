"""The `psimport` command line: click commands that parse options, call the library, and render.

Global options (--api-url, --config, --state-dir, -v, --quiet) work before or after the
subcommand. Heavy libraries are imported inside the commands so `psimport --help` stays fast.
"""

from __future__ import annotations

import functools
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import click

from importer.errors import ImporterError

EXAMPLES_MARK = "\b\nExamples:"


@dataclass
class State:
    """What the global options said, wherever on the command line they were given."""

    api_url: str | None = None
    config_path: str | None = None
    state_dir_opt: str | None = None
    verbose: int = 0
    quiet: bool = False
    _config: object = field(default=None, repr=False)

    @property
    def config(self):
        if self._config is None:
            from importer.config import load_config
            self._config = load_config(self.config_path)
        return self._config

    @property
    def state_dir(self) -> Path:
        from importer.config import default_state_dir
        path = Path(self.state_dir_opt) if self.state_dir_opt else default_state_dir()
        return path

    def client(self, sandbox: bool = False):
        """The PocketSmith client for this run: the real API, or an embedded sandbox with --sandbox."""
        raise NotImplementedError("the API client arrives with issue 3")

    @property
    def resolved_api_url(self) -> str:
        from importer.config import DEFAULT_API_URL
        return self.api_url or os.environ.get("POCKETSMITH_API_URL") or DEFAULT_API_URL


def _remember(attr: str):
    def callback(ctx: click.Context, param: click.Parameter, value):
        if value in (None, 0, False):
            return value
        state = ctx.ensure_object(State)
        if attr == "verbose":
            state.verbose += value
        else:
            setattr(state, attr, value)
        return value
    return callback


_GLOBAL_OPTIONS = [
    click.option("--api-url", metavar="URL", expose_value=False, callback=_remember("api_url"),
                 help="PocketSmith API base URL [env POCKETSMITH_API_URL; default https://api.pocketsmith.com/v2]."),
    click.option("--config", metavar="FILE", expose_value=False, callback=_remember("config_path"),
                 help="Config file (YAML). Default: ./psimport.yaml, then the user config dir."),
    click.option("--state-dir", metavar="DIR", expose_value=False, callback=_remember("state_dir_opt"),
                 help="Where the journal lives [env PSIMPORT_STATE_DIR; default the user data dir]."),
    click.option("-v", "--verbose", count=True, expose_value=False, callback=_remember("verbose"),
                 help="Log each request (key redacted)."),
    click.option("--quiet", is_flag=True, expose_value=False, callback=_remember("quiet"),
                 help="Print only results and errors."),
]


def global_options(command):
    for option in reversed(_GLOBAL_OPTIONS):
        command = option(command)
    return command


def format_option(*choices: str, default: str = "table"):
    """The one `--format` choice a command offers."""
    return click.option("--format", "fmt", type=click.Choice(choices), default=default, show_default=True,
                        help="Output format.")


def sandbox_option(command):
    return click.option("--sandbox", is_flag=True,
                        help="Use an embedded local PocketSmith sandbox (demo data) instead of PocketSmith.")(command)


class PsimportGroup(click.Group):
    """Turns ImporterError into one clear stderr line and a non-zero exit; bugs keep their traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ImporterError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except BrokenPipeError:
            # `psimport parse ... | head` closed the pipe: end quietly.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            ctx.exit(0)


@click.group(cls=PsimportGroup, context_settings={"help_option_names": ["-h", "--help"],
                                                  "max_content_width": 100})
@global_options
@click.version_option(package_name="pocketsmith-importer", prog_name="psimport")
def cli():
    """Import bank statements (OFX/QFX/QBO, QIF, CSV) into PocketSmith.

    Files are parsed, matched against what PocketSmith already holds, categorised by
    your rules.yaml, previewed, and only then created, exactly once.

    \b
    Try it without an account, against a local sandbox:
      psimport import sample_statements/ --sandbox --yes
    \b
    Your own bank:
      export POCKETSMITH_DEVELOPER_KEY=...
      psimport preview statement.ofx --account 123456
    """
    click.get_current_context().ensure_object(State)


def main() -> None:
    cli(prog_name="psimport")


def pass_state(f):
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        return f(click.get_current_context().ensure_object(State), *args, **kwargs)
    return wrapper


# ─── parse ────────────────────────────────────────────────────────────────────────────────────

@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--mapping", metavar="NAME|FILE", help="CSV layout: a built-in mapping name or a mapping YAML file.")
@click.option("--date-order", type=click.Choice(["dmy", "mdy", "ymd"]),
              help="Day/month order when the file cannot tell (QIF, CSV).")
@format_option("table", "json", "jsonl", "csv")
@global_options
@pass_state
def parse(state: State, files, mapping, date_order, fmt):
    """Read statement files and show their transactions, without touching PocketSmith.

    A directory means every statement file in it.

    \b
    Examples:
      psimport parse statement.ofx
      psimport parse sample_statements/ --format json
      psimport parse export.csv --mapping cba --format csv > cba.csv
    """
    from importer.parsers import ParseOptions, parse_paths
    from importer import views
    options = ParseOptions(mapping=mapping, date_order=date_order or state.config.date_order,
                           mapping_dirs=state.config.mapping_dirs)
    statements = parse_paths(files, options)
    views.show_statements(statements, fmt, sys.stdout)
