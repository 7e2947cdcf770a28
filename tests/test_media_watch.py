"""run.watch(): gradient and parameter histograms from a small torch model."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import make_run

import recorder
from viewer.data import media_index as mi

torch = pytest.importorskip("torch")


def tiny_model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))


def train(run, model, steps: int) -> None:
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x = torch.randn(8, 4)
    y = torch.randn(8, 2)
    for _ in range(steps):
        loss = torch.nn.functional.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        run.log({"loss": loss.item()})


PARAMS = ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_gradients_every_log_freq_steps(runs_root):
    run = make_run(runs_root)
    model = tiny_model()
    run.watch(model, log_freq=3)
    train(run, model, 10)
    run.finish()
    run_dir = Path(run.dir)
    keys = {k.key: k for k in mi.keys(run_dir)}
    assert set(keys) == {f"gradients/{p}" for p in PARAMS}
    for p in PARAMS:
        s = mi.histogram_series(run_dir, f"gradients/{p}")
        assert s.steps == [2, 5, 8]  # the 3rd, 6th and 9th backward pass
        numel = dict(model.named_parameters())[p].numel()
        assert all(sum(c) == numel and len(b) == 65 for b, c in zip(s.bins, s.counts))


def test_parameters_and_all(runs_root):
    run = make_run(runs_root)
    model = tiny_model()
    recorder.watch(model, log="all", log_freq=2)
    train(run, model, 5)
    weight = model[0].weight.detach().clone()
    run.unwatch(model)
    train(run, model, 4)  # nothing more after unwatch
    run.finish()
    run_dir = Path(run.dir)
    for p in PARAMS:
        assert mi.histogram_series(run_dir, f"parameters/{p}").steps == [1, 3]
        assert mi.histogram_series(run_dir, f"gradients/{p}").steps == [1, 3]
    s = mi.histogram_series(run_dir, "parameters/0.weight")
    assert s.bins[-1][0] <= weight.min().item() + 1.0 and sum(s.counts[-1]) == 12
    assert not model[0].weight._backward_hooks


def test_parameters_only_and_bad_arguments(runs_root):
    run = make_run(runs_root)
    model = tiny_model()
    run.watch(model, log="parameters", log_freq=1)
    train(run, model, 2)
    run.finish()
    assert {k.key.split("/")[0] for k in mi.keys(Path(run.dir))} == {"parameters"}
    with pytest.raises(ValueError):
        make_run(runs_root).watch(model, log="weights")
    with pytest.raises(ValueError):
        make_run(runs_root).watch(object())


def test_two_models_and_disabled(runs_root, tmp_path):
    run = make_run(runs_root)
    a, b = tiny_model(), tiny_model()
    run.watch([a, b], log_freq=1)
    train(run, a, 1)
    train(run, b, 1)
    run.finish()
    keys = {k.key for k in mi.keys(Path(run.dir))}
    assert "gradients/0.weight" in keys and "gradients/graph_1/0.weight" in keys
    off = recorder.init(mode="disabled", reinit="create_new")
    off.watch(tiny_model())
    off.finish()


def test_torch_histogram_edge_cases():
    from recorder.media.watch import torch_histogram

    h = torch_histogram(torch.full((5,), 2.0))
    assert sum(h.histogram) == 5 and h.bins[0] < 2.0 < h.bins[-1]
    h = torch_histogram(torch.tensor([1.0, float("nan"), float("inf"), 3.0]), 2)
    assert h.histogram == [1.0, 1.0]
    assert torch_histogram(torch.tensor([float("nan")])) is None
    h = recorder.Histogram(torch.arange(10.0), num_bins=5)
    assert h.histogram == [2.0] * 5
