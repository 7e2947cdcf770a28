"""System tab: GPU and host metrics over run time for the selected runs, and a live host monitor.

Top row: per-GPU utilisation, memory, temperature and power (one line per device per
run; colour = the run's colour, device told apart by marker and legend label). Bottom
row: CPU, memory, disk and network. Data comes downsampled by DuckDB
(Store.downsampled(..., x="_runtime", stream="system"), about two points per plot
column) in a thread worker; only sanitised labels go to plotext.

Runs without gpu.* columns get a plain "no GPU recorded" note instead of empty plots.
`h` toggles a live monitor of this machine (viewer.data.host_sampler: psutil + NVML,
sampled every 2 s in a worker into bounded deques, nvitop style).
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.binding import Binding
from textual.containers import Grid, Vertical
from textual.widgets import Static

from viewer.data.host_sampler import HostSampler
from viewer.data.metric_panels import overlay_note
from viewer.data.sanitize import sanitize
from viewer.tui.metric_plot import SafePlot
from viewer.tui.pane import Pane
from viewer.tui.plot_axes import apply_axes

if TYPE_CHECKING:
    from textual.timer import Timer

HOST_SAMPLE_S = 2.0
HOST_HISTORY = 60
MARKERS = ("braille", "dot", "+", "x", "*", "o", "#", "@")
_GPU_RE = re.compile(r"^gpu\.(\d+)\.(.+)$")
SPARK = "▁▂▃▄▅▆▇█"

# (plot id, title, [(field, short label)]): GPU fields are per device.
GPU_PLOTS = (
    ("gpu-util", "GPU utilisation %", (("util_percent", ""),)),
    ("gpu-mem", "GPU memory %", (("memory_percent", ""),)),
    ("gpu-temp", "GPU temperature °C", (("temp_c", ""),)),
    ("gpu-power", "GPU power W", (("power_w", ""),)),
)
HOST_PLOTS = (
    ("host-cpu", "CPU %", (("cpu.percent", "host"), ("cpu.process_percent", "proc"))),
    ("host-mem", "Memory %", (("memory.percent", ""),)),
    ("host-disk", "Disk MiB (since start)", (("disk.read_mb", "read"), ("disk.write_mb", "write"))),
    ("host-net", "Network MiB (since start)", (("network.recv_mb", "recv"), ("network.sent_mb", "sent"))),
)


@dataclass
class Series:
    run_id: str
    metric: str
    label: str
    color: str | None
    marker: str
    xs: list[float]
    ys: list[float]


def sparkline(values, lo: float = 0.0, hi: float = 100.0) -> str:
    out = []
    span = (hi - lo) or 1.0
    for v in values:
        if v is None:
            out.append(" ")
            continue
        i = int((min(max(v, lo), hi) - lo) / span * (len(SPARK) - 1))
        out.append(SPARK[i])
    return "".join(out)


def read_series(
    store,
    run_ids: list[str],
    points: int,
    colors: dict[str, str | None],
    labels: dict[str, str],
    overlay: str = "",
) -> tuple[dict[str, list[Series]], list[str], str]:
    """In a worker: each plot's series, the GPU devices recorded, and the note above the plots."""
    names = store.metric_names(run_ids, stream="system")
    devices = sorted({m.group(1) for n in names if (m := _GPU_RE.match(n))}, key=int)
    wanted: list[str] = []
    for _pid, _t, fields in HOST_PLOTS:
        wanted += [f for f, _ in fields if f in names]
    have = set(names)
    for d in devices:
        for _pid, _t, fields in GPU_PLOTS:
            for f, _ in fields:
                col = f"gpu.{d}.{f}"
                if col in have:
                    wanted.append(col)
                elif f == "memory_percent" and f"gpu.{d}.memory_used_mb" in have:
                    wanted.append(f"gpu.{d}.memory_used_mb")
    table = store.downsampled(run_ids, wanted, points=points, x="_runtime", stream="system") if wanted else None
    data: dict[tuple[str, str], tuple[list[float], list[float]]] = {}
    if table is not None and table.num_rows:
        cols = table.select(["run_id", "metric", "x", "mean"]).to_pydict()
        for rid, metric, x, y in zip(cols["run_id"], cols["metric"], cols["x"], cols["mean"]):
            if x is None or y is None:
                continue
            xs, ys = data.setdefault((rid, metric), ([], []))
            xs.append(x)
            ys.append(y)
    multi = len(run_ids) > 1
    series: dict[str, list[Series]] = {}
    for pid, _title, fields in HOST_PLOTS:
        out = series.setdefault(pid, [])
        for k, (f, short) in enumerate(fields):
            for rid in run_ids:
                if (rid, f) in data:
                    xs, ys = data[(rid, f)]
                    label = " ".join(p for p in ((labels[rid] if multi else ""), short) if p) or f
                    out.append(Series(rid, f, label, colors.get(rid), MARKERS[k % len(MARKERS)], xs, ys))
    for pid, _title, fields in GPU_PLOTS:
        out = series.setdefault(pid, [])
        f = fields[0][0]
        for di, d in enumerate(devices):
            col, suffix = f"gpu.{d}.{f}", ""
            if f == "memory_percent" and not any((rid, col) in data for rid in run_ids):
                col, suffix = f"gpu.{d}.memory_used_mb", " MiB"  # older drivers: no percent
            for rid in run_ids:
                if (rid, col) in data:
                    xs, ys = data[(rid, col)]
                    label = " ".join(p for p in ((labels[rid] if multi else ""), f"gpu{d}") if p) + suffix
                    out.append(Series(rid, col, label, colors.get(rid), MARKERS[di % len(MARKERS)], xs, ys))
    if not names:
        note = "No system metrics recorded for the selected runs (sampling was off: LOUPE_SYSTEM_INTERVAL=0)."
    elif not devices:
        note = "No GPU recorded for the selected runs (no gpu.* system columns): CPU, memory, disk and network below."
    else:
        note = f"GPUs: {', '.join('gpu' + d for d in devices)} · x: run time · h: live host monitor"
    if overlay:
        note = f"{note} · {overlay}"
    return series, devices, note


class SystemPane(Pane, can_focus=True):
    BINDINGS = [
        Binding("h", "toggle_host", "Host monitor"),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.series: dict[str, list[Series]] = {}
        self.note = ""
        self.gpu_devices: list[str] = []
        self.points = 0
        self.host_monitor = False
        self.host_samples: deque[dict[str, float]] = deque(maxlen=HOST_HISTORY)
        self._host_timer: Timer | None = None
        self._sampling = False
        self._host_sampler = HostSampler()

    def compose(self):
        yield Static(id="system-note")
        yield Static(id="system-live")
        with Vertical():
            with Grid(id="system-gpu", classes="system-grid"):
                for pid, _title, _ in GPU_PLOTS:
                    yield SafePlot(id=pid)
            with Grid(id="system-host", classes="system-grid"):
                for pid, _title, _ in HOST_PLOTS:
                    yield SafePlot(id=pid)

    def pane_mounted(self) -> None:
        for pid, title, _ in GPU_PLOTS + HOST_PLOTS:
            self._draw(pid, title, [])

    def focus_default(self) -> None:
        # The plots take no focus; the pane itself does, so `h` works at once.
        self.focus()

    # -- data -----------------------------------------------------------------------------
    def reload(self) -> None:
        if not self.runs:
            self.drop_fetches("system")
            self.series = {}
            self._set_note("No run selected: pick one in the Runs tab (1).")
            for pid, title, _ in GPU_PLOTS + HOST_PLOTS:
                self._draw(pid, title, [])
            return
        store = self.store
        if store is None:
            return
        # Before the first layout the plots have no size yet: a quarter of the screen then.
        width = self.query_one("#host-cpu", SafePlot).size.width or max(20, self.app.size.width // 4)
        points = self.points = max(40, min(2 * width, 1000))
        run_ids = self.overlaid_run_ids
        colors = {rid: self.run_colors.get(rid) for rid in run_ids}
        labels = {r.id: sanitize(r.name or r.id)[:24] for r in self.runs if r.id in colors}
        self.fetch(
            read_series,
            store,
            run_ids,
            points,
            colors,
            labels,
            overlay_note(len(self.runs)),
            apply=self._show,
            group="system",
            failed=lambda error: self._set_note(f"cannot read system metrics: {error}", error=True),
        )

    def _show(self, shown: tuple[dict[str, list[Series]], list[str], str]) -> None:
        series, devices, note = shown
        self.series = series
        self.gpu_devices = devices
        self.query_one("#system-gpu").set_class(not devices, "hidden")
        self._set_note(note)
        for pid, title, _ in GPU_PLOTS + HOST_PLOTS:
            self._draw(pid, title, series.get(pid, []))

    def _draw(self, pid: str, title: str, series: list[Series]) -> None:
        plot = self.query_one(f"#{pid}", SafePlot)
        plt = plot.plt
        plt.clear_figure()
        plt.title(title)
        if not series:
            plt.xlabel("no data")
        for s in series:
            kwargs: dict[str, Any] = {"marker": s.marker, "label": s.label}
            if s.color:
                kwargs["color"] = s.color
            plt.plot(s.xs, s.ys, **kwargs)
        xs = [x for s in series for x in s.xs]
        ys = [y for s in series for y in s.ys]
        # x is run time: ticks in s, min or h as the run's length asks.
        plot.axes = lambda plt, size: apply_axes(plt, size, xs, ys, x_axis="_runtime")
        plot.refresh()

    def _set_note(self, text: str, error: bool = False) -> None:
        self.note = text
        self.query_one("#system-note", Static).update(Text(text, style="red" if error else ""))

    # -- live host monitor ----------------------------------------------------------------
    def action_toggle_host(self) -> None:
        self.host_monitor = not self.host_monitor
        live = self.query_one("#system-live", Static)
        live.set_class(self.host_monitor, "visible")
        if self.host_monitor:
            live.update(Text("sampling this machine…", style="dim"))
            self._host_tick()
            self._host_timer = self.set_interval(HOST_SAMPLE_S, self._host_tick)
        elif self._host_timer is not None:
            self._host_timer.stop()
            self._host_timer = None

    def _host_tick(self) -> None:
        if self._sampling or not self.host_monitor:
            return
        self._sampling = True
        self.fetch(self._host_sampler.sample, apply=self._host_sampled, group="system-host")

    def _host_sampled(self, row: dict[str, float]) -> None:
        self._sampling = False
        if not self.host_monitor:
            return
        self.host_samples.append(row)
        self.query_one("#system-live", Static).update(self.host_text())

    def host_text(self) -> Text:
        samples = list(self.host_samples)
        t = Text()
        t.append("this machine (h hides)\n", "bold")

        def line(label: str, key: str, unit: str = "%", lo: float = 0, hi: float = 100) -> None:
            vals = [s.get(key) for s in samples]
            last = vals[-1] if vals else None
            t.append(f"{label:<10}", "dim")
            t.append(f"{last:6.1f}{unit} " if last is not None else "     — ")
            t.append(sparkline(vals, lo, hi) + "\n", "cyan")

        line("cpu", "cpu.percent")
        line("memory", "memory.percent")
        last = samples[-1] if samples else {}
        gpus = sorted({m.group(1) for k in last if (m := _GPU_RE.match(k))}, key=int)
        if not gpus:
            t.append("gpu       none detected (no NVML driver or GPU)\n", "dim")
        for d in gpus:
            line(f"gpu{d} util", f"gpu.{d}.util_percent")
            mem = last.get(f"gpu.{d}.memory_percent")
            temp = last.get(f"gpu.{d}.temp_c")
            power = last.get(f"gpu.{d}.power_w")
            extra = "  ".join(
                s
                for s in (
                    f"mem {mem:.0f}%" if mem is not None else "",
                    f"{temp:.0f}°C" if temp is not None else "",
                    f"{power:.0f} W" if power is not None else "",
                )
                if s
            )
            if extra:
                t.append(f"{'':<10}{extra}\n", "dim")
        return t

    def on_unmount(self) -> None:
        if self._host_timer is not None:
            self._host_timer.stop()
