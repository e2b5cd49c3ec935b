"""Wording shared by messages and output: a count with its noun, singular or plural."""

from __future__ import annotations

__all__ = ["plural"]


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """"1 rule", "3 rules"; `nouns` for a plural that is not noun + "s" ("1 category", "2 categories")."""
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"
