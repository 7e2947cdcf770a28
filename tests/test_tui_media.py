"""Media pane: images, histograms, tables, confusion matrices and charts from real runs, with Pilot."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from rich.text import Text
from textual.widgets import ContentSwitcher, DataTable, Input, OptionList, Static
from tui_helpers import PaneApp, screen_text, settle, wait_until

import recorder
from viewer.data import media_index
from viewer.tui.media import image_view as media_image
from viewer.tui.media import media_item
from viewer.tui.media import table_view as media_table
from viewer.tui.media.media_pane import MediaPane

HOSTILE_CAPTION = "[@click=app.quit] [/bold] \x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\ \x1b[2J"
HOSTILE_KEY = "[/bold]w"


def style_at(text: Text, offset: int):
    """The style of one character (spans only; no console needed)."""
    from rich.style import Style

    style = Style()
    for span in text.spans:
        if span.start <= offset < span.end:
            style += span.style if isinstance(span.style, Style) else Style.parse(span.style)
    return style


def img(color: tuple[int, int, int], size: int = 8) -> np.ndarray:
    a = np.zeros((size, size, 3), np.uint8)
    a[: size // 2] = color  # upper half coloured
    a[size // 2 :] = (0, 0, 255)  # lower half blue
    return a


@pytest.fixture(scope="module")
def media_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("media") / "runs"
    run = recorder.init(
        dir=root, project="p", name="media", system_interval=0, capture_console=False, reinit="create_new"
    )
    rng = np.random.default_rng(0)
    for step in range(4):
        run.log(
            {
                "samples": recorder.Image(
                    img((255, 0, 0) if step < 3 else (0, 255, 0)), caption=f"step {step} " + HOSTILE_CAPTION
                ),
                "pair": [recorder.Image(img((255, 255, 0))), recorder.Image(img((0, 255, 255)))],
                HOSTILE_KEY: recorder.Histogram(rng.normal(step, 1.0, 500), num_bins=16),
            },
            step=step,
        )
    rows = [[i, f"name{i}", float(i % 7), "[@click=app.quit]" if i == 3 else "ok"] for i in range(1500)]
    run.log(
        {
            "preds": recorder.Table(columns=["id", "name", "score", "[b]note"], data=rows),
            "cm": recorder.plot.confusion_matrix(
                y_true=[0, 0, 1, 1, 2, 2, 2],
                preds=[0, 1, 1, 1, 2, 2, 0],
                class_names=["cat", "dog", "[/bold]"],
                title="[@click=app.quit]",
            ),
            "curve": recorder.plot.line(
                recorder.Table(columns=["x", "y"], data=[[i, i * i] for i in range(20)]), "x", "y", title="squares"
            ),
            "bars": recorder.plot.bar(
                recorder.Table(columns=["label", "v"], data=[["a", 1], ["[/x]", 3]]), "label", "v"
            ),
            "series": recorder.plot.line_series(
                xs=list(range(5)), ys=[[1, 2, 3, 4, 5], [5, 4, 3, 2, 1]], keys=["up", "down"]
            ),
        },
        step=4,
    )
    run.finish()
    other = recorder.init(
        dir=root, project="p", name="plain", system_interval=0, capture_console=False, reinit="create_new"
    )
    other.log({"loss": 1.0})
    other.finish()
    return root


def test_half_blocks_put_upper_pixel_in_fg_and_lower_in_bg():
    rgb = bytes(
        [
            255,
            0,
            0,
            0,
            255,
            0,  # row 0: red, green
            0,
            0,
            255,
            255,
            255,
            255,  # row 1: blue, white
            10,
            10,
            10,
            20,
            20,
            20,
        ]
    )  # row 2 (odd height): no lower row
    text = media_image.half_block_text(2, 3, rgb)
    assert text.plain == "▀▀\n▀▀"
    styles = [style_at(text, i) for i in (0, 1, 3)]
    assert styles[0].color.triplet == (255, 0, 0) and styles[0].bgcolor.triplet == (0, 0, 255)
    assert styles[1].color.triplet == (0, 255, 0) and styles[1].bgcolor.triplet == (255, 255, 255)
    assert styles[2].color.triplet == (10, 10, 10) and styles[2].bgcolor is None


def test_table_view_filters_and_sorts_with_empty_cells_last():
    rows = [(1, "b"), (None, "a"), (3, "c"), (2, None)]
    assert media_table.table_view(rows, "", 0, False) == [0, 3, 2, 1]
    assert media_table.table_view(rows, "", 0, True) == [2, 3, 0, 1]
    assert media_table.table_view(rows, "C", None, False) == [2]


async def test_images_step_through_and_captions_are_plain(media_root):
    pane = MediaPane(id="media-pane")
    app = PaneApp([media_root], pane)
    async with app.run_test(size=(120, 40)) as pilot:
        app.select(["media"])
        await settle(pilot)
        keys = [(k.key, media_item.view_kind(k)) for k in pane.keys]
        assert ("samples", "image") in keys and (HOSTILE_KEY, "histogram") in keys
        assert ("preds", "table") in keys and ("cm", "confusion") in keys and ("curve", "chart") in keys
        pane.query_one("#media-keys", OptionList).highlighted = [k.key for k in pane.shown_keys].index("samples")
        await settle(pilot)
        assert pane.view.kind == "image" and pane.query_one(ContentSwitcher).current == "view-image"
        # Latest step first; green upper half at step 3.
        assert pane.view.step == 3 and pane.view.steps == [0, 1, 2, 3]
        body = pane.view.body
        assert set(body.plain.replace("\n", "")) == {"▀"}
        first = style_at(body, 0)
        assert first.color.triplet == (0, 255, 0) and first.bgcolor.triplet == (0, 255, 0)
        last = style_at(body, len(body.plain) - 1)
        assert last.color.triplet == (0, 0, 255)
        # Sized to the pane, enlarged from 8x8.
        assert len(body.plain.split("\n")[0]) > 8
        caption = pane.query_one("#media-caption", Static).render()
        assert "[@click=app.quit]" in caption.plain and "\x1b" not in caption.plain
        assert "step 3  (4/4)" in pane.query_one("#media-image-info", Static).render().plain
        await wait_until(
            pilot, lambda: "step 3 [@click=app.quit] [/bold] link" in screen_text(app), what="the caption drawn"
        )
        shown = screen_text(app)
        assert "\x1b" not in shown and "\x07" not in shown

        await pilot.press("left")
        await settle(pilot)
        assert pane.view.step == 2
        assert style_at(pane.view.body, 0).color.triplet == (255, 0, 0)
        await pilot.press("comma", "comma", "comma")  # clamps at the first step
        await settle(pilot)
        assert pane.view.step == 0 and "step 0  (1/4)" in pane.view.info
        await pilot.press("full_stop")
        await settle(pilot)
        assert pane.view.step == 1
        await pilot.press("right", "right")
        await settle(pilot)
        assert pane.view.step == 3 and pane.wanted_step is None  # back to following the latest

        # A list of images at one step: v cycles through it.
        pane.query_one("#media-keys", OptionList).highlighted = [k.key for k in pane.shown_keys].index("pair")
        await settle(pilot)
        assert pane.view.image_count == 2 and pane.view.image_idx == 0
        assert style_at(pane.view.body, 0).color.triplet == (255, 255, 0)
        await pilot.press("v")
        await settle(pilot)
        assert pane.view.image_idx == 1 and "image 2/2" in pane.view.info
        assert style_at(pane.view.body, 0).color.triplet == (0, 255, 255)
        assert app.is_running  # nothing hostile quit it


async def test_image_fallback_without_pillow(media_root, monkeypatch):
    run_dir = next(p for p in (media_root / "p").iterdir() if (p / "media").is_dir())
    mk = next(k for k in media_index.keys(run_dir) if k.key == "samples")
    monkeypatch.setitem(sys.modules, "PIL", None)
    view = media_item.load_item(run_dir, mk, None, 0, (60, 20))
    assert "install Pillow" in view.body.plain and ".png" in view.body.plain and "8×8px" in view.body.plain


async def test_histogram_heatmap_bars_table_confusion_and_charts(media_root):
    pane = MediaPane(id="media-pane")
    app = PaneApp([media_root], pane)
    async with app.run_test(size=(120, 40)) as pilot:
        app.select(["media", "plain"])
        await settle(pilot)
        options = pane.query_one("#media-keys", OptionList)

        def choose(key: str) -> None:
            options.highlighted = [k.key for k in pane.shown_keys].index(key)

        # `k` narrows the key list by kind.
        await pilot.press("k")
        await settle(pilot)
        assert pane.kind_filter == "image" and {k.key for k in pane.shown_keys} == {"samples", "pair"}
        await pilot.press("k")
        await settle(pilot)
        assert [k.key for k in pane.shown_keys] == [HOSTILE_KEY] and pane.view.kind == "histogram"
        heat = pane.view.body.plain.split("\n")
        assert len(heat) == 3  # 4 steps in 2 half-block rows, then the range line
        assert heat[0].split()[0] == "0" and heat[1].split()[0] == "▶2"  # rows: steps 0+1, 2+3 (latest marked)
        assert heat[0].count("▀") == len(heat[1].split()[1]) and heat[0].count("▀") > 16
        centers, counts = pane.view.bars
        assert len(centers) == 16 and sum(counts) == 500
        assert pane.query_one("#media-bars").plt is not None
        await pilot.press("left")
        await settle(pilot)
        assert pane.view.step == 2 and "bars: step 2" in pane.view.info
        # The hostile key shows as text in the list.
        prompt = options.get_option_at_index(0).prompt
        assert isinstance(prompt, Text) and prompt.plain.startswith(HOSTILE_KEY)

        await pilot.press("k", "k", "k")  # table, chart, all
        await settle(pilot)
        assert pane.kind_filter == "all"

        # Tables: capped rows, header sort, filter over cell text.
        choose("preds")
        await settle(pilot)
        table = pane.query_one("#media-table", DataTable)
        assert pane.view.kind == "table" and table.row_count == media_table.TABLE_ROW_CAP
        assert "500 more" in pane.query_one("#media-table-info", Static).render().plain
        headers = [c.label.plain for c in table.columns.values()]
        assert headers == ["id", "name", "score", "[b]note"]
        pane.sort_by(2)
        await settle(pilot)
        assert table.get_cell_at((0, 2)).plain == "0" and "▲" in list(table.columns.values())[2].label.plain
        pane.sort_by(2)
        await settle(pilot)
        assert table.get_cell_at((0, 2)).plain == "6"
        await pilot.press("slash")
        assert isinstance(app.focused, Input)
        await pilot.press(*"click=app")
        await wait_until(pilot, lambda: table.row_count == 1, what="the filter applied once typing paused")
        assert table.get_cell_at((0, 3)).plain == "[@click=app.quit]"
        await pilot.press("enter")
        assert app.focused is table

        # Confusion matrix as a grid of counts.
        choose("cm")
        await settle(pilot)
        assert pane.view.kind == "confusion"
        grid = pane.view.body.plain.split("\n")
        assert grid[0].split() == ["cat", "dog", "[/bold]"]
        assert grid[1].split() == ["cat", "1", "1", "0"] and grid[3].split() == ["[/bold]", "1", "0", "2"]
        assert "7 predictions, accuracy 71.4%" in pane.view.body.plain
        assert "[@click=app.quit]" in pane.query_one("#media-confusion-info", Static).render().plain

        # Charts from their tables.
        choose("curve")
        await settle(pilot)
        data = pane.view.chart
        assert data.chart == "line" and data.title == "squares"
        assert data.series[0][1][:3] == [0.0, 1.0, 2.0] and data.series[0][2][-1] == 361.0
        choose("series")
        await settle(pilot)
        assert sorted(s[0] for s in pane.view.chart.series) == ["down", "up"]
        choose("bars")
        await settle(pilot)
        assert pane.view.chart.labels == ["a", "[/x]"] and pane.view.chart.values == [1.0, 3.0]
        await wait_until(pilot, lambda: pane.query_one(ContentSwitcher).current == "view-chart", what="the chart shown")

        # ] switches to the next selected run, which has no media.
        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert pane.current_run.name == "plain" and pane.keys == []
        assert "logged no images" in pane.query_one("#view-empty", Static).render().plain
        await pilot.press("left_square_bracket")
        await settle(pilot)
        assert pane.current_run.name == "media" and pane.keys
        assert app.is_running


async def test_no_selection_says_so(media_root):
    pane = MediaPane(id="media-pane")
    app = PaneApp([media_root], pane)
    async with app.run_test(size=(100, 30)) as pilot:
        app.select([])
        await settle(pilot)
        assert "select a run" in pane.query_one("#view-empty", Static).render().plain


async def test_media_tab_inside_loupe_app(media_root):
    from textual.widgets import TabbedContent

    from viewer.tui.app import LoupeApp

    app = LoupeApp([media_root], live=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        media_id = next(r.id for r in app.all_runs if r.name == "media")
        app.select([media_id])
        # The key a user presses: switching tabs by assigning `active` leaves focus in the
        # Runs table, and Textual may hand it on within that tab, which switches back.
        await pilot.press("7")
        await wait_until(pilot, lambda: app.query("#media-pane"), what="the media pane mounted")
        pane = app.query_one("#media-pane", MediaPane)
        await wait_until(pilot, lambda: pane.view is not None, what="the media view loaded")
        await settle(pilot)
        assert app.query_one(TabbedContent).active == "media"
        assert pane.current_run.id == media_id and pane.view.kind != "empty"
        # The tab's keys work at once: focus lands in it (after the layout of the new tab).
        await wait_until(pilot, lambda: isinstance(app.focused, OptionList), what="focus in the media key list")
        await pilot.press("k")
        await settle(pilot)
        assert pane.kind_filter == "image" and pane.view.kind == "image"
        await pilot.press("left")
        await settle(pilot)
        assert pane.view.step == pane.view.steps[-2]
        # Live refresh keeps the place.
        pane.data_changed()
        await settle(pilot)
        assert pane.view.step == pane.view.steps[-2] and pane.kind_filter == "image"
        assert app.is_running
