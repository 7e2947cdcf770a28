"""Dialogs that change runs: edit a run's name, tags and notes (`e`); move runs to the
trash (`delete`), after a confirmation.

The work runs in thread workers (viewer.data.run_edits / run_trash); on success the
dialog closes and asks the app to rescan, so the table shows the change at once. An
edit the data layer refuses (an empty name, a tag with a comma) keeps the form open and
says why. Run names and tags are shown and edited as plain text, never markup.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static, TextArea

from viewer.data.run_edits import parse_tags, save_edits
from viewer.data.run_trash import RunIsRunning, move_to_trash
from viewer.data.sanitize import sanitize
from viewer.tui.latest_fetch import FetchesLatest

if TYPE_CHECKING:
    from viewer.data.runs_table import RunInfo


def _rescan(screen: ModalScreen) -> None:
    refresh = getattr(screen.app, "action_refresh", None)
    if callable(refresh):
        refresh()


class RunEditScreen(FetchesLatest, ModalScreen[bool]):
    """Name, tags (comma-separated) and notes of one run; ctrl+s saves, esc cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "save", "Save")]

    def __init__(self, run: RunInfo) -> None:
        super().__init__()
        self.run = run

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(f"Edit {sanitize(self.run.ref)}", style="bold"))
            yield Label("Name")
            yield Input(self.run.name or "", id="edit-name")
            yield Label("Tags (comma-separated)")
            yield Input(", ".join(self.run.tags), id="edit-tags")
            yield Label("Notes")
            yield TextArea(self.run.notes or "", id="edit-notes", soft_wrap=True)
            yield Static("", id="edit-error", classes="dialog-error")
            with Horizontal():
                yield Button("Cancel", id="edit-cancel")
                yield Button("Save (ctrl+s)", id="edit-save", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#edit-name", Input).focus()

    @on(Button.Pressed, "#edit-save")
    @on(Input.Submitted)
    def action_save(self) -> None:
        edit = partial(
            save_edits,
            self.run,
            name=self.query_one("#edit-name", Input).value.strip(),
            tags=parse_tags(self.query_one("#edit-tags", Input).value),
            notes=self.query_one("#edit-notes", TextArea).text,
        )
        self.fetch(edit, apply=self._saved, group="edit-run", failed=self._failed)

    @on(Button.Pressed, "#edit-cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)

    def _failed(self, error: Exception) -> None:
        self.query_one("#edit-error", Static).update(Text(sanitize(str(error))))

    def _saved(self, _: object) -> None:
        _rescan(self)
        self.dismiss(True)


def _move_all(runs: list[RunInfo]) -> tuple[int, list[str]]:
    """In a worker: move each run to the trash; how many moved, and why the others did not."""
    moved, errors = 0, []
    for run in runs:
        try:
            move_to_trash(run)
            moved += 1
        except (RunIsRunning, OSError, ValueError) as exc:
            errors.append(str(exc))
    return moved, errors


class TrashScreen(FetchesLatest, ModalScreen[int]):
    """Which runs go to the trash (running ones are kept); enter or y moves them, esc or n cancels.
    Dismisses with how many were moved."""

    BINDINGS = [
        Binding("escape,n", "cancel", "Cancel"),
        Binding("y", "confirm", "Move to trash"),
    ]

    def __init__(self, runs: list[RunInfo]) -> None:
        super().__init__()
        self.kept = [r for r in runs if r.state == "running"]
        self.runs = [r for r in runs if r.state != "running"]

    def compose(self) -> ComposeResult:
        n = len(self.runs)
        with Vertical():
            if n:
                title = "Move this run to the trash?" if n == 1 else f"Move these {n} runs to the trash?"
            else:
                title = "Nothing to move to the trash"
            yield Static(Text(title, style="bold"))
            lines = Text()
            for r in self.runs[:12]:
                lines.append(f"  {sanitize(r.name or r.id)}  ", style="bold")
                lines.append(f"{sanitize(r.ref)}  {r.state}\n")
            if n > 12:
                lines.append(f"  … and {n - 12} more\n")
            for r in self.kept:
                lines.append(f"  kept, still running: {sanitize(r.name or r.id)} ({sanitize(r.ref)})\n", style="yellow")
            lines.append("Undo with `loupe restore RUN`; `loupe gc --trash` deletes for good.", style="dim")
            yield Static(lines, id="trash-list")
            yield Static("", id="trash-error", classes="dialog-error")
            with Horizontal():
                yield Button("Cancel (n)", id="trash-cancel")
                if n:
                    yield Button("Move to trash (y)", id="trash-confirm", variant="error")

    def on_mount(self) -> None:
        self.query_one("#trash-cancel", Button).focus()

    @on(Button.Pressed, "#trash-cancel")
    def action_cancel(self) -> None:
        self.dismiss(0)

    @on(Button.Pressed, "#trash-confirm")
    def action_confirm(self) -> None:
        if self.runs:
            self.fetch(_move_all, self.runs, apply=self._done, group="trash-runs")

    def _done(self, outcome: tuple[int, list[str]]) -> None:
        moved, errors = outcome
        for message in errors:
            self.app.notify(sanitize(message), severity="error", timeout=10, markup=False)
        if moved:
            self.app.notify(
                f"moved {moved} run{'s' if moved != 1 else ''} to the trash (undo: loupe restore RUN)", markup=False
            )
        _rescan(self)
        self.dismiss(moved)
