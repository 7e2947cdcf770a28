"""How the loupe command prints: aligned tables, JSON and CSV, every cell sanitised.

Run names, config values and log text are untrusted, so what reaches a terminal goes
through viewer.data.sanitize; CSV written to a file keeps the values as they are.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import sys
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    import pyarrow as pa

_MAX_CELL = 48


class UsageError(Exception):
    """Bad arguments: main() prints it as one line and exits 2. Defined here, the lowest
    of the CLI modules, because emit() raises it too."""


def cell(v: Any, width: int | None = _MAX_CELL) -> str:
    """One value as terminal text: sanitised, and cut to `width` characters with an ellipsis."""
    from viewer.data.sanitize import sanitize

    if v is None:
        s = ""
    elif isinstance(v, bool):
        s = "true" if v else "false"
    elif isinstance(v, float):
        s = "nan" if math.isnan(v) else f"{v:.6g}"
    elif isinstance(v, dt.datetime):
        s = v.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    elif isinstance(v, (list, tuple)):
        s = ",".join(cell(x, None) for x in v)
    elif isinstance(v, dict):
        import orjson

        s = orjson.dumps(v, default=str).decode()
    else:
        s = str(v)
    s = sanitize(s)
    if width is not None and len(s) > width:
        s = s[: width - 1] + "…"
    return s


def print_table(table: pa.Table, out: TextIO | None = None) -> None:
    from viewer.data.arrow_build import rows as arrow_rows

    out = out or sys.stdout
    names = [cell(n) for n in table.column_names]
    durations = [_is_duration(n) for n in table.column_names]
    rows = [
        [_duration(v) if duration else cell(v) for v, duration in zip(row.values(), durations)]
        for row in arrow_rows(table)
    ]
    widths = [max([len(n)] + [len(r[i]) for r in rows]) for i, n in enumerate(names)]
    numeric = [_is_numeric(table.schema.field(i).type) for i in range(len(names))]

    def fmt(values: list[str]) -> str:
        return "  ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)).rstrip()

    out.write(fmt(names) + "\n")
    for r in rows:
        out.write(fmt(r) + "\n")
    if not rows:
        out.write("(no rows)\n")


def _is_duration(column: str) -> bool:
    """Columns of seconds a reader wants as `3m05s` (JSON and CSV keep the seconds)."""
    return column in ("runtime", "_runtime") or column.endswith("._runtime")


def _duration(v: Any) -> str:
    from viewer.data.run_table_model import format_runtime

    return format_runtime(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else cell(v)


def _is_numeric(t: pa.DataType) -> bool:
    import pyarrow.types as pt

    return pt.is_integer(t) or pt.is_floating(t) or pt.is_decimal(t)


def jsonable(v: Any) -> Any:
    """`v` with what JSON cannot hold made plain: NaN/inf to null, dates to ISO text, bytes to str."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, (dt.datetime, dt.date, dt.time)):
        return v.isoformat()
    if isinstance(v, dt.timedelta):
        return v.total_seconds()
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    return v


def write_json(obj: Any, out: TextIO) -> None:
    import orjson

    out.write(orjson.dumps(jsonable(obj), default=str, option=orjson.OPT_INDENT_2).decode() + "\n")


def write_csv(table: pa.Table, out: TextIO) -> None:
    tty = getattr(out, "isatty", lambda: False)()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(table.column_names)
    from viewer.data.arrow_build import rows as arrow_rows

    for row in arrow_rows(table):
        cells = []
        for v in row.values():
            if v is None:
                cells.append("")
            elif isinstance(v, (list, dict)):
                import orjson

                cells.append(orjson.dumps(jsonable(v), default=str).decode())
            elif isinstance(v, dt.datetime):
                cells.append(v.isoformat())
            else:
                cells.append(str(v))
        if tty:
            from viewer.data.sanitize import sanitize

            cells = [sanitize(c) for c in cells]
        w.writerow(cells)


def emit(table: pa.Table, fmt: str, output: str | None = None) -> None:
    """`table` as table, json, csv or parquet text, to stdout or to the file `output`."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        if not output:
            raise UsageError("--format parquet needs -o FILE")
        pq.write_table(table, output)
        return
    if output:
        with open(output, "w", encoding="utf-8", newline="") as f:
            _emit_text(table, fmt, f)
    else:
        _emit_text(table, fmt, sys.stdout)


def _emit_text(table: pa.Table, fmt: str, out: TextIO) -> None:
    if fmt == "json":
        from viewer.data.arrow_build import rows as arrow_rows

        write_json(arrow_rows(table), out)
    elif fmt == "csv":
        write_csv(table, out)
    else:
        print_table(table, out)
