"""Keras 3 (torch backend): a tiny real model trained on the CPU, logged through the Callback."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

# Keras 3 picks its backend on first import; torch is the one this project's tests install.
os.environ.setdefault("KERAS_BACKEND", "torch")
pytest.importorskip("torch")
keras = pytest.importorskip("keras", reason="keras is not installed (pip install 'loupe[keras]')")
if keras.backend.backend() != os.environ["KERAS_BACKEND"]:
    pytest.skip(f"keras was imported earlier with the {keras.backend.backend()} backend", allow_module_level=True)
np = pytest.importorskip("numpy")

from run_reading import read_stream

import recorder
from recorder.integrations.keras import Callback


def _data(n: int, seed: int):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    return x, x.sum(axis=1, keepdims=True)


def _model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)], name="tiny"
    )
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01), loss="mse", metrics=["mae"])
    return model


def test_keras_fit_logs_config_epochs_batches_and_model(runs_root, tmp_path):
    model = _model()
    callback = Callback(project="keras", name="tiny", config={"dataset": "random"}, log_freq=2, log_model=True)
    model.fit(*_data(64, 0), validation_data=_data(16, 1), epochs=2, batch_size=16, verbose=0, callbacks=[callback])
    run = callback.run
    run.finish()

    run_dir = Path(run.dir)
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["state"] == "finished" and meta["name"] == "tiny"
    config = json.loads((run_dir / "config.json").read_text())
    assert config["dataset"] == "random" and config["epochs"] == 2 and config["steps_per_epoch"] == 4
    assert config["optimizer"]["learning_rate"] == pytest.approx(0.01)
    assert config["model"] == {"name": "tiny", "num_parameters": 4 * 8 + 8 + 8 + 1, "layers": 2}

    rows = read_stream(run_dir)
    epochs = [r for r in rows if r.get("epoch/loss") is not None]
    assert [r["epoch/epoch"] for r in epochs] == [0, 1]
    assert all(r["epoch/val_loss"] is not None and r["epoch/mae"] is not None for r in epochs)
    assert all(r["epoch/learning_rate"] == pytest.approx(0.01) for r in epochs)
    batches = [r for r in rows if r.get("batch/loss") is not None]
    assert [r["batch/batch_step"] for r in batches] == [2, 4, 6, 8]  # 4 batches an epoch, every 2nd

    arts = recorder.Api(runs_root).run(f"keras/{run.id}").logged_artifacts()
    assert len(arts) == 1 and arts[0].type == "model" and "final" in arts[0].aliases
    folder = Path(arts[0].download(tmp_path / "dl"))
    reloaded = keras.saving.load_model(folder / "model.keras")
    x, _ = _data(4, 2)
    np.testing.assert_allclose(reloaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5)


def test_keras_callback_checks_log_freq_and_is_a_keras_callback():
    assert isinstance(Callback(), keras.callbacks.Callback)
    for bad in ("sometimes", 0, -3, True):
        with pytest.raises(ValueError):
            Callback(log_freq=bad)
