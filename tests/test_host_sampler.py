"""The System tab's live host monitor reads this machine through viewer.data.host_sampler."""

from __future__ import annotations

import sys

from recorder.gpu_stats import GpuStats
from viewer.data.host_sampler import HostSampler


def test_no_nvml_gives_host_figures_and_no_gpu_keys(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)  # `import pynvml` fails: no driver package
    sampler = HostSampler(GpuStats())
    for _ in range(2):  # the first sample (short CPU interval) and a later one
        row = sampler.sample()
        assert 0.0 <= row["cpu.percent"] <= 100.0
        assert 0.0 < row["memory.percent"] <= 100.0
        assert not [k for k in row if k.startswith("gpu.")]


def test_a_failing_gpu_reader_costs_only_the_gpu_keys():
    class Broken:
        def sample(self):
            raise RuntimeError("NVML driver/library version mismatch")

    row = HostSampler(Broken()).sample()
    assert "memory.percent" in row and not [k for k in row if k.startswith("gpu.")]


def test_no_psutil_gives_an_empty_row_not_an_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "psutil", None)
    monkeypatch.setitem(sys.modules, "pynvml", None)
    assert HostSampler(GpuStats()).sample() == {}


def test_gpu_readings_keep_the_recorders_keys():
    class OneGpu:
        def sample(self):
            return {"gpu.count": 1.0, "gpu.0.util_percent": 42.0, "gpu.0.memory_percent": 10.0}

    row = HostSampler(OneGpu()).sample()
    assert row["gpu.0.util_percent"] == 42.0 and row["gpu.count"] == 1.0
