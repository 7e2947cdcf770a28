"""Warnings for the person running training: printed once per cause, never raised."""

from __future__ import annotations

import logging
import threading

logger = logging.getLogger("loupe")
_seen: set[str] = set()
_lock = threading.Lock()

if not logger.handlers:
    _handler = logging.StreamHandler()
    _handler.setFormatter(logging.Formatter("loupe: %(levelname)s %(message)s"))
    logger.addHandler(_handler)
    logger.setLevel(logging.INFO)
    logger.propagate = True


def warn_once(key: str, message: str) -> None:
    with _lock:
        if key in _seen:
            return
        _seen.add(key)
    logger.warning(message)


def warn(message: str) -> None:
    logger.warning(message)


def reset() -> None:
    """Forget which warnings were shown (tests, and a new run in the same process)."""
    with _lock:
        _seen.clear()
