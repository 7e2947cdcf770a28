"""run.watch(model): PyTorch gradient and parameter histograms every log_freq steps.

Gradients: a hook on each parameter tensor counts backward passes; on every
log_freq-th call it logs `gradients/<name>` (commit=False, so it joins the run's
current step). Parameters: a forward hook on the model counts forward passes and
logs `parameters/<name>` for every parameter on every log_freq-th call. Between
logging calls a hook only increments a counter.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from recorder.media.histogram import MAX_BINS, Histogram
from recorder.warn import warn_once

if TYPE_CHECKING:
    from recorder.run_api import Run

LOG_CHOICES = ("gradients", "parameters", "all", None)
NUM_BINS = 64


class _Watch:
    def __init__(self, run: Run, model: Any, prefix: str, log: str | None, log_freq: int) -> None:
        self.run = run
        self.model = model
        self.prefix = prefix
        self.log_freq = max(1, int(log_freq))
        self.handles: list[Any] = []
        self.forward_calls = 0
        if log in ("parameters", "all"):
            self.handles.append(model.register_forward_hook(self._on_forward))
        if log in ("gradients", "all"):
            for name, p in model.named_parameters():
                if p.requires_grad:
                    self.handles.append(p.register_hook(self._grad_hook(name)))

    def _grad_hook(self, name: str):
        key = f"gradients/{self.prefix}{name}"
        calls = [0]
        freq = self.log_freq

        def hook(grad: Any) -> None:
            calls[0] += 1
            if calls[0] % freq == 0:
                self._log(key, grad)

        return hook

    def _on_forward(self, module: Any, inputs: Any, output: Any) -> None:
        self.forward_calls += 1
        if self.forward_calls % self.log_freq:
            return
        for name, p in self.model.named_parameters():
            self._log(f"parameters/{self.prefix}{name}", p)

    def _log(self, key: str, tensor: Any) -> None:
        try:
            h = torch_histogram(tensor, NUM_BINS)
        except Exception as exc:
            warn_once(f"watch:{key}", f"watch(): no histogram for {key!r}: {exc!r}")
            return
        if h is not None:
            self.run.log({key: h}, commit=False)

    def remove(self) -> None:
        for h in self.handles:
            h.remove()
        self.handles.clear()


def torch_histogram(tensor: Any, num_bins: int = NUM_BINS) -> Histogram | None:
    """Histogram of a tensor computed by torch on its own device; None if it has no finite values."""
    import torch

    with torch.no_grad():
        t = tensor.detach()
        if t.is_sparse:
            t = t._values()
        t = t.reshape(-1).float()
        if not bool(torch.isfinite(t).all()):
            t = t[torch.isfinite(t)]
        if t.numel() == 0:
            return None
        lo, hi = t.min().item(), t.max().item()
        if lo == hi:
            lo, hi = lo - 0.5, hi + 0.5
        num_bins = max(1, min(num_bins, MAX_BINS))
        counts = torch.histc(t, bins=num_bins, min=lo, max=hi)
    step = (hi - lo) / num_bins
    bins = [lo + i * step for i in range(num_bins)] + [hi]
    return Histogram(np_histogram=(counts.cpu().tolist(), bins))


_lock = threading.Lock()


def watch(run: Run, models: Any, log: str | None = "gradients", log_freq: int = 100) -> None:
    if run.disabled:
        return
    if log not in LOG_CHOICES:
        raise ValueError(f"watch(): log={log!r} must be one of 'gradients', 'parameters', 'all' or None")
    models = list(models) if isinstance(models, (list, tuple)) else [models]
    for m in models:
        if not (hasattr(m, "named_parameters") and hasattr(m, "register_forward_hook")):
            raise ValueError(f"watch(): expected a torch.nn.Module, got {type(m).__name__}")
    with _lock:
        watches: list[_Watch] = run.__dict__.setdefault("_media_watches", [])
        for m in models:
            if any(w.model is m for w in watches):
                warn_once(f"watch:again:{id(m)}", "watch(): this model is already watched; the call is ignored")
                continue
            prefix = "" if not watches else f"graph_{len(watches)}/"
            watches.append(_Watch(run, m, prefix, log, log_freq))


def unwatch(run: Run, models: Any = None) -> None:
    with _lock:
        watches: list[_Watch] = run.__dict__.get("_media_watches", [])
        if models is None:
            targets = list(watches)
        else:
            models = list(models) if isinstance(models, (list, tuple)) else [models]
            targets = [w for w in watches if any(w.model is m for m in models)]
        for w in targets:
            w.remove()
            watches.remove(w)
