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
    if value is None:
        emit("null")
    elif value is True:
        emit("true")
    elif value is False:
        emit("false")
    elif isinstance(value, str):
        emit(_encode_string(value))
    elif isinstance(value, Decimal):
        emit(_decimal_text(value))
    elif isinstance(value, int):
        emit(int.__repr__(value))
    elif isinstance(value, float):
        raise TypeError("money must be Decimal, not float: refusing to write a float into a request body")
    elif isinstance(value, dict):
        emit("{")
        for index, (key, item) in enumerate(value.items()):
            if index:
                emit(",")
            emit(_encode_string(str(key)))
            emit(":")
            _write(item, emit)
        emit("}")
    elif isinstance(value, (list, tuple)):
        emit("[")
        for index, item in enumerate(value):
            if index:
                emit(",")
            _write(item, emit)
        emit("]")
    elif isinstance(value, (date, datetime)):
        emit(_encode_string(value.isoformat()))
    else:
        raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _decimal_text(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError(f"{value} is not a JSON number")
    # Fixed-point text: "1E+2" or "-0E-8" are valid Decimals but not what an API expects to read.
    text = format(value, "f")
    return text[1:] if value.is_zero() and text.startswith("-") else text


def loads_exact(data: bytes | str) -> Any:
    """Parse JSON with every non-integer number as a Decimal."""
    return json.loads(data, parse_float=Decimal)
