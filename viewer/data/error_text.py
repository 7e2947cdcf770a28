"""The one line of an exception a warning or status line shows.

Errors from DuckDB and pyarrow run to many lines (context, a caret, hints); a warning
in the dashboard's status bar or on stderr gets the first, cut to a length, or the
exception's type when it has no message at all."""

from __future__ import annotations

__all__ = ["first_line"]


def first_line(exc: BaseException, limit: int = 200) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:limit] if text else type(exc).__name__
