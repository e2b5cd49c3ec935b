"""JSON on the wire with exact money: Decimals are written as number text and read back as Decimals, never floats."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

__all__ = ["dumps_exact", "loads_exact"]

_encode_string = json.encoder.encode_basestring  # type: ignore[attr-defined]


def dumps_exact(value: Any) -> str:
    """JSON text where a Decimal becomes a JSON number spelled exactly as the Decimal's text.

    The json module can only write numbers through float, which would turn 0.30 into 0.3 at
    best and 1234567.89 into 1234567.8899999999 at worst; so this writer emits them itself.
    """
    parts: list[str] = []
    _write(value, parts.append)
    return "".join(parts)


def _write(value: Any, emit) -> None:
    # The exact types first, by identity (the sandbox writes a page of transactions, 43 values each, through
    # here); anything else (a str or int subclass, a tuple, a date) by the checks below them.
    kind = type(value)
    if kind is str:
        emit(_encode_string(value))
    elif kind is dict:
        separator = "{"
        for key, item in value.items():
            emit(separator)
            emit(_encode_string(key if type(key) is str else str(key)))
            emit(":")
            _write(item, emit)
            separator = ","
        emit("{}" if separator == "{" else "}")
    elif value is None:
        emit("null")
    elif value is True:
        emit("true")
    elif value is False:
        emit("false")
    elif kind is Decimal:
        emit(_decimal_text(value))
    elif kind is int:
        emit(int.__repr__(value))
    elif kind is list:
        _write_items(value, emit)
    elif isinstance(value, str):
        emit(_encode_string(value))
    elif isinstance(value, Decimal):
        emit(_decimal_text(value))
    elif isinstance(value, int):
        emit(int.__repr__(value))
    elif isinstance(value, float):
        raise TypeError("money must be Decimal, not float: refusing to write a float into a request body")
    elif isinstance(value, dict):
        _write(dict(value), emit)
    elif isinstance(value, (list, tuple)):
        _write_items(value, emit)
    elif isinstance(value, (date, datetime)):
        emit(_encode_string(value.isoformat()))
    else:
        raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _write_items(items, emit) -> None:
    separator = "["
    for item in items:
        emit(separator)
        _write(item, emit)
        separator = ","
    emit("[]" if separator == "[" else "]")


def _decimal_text(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError(f"{value} is not a JSON number")
    # Fixed-point text: "1E+2" or "-0E-8" are valid Decimals but not what an API expects to read.
    text = format(value, "f")
    return text[1:] if value.is_zero() and text.startswith("-") else text


# A JSON number that cannot be money, an id or a count: refused as it is read (never a float, never
# a 100,000-digit int to convert, never 1e999999999 to print in full later).
MAX_NUMBER_CHARS = 40
MAX_MONEY_DIGITS = 15       # before the decimal point: a quadrillion, in any currency


class NotUsableJson(ValueError):
    """JSON that parses, but holds what psimport will not read: NaN, Infinity, a number too big to be
    money or an id, or nesting too deep to walk."""


def loads_exact(data: bytes | str) -> Any:
    """Parse JSON with every non-integer number as a Decimal; NotUsableJson for what cannot be data."""
    try:
        return json.loads(data, parse_float=_number, parse_int=_whole, parse_constant=_constant)
    except RecursionError:
        raise NotUsableJson("its arrays and objects are nested too deep") from None


def _number(text: str) -> Decimal:
    if len(text) <= 16 and "e" not in text and "E" not in text:
        # JSON's number without an exponent has a point and a digit after it: 16 characters hold at most 14
        # digits before the point, so none of the checks below can refuse it. Most amounts; the checks were
        # nearly half of reading a page of transactions.
        return Decimal(text)
    value = Decimal(text) if len(text) <= MAX_NUMBER_CHARS else None
    if value is None or not value.is_finite() or value.adjusted() >= MAX_MONEY_DIGITS \
            or int(value.as_tuple().exponent) < -MAX_NUMBER_CHARS:
        raise NotUsableJson(f"the number {text[:20]}{'…' if len(text) > 20 else ''} is too big (or too long) "
                            "to be an amount")
    return value


def _whole(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise NotUsableJson(f"a whole number {len(text):,} digits long is not an amount or an id")
    return int(text)


def _constant(name: str) -> Any:
    raise NotUsableJson(f"{name} is not a number JSON allows, nor an amount")
