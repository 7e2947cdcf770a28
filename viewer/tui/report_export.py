"""`ctrl+s` (or "Save an HTML report" in the palette): the selected runs as one offline HTML file.

The app asks for a file name (ReportPrompt), then writes the report in a thread worker
through viewer.report, with the colours the runs have in the dashboard. In a browser
(`loupe serve`) the file is also handed to the browser as a download.
"""

from __future__ import annotations

import datetime as dt
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from viewer.data.run_colors import RunColors

if TYPE_CHECKING:
    from viewer.data.store import Store
    from viewer.tui.app import LoupeApp


def default_report_path(now: dt.datetime | None = None) -> Path:
    stamp = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    return Path.cwd() / f"loupe-report-{stamp}.html"


class ReportPrompt(ModalScreen[Path | None]):
    """Ask where to write the report (a file name, prefilled)."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, runs: int, path: Path) -> None:
        super().__init__()
        self.runs = runs
        self.path = path

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Save an HTML report of {self.runs} selected run{'s' if self.runs != 1 else ''} to:")
            yield Input(value=str(self.path), id="report-path")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        self.dismiss(Path(text).expanduser() if text else None)


def ask_and_write(app: LoupeApp) -> None:
    """Start from the app's current selection: prompt, then write in a worker."""
    ids = list(app.selected)
    if not ids or app.store is None:
        app.notify("Select runs first (space in the Runs tab), then save a report.", severity="warning")
        return
    colors = app.run_colors.copy()
    store = app.store

    def chosen(path: Path | None) -> None:
        if path is None:
            return
        # One group per file: two reports to different files both say when they are written.
        app.fetch(
            _write,
            store,
            ids,
            colors,
            path,
            apply=partial(_written, app),
            group=f"report {path}",
            failed=lambda exc: app.notify(f"report not written: {exc}", severity="error", markup=False),
        )

    app.push_screen(ReportPrompt(len(ids), default_report_path()), chosen)


def _write(store: Store, ids: list[str], colors: RunColors, path: Path) -> tuple[Path, int]:
    """In a worker: write the report; where it went and its size in bytes."""
    from viewer.report import write_report

    if path.is_dir():
        path = path / default_report_path().name
    return path, write_report(store, ids, path, colors=colors)


def _written(app: LoupeApp, written: tuple[Path, int]) -> None:
    path, size = written
    app.notify(f"report written: {path} ({size / 1e6:.2f} MB)", markup=False, timeout=8)
    if app.is_web:
        app.deliver_binary(path, mime_type="text/html")
