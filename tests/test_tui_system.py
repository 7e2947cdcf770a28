"""System pane: GPU-less runs, fake per-GPU columns, host plots, live host monitor, hostile names."""

from __future__ import annotations

import re
import time

from tui_helpers import focus_in, plot_axis_labels, settle, wait_until

import recorder
from viewer.tui.app import LoupeApp
from viewer.tui.system_pane import SystemPane, sparkline

INJECT = "[@click=app.quit]x[/bold]\x1b]0;T\x07\x1b[2J\x1b[6n"


def make_run(root, **kw):
    return recorder.init(dir=root, project="p", system_interval=0, capture_console=False, reinit="create_new", **kw)


def write_system(run, n=40, gpus=0, t0=None, every=2.0):
    """System rows as the recorder's SystemMonitor sink writes them, one each `every` seconds."""
    t0 = time.time() if t0 is None else t0
    for i in range(n):
        row = {
            "_timestamp": t0 + every * i,
            "_runtime": every * i,
            "cpu.percent": 10.0 + i % 50,
            "memory.percent": 40.0,
            "disk.read_mb": float(i),
            "disk.write_mb": 2.0 * i,
            "network.sent_mb": 0.5 * i,
            "network.recv_mb": float(i),
        }
        for d in range(gpus):
            row.update(
                {
                    f"gpu.{d}.util_percent": float((i * 7 + d * 30) % 100),
                    f"gpu.{d}.memory_percent": 50.0 + d,
                    f"gpu.{d}.memory_used_mb": 1000.0,
                    f"gpu.{d}.temp_c": 60.0 + d,
                    f"gpu.{d}.power_w": 200.0 + 10 * d,
                }
            )
        run._files.system.append(row)


async def open_system(app, pilot):
    await settle(pilot)
    await pilot.press("3")
    await settle(pilot)
    pane = app.query_one(SystemPane)
    await focus_in(pilot, pane)
    return pane


async def test_run_without_gpu_shows_note_and_host_plots(tmp_path):
    run = make_run(tmp_path, name="cpu-only")
    write_system(run, gpus=0)
    run.finish()
    app = LoupeApp([tmp_path], live=False)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = await open_system(app, pilot)
        assert pane.note.startswith("No GPU recorded")
        assert pane.gpu_devices == []
        assert not pane.query_one("#system-gpu").display
        assert all(not pane.series[p] for p in ("gpu-util", "gpu-mem", "gpu-temp", "gpu-power"))
        cpu = pane.series["host-cpu"]
        assert [s.metric for s in cpu] == ["cpu.percent"]
        assert len(cpu[0].xs) == 40 and cpu[0].ys[:3] == [10.0, 11.0, 12.0]
        assert [s.label for s in pane.series["host-disk"]] == ["read", "write"]
        assert "No GPU recorded" in str(pane.query_one("#system-note").render())


async def test_time_axis_reads_in_seconds_minutes_or_hours(tmp_path):
    short = make_run(tmp_path, name="short")
    write_system(short, n=40, every=2.0)  # 78 s
    short.finish()
    app = LoupeApp([tmp_path], live=False)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = await open_system(app, pilot)
        x_labels, y_labels = plot_axis_labels(pane.query_one("#host-cpu"))
        # 78 s of samples: round seconds (or minutes), each with its unit, not `0.52 1.03 1.54`
        assert len(x_labels) >= 2 and all(re.fullmatch(r"\d+(s|min)", label) for label in x_labels), x_labels
        assert "0" in y_labels or "10" in y_labels  # cpu.percent runs 10..49: round ticks
        assert "x: run time (s)" not in pane.note


async def test_long_run_time_axis_is_not_in_raw_seconds(tmp_path):
    long = make_run(tmp_path, name="long")
    write_system(long, n=60, every=240.0)  # four hours
    long.finish()
    app = LoupeApp([tmp_path], live=False)
    async with app.run_test(size=(160, 40)) as pilot:
        pane = await open_system(app, pilot)
        x_labels, _ = plot_axis_labels(pane.query_one("#host-mem"))
        assert x_labels and all(label.endswith("h") for label in x_labels), x_labels
        assert x_labels[:2] == ["0h", "1h"]


async def test_no_system_metrics_at_all(tmp_path):
    make_run(tmp_path).finish()
    app = LoupeApp([tmp_path], live=False)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = await open_system(app, pilot)
        assert pane.note.startswith("No system metrics recorded")


async def test_gpu_series_per_device_per_run(tmp_path):
    a = make_run(tmp_path, name="two-gpus")
    write_system(a, gpus=2)
    a.finish()
    b = make_run(tmp_path, name=INJECT)
    write_system(b, n=10, gpus=1)
    b.finish()
    app = LoupeApp([tmp_path], live=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.select([r.id for r in app.all_runs])
        pane = await open_system(app, pilot)
        assert pane.gpu_devices == ["0", "1"]
        assert pane.query_one("#system-gpu").display
        util = pane.series["gpu-util"]
        # One line per device per run: a has gpu0 and gpu1, b has gpu0.
        assert sorted((s.run_id == a.id, s.metric) for s in util) == [
            (False, "gpu.0.util_percent"),
            (True, "gpu.0.util_percent"),
            (True, "gpu.1.util_percent"),
        ]
        by = {(s.run_id, s.metric): s for s in util}
        s0, s1 = by[(a.id, "gpu.0.util_percent")], by[(a.id, "gpu.1.util_percent")]
        assert s0.marker != s1.marker and s0.color == s1.color == app.run_colors.get(a.id)
        assert s0.ys[:3] == [0.0, 7.0, 14.0] and s1.ys[0] == 30.0
        assert by[(b.id, "gpu.0.util_percent")].color == app.run_colors.get(b.id) != s0.color
        # Labels are sanitised: no escape reaches plotext (whose output is parsed as ANSI).
        for plots in pane.series.values():
            for s in plots:
                assert "\x1b" not in s.label and "\x07" not in s.label
        assert any(s.label.startswith("[@click=app.quit]x[/bol") for s in util)  # names cut at 24
        assert [s.ys[0] for s in pane.series["gpu-power"] if s.run_id == a.id] == [200.0, 210.0]
        shot = app.export_screenshot()
        assert "\x1b" not in shot and "\x07" not in shot
        await pilot.click("#gpu-util", offset=(5, 5))
        await pilot.pause()
        assert app.is_running


async def test_points_are_downsampled(tmp_path):
    run = make_run(tmp_path)
    write_system(run, n=3000, gpus=1)
    run.finish()
    app = LoupeApp([tmp_path], live=False)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = await open_system(app, pilot)
        assert 40 <= pane.points <= 2 * 120 // 4 + 2
        n = 0
        for plots in pane.series.values():
            for s in plots:
                assert len(s.xs) <= pane.points
                n += 1
        assert n == 4 + 6 and len(pane.series["host-mem"][0].xs) > pane.points // 2


async def test_live_host_monitor_toggle(tmp_path):
    make_run(tmp_path).finish()
    app = LoupeApp([tmp_path], live=False)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = await open_system(app, pilot)
        await pilot.press("h")
        # Sampled at once, then every HOST_SAMPLE_S: a loaded machine may have taken two.
        await wait_until(pilot, lambda: len(pane.host_samples) >= 1, what="the first host sample")
        assert pane.host_monitor and pane.query_one("#system-live").display
        assert "cpu.percent" in pane.host_samples[0]
        text = pane.host_text().plain
        assert "cpu" in text and "memory" in text
        if not any(k.startswith("gpu.") for k in pane.host_samples[0]):
            assert "none detected" in text
        await pilot.press("h")
        await wait_until(pilot, lambda: not pane.host_monitor, what="the host monitor closed")
        assert not pane.query_one("#system-live").display


def test_sparkline():
    assert sparkline([0, 50, 100, None, 150]) == "▁▄█ █"
