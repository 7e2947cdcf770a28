from __future__ import annotations

import sys
import threading
import time
import types
from collections import namedtuple

import pytest

from recorder import gpu_stats, warn
from recorder.system_monitor import SystemMonitor

BASE_KEYS = {
    "cpu.percent",
    "cpu.process_percent",
    "memory.percent",
    "memory.used_mb",
    "memory.process_rss_mb",
    "network.sent_mb",
    "network.recv_mb",
}
GPU_SUFFIXES = {
    "util_percent",
    "memory_used_mb",
    "memory_total_mb",
    "memory_percent",
    "temp_c",
    "power_w",
    "sm_clock_mhz",
}


class Collector:
    def __init__(self) -> None:
        self.rows: list[dict[str, float]] = []
        self.event = threading.Event()

    def __call__(self, row: dict[str, float]) -> None:
        self.rows.append(row)
        if len(self.rows) >= 3:
            self.event.set()


def run_monitor(sink, interval: float = 0.05) -> SystemMonitor:
    mon = SystemMonitor(sink, interval=interval)
    mon.start()
    return mon


@pytest.fixture(autouse=True)
def _fresh_warnings():
    warn.reset()
    yield
    warn.reset()


def test_samples_arrive_with_keys():
    c = Collector()
    mon = run_monitor(c)
    try:
        assert c.event.wait(5), "no samples within 5 s"
    finally:
        mon.stop()
    row = c.rows[-1]
    assert set(row) >= BASE_KEYS, set(row)
    for key, value in row.items():
        assert isinstance(value, float), (key, value)
    assert row["memory.process_rss_mb"] > 1
    assert 0 <= row["memory.percent"] <= 100
    # Cumulative since start: never negative, and starting near zero.
    assert row["network.sent_mb"] >= 0 and row["network.recv_mb"] >= 0
    if "disk.read_mb" in row:
        assert row["disk.read_mb"] >= 0 and row["disk.write_mb"] >= 0


def test_no_gpu_keys_without_gpu(monkeypatch):
    # Whatever this machine has installed, a pynvml that cannot be imported means no GPU.
    monkeypatch.setitem(sys.modules, "pynvml", None)
    c = Collector()
    mon = run_monitor(c)
    try:
        assert c.event.wait(5)
    finally:
        mon.stop()
    assert not any(k.startswith("gpu.") for row in c.rows for k in row)


def test_stop_is_prompt_mid_sleep():
    mon = SystemMonitor(lambda row: None, interval=60.0)
    mon.start()
    time.sleep(0.05)
    t0 = time.monotonic()
    mon.stop()
    assert time.monotonic() - t0 < 0.5
    assert mon._thread is not None and not mon._thread.is_alive()
    mon.stop()  # idempotent


def test_stop_before_start_and_from_sink():
    SystemMonitor(lambda row: None).stop()
    box: list[SystemMonitor] = []
    done = threading.Event()

    def sink(row):
        box[0].stop()  # must not try to join its own thread
        done.set()

    mon = SystemMonitor(sink, interval=0.02)
    box.append(mon)
    mon.start()
    assert done.wait(5)
    mon._thread.join(2)
    assert not mon._thread.is_alive()


def test_sink_exception_does_not_kill_thread(caplog):
    calls = []

    def sink(row):
        calls.append(row)
        raise RuntimeError("disk full")

    mon = SystemMonitor(sink, interval=0.02)
    mon.start()
    try:
        deadline = time.monotonic() + 5
        while len(calls) < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(calls) >= 4
        assert mon._thread.is_alive()
    finally:
        mon.stop()
    # Warned once, not once per sample.
    assert sum("disk full" in r.getMessage() for r in caplog.records) == 1


# -- fake NVML --------------------------------------------------------------------------

Util = namedtuple("Util", "gpu memory")
Mem = namedtuple("Mem", "total free used")


def fake_pynvml(n_gpus: int = 2, fail_init: bool = False, no_power: bool = False):
    m = types.ModuleType("pynvml")

    class NVMLError(Exception):
        pass

    m.NVMLError = NVMLError
    m.NVML_TEMPERATURE_GPU = 0
    m.NVML_CLOCK_SM = 1
    m.calls = {"init": 0, "shutdown": 0}

    def nvmlInit():
        m.calls["init"] += 1
        if fail_init:
            raise NVMLError("Driver Not Loaded")

    def nvmlShutdown():
        m.calls["shutdown"] += 1

    def nvmlDeviceGetPowerUsage(h):
        if no_power:
            raise NVMLError("Not Supported")
        return 123_000  # mW

    m.nvmlInit = nvmlInit
    m.nvmlShutdown = nvmlShutdown
    m.nvmlDeviceGetCount = lambda: n_gpus
    m.nvmlDeviceGetHandleByIndex = lambda i: ("handle", i)
    m.nvmlDeviceGetUtilizationRates = lambda h: Util(gpu=40 + h[1], memory=10)
    m.nvmlDeviceGetMemoryInfo = lambda h: Mem(total=8 * 1024**3, free=6 * 1024**3, used=2 * 1024**3)
    m.nvmlDeviceGetTemperature = lambda h, s: 65
    m.nvmlDeviceGetPowerUsage = nvmlDeviceGetPowerUsage
    m.nvmlDeviceGetClockInfo = lambda h, t: 1410
    return m


def test_fake_nvml_produces_gpu_keys(monkeypatch):
    fake = fake_pynvml(n_gpus=2)
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    c = Collector()
    mon = run_monitor(c)
    try:
        assert c.event.wait(5)
    finally:
        mon.stop()
    row = c.rows[-1]
    assert row["gpu.count"] == 2.0
    for i in (0, 1):
        assert {f"gpu.{i}.{s}" for s in GPU_SUFFIXES} <= set(row)
    assert row["gpu.1.util_percent"] == 41.0
    assert row["gpu.0.memory_used_mb"] == 2048.0
    assert row["gpu.0.memory_total_mb"] == 8192.0
    assert row["gpu.0.memory_percent"] == 25.0
    assert row["gpu.0.temp_c"] == 65.0
    assert row["gpu.0.power_w"] == 123.0
    assert row["gpu.0.sm_clock_mhz"] == 1410.0
    assert set(row) >= BASE_KEYS
    # Initialised once for the whole monitor, released when it stops.
    assert fake.calls == {"init": 1, "shutdown": 1}


def test_unsupported_query_omits_only_that_key(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml(n_gpus=1, no_power=True))
    stats = gpu_stats.GpuStats()
    row = stats.sample()
    stats.shutdown()
    assert "gpu.0.power_w" not in row
    assert row["gpu.0.temp_c"] == 65.0


def test_nvml_error_yields_no_gpu_keys(monkeypatch):
    fake = fake_pynvml(fail_init=True)
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    c = Collector()
    mon = run_monitor(c)
    try:
        assert c.event.wait(5)
        assert mon._thread.is_alive()
    finally:
        mon.stop()
    assert not any(k.startswith("gpu.") for row in c.rows for k in row)
    # A failed init is not retried every tick.
    assert fake.calls["init"] == 1


def test_zero_gpus_means_no_gpu_keys(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml(n_gpus=0))
    assert gpu_stats.GpuStats().sample() == {}


def test_import_is_cheap():
    import subprocess

    code = (
        "import sys, recorder.system_monitor, recorder.gpu_stats; "
        "print(','.join(m for m in ('psutil', 'pynvml', 'textual', 'duckdb') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""
