"""How long `psimport --help` takes against `python -c "import click"` (target: within 3x)."""

from __future__ import annotations

import argparse
import shutil

from _timing import python, run_median


def run(quick: bool = False) -> str:
    repeat = 5 if quick else 15
    bare = run_median([python(), "-c", "pass"], repeat)
    click_only = run_median([python(), "-c", "import click"], repeat)
    psimport = shutil.which("psimport")
    argv = [psimport, "--help"] if psimport else [python(), "-m", "importer", "--help"]
    help_time = run_median(argv, repeat)
    return "\n".join([
        "| command | median | vs `import click` |",
        "|---|---|---|",
        f"| `python -c pass` | {bare * 1000:.0f} ms | {bare / click_only:.2f}x |",
        f"| `python -c \"import click\"` | {click_only * 1000:.0f} ms | 1.00x |",
        f"| `psimport --help` | {help_time * 1000:.0f} ms | {help_time / click_only:.2f}x |",
    ])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    print(run(parser.parse_args().quick))
