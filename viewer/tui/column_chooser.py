"""Choosing which config and summary columns the runs table shows (`c`)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import SelectionList

from viewer.data.sanitize import sanitize


class ColumnChooser(ModalScreen[list[str] | None]):
    """Pick which config/summary columns the table shows."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel"), Binding("enter", "apply", "Apply")]

    def __init__(self, available: list[str], chosen: list[str]) -> None:
        super().__init__()
        self.available = available
        self.chosen = chosen

    def compose(self) -> ComposeResult:
        yield SelectionList[str](*[(Text(sanitize(c)), c, c in self.chosen) for c in self.available], id="columns")

    def action_apply(self) -> None:
        self.dismiss(list(self.query_one(SelectionList).selected))
