"""Sweep agents running trials in-process: strategies, parameters, failures, early
termination, run caps, prior runs, Ctrl-C, and the index's best-so-far and importance.
Agents as several processes, subprocess trials and the CLI: test_sweeps_agent_processes.py."""

from __future__ import annotations

import pytest

import recorder
import recorder as wandb

optuna = pytest.importorskip("optuna")

from sweep_helpers import read_runs, study_trials

from viewer.data import sweep_index

# The seeds' sweep snippet, verbatim apart from the helpers it assumes (defined below).
SEED_SNIPPET = """
sweep_config = {
    'method': 'bayes',  # or 'grid', 'random'
    'metric': {
        'name': 'val/accuracy',
        'goal': 'maximize'
    },
    'parameters': {
        'learning_rate': {
            'distribution': 'log_uniform',
            'min': 1e-5,
            'max': 1e-1
        },
        'batch_size': {
            'values': [16, 32, 64, 128]
        },
        'optimizer': {
            'values': ['adam', 'sgd', 'rmsprop']
        },
        'dropout': {
            'distribution': 'uniform',
            'min': 0.1,
            'max': 0.5
        }
    }
}

# Initialize sweep
sweep_id = wandb.sweep(sweep_config, project="my-project")

def train():
    # Initialize run
    run = wandb.init()

    # Access sweep parameters
    lr = wandb.config.learning_rate
    batch_size = wandb.config.batch_size
    optimizer_name = wandb.config.optimizer

    # Build model with sweep config
    model = build_model(wandb.config)
    optimizer = get_optimizer(optimizer_name, lr)

    # Training loop
    for epoch in range(NUM_EPOCHS):
        train_loss = train_epoch(model, optimizer, batch_size)
        val_acc = validate(model)

        # Log metrics
        wandb.log({
            "train/loss": train_loss,
            "val/accuracy": val_acc
        })

# Run sweep
wandb.agent(sweep_id, function=train, count=50)  # Run 50 trials
"""


def test_seed_snippet_runs_as_is(runs_root):
    import math

    def build_model(config):
        return dict(config.as_dict())

    def get_optimizer(name, lr):
        return (name, lr)

    def train_epoch(model, optimizer, batch_size):
        return 1.0 / batch_size

    def validate(model):
        # best near lr = 1e-3, dropout = 0.2, adam
        return (
            1.0
            - abs(math.log10(model["learning_rate"]) + 3) / 4
            - abs(model["dropout"] - 0.2)
            - (0 if model["optimizer"] == "adam" else 0.1)
        )

    ns = {
        "wandb": wandb,
        "build_model": build_model,
        "get_optimizer": get_optimizer,
        "train_epoch": train_epoch,
        "validate": validate,
        "NUM_EPOCHS": 2,
    }
    exec(compile(SEED_SNIPPET, "seed_snippet", "exec"), ns)
    sid = ns["sweep_id"]
    runs = read_runs(runs_root, "my-project")
    assert len(runs) == 50
    for r in runs.values():
        assert r["run"]["sweep_id"] == sid and r["run"]["state"] == "finished"
        c = r["config"]
        assert 1e-5 <= c["learning_rate"] <= 1e-1 and c["batch_size"] in (16, 32, 64, 128)
        assert c["optimizer"] in ("adam", "sgd", "rmsprop") and 0.1 <= c["dropout"] <= 0.5
    trials = study_trials(runs_root, "my-project", sid)
    assert sorted(r["run"]["trial"] for r in runs.values()) == list(range(50))
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    # the value Optuna got is the run's summary value
    by_run = {t.user_attrs["loupe"]["run_id"]: t.value for t in trials}
    for rid, r in runs.items():
        assert by_run[rid] == pytest.approx(r["summary"]["val/accuracy"])
    sweep = sweep_index.load_sweep(sweep_index.find_sweep([runs_root], sid))
    assert sweep.best().value == max(by_run.values())
    assert sweep.best().value > 0.7  # TPE found the good region


@pytest.mark.parametrize("method", ["grid", "random"])
def test_seed_grid_and_random_strategies(runs_root, method):
    configs = {
        "grid": {
            "method": "grid",
            "parameters": {"lr": {"values": [0.001, 0.01, 0.1]}, "batch_size": {"values": [16, 32, 64]}},
        },
        "random": {
            "method": "random",
            "parameters": {
                "lr": {"distribution": "uniform", "min": 0.0001, "max": 0.1},
                "dropout": {"distribution": "uniform", "min": 0.1, "max": 0.5},
            },
        },
    }
    sid = wandb.sweep(configs[method], project="p")

    def train():
        wandb.init()
        wandb.log({"loss": wandb.config.lr})

    results = wandb.agent(sid, function=train, count=12)
    runs = read_runs(runs_root, "p")
    if method == "grid":
        assert len(results) == 9  # exhausted before count
        pairs = {(r["config"]["lr"], r["config"]["batch_size"]) for r in runs.values()}
        assert pairs == {(lr, bs) for lr in (0.001, 0.01, 0.1) for bs in (16, 32, 64)}
    else:
        assert len(results) == 12
        assert all(0.0001 <= r["config"]["lr"] <= 0.1 for r in runs.values())
    assert all(r.outcome == "finished" for r in results)


def test_nested_parameters_constants_and_init_config(runs_root):
    sid = recorder.sweep(
        {
            "method": "random",
            "metric": {"name": "loss"},
            "parameters": {
                "optimizer": {
                    "parameters": {
                        "lr": {"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-2},
                        "name": {"value": "adam"},
                    }
                },
                "epochs": {"value": 2},
                "width": {"values": [[8, 8], [16]]},
            },
        },
        project="p",
    )
    seen = []

    def train():
        run = recorder.init(project="p", config={"epochs": 5, "seed": 1, "optimizer": {"beta": 0.9}})
        assert recorder.init() is run  # a second init in the trial returns the trial's run
        seen.append(run.config.as_dict())
        for i in range(run.config.epochs):
            run.log({"loss": run.config.optimizer["lr"] * (i + 1)})

    recorder.agent(sid, function=train, count=3)
    assert len(seen) == 3
    for c in seen:
        assert c["epochs"] == 2 and c["seed"] == 1  # sweep values win, init's other keys stay
        assert c["optimizer"]["name"] == "adam" and c["optimizer"]["beta"] == 0.9
        assert 1e-4 <= c["optimizer"]["lr"] <= 1e-2 and c["width"] in ([8, 8], [16])


def test_failing_trial_is_marked_failed_and_agent_continues(runs_root):
    sid = recorder.sweep(
        {"method": "grid", "metric": {"name": "loss"}, "parameters": {"x": {"values": [1, 2, 3, 4]}}}, project="p"
    )

    def train():
        with recorder.init() as run:
            if run.config.x == 2:
                raise RuntimeError("diverged")
            run.log({"loss": float(run.config.x)})

    def train_no_with():
        run = recorder.init()
        if run.config.x == 3:
            raise ValueError("bad batch")
        run.log({"loss": float(run.config.x)})

    results = recorder.agent(sid, function=train, count=2)
    results += recorder.agent(sid, function=train_no_with)
    assert [r.outcome for r in results] == ["finished", "failed", "failed", "finished"]
    runs = {r["config"]["x"]: r["run"] for r in read_runs(runs_root, "p").values()}
    assert runs[2]["state"] == "failed" and runs[2]["error"]["message"] == "diverged"
    assert runs[3]["state"] == "failed" and runs[3]["error"]["type"] == "ValueError"
    assert runs[1]["state"] == runs[4]["state"] == "finished"
    states = [t.state for t in study_trials(runs_root, "p", sid)]
    assert states.count(optuna.trial.TrialState.FAIL) == 2
    assert recorder.run is None  # nothing left open


def test_function_that_never_calls_init_fails_the_trial(runs_root):
    sid = recorder.sweep({"method": "random", "parameters": {"x": {"min": 0.0, "max": 1.0}}}, project="p")
    results = recorder.agent(sid, function=lambda: None, count=1)
    assert results[0].outcome == "failed" and "never called recorder.init" in results[0].error


def test_metric_respects_define_metric_summary(runs_root):
    sid = recorder.sweep(
        {"method": "grid", "metric": {"name": "acc", "goal": "maximize"}, "parameters": {"x": {"values": [1]}}},
        project="p",
    )

    def train():
        run = recorder.init()
        run.define_metric("acc", summary="max,min")
        for v in (0.2, 0.9, 0.5):
            run.log({"acc": v})

    [r] = recorder.agent(sid, function=train)
    assert r.value == 0.9  # the max (goal maximize), not the last value 0.5
    assert study_trials(runs_root, "p", sid)[0].value == 0.9


def test_missing_metric_is_recorded(runs_root):
    sid = recorder.sweep(
        {"method": "random", "metric": {"name": "val_loss"}, "parameters": {"x": {"min": 0.0, "max": 1.0}}}, project="p"
    )

    def train():
        recorder.init()
        recorder.log({"loss": 1.0})

    [r] = recorder.agent(sid, function=train, count=1)
    assert r.outcome == "no_metric"
    sweep = sweep_index.load_sweep(sweep_index.find_sweep([runs_root], sid))
    assert sweep.trials[0].state == "no_metric"


def test_hyperband_stops_bad_trials_early(runs_root):
    sid = recorder.sweep(
        {
            "method": "grid",
            "metric": {"name": "loss", "goal": "minimize"},
            "parameters": {"quality": {"values": [1, 5, 9, 2, 8, 7, 6, 0.5, 9.5]}},
            "early_terminate": {"type": "hyperband", "min_iter": 2, "eta": 3},
        },
        project="p",
    )
    steps_run = {}

    def train():
        run = recorder.init()
        q = run.config.quality
        for step in range(20):
            steps_run[q] = step + 1
            run.log({"loss": q + 1.0 / (step + 1), "step": step})

    results = recorder.agent(sid, function=train)
    outcome = {r.params["quality"]: r.outcome for r in results}
    stopped = [q for q, o in outcome.items() if o == "early_terminated"]
    assert outcome[1] == "finished" and outcome[0.5] == "finished"  # the best are never stopped
    assert {5, 9, 8, 7, 6, 9.5} & set(stopped)
    for q in stopped:
        assert steps_run[q] < 20
    runs = {r["config"]["quality"]: r for r in read_runs(runs_root, "p").values()}
    for q in stopped:
        assert runs[q]["run"]["state"] == "finished" and runs[q]["run"]["early_terminated"] is True
        assert runs[q]["summary"]["_step"] < 19
    pruned = [t for t in study_trials(runs_root, "p", sid) if t.state == optuna.trial.TrialState.PRUNED]
    assert len(pruned) == len(stopped)
    assert recorder.run is None


def test_early_termination_passes_through_except_exception(runs_root):
    sid = recorder.sweep(
        {
            "method": "grid",
            "metric": {"name": "loss"},
            "parameters": {"q": {"values": [0, 10, 10]}},
            "early_terminate": {"type": "hyperband", "min_iter": 1, "eta": 2},
        },
        project="p",
    )

    def train():
        with recorder.init() as run:
            for _i in range(5):
                try:
                    run.log({"loss": run.config.q})
                except Exception:  # training code that swallows errors must still stop
                    pass

    results = recorder.agent(sid, function=train)
    assert [r.outcome for r in results] == ["finished", "early_terminated", "early_terminated"]


def test_run_cap_across_agents(runs_root):
    sid = recorder.sweep({"method": "random", "run_cap": 3, "parameters": {"x": {"min": 0.0, "max": 1.0}}}, project="p")

    def train():
        recorder.init()
        recorder.log({"y": 1})

    assert len(recorder.agent(sid, function=train, count=2)) == 2
    assert len(recorder.agent(sid, function=train, count=5)) == 1
    assert len(recorder.agent(sid, function=train)) == 0


def test_prior_runs_seed_the_study(runs_root):
    for lr in (0.01, 0.1):
        with recorder.init(project="p", config={"lr": lr}) as run:
            run.log({"loss": lr})
        prior = run.id
    sid = recorder.sweep(
        {"method": "bayes", "metric": {"name": "loss"}, "parameters": {"lr": {"min": 0.001, "max": 1.0}}},
        project="p",
        prior_runs=[prior],
    )
    trials = study_trials(runs_root, "p", sid)
    assert len(trials) == 1 and trials[0].params == {"lr": 0.1} and trials[0].value == 0.1


@pytest.mark.slow
def test_index_best_so_far_and_parameter_importance(runs_root):
    sid = recorder.sweep(
        {
            "method": "random",
            "seed": 3,
            "metric": {"name": "loss"},
            "parameters": {"x": {"min": -1.0, "max": 1.0}, "noise": {"values": ["a", "b"]}},
        },
        project="p",
    )

    def train():
        run = recorder.init()
        run.log({"loss": run.config.x**2})

    recorder.agent(sid, function=train, count=12)
    sweep = sweep_index.load_sweep(sweep_index.find_sweep([runs_root], f"p/{sid}"))
    bests = [b for _, _, b in sweep.best_so_far()]
    assert bests == sorted(bests, reverse=True) and bests[-1] == sweep.best().value
    assert [t.value for t in sweep.sorted_trials()] == sorted(t.value for t in sweep.trials)
    assert len(sweep.param_points("x")) == 12
    imp = sweep_index.param_importance(sweep)
    assert [name for name, _ in imp.ranked][0] == "x", imp
    assert imp.message
    assert [s.id for s in sweep_index.list_sweeps([runs_root])] == [sid]
    few = sweep_index.Sweep(sweep.info, sweep.trials[:2])
    assert sweep_index.param_importance(few).ranked == []
    assert "at least" in sweep_index.param_importance(few).message


def test_ctrl_c_stops_the_agent_and_the_grid_point_is_run_again(runs_root):
    sid = recorder.sweep(
        {"method": "grid", "metric": {"name": "loss"}, "parameters": {"x": {"values": [1, 2]}}}, project="p"
    )

    def interrupted():
        recorder.init()
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        recorder.agent(sid, function=interrupted)
    assert recorder.run is None

    def train():
        recorder.init()
        recorder.log({"loss": float(recorder.config.x)})

    results = recorder.agent(sid, function=train)
    assert sorted(r.params["x"] for r in results) == [1, 2]
    sweep = sweep_index.load_sweep(sweep_index.find_sweep([runs_root], sid))
    assert sorted(t.state for t in sweep.trials) == ["crashed", "finished", "finished"]
