"""docs/troubleshooting.md is built from psimport's real messages: every message it quotes is still in the code,
each example shows the message of its heading, and its exit-code table is the codes the code uses."""

from __future__ import annotations

import re
from pathlib import Path

from importer.errors import ApiError, Busy, ConfigError, InputError
from importer.inbox import NEEDS_A_PERSON_EXIT
from importer.write.writer import IncompleteBatch

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "troubleshooting.md").read_text(encoding="utf-8")
SOURCE = "\n".join(path.read_text(encoding="utf-8") for path in sorted((ROOT / "importer").rglob("*.py")))


def _sections() -> list[tuple[str, str]]:
    """(quoted message, the text under its heading) for each `### "message"` heading."""
    parts = re.split(r'^### "(.+)"$', DOC, flags=re.MULTILINE)
    return list(zip(parts[1::2], parts[2::2]))


def test_every_quoted_message_is_still_in_the_code():
    sections = _sections()
    assert len(sections) >= 25
    gone = [message for message, _ in sections if message not in SOURCE]
    assert not gone, f"docs/troubleshooting.md quotes messages psimport no longer has: {gone}"


def test_each_example_shows_the_message_of_its_heading():
    for message, body in _sections():
        for block in re.findall(r"```console\n(.*?)```", body, re.S):
            said = [line for line in block.splitlines() if not line.startswith("$ ")]
            assert any(message in line for line in said), f"the example under {message!r} does not say it"


def test_the_exit_code_table_is_the_codes_psimport_uses():
    table = re.search(r"## Exit codes\n\n(.*?)\n\n", DOC, re.S).group(1)
    documented = {int(code) for code in re.findall(r"^\| *(\d+) *\|", table, re.MULTILINE)}
    used = {0, 1, InputError.exit_code, ConfigError.exit_code, ApiError.exit_code, IncompleteBatch("").exit_code,
            NEEDS_A_PERSON_EXIT, Busy.exit_code, 130}
    assert documented == used
    assert InputError.exit_code == 2       # click's own usage errors exit 2 too: one code for bad input
