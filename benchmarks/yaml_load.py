"""YAML loading speed: the shipped CSV mappings through importer.yamlfile and the mapping schema.

    python benchmarks/yaml_load.py [--runs N]

Times, as the fastest of N runs of CPU time in this process (the files cached in memory; loading mappings
happens once per process): libyaml's CSafeLoader alone (plain data, no lines, aliases followed), the
psimport loader on the same text (lines, duplicate keys, anchors refused, Decimal), and `load_mapping` of
every shipped mapping (reading the file, the loader, the schema check and building the Mapping). Then how
long a 600-byte "billion laughs" alias bomb takes to be refused.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def fastest(function, runs: int) -> float:
    """Milliseconds of CPU time of the fastest of `runs` calls."""
    best = float("inf")
    for _ in range(runs):
        started = time.process_time()
        function()
        best = min(best, time.process_time() - started)
    return best * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    runs = parser.parse_args().runs

    import yaml

    from importer.config import builtin_mappings_dir
    from importer.errors import ConfigError
    from importer.parsers.csv.mapping import load_mapping
    from importer.yamlfile import read_yaml

    paths = sorted(builtin_mappings_dir().glob("*.yaml"))
    texts = [path.read_text(encoding="utf-8") for path in paths]
    bomb = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(   # 9**10 lols
        f"{b}: &{b} [*{a},*{a},*{a},*{a},*{a},*{a},*{a},*{a},*{a}]\n" for a, b in zip("abcdefghi", "bcdefghij"))

    def refuse_bomb():
        try:
            read_yaml(bomb)
        except ConfigError:
            return
        raise AssertionError("the alias bomb was loaded")

    plain = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    rows = [
        (f"yaml.load with {plain.__name__} (no lines)", lambda: [yaml.load(text, Loader=plain) for text in texts]),
        ("importer.yamlfile.read_yaml", lambda: [read_yaml(text) for text in texts]),
        ("load_mapping of every shipped mapping", lambda: [load_mapping(path, builtin=True) for path in paths]),
        (f"a {len(bomb)}-byte billion laughs, refused", refuse_bomb),
    ]
    print(f"{len(paths)} shipped mappings, {sum(map(len, texts)) / 1024:.0f} KB; fastest of {runs} runs, CPU time\n")
    print("| step | ms |\n|---|---|")
    for label, function in rows:
        print(f"| {label} | {fastest(function, runs):.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
