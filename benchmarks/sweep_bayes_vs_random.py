"""Bayes (TPE) vs random search through Loupe's sweep agent, same trial budget, several seeds.

Every trial is a real run (recorder.init / log / finish) driven by recorder.agent, so this
measures the whole path, not Optuna alone. Objectives (minimised):

- branin: x1 in [-5, 10], x2 in [0, 15]; global minimum 0.397887.
- quad6: a shifted quadratic in 6 parameters of mixed kinds (log_uniform lr, uniform,
  int_uniform, q_uniform, categorical); minimum 0.

Prints, per objective and method, the median over seeds of the best value found after
N trials (and after N/2), and how many seeds bayes beat random on.

    python benchmarks/sweep_bayes_vs_random.py [--trials 40] [--seeds 5]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("LOUPE_CONSOLE", "off")
os.environ.setdefault("LOUPE_SYSTEM_INTERVAL", "0")

import recorder

BRANIN_MIN = 0.397887


def branin(c: dict) -> float:
    x1, x2 = c["x1"], c["x2"]
    a, b, cc, r, s, t = 1.0, 5.1 / (4 * math.pi**2), 5 / math.pi, 6.0, 10.0, 1 / (8 * math.pi)
    return a * (x2 - b * x1**2 + cc * x1 - r) ** 2 + s * (1 - t) * math.cos(x1) + s


def quad6(c: dict) -> float:
    return (
        (math.log10(c["lr"]) + 2.5) ** 2  # best lr 10**-2.5
        + 4 * (c["dropout"] - 0.15) ** 2 * 10
        + ((c["layers"] - 5) / 3) ** 2
        + ((c["width"] - 192) / 128) ** 2
        + (0.0 if c["act"] == "gelu" else 0.5)
        + (c["wd"] - 0.3) ** 2
    )


OBJECTIVES = {
    "branin": (
        branin,
        {
            "x1": {"distribution": "uniform", "min": -5.0, "max": 10.0},
            "x2": {"distribution": "uniform", "min": 0.0, "max": 15.0},
        },
        BRANIN_MIN,
    ),
    "quad6": (
        quad6,
        {
            "lr": {"distribution": "log_uniform", "min": 1e-5, "max": 1e-1},
            "dropout": {"distribution": "uniform", "min": 0.0, "max": 0.5},
            "layers": {"distribution": "int_uniform", "min": 1, "max": 12},
            "width": {"distribution": "q_uniform", "min": 32, "max": 512, "q": 32},
            "act": {"values": ["relu", "gelu", "tanh", "silu"]},
            "wd": {"distribution": "uniform", "min": -2.0, "max": 2.0},
        },
        0.0,
    ),
}


def run_one(root: Path, objective: str, method: str, seed: int, trials: int) -> list[float]:
    fn, params, _ = OBJECTIVES[objective]
    sid = recorder.sweep(
        {"method": method, "seed": seed, "metric": {"name": "f", "goal": "minimize"}, "parameters": params},
        project=f"{objective}-{method}-{seed}",
        dir=root,
    )
    values: list[float] = []

    def train() -> None:
        run = recorder.init()
        v = fn(run.config.as_dict())
        run.log({"f": v})
        values.append(v)

    recorder.agent(sid, function=train, count=trials, dir=root, quiet=True)
    return values


def best_after(values: list[float], n: int) -> float:
    return min(values[:n])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=40)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--objective", choices=sorted(OBJECTIVES), action="append")
    args = ap.parse_args(argv)
    import contextlib
    import io

    objectives = args.objective or sorted(OBJECTIVES)
    print(f"{args.trials} trials per sweep, {args.seeds} seeds, median best value (lower is better)")
    with tempfile.TemporaryDirectory() as tmp:
        for obj in objectives:
            optimum = OBJECTIVES[obj][2]
            results: dict[str, list[list[float]]] = {}
            for method in ("random", "bayes"):
                t0 = time.perf_counter()
                results[method] = []
                for seed in range(args.seeds):
                    with contextlib.redirect_stdout(io.StringIO()):
                        results[method].append(run_one(Path(tmp), obj, method, seed, args.trials))
                elapsed = time.perf_counter() - t0
                half = statistics.median(best_after(v, args.trials // 2) for v in results[method])
                full = statistics.median(best_after(v, args.trials) for v in results[method])
                print(
                    f"  {obj:7s} {method:6s}  best@{args.trials // 2:<3d} {half:9.4f}   best@{args.trials:<3d} {full:9.4f}"
                    f"   (regret {full - optimum:.4f}; {elapsed / (args.seeds * args.trials) * 1000:.0f} ms/trial)"
                )
            wins = sum(
                best_after(b, args.trials) < best_after(r, args.trials)
                for b, r in zip(results["bayes"], results["random"])
            )
            print(f"  {obj:7s} bayes beat random on {wins}/{args.seeds} seeds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
