"""What one media key's view needs, read through viewer.data.media_index in a thread worker.

load_item() picks the step, decodes, re-bins or loads the table, and renders what can be
rendered off the event loop; the pane only puts the result on screen.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

from rich.text import Text

from viewer.data import media_index
from viewer.data.sanitize import sanitize
from viewer.tui.media.chart_view import ChartData, chart_data
from viewer.tui.media.confusion_view import confusion_text
from viewer.tui.media.histogram_view import heatmap_text
from viewer.tui.media.image_view import image_text
from viewer.tui.media.value_format import fmt

TABLE_LOAD_CAP = 200_000  # rows read into memory for sorting and filtering


def view_kind(mk: media_index.MediaKey) -> str:
    """Which view draws a key: image, histogram, table, confusion or chart."""
    if mk.kind == "plot":
        return "confusion" if mk.chart == "confusion_matrix" else "chart"
    return mk.kind if mk.kind in ("image", "histogram", "table") else "table"


def filter_kind(mk: media_index.MediaKey) -> str:
    """Which `k` filter shows a key: confusion matrices are logged as charts, so they count as one."""
    k = view_kind(mk)
    return "chart" if k == "confusion" else k


@dataclass
class ItemView:
    """What a worker hands back: one key at one step, ready to put on screen."""

    kind: str  # image, histogram, table, confusion, chart, empty
    key: str
    steps: list[int]
    step: int | None
    info: str = ""
    caption: str = ""
    body: Text | None = None  # image pixels, heatmap, confusion grid, or a message
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


def load_item(
    run_dir: Path, mk: media_index.MediaKey, wanted_step: int | None, image_idx: int, size: tuple[int, int]
) -> ItemView:
    """Everything one key's view needs, read through media_index (call from a worker)."""
    kind = view_kind(mk)
    width, height = max(8, size[0]), max(4, size[1])
    if kind == "image":
        items = media_index.images(run_dir, mk.key)
        steps = sorted({i.step for i in items})
        step = pick_step(steps, wanted_step)
        at = [i for i in items if i.step == step]
        view = ItemView("image", mk.key, steps, step, image_count=len(at))
        if step is None or not at:
            view.body = Text("no images logged under this key", style="dim")
            return view
        idx = image_idx % len(at)
        item = at[idx]
        view.image_idx = idx
        view.caption = sanitize(item.caption or "")
        view.info = f"step {step}  ({steps.index(step) + 1}/{len(steps)})"
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
        if step is None:  # nothing logged
            view.body = Text("no histograms logged under this key", style="dim")
            return view
        label_w = max(len(str(s)) for s in steps) + 2
        heat_rows = max(2, (height - 2) // 2)
        # Re-bin only the steps that get a pixel row (the last always among them).
        limit = 2 * (heat_rows - 1)
        picks = (
            sorted({round(i * (len(steps) - 1) / (limit - 1)) for i in range(limit)})
            if len(steps) > limit
            else list(range(len(steps)))
        )
        shown = media_index.HistogramSeries(
            series.key, [steps[i] for i in picks], [series.bins[i] for i in picks], [series.counts[i] for i in picks]
        )
        edges, rows = shown.grid(max(4, min(200, width - label_w - 1)))
        view.body = heatmap_text(shown.steps, edges, rows, heat_rows - 1, marked_step=step)
        i = len(steps) - 1 - steps[::-1].index(step)
        bins, counts = series.bins[i], series.counts[i]
        if bins and len(bins) == len(counts) + 1:
            centers = [(a + b) / 2 for a, b in itertools.pairwise(bins) if a is not None and b is not None]
            view.bars = (centers, [float(c or 0) for c in counts[: len(centers)]])
        total = sum(c or 0 for c in counts)
        view.info = (
            f"{len(steps)} steps ({steps[0]}…{steps[-1]}), heatmap row-normalised  ·  "
            f"bars: step {step} ({sorted(set(steps)).index(step) + 1}/{len(set(steps))}), "
            f"{fmt(total)} values"
        )
        return view
    tables = media_index.tables(run_dir, mk.key)
    steps = sorted({t.step for t in tables})
    step = pick_step(steps, wanted_step)
    pos = f"step {step}  ({steps.index(step) + 1}/{len(steps)})" if step is not None else "nothing logged"
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
            f"  ·  {data.note}" if data.note else ""
        )
        return view
    table = media_index.load_table(run_dir, mk.key, step)
    total = table.num_rows
    if total > TABLE_LOAD_CAP:
        table = table.slice(0, TABLE_LOAD_CAP)
    columns = [sanitize(c) for c in table.column_names]
    values = [table.column(i).to_pylist() for i in range(table.num_columns)]
    table_rows = list(zip(*values)) if values else []
    view = ItemView("table", mk.key, steps, step, columns=columns, rows=table_rows, total_rows=total)
    view.info = f"{pos}  ·  {total} rows × {len(columns)} columns"
    if total > TABLE_LOAD_CAP:
        view.info += f" (first {TABLE_LOAD_CAP} loaded)"
    return view
