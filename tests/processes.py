"""Real psimport processes for the tests that kill them: a `psimport sandbox` server on a free port."""

from __future__ import annotations

import re
import subprocess
import sys


def start_sandbox(*options: str, **popen) -> tuple[subprocess.Popen, str]:
    """`python -m importer sandbox --port 0 OPTIONS` running, and the API URL its first line names."""
    process = subprocess.Popen([sys.executable, "-m", "importer", "sandbox", "--port", "0", *options],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **popen)
    line = process.stdout.readline()
    found = re.search(r"(http://127\.0\.0\.1:\d+/v2)", line)
    if not found:
        process.kill()
        raise AssertionError(f"sandbox did not start: {line!r}")
    return process, found.group(1)
