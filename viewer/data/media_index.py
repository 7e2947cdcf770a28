"""Read a run's media (images, histograms, tables, charts): pure Python, no Textual.

Everything comes from the media index (docs/format.md, "media"): Parquet parts plus
the journal tail of a live or crashed run, each record once. Paths in records are
relative to the run directory and are refused if they would leave it.

Captions, keys, table cells and chart titles are untrusted text written by a script:
show them as plain text (viewer/data/sanitize.py), never as markup.

    keys(run_dir)                      -> [MediaKey]   what was logged, by key
    images(run_dir, key, step=None)    -> [ImageItem]  image files (absolute paths)
    histogram_series(run_dir, key)     -> HistogramSeries (steps x bins x counts; .grid() for heatmaps)
    tables(run_dir, key=None)          -> [TableItem]  logged tables and charts
    load_table(run_dir, key, step=None)-> pyarrow.Table
    chart(run_dir, key, step=None)     -> Chart (chart kind, spec, data table)
    confusion_matrix(run_dir, key, step=None) -> ConfusionMatrix

The DuckDB views over these records are viewer.data.media_views.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from recorder import layout
from recorder.journal import decode_journal, media_index_schema, media_index_table

__all__ = [
    "Chart",
    "ConfusionMatrix",
    "HistogramSeries",
    "ImageItem",
    "MediaKey",
    "TableItem",
    "chart",
    "confusion_matrix",
    "histogram_series",
    "images",
    "keys",
    "load_table",
    "read_index",
    "steps",
    "tables",
]


# -- reading the index ---------------------------------------------------------------------
def read_index(run_dir: Path | str) -> pa.Table:
    """Every media record of one run (parts, then journal tails), sorted by step, key, idx."""
    run_dir = Path(run_dir)
    s = plain_schema()
    files = layout.live_stream_files(run_dir / layout.MEDIA_INDEX)
    pieces = []
    for part in files.parts:
        try:
            pieces.append(_conform(pq.read_table(part), s))
        except (OSError, pa.ArrowException):
            continue  # being replaced by compaction, or damaged: the rest still shows
    for journal in files.journals:
        try:
            records = decode_journal(journal.read_bytes())
        except OSError:
            continue
        if records:
            try:
                pieces.append(_conform(media_index_table(records, run_dir.name), s))
            except (pa.ArrowException, TypeError, ValueError):
                pieces.append(_conform(media_index_table([_clean(r) for r in records], run_dir.name), s))
    if not pieces:
        return s.empty_table()
    table = pa.concat_tables(pieces)
    return table.sort_by([("_step", "ascending"), ("key", "ascending"), ("idx", "ascending")])


def plain_schema() -> pa.Schema:
    # run_id as a plain string: tables from many runs concatenate without unifying dictionaries.
    return pa.schema(
        [pa.field(f.name, pa.string()) if f.name == layout.RUN_ID_COLUMN else f for f in media_index_schema()]
    )


def _conform(table: pa.Table, s: pa.Schema) -> pa.Table:
    cols = []
    for f in s:
        if f.name in table.column_names:
            col = table.column(f.name)
            cols.append(col if col.type == f.type else col.cast(f.type))
        else:
            cols.append(pa.nulls(table.num_rows, f.type))
    return pa.Table.from_arrays(cols, schema=s)


def _clean(r: dict[str, Any]) -> dict[str, Any]:
    # A hand-edited or foreign journal line with odd types: keep what fits the schema.
    out: dict[str, Any] = {}
    for k, t in (("_step", int), ("_timestamp", float), ("idx", int), ("width", int), ("height", int), ("nrows", int)):
        v = r.get(k)
        out[k] = t(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None
    for k in ("key", "kind", "path", "format", "caption", "chart", "spec"):
        v = r.get(k)
        out[k] = v if isinstance(v, str) else None
    for k in ("bins", "counts"):
        v = r.get(k)
        out[k] = [float(x) if isinstance(x, (int, float)) else None for x in v] if isinstance(v, list) else None
    v = r.get("columns")
    out["columns"] = [str(x) for x in v] if isinstance(v, list) else None
    return out


def _records(run_dir: Path | str, key: str | None = None, kind: str | tuple[str, ...] | None = None) -> list[dict]:
    rows = read_index(run_dir).to_pylist()
    if key is not None:
        rows = [r for r in rows if r["key"] == key]
    if kind is not None:
        kinds = (kind,) if isinstance(kind, str) else kind
        rows = [r for r in rows if r["kind"] in kinds]
    return rows


def resolve(run_dir: Path | str, rel: str | None) -> Path | None:
    """The file a record points at, or None when the path is missing or leaves the run."""
    if not rel:
        return None
    base = Path(run_dir).absolute()
    try:
        p = layout.inside(base, rel)
        p.resolve().relative_to(base.resolve())
    except (ValueError, OSError):
        return None
    return p


# -- what was logged -----------------------------------------------------------------------
@dataclass(frozen=True)
class MediaKey:
    key: str
    kind: str  # image | histogram | table | plot
    chart: str | None  # for plots: line, scatter, bar, histogram, line_series, confusion_matrix
    count: int  # records (an image list counts each image)
    steps: int  # distinct steps
    first_step: int
    last_step: int


def keys(run_dir: Path | str) -> list[MediaKey]:
    by_key: dict[tuple[str, str], dict[str, Any]] = {}
    for r in read_index(run_dir).to_pylist():
        k = (r["key"], r["kind"])
        e = by_key.setdefault(k, {"chart": r["chart"], "count": 0, "steps": set()})
        e["count"] += 1
        e["steps"].add(r["_step"])
        e["chart"] = r["chart"] or e["chart"]
    return [
        MediaKey(key, kind, e["chart"], e["count"], len(e["steps"]), min(e["steps"]), max(e["steps"]))
        for (key, kind), e in sorted(by_key.items())
    ]


def steps(run_dir: Path | str, key: str) -> list[int]:
    return sorted({r["_step"] for r in _records(run_dir, key)})


# -- images --------------------------------------------------------------------------------
@dataclass(frozen=True)
class ImageItem:
    step: int
    idx: int  # position in a logged list (0 for a single image)
    path: Path | None  # absolute file; None if the record's path is unsafe
    width: int
    height: int
    caption: str | None  # untrusted: show as plain text
    timestamp: float
    exists: bool


def images(run_dir: Path | str, key: str, step: int | None = None) -> list[ImageItem]:
    """Images of `key`, in step then list order; only `step`'s when given."""
    out = []
    for r in _records(run_dir, key, layout.MEDIA_KIND_IMAGE):
        if step is not None and r["_step"] != step:
            continue
        p = resolve(run_dir, r["path"])
        out.append(
            ImageItem(
                r["_step"],
                r["idx"] or 0,
                p,
                r["width"] or 0,
                r["height"] or 0,
                r["caption"],
                r["_timestamp"] or 0.0,
                p is not None and p.is_file(),
            )
        )
    return out


def load_image_rgb(
    path: Path | str, max_size: tuple[int, int] | None = None, upscale: bool = False
) -> tuple[int, int, bytes]:
    """(width, height, RGB bytes) of an image file, shrunk to fit max_size (needs Pillow).

    With `upscale`, a smaller image is also enlarged (nearest neighbour) to fill max_size,
    keeping its aspect ratio: an 8x8 digit becomes readable in a terminal.
    """
    from PIL import Image as PILImage

    with PILImage.open(path) as opened:
        im = opened.convert("RGB")
        if max_size is not None:
            mw, mh = max(1, int(max_size[0])), max(1, int(max_size[1]))
            if upscale and im.width < mw and im.height < mh:
                scale = min(mw / im.width, mh / im.height)
                size = (max(1, int(im.width * scale)), max(1, int(im.height * scale)))
                im = im.resize(size, PILImage.Resampling.NEAREST)
            else:
                im.thumbnail((mw, mh))
        return im.width, im.height, im.tobytes()


# -- histograms ----------------------------------------------------------------------------
@dataclass
class HistogramSeries:
    key: str
    steps: list[int] = field(default_factory=list)
    bins: list[list[float]] = field(default_factory=list)  # per step: edges (len counts + 1)
    counts: list[list[float]] = field(default_factory=list)  # per step

    def __len__(self) -> int:
        return len(self.steps)

    def latest(self) -> tuple[int, list[float], list[float]] | None:
        return (self.steps[-1], self.bins[-1], self.counts[-1]) if self.steps else None

    def grid(self, num_bins: int = 32) -> tuple[list[float], list[list[float]]]:
        """Every step re-binned onto one shared range: (edges, rows[step][bin]) for a heatmap.

        Counts are spread over the shared bins in proportion to overlap (values are taken
        as uniform inside a bin), so each row keeps its total.
        """
        finite = [(b[0], b[-1]) for b in self.bins if b and b[0] is not None and b[-1] is not None]
        if not finite:
            return [], []
        lo = min(a for a, _ in finite)
        hi = max(b for _, b in finite)
        if hi <= lo:
            hi = lo + 1.0
        width = (hi - lo) / num_bins
        edges = [lo + i * width for i in range(num_bins)] + [hi]
        rows = []
        for b, c in zip(self.bins, self.counts):
            row = [0.0] * num_bins
            for i, n in enumerate(c):
                if not n or b[i] is None or b[i + 1] is None:
                    continue
                a, z = b[i], b[i + 1]
                if z <= a:
                    row[min(num_bins - 1, max(0, int((a - lo) / width)))] += n
                    continue
                first = max(0, int((a - lo) / width))
                last = min(num_bins - 1, int((z - lo) / width))
                for j in range(first, last + 1):
                    overlap = min(z, edges[j + 1]) - max(a, edges[j])
                    if overlap > 0:
                        row[j] += n * overlap / (z - a)
            rows.append(row)
        return edges, rows


def histogram_series(run_dir: Path | str, key: str) -> HistogramSeries:
    s = HistogramSeries(key)
    for r in _records(run_dir, key, layout.MEDIA_KIND_HISTOGRAM):
        if r["idx"]:
            continue  # a list of histograms under one key: the series follows the first
        s.steps.append(r["_step"])
        s.bins.append(r["bins"] or [])
        s.counts.append(r["counts"] or [])
    return s


# -- tables and charts ---------------------------------------------------------------------
@dataclass(frozen=True)
class TableItem:
    step: int
    key: str
    kind: str  # table | plot
    chart: str | None
    path: Path | None  # the Parquet file (absolute), None if unsafe
    nrows: int
    columns: list[str]
    spec: dict[str, Any]  # chart fields; "image_columns" lists columns whose cells are image paths


def tables(run_dir: Path | str, key: str | None = None) -> list[TableItem]:
    out = []
    for r in _records(run_dir, key, (layout.MEDIA_KIND_TABLE, layout.MEDIA_KIND_PLOT)):
        try:
            spec = json.loads(r["spec"]) if r["spec"] else {}
        except ValueError:
            spec = {}
        out.append(
            TableItem(
                r["_step"],
                r["key"],
                r["kind"],
                r["chart"],
                resolve(run_dir, r["path"]),
                r["nrows"] or 0,
                list(r["columns"] or []),
                spec if isinstance(spec, dict) else {},
            )
        )
    return out


def _pick(run_dir: Path | str, key: str, step: int | None) -> TableItem:
    items = tables(run_dir, key)
    if step is not None:
        items = [t for t in items if t.step == step]
    if not items:
        raise KeyError(f"no table {key!r}" + (f" at step {step}" if step is not None else ""))
    return items[-1]


def load_table(run_dir: Path | str, key: str, step: int | None = None) -> pa.Table:
    """The table logged under `key` (at `step`, else the latest)."""
    item = _pick(run_dir, key, step)
    if item.path is None:
        raise KeyError(f"table {key!r} has an unsafe path")
    return pq.read_table(item.path)


def image_cell_path(run_dir: Path | str, cell: str | None) -> Path | None:
    """An image column's cell (a path inside the run) as an absolute path, if safe."""
    return resolve(run_dir, cell)


@dataclass
class Chart:
    chart: str
    spec: dict[str, Any]
    table: pa.Table
    step: int


def chart(run_dir: Path | str, key: str, step: int | None = None) -> Chart:
    item = _pick(run_dir, key, step)
    if item.path is None:
        raise KeyError(f"chart {key!r} has an unsafe path")
    return Chart(item.chart or "table", item.spec, pq.read_table(item.path), item.step)


@dataclass
class ConfusionMatrix:
    class_names: list[str]
    counts: list[list[int]]  # counts[actual][predicted]
    title: str | None
    step: int

    @property
    def total(self) -> int:
        return sum(map(sum, self.counts))


def confusion_matrix(run_dir: Path | str, key: str, step: int | None = None) -> ConfusionMatrix:
    c = chart(run_dir, key, step)
    spec = c.spec
    actual = c.table.column(spec.get("actual", "Actual")).to_pylist()
    predicted = c.table.column(spec.get("predicted", "Predicted")).to_pylist()
    values = c.table.column(spec.get("value", "nPredictions")).to_pylist()
    names = [str(n) for n in spec.get("class_names") or []]
    for n in (*actual, *predicted):
        if str(n) not in names:
            names.append(str(n))
    pos = {n: i for i, n in enumerate(names)}
    counts = [[0] * len(names) for _ in names]
    for a, p, v in zip(actual, predicted, values):
        counts[pos[str(a)]][pos[str(p)]] += int(v or 0)
    return ConfusionMatrix(names, counts, spec.get("title"), c.step)
