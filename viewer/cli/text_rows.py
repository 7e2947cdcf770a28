"""Plain aligned text rows for the CLI's subcommands (artifacts, sweeps)."""

from __future__ import annotations

from typing import TextIO


def write_rows(rows: list[list[str]], out: TextIO) -> None:
    """Left-aligned columns, two spaces apart; cells must already be sanitised strings."""
    if not rows:
        return
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        out.write("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() + "\n")
