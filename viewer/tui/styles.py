"""The dashboard's stylesheets: one .tcss per pane family beside its module, app-wide rules first.

Styles live in files rather than in each widget's DEFAULT_CSS so they can be read and
edited as CSS (and reloaded live by `textual run --dev`). Any App that shows Loupe panes
or widgets (LoupeApp, a test's one-pane app) sets `CSS_PATH = STYLESHEETS`; the paths are
absolute, so they resolve wherever that App class is defined.
"""

from __future__ import annotations

from pathlib import Path, PurePath

_HERE = Path(__file__).parent

STYLESHEETS: list[str | PurePath] = [
    _HERE / "loupe.tcss",
    _HERE / "runs_pane.tcss",
    _HERE / "metrics_pane.tcss",
    _HERE / "system_pane.tcss",
    _HERE / "logs_pane.tcss",
    _HERE / "detail_pane.tcss",
    _HERE / "sql_pane.tcss",
    _HERE / "media" / "media_pane.tcss",
    _HERE / "artifacts_pane.tcss",
    _HERE / "sweeps_pane.tcss",
    _HERE / "help_screen.tcss",
    _HERE / "report_export.tcss",
    _HERE / "compare_screen.tcss",
    _HERE / "manage_dialogs.tcss",
]
