"""Make docs/screenshot-runs.png and docs/screenshot-metrics.png from sample_runs/.

Runs the dashboard headless at 160x48, selects four sample runs, saves Textual's SVG
of the Runs and Metrics tabs and converts them with rsvg-convert (librsvg):

    python scripts/make_screenshots.py

librsvg ignores the SVG's textLength, and the braille glyphs of the plots come from a
proportional fallback font, so a run of braille drifts right past the plot's frame.
Each braille character is therefore given its own x position before converting. It also
drops leading blanks (right-aligned numbers would show left-aligned), so they become an
offset of x.
"""

from __future__ import annotations

import asyncio
import html
import os
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

SIZE = (160, 48)
RUNS = ("sweep-09", "sweep-05", "sweep-02", "tanh-hidden")
_TEXT = re.compile(r'<text ([^>]*?)x="([\d.]+)"([^>]*?)textLength="([\d.]+)"([^>]*)>([^<]*)</text>')
_BRAILLE = re.compile("[\u2800-\u28ff]")


def for_librsvg(svg: str) -> str:
    """Braille runs split into one <text> per cell; leading blanks turned into an x offset."""

    def fix(m: re.Match[str]) -> str:
        before, x, middle, length, after, raw = m.groups()
        text = html.unescape(raw)
        if not text:
            return m.group(0)
        cell = float(length) / len(text)
        if _BRAILLE.search(text):
            cells = [(i, ch) for i, ch in enumerate(text) if not ch.isspace()]
        else:
            lead = len(text) - len(text.lstrip())
            cells = [(lead, text[lead:])] if text[lead:] else []
        return "".join(
            f'<text {before}x="{float(x) + i * cell:.1f}"{middle}textLength="{cell * len(part):.1f}"{after}>'
            f"{html.escape(part, quote=False)}</text>"
            for i, part in cells
        )

    return _TEXT.sub(fix, svg)


async def capture() -> dict[str, str]:
    from viewer.tui.app import LoupeApp
    from viewer.tui.runs_pane import RunsPane

    shots: dict[str, str] = {}
    app = LoupeApp(["sample_runs"], live=False)  # relative: the title shows the root as typed
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(100):
            await pilot.pause(0.05)
            if app.query_one(RunsPane).shown:
                break
        ids = {r.values["name"]: r.run.id for r in app.query_one(RunsPane).rows}
        app.select([ids[n] for n in RUNS])
        await pilot.pause(0.3)
        shots["runs"] = app.export_screenshot()
        await pilot.press("2")
        for _ in range(30):
            await pilot.pause(0.1)
            await app.workers.wait_for_complete()
        shots["metrics"] = app.export_screenshot()
    return shots


def main() -> int:
    os.chdir(ROOT)
    for name, svg in asyncio.run(capture()).items():
        out = ROOT / "docs" / f"screenshot-{name}.png"
        subprocess.run(["rsvg-convert", "-o", str(out)], input=for_librsvg(svg).encode(), check=True)
        print(out.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
