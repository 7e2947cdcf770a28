"""Confusion matrices as a grid of counts, each cell shaded by its share of the row."""

from __future__ import annotations

from rich.color import Color
from rich.style import Style
from rich.text import Text

from viewer.data import media_index
from viewer.data.sanitize import sanitize

CONFUSION_MAX_CLASSES = 40


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
