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

`[`/`]` move to the previous/next sweep. Reads go through viewer.data.sweep_index in thread
workers; names, parameter values and errors are plain text (viewer.data.sanitize).
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, OptionList, Static
from textual.widgets.option_list import Option

from viewer.data import sweep_index
from viewer.data.sanitize import sanitize
from viewer.tui.messages import SelectionChanged
from viewer.tui.metric_plot import SafePlot
from viewer.tui.pane import Pane
from viewer.tui.sweep_plots import ParamPlot, draw_best, importance_text
from viewer.tui.sweep_view import MAX_PARAM_PLOTS, SweepView, sweep_view, trial_cells


def _read_sweep(info: sweep_index.SweepInfo) -> tuple[sweep_index.Sweep, SweepView]:
    sweep = sweep_index.load_sweep(info)
    return sweep, sweep_view(sweep)


class SweepsPane(Pane):
    selected_runs_only = False  # lists what is under the roots, whichever runs are selected
    BINDINGS = [
        Binding("left_square_bracket", "sweep(-1)", "Prev sweep", show=False),
        Binding("right_square_bracket", "sweep(1)", "Next sweep", show=False),
        Binding("enter", "open", "Open", show=False),
    ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.sweeps: list[sweep_index.SweepInfo] = []
        self.current: sweep_index.SweepInfo | None = None
        self.view: SweepView | None = None
        self.importance: sweep_index.Importance | None = None
        self.message = ""
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

    def pane_mounted(self) -> None:
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
        self.fetch(
            sweep_index.sweeps_under,
            self.roots,
            apply=self._list_loaded,
            group="sweeps-list",
            failed=lambda error: self._list_loaded([], f"cannot list sweeps: {error}"),
        )

    def _list_loaded(self, sweeps: list[sweep_index.SweepInfo], error: str = "") -> None:
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
                Text(error or "no sweeps under the roots (recorder.sweep() creates one)", style="dim")
            )
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
        info = self.current

        def failed(error: Exception) -> None:
            message = f"cannot read sweep {info.id}: {error}"
            self.query_one("#sweeps-header", Static).update(Text(sanitize(message), style="red"))

        self.fetch(_read_sweep, info, apply=self._sweep_loaded, group="sweeps-sweep", failed=failed)

    def _sweep_loaded(self, loaded: tuple[sweep_index.Sweep, SweepView]) -> None:
        sweep, view = loaded
        same_sweep = self.view is not None and self.view.info.path == view.info.path
        self.view = view
        self.query_one("#sweeps-header", Static).update(view.header)
        self._fill_trials(view)
        self._draw_best(view)
        self._draw_params(view)
        if not same_sweep:
            self.importance = None
        self.query_one("#sweeps-importance", Static).update(importance_text(self.importance))
        self.fetch(
            sweep_index.param_importance,
            sweep,
            apply=self._importance_done,
            group="sweeps-importance",
            failed=lambda error: self._importance_done(
                sweep_index.Importance([], f"parameter importance failed: {error}")
            ),
        )
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
            table.add_row(*trial_cells(rank, t, view.param_columns), key=str(t.number))
        if view.trials:
            table.move_cursor(row=min(cursor or 0, len(view.trials) - 1))

    def _draw_best(self, view: SweepView) -> None:
        draw_best(self.query_one("#sweeps-best", SafePlot), view)

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
    def _importance_done(self, result: sweep_index.Importance) -> None:
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
