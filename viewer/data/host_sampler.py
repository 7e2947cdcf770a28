"""Live readings of this machine for the System tab's host monitor: CPU, memory, GPUs.

    sampler = HostSampler()
    sampler.sample() -> {"cpu.percent": ..., "memory.percent": ..., "gpu.count": ..., "gpu.0.util_percent": ...}

Call it from a worker thread: psutil and NVML may block. GPUs are read by
recorder.gpu_stats, the same NVML reader the recorder's system monitor uses, so a GPU
shows the same keys and values live as in a run's system stream. That is the one
recorder module the viewer uses that is not part of the file contract: it reads
hardware, not run files (tests/test_import_rules.py lists it). No pynvml, no driver or
no GPU: the row simply has no gpu.* keys. No psutil: no cpu/memory keys. Never raises.
"""

from __future__ import annotations

from typing import Any

__all__ = ["HostSampler"]

_FIRST_CPU_S = 0.1


class HostSampler:
    """One sampler per monitor. `gpu` (for tests) is anything with a sample() like
    recorder.gpu_stats.sample(); by default that module's process-wide NVML session."""

    def __init__(self, gpu: Any | None = None) -> None:
        self._gpu = gpu
        self._cpu_primed = False

    def sample(self) -> dict[str, float]:
        row: dict[str, float] = {}
        try:
            import psutil

            # cpu_percent(None) measures since its previous call, and a first call returns a
            # meaningless 0.0; the first sample measures over a short interval instead
            # (this runs in a worker, so the wait blocks nothing).
            row["cpu.percent"] = float(psutil.cpu_percent(None if self._cpu_primed else _FIRST_CPU_S))
            self._cpu_primed = True
            row["memory.percent"] = float(psutil.virtual_memory().percent)
        except Exception:
            pass
        try:
            if self._gpu is None:
                from recorder import gpu_stats

                self._gpu = gpu_stats  # its process-wide NVML session, opened once
            row.update(self._gpu.sample())
        except Exception:
            pass
        return row
