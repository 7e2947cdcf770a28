"""GPU readings through NVML, for the recorder's system monitor and the viewer's host view.

NVML is optional (`pip install loupe[gpu]` brings `nvidia-ml-py`). Training code must
never fail because of a monitor, so every failure here means "not available": a missing
module, a missing driver, a GPU that does not report power. Following nvitop, NVML is
initialised once, lazily, on first use, and each query that fails only omits its key.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

_MIB = 1024.0 * 1024.0


class GpuStats:
    """One NVML session. Not shared between processes: NVML handles do not survive fork."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._nvml: Any = None  # the pynvml module once initialised
        self._handles: list[Any] = []
        # Tried and failed: do not pay for a failing nvmlInit (it can take ~100 ms) every tick.
        self._failed = False

    def _ensure(self) -> bool:
        if self._nvml is not None:
            return True
        if self._failed:
            return False
        self._failed = True
        try:
            # Imported here, not at module import: the recorder must import cheaply and
            # without pynvml installed.
            import pynvml

            pynvml.nvmlInit()
        except Exception:
            return False
        handles = []
        try:
            for i in range(int(pynvml.nvmlDeviceGetCount())):
                try:
                    handles.append(pynvml.nvmlDeviceGetHandleByIndex(i))
                except Exception:
                    # A GPU NVML cannot open (lost, or hidden by permissions) keeps its
                    # index slot so the others keep the numbers nvidia-smi shows.
                    handles.append(None)
        except Exception:
            handles = []
        if not handles:
            _safe(pynvml.nvmlShutdown)
            return False
        self._nvml, self._handles, self._failed = pynvml, handles, False
        return True

    def available(self) -> bool:
        with self._lock:
            return self._ensure()

    def sample(self) -> dict[str, float]:
        """`gpu.count` and `gpu.{i}.*` readings; {} when there is no usable GPU."""
        with self._lock:
            if not self._ensure():
                return {}
            nv, handles = self._nvml, self._handles
            row: dict[str, float] = {"gpu.count": float(len(handles))}
            for i, h in enumerate(handles):
                if h is not None:
                    _device(nv, h, f"gpu.{i}.", row)
            return row

    def shutdown(self) -> None:
        """Release NVML; a later sample() initialises it again."""
        with self._lock:
            if self._nvml is not None:
                _safe(self._nvml.nvmlShutdown)
            self._nvml, self._handles, self._failed = None, [], False

    def _forget_after_fork(self) -> None:
        # The parent's NVML handles (and possibly its held lock) are meaningless in a
        # forked child; start over there without calling into the inherited NVML state.
        self._lock = threading.Lock()
        self._nvml, self._handles, self._failed = None, [], False


def _device(nv: Any, h: Any, p: str, row: dict[str, float]) -> None:
    util = _safe(nv.nvmlDeviceGetUtilizationRates, h)
    if util is not None:
        _put(row, p + "util_percent", lambda: util.gpu)
    mem = _safe(nv.nvmlDeviceGetMemoryInfo, h)
    if mem is not None:
        _put(row, p + "memory_used_mb", lambda: mem.used / _MIB)
        _put(row, p + "memory_total_mb", lambda: mem.total / _MIB)
        _put(row, p + "memory_percent", lambda: 100.0 * mem.used / mem.total)
    _put(row, p + "temp_c", lambda: nv.nvmlDeviceGetTemperature(h, nv.NVML_TEMPERATURE_GPU))
    # NVML reports milliwatts.
    _put(row, p + "power_w", lambda: nv.nvmlDeviceGetPowerUsage(h) / 1000.0)
    _put(row, p + "sm_clock_mhz", lambda: nv.nvmlDeviceGetClockInfo(h, nv.NVML_CLOCK_SM))


def _put(row: dict[str, float], key: str, get: Callable[[], Any]) -> None:
    # NVMLError_NotSupported (power on many consumer cards, clocks on some vGPUs) and a
    # division by a zero total are both "not available": the key is left out.
    value = _safe(get)
    if value is None:
        return
    try:
        row[key] = float(value)
    except (TypeError, ValueError):
        pass


def _safe(fn: Callable[..., Any], *args: Any) -> Any:
    try:
        return fn(*args)
    except Exception:
        return None


_default = GpuStats()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_default._forget_after_fork)


def available() -> bool:
    return _default.available()


def sample() -> dict[str, float]:
    """Readings from a process-wide NVML session (see GpuStats.sample)."""
    return _default.sample()


def shutdown() -> None:
    _default.shutdown()
