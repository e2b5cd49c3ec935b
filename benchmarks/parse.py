"""Parsing speed, all formats in one run: OFX (vs ofxparse and a bare regex scan), QIF (vs quiffen), CSV 1M rows.

    python benchmarks/parse.py [--quick]
"""

from __future__ import annotations

import argparse

import cli_startup  # noqa: E402  (benchmarks run as scripts from this folder)
import parse_csv
import parse_ofx
import parse_qif


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller files, fewer repeats")
    quick = parser.parse_args().quick
    for title, module in (("OFX", parse_ofx), ("QIF", parse_qif), ("CSV", parse_csv),
                          ("Start-up", cli_startup)):
        print(f"\n### {title}\n")
        print(module.run(quick), flush=True)


if __name__ == "__main__":
    main()
