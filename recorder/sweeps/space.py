"""Search space: each parameter spec as an Optuna distribution, and back to a config value.

Most specs map one to one (uniform -> FloatDistribution, log_uniform ->
FloatDistribution(log=True), int_uniform -> IntDistribution, q_uniform ->
FloatDistribution(step=q), values -> CategoricalDistribution). Two have no Optuna
counterpart and are searched through their quantile u in (0, 1), which keeps random
sampling exact and gives TPE a bounded space:

- normal(mu, sigma): value = mu + sigma * Phi^-1(u)
- values with probabilities (random search): the value whose cumulative probability
  bracket holds u.

Categorical values that Optuna cannot store (lists, dicts) travel as their JSON text.
"""

from __future__ import annotations

import json
import math
from statistics import NormalDist
from typing import Any

from recorder.sweeps.config import ParamSpec, SweepConfig, grid_values, nest

_EPS = 1e-9
_PRIMITIVE = (type(None), bool, int, float, str)


def _encode_choice(v: Any) -> Any:
    return v if isinstance(v, _PRIMITIVE) else json.dumps(v, sort_keys=True)


def _uses_quantile(p: ParamSpec, method: str) -> bool:
    return p.distribution == "normal" or (
        p.distribution == "categorical" and p.probabilities is not None and method == "random"
    )


def _choices_need_json(p: ParamSpec) -> bool:
    return not all(isinstance(v, _PRIMITIVE) for v in p.values)


def distribution(p: ParamSpec, method: str):
    """The Optuna distribution a sampler draws this parameter's raw value from."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    if method == "grid":
        return CategoricalDistribution([_encode_choice(v) for v in grid_values(p)])
    if _uses_quantile(p, method):
        return FloatDistribution(_EPS, 1.0 - _EPS)
    d = p.distribution
    if d == "categorical":
        return CategoricalDistribution([_encode_choice(v) for v in p.values])
    if d == "int_uniform":
        return IntDistribution(int(p.min), int(p.max))
    if d == "log_uniform":
        return FloatDistribution(p.min, p.max, log=True)
    if d == "q_uniform":
        # Optuna wants (high - low) to be a multiple of step; the top is the last grid point.
        n = math.floor((p.max - p.min) / p.q + 1e-9)
        return FloatDistribution(p.min, p.min + n * p.q, step=p.q)
    if d == "uniform":
        return FloatDistribution(p.min, p.max)
    raise ValueError(f"{p.field}: no search distribution for {d!r}")


def distributions(cfg: SweepConfig) -> dict[str, Any]:
    """Optuna name -> distribution for every searched parameter (constants are not searched)."""
    params = cfg.parameters if cfg.method == "grid" else cfg.searched
    return {p.name: distribution(p, cfg.method) for p in params if p.distribution != "constant"}


def decode(p: ParamSpec, raw: Any, method: str) -> Any:
    """The config value for the raw value a sampler chose."""
    if method != "grid" and _uses_quantile(p, method):
        u = min(max(float(raw), _EPS), 1.0 - _EPS)
        if p.distribution == "normal":
            return p.mu + p.sigma * NormalDist().inv_cdf(u)
        acc = 0.0
        for v, prob in zip(p.values, p.probabilities or ()):
            acc += prob
            if u < acc:
                return v
        return p.values[-1]
    if p.distribution in ("categorical", "constant") or (method == "grid" and p.distribution != "int_uniform"):
        choices = grid_values(p) if method == "grid" else p.values
        for v in choices:
            if _encode_choice(v) == raw or v == raw:
                return v
        return raw
    if p.distribution == "int_uniform":
        return int(raw)
    if p.distribution == "q_uniform":
        # Snap onto the q lattice so 0.1 + 2*0.1 prints as 0.3, and keep ints when q is.
        v = p.min + round((float(raw) - p.min) / p.q) * p.q
        if float(p.q).is_integer() and float(p.min).is_integer():
            return int(round(v))
        return round(v, 12)
    return float(raw)


def config_for(cfg: SweepConfig, raw_params: dict[str, Any]) -> dict[str, Any]:
    """The nested run config for a trial: every parameter, constants included."""
    flat: dict[str, Any] = {}
    for p in cfg.parameters:
        if p.distribution == "constant" and p.name not in raw_params:
            flat[p.name] = p.value
        else:
            flat[p.name] = decode(p, raw_params[p.name], cfg.method)
    return nest(flat)
