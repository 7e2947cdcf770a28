"""Make docs/screenshot-{runs,metrics,system}.png from sample_runs/.

Runs the dashboard headless at 160x48, saves Textual's SVG of the Runs tab (four sweep
and ablation runs selected) and of the Metrics and System tabs (the 30k-step run of
digits-long selected), and converts them with rsvg-convert (librsvg; on Debian/Ubuntu
`apt-get install librsvg2-bin`):

    python scripts/make_screenshots.py

No monospace font here has braille glyphs, so librsvg draws the plots' braille from a
proportional fallback font whose small dots leave gaps: the curves look like scatter.
Each braille character is therefore drawn as its dots instead, one square per dot on the
cell's 2x4 grid, which joins into solid lines as in a terminal. librsvg also ignores the
SVG's textLength and drops leading blanks (right-aligned numbers would show
left-aligned), so other text gets its blanks turned into an offset of x.
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
LONG_RUN = "wide-mlp-cosine-30k"
METRICS_SHOWN = "loss|val/acc|^lr$"
# Textual's SVG: a row is LINE_PITCH high and its text baseline sits BASELINE below its top.
LINE_PITCH = 24.4
BASELINE = 18.5
_TEXT = re.compile(r'<text ([^>]*?)x="([\d.]+)"([^>]*?)textLength="([\d.]+)"([^>]*)>([^<]*)</text>')
_BRAILLE = re.compile("[\u2800-\u28ff]")


def for_librsvg(svg: str) -> str:
    """Braille drawn as squares; other text with its leading blanks turned into an x offset."""

    def fix(m: re.Match[str]) -> str:
        before, x, middle, length, after, raw = m.groups()
        text = html.unescape(raw)
        if not text:
            return m.group(0)
        cell = float(length) / len(text)
        if _BRAILLE.search(text):
            y = float(re.search(r'y="([\d.]+)"', middle).group(1))
            klass = re.search(r'class="([^"]*)"', before + middle + after)
            return braille_dots(text, float(x), y, cell, klass.group(1) if klass else "")
        lead = len(text) - len(text.lstrip())
        cells = [(lead, text[lead:])] if text[lead:] else []
        return "".join(
            f'<text {before}x="{float(x) + i * cell:.1f}"{middle}textLength="{cell * len(part):.1f}"{after}>'
            f"{html.escape(part, quote=False)}</text>"
            for i, part in cells
        )

    return _TEXT.sub(fix, svg)


def braille_dots(text: str, x: float, y: float, cell: float, klass: str) -> str:
    """One square per raised dot (Unicode's bit order: dots 1-3 and 7 left, 4-6 and 8 right)."""
    top = y - BASELINE
    w, h = cell / 2, LINE_PITCH / 4
    places = [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2), (0, 3), (1, 3)]
    rects = []
    for i, ch in enumerate(text):
        bits = ord(ch) - 0x2800 if _BRAILLE.fullmatch(ch) else 0
        for bit, (col, row) in enumerate(places):
            if bits >> bit & 1:
                rects.append(
                    f'<rect class="{klass}" x="{x + i * cell + col * w:.1f}" y="{top + row * h:.1f}" '
                    f'width="{w:.1f}" height="{h:.1f}"/>'
                )
    return "".join(rects)


async def capture() -> dict[str, str]:
    from textual.widgets import Input

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
        app.select([ids[LONG_RUN]])
        for name, key in (("metrics", "2"), ("system", "3")):
            await pilot.press(key)
            if name == "metrics":  # the curves a reader looks for first; the grad norms are below
                app.query_one("#metrics-filter", Input).value = METRICS_SHOWN
                await pilot.press("l")  # log y: the losses keep falling long after step 2k
            for _ in range(30):
                await pilot.pause(0.1)
                await app.workers.wait_for_complete()
            shots[name] = app.export_screenshot()
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
