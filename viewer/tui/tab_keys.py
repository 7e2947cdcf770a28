"""Keys that switch tabs: a digit, and, while a text input has the focus, alt+digit or esc then the digit.

A focused Input takes printable keys (`7` types a 7), so the digit bindings cannot reach
the app from inside one. alt+digit is not printable and gets through; esc moves the focus
out of the input to the pane's next widget, after which the digits work again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from textual.binding import Binding
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Input, TextArea

TEXT_INPUTS = (Input, TextArea)


def tab_bindings(tabs: Sequence[str], titles: Mapping[str, str]) -> list[Binding]:
    """`1`…`9` and `alt+1`…`alt+9` for the tabs in order; the footer shows the alt keys once."""
    digits = [
        Binding(str(i), f"tab('{tab}')", titles.get(tab, tab.title()), show=False) for i, tab in enumerate(tabs, 1)
    ]
    alts = [
        Binding(f"alt+{i}", f"tab('{tab}')", "Tab", show=i == 1, key_display=f"alt+1…{len(tabs)}")
        for i, tab in enumerate(tabs, 1)
    ]
    return [*digits, *alts, Binding("escape", "leave_input", "Leave input")]


def in_text_input(screen: Screen) -> bool:
    return isinstance(screen.focused, TEXT_INPUTS)


def leave_input(screen: Screen, pane_types: tuple[type[Widget], ...]) -> None:
    """Focus the first other focusable widget of the input's pane (its table or plot), or nothing."""
    focused = screen.focused
    if focused is None:
        return
    pane = next((a for a in focused.ancestors if isinstance(a, pane_types)), None)
    others = [] if pane is None else [w for w in pane.query("*") if w.focusable and not isinstance(w, TEXT_INPUTS)]
    screen.set_focus(others[0] if others else None)
