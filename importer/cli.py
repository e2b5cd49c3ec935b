"""The `psimport` command line: click commands that parse options, call the library, and render.

Global options (--api-url, --config, --state-dir, -v, --quiet) work before or after the
subcommand. Heavy libraries are imported inside the commands so `psimport --help` stays fast.
"""

from __future__ import annotations

import errno
import functools
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import click

from importer.errors import ConfigError, ImporterError, looked_up
from importer.text import plural

# How many rows a table shows unless --all: a screenful or two to read, and few enough that the table
# of a 200,000-row file answers in a second (rich takes about a millisecond a row).
TABLE_ROWS = 50


@dataclass
class State:
    """What the global options said, wherever on the command line they were given."""

    api_url: str | None = None
    config_path: str | None = None
    state_dir_opt: str | None = None
    verbose: int = 0
    quiet: bool = False
    demo: bool = False          # --sandbox: the demo's own demo/ folder of the state dir
    max_file_mb: int | None = None
    _config: object = field(default=None, repr=False)
    _clients: dict = field(default_factory=dict, repr=False)   # one per --sandbox value

    @property
    def config(self):
        if self._config is None:
            from importer.config import load_config
            self._config = load_config(self.config_path)
            self._config.max_file_mb = self.max_file_mb
        return self._config

    @property
    def state_dir(self) -> Path:
        """--state-dir, else PSIMPORT_STATE_DIR, else the user data dir; under --sandbox its `demo/` folder
        (whichever of the three it is), so the demo's journal and sandbox never mix with the real imports."""
        from importer.config import default_state_dir
        base = Path(self.state_dir_opt) if self.state_dir_opt else default_state_dir()
        looked_up(base.exists, base, ConfigError)   # a name over 255 characters: said, not a traceback
        return base / "demo" if self.demo or self._through_demo_server(base / "demo") else base

    def _through_demo_server(self, demo_dir: Path) -> bool:
        """Whether this run's API URL is that of a `psimport sandbox` serving the demo's data: its journal is
        then the demo's, as `--sandbox` (the same data) would keep it."""
        from importer.sandbox.embedded import demo_server_url
        serving = demo_server_url(demo_dir)
        return serving is not None and self.resolved_api_url.rstrip("/") == serving.rstrip("/")

    def client(self, sandbox: bool = False):
        """The PocketSmith client for this run: the real API, or an embedded sandbox with --sandbox.

        The sandbox serves from a daemon thread on a free loopback port, its SQLite and key under
        `state_dir/sandbox/` (apart from the journal), demo-seeded on first use. With -v each
        request is logged to stderr, key redacted.
        """
        from importer.pocketsmith.client import PocketSmith
        cache = self._clients
        if sandbox not in cache:
            log = (lambda line: _echo(f"psimport: {line}", err=True)) if self.verbose else None
            if sandbox:
                from importer.sandbox.embedded import embedded_sandbox
                server, key = embedded_sandbox(self.state_dir)
                cache[sandbox] = PocketSmith(server.url, key, log=log)
            else:
                cache[sandbox] = PocketSmith.from_env(self.resolved_api_url, log=log)
        return cache[sandbox]

    def source(self, existing, sandbox: bool = False):
        """Where a run reads what PocketSmith holds: the `--existing` export (offline), else the client."""
        if existing is not None:
            from importer.pocketsmith.export import Export
            return Export.load(existing)
        return self.client(sandbox)

    @property
    def resolved_api_url(self) -> str:
        """--api-url, else POCKETSMITH_API_URL, else the config's api_url:, else PocketSmith's."""
        from importer.settings import api_url
        return api_url(self.api_url, self.config).value


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
    (("--api-url",), dict(metavar="URL", callback=_remember("api_url"),
                          help="PocketSmith API base URL [env POCKETSMITH_API_URL, else the config's api_url:; "
                               "default https://api.pocketsmith.com/v2].")),
    (("--config",), dict(metavar="FILE", callback=_remember("config_path"),
                         help="Config file (YAML). Default: ./psimport.yaml, then the user config dir.")),
    (("--state-dir",), dict(metavar="DIR", callback=_remember("state_dir_opt"),
                            help="Where the journal lives [env PSIMPORT_STATE_DIR; default the user data dir]; "
                                 "--sandbox uses its demo/ folder.")),
    (("-v", "--verbose"), dict(count=True, callback=_remember("verbose"), help="Log each request (key redacted).")),
    (("--quiet",), dict(is_flag=True, callback=_remember("quiet"), help="Print only results and errors.")),
    (("--max-file-mb",), dict(type=click.IntRange(min=1), metavar="MB", callback=_remember("max_file_mb"),
                              help="Refuse statement files bigger than this [config max_file_mb; default 200].")),
]


def global_options(command=None, *, unused: tuple[str, ...] = ()):
    """The global options, on a command too (so they work after it). Those in `unused` the command never reads:
    still accepted there (a script may put them after any command), but left out of its --help."""
    def add(command):
        for names, settings in reversed(_GLOBAL_OPTIONS):
            command = click.option(*names, expose_value=False, hidden=names[-1] in unused, **settings)(command)
        return command
    return add(command) if command is not None else add


def format_option(*choices: str, default: str = "table"):
    """The one `--format` choice a command offers."""
    return click.option("--format", "fmt", type=click.Choice(choices), default=default, show_default=True,
                        help="Output format.")


def _remember_demo(ctx: click.Context, param: click.Parameter, value):
    if value:
        ctx.ensure_object(State).demo = True
    return value


def sandbox_option(command, help: str = "Use an embedded local PocketSmith sandbox (demo data) instead of "
                                       "PocketSmith; its journal and data are kept in STATE_DIR/demo/."):
    return click.option("--sandbox", is_flag=True, callback=_remember_demo, help=help)(command)


# Options several commands share, defined once.
_mapping_option = click.option("--mapping", metavar="NAME|FILE",
                               help="CSV (or spreadsheet) layout: a mapping name or YAML file, or `infer` to ignore "
                                    "every mapping and infer it from the file.")
_date_order_option = click.option("--date-order", type=click.Choice(["dmy", "mdy", "ymd"]),
                                  help="Day/month order when the file cannot tell (QIF, CSV).")
_sheet_option = click.option("--sheet", metavar="NAME",
                             help="The sheet of a spreadsheet statement (XLSX, XLS, ODS) to read [default: its first].")
_rules_option = click.option("--rules", "rules_path", metavar="FILE", type=click.Path(path_type=Path),
                             help="Rules file [default: the config's rules:, else ./rules.yaml if present].")
_yes_option = click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
_decisions_option = click.option(
    "--decisions", metavar="FILE.csv", type=click.Path(path_type=Path, dir_okay=False),
    help="Your decisions: a preview CSV with its `decision` column filled (create, duplicate with "
         "duplicate_of, or skip); import keeps them for later runs.")


def _echo(text: str, err: bool = False) -> None:
    """click.echo for text that carries data (file names, payees, messages quoting input): the escape and
    control characters in it never reach the terminal (rich output is made safe in importer.output.render)."""
    from importer.text import terminal_safe
    click.echo(terminal_safe(text), err=err)


_DISK_FULL = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))


def _with_run_options(message: str, state: State) -> str:
    """An error's `psimport COMMAND` hints (the library words them bare) with this run's --sandbox, --config,
    --state-dir and --api-url, where the command takes them: `psimport batches` lists the demo's batches only
    with --sandbox."""
    import re
    return re.sub(r"`psimport ((?:rules |decisions |config )?[a-z]+)`",
                  lambda found: f"`{_follow_up(state, *found.group(1).split(), sandbox=state.demo)}`", message)


class PsimportGroup(click.Group):
    """Turns ImporterError into one clear stderr line and a non-zero exit; bugs keep their traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ImporterError as exc:
            _echo(f"Error: {_with_run_options(str(exc), ctx.ensure_object(State))}", err=True)
            ctx.exit(exc.exit_code)
        except (KeyboardInterrupt, click.exceptions.Abort):
            # Ctrl-C or SIGTERM outside the writer (which stops cleanly on its own, with its own message), or
            # at a question: one line and 130, as a shell expects of an interrupted command; not "Aborted!".
            click.echo("\nInterrupted; nothing was changed by this step. Run the same command again to carry on.",
                       err=True)
            ctx.exit(130)
        except BrokenPipeError:
            # `psimport parse ... | head` closed the pipe: end quietly.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            ctx.exit(0)
        except OSError as exc:     # after BrokenPipeError, one of its kind
            if exc.errno not in _DISK_FULL:
                raise
            # Whatever file it was (an --out file, a rules file merged into): the same advice as the journal's.
            where = f" writing {exc.filename}" if exc.filename else ""
            _echo(f"Error: the disk is full{where}; free space, then run the same command again", err=True)
            ctx.exit(3)


@click.group(cls=PsimportGroup, context_settings={"help_option_names": ["-h", "--help"],
                                                  "max_content_width": 100})
@global_options
@click.version_option(package_name="pocketsmith-importer", prog_name="psimport")
def cli():
    """Import bank statements (OFX/QFX/QBO, QIF, CSV, XLSX/XLS/ODS, CAMT, MT940) into PocketSmith.

    Files are parsed, matched against what PocketSmith already holds, categorised by
    your rules.yaml, previewed, and only then created, exactly once.

    \b
    Try it without an account, against a local sandbox:
      psimport import sample_statements/ --sandbox --yes
    \b
    Your own bank:
      psimport init ~/Downloads/statements/     # key, accounts, psimport.yaml
      psimport preview ~/Downloads/statements/
    \b
    Exit status: 0 done, 1 declined, 2 bad input or usage, 3 configuration,
    4 PocketSmith, 5 import unfinished, 6 inbox file waits for you, 75 busy
    (another run holds the lock), 130 interrupted (docs/troubleshooting.md).
    """
    click.get_current_context().ensure_object(State)


def main() -> None:
    # numpy's OpenBLAS starts a thread per core as it loads, and those threads spin: on 2 cores that
    # doubles what importing numpy costs (about 100 ms of CPU instead of 50). psimport uses numpy for
    # vector sums and sorts, never for linear algebra, so one BLAS thread is all it needs; a value the
    # user set is kept.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    import signal
    # SIGTERM (kill, systemd, a cron timeout) stops psimport as Ctrl-C does: the writer finishes what is in
    # flight and journals it; anywhere else the run ends with one line and exit status 130.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    cli(prog_name="psimport")


def pass_state(f):
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        return f(click.get_current_context().ensure_object(State), *args, **kwargs)
    return wrapper


# ─── parse ────────────────────────────────────────────────────────────────────────────────────

@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@_mapping_option
@_date_order_option
@_sheet_option
@format_option("table", "json", "jsonl", "csv")
@click.option("--all", "show_all", is_flag=True,
              help=f"Table: every row (otherwise the first {TABLE_ROWS} of each statement).")
@global_options(unused=("--api-url", "--state-dir", "--verbose"))
@pass_state
def parse(state: State, files, mapping, date_order, sheet, fmt, show_all):
    """Read statement files and show their transactions, without touching PocketSmith.

    A directory means every statement file in it.

    \b
    Examples:
      psimport parse statement.ofx
      psimport parse sample_statements/ --format json
      psimport parse export.csv --mapping cba --format csv > cba.csv
    """
    from importer.output import statements as views
    from importer.pipeline import read_statements
    read = read_statements(files, config=state.config, mapping=mapping, date_order=date_order, sheet=sheet)
    if not state.quiet:
        for path in read.skipped:
            _echo(f"psimport: skipped {path}: not a statement psimport recognises", err=True)
        for line in read.notes:
            _echo(f"psimport: {line}", err=True)
    views.show_statements(read.statements, fmt, sys.stdout, limit=None if show_all else TABLE_ROWS)


# ─── preview, import, batches, undo ───────────────────────────────────────────────────────────

def _plan_options(command):
    """The options preview and import share: where rows go, which rules, how to read the files."""
    for option in reversed([
        click.option("--account", type=int, metavar="ID",
                     help="PocketSmith transaction account id, for files of a single account "
                          "(otherwise the config's accounts: list)."),
        _rules_option,
        _mapping_option,
        _date_order_option,
        _sheet_option,
        click.option("--allow-currency-mismatch", is_flag=True,
                     help="Send a statement to an account in another currency anyway: its amounts go "
                          "unconverted, as amounts in the account's currency (otherwise refused)."),
    ]):
        command = option(command)
    return command


def _run_config(state: State, sandbox: bool, demo_rules: bool = True):
    """The user's config; under --sandbox with none of their own, the demo household's (with its rules
    unless `demo_rules` is false)."""
    from importer.config import sandbox_config
    config = sandbox_config(state.config, demo_rules=demo_rules) if sandbox else state.config
    config.max_file_mb = state.max_file_mb
    return config


def _no_statements(verb: str, config) -> str:
    """Why a bare `psimport import`/`preview` has nothing to read: no inbox: in the config it found, or no config."""
    from importer.config import user_config_dir
    give = "give FILES or --inbox DIR" if verb == "import" else "give FILES"
    if config.path is not None:
        return f"no statements to {verb}: {give}, or set inbox: in {config.path}"
    return (f"no statements to {verb}: {give}; no config was found to read an inbox: from (looked for "
            f"./psimport.yaml and {user_config_dir() / 'psimport.yaml'}; `psimport init --inbox DIR` writes one)")


def _inbox_statements(state: State, sandbox: bool, verb: str) -> tuple[Path, ...]:
    """The statements waiting in the config's inbox:, for a command given no FILES."""
    from importer.errors import InputError
    from importer.inbox import inbox_files
    from importer.parsers import STATEMENT_SUFFIXES
    config = _run_config(state, sandbox)
    if config.inbox is None:
        raise InputError(_no_statements(verb, config))
    waiting = [path for path in inbox_files(config.inbox) if path.suffix.lower() in STATEMENT_SUFFIXES]
    if not waiting:
        raise InputError(f"no statements to {verb}: the inbox {config.inbox} has none waiting")
    return tuple(waiting)


def _statement_paths(state: State, files, sandbox: bool) -> list:
    """The statement paths, each checked to exist; under --sandbox, a `sample_statements/...` path that is
    not here means the installed demo statements.

    So `psimport import sample_statements/ --sandbox --yes` (the --help example) works from any folder,
    not only from a clone of the repository.
    """
    from importer.config import samples_dir
    from importer.errors import InputError
    resolved = []
    for path in files:
        parts = Path(path).parts
        exists = looked_up(Path(path).exists, path)
        if sandbox and parts and parts[0] == "sample_statements" and not exists:
            installed = samples_dir().joinpath(*parts[1:])
            if installed.exists():
                if not state.quiet:
                    from importer.output.render import fit_text
                    _echo(fit_text(f"psimport: no {path} here; using the installed sample statements: "
                                   f"{installed}"), err=True)
                path = installed
                exists = True
        if not exists:
            # Said before any PocketSmith set-up, so a missing key does not hide a mistyped file name.
            raise InputError("no such file", file=str(path))
        resolved.append(path)
    return resolved


def _target_name(state: State, sandbox: bool) -> str:
    """Where rows go, as the journal records it: "sandbox" or the API URL."""
    return "sandbox" if sandbox else state.resolved_api_url.rstrip("/")


def _follow_up(state: State, *words: str, sandbox: bool | None = None) -> str:
    """A psimport command line for the user to run next, with this run's --api-url, --config and --state-dir,
    and its --sandbox and --rules where the command printed takes them.

    Every command psimport prints for the user to run is built here, so none of them loses
    the options that say which journal, config, rules and PocketSmith it is about. An option
    given in `words` wins over this run's.
    """
    import shlex
    parts = ["psimport", *words]
    takes = _options_of(words)
    for flag, value in (("--api-url", state.api_url), ("--config", state.config_path),
                        ("--state-dir", state.state_dir_opt)):
        if value and flag not in words and flag in takes:
            parts.extend([flag, str(value)])
    ctx = click.get_current_context(silent=True)
    given = dict(ctx.params) if ctx is not None else {}
    if sandbox is not None:
        given["sandbox"] = sandbox
    if given.get("sandbox") and "--sandbox" in takes and not {"--sandbox", "--api-url"} & set(words):
        parts.append("--sandbox")
    if given.get("rules_path") and "--rules" in takes and "--rules" not in words:
        parts.extend(["--rules", str(given["rules_path"])])
    return shlex.join(parts)


def _advised(state: State, *words: str) -> str:
    """A command the library advises (a warning's `psimport review FILE`, an undo): `_follow_up`'s, and for a
    review of files, this run's --account, --mapping, --date-order, --sheet and --allow-currency-mismatch too,
    which say how to read them."""
    command = list(words)
    if command[:1] == ["review"]:
        ctx = click.get_current_context(silent=True)
        given = ctx.params if ctx is not None else {}
        for flag, name in (("--account", "account"), ("--mapping", "mapping"), ("--date-order", "date_order"),
                           ("--sheet", "sheet")):
            if given.get(name):
                command += [flag, str(given[name])]
        if given.get("allow_currency_mismatch"):
            command.append("--allow-currency-mismatch")
    return _follow_up(state, *command)


def _options_of(words) -> set[str]:
    """The option flags of the psimport command `words` start with (`undo`, `rules test`...)."""
    command: click.Command = cli
    for word in words:
        if not isinstance(command, click.Group) or word not in command.commands:
            break
        command = command.commands[word]
    # A global option the command never reads is hidden there: not worth repeating in a command to run.
    return {flag for param in command.params if not getattr(param, "hidden", False) for flag in param.opts}


def _same_command(state: State, name: str | None = None, leave_out: tuple[str, ...] = ()) -> str:
    """The command line that was run, rebuilt from its parameters, for "run this again to finish".

    `name` runs another command with the same files and options (review's import), without `leave_out`.
    """
    ctx = click.get_current_context()
    parts = [name or ctx.info_name or ""]
    for param in ctx.command.params:
        if not param.expose_value or param.name not in ctx.params or param.name in leave_out:
            continue
        value = ctx.params[param.name]
        if isinstance(param, click.Argument):
            parts.extend(str(v) for v in (value if isinstance(value, (list, tuple)) else [value]))
        elif value not in (None, False, ()) and value != param.default:
            flag = max(param.opts, key=len)
            parts.extend([flag] if getattr(param, "is_flag", False) else [flag, str(value)])
    return _follow_up(state, *parts)


_DECLINED = {"importing": "Nothing was imported.", "deleting": "Nothing was deleted.",
             "writing a mapping": "No mapping was written.",
             "creating category rules": "No category rules were created.",
             "forgetting decisions": "No decision was forgotten."}


def _can_ask() -> bool:
    return sys.stdin.isatty()


def _yes_or_no(question: str, default: bool) -> bool:
    """A y/N question on the terminal (stderr). click.confirm answers anything but y or n with a bare
    "Error: invalid input"; this says what to type, and asks again."""
    def answer(text: str) -> bool:
        folded = text.strip().casefold()
        if folded in ("y", "yes"):
            return True
        if folded in ("n", "no"):
            return False
        raise click.BadParameter(f"'{text.strip()}' is neither yes nor no: type y (yes) or n (no), then Enter")
    return click.prompt(question, default="y" if default else "n", show_default=False, value_proc=answer,
                        prompt_suffix=" [Y/n]: " if default else " [y/N]: ", err=True)


def _confirm(question: str, yes: bool, action: str) -> None:
    """Go ahead on --yes or a "y"; a "n" says nothing changed and exits 1 (not click's "Aborted!")."""
    from importer.errors import ConfigError
    if yes:
        return
    if not _can_ask():
        raise ConfigError(f"not {action} without confirmation, and there is no terminal to ask on; "
                          "pass --yes to go ahead")
    if not _yes_or_no(question, default=False):
        click.echo(_DECLINED.get(action, "Nothing was changed."), err=True)
        raise click.exceptions.Exit(1)


class _TerminalUi:
    """How an import or undo talks to the user (importer.write.batches.Ui): results on stdout, questions on stderr."""

    def __init__(self, state: State, yes: bool, summary: bool = True):
        self.state = state
        self.yes = yes
        self.summary = summary      # review has just shown it

    def say(self, text: str) -> None:
        from importer.output.render import fit_text
        _echo(fit_text(text))

    def note(self, text: str) -> None:
        if not self.state.quiet:
            self.say(text)

    def show_summary(self, plan, title: str) -> None:
        if self.summary and not self.state.quiet:
            from importer.output.preview import print_summary
            print_summary(plan, sys.stdout, title=title)

    def confirm(self, question: str, action: str) -> None:
        _confirm(question, self.yes, action)

    def command(self, *words: str) -> str:
        return _advised(self.state, *words)

    def progress(self, label: str):
        from importer.output.render import progress_bar
        return progress_bar(label, shown=not self.state.quiet and sys.stderr.isatty())


@cli.command()
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@_plan_options
@click.option("--existing", metavar="FILE.json", type=click.Path(path_type=Path),
              help="Compare with this export (a JSON array of PocketSmith transactions) instead of the API: offline.")
@format_option("table", "json", "csv", "html")
@click.option("--out", metavar="FILE", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the preview to FILE instead of standard output.")
@click.option("--all", "show_all", is_flag=True,
              help=f"Table: every row, the duplicates too (otherwise the first {TABLE_ROWS} of each account's "
                   "creates, reviews and skips, and the duplicates as a count).")
@_decisions_option
@click.option("--enrich", is_flag=True,
              help="Table: also show, per row, what `import --enrich` would fill into the PocketSmith "
                   "transaction it duplicates (JSON and CSV rows always carry it as `enrich`).")
@sandbox_option
@global_options
@pass_state
def preview(state: State, files, account, rules_path, mapping, date_order, sheet, allow_currency_mismatch, existing,
            fmt, out, show_all, decisions, enrich, sandbox):
    """Show exactly what an import would do, writing nothing (no FILES: the statements in the inbox).

    Every row is `create`, `duplicate` (already in PocketSmith, or imported before), `review`
    (possibly there already: `psimport review` decides each) or `skip` (a rule or your
    decision said to ignore it), with its category, labels and the transaction it matched. The table
    shows one line per row, fitted to the terminal (a wider one shows more columns), the first
    rows of each kind, and counts the duplicates (--all lists every row); JSON, CSV and HTML
    have every row in full.

    \b
    Examples:
      psimport preview sample_statements/ --sandbox
      psimport preview sample_statements/ --sandbox --all
      psimport preview statement.ofx --account 123456 --rules rules.yaml
      psimport preview statement.ofx --account 123456 --existing export.json
      psimport preview sample_statements/ --sandbox --format html --out p.html
      psimport preview sample_statements/ --sandbox --decisions plan.csv --enrich
    """
    from importer.errors import InputError
    from importer.output.preview import show_plan
    from importer.write.batches import preview_plan
    if out is not None and not out.absolute().parent.is_dir():    # said before the plan is worked out, not after
        raise InputError("cannot write the preview there (no such folder)", file=str(out))
    if not files:
        files = _inbox_statements(state, sandbox, "preview")
    paths = _statement_paths(state, files, sandbox)
    plan = preview_plan(paths, state_dir=state.state_dir, config=_run_config(state, sandbox),
                        source=state.source(existing, sandbox),
                        target="" if existing is not None else _target_name(state, sandbox), account=account,
                        rules_path=rules_path, mapping=mapping, date_order=date_order, decisions_csv=decisions,
                        allow_currency_mismatch=allow_currency_mismatch, sheet=sheet,
                        command=functools.partial(_advised, state))
    limit = None if show_all else TABLE_ROWS
    if (fmt != "table" or out is not None) and not state.quiet:
        # The table shows them in its summary; JSON, CSV and HTML readers see them here too.
        from importer.parsers.csv.infer import INFERRED
        for warning in plan.warnings:
            if INFERRED in warning:
                _echo(f"psimport: {warning}", err=True)
    if enrich and fmt == "table" and out is None:
        from importer.output.decisions import show_enrichment
        show_plan(plan, fmt, sys.stdout, show_all=show_all, limit=limit)
        show_enrichment(plan, sys.stdout, limit=limit)
        return
    if out is not None:
        try:
            handle = open(out, "w", encoding="utf-8", newline="")
        except OSError as exc:
            raise InputError(f"cannot write the preview there ({exc.strerror})", file=str(out)) from None
        with handle:
            show_plan(plan, fmt, handle, show_all=show_all, limit=limit)
        if not state.quiet:
            _echo(f"Wrote the {fmt} preview of {len(plan.rows)} rows to {out}", err=True)
    else:
        show_plan(plan, fmt, sys.stdout, show_all=show_all, limit=limit)


@cli.command("import")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--inbox", metavar="DIR", type=click.Path(path_type=Path, file_okay=False),
              help="Import every statement in DIR the config routes, one batch a file, and move each finished "
                   "one to DIR/imported/YYYY-MM/ [default with no FILES: the config's inbox:].")
@_plan_options
@_yes_option
@click.option("--concurrency", type=click.IntRange(1, 64), default=None, metavar="N",
              help="Requests in flight at most (default 32: it starts at 16 and grows while PocketSmith "
                   "keeps up); fewer when PocketSmith says 429.")
@click.option("--accept-review", is_flag=True,
              help="Also create every row for review, unseen (flagged needs_review), those PocketSmith holds "
                   "already too; kept as a decision until this batch is undone. `psimport review` decides each "
                   "instead.")
@_decisions_option
@click.option("--enrich", is_flag=True,
              help="Also fill the empty fields (memo, note, labels, category, cheque number) of the PocketSmith "
                   "transactions rows duplicate, with what the statement and rules add; undo empties them again.")
@sandbox_option
@global_options
@pass_state
def import_(state: State, files, inbox, account, rules_path, mapping, date_order, sheet, allow_currency_mismatch, yes,
            concurrency, accept_review, decisions, enrich, sandbox):
    """Create the new transactions in PocketSmith, each exactly once.

    Computes the same plan as `preview`, shows its summary, asks, then creates the rows to
    create (and, with --accept-review, those for review). Every row is journaled before and
    after its request: if the run is interrupted (Ctrl-C, a crash, the network), run the same
    command again and it finishes the batch, creating nothing twice. Importing the same files
    again later creates nothing.

    With --inbox DIR (or `inbox:` in psimport.yaml and no FILES) each statement in DIR is its own
    batch, and a file whose rows are all in PocketSmith now moves to DIR/imported/YYYY-MM/. Safe
    from cron: without a terminal it asks nothing and prints one summary line; exit status 0
    when nothing is left for a person, 6 when a file stays (the summary says why), 75 when
    another run holds the inbox.

    \b
    Examples:
      psimport import sample_statements/ --sandbox --yes
      psimport import statement.ofx --account 123456 --rules rules.yaml
      psimport import statement.ofx --decisions plan.csv --enrich
      psimport import --inbox ~/statements/inbox --yes
    """
    from importer.errors import InputError
    if inbox is None and not files and not account:
        inbox = _run_config(state, sandbox).inbox
    if inbox is not None:
        if files or decisions:
            raise InputError("give statement FILES or --inbox DIR, not both" if files else
                             "--decisions is for the plan of the files it was made from; not with --inbox")
        return _import_inbox(state, inbox, rules_path=rules_path, mapping=mapping, date_order=date_order, yes=yes,
                             concurrency=concurrency, accept_review=accept_review, enrich=enrich, sandbox=sandbox,
                             sheet=sheet, allow_currency_mismatch=allow_currency_mismatch)
    if not files:
        raise InputError(_no_statements("import", _run_config(state, sandbox)))
    _run_import(state, files, sandbox, yes=yes, again=_same_command(state), account=account, rules_path=rules_path,
                mapping=mapping, date_order=date_order, accept_review=accept_review, concurrency=concurrency,
                decisions_csv=decisions, enrich=enrich, sheet=sheet, allow_currency_mismatch=allow_currency_mismatch)


def _run_import(state: State, files, sandbox: bool, *, yes: bool, again: str, summary: bool = True,
                **options) -> None:
    """An import and what it prints: `import`, and `review` when the person says to import at the end."""
    from importer.output.batches import import_result_lines
    from importer.write.batches import run_import
    ui = _TerminalUi(state, yes, summary)
    result = run_import(_statement_paths(state, files, sandbox), client=state.client(sandbox),
                        config=_run_config(state, sandbox), state_dir=state.state_dir,
                        target=_target_name(state, sandbox), ui=ui, again=again, **options)
    for line, is_result in import_result_lines(result, ui.command("undo", result.batch_id or ""),
                                               ui.command("review", *map(str, files))):
        (ui.say if is_result else ui.note)(line)


class _InboxUi(_TerminalUi):
    """An inbox run: on a terminal, each file's import as usual; from cron (no terminal), nothing but the summary,
    and no questions (running it unattended is the go-ahead)."""

    def __init__(self, state: State, yes: bool):
        self.attended = _can_ask() and sys.stdout.isatty()
        super().__init__(state, yes or not _can_ask())

    def say(self, text: str) -> None:
        if self.attended:
            super().say(text)

    def show_summary(self, plan, title: str) -> None:
        if self.attended:
            super().show_summary(plan, title)


def _import_inbox(state: State, inbox: Path, *, rules_path, mapping, date_order, yes, concurrency, accept_review,
                  enrich, sandbox, sheet=None, allow_currency_mismatch=False) -> None:
    from importer.inbox import NEEDS_A_PERSON_EXIT, run_inbox
    import textwrap

    from importer.output.batches import import_result_lines, inbox_lines
    from importer.output.render import fit_text, screen_width
    from importer.write.batches import run_import
    ui = _InboxUi(state, yes)
    config, client = _run_config(state, sandbox), state.client(sandbox)
    again = _same_command(state)

    def import_file(path: Path):
        result = run_import([path], client=client, config=config, state_dir=state.state_dir,
                            target=_target_name(state, sandbox), ui=ui, again=again, rules_path=rules_path,
                            mapping=mapping, date_order=date_order, accept_review=accept_review,
                            concurrency=concurrency, enrich=enrich, sheet=sheet,
                            allow_currency_mismatch=allow_currency_mismatch)
        for line, is_result in import_result_lines(result, ui.command("undo", result.batch_id or ""),
                                                   ui.command("review", str(path))):
            (ui.say if is_result else ui.note)(line)
        return result

    def on_file(path: Path) -> None:
        ui.say(f"── {path.name}")

    result = run_inbox(inbox, config=config, client=client, import_file=import_file, on_file=on_file,
                       command=ui.command)
    summary, *per_file = inbox_lines(result)
    click.echo(fit_text(summary) if ui.attended else summary)     # unattended (cron's log): one line a run
    for line in per_file:       # "  name: why", fitted, its own further lines indented under it
        click.echo(textwrap.indent(fit_text(line.strip(), max(40, screen_width() - 2)), "  "))
    if result.needs_a_person:
        raise click.exceptions.Exit(NEEDS_A_PERSON_EXIT)


@cli.command()
@format_option("table", "json", "csv")
@click.option("--all", "show_all", is_flag=True, help=f"Table: every batch (otherwise the newest {TABLE_ROWS}).")
@functools.partial(sandbox_option, help="The demo's batches (those of --sandbox imports), kept apart from yours.")
@global_options(unused=("--api-url", "--config", "--verbose", "--quiet"))
@pass_state
def batches(state: State, fmt, show_all, sandbox):
    """List import batches: when, which files, created / skipped / refused, running, undone or not.

    \b
    Examples:
      psimport batches
      psimport batches --sandbox --all
      psimport batches --format json
    """
    from importer.output.batches import show_batches
    from importer.write.batches import list_batches
    show_batches(list_batches(state.state_dir), fmt, sys.stdout, journal_dir=state.state_dir,
                 limit=None if show_all else TABLE_ROWS)


@cli.command()
@click.argument("batch_id", metavar="BATCH")
@_yes_option
@sandbox_option
@global_options
@pass_state
def undo(state: State, batch_id, yes, sandbox):
    """Delete the transactions a batch created.

    Transactions changed in PocketSmith since the import (payee, category, labels, note...)
    are kept and listed. Undone rows may be imported again later. BATCH is an id from
    `psimport batches` (a unique prefix will do).

    \b
    Examples:
      psimport undo 20240315-142233-3fa2
      psimport undo 20240315 --yes
    """
    from importer.write.batches import run_undo
    run_undo(batch_id, state_dir=state.state_dir, client_for=state.client, sandbox=sandbox,
             target=_target_name(state, sandbox), ui=_TerminalUi(state, yes), again=_same_command(state))


# ─── review, decisions ───────────────────────────────────────────────────────────────────────

class _ReviewScreen:
    """The review on the terminal (importer.review.Screen): a screen a row, one key an answer."""

    def show(self, item, number: int, total: int) -> None:
        from importer.output.decisions import review_screen
        click.echo()
        review_screen(item, number, total, sys.stdout)

    def key(self) -> str:
        return click.getchar()

    def say(self, text: str) -> None:
        _echo(text)


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@_plan_options
@click.option("--all", "every_row", is_flag=True,
              help="Every row, not only those left for review (decided ones show their answer, to change it).")
@sandbox_option
@global_options
@pass_state
def review(state: State, files, account, rules_path, mapping, date_order, sheet, allow_currency_mismatch, every_row,
           sandbox):
    """Decide the rows left for review one by one, in the terminal; each answer is kept at once.

    Each row is shown beside its candidate PocketSmith transactions (date, amount, payee, how
    many days apart, score and reasons). Press n (new: create it), 1-9 (the same as that
    candidate), s (skip: never import it), Enter (later), b (back) or q (quit). Answers are
    kept in the journal as you give them, so quitting or Ctrl-C loses nothing: the same command
    goes on where you stopped, and later previews and imports apply them. At the end it shows
    what an import would now do and offers to run it.

    \b
    Examples:
      psimport review sample_statements/ --sandbox
      psimport review statement.ofx --account 123456
      psimport review statement.ofx --account 123456 --all
    """
    from importer.errors import ConfigError
    from importer.output.preview import print_summary
    from importer.output.render import fit_text
    from importer.review import load_review
    from importer.write.batches import preview_plan
    from importer.write.journal import Journal
    if not _can_ask():
        raise ConfigError("review asks on a terminal, and there is none here; decide in a spreadsheet instead: "
                          "`psimport preview ... --format csv --out plan.csv`, fill its decision column, then "
                          "`psimport import ... --decisions plan.csv`")
    paths = _statement_paths(state, files, sandbox)
    client, config, target = state.client(sandbox), _run_config(state, sandbox), _target_name(state, sandbox)
    again = _same_command(state)
    options = dict(account=account, rules_path=rules_path, mapping=mapping, date_order=date_order, sheet=sheet,
                   allow_currency_mismatch=allow_currency_mismatch)
    with Journal.in_state_dir(state.state_dir) as journal:
        session, _ = load_review(paths, client=client, config=config, journal=journal, target=target,
                                    every_row=every_row, **options)
        if not session.items:
            click.echo("Nothing to review: no row of these statements is left for review"
                       + (f" ({plural(session.decided_before, 'row')} decided before)." if session.decided_before
                          else "."))
        else:
            before = f"; {session.decided_before} decided before" if session.decided_before and not every_row else ""
            click.echo(f"{plural(len(session.items), 'row')} to {'go through' if every_row else 'review'}{before}. "
                       "Each answer is kept as you give it.")
            try:
                finished = session.run(_ReviewScreen())
            except KeyboardInterrupt:
                click.echo()
                click.echo(fit_text(f"Stopped: {plural(session.answered, 'answer')} kept. To go on, run: {again}"))
                raise click.exceptions.Exit(130)
            if not finished:
                click.echo(fit_text(f"Quit: {plural(session.answered, 'answer')} kept, {session.undecided} not "
                                    f"decided yet. To go on, run: {again}"))
                return
    plan = preview_plan(paths, state_dir=state.state_dir, config=config, source=client, target=target, **options)
    print_summary(plan, sys.stdout, title="What an import would now do")
    to_send = plan.to_send()
    if not to_send:
        click.echo("An import would create nothing.")
        return
    import_again = _same_command(state, "import", leave_out=("every_row",))
    if _yes_or_no(f"Import now ({plural(len(to_send), 'transaction')} to create)?", default=False):
        _run_import(state, files, sandbox, yes=True, again=import_again, summary=False, **options)
    else:
        click.echo(fit_text(f"Nothing was imported. When you are ready, run: {import_again}"))


@cli.group("decisions")
@global_options
def decisions_group():
    """The decisions kept in the journal (from review, --decisions and --accept-review).

    \b
    Examples:
      psimport decisions list
      psimport decisions list --format json
      psimport decisions forget 3 4
    """


@decisions_group.command("list")
@format_option("table", "json", "csv")
@click.option("--all", "show_all", is_flag=True, help=f"Table: every decision (otherwise the newest {TABLE_ROWS}).")
@functools.partial(sandbox_option, help="The demo's decisions (those made for --sandbox runs), kept apart from yours.")
@global_options
@pass_state
def decisions_list(state: State, fmt, show_all, sandbox):
    """Show the decisions kept: when, the row (date, amount, payee, file and line), the answer, from where.

    \b
    Examples:
      psimport decisions list
      psimport decisions list --sandbox
      psimport decisions list --format csv > decisions.csv
    """
    from importer.output.decisions import show_decisions
    from importer.write.journal import Journal
    journal = Journal.existing_in(state.state_dir)
    kept = [] if journal is None else journal.decisions("sandbox" if sandbox else None)
    if journal is not None:
        journal.close()
    show_decisions(kept, fmt, sys.stdout, limit=None if show_all else TABLE_ROWS)


@decisions_group.command("forget")
@click.argument("ids", nargs=-1, type=int, metavar="ID...")
@click.option("--all", "every_one", is_flag=True, help="Forget every decision.")
@_yes_option
@functools.partial(sandbox_option, help="The demo's decisions (those made for --sandbox runs).")
@global_options
@pass_state
def decisions_forget(state: State, ids, every_one, yes, sandbox):
    """Remove decisions (ids from `decisions list`): their rows are decided afresh by the next preview.

    \b
    Examples:
      psimport decisions forget 3 4
      psimport decisions forget --all --yes
      psimport decisions forget --all --sandbox --yes
    """
    from importer.errors import InputError
    from importer.write.journal import Journal
    if bool(ids) == every_one:
        raise InputError("name the decisions to forget (ids from `psimport decisions list`), or --all")
    journal = Journal.existing_in(state.state_dir)
    if journal is None:
        click.echo("No decisions kept yet.")
        return
    with journal:
        known = {d.id for d in journal.decisions("sandbox" if sandbox else None) if d.id is not None}
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise InputError(f"no decision {', '.join(map(str, unknown))}; "
                             f"`{_follow_up(state, 'decisions', 'list')}` shows them")
        count = len(known) if every_one else len(ids)
        if count:
            _confirm(f"Forget {plural(count, 'decision')}?", yes, "forgetting decisions")
        gone = journal.forget_decisions(sorted(known) if every_one else ids)
    click.echo(f"Forgot {plural(gone, 'decision')}.")


# ─── accounts, categories, sandbox ───────────────────────────────────────────────────────────

@cli.command()
@format_option("table", "json")
@sandbox_option
@global_options
@pass_state
def accounts(state: State, fmt, sandbox):
    """List your PocketSmith transaction accounts: the ids that --account and the config's accounts: take.

    \b
    Examples:
      psimport accounts --sandbox
      psimport accounts --format json
      psimport -v accounts --sandbox        # log each request (key redacted)
    """
    from importer.output.pocketsmith import show_accounts
    show_accounts(state.client(sandbox).transaction_accounts(), fmt, sys.stdout)


@cli.command()
@format_option("table", "json")
@sandbox_option
@global_options
@pass_state
def categories(state: State, fmt, sandbox):
    """Show your PocketSmith categories as a tree, with their ids and "Parent > Child" paths for rules.yaml.

    \b
    Examples:
      psimport categories --sandbox
      psimport categories --format json
    """
    from importer.output.pocketsmith import show_categories
    show_categories(state.client(sandbox).categories(), fmt, sys.stdout)


@cli.command("sandbox")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="Port on 127.0.0.1 (0 picks a free one).")
@click.option("--db", "db_path", metavar="FILE", type=click.Path(path_type=Path, dir_okay=False),
              help="SQLite file for the sandbox's data [default: STATE_DIR/demo/sandbox/sandbox.sqlite3, shared with --sandbox].")
@click.option("--demo", is_flag=True,
              help="Seed a new database with the demo household's history (otherwise: its accounts and "
                   "categories, no transactions).")
@click.option("--key", metavar="K", envvar="PSIMPORT_SANDBOX_KEY",
              help="Developer key the sandbox accepts [default: the one kept beside the default database].")
@click.option("--latency-ms", type=click.FloatRange(0), default=0, envvar="PSIMPORT_SANDBOX_LATENCY_MS",
              help="Fault: add this delay to every request.")
@click.option("--rate-429", type=click.FloatRange(0, 1), default=0, envvar="PSIMPORT_SANDBOX_RATE_429",
              help="Fault: share of requests answered 429 Too Many Requests.")
@click.option("--retry-after", type=click.FloatRange(0), default=1, envvar="PSIMPORT_SANDBOX_RETRY_AFTER",
              show_default=True, help="Seconds sent in Retry-After with each 429.")
@click.option("--rate-500", type=click.FloatRange(0, 1), default=0, envvar="PSIMPORT_SANDBOX_RATE_500",
              help="Fault: share of requests answered 500.")
@click.option("--rate-drop", type=click.FloatRange(0, 1), default=0, envvar="PSIMPORT_SANDBOX_RATE_DROP",
              help="Fault: share of transaction creates that are saved and then left unanswered "
                   "(connection dropped).")
@click.option("--fault-seed", type=int, default=0, envvar="PSIMPORT_SANDBOX_FAULT_SEED",
              help="Seed for the fault draws, for repeatable runs.")
@click.option("--max-per-page", type=click.IntRange(1, 1000), default=1000, show_default=True,
              help="Largest page the transaction lists give, whatever per_page asks.")
@click.option("--refuse-per-page-over", type=click.IntRange(1), default=None, metavar="N",
              help="Answer 400 (naming per_page) to any list that asks for more than N a page.")
@global_options(unused=("--api-url", "--config"))
@pass_state
def sandbox_command(state: State, port, db_path, demo, key, latency_ms, rate_429, retry_after, rate_500,
                    rate_drop, fault_seed, max_per_page, refuse_per_page_over):
    """Run a local PocketSmith API sandbox in the foreground (Ctrl-C stops it).

    It serves the part of the PocketSmith API v2 psimport uses, from a SQLite file that
    survives restarts, and prints the URL and key to use. Without --db it serves --sandbox's
    data, and runs through its URL keep their journal in STATE_DIR/demo/ as --sandbox does. Faults (latency, 429s, 500s,
    dropped creates) can be injected for testing.

    \b
    Examples:
      psimport sandbox --demo
      psimport sandbox --port 9000 --db /tmp/ps.sqlite3 --key secret
      psimport sandbox --rate-429 0.1 --retry-after 0.2 --latency-ms 50
      psimport accounts --api-url http://127.0.0.1:8765/v2   # with its key
    """
    import contextlib
    from importer.sandbox.embedded import foreground_sandbox, serving_demo
    from importer.sandbox.server import Faults
    state.demo = True       # the same database and key as --sandbox's, under STATE_DIR/demo/
    faults = Faults(latency=latency_ms / 1000, rate_429=rate_429, retry_after=retry_after, rate_500=rate_500,
                    rate_drop_after_create=rate_drop, seed=fault_seed)
    server, db_path = foreground_sandbox(state.state_dir, db_path=db_path, key=key, port=port, faults=faults,
                                         demo=demo, max_per_page=max_per_page,
                                         refuse_per_page_over=refuse_per_page_over,
                                         log=(lambda line: _echo(line, err=True)) if state.verbose else None)
    # Serving the demo's database: runs through this URL keep their journal in the demo's folder too.
    shares_demo = Path(db_path).resolve() == (state.state_dir / "sandbox" / "sandbox.sqlite3").resolve()
    with serving_demo(state.state_dir, server.url) if shares_demo else contextlib.nullcontext():
        _serve(state, server, db_path, demo)


def _serve(state: State, server, db_path: Path, demo: bool) -> None:
    """Print where the sandbox is and how to use it, then serve until Ctrl-C."""
    click.echo(f"PocketSmith sandbox at {server.url} (data: {db_path})")
    click.echo(f"  export POCKETSMITH_API_URL={server.url}")
    click.echo(f"  export POCKETSMITH_DEVELOPER_KEY={server.key}")
    if demo:
        from importer.config import samples_dir
        # The demo statements map to the demo accounts through their own config, not the user's.
        here = Path("sample_statements")
        samples = here if (here / "psimport.yaml").is_file() else samples_dir()
        click.echo("Then, with those exports, preview the demo statements "
                   "(their config maps them to the demo accounts):")
        click.echo(f"  {_follow_up(state, 'preview', str(samples), '--config', str(samples / 'psimport.yaml'))}")
    click.echo("Ctrl-C stops it.", err=True)
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("Sandbox stopped.", err=True)


# ─── rules ───────────────────────────────────────────────────────────────────────────────────

def _history_options(command):
    for option in reversed([
        click.option("--existing", metavar="FILE.json", type=click.Path(path_type=Path),
                     help="History from this export (a JSON array of PocketSmith transactions): offline."),
        click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), metavar="YYYY-MM-DD",
                     help="History from PocketSmith since this date [default: one year back]."),
    ]):
        command = option(command)
    return command


def _warner(state: State):
    """Where the rules commands' warnings go: 'Warning: ...' on stderr, unless --quiet."""
    def warn(text: str) -> None:
        if not state.quiet:
            _echo(f"Warning: {text}", err=True)
    return warn


def _history_source(state: State, existing, since, sandbox: bool) -> dict:
    """What importer.rules.history.load_history reads: the export, or PocketSmith (connected only if needed)."""
    return {"existing": existing, "since": since, "connect": lambda: state.client(sandbox),
            "where": "the sandbox" if sandbox else "PocketSmith"}


@cli.group("rules")
@global_options
def rules_group():
    """Write, test and tune rules.yaml: categories, labels and renames for imported rows.

    \b
    Examples:
      psimport rules test --sandbox            # how they fit your categories
      psimport rules suggest --sandbox         # rules from your history
      psimport rules explain sample_statements/   # which rule set what
      psimport rules pull --sandbox            # PocketSmith's rules, as YAML
      psimport rules push --sandbox --dry-run  # the simple ones, back
    """


@rules_group.command("test")
@_rules_option
@_history_options
@click.option("--top", type=click.IntRange(1, 1000), default=15, show_default=True,
              help="How many uncovered payees to list.")
@format_option("table", "json")
@sandbox_option
@global_options
@pass_state
def rules_test(state: State, rules_path, existing, since, top, fmt, sandbox):
    """Run the rules over transactions already in PocketSmith and report how well they fit.

    Per rule: how many transactions it matched, how many of those you had already put in its
    category (agree) or in another (disagree), whether it is dead (matches nothing) or shadowed
    (earlier rules already decided everything it would). Then conflicting pairs, coverage, and
    the most frequent payees no rule categorises. Nothing is written.

    \b
    Examples:
      psimport rules test --sandbox
      psimport rules test --rules rules.yaml --since 2025-01-01
      psimport rules test --existing export.json --format json
    """
    from importer.rules.report import rules_test_report
    from importer.output.rules import show_report
    report, source = rules_test_report(rules_path, _run_config(state, sandbox), top=top, warn=_warner(state),
                                       **_history_source(state, existing, since, sandbox))
    show_report(report, fmt, sys.stdout, source=source, suggest_command=_follow_up(state, "rules", "suggest"))


@rules_group.command("suggest")
@_history_options
@click.option("--min-support", type=click.IntRange(1), default=3, show_default=True, metavar="N",
              help="Propose a rule only for payees with at least N transactions in one category.")
@click.option("--min-confidence", type=click.FloatRange(0, 1), default=0.9, show_default=True, metavar="X",
              help="...and at least this share of the payee's transactions in that category.")
@_rules_option
@format_option("yaml", "json", default="yaml")
@sandbox_option
@global_options
@pass_state
def rules_suggest(state: State, existing, since, min_support, min_confidence, rules_path, fmt, sandbox):
    """Propose rules from your categorised history: cleaned payee → the category it nearly always gets.

    Transactions your current rules file already categorises are left out, so the proposals add
    to it. Output is a whole rules file with a comment on each rule (support, confidence,
    examples); paste what you agree with into rules.yaml. Never writes any file itself.

    \b
    Examples:
      psimport rules suggest --sandbox
      psimport rules suggest --existing export.json --min-support 5 > new.yaml
      psimport rules suggest --sandbox --format json
    """
    from importer.rules.suggest import suggest_from_history
    from importer.output.rules import show_suggestions
    suggestions, considered = suggest_from_history(
        # The demo's worked rules already file its whole history: proposals are made against the rules
        # file the user names, or none.
        rules_path, _run_config(state, sandbox, demo_rules=False), min_support=min_support, min_confidence=min_confidence,
        warn=_warner(state), **_history_source(state, existing, since, sandbox))
    show_suggestions(suggestions, fmt, sys.stdout, considered=considered, min_support=min_support,
                     min_confidence=min_confidence)


@rules_group.command("explain")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@_rules_option
@click.option("--account", type=int, metavar="ID", help="PocketSmith transaction account id of the files' rows.")
@_mapping_option
@_date_order_option
@click.option("--existing", metavar="FILE.json", type=click.Path(path_type=Path),
              help="Check the rules' categories against this export's (offline).")
@format_option("table", "json")
@sandbox_option
@global_options
@pass_state
def rules_explain(state: State, files, rules_path, account, mapping, date_order, existing, fmt, sandbox):
    """For each row of the files: which rules matched, and which rule set each field and label.

    Offline by default (categories shown as written); with --sandbox or --existing the rules'
    categories are checked first, as preview does.

    \b
    Examples:
      psimport rules explain sample_statements/
      psimport rules explain statement.ofx --rules rules.yaml --format json
      psimport rules explain sample_statements/ --sandbox
    """
    from importer.output.rules import show_explanations
    from importer.rules.explain import explain_files
    paths = _statement_paths(state, files, sandbox)
    source = state.source(existing, sandbox) if existing is not None or sandbox else None
    rows = explain_files(paths, rules_path, _run_config(state, sandbox), account=account, mapping=mapping,
                         date_order=date_order, source=source, warn=_warner(state))
    show_explanations(rows, fmt, sys.stdout)


@rules_group.command("pull")
@click.option("--out", metavar="FILE", type=click.Path(path_type=Path, dir_okay=False),
              help="Add the pulled rules to FILE (a rules file, made if missing): only those it does not have, "
                   "keeping everything in it; the result is checked as `rules test` reads it before it is written.")
@format_option("yaml", "json", default="yaml")
@sandbox_option
@global_options
@pass_state
def rules_pull(state: State, out, fmt, sandbox):
    """Turn your PocketSmith category rules into rules.yaml entries: printed, or merged into a file with --out.

    Each becomes `payee contains KEYWORDS → category`, with the category's full path.

    \b
    Examples:
      psimport rules pull --sandbox
      psimport rules pull --out rules.yaml   # adds those rules.yaml lacks
      psimport rules pull --format json
    """
    from importer.output.rules import show_pulled
    from importer.rules.sync import merge_pulled, pull_rules
    where = "the sandbox" if sandbox else "PocketSmith"
    entries = pull_rules(state.client(sandbox))
    if out is None:
        show_pulled(entries, fmt, sys.stdout, where=where)
        return
    added, present = merge_pulled(out, entries, where)
    click.echo(f"Added {plural(len(added), 'rule')} from {where} to {out}"
               + (f"; {present} {'was' if present == 1 else 'were'} there already." if present else "."))


@rules_group.command("push")
@_rules_option
@click.option("--dry-run", is_flag=True, help="Show what would be created; create nothing.")
@_yes_option
@format_option("table", "json")
@sandbox_option
@global_options
@pass_state
def rules_push(state: State, rules_path, dry_run, yes, fmt, sandbox):
    """Create PocketSmith category rules for your simple rules (`payee: {contains: ...}` → category).

    Rules with other conditions or actions stay local. Keywords PocketSmith already matches are
    left alone, and never moved to another category. Asks before creating anything.

    \b
    Examples:
      psimport rules push --sandbox --dry-run
      psimport rules push --rules rules.yaml --yes
    """
    from importer.rules import load_rules_for
    from importer.rules.sync import push_plan, push_rules
    from importer.output.rules import show_push_plan
    ruleset = load_rules_for(rules_path, _run_config(state, sandbox))
    client = state.client(sandbox)
    plan = push_plan(ruleset, client)
    show_push_plan(plan, dry_run, fmt, sys.stdout)
    if dry_run or not plan.create:
        return
    where = "the sandbox" if sandbox else "PocketSmith"
    _confirm(f"Create {plural(len(plan.create), 'category rule')} in {where}?", yes, "creating category rules")
    created = push_rules(client, plan)
    if not state.quiet:
        click.echo(f"Created {plural(created, 'category rule')} in {where}.", err=True)


# ─── mappings ─────────────────────────────────────────────────────────────────────────────────

@cli.command("mappings")
@click.argument("words", nargs=-1, metavar="[NAME | new FILE]")
@click.option("--name", "new_name", metavar="NAME", help="new: the new mapping's name [default: from the file's name].")
@_date_order_option
@_yes_option
@format_option("table", "json")
@global_options(unused=("--api-url", "--state-dir", "--verbose", "--quiet"))
@pass_state
def mappings_command(state: State, words, new_name, date_order, yes, fmt):
    """List the CSV layouts psimport knows (your own first), print one mapping's YAML, or write a new one.

    A printed mapping is a good start for your own bank's: save it under a new name, edit
    it, and put it in your mappings folder (~/.config/psimport/mappings/ on Linux,
    ~/Library/Application Support/psimport/mappings/ on macOS, a mappings/ folder beside
    psimport.yaml, or the config's mappings_dir:), or pass it with --mapping FILE.
    `psimport config show` lists the folders searched on this machine.
    `mappings new FILE` infers the layout of FILE, shows its first rows as they would be read,
    asks, and writes the mapping into your mappings folder (docs/mappings.md).

    \b
    Examples:
      psimport mappings
      psimport mappings westpac > mybank.yaml
      psimport mappings new statement.csv --name mybank
    """
    from importer.parsers.csv.mapping import available_mappings, mapping_yaml
    from importer.output.statements import show_mappings
    if words and words[0] == "new":
        if len(words) != 2:
            raise click.UsageError("give one file: psimport mappings new FILE [--name NAME] [--yes]")
        _new_mapping(state, Path(words[1]), new_name, date_order, yes)
    elif len(words) > 1:
        raise click.UsageError("give one mapping name, or: psimport mappings new FILE")
    elif words == ("list",) and not any(m.name == "list" for m in available_mappings(state.config.mapping_dirs)):
        raise click.UsageError("`psimport mappings` with no word lists the mappings; "
                               "`psimport mappings NAME` prints one, `psimport mappings new FILE` writes one")
    elif words:
        sys.stdout.write(mapping_yaml(words[0], state.config.mapping_dirs))
    else:
        show_mappings(available_mappings(state.config.mapping_dirs), fmt, sys.stdout)


def _answered(attempt, answers: dict, yes: bool):
    """`attempt(answers)`, asking on a terminal each question inference puts (which day/month order, which
    sign) and trying again with the answer; without a terminal, or with --yes, the question is the error."""
    from importer.parsers.csv.infer import LayoutQuestion
    while True:
        try:
            return attempt(answers)
        except LayoutQuestion as question:
            if answers.get(question.key):
                raise
            if yes or not _can_ask():
                # `mappings new` is where the question is answered: say how, not "write a mapping".
                from importer.errors import InputError
                from importer.parsers.csv.infer import NEW_MAPPING_HINT
                how = ("run it without --yes to answer on a terminal" if yes
                       else "run it on a terminal to answer")
                flag = " (or pass --date-order " + "|".join(question.answers) + ")" \
                    if question.key == "date_order" else ""
                message = question.message.replace("; " + NEW_MAPPING_HINT, "").replace(NEW_MAPPING_HINT, "")
                raise InputError(f"{message}; `mappings new` asks this question ({question.key}: "
                                 f"{', '.join(question.answers)}): {how}{flag}", file=question.file,
                                 line=question.line) from None
            _echo(f"psimport: {question}", err=True)
            for answer, meaning in question.answers.items():
                _echo(f"  {answer}: {meaning}", err=True)
            answers[question.key] = click.prompt(f"Your answer for {question.key}",
                                                 type=click.Choice(list(question.answers)), err=True)


def _new_mapping(state: State, path: Path, name: str | None, date_order: str | None, yes: bool) -> None:
    """`mappings new`: infer, show, ask, write into the user's mappings folder, say how to route the file."""
    import re
    from importer.config import make_dir, user_config_dir
    from importer.errors import ConfigError
    from importer.output import statements as views
    from importer.parsers import read_bytes
    from importer.parsers.csv.newmapping import new_mapping
    if name is None:
        suggested = re.sub(r"[^a-z0-9]+", "_", path.stem.casefold()).strip("_") or "mybank"
        name = click.prompt("Name for this mapping", default=suggested, err=True) if not yes and _can_ask() \
            else suggested
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
        raise ConfigError(f"'{name}' cannot name a mapping file: use letters, digits, '_', '-' or '.'")
    from importer.parsers.csv.mapping import available_mappings
    shipped = {m.name.casefold(): m for m in available_mappings(()) if m.builtin}
    if name.casefold() in shipped:
        # A mapping of yours by a shipped one's name replaces it: that bank's files would be read with yours.
        raise ConfigError(f"'{name}' is the name of the shipped mapping for {shipped[name.casefold()].bank or name}; "
                          f"yours would replace it for that bank's files: choose another name with --name "
                          f"(such as --name {name}_2; `psimport mappings` lists the names taken)")
    configured = state.config.data.get("mappings_dir")
    folder = Path(configured).expanduser() if configured else user_config_dir() / "mappings"
    target = folder / f"{name}.yaml"
    if target.exists():
        raise ConfigError("a mapping is already there; choose another --name, or remove it first", file=str(target))
    made = _answered(lambda answers: new_mapping(read_bytes(path), str(path), name, answers["date_order"],
                                                 answers["sign"], answers["columns.date"],
                                                 answers["columns.debit"], answers["encoding"]),
                     {"date_order": date_order or state.config.date_order, "sign": None, "columns.date": None,
                      "columns.debit": None, "encoding": None}, yes)
    _echo(f"psimport: {made.summary}", err=True)
    click.echo("The first rows as this mapping reads them:", err=True)
    views.show_statements(made.statements, "table", sys.stderr, limit=5,
                          see_all=f"`psimport parse {path}` shows every row once the mapping is written")
    _confirm(f"Write this mapping to {target}?", yes, "writing a mapping")
    make_dir(folder, "the mappings folder")
    target.write_text(made.text, encoding="utf-8")
    _echo(f"Wrote {target}")
    if not made.claims:
        # A header any bank writes (or a card's flipped sign on one): claiming other files would misread them.
        click.echo(f"Its header is one any bank may write, so it reads a file only when named: --mapping {name}, "
                   "or route files to it in psimport.yaml (`psimport accounts` lists the ids):")
        click.echo(f"accounts:\n  - {{glob: '{path.stem}*{path.suffix}', mapping: {name}, transaction_account_id: ID}}")
        return
    click.echo("Files like this one are now read with it. To send them to a PocketSmith account, add to "
               "psimport.yaml (`psimport accounts` lists the ids):")
    click.echo(f"accounts:\n  - {{mapping: {name}, transaction_account_id: ID}}")


# ─── init, config ─────────────────────────────────────────────────────────────────────────────

class _TerminalAsker:
    """The init wizard's questions on the terminal (stderr), answers typed on stdin; the key without echo."""

    def __init__(self):
        self.can_ask = _can_ask()

    def say(self, text: str) -> None:
        from importer.output.render import fit_text
        click.echo(fit_text(text), err=True)

    def secret(self, prompt: str) -> str:
        return click.prompt(self._fitted(prompt, ": "), hide_input=True, err=True)

    def text(self, prompt: str, default: str = "") -> str:
        return click.prompt(self._fitted(prompt, ": "), default=default, show_default=False, err=True)

    def confirm(self, prompt: str, default: bool) -> bool:
        return _yes_or_no(self._fitted(prompt, " [Y/n]: "), default)

    @staticmethod
    def _fitted(prompt: str, suffix: str) -> str:
        """A question wrapped to the screen, room left on its last line for what click adds and the answer;
        the proposal in brackets at its end is kept whole."""
        from importer.output.render import fit_text, screen_width
        width = screen_width() - len(suffix) - 2
        head, bracket, proposal = prompt.rpartition(" [") if prompt.endswith("]") else (prompt, "", "")
        lines = fit_text(head, width).split("\n")
        if bracket:
            proposal = "[" + proposal
            if len(lines[-1]) + 1 + len(proposal) <= width:
                lines[-1] += " " + proposal
            else:
                lines.append("  " + proposal)
        return "\n".join(lines)


def _parse_maps(values) -> dict[str, int]:
    from importer.errors import InputError
    mapped = {}
    for value in values:
        name, _, account = value.rpartition("=")
        if not name or not account.strip().isdigit():
            raise InputError(f"--map {value!r}: give FILE=ID, such as --map everyday.ofx=510001")
        mapped[name] = int(account)
    return mapped


@cli.command("init")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--key-stdin", is_flag=True,
              help="Read the developer key from standard input (for scripts) instead of asking for it.")
@click.option("--key-file", "key_in_file", is_flag=True,
              help="Keep the key in the 0600 key file even where a system keyring exists.")
@click.option("--map", "maps", multiple=True, metavar="FILE=ID",
              help="The transaction account for a statement file (its name or path); repeatable.")
@click.option("--inbox", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="Keep DIR as the config's inbox: (what a bare `psimport import` reads) and set up the "
                   "statements in it.")
@_yes_option
@global_options(unused=("--state-dir",))
@pass_state
def init(state: State, paths, key_stdin, key_in_file, maps, inbox, yes):
    """Set psimport up: check your PocketSmith key, keep it safe, and map your statements to accounts.

    Asks for the developer key (typing is hidden), checks it with PocketSmith, keeps it in the
    system keyring where there is one (else in a file only you can read, in the user config
    dir; never in psimport.yaml), lists your transaction accounts, and for each statement
    file or folder proposes the account (same number, same name, same currency) and adds an
    `accounts:` entry to psimport.yaml (--config, else the one in use, else the user config
    dir's), keeping what is already there. Every question has a flag, for scripts.

    \b
    Examples:
      psimport init ~/Downloads/statements/
      psimport init everyday.ofx savings.csv --map savings.csv=510003 --yes
      psimport init --inbox ~/statements/inbox
      psimport init statements/ --api-url http://127.0.0.1:8765/v2  # a sandbox
    """
    from importer.config import DEFAULT_API_URL, Config, load_config, user_config_dir
    from importer.pipeline import read_statements
    from importer.pocketsmith.client import PocketSmith
    from importer.settings import api_url
    from importer.setup import InitOptions, run_init
    # --config may name a file init is about to create; otherwise the config in use, else the user config dir's.
    config_path = Path(state.config_path) if state.config_path else \
        state.config.path or user_config_dir() / "psimport.yaml"
    config = load_config(config_path) if config_path.is_file() else Config()
    url = api_url(state.api_url, config).value
    key = sys.stdin.readline().strip() if key_stdin else None
    if inbox is not None:
        from importer.config import make_dir
        make_dir(inbox, "the inbox folder")
    options = InitOptions(api_url=url, config_path=config_path, key=key, paths=paths, mapped=_parse_maps(maps),
                          yes=yes, use_keyring=not key_in_file, inbox=inbox.absolute() if inbox else None,
                          # A URL other than PocketSmith's is kept, and so is PocketSmith's over another kept before.
                          write_api_url=config.api_url != url
                          and (url.rstrip("/") != DEFAULT_API_URL or config.api_url is not None))

    def read(files):
        return read_statements(files, config=config).statements

    asker = _TerminalAsker()
    if key_stdin:
        asker.can_ask = False    # stdin held the key: there is no one to answer questions on it
    result = run_init(options, asker, read=read,
                      connect=lambda url, key, bearer: PocketSmith(url, bearer_token=key) if bearer else
                      PocketSmith(url, key))
    if result.added:
        _show_added(result.config_path, result.added)
    from importer.output.render import fit_text
    users = user_config_dir() / "psimport.yaml"
    if result.added and config_path.resolve() != users.resolve():
        # Only the user config dir's is found from any folder: cron, a script elsewhere, need --config.
        click.echo(fit_text(f"Note: {config_path} is found from its folder only; elsewhere (cron) give "
                            f"--config {config_path.absolute()}, or move it to {users}."), err=True)
    if result.paths:
        # The config is found without --config only where psimport looks: here, or the user config dir.
        found_anyway = config_path.resolve() in {Path("psimport.yaml").resolve(), users.resolve()}
        extra = [] if state.config_path or found_anyway else ["--config", str(config_path)]
        click.echo(fit_text("Next, see what an import would do: "
                            + _follow_up(state, 'preview', *map(str, result.paths), *extra)))


def _show_added(config_path: Path, added: list[str]) -> None:
    """The lines init added, as they sit in the file (entries under `accounts:`, settings at the top level), each
    fitted to the screen: an entry's comment goes on a line of its own above it when both do not fit."""
    from importer.output.render import fit_text, screen_width
    width = screen_width()
    click.echo(fit_text(f"Added to {config_path}:"))
    entries = [line for line in added if line.startswith("- ")]
    if entries:
        click.echo("  accounts:")
    for line in entries:
        entry, _, comment = line.partition("   # ")
        if len(line) + 4 > width and comment:
            click.echo(f"    # {comment}")
            line = entry
        click.echo(f"    {line}")
    for line in added:
        if not line.startswith("- "):
            click.echo(f"  {line}")


@cli.group("config")
@global_options
def config_group():
    """Show psimport's settings.

    \b
    Examples:
      psimport config show
      psimport config show --format json
    """


@config_group.command("show")
@format_option("table", "json")
@global_options
@pass_state
def config_show(state: State, fmt):
    """The settings in effect and where each came from: a flag, the environment, a file and line, a default.

    The key is found in this order: POCKETSMITH_DEVELOPER_KEY (or POCKETSMITH_ACCESS_TOKEN), the
    system keyring, the key file `psimport init` writes; only its length and last two characters
    are shown.

    \b
    Examples:
      psimport config show
      psimport config show --config ~/finance/psimport.yaml --format json
    """
    from importer.output.settings import show_settings
    from importer.settings import effective_settings
    show_settings(effective_settings(state.config, config_flag=state.config_path, api_url_flag=state.api_url,
                                     state_dir_flag=state.state_dir_opt), fmt, sys.stdout)
