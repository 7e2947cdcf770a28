"""recorder.Table: rows and named columns, stored as one Parquet file per log() call."""

from __future__ import annotations

from typing import Any

from recorder.media.image import Image


class Table:
    """`Table(columns=[...], data=[[...], ...])`, `Table(dataframe=df)`, then `add_data(...)`.

    Cells may be numbers, strings, booleans, None or Images (stored as image files; the
    cell holds the file's path inside the run). Anything else is stored as its str().
    Logging takes a snapshot: rows added afterwards go into the next log() only.
    """

    _loupe_media = True
    kind = "table"

    def __init__(
        self,
        columns: Any = None,
        data: Any = None,
        rows: Any = None,
        dataframe: Any = None,
        dtype: Any = None,
        optional: Any = True,
        allow_mixed_types: bool = False,
    ) -> None:
        data = data if data is not None else rows
        if dataframe is not None:
            columns = [str(c) for c in dataframe.columns]
            data = [list(r) for r in dataframe.itertuples(index=False, name=None)]
        elif data is not None and columns is None and hasattr(data, "columns") and hasattr(data, "itertuples"):
            columns = [str(c) for c in data.columns]
            data = [list(r) for r in data.itertuples(index=False, name=None)]
        data = [list(r) for r in (data.tolist() if hasattr(data, "tolist") else (data or []))]
        if columns is None:
            width = len(data[0]) if data else 0
            columns = [f"col{i}" for i in range(width)]
        self.columns: list[str] = [str(c) for c in columns]
        if len(set(self.columns)) != len(self.columns):
            raise ValueError(f"Table(): column names must be distinct, got {self.columns}")
        self.data: list[list[Any]] = []
        for row in data:
            self.add_data(*row)

    def add_data(self, *row: Any) -> None:
        if len(row) != len(self.columns):
            raise ValueError(f"Table.add_data(): expected {len(self.columns)} values, got {len(row)}")
        self.data.append(list(row))

    def add_column(self, name: str, data: Any, optional: bool = False) -> None:
        name = str(name)
        if name in self.columns:
            raise ValueError(f"Table.add_column(): column {name!r} already exists")
        values = list(data.tolist() if hasattr(data, "tolist") else data)
        if self.data and len(values) != len(self.data):
            raise ValueError(f"Table.add_column(): expected {len(self.data)} values, got {len(values)}")
        if not self.data:
            self.data = [[] for _ in values]
        self.columns.append(name)
        for r, v in zip(self.data, values):
            r.append(v)

    def get_column(self, name: str, convert_to: str | None = None) -> Any:
        i = self.columns.index(name)
        values = [r[i] for r in self.data]
        if convert_to == "numpy":
            import numpy as np

            return np.array(values)
        return values

    def get_index(self) -> list[int]:
        return list(range(len(self.data)))

    def iterrows(self):
        yield from enumerate(self.data)

    def snapshot(self) -> Table:
        """A copy whose rows the caller can no longer change (cells are shared)."""
        t = Table.__new__(Table)
        t.columns = list(self.columns)
        t.data = [list(r) for r in self.data]
        return t

    @property
    def nbytes(self) -> int:
        n = 64 * len(self.columns) * max(1, len(self.data))
        for r in self.data:
            for v in r:
                if isinstance(v, Image):
                    n += v.nbytes
        return n

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        return f"<Table {len(self.data)} rows x {len(self.columns)} columns {self.columns}>"


def column_array(values: list[Any]):
    """An Arrow array for one column: bool, int64, double or string (in that order of preference)."""
    import pyarrow as pa

    kinds = set()
    clean = []
    for v in values:
        if v is not None and hasattr(v, "item") and getattr(v, "ndim", 1) == 0:
            v = v.item()
        clean.append(v)
        if v is None:
            continue
        t = type(v)
        kinds.add("bool" if t is bool else "int" if t is int else "float" if t is float else "str")
    if kinds == {"bool"}:
        return pa.array(clean, pa.bool_())
    if kinds == {"int"}:
        try:
            return pa.array(clean, pa.int64())
        except (OverflowError, pa.ArrowInvalid):
            pass
    if kinds and kinds <= {"int", "float", "bool"}:
        return pa.array([None if v is None else float(v) for v in clean], pa.float64())
    return pa.array([None if v is None else (v if isinstance(v, str) else str(v)) for v in clean], pa.string())
