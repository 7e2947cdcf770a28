"""The report as one HTML file: template, inlined uPlot, styles, script and the data.

    render(data, title) -> str
    write(path, html)              temp file + rename (recorder.atomic_json): never half a report

Nothing in the page can load anything: every script and style is inline, images are
data: URIs, fonts are the system's, and a Content-Security-Policy allows only the
page's own scripts (by hash) and styles, data: images, and no connections at all. So a
run named `<script>...` stays text twice over: the JSON block escapes `<`, the page
shows run text with textContent only, and an injected script would not match a hash.
"""

from __future__ import annotations

import base64
import hashlib
import html
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

import orjson

from recorder.atomic_json import write_bytes_atomic
from viewer.data.series_math import SMOOTHING_STEPS

ASSETS = "assets"


def _asset(name: str) -> str:
    return resources.files("viewer.report").joinpath(ASSETS, name).read_text(encoding="utf-8")


def _hash(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode("utf-8")).digest()).decode("ascii") + "'"


def script_json(value: Any) -> str:
    """JSON that can sit inside <script type="application/json">: no `<`, `>` or `&`
    (so no `</script>` or `<!--`), and no U+2028/U+2029, all as \\u escapes."""
    text = orjson.dumps(value).decode("utf-8")
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return text


def render(data: dict[str, Any], title: str, version: str = "") -> str:
    """The page for gather()'s data; `title` is plain text (escaped here)."""
    uplot_js, report_js = _asset("uPlot.iife.min.js"), _asset("report.js")
    uplot_css, report_css = _asset("uPlot.min.css"), _asset("report.css")
    for source in (uplot_js, report_js):
        if "</script" in source.lower():
            raise ValueError("an inlined script contains </script")
    csp = "; ".join(
        [
            "default-src 'none'",
            f"script-src {_hash(uplot_js)} {_hash(report_js)}",
            f"style-src {_hash(uplot_css)} {_hash(report_css)}",
            "img-src data:",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )
    payload = dict(data, smoothing_steps=list(SMOOTHING_STEPS))
    return Template(_asset("report.html")).substitute(
        csp=csp,
        title=html.escape(title),
        version=html.escape(version),
        uplot_css=uplot_css,
        report_css=report_css,
        data=script_json(payload),
        uplot_js=uplot_js,
        report_js=report_js,
    )


def write(path: Path, text: str) -> int:
    """Replace `path` with the page (a reader sees the old file or the whole new one); its size."""
    body = text.encode("utf-8")
    write_bytes_atomic(Path(path), body)
    return len(body)
