"""run.config: hyperparameters, with attribute and item access like wandb.config."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any


class ConfigError(ValueError):
    """Raised when update() would silently change a value already recorded."""


def _as_dict(d: Any) -> dict[str, Any]:
    if d is None:
        return {}
    if isinstance(d, Mapping):
        return dict(d)
    if hasattr(d, "__dict__") and not isinstance(d, type):  # argparse.Namespace and friends
        return {k: v for k, v in vars(d).items() if not k.startswith("_")}
    raise TypeError(f"config must be a dict or an argparse.Namespace, not {type(d).__name__}")


class Config:
    """A dict of hyperparameters that saves itself whenever it changes."""

    def __init__(self, data: Any = None, on_change: Callable[[dict[str, Any]], None] | None = None) -> None:
        object.__setattr__(self, "_data", _as_dict(data))
        object.__setattr__(self, "_on_change", on_change)

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change(dict(self._data))

    def update(self, d: Any = None, allow_val_change: bool = False, **kwargs: Any) -> None:
        new = _as_dict(d)
        new.update(kwargs)
        if not allow_val_change:
            for k, v in new.items():
                if k in self._data and self._data[k] != v:
                    raise ConfigError(
                        f"config key {k!r} is already {self._data[k]!r}; pass allow_val_change=True to change it to {v!r}"
                    )
        self._data.update(new)
        self._changed()

    def setdefaults(self, d: Any) -> None:
        for k, v in _as_dict(d).items():
            self._data.setdefault(k, v)
        self._changed()

    def as_dict(self) -> dict[str, Any]:
        return dict(self._data)

    def keys(self):
        return self._data.keys()

    def items(self):
        return self._data.items()

    def values(self):
        return self._data.values()

    def get(self, key: str, default: Any = None) -> Any:
        return self._data.get(key, default)

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._data[key] = value
        self._changed()

    def __delitem__(self, key: str) -> None:
        del self._data[key]
        self._changed()

    def __getattr__(self, key: str) -> Any:
        try:
            return self._data[key]
        except KeyError:
            raise AttributeError(f"config has no key {key!r}") from None

    def __setattr__(self, key: str, value: Any) -> None:
        self[key] = value

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Config):
            return self._data == other._data
        return self._data == other

    def __repr__(self) -> str:
        return f"Config({self._data!r})"
