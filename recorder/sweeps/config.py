"""Sweep configs (wandb's format): parse and validate, with one error naming the bad field.

    {"method": "bayes", "metric": {"name": "val/loss", "goal": "minimize"},
     "parameters": {"lr": {"distribution": "log_uniform", "min": 1e-5, "max": 1e-1},
                    "optimizer": {"parameters": {"momentum": {"values": [0.0, 0.9]}}}},
     "early_terminate": {"type": "hyperband", "min_iter": 3, "eta": 3}}

Nothing here imports optuna: a bad config is refused before any of it loads.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Any, Literal

METHODS = ("grid", "random", "bayes")
Goal = Literal["minimize", "maximize"]
GOALS: tuple[Goal, ...] = ("minimize", "maximize")
DISTRIBUTIONS = (
    "constant",
    "categorical",
    "uniform",
    "int_uniform",
    "log_uniform",
    "log_uniform_values",
    "q_uniform",
    "normal",
)
# Keys wandb accepts at the top level of a sweep config that Loupe reads or ignores.
TOP_LEVEL_KEYS = (
    "method",
    "metric",
    "parameters",
    "early_terminate",
    "name",
    "description",
    "program",
    "command",
    "run_cap",
    "seed",
    "project",
    "entity",
    "controller",
    "imports",
    "job",
)
_SPEC_KEYS = {
    "constant": {"value", "distribution"},
    "categorical": {"values", "distribution", "probabilities"},
    "uniform": {"min", "max", "distribution"},
    "int_uniform": {"min", "max", "distribution"},
    "log_uniform": {"min", "max", "distribution"},
    "log_uniform_values": {"min", "max", "distribution"},
    "q_uniform": {"min", "max", "q", "distribution"},
    "normal": {"mu", "sigma", "distribution"},
}
MAX_GRID_POINTS = 1_000_000


class SweepConfigError(ValueError):
    """An invalid sweep config; `field` is the dotted path of the bad entry."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"invalid sweep config: {field}: {message}")


@dataclass(frozen=True)
class ParamSpec:
    """One leaf parameter. `path` is its place in the run config, e.g. ("optimizer", "lr")."""

    path: tuple[str, ...]
    distribution: str
    values: tuple[Any, ...] = ()
    probabilities: tuple[float, ...] | None = None
    value: Any = None
    min: float = 0.0
    max: float = 0.0
    q: float = 1.0
    mu: float = 0.0
    sigma: float = 1.0

    @property
    def name(self) -> str:
        """The parameter's flat name (also its Optuna name): path joined with '.'."""
        return ".".join(self.path)

    @property
    def field(self) -> str:
        return "parameters." + ".parameters.".join(self.path)


@dataclass(frozen=True)
class Metric:
    name: str
    goal: Goal = "minimize"
    target: float | None = None


@dataclass(frozen=True)
class EarlyTerminate:
    """wandb's hyperband: brackets at min_iter * eta**k (or max_iter / eta**k, k = 1..s)."""

    type: str
    min_iter: int
    eta: int
    max_iter: int | None = None


@dataclass(frozen=True)
class SweepConfig:
    method: str
    parameters: tuple[ParamSpec, ...]
    metric: Metric | None = None
    early_terminate: EarlyTerminate | None = None
    run_cap: int | None = None
    seed: int | None = None
    program: str | None = None
    command: tuple[str, ...] | None = None
    name: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def searched(self) -> tuple[ParamSpec, ...]:
        """Parameters a sampler chooses (constants are just copied into the config)."""
        return tuple(p for p in self.parameters if p.distribution != "constant")


def _is_num(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(float(v))


def _is_int(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _num(spec: dict, key: str, where: str, default: Any = None) -> float:
    if key not in spec:
        if default is None:
            raise SweepConfigError(f"{where}.{key}", "is required for this distribution")
        return default
    v = spec[key]
    if not _is_num(v):
        raise SweepConfigError(f"{where}.{key}", f"must be a finite number, not {v!r}")
    return v


def _infer_distribution(spec: dict, where: str) -> str:
    d = spec.get("distribution")
    if d is not None:
        if not isinstance(d, str):
            raise SweepConfigError(f"{where}.distribution", f"must be a string, not {d!r}")
        if d not in DISTRIBUTIONS:
            raise SweepConfigError(
                f"{where}.distribution", f"{d!r} is not supported; use one of {', '.join(DISTRIBUTIONS)}"
            )
        return d
    if "value" in spec:
        return "constant"
    if "values" in spec:
        return "categorical"
    if "min" in spec or "max" in spec:
        return "int_uniform" if _is_int(spec.get("min")) and _is_int(spec.get("max")) else "uniform"
    if "mu" in spec or "sigma" in spec:
        return "normal"
    raise SweepConfigError(where, "needs 'values', 'value', 'distribution' with its bounds, or nested 'parameters'")


def _parse_param(path: tuple[str, ...], spec: Any) -> ParamSpec:
    where = "parameters." + ".parameters.".join(path)
    if not isinstance(spec, dict):
        raise SweepConfigError(where, f"must be a mapping such as {{'values': [...]}}, not {spec!r}")
    dist = _infer_distribution(spec, where)
    allowed = _SPEC_KEYS[dist]
    for key in spec:
        if key not in allowed:
            raise SweepConfigError(
                f"{where}.{key}", f"unknown key for distribution {dist!r} (allowed: {', '.join(sorted(allowed))})"
            )
    if dist == "constant":
        if "value" not in spec:
            raise SweepConfigError(f"{where}.value", "is required for a constant")
        return ParamSpec(path, dist, value=spec["value"])
    if dist == "categorical":
        values = spec.get("values")
        if not isinstance(values, (list, tuple)) or not values:
            raise SweepConfigError(f"{where}.values", f"must be a non-empty list, not {values!r}")
        probs = spec.get("probabilities")
        if probs is not None:
            if (
                not isinstance(probs, (list, tuple))
                or len(probs) != len(values)
                or not all(_is_num(p) and p >= 0 for p in probs)
                or not math.isclose(sum(probs), 1.0, abs_tol=1e-6)
            ):
                raise SweepConfigError(
                    f"{where}.probabilities", f"must be {len(values)} non-negative numbers summing to 1"
                )
            probs = tuple(float(p) for p in probs)
        return ParamSpec(path, dist, values=tuple(values), probabilities=probs)
    if dist == "normal":
        mu = _num(spec, "mu", where, 0.0)
        sigma = _num(spec, "sigma", where, 1.0)
        if sigma <= 0:
            raise SweepConfigError(f"{where}.sigma", f"must be > 0, not {sigma!r}")
        return ParamSpec(path, dist, mu=float(mu), sigma=float(sigma))
    lo = _num(spec, "min", where)
    hi = _num(spec, "max", where)
    if dist == "int_uniform":
        for key, v in (("min", lo), ("max", hi)):
            if not _is_int(v) and not float(v).is_integer():
                raise SweepConfigError(f"{where}.{key}", f"must be an integer for int_uniform, not {v!r}")
        lo, hi = int(lo), int(hi)
        if lo > hi:
            raise SweepConfigError(f"{where}.max", f"must be >= min ({lo}), not {hi}")
        return ParamSpec(path, dist, min=lo, max=hi)
    if lo >= hi:
        raise SweepConfigError(f"{where}.max", f"must be greater than min ({lo!r}), not {hi!r}")
    if dist in ("log_uniform", "log_uniform_values"):
        if lo <= 0:
            raise SweepConfigError(
                f"{where}.min",
                f"must be > 0 for {dist}, not {lo!r} (Loupe reads min/max as the values themselves, "
                "e.g. min: 1e-5, max: 1e-1, not as exponents)",
            )
        return ParamSpec(path, "log_uniform", min=float(lo), max=float(hi))
    if dist == "q_uniform":
        q = _num(spec, "q", where, 1.0)
        if q <= 0:
            raise SweepConfigError(f"{where}.q", f"must be > 0, not {q!r}")
        if q > hi - lo:
            raise SweepConfigError(f"{where}.q", f"{q!r} is larger than max - min ({hi - lo!r})")
        return ParamSpec(path, dist, min=float(lo), max=float(hi), q=float(q))
    return ParamSpec(path, "uniform", min=float(lo), max=float(hi))


def _parse_parameters(params: Any, prefix: tuple[str, ...], out: list[ParamSpec]) -> None:
    where = "parameters" if not prefix else "parameters." + ".parameters.".join(prefix) + ".parameters"
    if not isinstance(params, dict) or not params:
        raise SweepConfigError(where, f"must be a non-empty mapping of parameter name to spec, not {params!r}")
    for name, spec in params.items():
        if not isinstance(name, str) or not name or "." in name:
            raise SweepConfigError(f"{where}.{name}", "parameter names must be non-empty strings without '.'")
        path = prefix + (name,)
        if isinstance(spec, dict) and "parameters" in spec:
            extra = [k for k in spec if k != "parameters"]
            if extra:
                f = "parameters." + ".parameters.".join(path)
                raise SweepConfigError(f"{f}.{extra[0]}", "a nested parameter holds only 'parameters'")
            _parse_parameters(spec["parameters"], path, out)
        else:
            out.append(_parse_param(path, spec))


def grid_size(params: tuple[ParamSpec, ...]) -> int:
    n = 1
    for p in params:
        n *= len(grid_values(p))
    return n


def grid_values(p: ParamSpec) -> tuple[Any, ...]:
    """The points a grid sweep visits for one parameter (int_uniform and q_uniform are discrete)."""
    if p.distribution == "constant":
        return (p.value,)
    if p.distribution == "categorical":
        return p.values
    if p.distribution == "int_uniform":
        return tuple(range(int(p.min), int(p.max) + 1))
    if p.distribution == "q_uniform":
        n = int(math.floor((p.max - p.min) / p.q + 1e-9))
        return tuple(round(p.min + k * p.q, 12) for k in range(n + 1))
    raise SweepConfigError(
        p.field,
        f"method 'grid' needs discrete parameters ('values', 'value', int_uniform or q_uniform), "
        f"not distribution {p.distribution!r}",
    )


def parse(raw: Any) -> SweepConfig:
    """Validate a sweep config dict; raises SweepConfigError naming the first bad field."""
    if not isinstance(raw, dict):
        raise SweepConfigError("<config>", f"must be a mapping, not {type(raw).__name__}")
    for key in raw:
        if key not in TOP_LEVEL_KEYS:
            raise SweepConfigError(str(key), f"unknown key (allowed: {', '.join(TOP_LEVEL_KEYS)})")
    method = raw.get("method")
    if method is None:
        raise SweepConfigError("method", f"is required: one of {', '.join(METHODS)}")
    if method not in METHODS:
        raise SweepConfigError("method", f"{method!r} is not one of {', '.join(METHODS)}")

    metric = None
    if raw.get("metric") is not None:
        m = raw["metric"]
        if not isinstance(m, dict):
            raise SweepConfigError("metric", f"must be a mapping {{name, goal}}, not {m!r}")
        for key in m:
            if key not in ("name", "goal", "target"):
                raise SweepConfigError(f"metric.{key}", "unknown key (allowed: name, goal, target)")
        name = m.get("name")
        if not isinstance(name, str) or not name:
            raise SweepConfigError("metric.name", f"must be a non-empty string, not {name!r}")
        goal = m.get("goal", "minimize")
        if goal not in GOALS:
            raise SweepConfigError("metric.goal", f"{goal!r} is not one of {', '.join(GOALS)}")
        target = m.get("target")
        if target is not None and not _is_num(target):
            raise SweepConfigError("metric.target", f"must be a number, not {target!r}")
        metric = Metric(name, goal, target)
    if method == "bayes" and metric is None:
        raise SweepConfigError("metric", "method 'bayes' needs a metric {name, goal} to optimise")

    if "parameters" not in raw:
        raise SweepConfigError("parameters", "is required")
    specs: list[ParamSpec] = []
    _parse_parameters(raw["parameters"], (), specs)
    params = tuple(specs)
    if method == "grid":
        n = grid_size(params)
        if n > MAX_GRID_POINTS:
            raise SweepConfigError("parameters", f"the grid has {n} points, more than {MAX_GRID_POINTS}")
    elif not any(p.distribution != "constant" for p in params):
        raise SweepConfigError("parameters", f"method {method!r} needs at least one parameter that is not a constant")

    et = None
    if raw.get("early_terminate") is not None:
        et = _parse_early_terminate(raw["early_terminate"])
        if metric is None:
            raise SweepConfigError("metric", "early_terminate needs a metric {name, goal} to compare runs by")

    run_cap = raw.get("run_cap")
    if run_cap is not None and (not _is_int(run_cap) or run_cap < 1):
        raise SweepConfigError("run_cap", f"must be a positive integer, not {run_cap!r}")
    seed = raw.get("seed")
    if seed is not None and not _is_int(seed):
        raise SweepConfigError("seed", f"must be an integer, not {seed!r}")
    program = raw.get("program")
    if program is not None and not isinstance(program, str):
        raise SweepConfigError("program", f"must be a path string, not {program!r}")
    command = raw.get("command")
    if command is not None:
        if not isinstance(command, (list, tuple)) or not command or not all(isinstance(c, str) for c in command):
            raise SweepConfigError("command", "must be a non-empty list of strings")
        command = tuple(command)
    name = raw.get("name")
    if name is not None and not isinstance(name, str):
        raise SweepConfigError("name", f"must be a string, not {name!r}")
    return SweepConfig(method, params, metric, et, run_cap, seed, program, command, name, dict(raw))


def _parse_early_terminate(et: Any) -> EarlyTerminate:
    if not isinstance(et, dict):
        raise SweepConfigError("early_terminate", f"must be a mapping, not {et!r}")
    for key in et:
        if key not in ("type", "min_iter", "max_iter", "s", "eta", "strict"):
            raise SweepConfigError(f"early_terminate.{key}", "unknown key (allowed: type, min_iter, max_iter, s, eta)")
    if et.get("type") != "hyperband":
        raise SweepConfigError("early_terminate.type", f"{et.get('type')!r} is not supported; use 'hyperband'")
    eta = et.get("eta", 3)
    if not _is_int(eta) or eta < 2:
        raise SweepConfigError("early_terminate.eta", f"must be an integer >= 2, not {eta!r}")
    for key in ("min_iter", "max_iter", "s"):
        v = et.get(key)
        if v is not None and (not _is_int(v) or v < 1):
            raise SweepConfigError(f"early_terminate.{key}", f"must be a positive integer, not {v!r}")
    min_iter, max_iter, s = et.get("min_iter"), et.get("max_iter"), et.get("s")
    if min_iter is None:
        if max_iter is None or s is None:
            raise SweepConfigError("early_terminate.min_iter", "is required (or give both max_iter and s)")
        min_iter = max(1, int(round(max_iter / eta**s)))
    if max_iter is not None and max_iter <= min_iter:
        raise SweepConfigError("early_terminate.max_iter", f"must be greater than min_iter ({min_iter})")
    return EarlyTerminate("hyperband", int(min_iter), int(eta), max_iter)


def nest(flat: dict[str, Any]) -> dict[str, Any]:
    """{"optimizer.lr": 0.1, "bs": 32} -> {"optimizer": {"lr": 0.1}, "bs": 32}."""
    out: dict[str, Any] = {}
    for key, v in flat.items():
        parts = key.split(".")
        d = out
        for p in parts[:-1]:
            d = d.setdefault(p, {})
        d[parts[-1]] = v
    return out
