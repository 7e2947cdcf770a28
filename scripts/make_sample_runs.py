"""Train a small real model with the recorder and keep the runs as sample_runs/.

A one-hidden-layer MLP in numpy on scikit-learn's bundled digits dataset (8x8 images,
1,797 samples, no download), trained with minibatch SGD. Every number in the runs is
what the training produced. Each run is its own process (so console capture, system
metrics and the crash are real):

- project "digits": a sweep of 10 configs over learning rate, batch size and hidden
  size; one learning-rate range test (the rate grows 3% a step) that diverges
  mid-training, which a divergence guard turns into an exception (state "failed"); one run killed with SIGKILL mid-training by this
  script (state "crashed", history still in its journal).
- project "digits-ablation": no hidden layer (softmax regression) and a tanh hidden layer;
  the tanh run also logs weight histograms every 25 steps and, at the end, validation
  digits as images with captions, a predictions table (with image cells) and a
  confusion matrix (scripts/sample_media.py).
- project "digits-long": one real-size run, 30,000 steps of a wider MLP with linear warmup
  and cosine decay of the learning rate, validation every 100 steps, gradient norms, system
  metrics every 2 s over its minutes of training and a progress line every 1,000 steps.

Training is paced (a few ms of sleep per step) so that system metrics, sampled every
0.5 s, get a handful of samples per run; the pacing changes no number.

    python scripts/make_sample_runs.py            # rewrites ./sample_runs
    python scripts/make_sample_runs.py --out DIR
    python scripts/make_sample_runs.py --only long   # (re)makes only sample_runs/digits-long
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STEPS = 300
PACE_S = 0.008
LONG = {
    "project": "digits-long",
    "name": "wide-mlp-cosine-30k",
    "tags": ["long"],
    "steps": 30_000,
    "lr": 0.05,
    "schedule": "warmup-cosine",
    "warmup": 1_000,
    "batch_size": 64,
    "hidden": 256,
    "seed": 7,
    "val_every": 100,
    "print_every": 1_000,
    "log_grads": True,
    "system_interval": 2.0,
    "pace_s": 0.002,  # with two shared cores the run takes minutes, so System has a real curve
    "notes": "30k SGD steps with linear warmup and cosine decay; validation every 100 steps",
}

SWEEP = [
    {"lr": lr, "batch_size": bs, "hidden": h}
    for lr, bs, h in [
        (0.01, 32, 32),
        (0.03, 32, 32),
        (0.1, 32, 32),
        (0.3, 32, 32),
        (0.1, 16, 64),
        (0.1, 64, 64),
        (0.1, 128, 64),
        (0.1, 32, 16),
        (0.1, 32, 128),
        (0.03, 64, 128),
    ]
]


# -- the training process -------------------------------------------------------------------


def train(spec: dict) -> None:
    import numpy as np
    from sklearn.datasets import load_digits

    import recorder

    cfg = {
        "dataset": "digits",
        "model": "mlp",
        "optimizer": "sgd",
        "steps": spec.get("steps", STEPS),
        "seed": spec.get("seed", 0),
        "activation": spec.get("activation", "relu"),
        **{k: spec[k] for k in ("lr", "batch_size", "hidden")},
    }
    for key in ("lr_growth", "schedule", "warmup", "val_every"):
        if key in spec:
            cfg[key] = spec[key]
    run = recorder.init(
        dir=spec["root"],
        project=spec["project"],
        name=spec["name"],
        config=cfg,
        tags=spec.get("tags", []),
        group=spec.get("group"),
        job_type="train",
        notes=spec.get("notes"),
        system_interval=spec.get("system_interval", 0.5),
    )
    with run:
        X, y = load_digits(return_X_y=True)
        X = X / 16.0
        rng = np.random.default_rng(cfg["seed"])
        order = rng.permutation(len(X))
        X, y = X[order], y[order]
        n_val = 360
        Xv, yv, Xt, yt = X[:n_val], y[:n_val], X[n_val:], y[n_val:]
        print(f"digits: {len(Xt)} train / {len(Xv)} val samples, {X.shape[1]} features")
        h = cfg["hidden"]
        act = cfg["activation"]
        if h:
            W1 = rng.normal(0, np.sqrt(2.0 / 64), (64, h))
            b1 = np.zeros(h)
            W2 = rng.normal(0, np.sqrt(1.0 / h), (h, 10))
        else:
            W1 = b1 = None
            W2 = rng.normal(0, 0.01, (64, 10))
        b2 = np.zeros(10)

        def forward(xb):
            if h:
                z1 = xb @ W1 + b1
                a1 = np.maximum(z1, 0) if act == "relu" else np.tanh(z1)
            else:
                z1 = a1 = xb
            logits = a1 @ W2 + b2
            logits = logits - logits.max(axis=1, keepdims=True)
            p = np.exp(logits)
            p /= p.sum(axis=1, keepdims=True)
            return z1, a1, p

        def loss_acc(p, yb):
            with np.errstate(divide="ignore"):
                loss = float(-np.log(p[np.arange(len(yb)), yb]).mean())
            return loss, float((p.argmax(axis=1) == yb).mean())

        bs = cfg["batch_size"]
        best_vloss = float("inf")
        media = spec.get("media", False)
        if media:
            import sample_media  # beside this script: images, histograms, tables, confusion matrix
        steps = cfg["steps"]
        val_every = spec.get("val_every", 1)
        print_every = spec.get("print_every", 50)
        pace_s = spec.get("pace_s", PACE_S)
        vloss = vacc = float("nan")
        for step in range(steps):
            lr = _learning_rate(cfg, step)
            idx = rng.integers(0, len(Xt), bs)
            xb, yb = Xt[idx], yt[idx]
            with np.errstate(over="ignore", invalid="ignore"):
                z1, a1, p = forward(xb)
                loss, acc = loss_acc(p, yb)
                if not np.isfinite(loss):
                    raise FloatingPointError(f"training loss is {loss} at step {step} (lr={lr})")
                g = p.copy()
                g[np.arange(bs), yb] -= 1
                g /= bs
                gW2 = a1.T @ g
                gb2 = g.sum(axis=0)
                if h:
                    da = g @ W2.T
                    dz = da * (z1 > 0) if act == "relu" else da * (1 - a1**2)
                    W1 -= lr * (xb.T @ dz)
                    b1 -= lr * dz.sum(axis=0)
                if spec.get("log_grads"):
                    grads = {"output": gW2, **({"hidden": xb.T @ dz} if h else {})}
                    norms = {f"grad/{k}_norm": float(np.linalg.norm(v)) for k, v in grads.items()}
                    norms["grad/total_norm"] = float(np.sqrt(sum(n * n for n in norms.values())))
                    run.log(norms, commit=False)
                W2 -= lr * gW2
                b2 -= lr * gb2
                validate = step % val_every == 0 or step == steps - 1
                if validate:
                    _, _, pv = forward(Xv)
            if validate:
                vloss, vacc = loss_acc(pv, yv)
                best_vloss = min(best_vloss, vloss)
            if media and step % 25 == 0:
                # Weight histograms join this step's metrics (commit=False, as wandb users do).
                weights = {"output": W2, **({"hidden": W1} if h else {})}
                run.log(sample_media.weight_histograms(weights), commit=False)
            row = {"train/loss": loss, "train/acc": acc, "lr": lr}
            if validate:
                row.update({"val/loss": vloss, "val/acc": vacc})
            run.log(row)
            if step % print_every == 0 or step == steps - 1:
                print(f"step {step:4d}  train loss {loss:.4f}  val loss {vloss:.4f}  val acc {vacc:.3f}")
            if step == 0:
                print(f"note: validation runs every {val_every} step(s) (360 samples)", file=sys.stderr)
            if spec.get("signal_file") and step == spec.get("signal_at"):
                Path(spec["signal_file"]).write_text(str(step))
            if validate and (not np.isfinite(vloss) or (step >= 20 and vloss > max(2 * best_vloss, 1.0))):
                # The divergence guard a real training loop would have.
                raise RuntimeError(
                    f"training diverged at step {step}: val loss {vloss:.4f}, best {best_vloss:.4f} (lr={lr:.4g})"
                )
            time.sleep(pace_s)
        run.summary["best/val_acc"] = float(vacc)
        if media:
            _, _, pv = forward(Xv)
            sample_media.log_media(
                run, Xv * 16.0, yv, pv.argmax(axis=1), probs=pv, class_names=[str(d) for d in range(10)]
            )


def _learning_rate(cfg: dict, step: int) -> float:
    """The step's rate: constant, growing (the range test) or linear warmup then cosine decay."""
    import math

    base = cfg["lr"]
    if cfg.get("schedule") == "warmup-cosine":
        warmup = cfg["warmup"]
        if step < warmup:
            return base * (step + 1) / warmup
        done = (step - warmup) / max(1, cfg["steps"] - warmup)
        return base * 0.5 * (1 + math.cos(math.pi * done))
    return base * cfg.get("lr_growth", 1.0) ** step


# -- the driver -----------------------------------------------------------------------------


def _spawn(spec: dict) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    # Run outside the repository: a work tree being edited would put its diff into every run.
    return subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--train", json.dumps(spec)],
        cwd=spec["root"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _wait(proc: subprocess.Popen, what: str, expect_ok: bool = True, timeout: float = 300) -> None:
    _, err = proc.communicate(timeout=timeout)
    if expect_ok and proc.returncode != 0:
        raise SystemExit(f"{what} failed:\n{err.decode(errors='replace')}")
    print(f"  {what}: exit {proc.returncode}")


def _make_short(root: Path) -> None:
    """The sweep, the two failures and the ablation: seconds each."""
    for i, cfg in enumerate(SWEEP):
        spec = {
            "root": str(root),
            "project": "digits",
            "name": f"sweep-{i:02d}",
            "group": "lr-bs-hidden",
            "tags": ["sweep"],
            "seed": i,
            **cfg,
        }
        _wait(_spawn(spec), spec["name"])
    spec = {
        "root": str(root),
        "project": "digits",
        "name": "lr-range-test",
        "tags": ["failure"],
        "lr": 0.01,
        "lr_growth": 1.03,
        "batch_size": 32,
        "hidden": 64,
        "seed": 11,
        "notes": "learning rate grows 3% per step until the divergence guard stops training",
    }
    _wait(_spawn(spec), spec["name"] + " (expected to fail)", expect_ok=False)

    flag = root / "killme"
    spec = {
        "root": str(root),
        "project": "digits",
        "name": "killed-mid-training",
        "tags": ["failure"],
        "lr": 0.1,
        "batch_size": 32,
        "hidden": 64,
        "seed": 12,
        "signal_file": str(flag),
        "signal_at": 120,
        "notes": "killed with SIGKILL at step ~120 by make_sample_runs.py",
    }
    proc = _spawn(spec)
    deadline = time.time() + 120
    while not flag.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(0.1)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    print(f"  {spec['name']}: killed with SIGKILL (exit {proc.returncode})")
    flag.unlink(missing_ok=True)

    for name, cfg in (
        ("no-hidden-layer", {"hidden": 0}),
        ("tanh-hidden", {"hidden": 64, "activation": "tanh", "media": True}),
    ):
        spec = {
            "root": str(root),
            "project": "digits-ablation",
            "name": name,
            "tags": ["ablation"],
            "lr": 0.1,
            "batch_size": 32,
            "seed": 0,
            **{"hidden": 64},
            **cfg,
        }
        _wait(_spawn(spec), name)


def _make_long(root: Path) -> None:
    started = time.time()
    _wait(_spawn({"root": str(root), **LONG}), LONG["name"], timeout=1800)
    print(f"  {LONG['name']}: {time.time() - started:.0f} s")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(REPO / "sample_runs"))
    ap.add_argument("--only", choices=["long"], help="make only this run and keep the others in --out")
    ap.add_argument("--train", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.train:
        train(json.loads(args.train))
        return 0

    out = Path(args.out)
    tmp = Path(tempfile.mkdtemp(prefix="loupe-samples-"))
    try:
        print(f"training into {tmp}")
        if args.only is None:
            _make_short(tmp)
        _make_long(tmp)
        # --only long replaces just its project folder; the default replaces everything.
        targets = [(tmp / LONG["project"], out / LONG["project"])] if args.only else [(tmp, out)]
        for made, target in targets:
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(made, target, symlinks=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"wrote {out} ({total / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
