"""early_terminate: wandb's hyperband as Optuna's successive-halving pruner.

wandb's "hyperband" stops a run at a bracket milestone (min_iter * eta**k reports of the
metric; with max_iter and s: max_iter / eta**s ... max_iter / eta) when its value is
not in the best 1/eta of the values other runs had at that milestone. That is
asynchronous successive halving with those rungs, which is what
optuna.pruners.SuccessiveHalvingPruner(min_resource=min_iter, reduction_factor=eta)
computes; its rung values live in the journal, so agents in other processes share them.
The step is the number of times the run logged the metric (1, 2, ...).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from recorder.sweeps.config import SweepConfig


def make_pruner(cfg: SweepConfig):
    import optuna

    et = cfg.early_terminate
    if et is None:
        return optuna.pruners.NopPruner()
    return optuna.pruners.SuccessiveHalvingPruner(
        min_resource=et.min_iter, reduction_factor=et.eta, min_early_stopping_rate=0
    )


def trial_reporter(trial) -> Callable[[float, int], bool]:
    def report(value: float, step: int) -> bool:
        trial.report(value, step)
        return trial.should_prune()

    return report


def child_reporter(sweep_dir: str, trial_id: int) -> Callable[[float, int], bool]:
    """For a script run by `loupe sweep agent`: report to the sweep's journal from the child."""
    import optuna

    from recorder.sweeps.sweep_store import SweepStore

    store = SweepStore(Path(sweep_dir))
    study = store.study(pruner=make_pruner(store.config()))
    trial = optuna.trial.Trial(study, trial_id)
    return trial_reporter(trial)
