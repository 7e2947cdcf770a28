"""`loupe report`: the chosen runs as one self-contained, offline HTML file.

    write_report(store, run_ids, path, colors=None, title=None) -> int   # bytes written

viewer.report.report_data gathers the runs table, downsampled series, system metrics,
media and details through the Store; viewer.report.html_page inlines them with uPlot
(assets/uPlot.iife.min.js, MIT licence in assets/uPlot.LICENSE, from the npm package
`uplot` 1.6.32) into the page. No Textual here: the dashboard and the CLI both call it.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from viewer.data.run_colors import RunColors
from viewer.data.store import Store
from viewer.report import html_page
from viewer.report.report_data import gather

__all__ = ["write_report"]


def write_report(
    store: Store,
    run_ids: Sequence[str],
    path: str | Path,
    colors: RunColors | None = None,
    title: str | None = None,
) -> int:
    """Write a report of these runs (in this order, coloured as `colors` or as the
    dashboard would colour them selected in this order); returns the file's size."""
    if not run_ids:
        raise ValueError("a report needs at least one run")
    data = gather(store, run_ids, colors)
    n = len(data["runs"])
    title = title or f"Loupe report: {n} run{'s' if n != 1 else ''}"
    try:
        loupe_version = version("loupe")
    except PackageNotFoundError:
        loupe_version = ""
    return html_page.write(Path(path), html_page.render(data, title, loupe_version))
