"""wandb's system-metric names (stats records) as the columns of Loupe's system stream.

Metrics that mean the same thing get Loupe's name (docs/format.md, "system"), so the
System tab plots them; units follow Loupe's (network bytes become MiB). Every other
metric keeps wandb's name, so nothing is dropped.

    cpu                         -> cpu.process_percent   (wandb normalises by the CPU count)
    cpu.<i>.cpu_percent         -> kept; their mean      -> cpu.percent
    memory_percent              -> memory.percent
    proc.memory.rssMB           -> memory.process_rss_mb
    disk.in / disk.out          -> disk.read_mb / disk.write_mb   (or the sum of disk.<device>.in/out)
    network.recv / network.sent -> network.recv_mb / network.sent_mb   (bytes / 2**20)
    gpu.<i>.gpu                 -> gpu.<i>.util_percent
    gpu.<i>.memoryAllocated     -> gpu.<i>.memory_percent
    gpu.<i>.memoryAllocatedBytes-> gpu.<i>.memory_used_mb            (bytes / 2**20)
    gpu.<i>.temp                -> gpu.<i>.temp_c
    gpu.<i>.powerWatts          -> gpu.<i>.power_w
    gpu.<i>.smClock             -> gpu.<i>.sm_clock_mhz
"""

from __future__ import annotations

import re

MIB = 1024.0 * 1024.0

_RENAMED = {
    "cpu": ("cpu.process_percent", 1.0),
    "memory_percent": ("memory.percent", 1.0),
    "proc.memory.rssMB": ("memory.process_rss_mb", 1.0),
    "disk.in": ("disk.read_mb", 1.0),
    "disk.out": ("disk.write_mb", 1.0),
    "network.recv": ("network.recv_mb", 1.0 / MIB),
    "network.sent": ("network.sent_mb", 1.0 / MIB),
}
_GPU = {
    "gpu": ("util_percent", 1.0),
    "memoryAllocated": ("memory_percent", 1.0),
    "memoryAllocatedBytes": ("memory_used_mb", 1.0 / MIB),
    "temp": ("temp_c", 1.0),
    "powerWatts": ("power_w", 1.0),
    "smClock": ("sm_clock_mhz", 1.0),
}
_GPU_KEY = re.compile(r"^gpu\.(\d+)\.([A-Za-z]+)$")
_CORE_KEY = re.compile(r"^cpu\.\d+\.cpu_percent$")
_DISK_DEVICE_KEY = re.compile(r"^disk\.([^/]+)\.(in|out)$")


def system_row(stats: dict[str, float]) -> dict[str, float]:
    """One stats sample (wandb name -> number) as a Loupe system row."""
    row: dict[str, float] = {}
    cores: list[float] = []
    disk = {"in": 0.0, "out": 0.0}
    disk_devices = False
    for key, value in stats.items():
        renamed = _RENAMED.get(key)
        if renamed is not None:
            row[renamed[0]] = value * renamed[1]
            continue
        m = _GPU_KEY.match(key)
        if m and m.group(2) in _GPU:
            name, scale = _GPU[m.group(2)]
            row[f"gpu.{m.group(1)}.{name}"] = value * scale
            continue
        if _CORE_KEY.match(key):
            cores.append(value)
        else:
            d = _DISK_DEVICE_KEY.match(key)
            if d:
                disk[d.group(2)] += value
                disk_devices = True
        row[key] = value
    if cores and "cpu.percent" not in row:
        row["cpu.percent"] = sum(cores) / len(cores)
    if disk_devices:
        row.setdefault("disk.read_mb", disk["in"])
        row.setdefault("disk.write_mb", disk["out"])
    return row
