"""Shared timing helpers for the benchmarks: medians of fresh-process runs, peak memory, a sandbox to run against."""

from __future__ import annotations

import re
import resource
import statistics
import subprocess
import sys
import time
from typing import Sequence


def run_median(argv: Sequence[str], repeat: int = 5, **kwargs) -> float:
    """Median wall time of `argv` in fresh processes (output discarded)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, **kwargs)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def child_peak_rss_mb() -> float:
    """Peak resident memory of the largest child process so far, in MB (Linux: ru_maxrss is KiB)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def python() -> str:
    return sys.executable


def start_sandbox(*options: str, **popen) -> tuple[subprocess.Popen, str]:
    """`psimport sandbox --port 0 OPTIONS` running in its own process, and the API URL its first line names."""
    process = subprocess.Popen([python(), "-m", "importer", "sandbox", "--port", "0", *options],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **popen)
    line = process.stdout.readline()
    found = re.search(r"(http://127\.0\.0\.1:\d+/v2)", line)
    if not found:
        process.kill()
        raise SystemExit(f"the sandbox did not start: {line}")
    return process, found.group(1)


def report_targets(targets: Sequence[tuple[str, bool]]) -> int:
    """Print each target as met or NOT met; the exit status a benchmark script returns (0: all met)."""
    print()
    for label, ok in targets:
        print(f"- {label}: {'met' if ok else 'NOT met'}")
    return 0 if all(ok for _, ok in targets) else 1
