"""Grid sweeps: every combination, in a fixed order, so agents agree on what point i is.

Agents claim point i by creating `grid/<i>.claim` with O_CREAT|O_EXCL (see store.py):
exactly one agent wins each point, on one machine or across NFS clients, with no server.
"""

from __future__ import annotations

import itertools
from typing import Any

from recorder.sweeps.config import SweepConfig, grid_values
from recorder.sweeps.space import _encode_choice


def points(cfg: SweepConfig) -> list[dict[str, Any]]:
    """Optuna name -> raw (encoded) value for each grid point; the first parameter varies slowest."""
    params = [p for p in cfg.parameters if p.distribution != "constant"]
    axes = [[_encode_choice(v) for v in grid_values(p)] for p in params]
    names = [p.name for p in params]
    return [dict(zip(names, combo)) for combo in itertools.product(*axes)]


class FixedSampler:
    """An Optuna sampler that returns the params the agent claimed (set before study.ask)."""

    def __new__(cls):
        from optuna.samplers import BaseSampler

        class _Fixed(BaseSampler):
            def __init__(self) -> None:
                self.next_params: dict[str, Any] = {}

            def infer_relative_search_space(self, study, trial):
                return {}

            def sample_relative(self, study, trial, search_space):
                return {}

            def sample_independent(self, study, trial, param_name, param_distribution):
                return self.next_params[param_name]

        return _Fixed()
