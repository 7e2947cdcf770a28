"""The media pane: one run's images, histograms, tables and charts, browsed by key and step.

For the first selected run (`[`/`]` cycle through the selection) a key list shows what
was logged; `k` narrows it to one kind. The chosen key is drawn by kind:

    image       half-block pixels ('▀', fg = upper pixel, bg = lower) sized to the pane;
                without Pillow, the file's path and size instead
    histogram   a step x bin heatmap over every logged step, and one step's bars (plotext)
    table       a DataTable: header click sorts, `/` filters over cell text, 1,000 rows shown
    confusion   a grid of counts, shaded by share of the row
    chart       line / scatter / bar / histogram / line_series drawn from the chart's table

`left`/`right` (or `,`/`.`) move between logged steps (the last step follows live runs),
`v` cycles the images logged as a list at one step. Decoding, resizing, re-binning and
sorting run in thread workers through viewer.media_index; every caption, key and cell is
plain text (viewer.sanitize), never markup.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.color import Color
from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, ScrollableContainer, Vertical
from textual.widgets import ContentSwitcher, DataTable, Input, OptionList, Static
from textual.widgets.option_list import Option

from .. import media_index
from ..sanitize import sanitize
from .metric_plot import SafePlot
from .pane import Pane

KIND_FILTERS = ("all", "image", "histogram", "table", "chart")
TABLE_ROW_CAP = 1000        # rows put in the DataTable at once
TABLE_LOAD_CAP = 200_000    # rows read into memory for sorting and filtering
CHART_POINT_CAP = 2000      # points per series handed to plotext
CELL_CHARS = 80
FILTER_DEBOUNCE_S = 0.15
CONFUSION_MAX_CLASSES = 40
HALF = "▀"
SERIES_COLORS = ((0, 200, 200), (220, 80, 220), (230, 200, 40), (80, 200, 80), (230, 70, 70),
                 (90, 130, 255), (255, 150, 40), (220, 220, 220))
# A dark-to-bright ramp (viridis-like) for heatmaps.
RAMP = ((68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37))


def view_kind(mk: media_index.MediaKey) -> str:
    """Which view draws a key: image, histogram, table, confusion or chart."""
    if mk.kind == "plot":
        return "confusion" if mk.chart == "confusion_matrix" else "chart"
    return mk.kind if mk.kind in ("image", "histogram", "table") else "table"


def filter_kind(mk: media_index.MediaKey) -> str:
    k = view_kind(mk)
    return "chart" if k == "confusion" else k


# -- pure rendering helpers (run in workers) ------------------------------------------------
def half_block_text(width: int, height: int, rgb: bytes) -> Text:
    """RGB pixels as terminal cells: each '▀' shows two pixel rows (fg upper, bg lower)."""
    text = Text(no_wrap=True, overflow="crop")
    styles: dict[tuple, Style] = {}

    def px(x: int, y: int) -> tuple[int, int, int]:
        i = (y * width + x) * 3
        return rgb[i], rgb[i + 1], rgb[i + 2]

    for y in range(0, height, 2):
        if y:
            text.append("\n")
        for x in range(width):
            top = px(x, y)
            bottom = px(x, y + 1) if y + 1 < height else None
            key = (top, bottom)
            style = styles.get(key)
            if style is None:
                style = Style(color=Color.from_rgb(*top),
                              bgcolor=Color.from_rgb(*bottom) if bottom is not None else None)
                styles[key] = style
            text.append(HALF, style)
    return text


def ramp_color(v: float) -> tuple[int, int, int]:
    """0..1 onto RAMP (values outside are clamped)."""
    if not math.isfinite(v):
        v = 0.0
    v = min(1.0, max(0.0, v)) * (len(RAMP) - 1)
    i = min(len(RAMP) - 2, int(v))
    f = v - i
    a, b = RAMP[i], RAMP[i + 1]
    return tuple(int(round(a[k] + (b[k] - a[k]) * f)) for k in range(3))  # type: ignore[return-value]


def fmt(v: Any) -> str:
    if isinstance(v, float):
        if not math.isfinite(v):
            return str(v)
        return f"{v:.4g}"
    return str(v)


def heatmap_text(steps: list[int], edges: list[float], rows: list[list[float]], height: int,
                 marked_step: int | None = None) -> Text:
    """Steps down, bins across: half-block cells coloured by each step's counts (row-normalised).

    At most 2*height steps are drawn (evenly sampled, the last always kept); the left column
    names the step of each text row, ▶ marks the row holding `marked_step`.
    """
    text = Text(no_wrap=True, overflow="crop")
    if not rows or not edges:
        text.append("no histogram data", style="dim")
        return text
    n = len(rows)
    limit = max(2, 2 * max(1, height))
    if n > limit:
        picks = sorted({round(i * (n - 1) / (limit - 1)) for i in range(limit)})
    else:
        picks = list(range(n))
    bins = len(rows[0])
    norm = []
    for i in picks:
        row = rows[i]
        top = max(row) if row else 0.0
        norm.append([(c / top) if top > 0 else 0.0 for c in row])
    empty = (0, 0, 0)
    label_w = max(len(str(s)) for s in steps) + 2
    for r in range(0, len(picks), 2):
        if r:
            text.append("\n")
        upper, lower = picks[r], picks[r + 1] if r + 1 < len(picks) else None
        held = {steps[upper]} | ({steps[lower]} if lower is not None else set())
        mark = "▶" if marked_step is not None and marked_step in held else " "
        text.append(f"{mark}{steps[upper]:>{label_w - 2}} ", style="bold" if mark != " " else "dim")
        for b in range(bins):
            tv = norm[r][b]
            top = ramp_color(tv) if tv > 0 else empty
            if lower is not None:
                bv = norm[r + 1][b]
                bottom = ramp_color(bv) if bv > 0 else empty
                text.append(HALF, Style(color=Color.from_rgb(*top), bgcolor=Color.from_rgb(*bottom)))
            else:
                text.append(HALF, Style(color=Color.from_rgb(*top)))
    text.append("\n")
    lo, hi = fmt(edges[0]), fmt(edges[-1])
    gap = max(1, bins - len(lo) - len(hi))
    text.append(" " * label_w + lo + " " * gap + hi, style="dim")
    return text


def confusion_text(cm: media_index.ConfusionMatrix, max_classes: int = CONFUSION_MAX_CLASSES) -> Text:
    """Rows are actual classes, columns predicted; each cell's shade is its share of the row."""
    names = [sanitize(n) for n in cm.class_names]
    k = min(len(names), max_classes)
    text = Text(no_wrap=True, overflow="crop")
    if not names:
        text.append("empty confusion matrix", style="dim")
        return text
    top = max((c for row in cm.counts for c in row), default=0)
    cell = max(5, len(str(top)) + 2, *(min(8, len(n)) + 1 for n in names[:k]))
    label = min(16, max(len(n) for n in names[:k])) + 1
    text.append(" " * (label + 1))
    for n in names[:k]:
        text.append(n[: cell - 1].rjust(cell), style="bold")
    for i in range(k):
        text.append("\n")
        text.append(names[i][:label].ljust(label) + " ", style="bold")
        total = sum(cm.counts[i]) or 1
        for j in range(k):
            c = cm.counts[i][j]
            share = c / total
            if c == 0:
                style = Style(color="grey50")
            else:
                base = (40, 170, 80) if i == j else (200, 70, 60)
                bg = tuple(int(20 + (b - 20) * (0.25 + 0.75 * share)) for b in base)
                style = Style(color="white" if share < 0.6 else "black", bgcolor=Color.from_rgb(*bg))
            text.append(str(c).rjust(cell - 1) + " ", style)
    correct = sum(cm.counts[i][i] for i in range(len(names)))
    text.append("\n")
    acc = f"{correct / cm.total:.1%}" if cm.total else "n/a"
    text.append(f"\n{cm.total} predictions, accuracy {acc}", style="dim")
    if len(names) > k:
        text.append(f"; showing {k} of {len(names)} classes", style="dim")
    return text


def cell_text(value: Any) -> Text:
    s = sanitize(fmt(value) if value is not None else "")
    if len(s) > CELL_CHARS:
        s = s[: CELL_CHARS - 1] + "…"
    text = Text(s)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        text.justify = "right"
    return text


def _sort_key(value: Any) -> tuple:
    if value is None:
        return (2, 0.0, "")
    if isinstance(value, bool):
        return (0, float(value), "")
    if isinstance(value, (int, float)):
        return (0, float(value) if math.isfinite(value) else math.inf, "")
    return (1, 0.0, str(value))


def table_view(rows: list[tuple], query: str, sort_col: int | None, desc: bool) -> list[int]:
    """Indices of the rows whose cell text holds `query` (case-insensitive), sorted by a column."""
    q = query.strip().lower()
    if q:
        idx = [i for i, r in enumerate(rows) if any(q in str(v).lower() for v in r if v is not None)]
    else:
        idx = list(range(len(rows)))
    if sort_col is not None:
        present = [i for i in idx if rows[i][sort_col] is not None]
        missing = [i for i in idx if rows[i][sort_col] is None]
        present.sort(key=lambda i: _sort_key(rows[i][sort_col]), reverse=desc)
        idx = present + missing  # empty cells last either way
    return idx


def _strided(values: list, cap: int = CHART_POINT_CAP) -> list:
    if len(values) <= cap:
        return values
    step = len(values) / cap
    return [values[int(i * step)] for i in range(cap)]


def _numbers(values: list) -> list[float | None]:
    out: list[float | None] = []
    for v in values:
        if isinstance(v, bool):
            out.append(float(v))
        elif isinstance(v, (int, float)) and math.isfinite(v):
            out.append(float(v))
        else:
            try:
                f = float(v)
                out.append(f if math.isfinite(f) else None)
            except (TypeError, ValueError):
                out.append(None)
    return out


@dataclass
class ChartData:
    chart: str
    title: str
    xlabel: str = ""
    ylabel: str = ""
    series: list[tuple[str, list[float], list[float]]] = field(default_factory=list)  # name, xs, ys
    labels: list[str] = field(default_factory=list)   # bar charts
    values: list[float] = field(default_factory=list)  # bar heights or histogram values
    note: str = ""


def chart_data(c: media_index.Chart) -> ChartData:
    """A logged chart's table turned into plain lists for plotext (labels sanitised)."""
    spec, table = c.spec, c.table
    cols = set(table.column_names)

    def col(name: Any) -> list:
        return table.column(name).to_pylist() if isinstance(name, str) and name in cols else []

    title = sanitize(spec.get("title") or "")
    out = ChartData(c.chart, title)
    if c.chart in ("line", "scatter", "line_series"):
        x, y, stroke = spec.get("x"), spec.get("y"), spec.get("stroke")
        out.xlabel = sanitize(spec.get("xname") or x or "")
        out.ylabel = sanitize(y or "")
        xs, ys = _numbers(col(x)), _numbers(col(y))
        groups: dict[str, list[tuple[float, float]]] = {}
        strokes = col(stroke) if stroke else [None] * len(xs)
        for xv, yv, sv in zip(xs, ys, strokes):
            if xv is None or yv is None:
                continue
            groups.setdefault(sanitize("" if sv is None else sv), []).append((xv, yv))
        for name, pts in list(groups.items())[: len(SERIES_COLORS) * 2]:
            if c.chart != "scatter":
                pts.sort()
            pts = _strided(pts)
            out.series.append((name, [p[0] for p in pts], [p[1] for p in pts]))
        if len(groups) > len(SERIES_COLORS) * 2:
            out.note = f"showing {len(SERIES_COLORS) * 2} of {len(groups)} lines"
    elif c.chart == "bar":
        labels, values = col(spec.get("label")), _numbers(col(spec.get("value")))
        pairs = [(sanitize(lv)[:20], v) for lv, v in zip(labels, values) if v is not None]
        if len(pairs) > 60:
            out.note = f"showing 60 of {len(pairs)} bars"
            pairs = pairs[:60]
        out.labels = [p[0] for p in pairs]
        out.values = [p[1] for p in pairs]
        out.xlabel, out.ylabel = sanitize(spec.get("label") or ""), sanitize(spec.get("value") or "")
    elif c.chart == "histogram":
        out.values = [v for v in _numbers(col(spec.get("value"))) if v is not None]
        out.xlabel = sanitize(spec.get("value") or "")
    else:
        out.note = f"no drawing for chart type {sanitize(c.chart)!r}; its table is under the table view"
    return out


# -- what a worker hands back ---------------------------------------------------------------
@dataclass
class ItemView:
    kind: str                       # image, histogram, table, confusion, chart, empty
    key: str
    steps: list[int]
    step: int | None
    info: str = ""
    caption: str = ""
    body: Text | None = None        # image pixels, heatmap, confusion grid, or a message
    bars: tuple[list[float], list[float]] | None = None
    chart: ChartData | None = None
    columns: list[str] = field(default_factory=list)
    rows: list[tuple] = field(default_factory=list)
    total_rows: int = 0
    image_count: int = 0
    image_idx: int = 0


def pick_step(steps: list[int], wanted: int | None) -> int | None:
    """`wanted` if logged, else the closest earlier step; None (follow the latest) -> last."""
    if not steps:
        return None
    if wanted is None:
        return steps[-1]
    earlier = [s for s in steps if s <= wanted]
    return earlier[-1] if earlier else steps[0]


def load_item(run_dir: Path, mk: media_index.MediaKey, wanted_step: int | None, image_idx: int,
              size: tuple[int, int]) -> ItemView:
    """Everything one key's view needs, read through media_index (call from a worker)."""
    kind = view_kind(mk)
    width, height = max(8, size[0]), max(4, size[1])
    if kind == "image":
        items = media_index.images(run_dir, mk.key)
        steps = sorted({i.step for i in items})
        step = pick_step(steps, wanted_step)
        at = [i for i in items if i.step == step]
        view = ItemView("image", mk.key, steps, step, image_count=len(at))
        if not at:
            view.body = Text("no images logged under this key", style="dim")
            return view
        idx = image_idx % len(at)
        item = at[idx]
        view.image_idx = idx
        view.caption = sanitize(item.caption or "")
        pos = steps.index(step) + 1
        view.info = f"step {step}  ({pos}/{len(steps)})"
        if len(at) > 1:
            view.info += f"  ·  image {idx + 1}/{len(at)} (v)"
        view.info += f"  ·  {item.width}×{item.height}px"
        view.body = image_text(item, width, height)
        return view
    if kind == "histogram":
        series = media_index.histogram_series(run_dir, mk.key)
        steps = list(series.steps)
        step = pick_step(sorted(set(steps)), wanted_step)
        view = ItemView("histogram", mk.key, sorted(set(steps)), step)
        if not steps:
            view.body = Text("no histograms logged under this key", style="dim")
            return view
        label_w = max(len(str(s)) for s in steps) + 2
        heat_rows = max(2, (height - 2) // 2)
        # Re-bin only the steps that get a pixel row (the last always among them).
        limit = 2 * (heat_rows - 1)
        picks = (sorted({round(i * (len(steps) - 1) / (limit - 1)) for i in range(limit)})
                 if len(steps) > limit else list(range(len(steps))))
        shown = media_index.HistogramSeries(series.key, [steps[i] for i in picks],
                                            [series.bins[i] for i in picks], [series.counts[i] for i in picks])
        edges, rows = shown.grid(max(4, min(200, width - label_w - 1)))
        view.body = heatmap_text(shown.steps, edges, rows, heat_rows - 1, marked_step=step)
        i = len(steps) - 1 - steps[::-1].index(step)
        bins, counts = series.bins[i], series.counts[i]
        if bins and len(bins) == len(counts) + 1:
            centers = [(a + b) / 2 for a, b in zip(bins, bins[1:]) if a is not None and b is not None]
            view.bars = (centers, [float(c or 0) for c in counts[: len(centers)]])
        total = sum(c or 0 for c in counts)
        view.info = (f"{len(steps)} steps ({steps[0]}…{steps[-1]}), heatmap row-normalised  ·  "
                     f"bars: step {step} ({sorted(set(steps)).index(step) + 1}/{len(set(steps))}), "
                     f"{fmt(total)} values")
        return view
    items = media_index.tables(run_dir, mk.key)
    steps = sorted({t.step for t in items})
    step = pick_step(steps, wanted_step)
    pos = f"step {step}  ({steps.index(step) + 1}/{len(steps)})" if steps else "nothing logged"
    if kind == "confusion":
        cm = media_index.confusion_matrix(run_dir, mk.key, step)
        view = ItemView("confusion", mk.key, steps, step, body=confusion_text(cm))
        view.info = pos + (f"  ·  {sanitize(cm.title)}" if cm.title else "") + "  ·  rows: actual, columns: predicted"
        return view
    if kind == "chart":
        c = media_index.chart(run_dir, mk.key, step)
        data = chart_data(c)
        view = ItemView("chart", mk.key, steps, step, chart=data)
        view.info = f"{pos}  ·  {sanitize(c.chart)} chart, {c.table.num_rows} rows" + (
            f"  ·  {data.note}" if data.note else "")
        return view
    table = media_index.load_table(run_dir, mk.key, step)
    total = table.num_rows
    if total > TABLE_LOAD_CAP:
        table = table.slice(0, TABLE_LOAD_CAP)
    columns = [sanitize(c) for c in table.column_names]
    data = [table.column(i).to_pylist() for i in range(table.num_columns)]
    rows = list(zip(*data)) if data else []
    view = ItemView("table", mk.key, steps, step, columns=columns, rows=rows, total_rows=total)
    view.info = f"{pos}  ·  {total} rows × {len(columns)} columns"
    if total > TABLE_LOAD_CAP:
        view.info += f" (first {TABLE_LOAD_CAP} loaded)"
    return view


def image_text(item: media_index.ImageItem, width: int, height: int) -> Text:
    """The image in half-blocks fitted to width x height cells, or a plain line saying why not."""
    if item.path is None:
        return Text("this image's path leaves the run directory; not shown", style="dim")
    if not item.exists:
        return Text(sanitize(f"image file missing: {item.path}"), style="dim")
    try:
        w, h, data = media_index.load_image_rgb(item.path, (width, height * 2), upscale=True)
    except ImportError:
        return Text(sanitize(f"image: {item.path}\n{item.width}×{item.height}px "
                             "(install Pillow to see images here)", keep_newlines=True))
    except Exception as exc:
        return Text(sanitize(f"cannot decode {item.path}: {exc}"), style="dim")
    return half_block_text(w, h, data)


# -- the pane -------------------------------------------------------------------------------
class MediaPane(Pane):
    BINDINGS = [
        Binding("left_square_bracket", "run(-1)", "Prev run", show=False),
        Binding("right_square_bracket", "run(1)", "Next run", show=False),
        Binding("left,comma", "step(-1)", "Step ◀"),
        Binding("right,full_stop", "step(1)", "Step ▶"),
        Binding("v", "next_image", "Next image", show=False),
        Binding("k", "kind", "Kind"),
        Binding("slash", "focus_filter", "Filter", show=False),
        Binding("enter", "open", "Open", show=False),
    ]
    DEFAULT_CSS = """
    MediaPane { height: 1fr; }
    MediaPane #media-status { height: 1; color: $text-muted; padding: 0 1; }
    MediaPane #media-keys { width: 34; height: 1fr; border: round $panel; }
    MediaPane #media-keys:focus { border: round $accent; }
    MediaPane #media-view { width: 1fr; height: 1fr; }
    MediaPane #media-view > Vertical { height: 1fr; }
    MediaPane .info { height: auto; max-height: 2; padding: 0 1; color: $text-muted; }
    MediaPane #media-caption { height: auto; max-height: 3; padding: 0 1; text-style: italic; }
    MediaPane #media-image { height: 1fr; }
    MediaPane #media-heatmap { height: 1fr; }
    MediaPane #media-bars { height: 1fr; min-height: 8; }
    MediaPane #media-table-filter { height: 3; }
    MediaPane #media-table { height: 1fr; }
    MediaPane #media-confusion-scroll { height: 1fr; }
    MediaPane #media-confusion { width: auto; }
    MediaPane #media-chart { height: 1fr; }
    MediaPane #media-empty { padding: 1 2; color: $text-muted; }
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.run_index = 0
        self.kind_filter = "all"
        self.keys: list[media_index.MediaKey] = []
        self.shown_keys: list[media_index.MediaKey] = []
        self.current: media_index.MediaKey | None = None
        self.wanted_step: int | None = None  # None: follow the last step
        self.image_idx = 0
        self.view: ItemView | None = None
        self.message = ""
        # table browsing
        self.table_filter = ""
        self.sort_col: int | None = None
        self.sort_desc = False
        self.table_shown = 0
        self.table_matched = 0
        self._keys_gen = 0
        self._item_gen = 0
        self._table_gen = 0
        self._filling_keys = False
        self._filter_timer = None

    def compose(self) -> ComposeResult:
        yield Static(id="media-status", markup=False)
        with Horizontal():
            yield OptionList(id="media-keys")
            with ContentSwitcher(id="media-view", initial="view-empty"):
                yield Static(id="view-empty", markup=False)
                with Vertical(id="view-image"):
                    yield Static(id="media-image-info", classes="info", markup=False)
                    yield Static(id="media-caption", markup=False)
                    yield Static(id="media-image", markup=False)
                with Vertical(id="view-histogram"):
                    yield Static(id="media-hist-info", classes="info", markup=False)
                    yield Static(id="media-heatmap", markup=False)
                    yield SafePlot(id="media-bars")
                with Vertical(id="view-table"):
                    yield Static(id="media-table-info", classes="info", markup=False)
                    yield Input(placeholder="filter rows by cell text", id="media-table-filter")
                    yield DataTable(id="media-table", zebra_stripes=True)
                with Vertical(id="view-confusion"):
                    yield Static(id="media-confusion-info", classes="info", markup=False)
                    with ScrollableContainer(id="media-confusion-scroll"):
                        yield Static(id="media-confusion", markup=False)
                with Vertical(id="view-chart"):
                    yield Static(id="media-chart-info", classes="info", markup=False)
                    yield SafePlot(id="media-chart")

    # -- helpers ----------------------------------------------------------------------------
    @property
    def current_run(self):
        if not self.runs:
            return None
        return self.runs[self.run_index % len(self.runs)]

    def _view_size(self) -> tuple[int, int]:
        w, h = self.query_one("#media-view").size
        if w < 10 or h < 6:
            w, h = max(40, (self.size.width or 120) - 36), max(12, (self.size.height or 30) - 2)
        return w, h

    def _set_status(self) -> None:
        run = self.current_run
        parts = []
        if run is not None:
            parts.append(f"run {run.name or run.id}")
            if len(self.runs) > 1:
                parts.append(f"{self.run_index % len(self.runs) + 1}/{len(self.runs)} selected ([ ] switch)")
            parts.append(f"{len(self.shown_keys)} of {len(self.keys)} keys")
            if self.kind_filter != "all":
                parts.append(f"kind: {self.kind_filter} (k)")
        if self.message:
            parts.append(self.message)
        self.query_one("#media-status", Static).update(Text(sanitize("  ·  ".join(parts))))

    def _empty(self, message: str) -> None:
        self.query_one("#view-empty", Static).update(Text(sanitize(message)))
        self.query_one(ContentSwitcher).current = "view-empty"

    # -- keys -------------------------------------------------------------------------------
    def reload(self) -> None:
        run = self.current_run
        self._keys_gen += 1
        if run is None:
            self.keys, self.shown_keys, self.current, self.view = [], [], None, None
            self._fill_keys()
            self._empty("select a run in the Runs tab to see its images, histograms and tables")
            self._set_status()
            return
        self._fetch_keys(self._keys_gen, run.path)

    @work(thread=True, exclusive=True, group="media-keys", exit_on_error=False)
    def _fetch_keys(self, gen: int, run_dir: Path) -> None:
        try:
            keys, error = media_index.keys(run_dir), ""
        except Exception as exc:
            keys, error = [], f"cannot read media: {exc}"
        self.app.call_from_thread(self._keys_loaded, gen, keys, error)

    def _keys_loaded(self, gen: int, keys: list[media_index.MediaKey], error: str) -> None:
        if gen != self._keys_gen:
            return
        self.keys = keys
        self.message = error
        self._fill_keys()
        if not self.shown_keys:
            self.current, self.view = None, None
            self._empty(error or ("this run logged no images, histograms, tables or charts" if not keys
                                  else f"no {self.kind_filter} keys (k changes the kind)"))
            self._set_status()
            return
        self._set_status()
        self.load_current()

    def _fill_keys(self) -> None:
        self.shown_keys = [k for k in self.keys if self.kind_filter in ("all", filter_kind(k))]
        current = (self.current.key, self.current.kind) if self.current else None
        same = [(k.key, k.kind) for k in self.shown_keys]
        if current not in same:
            self.current = self.shown_keys[0] if self.shown_keys else None
            self.wanted_step, self.image_idx = None, 0
            self._reset_table_state()
        else:
            self.current = self.shown_keys[same.index(current)]
        options = self.query_one("#media-keys", OptionList)
        self._filling_keys = True
        try:
            options.clear_options()
            options.add_options([self._key_option(k) for k in self.shown_keys])
            if self.current is not None:
                options.highlighted = self.shown_keys.index(self.current)
        finally:
            self._filling_keys = False

    @staticmethod
    def _key_option(mk: media_index.MediaKey) -> Option:
        kind = view_kind(mk)
        label = {"image": "img", "histogram": "hist", "table": "table", "confusion": "confusion",
                 "chart": sanitize(mk.chart or "chart")}[kind]
        text = Text(sanitize(mk.key))
        text.append(f"  {label}", style="dim")
        text.append(f" ×{mk.steps}" if mk.steps > 1 else "", style="dim")
        return Option(text)

    @on(OptionList.OptionHighlighted, "#media-keys")
    def _key_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if self._filling_keys:
            return
        i = event.option_index
        if 0 <= i < len(self.shown_keys) and self.shown_keys[i] != self.current:
            self.current = self.shown_keys[i]
            self.wanted_step, self.image_idx = None, 0
            self._reset_table_state()
            self.load_current()

    @on(OptionList.OptionSelected, "#media-keys")
    def _key_selected(self) -> None:
        self.action_open()

    # -- one key's view ---------------------------------------------------------------------
    def load_current(self) -> None:
        run, mk = self.current_run, self.current
        if run is None or mk is None:
            return
        self._item_gen += 1
        if self.view is None or self.view.key != mk.key:
            self.query_one("#view-empty", Static).update(Text("loading…", style="dim"))
        self._fetch_item(self._item_gen, run.path, mk, self.wanted_step, self.image_idx, self._view_size())

    @work(thread=True, exclusive=True, group="media-item", exit_on_error=False)
    def _fetch_item(self, gen: int, run_dir: Path, mk: media_index.MediaKey, wanted: int | None, image_idx: int,
                    size: tuple[int, int]) -> None:
        try:
            w, h = size
            if view_kind(mk) == "image":
                h -= 3  # info and caption lines
            view = load_item(run_dir, mk, wanted, image_idx, (w, h))
        except Exception as exc:
            view = ItemView("empty", mk.key, [], None, body=Text(sanitize(f"cannot load {mk.key}: {exc}")))
        self.app.call_from_thread(self._item_loaded, gen, view)

    def _item_loaded(self, gen: int, view: ItemView) -> None:
        if gen != self._item_gen:
            return
        self.view = view
        switcher = self.query_one(ContentSwitcher)
        if view.kind == "empty":
            self._empty(view.body.plain if view.body else "")
            return
        if view.kind == "image":
            self.query_one("#media-image-info", Static).update(Text(sanitize(view.info)))
            caption = self.query_one("#media-caption", Static)
            caption.update(Text(view.caption))
            caption.display = bool(view.caption)
            self.query_one("#media-image", Static).update(view.body or Text(""))
        elif view.kind == "histogram":
            self.query_one("#media-hist-info", Static).update(Text(sanitize(view.info)))
            self.query_one("#media-heatmap", Static).update(view.body or Text(""))
            self._draw_bars(view)
        elif view.kind == "confusion":
            self.query_one("#media-confusion-info", Static).update(Text(sanitize(view.info)))
            self.query_one("#media-confusion", Static).update(view.body or Text(""))
        elif view.kind == "chart":
            self.query_one("#media-chart-info", Static).update(Text(sanitize(view.info)))
            self._draw_chart(view.chart)
        elif view.kind == "table":
            self.query_one("#media-table-info", Static).update(Text(sanitize(view.info)))
            self.refresh_table_view()
        switcher.current = f"view-{view.kind}"
        self.call_after_refresh(self._keep_focus)

    def _keep_focus(self) -> None:
        # Switching views hides the focused table: keep the pane's keys working.
        focused = self.screen.focused
        if self.is_showing and (focused is None or not focused.visible or focused.region.area == 0):
            self.query_one("#media-keys", OptionList).focus()

    def _draw_bars(self, view: ItemView) -> None:
        plot = self.query_one("#media-bars", SafePlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        if view.bars and view.bars[0]:
            centers, counts = view.bars
            plt.bar(centers, counts, color=(90, 130, 255), width=1.0)
            ticks = [centers[round(i * (len(centers) - 1) / 4)] for i in range(5)] if len(centers) > 5 else centers
            plt.xticks(ticks, [fmt(t) for t in ticks])
            plt.title(sanitize(f"step {view.step}"))
        plot.refresh()

    def _draw_chart(self, data: ChartData | None) -> None:
        plot = self.query_one("#media-chart", SafePlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        if data is not None:
            if data.title:
                plt.title(data.title)
            if data.xlabel:
                plt.xlabel(data.xlabel)
            if data.ylabel:
                plt.ylabel(data.ylabel)
            if data.chart in ("line", "scatter", "line_series"):
                for i, (name, xs, ys) in enumerate(data.series):
                    color = SERIES_COLORS[i % len(SERIES_COLORS)]
                    label = name or None
                    if data.chart == "scatter" or len(xs) == 1:
                        plt.scatter(xs, ys, color=color, label=label, marker="hd")
                    else:
                        plt.plot(xs, ys, color=color, label=label, marker="braille")
            elif data.chart == "bar" and data.values:
                plt.bar(data.labels, data.values, color=SERIES_COLORS[0])
            elif data.chart == "histogram" and data.values:
                plt.hist(data.values, bins=min(40, max(5, int(math.sqrt(len(data.values))))), color=SERIES_COLORS[0])
        plot.refresh()

    # -- tables -----------------------------------------------------------------------------
    def _reset_table_state(self) -> None:
        self.table_filter, self.sort_col, self.sort_desc = "", None, False
        try:
            box = self.query_one("#media-table-filter", Input)
        except Exception:
            return
        if box.value:
            with box.prevent(Input.Changed):
                box.value = ""

    def refresh_table_view(self) -> None:
        view = self.view
        if view is None or view.kind != "table":
            return
        self._table_gen += 1
        self._compute_table(self._table_gen, view, self.table_filter, self.sort_col, self.sort_desc)

    @work(thread=True, exclusive=True, group="media-table", exit_on_error=False)
    def _compute_table(self, gen: int, view: ItemView, query: str, sort_col: int | None, desc: bool) -> None:
        idx = table_view(view.rows, query, sort_col, desc)
        cells = [[cell_text(v) for v in view.rows[i]] for i in idx[:TABLE_ROW_CAP]]
        self.app.call_from_thread(self._table_ready, gen, view, cells, len(idx))

    def _table_ready(self, gen: int, view: ItemView, cells: list[list[Text]], matched: int) -> None:
        if gen != self._table_gen or view is not self.view:
            return
        table = self.query_one("#media-table", DataTable)
        table.clear(columns=True)
        for i, name in enumerate(view.columns):
            arrow = (" ▼" if self.sort_desc else " ▲") if i == self.sort_col else ""
            table.add_column(Text(name + arrow), key=f"c{i}")
        for row in cells:
            table.add_row(*row)
        self.table_shown, self.table_matched = len(cells), matched
        info = view.info
        if self.table_filter:
            info += f"  ·  {matched} match"
        if matched > len(cells):
            info += f"  ·  showing {len(cells)}, {matched - len(cells)} more (filter or sort to see others)"
        self.query_one("#media-table-info", Static).update(Text(sanitize(info)))

    @on(DataTable.HeaderSelected, "#media-table")
    def _header_clicked(self, event: DataTable.HeaderSelected) -> None:
        self.sort_by(int(str(event.column_key.value)[1:]))

    def sort_by(self, column: int) -> None:
        if self.sort_col == column:
            self.sort_desc = not self.sort_desc
        else:
            self.sort_col, self.sort_desc = column, False
        self.refresh_table_view()

    @on(Input.Changed, "#media-table-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.table_filter = event.value
        # Typing fast over a big table: one refresh once the keys pause.
        if self._filter_timer is not None:
            self._filter_timer.stop()
        self._filter_timer = self.set_timer(FILTER_DEBOUNCE_S, self.refresh_table_view)

    @on(Input.Submitted, "#media-table-filter")
    def _filter_submitted(self) -> None:
        self.query_one("#media-table", DataTable).focus()

    # -- actions ----------------------------------------------------------------------------
    def action_run(self, delta: int) -> None:
        if len(self.runs) < 2:
            return
        self.run_index = (self.run_index + delta) % len(self.runs)
        self.current, self.view = None, None
        self.wanted_step, self.image_idx = None, 0
        self._reset_table_state()
        self.reload()

    def selection_changed(self, runs, colors) -> None:
        previous = self.current_run.id if self.current_run is not None else None
        ids = [r.id for r in runs]
        self.run_index = ids.index(previous) if previous in ids else 0
        super().selection_changed(runs, colors)

    def action_step(self, delta: int) -> None:
        view = self.view
        if view is None or not view.steps or view.step is None:
            return
        i = view.steps.index(view.step) if view.step in view.steps else len(view.steps) - 1
        j = max(0, min(len(view.steps) - 1, i + delta))
        if j == i:
            return
        self.wanted_step = None if j == len(view.steps) - 1 else view.steps[j]
        self.image_idx = 0
        self.load_current()

    def action_next_image(self) -> None:
        view = self.view
        if view is None or view.kind != "image" or view.image_count < 2:
            return
        self.image_idx = (view.image_idx + 1) % view.image_count
        self.load_current()

    def action_kind(self) -> None:
        self.kind_filter = KIND_FILTERS[(KIND_FILTERS.index(self.kind_filter) + 1) % len(KIND_FILTERS)]
        self._keys_loaded(self._keys_gen, self.keys, self.message)

    def action_focus_filter(self) -> None:
        if self.view is not None and self.view.kind == "table":
            self.query_one("#media-table-filter", Input).focus()

    def action_open(self) -> None:
        if self.view is not None and self.view.kind == "table":
            self.query_one("#media-table", DataTable).focus()

    def on_resize(self) -> None:
        if self.view is not None and self.view.kind in ("image", "histogram"):
            self.set_timer(0.2, self._resized)

    def _resized(self) -> None:
        if self.view is not None and self.view.kind in ("image", "histogram") and self.is_showing:
            self.load_current()
