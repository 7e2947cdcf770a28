"""wandb.plot: charts stored as their data (a Table) plus which chart to draw.

    wandb.log({"conf_mat": wandb.plot.confusion_matrix(y_true=ys, preds=ps, class_names=names)})

Each function returns a CustomChart; logging it writes the table as Parquet and an
index record with `chart` (line, scatter, bar, histogram, line_series,
confusion_matrix) and `spec` (JSON: which columns are x/y/..., title, class names).
"""

from __future__ import annotations

from typing import Any

from recorder.media.table import Table

__all__ = ["CustomChart", "bar", "confusion_matrix", "histogram", "line", "line_series", "scatter"]


class CustomChart:
    _loupe_media = True
    kind = "plot"

    def __init__(self, chart: str, table: Table, spec: dict[str, Any]) -> None:
        if not isinstance(table, Table):
            raise TypeError(f"plot.{chart}(): expected a recorder.Table, got {type(table).__name__}")
        self.chart = chart
        self.table = table
        self.spec = {k: v for k, v in spec.items() if v is not None}

    def __repr__(self) -> str:
        return f"<CustomChart {self.chart} {self.spec}>"


def _need_columns(fn: str, table: Table, *cols: str) -> None:
    for c in cols:
        if c not in table.columns:
            raise ValueError(f"plot.{fn}(): table has no column {c!r} (columns: {table.columns})")


def line(
    table: Table, x: str, y: str, stroke: str | None = None, title: str | None = None, split_table: bool = False
) -> CustomChart:
    _need_columns("line", table, x, y, *([stroke] if stroke else []))
    return CustomChart("line", table, {"x": x, "y": y, "stroke": stroke, "title": title})


def scatter(table: Table, x: str, y: str, title: str | None = None, split_table: bool = False) -> CustomChart:
    _need_columns("scatter", table, x, y)
    return CustomChart("scatter", table, {"x": x, "y": y, "title": title})


def bar(table: Table, label: str, value: str, title: str | None = None, split_table: bool = False) -> CustomChart:
    _need_columns("bar", table, label, value)
    return CustomChart("bar", table, {"label": label, "value": value, "title": title})


def histogram(table: Table, value: str, title: str | None = None, split_table: bool = False) -> CustomChart:
    _need_columns("histogram", table, value)
    return CustomChart("histogram", table, {"value": value, "title": title})


def line_series(
    xs: Any, ys: Any, keys: Any = None, title: str | None = None, xname: str | None = None, split_table: bool = False
) -> CustomChart:
    """Several lines in one chart; stored long: columns step, lineKey, lineVal."""
    ys = [list(_tolist(y)) for y in ys]
    xs_l = _tolist(xs)
    shared = not xs_l or not isinstance(xs_l[0], (list, tuple))
    keys = list(keys) if keys is not None else [f"key_{i}" for i in range(len(ys))]
    if len(keys) != len(ys):
        raise ValueError("plot.line_series(): keys and ys differ in length")
    t = Table(columns=["step", "lineKey", "lineVal"])
    for i, y in enumerate(ys):
        x = xs_l if shared else list(xs_l[i])
        for xv, yv in zip(x, y):
            t.add_data(xv, str(keys[i]), yv)
    return CustomChart(
        "line_series",
        t,
        {
            "x": "step",
            "y": "lineVal",
            "stroke": "lineKey",
            "title": title,
            "xname": xname or "x",
            "keys": [str(k) for k in keys],
        },
    )


def confusion_matrix(
    probs: Any = None,
    y_true: Any = None,
    preds: Any = None,
    class_names: Any = None,
    title: str | None = None,
    split_table: bool = False,
) -> CustomChart:
    """Counts per (actual, predicted) class, every pair present (zeros included).

    Table columns: Actual, Predicted (class names), nPredictions; spec.class_names keeps
    their order, so a reader can rebuild the matrix.
    """
    if y_true is None:
        raise ValueError("plot.confusion_matrix(): y_true is required")
    if (probs is None) == (preds is None):
        raise ValueError("plot.confusion_matrix(): give exactly one of probs= or preds=")
    y_true = [int(v) for v in _tolist(y_true)]
    if probs is not None:
        preds = [max(range(len(row)), key=row.__getitem__) for row in (list(_tolist(r)) for r in _tolist(probs))]
    preds = [int(v) for v in _tolist(preds)]
    if len(preds) != len(y_true):
        raise ValueError(f"plot.confusion_matrix(): {len(y_true)} labels but {len(preds)} predictions")
    if min([*y_true, *preds], default=0) < 0:
        raise ValueError("plot.confusion_matrix(): class indices must be >= 0")
    n = max([*y_true, *preds], default=-1) + 1
    if class_names is None:
        class_names = [f"Class_{i + 1}" for i in range(n)]
    class_names = [str(c) for c in class_names]
    if n > len(class_names):
        raise ValueError(f"plot.confusion_matrix(): class index {n - 1} but only {len(class_names)} class names")
    k = len(class_names)
    counts = [[0] * k for _ in range(k)]
    for t, p in zip(y_true, preds):
        counts[t][p] += 1
    table = Table(columns=["Actual", "Predicted", "nPredictions"])
    for i in range(k):
        for j in range(k):
            table.add_data(class_names[i], class_names[j], counts[i][j])
    return CustomChart(
        "confusion_matrix",
        table,
        {
            "actual": "Actual",
            "predicted": "Predicted",
            "value": "nPredictions",
            "class_names": class_names,
            "title": title,
        },
    )


def _tolist(v: Any) -> list:
    if hasattr(v, "detach"):
        v = v.detach().cpu()
    tolist = getattr(v, "tolist", None)
    return tolist() if callable(tolist) else list(v)
