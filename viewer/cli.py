"""The `loupe` command (placeholder until the query layer lands)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    print("loupe: the viewer is not built yet", file=sys.stderr)
    return 1
