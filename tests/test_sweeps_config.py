"""Sweep configs: validation (one error naming the field) and the search space per distribution."""

from __future__ import annotations

import math
import statistics
import sys

import pytest

from recorder.sweeps import config as sc
from recorder.sweeps import space

optuna = pytest.importorskip("optuna")


def parse(params, method="random", **extra):
    return sc.parse({"method": method, "metric": {"name": "loss", "goal": "minimize"}, "parameters": params, **extra})


@pytest.mark.parametrize(
    "raw, field",
    [
        ({"method": "bayesian", "parameters": {"a": {"values": [1]}}}, "method"),
        ({"parameters": {"a": {"values": [1]}}}, "method"),
        ({"method": "random"}, "parameters"),
        ({"method": "random", "parameters": {}}, "parameters"),
        ({"method": "random", "parameter": {"a": {"values": [1]}}}, "parameter"),
        ({"method": "bayes", "parameters": {"a": {"values": [1, 2]}}}, "metric"),
        ({"method": "random", "metric": {"goal": "min"}, "parameters": {"a": {"values": [1]}}}, "metric.name"),
        (
            {"method": "random", "metric": {"name": "x", "goal": "up"}, "parameters": {"a": {"values": [1]}}},
            "metric.goal",
        ),
        ({"method": "random", "parameters": {"lr": {"distribution": "uniform", "min": 1}}}, "parameters.lr.max"),
        (
            {"method": "random", "parameters": {"lr": {"distribution": "uniform", "min": 1, "max": 0.5}}},
            "parameters.lr.max",
        ),
        (
            {"method": "random", "parameters": {"lr": {"distribution": "log_uniform", "min": -5, "max": -1}}},
            "parameters.lr.min",
        ),
        (
            {"method": "random", "parameters": {"lr": {"distribution": "beta", "min": 0, "max": 1}}},
            "parameters.lr.distribution",
        ),
        (
            {"method": "random", "parameters": {"lr": {"distribution": "uniform", "min": 0, "max": 1, "maxx": 2}}},
            "parameters.lr.maxx",
        ),
        (
            {"method": "random", "parameters": {"lr": {"distribution": "uniform", "min": "0", "max": 1}}},
            "parameters.lr.min",
        ),
        (
            {"method": "random", "parameters": {"n": {"distribution": "int_uniform", "min": 0.5, "max": 3}}},
            "parameters.n.min",
        ),
        (
            {"method": "random", "parameters": {"x": {"distribution": "normal", "mu": 0, "sigma": 0}}},
            "parameters.x.sigma",
        ),
        (
            {"method": "random", "parameters": {"x": {"distribution": "q_uniform", "min": 0, "max": 1, "q": -1}}},
            "parameters.x.q",
        ),
        ({"method": "random", "parameters": {"x": {"values": []}}}, "parameters.x.values"),
        (
            {"method": "random", "parameters": {"x": {"values": [1, 2], "probabilities": [0.5, 0.6]}}},
            "parameters.x.probabilities",
        ),
        ({"method": "random", "parameters": {"x": 3}}, "parameters.x"),
        ({"method": "random", "parameters": {"x": {}}}, "parameters.x"),
        (
            {
                "method": "random",
                "parameters": {"opt": {"parameters": {"lr": {"distribution": "uniform", "min": 1, "max": 0}}}},
            },
            "parameters.opt.parameters.lr.max",
        ),
        ({"method": "grid", "parameters": {"lr": {"distribution": "uniform", "min": 0, "max": 1}}}, "parameters.lr"),
        (
            {
                "method": "random",
                "metric": {"name": "l"},
                "parameters": {"a": {"values": [1]}},
                "early_terminate": {"type": "median"},
            },
            "early_terminate.type",
        ),
        (
            {
                "method": "random",
                "metric": {"name": "l"},
                "parameters": {"a": {"values": [1]}},
                "early_terminate": {"type": "hyperband"},
            },
            "early_terminate.min_iter",
        ),
        (
            {
                "method": "random",
                "metric": {"name": "l"},
                "parameters": {"a": {"values": [1]}},
                "early_terminate": {"type": "hyperband", "min_iter": 3, "eta": 1},
            },
            "early_terminate.eta",
        ),
        (
            {
                "method": "random",
                "parameters": {"a": {"values": [1]}},
                "early_terminate": {"type": "hyperband", "min_iter": 3},
            },
            "metric",
        ),
        ({"method": "random", "parameters": {"a": {"values": [1]}}, "run_cap": 0}, "run_cap"),
    ],
)
def test_invalid_config_names_the_field(raw, field):
    with pytest.raises(sc.SweepConfigError) as info:
        sc.parse(raw)
    assert info.value.field == field
    assert f": {field}: " in str(info.value)


def test_bad_config_refused_by_sweep_before_anything_is_written(runs_root):
    import recorder

    with pytest.raises(sc.SweepConfigError, match=r"parameters\.lr\.max"):
        recorder.sweep({"method": "random", "parameters": {"lr": {"min": 1.0, "max": 0.0}}}, project="p")
    assert not (runs_root / "p").exists()


def test_inferred_distributions_and_nesting():
    cfg = parse(
        {
            "a": {"min": 1, "max": 5},
            "b": {"min": 0.0, "max": 1.0},
            "c": {"value": "x"},
            "opt": {
                "parameters": {
                    "lr": {"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-1},
                    "m": {"mu": 0, "sigma": 1},
                }
            },
        }
    )
    kinds = {p.name: p.distribution for p in cfg.parameters}
    assert kinds == {"a": "int_uniform", "b": "uniform", "c": "constant", "opt.lr": "log_uniform", "opt.m": "normal"}
    assert sc.nest({"opt.lr": 1, "opt.m": 2, "a": 3}) == {"opt": {"lr": 1, "m": 2}, "a": 3}


def _sample(params, n=2000, method="random", seed=0):
    """Draw n configs through the sweep's own distributions and decoding (no runs)."""
    cfg = parse(params, method=method)
    dists = space.distributions(cfg)
    sampler = optuna.samplers.RandomSampler(seed=seed)
    study = optuna.create_study(sampler=sampler)
    out = []
    for _ in range(n):
        t = study.ask(dists)
        out.append(space.config_for(cfg, t.params))
        study.tell(t, 0.0)
    return out


def test_uniform_bounds_and_spread():
    xs = [c["x"] for c in _sample({"x": {"distribution": "uniform", "min": -2.0, "max": 3.0}})]
    assert all(-2.0 <= x <= 3.0 for x in xs)
    assert abs(statistics.mean(xs) - 0.5) < 0.15
    assert min(xs) < -1.9 and max(xs) > 2.9


def test_log_uniform_is_really_log_scale():
    # min/max are the values themselves; the median of log-uniform samples is the geometric mean.
    xs = [c["lr"] for c in _sample({"lr": {"distribution": "log_uniform", "min": 1e-5, "max": 1e-1}})]
    assert all(1e-5 <= x <= 1e-1 for x in xs)
    med = statistics.median(xs)
    assert 10**-3.3 < med < 10**-2.7  # geometric mean 1e-3 (a linear uniform would give ~0.05)
    per_decade = [sum(1 for x in xs if 10**k <= x < 10 ** (k + 1)) for k in range(-5, -1)]
    assert min(per_decade) > 400  # ~500 in each of the 4 decades


def test_log_uniform_values_alias():
    xs = [c["lr"] for c in _sample({"lr": {"distribution": "log_uniform_values", "min": 1e-4, "max": 1.0}}, n=1000)]
    assert all(1e-4 <= x <= 1.0 for x in xs)
    assert 10**-2.3 < statistics.median(xs) < 10**-1.7


def test_int_uniform_covers_every_integer_inclusive():
    xs = [c["n"] for c in _sample({"n": {"distribution": "int_uniform", "min": 2, "max": 6}}, n=500)]
    assert all(isinstance(x, int) for x in xs)
    assert set(xs) == {2, 3, 4, 5, 6}


def test_q_uniform_on_the_lattice():
    xs = [c["x"] for c in _sample({"x": {"distribution": "q_uniform", "min": 0.0, "max": 1.0, "q": 0.25}}, n=500)]
    assert set(xs) == {0.0, 0.25, 0.5, 0.75, 1.0}
    ns = [c["n"] for c in _sample({"n": {"distribution": "q_uniform", "min": 0, "max": 64, "q": 16}}, n=300)]
    assert set(ns) == {0, 16, 32, 48, 64} and all(isinstance(n, int) for n in ns)


def test_normal_mean_and_sigma():
    xs = [c["x"] for c in _sample({"x": {"distribution": "normal", "mu": 5.0, "sigma": 2.0}}, n=3000)]
    assert abs(statistics.mean(xs) - 5.0) < 0.15
    assert abs(statistics.stdev(xs) - 2.0) < 0.15
    assert min(xs) < 0 and max(xs) > 10  # unbounded tails, not a clipped uniform


def test_categorical_values_including_lists_and_probabilities():
    xs = [c["layers"] for c in _sample({"layers": {"values": [[64], [64, 64], {"w": 1}]}}, n=300)]
    assert {str(x) for x in xs} == {"[64]", "[64, 64]", "{'w': 1}"}
    ys = [c["y"] for c in _sample({"y": {"values": ["a", "b"], "probabilities": [0.9, 0.1]}}, n=2000)]
    assert 0.86 < ys.count("a") / len(ys) < 0.94


def test_tpe_respects_bounds():
    params = {
        "lr": {"distribution": "log_uniform", "min": 1e-5, "max": 1e-1},
        "n": {"distribution": "int_uniform", "min": 1, "max": 4},
        "d": {"distribution": "uniform", "min": 0.1, "max": 0.5},
        "z": {"distribution": "normal", "mu": 0, "sigma": 1},
        "q": {"distribution": "q_uniform", "min": 0, "max": 1, "q": 0.5},
    }
    cfg = parse(params, method="bayes")
    dists = space.distributions(cfg)
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=1, n_startup_trials=5))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    for _ in range(40):
        t = study.ask(dists)
        c = space.config_for(cfg, t.params)
        assert 1e-5 <= c["lr"] <= 1e-1 and c["n"] in (1, 2, 3, 4) and 0.1 <= c["d"] <= 0.5
        assert c["q"] in (0.0, 0.5, 1.0) and math.isfinite(c["z"])
        study.tell(t, (math.log10(c["lr"]) + 3) ** 2 + c["d"])


def test_grid_points_enumerate_the_product():
    from recorder.sweeps.grid import points

    cfg = sc.parse(
        {
            "method": "grid",
            "parameters": {
                "a": {"values": [1, 2]},
                "n": {"distribution": "int_uniform", "min": 0, "max": 2},
                "c": {"value": 7},
                "o": {"parameters": {"lr": {"values": [0.1, 0.01]}}},
            },
        }
    )
    pts = points(cfg)
    assert len(pts) == 12 == sc.grid_size(cfg.parameters)
    configs = [space.config_for(cfg, p) for p in pts]
    assert len({str(c) for c in configs}) == 12
    assert all(c["c"] == 7 and c["o"]["lr"] in (0.1, 0.01) for c in configs)


def test_import_recorder_does_not_import_optuna():
    import subprocess

    code = (
        "import sys, recorder; r = recorder.init(project='p'); r.finish(); "
        "import recorder.sweeps; assert 'optuna' not in sys.modules, 'optuna imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
