"""Grid sweeps: every combination, in a fixed order, so agents agree on what point i is.

Agents claim point i by creating `grid/<i>.claim` with O_CREAT|O_EXCL (see store.py):
exactly one agent wins each point, on one machine or across NFS clients, with no server.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

from recorder.sweeps.config import SweepConfig, grid_values
from recorder.sweeps.space import _encode_choice

if TYPE_CHECKING:  # optuna is imported only when a sweep runs
    from optuna.samplers import BaseSampler


def points(cfg: SweepConfig) -> list[dict[str, Any]]:
    """Optuna name -> raw (encoded) value for each grid point; the first parameter varies slowest."""
    params = [p for p in cfg.parameters if p.distribution != "constant"]
    axes = [[_encode_choice(v) for v in grid_values(p)] for p in params]
    names = [p.name for p in params]
    return [dict(zip(names, combo)) for combo in itertools.product(*axes)]


def fixed_sampler(claimed: dict[str, Any]) -> BaseSampler:
    """An Optuna sampler that returns the params in `claimed` (the agent fills it before study.ask)."""
    from optuna.samplers import BaseSampler

    class _Fixed(BaseSampler):
        def infer_relative_search_space(self, study, trial):
            return {}

        def sample_relative(self, study, trial, search_space):
            return {}

        def sample_independent(self, study, trial, param_name, param_distribution):
            return claimed[param_name]

    return _Fixed()
