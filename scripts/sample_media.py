"""Rich media for the sample runs: digit images, weight histograms, predictions, confusion matrix.

For scripts/make_sample_runs.py (or any training script):

    from sample_media import log_media, log_weight_histograms
    log_weight_histograms(run, {"hidden": clf.coefs_[0], "out": clf.coefs_[1]})   # every epoch
    log_media(run, images=X_val, labels=y_val, preds=y_pred, probs=clf.predict_proba(X_val),
              class_names=[str(d) for d in range(10)])                            # at the end

Run it alone for a demo run: `python scripts/sample_media.py [--dir runs] [--project media-demo]`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

import recorder


def digit_image(pixels: Any, scale: int = 4) -> np.ndarray:
    """A digit as uint8 grey, enlarged `scale` times (sklearn's digits are 8x8, values 0-16)."""
    a = np.asarray(pixels, dtype=np.float64)
    if a.ndim == 1:
        side = int(round(a.size**0.5))
        a = a.reshape(side, side)
    top = a.max() if a.max() > 0 else 1.0
    a = np.rint(a / top * 255).astype(np.uint8)
    return np.kron(a, np.ones((scale, scale), dtype=np.uint8)) if scale > 1 else a


def media_payload(
    images: Any,
    labels: Any,
    preds: Any,
    probs: Any = None,
    class_names: list[str] | None = None,
    weights: dict[str, Any] | None = None,
    max_images: int = 16,
    table_rows: int = 100,
    scale: int = 4,
) -> dict[str, Any]:
    """What log_media() logs, for merging with metrics into one log() call."""
    labels = np.asarray(labels).astype(int)
    preds = np.asarray(preds).astype(int)
    n_classes = int(max(labels.max(initial=0), preds.max(initial=0))) + 1
    names = list(class_names) if class_names is not None else [str(i) for i in range(n_classes)]
    payload: dict[str, Any] = {}
    payload["examples"] = [
        recorder.Image(digit_image(images[i], scale), caption=f"pred {names[preds[i]]} / true {names[labels[i]]}")
        for i in range(min(max_images, len(labels)))
    ]
    columns = ["id", "image", "truth", "prediction", "correct"] + (["confidence"] if probs is not None else [])
    table = recorder.Table(columns=columns)
    for i in range(min(table_rows, len(labels))):
        row = [
            i,
            recorder.Image(digit_image(images[i], scale)),
            names[labels[i]],
            names[preds[i]],
            bool(labels[i] == preds[i]),
        ]
        if probs is not None:
            row.append(float(np.max(probs[i])))
        table.add_data(*row)
    payload["predictions"] = table
    payload["confusion_matrix"] = recorder.plot.confusion_matrix(
        y_true=labels.tolist(), preds=preds.tolist(), class_names=names, title="Validation confusion matrix"
    )
    if weights:
        payload.update(weight_histograms(weights))
    return payload


def weight_histograms(weights: dict[str, Any], num_bins: int = 64) -> dict[str, Any]:
    return {
        f"weights/{name}": recorder.Histogram(np.asarray(w).ravel(), num_bins=num_bins) for name, w in weights.items()
    }


def log_weight_histograms(run: Any, weights: dict[str, Any], step: int | None = None) -> None:
    run.log(weight_histograms(weights), **({"step": step} if step is not None else {}))


def log_media(
    run: Any,
    images: Any,
    labels: Any,
    preds: Any,
    probs: Any = None,
    class_names: list[str] | None = None,
    weights: dict[str, Any] | None = None,
    step: int | None = None,
    **kwargs: Any,
) -> None:
    """Log examples (images with captions), a predictions table, a confusion matrix and
    optionally weight histograms, in one step."""
    payload = media_payload(images, labels, preds, probs, class_names, weights, **kwargs)
    run.log(payload, **({"step": step} if step is not None else {}))


def _demo(argv: list[str]) -> None:
    import argparse

    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier

    p = argparse.ArgumentParser()
    p.add_argument("--dir", default=None)
    p.add_argument("--project", default="media-demo")
    p.add_argument("--epochs", type=int, default=8)
    args = p.parse_args(argv)
    x, y = load_digits(return_X_y=True)
    x_tr, x_val, y_tr, y_val = train_test_split(x / 16.0, y, test_size=0.25, random_state=0)
    run = recorder.init(project=args.project, dir=args.dir, config={"hidden": 32, "epochs": args.epochs})
    clf = MLPClassifier(hidden_layer_sizes=(32,), random_state=0, learning_rate_init=0.01)
    classes = np.arange(10)
    for epoch in range(args.epochs):
        clf.partial_fit(x_tr, y_tr, classes=classes)
        run.log(
            {
                "epoch": epoch,
                "train/loss": float(clf.loss_),
                "val/accuracy": float(clf.score(x_val, y_val)),
                **weight_histograms({"hidden": clf.coefs_[0], "output": clf.coefs_[1]}),
            }
        )
    log_media(
        run, x_val, y_val, clf.predict(x_val), probs=clf.predict_proba(x_val), class_names=[str(d) for d in classes]
    )
    run.finish()
    print(run.dir)


if __name__ == "__main__":
    _demo(sys.argv[1:])
