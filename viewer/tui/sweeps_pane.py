"""The sweeps pane: every sweep under the roots; for the chosen one, its trials and what mattered.

Left, the sweeps (`project/id`, method, metric); when a selected run is a sweep trial its
sweep is chosen. Right, for the chosen sweep:

    header      name, method, metric and goal, trial counts by state, the best trial
    trials      a table sorted by the metric (goal respected; trials without a value last);
                `enter` on a row selects that trial's run in the dashboard
    best so far the best value against trial number (plotext), every finished value dotted
    importance  each parameter's share (Optuna's evaluators), a ranked bar list, computed
                in its own worker ("computing…" until then)
    parameters  one small scatter per parameter against the metric (categories on ticks,
                log axis for log distributions)

`[`/`]` move to the previous/next sweep. Reads go through viewer.sweep_index in thread
workers; names, parameter values and errors are plain text (viewer.sanitize).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, OptionList, Static
from textual.widgets.option_list import Option

from .. import sweep_index
from ..sanitize import sanitize
from .messages import SelectionChanged
from .metric_plot import SafePlot
from .pane import Pane

MAX_PARAM_PLOTS = 12
MAX_PARAM_COLUMNS = 8
BAR_WIDTH = 24
STATE_STYLE = {"finished": "cyan", "running": "bold green", "failed": "bold red", "crashed": "bold magenta",
               "early_terminated": "yellow", "no_metric": "dim"}
BEST_COLOR = (80, 200, 80)
POINT_COLOR = (90, 130, 255)


def fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.5g}" if math.isfinite(v) else str(v)
    return "" if v is None else str(v)


@dataclass
class ParamPlotData:
    name: str
    xs: list[float]
    ys: list[float]
    ticks: list[float] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    log_x: bool = False


@dataclass
class SweepView:
    info: sweep_index.SweepInfo
    header: Text
    trials: list[sweep_index.TrialRow]
    param_columns: list[str]
    best: list[tuple[int, float]]            # (trial number, best so far)
    values: list[tuple[int, float]]          # every finished (trial number, value)
    params: list[ParamPlotData]
    message: str | None = None
    more_params: int = 0


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def param_plot_data(sweep: sweep_index.Sweep, name: str) -> ParamPlotData:
    """Points of one parameter against the metric; categories become 0..k-1 with tick labels."""
    points = [(x, y) for x, y in sweep.param_points(name) if _is_number(y)]
    spec = sweep_index.param_spec(sweep.info.config, name)
    out = ParamPlotData(sanitize(name), [], [])
    if points and all(_is_number(x) for x, _ in points):
        out.xs = [float(x) for x, _ in points]
        out.ys = [float(y) for _, y in points]
        out.log_x = "log" in str(spec.get("distribution") or "") and all(x > 0 for x in out.xs)
        return out
    cats: list[str] = []
    for v in spec.get("values") or []:
        label = sanitize(fmt(v))
        if label not in cats:
            cats.append(label)
    for x, _ in points:
        label = sanitize(fmt(x))
        if label not in cats:
            cats.append(label)
    pos = {c: i for i, c in enumerate(cats)}
    out.xs = [float(pos[sanitize(fmt(x))]) for x, _ in points]
    out.ys = [float(y) for _, y in points]
    out.ticks = [float(i) for i in range(len(cats))]
    out.labels = [c[:10] for c in cats]
    return out


def sweep_view(sweep: sweep_index.Sweep) -> SweepView:
    """Everything the pane draws for one sweep (pure; call from a worker)."""
    info = sweep.info
    counts = {k: v for k, v in sweep.counts().items() if v}
    header = Text()
    header.append(sanitize(info.name or info.id), style="bold")
    header.append(sanitize(f"  {info.project}/{info.id}"), style="dim")
    header.append("\n" + sanitize(f"method {info.method}  ·  metric {info.metric or '(none)'} ({info.goal})  ·  "
                                  f"{len(sweep.trials)} trials"))
    if counts:
        header.append(": " + sanitize(", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items())))
    best = sweep.best()
    if best is not None:
        header.append("\n")
        header.append(sanitize(f"best: trial {best.number} = {fmt(best.value)}"), style="bold green")
        params = ", ".join(f"{k}={fmt(v)}" for k, v in best.params.items())
        if params:
            header.append(sanitize(f"  ({params})"[:300]), style="green")
    if sweep.message:
        header.append("\n" + sanitize(sweep.message), style="yellow")
    names = sweep.param_names()
    trials = sweep.sorted_trials()
    finished = [(t.number, float(t.value)) for t in sweep.trials if t.state == "finished" and _is_number(t.value)]
    finished.sort()
    best_line = [(n, float(v)) for n, _, v in sweep.best_so_far() if _is_number(v)]
    best_line.sort()
    return SweepView(
        info=info, header=header, trials=trials, param_columns=names[:MAX_PARAM_COLUMNS],
        best=best_line, values=finished,
        params=[param_plot_data(sweep, n) for n in names[:MAX_PARAM_PLOTS]],
        message=sweep.message, more_params=max(0, len(names) - MAX_PARAM_PLOTS),
    )


def importance_text(result: sweep_index.Importance | None, width: int = BAR_WIDTH) -> Text:
    """Ranked text bars: name, bar, share."""
    text = Text()
    text.append("Parameter importance", style="bold")
    if result is None:
        text.append("\ncomputing…", style="dim italic")
        return text
    if result.message:
        text.append("  " + sanitize(result.message), style="dim")
    if not result.ranked:
        return text
    names = [sanitize(n) for n, _ in result.ranked]
    pad = min(24, max(len(n) for n in names))
    top = max((s for _, s in result.ranked), default=0.0) or 1.0
    for name, (_, share) in zip(names, result.ranked):
        share = share if math.isfinite(share) else 0.0
        cells = share / top * width
        full = int(cells)
        bar = "█" * full + ("▌" if cells - full >= 0.5 else "")
        text.append("\n" + name[:pad].ljust(pad) + " ")
        text.append(bar.ljust(width + 1), style="green")
        text.append(f"{share:6.1%}")
    return text


class ParamPlot(Vertical):
    DEFAULT_CSS = """
    ParamPlot { height: 14; border: round $panel; }
    ParamPlot > SafePlot { height: 1fr; }
    """

    def __init__(self, data: ParamPlotData, metric: str) -> None:
        super().__init__()
        self.data = data
        self.metric = metric
        self.border_title = Text(data.name)

    def compose(self) -> ComposeResult:
        yield SafePlot()

    def on_mount(self) -> None:
        self.redraw()

    def update_data(self, data: ParamPlotData, metric: str) -> None:
        self.data, self.metric = data, metric
        self.border_title = Text(data.name)
        self.redraw()

    def redraw(self) -> None:
        try:
            plot = self.query_one(SafePlot)
        except NoMatches:
            return  # not composed yet; on_mount draws
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        d = self.data
        if d.xs:
            plt.xscale("log" if d.log_x else "linear")
            plt.scatter(d.xs, d.ys, color=POINT_COLOR, marker="dot")
            if d.ticks:
                plt.xticks(d.ticks, d.labels)
                plt.xlim(-0.5, len(d.ticks) - 0.5)
        plt.ylabel(self.metric[:20])
        plot.refresh()


class SweepsPane(Pane):
    BINDINGS = [
        Binding("left_square_bracket", "sweep(-1)", "Prev sweep", show=False),
        Binding("right_square_bracket", "sweep(1)", "Next sweep", show=False),
        Binding("enter", "open", "Open", show=False),
    ]
    DEFAULT_CSS = """
    SweepsPane { height: 1fr; }
    SweepsPane #sweeps-status { height: 1; color: $text-muted; padding: 0 1; }
    SweepsPane #sweeps-list { width: 36; height: 1fr; border: round $panel; }
    SweepsPane #sweeps-list:focus { border: round $accent; }
    SweepsPane #sweeps-right { width: 1fr; height: 1fr; }
    SweepsPane #sweeps-header { height: auto; padding: 0 1; }
    SweepsPane #sweeps-trials { height: 12; }
    SweepsPane #sweeps-summary { height: 16; }
    SweepsPane #sweeps-best-box { width: 1fr; border: round $panel; }
    SweepsPane #sweeps-best { height: 1fr; }
    SweepsPane #sweeps-importance { width: 52; border: round $panel; padding: 0 1; }
    SweepsPane #sweeps-params { grid-size: 3; grid-gutter: 0 1; grid-rows: 14; height: auto; }
    SweepsPane #sweeps-params-note { height: auto; color: $text-muted; padding: 0 1; }
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.sweeps: list[sweep_index.SweepInfo] = []
        self.current: sweep_index.SweepInfo | None = None
        self.view: SweepView | None = None
        self.importance: sweep_index.Importance | None = None
        self.message = ""
        self._list_gen = 0
        self._sweep_gen = 0
        self._imp_gen = 0
        self._filling = False
        self._param_layout: tuple = ()
        self._auto_sweep: str | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="sweeps-status", markup=False)
        with Horizontal():
            yield OptionList(id="sweeps-list")
            with VerticalScroll(id="sweeps-right"):
                yield Static(id="sweeps-header", markup=False)
                yield DataTable(id="sweeps-trials", cursor_type="row", zebra_stripes=True)
                with Horizontal(id="sweeps-summary"):
                    with Vertical(id="sweeps-best-box"):
                        yield SafePlot(id="sweeps-best")
                    yield Static(id="sweeps-importance", markup=False)
                yield Static(id="sweeps-params-note", markup=False)
                yield Grid(id="sweeps-params")

    def on_mount(self) -> None:
        self.query_one("#sweeps-best-box").border_title = Text("best so far")

    def _set_status(self) -> None:
        parts = [f"{len(self.sweeps)} sweeps"]
        if self.view is not None:
            parts.append(f"{len(self.view.trials)} trials")
        if self.message:
            parts.append(self.message)
        self.query_one("#sweeps-status", Static).update(Text(sanitize("  ·  ".join(parts))))

    # -- sweeps -----------------------------------------------------------------------------
    def selection_changed(self, runs, colors) -> None:
        # A selected sweep trial brings its sweep up.
        for run in runs:
            sid = (getattr(run, "run_json", None) or {}).get("sweep_id")
            if isinstance(sid, str) and sid:
                self._auto_sweep = f"{run.project}/{sid}"
                break
        else:
            self._auto_sweep = None
        super().selection_changed(runs, colors)

    def reload(self) -> None:
        self._list_gen += 1
        self._fetch_list(self._list_gen, self.roots)

    @work(thread=True, exclusive=True, group="sweeps-list", exit_on_error=False)
    def _fetch_list(self, gen: int, roots: list[Path]) -> None:
        try:
            sweeps, error = sweep_index.sweeps_under(roots), ""
        except Exception as exc:
            sweeps, error = [], f"cannot list sweeps: {exc}"
        self.app.call_from_thread(self._list_loaded, gen, sweeps, error)

    def _list_loaded(self, gen: int, sweeps: list[sweep_index.SweepInfo], error: str) -> None:
        if gen != self._list_gen:
            return
        self.sweeps = sweeps
        self.message = error
        by_ref = {f"{s.project}/{s.id}": s for s in sweeps}
        wanted = None
        if self._auto_sweep in by_ref:
            wanted = by_ref[self._auto_sweep]
            self._auto_sweep = None  # once: the user may move away from it
        elif self.current is not None:
            wanted = next((s for s in sweeps if s.path == self.current.path), None)
        if wanted is None and sweeps:
            wanted = sweeps[-1]  # the newest
        options = self.query_one("#sweeps-list", OptionList)
        self._filling = True
        try:
            options.clear_options()
            options.add_options([self._option(s) for s in sweeps])
            if wanted is not None:
                options.highlighted = sweeps.index(wanted)
        finally:
            self._filling = False
        self.current = wanted
        if wanted is None:
            self.view = None
            self.query_one("#sweeps-header", Static).update(
                Text(error or "no sweeps under the roots (recorder.sweep() creates one)", style="dim"))
            self.query_one("#sweeps-trials", DataTable).clear(columns=True)
        else:
            self._load_sweep()
        self._set_status()

    @staticmethod
    def _option(s: sweep_index.SweepInfo) -> Option:
        text = Text(sanitize(s.name or s.id))
        text.append(sanitize(f"\n  {s.project}/{s.id} · {s.method} · {s.metric or '-'} {s.goal[:3]}"), style="dim")
        return Option(text)

    @on(OptionList.OptionHighlighted, "#sweeps-list")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if self._filling:
            return
        i = event.option_index
        if 0 <= i < len(self.sweeps) and (self.current is None or self.sweeps[i].path != self.current.path):
            self.current = self.sweeps[i]
            self._load_sweep()

    @on(OptionList.OptionSelected, "#sweeps-list")
    def _selected(self) -> None:
        self.query_one("#sweeps-trials", DataTable).focus()

    # -- one sweep --------------------------------------------------------------------------
    def _load_sweep(self) -> None:
        if self.current is None:
            return
        self._sweep_gen += 1
        self._fetch_sweep(self._sweep_gen, self.current)

    @work(thread=True, exclusive=True, group="sweeps-sweep", exit_on_error=False)
    def _fetch_sweep(self, gen: int, info: sweep_index.SweepInfo) -> None:
        try:
            sweep = sweep_index.load_sweep(info)
            view = sweep_view(sweep)
        except Exception as exc:
            self.app.call_from_thread(self._sweep_failed, gen, f"cannot read sweep {info.id}: {exc}")
            return
        self.app.call_from_thread(self._sweep_loaded, gen, sweep, view)

    def _sweep_failed(self, gen: int, message: str) -> None:
        if gen == self._sweep_gen:
            self.query_one("#sweeps-header", Static).update(Text(sanitize(message), style="red"))

    def _sweep_loaded(self, gen: int, sweep: sweep_index.Sweep, view: SweepView) -> None:
        if gen != self._sweep_gen:
            return
        same_sweep = self.view is not None and self.view.info.path == view.info.path
        self.view = view
        self.query_one("#sweeps-header", Static).update(view.header)
        self._fill_trials(view)
        self._draw_best(view)
        self._draw_params(view)
        if not same_sweep:
            self.importance = None
        self.query_one("#sweeps-importance", Static).update(importance_text(self.importance))
        self._imp_gen += 1
        self._compute_importance(self._imp_gen, sweep)
        self._set_status()

    def _fill_trials(self, view: SweepView) -> None:
        table = self.query_one("#sweeps-trials", DataTable)
        cursor = table.cursor_row
        table.clear(columns=True)
        metric = sanitize(view.info.metric or "value")
        table.add_column("rank", key="rank")
        table.add_column("trial", key="trial")
        table.add_column("state", key="state")
        table.add_column(Text(metric + (" ▼" if view.info.goal == "maximize" else " ▲")), key="value")
        table.add_column("run", key="run")
        for i, name in enumerate(view.param_columns):
            table.add_column(Text(sanitize(name)), key=f"p{i}")
        for rank, t in enumerate(view.trials, start=1):
            cells = [
                Text(str(rank) if t.value is not None else "", justify="right"),
                Text(str(t.number), justify="right"),
                Text(sanitize(t.state.replace("_", " ")), style=STATE_STYLE.get(t.state, "")),
                Text(fmt(t.value), justify="right", style="bold" if rank == 1 and t.value is not None else ""),
                Text(sanitize(t.run_id or "")),
            ]
            for name in view.param_columns:
                v = t.params.get(name)
                cells.append(Text(sanitize(fmt(v))[:40], justify="right" if _is_number(v) else "left"))
            table.add_row(*cells, key=str(t.number))
        if view.trials:
            table.move_cursor(row=min(cursor or 0, len(view.trials) - 1))

    def _draw_best(self, view: SweepView) -> None:
        plot = self.query_one("#sweeps-best", SafePlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        if view.values:
            plt.scatter([n for n, _ in view.values], [v for _, v in view.values], color=POINT_COLOR, marker="dot")
        if view.best:
            xs, ys = [n for n, _ in view.best], [v for _, v in view.best]
            if len(xs) == 1:
                plt.scatter(xs, ys, color=BEST_COLOR, marker="hd")
            else:
                # a step line: the best holds until a better trial finishes
                sx, sy = [xs[0]], [ys[0]]
                for x, y in zip(xs[1:], ys[1:]):
                    sx += [x, x]
                    sy += [sy[-1], y]
                plt.plot(sx, sy, color=BEST_COLOR, marker="braille")
        plt.xlabel("trial")
        plt.ylabel(sanitize(view.info.metric or "")[:20])
        plot.refresh()

    def _draw_params(self, view: SweepView) -> None:
        grid = self.query_one("#sweeps-params", Grid)
        metric = sanitize(view.info.metric or "")
        layout = (str(view.info.path), tuple(p.name for p in view.params))
        note = self.query_one("#sweeps-params-note", Static)
        if view.params:
            extra = f" (first {MAX_PARAM_PLOTS}; {view.more_params} more)" if view.more_params else ""
            note.update(Text(f"Each parameter against {metric}{extra}", style="bold"))
        else:
            note.update(Text("no parameters to plot yet", style="dim"))
        if layout == self._param_layout:
            for plot, data in zip(grid.query(ParamPlot), view.params):
                plot.update_data(data, metric)
            return
        self._param_layout = layout
        grid.remove_children()
        if view.params:
            grid.mount(*[ParamPlot(d, metric) for d in view.params])

    # -- importance -------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="sweeps-importance", exit_on_error=False)
    def _compute_importance(self, gen: int, sweep: sweep_index.Sweep) -> None:
        try:
            result = sweep_index.param_importance(sweep)
        except Exception as exc:
            result = sweep_index.Importance([], f"parameter importance failed: {exc}")
        self.app.call_from_thread(self._importance_done, gen, result)

    def _importance_done(self, gen: int, result: sweep_index.Importance) -> None:
        if gen != self._imp_gen:
            return
        self.importance = result
        self.query_one("#sweeps-importance", Static).update(importance_text(result))

    # -- actions ----------------------------------------------------------------------------
    def action_sweep(self, delta: int) -> None:
        if not self.sweeps:
            return
        options = self.query_one("#sweeps-list", OptionList)
        i = options.highlighted if options.highlighted is not None else 0
        options.highlighted = max(0, min(len(self.sweeps) - 1, i + delta))

    def action_open(self) -> None:
        table = self.query_one("#sweeps-trials", DataTable)
        if self.app.focused is not table:
            table.focus()
            return
        self.select_trial_run()

    @on(DataTable.RowSelected, "#sweeps-trials")
    def _row_selected(self) -> None:
        self.select_trial_run()

    def select_trial_run(self) -> None:
        """Select the highlighted trial's run in the dashboard (the app owns the selection)."""
        view = self.view
        table = self.query_one("#sweeps-trials", DataTable)
        if view is None or table.cursor_row is None or not (0 <= table.cursor_row < len(view.trials)):
            return
        trial = view.trials[table.cursor_row]
        if trial.run_id:
            self.post_message(SelectionChanged([trial.run_id]))
