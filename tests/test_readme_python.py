"""The README's "Using psimport from Python" example runs as written and prints what the README says it prints."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## Using psimport from Python"


def readme_example() -> tuple[str, str]:
    """The section's Python block, and the text block showing its output."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert SECTION in text, f"README.md has no {SECTION!r} section"
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    output = re.search(r"```text\n(.*?)```", section, re.S)
    assert code and output, "the section needs a ```python block and a ```text block with its output"
    return code.group(1), output.group(1)


def test_the_readme_example_runs_in_a_clone_and_prints_what_it_shows(tmp_path):
    code, expected = readme_example()
    clone = tmp_path / "clone"       # what the example reads from a clone: the samples and the demo rules
    shutil.copytree(ROOT / "sample_statements", clone / "sample_statements")
    shutil.copy(ROOT / "rules.yaml", clone / "rules.yaml")
    temp = tmp_path / "temp"
    temp.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(temp), "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "PSIMPORT_STATE_DIR": str(tmp_path / "state")}
    result = subprocess.run([sys.executable, "-c", code], cwd=clone, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout == expected
    assert (clone / "export.json").is_file()
    assert list(temp.iterdir()) == []           # the sandbox's temporary folder went with it
