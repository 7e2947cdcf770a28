"""Hostile files under the roots, through the whole dashboard (every tab, keys 1..9).

The query layer's own tests (test_store_*.py) check each bad file alone; here they sit
together in one root and the app must keep running, show the good data, and report
each bad file once, as a warning, never as a traceback or an error.
"""

from __future__ import annotations

import json
import os
import struct
import time
from pathlib import Path

import pytest
from store_helpers import fake_run_dir
from textual.widgets import TabbedContent
from tui_helpers import settle, wait_until

import recorder
from viewer.tui.app import TABS, LoupeApp
from viewer.tui.metric_plot import MetricPlot
from viewer.tui.runs_pane import RunsPane

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


class RecordingApp(LoupeApp):
    """LoupeApp that remembers every notification (they expire from the screen)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.seen: list[tuple[str, str]] = []
        # The tab underline's animation sometimes keeps a headless screen repainting for
        # seconds after a tab switch on a loaded machine.
        self.animation_level = "none"

    def notify(self, message, *args, severity="information", **kwargs):  # type: ignore[override]
        self.seen.append((str(message), severity))
        return super().notify(message, *args, severity=severity, **kwargs)


async def visit_every_tab(app, pilot) -> None:
    for key, tab in zip("123456789", TABS):
        await pilot.press(key)
        await settle(pilot)
        assert app.is_running, tab
        assert app.query_one(TabbedContent).active == tab
        app.set_focus(None)  # a tab may focus its input (SQL): the next digit must switch tabs


def huge_footer(path: Path) -> None:
    # Magic at both ends, and a footer length field claiming ~4 GiB.
    path.write_bytes(b"PAR1" + b"\0" * 64 + struct.pack("<I", 0xFFFFFFF0) + b"PAR1")


def plant_bad_parts(stream_dir: Path, good: bytes) -> list[Path]:
    stream_dir.mkdir(exist_ok=True)
    bad = {
        "part-c0000000-00000000-00000000.parquet": b"",  # zero bytes
        "part-c1000000-00000000-00000000.parquet": good[: len(good) // 2],  # truncated
        "part-c2000000-00000000-00000000.parquet": b"PAR1" + os.urandom(300) + b"PAR1",  # garbage
    }
    for name, data in bad.items():
        (stream_dir / name).write_bytes(data)
    huge_footer(stream_dir / "part-c3000000-00000000-00000000.parquet")
    return [stream_dir / n for n in bad] + [stream_dir / "part-c3000000-00000000-00000000.parquet"]


@pytest.fixture
def hostile_root(tmp_path) -> dict:
    root = tmp_path / "runs"
    # A real run with history and system metrics, plus bad parts beside its good ones.
    good = recorder.init(
        dir=root,
        project="p",
        name="good",
        config={"lr": 0.1},
        system_interval=0.05,
        capture_console=False,
        reinit="create_new",
    )
    for s in range(30):
        good.log({"loss": 1.0 / (s + 1)})
    deadline = time.monotonic() + 5
    while not good._files.system.rows_waiting and time.monotonic() < deadline:
        time.sleep(0.05)
    good.finish()
    gdir = Path(good.dir)
    part = next((gdir / "history").glob("part-*.parquet")).read_bytes()
    bad_files = plant_bad_parts(gdir / "history", part)
    bad_files += plant_bad_parts(gdir / "system", part)

    # Invalid JSON sidecars, one per run (each costs one warning; the run stays listed).
    sidecars = {
        "trailing": ("config.json", b'{"lr": 0.5,}'),
        "bom": ("summary.json", b"\xef\xbb\xbf" + json.dumps({"loss": 0.5}).encode()),
        "badutf8": ("config.json", b'{"lr": 0.5, "name": "\xff\xfe"}'),
        "deep": ("config.json", b'{"lr": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
    }
    for name, (fname, payload) in sidecars.items():
        d = fake_run_dir(root, "p", name, history={"loss": [3.0, 2.0, 1.0]})
        (d / fname).write_bytes(payload)
        bad_files.append(d / fname)

    # A run with no history yet, and a crashed run whose journal's last line is torn.
    fake_run_dir(root, "p", "nohist", state="running")
    torn = fake_run_dir(root, "p", "torn", state="running", heartbeat_age=3600)
    (torn / "history").mkdir()
    (torn / "history" / "journal-abcdef01-00000000.jsonl").write_bytes(
        b"".join(b'\n{"_step":%d,"_timestamp":%d.0,"_runtime":%d.0,"loss":%d.5}' % (i, i, i, i) for i in range(4))
        + b'\n{"_step":4,"_timestamp":4.0,"_ru'
    )
    return {"root": root, "good": good.id, "bad_files": bad_files}


async def test_every_tab_survives_a_root_full_of_bad_files(hostile_root):
    root = hostile_root["root"]
    app = RecordingApp([root], live=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        pane = app.query_one(RunsPane)
        names = sorted(r.values["name"] for r in pane.shown)
        assert names == ["badutf8", "bom", "deep", "good", "nohist", "torn", "trailing"]
        states = {r.values["name"]: r.values["state"] for r in pane.shown}
        assert states["torn"] == "crashed" and states["good"] == "finished"

        app.select([r.run.id for r in pane.rows])  # every run, so every bad file gets read
        await visit_every_tab(app, pilot)
        await pilot.press("2")
        await settle(pilot)
        assert app.query_one(TabbedContent).active == "metrics"

        # The good data is shown: the good run's last loss, the torn journal's intact rows.
        loss = {p.panel.metric: p for p in app.query(MetricPlot)}["loss"].panel
        by_run = {s.run_id: s for s in loss.series}
        assert by_run[hostile_root["good"]].last_x == 29
        assert by_run[hostile_root["good"]].last_y == pytest.approx(1 / 30)
        assert by_run["torn"].last_x == 3 and by_run["torn"].last_y == pytest.approx(3.5)
        for name in ("trailing", "bom", "badutf8", "deep"):
            assert by_run[name].last_y == pytest.approx(1.0)

    # One warning per bad file, naming it; nothing surfaced as an error.
    errors = [m for m, sev in app.seen if sev == "error"]
    assert errors == []
    warnings = app.store_warnings
    assert len(warnings) == len(set(warnings)), warnings
    for bad in hostile_root["bad_files"]:
        hits = [w for w in warnings if str(bad) in w]
        assert len(hits) == 1, (bad, warnings)
    assert len(warnings) == len(hostile_root["bad_files"]), warnings
    shown = [m for m, sev in app.seen if sev == "warning"]
    assert sorted(shown) == sorted(warnings)  # each one reached the screen
    assert all("Traceback" not in m for m, _ in app.seen)


def loss_by_name(app) -> dict[str, tuple[float, float]]:
    pane = app.query_one(RunsPane)
    name_of = {r.run.id: r.values["name"] for r in pane.rows}
    loss = {p.panel.metric: p for p in app.query(MetricPlot)}["loss"].panel
    return {name_of[s.run_id]: (s.last_x, s.last_y) for s in loss.series}


async def test_glob_and_quote_dir_names_and_a_symlinked_run_show_their_own_data(tmp_path):
    root = tmp_path / "runs"
    # Each name next to the run a glob or a badly quoted path would read instead.
    values = {"exp[1]": 1.0, "exp1": 2.0, "star*": 3.0, "starX": 4.0, "it's": 5.0, "its": 6.0}
    for name, v in values.items():
        fake_run_dir(root, "p", name, history={"loss": [v * 10, v]})
    outside = fake_run_dir(tmp_path / "elsewhere", "p", "linked", history={"loss": [70.0, 7.0]})
    (root / "p" / "link").symlink_to(outside, target_is_directory=True)
    app = RecordingApp([root], live=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        pane = app.query_one(RunsPane)
        assert sorted(r.values["name"] for r in pane.shown) == sorted([*values, "linked"])
        app.select([r.run.id for r in pane.rows])
        await pilot.press("2")
        await settle(pilot)
        got = loss_by_name(app)
        assert got == {**{n: (1, v) for n, v in values.items()}, "linked": (1, 7.0)}
        await visit_every_tab(app, pilot)
    assert app.store_warnings == []
    assert [m for m, sev in app.seen if sev == "error"] == []


async def test_watch_limit_too_low_falls_back_to_polling_and_says_so(tmp_path, monkeypatch):
    from textual.widgets import Static

    from viewer.data import live_watch
    from viewer.tui.help_screen import HelpScreen

    fake_run_dir(tmp_path / "runs", "p", "r1", history={"loss": [1.0]})
    monkeypatch.setattr(live_watch, "max_user_watches", lambda: 3)
    app = RecordingApp([tmp_path / "runs"], live=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app._watcher is not None and app._watcher.mode == "polling"
        assert "watch limit" in app.watch_note and app.watch_note.endswith("polling")
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), what="the help screen")
        texts = [str(s.render()) for s in app.screen.query(Static)]
        assert any("watch limit" in t and "polling" in t for t in texts)


async def test_watch_limit_hit_while_adding_watches_is_shown_too(tmp_path, monkeypatch):
    # The limit is only found out on the background thread that adds the watches (ENOSPC).
    import errno

    import watchdog.observers
    from textual.widgets import Static

    from viewer.tui.help_screen import HelpScreen

    class Refusing:
        def schedule(self, *a, **k):
            raise OSError(errno.ENOSPC, "inotify watch limit reached")

        def start(self):
            pass

        def stop(self):
            pass

    monkeypatch.setattr(watchdog.observers, "Observer", Refusing)
    fake_run_dir(tmp_path / "runs", "p", "r1", history={"loss": [1.0]})
    app = RecordingApp([tmp_path / "runs"], live=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await wait_until(pilot, lambda: app._watcher.mode == "polling", what="the fallback to polling")
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), what="the help screen")
        texts = [str(s.render()) for s in app.screen.query(Static)]
        assert any("watch limit reached" in t and "polling" in t for t in texts), texts[-1:]


@pytest.mark.slow
async def test_five_thousand_runs_are_all_listed(tmp_path):
    root = tmp_path / "runs"
    stamp = "2026-01-01T00:00:00.000000Z"
    for i in range(5000):
        d = root / f"proj{i % 5}" / f"r{i:05d}"
        d.mkdir(parents=True)
        (d / "run.json").write_text(
            json.dumps(
                {
                    "format_version": 1,
                    "id": f"r{i:05d}",
                    "name": f"run-{i:05d}",
                    "project": f"proj{i % 5}",
                    "state": "finished",
                    "created_at": stamp,
                    "heartbeat_at": stamp,
                    "finished_at": stamp,
                }
            )
        )
    app = RecordingApp([root], live=False)
    async with app.run_test(size=(120, 40)) as pilot:
        t0 = time.monotonic()
        await settle(pilot)
        pane = app.query_one(RunsPane)
        assert len(pane.rows) == 5000 and len(pane.shown) == 5000
        assert {r.values["name"] for r in pane.shown} == {f"run-{i:05d}" for i in range(5000)}
        # The table fills over several turns of the event loop.
        await wait_until(pilot, lambda: pane.table.row_count == 5000, what="every row in the table")
        # Only the rows drawn have their cells made (a screenful, not 5,000 x 16 cells).
        made = sum(1 for cells in pane.table._data.values() if cells)
        assert 0 < made <= 40
        await pilot.press("slash", *"run-04999")
        await settle(pilot)
        assert [r.values["name"] for r in pane.shown] == ["run-04999"]
        assert time.monotonic() - t0 < 30
    assert app.store_warnings == []


class SpyConnection:
    """Wraps a DuckDB connection and records every statement text sent through it."""

    def __init__(self, con, log: list[str]) -> None:
        self._con = con
        self._log = log

    def sql(self, query, *args, **kwargs):
        self._log.append(str(query))
        return self._con.sql(query, *args, **kwargs)

    def execute(self, query, *args, **kwargs):
        self._log.append(str(query))
        self._con.execute(query, *args, **kwargs)
        return self

    def __getattr__(self, name):
        return getattr(self._con, name)


async def test_runs_filter_text_never_reaches_sql_as_text(tmp_path, monkeypatch):
    import duckdb

    root = tmp_path / "runs"
    fake_run_dir(root, "p", "a", config={"lr": 0.1}, history={"loss": [1.0]})
    fake_run_dir(root, "p", "b", config={"lr": 0.5}, history={"loss": [2.0]})
    statements: list[str] = []
    real_connect = duckdb.connect
    monkeypatch.setattr(duckdb, "connect", lambda *a, **k: SpyConnection(real_connect(*a, **k), statements))
    out = tmp_path / "x.csv"
    hostile = [
        f"lr > 0; COPY runs TO '{out}'",
        "1 UNION SELECT * FROM read_text('/etc/passwd')",
        "config.lr > 0 UNION SELECT content FROM read_text('/etc/passwd')",
        "state = 'finished') OR (1=1",
        "lr > 0 -- comment",
        "lr > 0 /* comment */",
    ]
    injected_strings = ["x' OR 1=1 --", "'; DROP VIEW runs; --", "it's"]
    app = RecordingApp([root], live=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        pane = app.query_one(RunsPane)
        box = app.query_one("#runs-filter")
        box.value = "config.lr > 0.2"
        await settle(pilot)
        assert [r.values["name"] for r in pane.shown] == ["b"]  # the spy sees real filters work
        assert statements
        for text in hostile:
            box.value = text
            await settle(pilot)
            assert pane.shown == [], text  # refused as an expression, or plain words matching nothing
        for s in injected_strings:
            box.value = "name = '" + s.replace("'", "''") + "'"
            await settle(pilot)
            assert pane.shown == [] and not pane.filter_error, s  # a valid filter that matches nothing
        box.value = ""
        await settle(pilot)
        assert len(pane.shown) == 2
        assert app.is_running
    sent = "\n".join(statements)
    for bad in ("COPY", "read_text", "passwd", "DROP", "1=1", "comment", "it's", "0.2"):
        assert bad not in sent, bad
    assert not out.exists()


async def test_metrics_json_of_the_wrong_shape_does_not_hide_anyones_metrics(tmp_path):
    # metrics.json is read on demand by the metrics tab; valid JSON of the wrong shape
    # (a hand-edited or foreign file) must not cost the plots of the selected runs.
    root = tmp_path / "runs"
    payloads = {
        "defs-int": b'{"definitions": 5, "columns": [1]}',
        "defs-junk": b'{"definitions": [5, null, {"name": [1], "hidden": true, "step_metric": [1]}]}',
        "defs-deep": b'{"definitions": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        "defs-list": b"[]",
    }
    for i, (name, payload) in enumerate(payloads.items()):
        d = fake_run_dir(root, "p", name, history={"loss": [9.0, float(i)]})
        (d / "metrics.json").write_bytes(payload)
    fake_run_dir(root, "p", "plain", history={"loss": [9.0, 8.0]})
    app = RecordingApp([root], live=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.select([r.run.id for r in app.query_one(RunsPane).rows])
        await pilot.press("2")
        await settle(pilot)
        got = loss_by_name(app)
        assert got == {**{n: (1, float(i)) for i, n in enumerate(payloads)}, "plain": (1, 8.0)}
        assert app.is_running
    assert [m for m, sev in app.seen if sev == "error"] == []
    assert len(app.store_warnings) == 2  # the two that are not JSON objects
