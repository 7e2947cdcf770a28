"""Counts in status lines and messages: `1 run`, `2 runs`, never `1 runs`."""

from __future__ import annotations

__all__ = ["counted"]


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """`n` and the noun in the number that agrees with it (`plural` for irregular nouns)."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"
