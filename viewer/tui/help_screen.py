"""The help screen (`?`): every key, by pane, plus how live updates are being watched."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from viewer.data.run_compare import HIGHER_IS_BETTER, LOWER_IS_BETTER

KEYMAP: list[tuple[str, list[tuple[str, str]]]] = [
    (
        "Everywhere",
        [
            ("1 … 9", "Runs, Metrics, System, Logs, Detail, SQL, Media, Artifacts, Sweeps tabs"),
            ("alt+1 … alt+9", "the same tabs while a text input (a filter, the SQL box) has the focus"),
            ("esc, then 1 … 9", "leave the text input, then switch tab (in an input a digit is text)"),
            ("tab / shift+tab", "move focus"),
            ("?", "this help"),
            ("ctrl+p", "command palette"),
            ("ctrl+r", "rescan the run roots now"),
            ("ctrl+s", "save an HTML report of the selected runs (one offline file)"),
            ("q", "quit"),
        ],
    ),
    (
        "Runs",
        [
            ("/", "filter: words, project:x tag:y state:z, or an expression (config.lr > 1e-3 and state = 'finished')"),
            ("space", "select / deselect the run under the cursor (each selected run keeps one colour)"),
            ("a", "select every run shown"),
            ("x", "clear the selection"),
            ("enter", "select the run and open its metrics"),
            ("s / S", "sort by the next column / reverse (or click a header)"),
            ("g", "group by project, then by group, then none"),
            ("c", "choose config and summary columns"),
            ("d", "compare the selected runs side by side"),
            ("e", "edit the name, tags and notes of the run under the cursor (ctrl+s saves)"),
            (
                "delete",
                "move the run under the cursor to the trash (the whole selection when the cursor is in it); asks first, keeps running runs; undo: loupe restore",
            ),
        ],
    ),
    (
        "Compare",
        [
            ("f", "show / fold the config keys every run shares (those that differ come first)"),
            ("esc / q", "close"),
            (
                "*",
                "best value per summary row: the metric's define_metric goal (or summary min/max alone);"
                f" else lower is better for names with a word among {', '.join(sorted(LOWER_IS_BETTER))};"
                f" higher for {', '.join(sorted(HIGHER_IS_BETTER))}; other rows unmarked",
            ),
        ],
    ),
    (
        "Metrics",
        [
            ("/", "regex over metric names"),
            ("X", "x-axis: step, runtime, wall time, define_metric step metrics"),
            ("+ / -", "more / less smoothing (EMA)"),
            ("l", "log-scale y"),
            ("e", "show bucket min/max (spikes)"),
            ("m", "maximise the focused plot (again to restore)"),
            ("z / Z", "zoom on an x range (e.g. 100:500), full resolution inside it / reset"),
            ("[ / ]", "move the value cursor on the focused plot; esc clears it"),
        ],
    ),
    (
        "Logs",
        [
            ("f", "follow the log"),
            ("/ , n / N", "search, next / previous match"),
            ("t", "jump to the time a step was logged"),
            ("[ / ]", "previous / next selected run"),
        ],
    ),
    ("System", [("h", "live monitor of this host (CPU, memory, GPUs)")]),
    ("Detail", [("/", "filter config and summary keys")]),
    (
        "SQL",
        [
            ("enter", "run the query (runs, history, system, logs, text, ...)"),
            ("up / down", "query history"),
            ("escape", "cancel a running query; with none running, leave the input"),
        ],
    ),
    (
        "Media",
        [
            ("[ / ]", "previous / next selected run"),
            ("left / right  or  , / .", "previous / next step (the last step follows live runs)"),
            ("v", "next image of a list logged at one step"),
            ("k", "key list by kind: all, image, histogram, table, chart"),
            ("/ , enter", "filter a table's rows; move into the table"),
        ],
    ),
    (
        "Artifacts",
        [
            ("/", "filter collections"),
            ("enter", "from the list to its versions"),
            ("[ / ]", "previous / next selected run's inputs and outputs"),
        ],
    ),
    ("Sweeps", [("[ / ]", "previous / next sweep"), ("enter", "open the trials; on a trial, select its run")]),
]


def keymap_table() -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column()
    for section, keys in KEYMAP:
        table.add_row(Text(section, style="bold underline"), "")
        for key, what in keys:
            table.add_row(key, what)
        table.add_row("", "")
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close")]

    def __init__(self, watch_note: str = "") -> None:
        super().__init__()
        self.watch_note = watch_note

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(keymap_table())
            if self.watch_note:
                yield Static(Text(self.watch_note, style="dim"))

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)
