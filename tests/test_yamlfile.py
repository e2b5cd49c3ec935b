"""The one YAML loader: lines of every mapping, list, key and string; duplicate keys, anchors, aliases, merge
keys and deep nesting refused with the line; decimals as Decimal; short excerpts; and the same loader under
psimport.yaml, rules files and CSV mappings."""

from __future__ import annotations

import time
from datetime import date
from decimal import Decimal

import pytest

from importer.config import load_config
from importer.errors import ConfigError
from importer.parsers.csv.mapping import load_mapping
from importer.rules import load_rules
from importer.yamlfile import LineList, LineMap, LineText, excerpt, line_of, read_yaml

# Ten levels of nine: 9**10 (3.5 billion) "lol"s from under 400 bytes, if the aliases were followed.
BILLION_LAUGHS = "".join([
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n',
    *(f"{b}: &{b} [*{a},*{a},*{a},*{a},*{a},*{a},*{a},*{a},*{a}]\n" for a, b in zip("abcdefghi", "bcdefghij")),
])


def test_every_mapping_list_key_and_string_knows_its_line():
    data = read_yaml("top:\n  name: coffee\n  amounts:\n    - 4.50\n    - {payee: Cafe}\nplain: 3\n", "f.yaml")
    assert isinstance(data, LineMap) and data.line == 1 and data.key_lines == {"top": 1, "plain": 6}
    top = data["top"]
    assert top.line == 2 and line_of(top, "amounts") == 3
    assert isinstance(top["name"], LineText) and top["name"].line == 2
    amounts = top["amounts"]
    assert isinstance(amounts, LineList) and amounts.item_lines == [4, 5]
    assert line_of(amounts, 1) == 5 and amounts[1].line == 5 and amounts[1]["payee"].line == 5
    # Data built in code has no lines: the default stands in.
    assert line_of({"a": 1}, "a", 7) == 7 and line_of([1], 0) is None


def test_decimals_are_decimal_never_float_and_other_scalars_keep_their_types():
    data = read_yaml("a: 12.30\nb: 1_000.5\nc: 3\nd: true\ne: 2024-01-31\nf: ~\ng: '4.5'\nh: 1:30.5\n")
    assert data["a"] == Decimal("12.30") and str(data["a"]) == "12.30"
    assert data["b"] == Decimal("1000.5")
    assert (data["c"], data["d"], data["e"], data["f"], data["g"]) == (3, True, date(2024, 1, 31), None, "4.5")
    assert data["h"] == "1:30.5"      # YAML 1.1's base-60 float, left as written rather than guessed
    assert not any(isinstance(value, float) for value in data.values())


def test_a_key_given_twice_names_both_lines():
    with pytest.raises(ConfigError) as caught:
        read_yaml("rules: []\nname: a\nrules: [x]\n", "f.yaml")
    assert str(caught.value) == "f.yaml, line 3: 'rules' is given twice in one mapping (first on line 1)"


@pytest.mark.parametrize("text, line, says", [
    ("a: &x 1\nb: 2\n", 1, "'&x' is a YAML anchor"),
    ("a: 1\nb:\n  - *x\n", 3, "'*x' is a YAML alias"),
    ("base: {a: 1}\nother:\n  <<: {b: 2}\n", 3, "'<<' is a YAML merge key"),
    ("[" * 101 + "]" * 101, 1, "nested more than 100 deep"),
    ("a:\n" + "".join(f"{' ' * n}b:\n" for n in range(1, 102)), 101, "nested more than 100 deep"),
    # libyaml's composer alone would crash on these:
    ("[" * 30000 + "]" * 30000, 1, "nested more than 100 deep"),
    ("- " * 30000 + "x", 1, "nested more than 100 deep"),
])
def test_anchors_aliases_merge_keys_and_deep_nesting_are_refused_with_the_line(text, line, says):
    with pytest.raises(ConfigError) as caught:
        read_yaml(text, "f.yaml")
    assert caught.value.line == line and says in caught.value.message, str(caught.value)


def test_text_that_only_looks_like_an_anchor_is_read():
    data = read_yaml("payee: SQ *CAFE\nshop: 'M&S'\ncells: [Zahlungspflichtige*r, a&b]\n")
    assert data == {"payee": "SQ *CAFE", "shop": "M&S", "cells": ["Zahlungspflichtige*r", "a&b"]}


def test_a_billion_laughs_fails_at_once_in_the_loader():
    assert len(BILLION_LAUGHS) < 400
    started = time.process_time()
    with pytest.raises(ConfigError) as caught:
        read_yaml(BILLION_LAUGHS, "bomb.yaml")
    assert caught.value.line == 1 and "anchor" in caught.value.message
    assert time.process_time() - started < 1.0   # generous: it takes well under a millisecond


@pytest.mark.parametrize("kind", ["config", "rules", "mapping"])
def test_a_billion_laughs_is_refused_in_every_kind_of_file(tmp_path, kind):
    path = tmp_path / f"{kind}.yaml"
    path.write_text(BILLION_LAUGHS, encoding="utf-8")
    load = {"config": load_config, "rules": load_rules, "mapping": load_mapping}[kind]
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert str(caught.value).startswith(f"{path}, line 1: '&a' is a YAML anchor; psimport does not accept anchors")


@pytest.mark.parametrize("text, line, says", [
    ("a: [1, 2\nb: 3\n", 2, "not valid YAML"),
    ("a: 1\n\tb: 2\n", 2, "not valid YAML"),
    ("a: !!python/object:os.system x\n", 1, "python/object"),
    ("? [a, b]\n: 1\n", 1, "a mapping key must be plain text"),
])
def test_syntax_errors_and_unsafe_tags_name_the_line(text, line, says):
    with pytest.raises(ConfigError) as caught:
        read_yaml(text, "f.yaml")
    assert caught.value.file == "f.yaml" and caught.value.line == line and says in caught.value.message


def test_messages_quote_a_short_excerpt_of_a_long_value(tmp_path):
    assert excerpt("short") == "'short'"
    long = excerpt("x" * 500)
    assert len(long) == 60 and long.endswith("…")
    config = tmp_path / "psimport.yaml"
    config.write_text(f"date_order: {'y' * 5000}\n{'k' * 5000}: 1\n")
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    assert len(str(caught.value)) < 600, str(caught.value)


def test_files_that_cannot_be_read_say_so(tmp_path):
    with pytest.raises(ConfigError, match="rules file not found"):
        load_rules(tmp_path / "nope.yaml")
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(ConfigError, match="the mapping file is not UTF-8 text"):
        load_mapping(latin)
    bom = tmp_path / "bom.yaml"
    bom.write_bytes("\ufeffdate_order: dmy\n".encode())
    assert load_config(bom).date_order == "dmy"
