"""Where a run goes and whether it writes at all: init() arguments over environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

MODES = ("offline", "disabled")
# wandb's own switches keep working, so `WANDB_MODE=disabled python train.py` still silences us.
_MODE_ALIASES = {
    "offline": "offline",
    "online": "offline",
    "shared": "offline",
    "dryrun": "offline",
    "run": "offline",
    "disabled": "disabled",
}


@dataclass(frozen=True)
class Settings:
    mode: str
    root: Path
    project: str
    system_interval: float
    capture_console: bool
    # Seconds between fsyncs of the journals (0: never): what a power cut may lose.
    sync_interval: float = 2.0


def resolve_mode(mode: str | None) -> str:
    raw = mode or os.environ.get("LOUPE_MODE") or os.environ.get("WANDB_MODE") or "offline"
    if os.environ.get("WANDB_DISABLED", "").lower() in ("1", "true", "yes") and mode is None:
        raw = "disabled"
    resolved = _MODE_ALIASES.get(str(raw).lower())
    if resolved is None:
        raise ValueError(f"mode {raw!r} is not one of: offline, disabled")
    return resolved


def resolve(
    mode: str | None,
    dir: str | os.PathLike | None,
    project: str | None,
    system_interval: float | None = None,
    capture_console: bool | None = None,
) -> Settings:
    root = Path(dir or os.environ.get("LOUPE_DIR") or "runs")
    project = project or os.environ.get("LOUPE_PROJECT") or os.environ.get("WANDB_PROJECT") or "default"
    if system_interval is None:
        system_interval = float(os.environ.get("LOUPE_SYSTEM_INTERVAL", "2"))
    if capture_console is None:
        capture_console = os.environ.get("LOUPE_CONSOLE", "on").lower() not in ("off", "0", "false")
    sync_interval = float(os.environ.get("LOUPE_SYNC_S", "2"))
    return Settings(resolve_mode(mode), root, project, system_interval, capture_console, sync_interval)
