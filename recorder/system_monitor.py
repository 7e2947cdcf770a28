"""Periodic host readings (CPU, memory, disk, network, GPU) handed to a sink as flat rows.

Runs on its own daemon thread so the training loop never waits for psutil or NVML, and
so a process that exits without stopping the monitor is not kept alive by it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from recorder.gpu_stats import GpuStats
from recorder.warn import warn_once

_MIB = 1024.0 * 1024.0


class SystemMonitor:
    """Calls `sink(row)` every `interval` seconds with a dict of float readings.

    Disk and network figures are cumulative MiB since start(), so a chart starts at 0 for
    each run instead of at the machine's uptime totals. A reading that cannot be taken
    (container without /proc/diskstats, GPU without power sensor) is left out of the row.
    """

    def __init__(
        self,
        sink: Callable[[dict[str, float]], None],
        interval: float = 2.0,
        pid: int | None = None,
    ) -> None:
        self._sink = sink
        self._interval = max(float(interval), 0.01)
        self._pid = os.getpid() if pid is None else pid
        # An Event rather than time.sleep so stop() is answered mid-interval.
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._psutil: Any = None
        self._proc: Any = None
        self._disk0: Any = None
        self._net0: Any = None
        self._gpu: GpuStats | None = None

    def start(self) -> None:
        """Begin sampling; a monitor runs once (a second start() does nothing)."""
        if self._thread is not None:
            return
        try:
            # Lazily: psutil costs ~10 ms to import and the recorder must import cheaply.
            import psutil

            self._psutil = psutil
            # cpu_percent measures since its previous call; the first call only sets the
            # baseline (and returns a meaningless 0.0), so make it here, not in the first row.
            psutil.cpu_percent(None)
            self._proc = psutil.Process(self._pid)
            self._proc.cpu_percent(None)
        except Exception as e:
            warn_once("system_monitor.psutil", f"system metrics limited: {e!r}")
        self._disk0 = self._call("disk_io_counters")
        self._net0 = self._call("net_io_counters")
        self._thread = threading.Thread(target=self._run, name="loupe-system-monitor", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        t = self._thread
        # A sink that calls stop() runs on our own thread, which cannot join itself.
        if t is not None and t is not threading.current_thread():
            t.join(timeout)

    def _run(self) -> None:
        # NVML is initialised on this thread so its cost (and any driver hang) never
        # lands on the caller of start().
        self._gpu = GpuStats()
        try:
            while not self._stop.wait(self._interval):
                try:
                    row = self.sample()
                except Exception as e:  # a monitor bug must not end the monitoring
                    warn_once("system_monitor.sample", f"system metrics sample failed: {e!r}")
                    continue
                if self._stop.is_set():
                    break
                try:
                    self._sink(row)
                except Exception as e:
                    warn_once("system_monitor.sink", f"system metrics could not be recorded: {e!r}")
        finally:
            gpu, self._gpu = self._gpu, None
            gpu.shutdown()

    def sample(self) -> dict[str, float]:
        """One row of readings, taken now."""
        row: dict[str, float] = {}
        ps, proc = self._psutil, self._proc
        if ps is not None:
            _put(row, "cpu.percent", lambda: ps.cpu_percent(None))
            vm = self._call("virtual_memory")
            if vm is not None:
                row["memory.percent"] = float(vm.percent)
                row["memory.used_mb"] = vm.used / _MIB
        if proc is not None:
            # psutil's convention (as top): 100 means one full core, so it can exceed 100.
            _put(row, "cpu.process_percent", lambda: proc.cpu_percent(None))
            _put(row, "memory.process_rss_mb", lambda: proc.memory_info().rss / _MIB)
        disk, d0 = self._call("disk_io_counters"), self._disk0
        if disk is not None and d0 is not None:
            row["disk.read_mb"] = max(disk.read_bytes - d0.read_bytes, 0) / _MIB
            row["disk.write_mb"] = max(disk.write_bytes - d0.write_bytes, 0) / _MIB
        net, n0 = self._call("net_io_counters"), self._net0
        if net is not None and n0 is not None:
            # Counters can wrap or reset (an interface going away); never report negative.
            row["network.sent_mb"] = max(net.bytes_sent - n0.bytes_sent, 0) / _MIB
            row["network.recv_mb"] = max(net.bytes_recv - n0.bytes_recv, 0) / _MIB
        if self._gpu is not None:
            row.update(self._gpu.sample())
        return row

    def _call(self, name: str) -> Any:
        ps = self._psutil
        if ps is None:
            return None
        try:
            return getattr(ps, name)()
        except Exception:
            return None


def _put(row: dict[str, float], key: str, get: Callable[[], Any]) -> None:
    try:
        row[key] = float(get())
    except Exception:
        pass
