"""How a runs-table cell looks: markup around run text that is sanitised and escaped (so a
run named `[@click=app.quit]` can only ever be literal), and its width on screen, taken
from the plain text so the table need not parse the markup to measure it."""

from __future__ import annotations

from rich.cells import cell_len
from rich.markup import escape

from viewer.data import run_table_model as model
from viewer.data.sanitize import sanitize

__all__ = ["MARK", "STATE_STYLE", "state_cell", "value_cell"]

STATE_STYLE = {"running": "bold green", "finished": "cyan", "failed": "bold red", "crashed": "bold magenta"}
MARK = "●"


def value_cell(column: str, value: object) -> tuple[str, int]:
    """Any cell but the state: numbers right-aligned, runtime as a duration."""
    if column == "runtime":
        text = model.format_runtime(value if isinstance(value, (int, float)) else None).rjust(8)
        return text, cell_len(text)
    plain = sanitize(model.display(value))
    width = cell_len(plain)
    text = escape(plain)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return text.rjust(10 + len(text) - len(plain)), max(10, width)
    return text, width


def state_cell(value: object) -> tuple[str, int]:
    """The state in its colour; the width includes the two columns of the selection mark."""
    plain = str(value)
    style = STATE_STYLE.get(plain, "")
    state = escape(plain)
    return (f"[{style}]{state}[/]" if style else state), 2 + cell_len(plain)
