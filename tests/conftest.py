"""Shared fixtures: the shared corpus and API spec (found in one place, skipped when absent), golden-file
regeneration, and a real sandbox server on 127.0.0.1 (fresh SQLite per test) with a real client pointed at it.

The shared material (real bank exports under corpus/ with MANIFEST.tsv, and PocketSmith's official
pocketsmith/openapi.json) lives beside the repository in ../shared, or wherever $PSIMPORT_SHARED says.
Several corpus files are GPL/AGPL: they are read in place, never copied into the repository. Tests
that need them ask for `corpus`, `corpus_file` (with @pytest.mark.corpus("<format>"): one test per
manifest row) or `openapi_spec_path`; without the material those tests skip, and the run's summary
says so and how to provide it.

`sandbox` has the demo household's accounts (510001 everyday, 510002 Visa, 510003 saver),
categories and rules but no transactions; `demo_sandbox` adds the bank-feed history that
overlaps sample_statements/; `make_sandbox(seed=..., faults=..., ...)` builds others. Each
handle has `.url`, `.key`, `.faults` (change them mid-test), `.db_path`, `.requests` (what the
server saw), `.transactions(account_id=None)` (the stored rows, Decimal amounts) and
`.client(**options)`.
"""

from __future__ import annotations

import csv
import functools
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import pytest

from importer.pocketsmith.client import PocketSmith
from importer.sandbox.server import Faults, SandboxServer

REPOSITORY = Path(__file__).resolve().parents[1]
SHARED_VARIABLE = "PSIMPORT_SHARED"
SHARED = Path(os.environ.get(SHARED_VARIABLE) or REPOSITORY.parent / "shared").expanduser().resolve()
CORPUS_DIR = SHARED / "corpus"
SPEC_PATH = SHARED / "pocketsmith" / "openapi.json"
HOW_TO_PROVIDE = (f"put the shared folder beside the repository (../shared) or set {SHARED_VARIABLE}=/path/to/shared "
                  "(the folder holding corpus/ and pocketsmith/openapi.json)")
CORPUS_ABSENT = f"needs the shared corpus, which is not at {CORPUS_DIR}"
SPEC_ABSENT = f"needs the official OpenAPI spec, which is not at {SPEC_PATH}"
ABSENT = (CORPUS_ABSENT, SPEC_ABSENT)


def pytest_addoption(parser):
    parser.addoption("--regenerate-golden", action="store_true",
                     help="rewrite tests/golden/ from the current `psimport parse --format json` output "
                          "(and delete expected files whose sample is gone), listing every file changed")


def pytest_configure(config):
    config.stash[GOLDEN_FILES] = GoldenFiles(config.getoption("--regenerate-golden"))
    named = os.environ.get(SHARED_VARIABLE)
    missing = [str(path.relative_to(SHARED)) for path in (CORPUS_DIR / "MANIFEST.tsv", SPEC_PATH) if not path.is_file()]
    if named and missing:
        # Pointing at the material and missing it must not quietly turn the corpus tests into skips.
        raise pytest.UsageError(f"{SHARED_VARIABLE}={named}, but {SHARED} has no {' and no '.join(missing)}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.skipped and isinstance(report.longrepr, tuple) and report.longrepr[2].endswith(ABSENT):
        # One place for every such skip, so `-ra` folds them into one line instead of one per test.
        report.longrepr = (__file__, 1, report.longrepr[2])
    return report


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter, config):
    yield  # the short test summary comes first: these notes end the report
    reasons = [report.longrepr[2] for report in terminalreporter.stats.get("skipped", [])
               if isinstance(report.longrepr, tuple)]
    for what, absent, path in (("corpus tests", CORPUS_ABSENT, CORPUS_DIR),
                               ("OpenAPI conformance tests", SPEC_ABSENT, SPEC_PATH)):
        count = sum(reason.endswith(absent) for reason in reasons)
        if count:
            terminalreporter.write_line(f"{count} {what} skipped: {path} not found. To run them, {HOW_TO_PROVIDE}.")
    golden = config.stash[GOLDEN_FILES]
    for change, path in golden.changes:
        terminalreporter.write_line(f"golden file {change}: {path.relative_to(REPOSITORY)}")
    if golden.changes:
        terminalreporter.write_line("review them (git status, git diff tests/golden) before committing")
    elif golden.regenerate:
        terminalreporter.write_line("--regenerate-golden: every golden file was already up to date")


# ─── the shared corpus and spec ───────────────────────────────────────────────────────────────

@dataclass(frozen=True)
class CorpusFile:
    """One file of the shared corpus and what its MANIFEST.tsv row says of it."""

    relative: str         # as the manifest names it: "camt/genkgo-camt__camt053.v2.xml"
    path: Path
    expected: int | None  # expected_transactions; None where the manifest leaves it blank
    notes: str

    @property
    def name(self) -> str:
        return self.path.name

    def read(self) -> bytes:
        return self.path.read_bytes()


class Corpus:
    """The shared corpus of real bank exports, indexed by its MANIFEST.tsv."""

    def __init__(self, root: Path):
        self.root = root

    @property
    def available(self) -> bool:
        return (self.root / "MANIFEST.tsv").is_file()

    def path(self, relative: str) -> Path:
        return self.root / relative

    def read(self, relative: str) -> bytes:
        return self.path(relative).read_bytes()

    def files(self, fmt: str) -> list[CorpusFile]:
        """Every file of one format (its folder: ofx, qif, csv, camt, mt940), in manifest order."""
        return [file for file in self.manifest if file.relative.split("/")[0] == fmt]

    @functools.cached_property
    def manifest(self) -> tuple[CorpusFile, ...]:
        with (self.root / "MANIFEST.tsv").open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle, delimiter="\t"))
        return tuple(CorpusFile(row["path"], self.path(row["path"]),
                                int(row["expected_transactions"]) if row["expected_transactions"] else None,
                                row["notes"]) for row in rows)


CORPUS = Corpus(CORPUS_DIR)


def pytest_generate_tests(metafunc):
    """`corpus_file` under @pytest.mark.corpus("<format>", exclude=names): one test per manifest row.

    Read here, at collection, and only when the manifest is there: without it the test is collected
    once and skips, so a clone without ../shared still collects every module.
    """
    if "corpus_file" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("corpus")
    if marker is None:
        raise pytest.UsageError(f"{metafunc.definition.nodeid} takes corpus_file without @pytest.mark.corpus(format)")
    if not CORPUS.available:
        metafunc.parametrize("corpus_file", [None], ids=["corpus-absent"], indirect=True)
        return
    excluded = set(marker.kwargs.get("exclude", ()))
    files = [file for file in CORPUS.files(*marker.args) if file.name not in excluded]
    metafunc.parametrize("corpus_file", files, ids=[file.relative for file in files], indirect=True)


@pytest.fixture
def corpus_file(request) -> CorpusFile:
    if request.param is None:
        pytest.skip(CORPUS_ABSENT)
    return request.param


@pytest.fixture(scope="session")
def corpus() -> Corpus:
    """The shared corpus; the test skips when it is absent."""
    if not CORPUS.available:
        pytest.skip(CORPUS_ABSENT)
    return CORPUS


@pytest.fixture(scope="session")
def openapi_spec_path() -> Path:
    """PocketSmith's official OpenAPI spec; the test skips when it is absent."""
    if not SPEC_PATH.is_file():
        pytest.skip(SPEC_ABSENT)
    return SPEC_PATH


# ─── golden files ──────────────────────────────────────────────────────────────────────────────

class GoldenFiles:
    """The expected outputs under tests/golden/: rewritten only under --regenerate-golden, and every change listed."""

    def __init__(self, regenerate: bool):
        self.regenerate = regenerate
        self.changes: list[tuple[str, Path]] = []

    def write(self, path: Path, text: str) -> None:
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            return
        self.changes.append(("rewritten" if path.is_file() else "created", path))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    def remove(self, path: Path) -> None:
        self.changes.append(("deleted", path))
        path.unlink()


GOLDEN_FILES = pytest.StashKey[GoldenFiles]()


@pytest.fixture
def golden_files(request) -> GoldenFiles:
    return request.config.stash[GOLDEN_FILES]


# ─── the sandbox ──────────────────────────────────────────────────────────────────────────────

class SandboxHandle:
    """A running sandbox, as tests see it."""

    def __init__(self, server: SandboxServer, key: str, db_path: Path):
        self.server = server
        self.key = key
        self.db_path = db_path
        self._clients: list[PocketSmith] = []

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def faults(self) -> Faults:
        return self.server.faults

    @faults.setter
    def faults(self, value: Faults) -> None:
        self.server.faults = value

    @property
    def store(self):
        return self.server.store

    @property
    def user_id(self) -> int:
        return self.server.user_id

    @property
    def requests(self):
        return self.server.requests

    def transactions(self, account_id: int | None = None) -> list[dict]:
        """What the sandbox holds, read from SQLite directly (oldest first; Decimal amounts, date dates)."""
        return self.server.store.stored_transactions(account_id)

    def client(self, **options) -> PocketSmith:
        """A real client for this sandbox; fast retries unless told otherwise. Closed after the test."""
        options.setdefault("timeout", 5)
        options.setdefault("backoff", 0.005)
        options.setdefault("max_backoff", 0.05)
        made = PocketSmith(self.url, self.key, **options)
        self._clients.append(made)
        return made

    def close(self) -> None:
        for made in self._clients:
            made.close()
        self.server.stop()


@pytest.fixture
def make_sandbox(tmp_path):
    """Factory: make_sandbox(seed="accounts"|"demo"|"empty", faults=Faults(...), key=..., **server options)."""
    handles: list[SandboxHandle] = []

    def make(seed: str = "accounts", faults: Faults | None = None, key: str | None = None,
             **options) -> SandboxHandle:
        key = key or f"sk-test-{secrets.token_hex(12)}"
        db_path = tmp_path / f"sandbox-{len(handles)}.sqlite3"
        server = SandboxServer(db_path, key=key, seed=seed, faults=faults or Faults(), **options).start()
        handle = SandboxHandle(server, key, db_path)
        handles.append(handle)
        return handle

    yield make
    for handle in handles:
        handle.close()


@pytest.fixture
def sandbox(make_sandbox, request):
    """A fresh sandbox; parametrize indirectly with "demo", "accounts" or "empty" to choose its seed."""
    return make_sandbox(seed=getattr(request, "param", "accounts"))


@pytest.fixture
def demo_sandbox(make_sandbox):
    return make_sandbox(seed="demo")


@pytest.fixture
def client(sandbox):
    """A real PocketSmith client talking HTTP to `sandbox`."""
    return sandbox.client()


@pytest.fixture(autouse=True)
def _no_stored_keys(tmp_path_factory, monkeypatch):
    """Every test with its own empty user config dir and no system keyring: a key `psimport init` stored on
    this machine, or the user's own psimport.yaml there, never leaks into a test."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config-home")))
    monkeypatch.setenv("PSIMPORT_NO_KEYRING", "1")


@pytest.fixture
def run(tmp_path, monkeypatch):
    """`run(*args, sandbox=None)`: psimport's CLI in-process, in an empty folder, with its own state dir
    (`run.state`) at 200 columns; given a sandbox, against it over HTTP with its key."""
    from click.testing import CliRunner

    from importer.cli import cli
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")
    state = tmp_path / "state"

    def invoke(*args, sandbox=None):
        if sandbox is not None:
            monkeypatch.setenv("POCKETSMITH_DEVELOPER_KEY", sandbox.key)
            args = (*args, "--api-url", sandbox.url)
        return CliRunner().invoke(cli, [*map(str, args), "--state-dir", str(state)], catch_exceptions=False)
    invoke.state = state
    return invoke
