"""Hyperparameter sweeps without a server: wandb's sweep()/agent() on Optuna and local files.

    import recorder as wandb
    sweep_id = wandb.sweep(sweep_config, project="my-project")  # grid | random | bayes
    wandb.agent(sweep_id, function=train, count=50)

Importing this package loads neither optuna nor the run machinery; optuna (the `sweeps`
extra) is needed once sweep() or agent() is called. See docs/sweeps.md.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from recorder.sweeps._trial import EarlyTerminated
from recorder.sweeps.config import SweepConfigError

__all__ = ["EarlyTerminated", "SweepConfigError", "agent", "load_config", "sweep"]


def _require_optuna() -> None:
    try:
        import optuna  # noqa: F401
    except ImportError:
        raise ImportError("sweeps need Optuna: pip install 'loupe[sweeps]' (or pip install optuna)") from None


def load_config(path: str | os.PathLike) -> dict[str, Any]:
    """A sweep config from a .yaml/.yml or .json file."""
    p = Path(path)
    text = p.read_text(encoding="utf-8")
    if p.suffix.lower() in (".yaml", ".yml"):
        import yaml

        data = yaml.safe_load(text)
    else:
        import json

        data = json.loads(text)
    if not isinstance(data, dict):
        raise SweepConfigError("<config>", f"{p} does not hold a mapping")
    return data


def sweep(
    sweep_config: Any,
    project: str | None = None,
    entity: str | None = None,
    prior_runs: list[str] | None = None,
    dir: Any = None,
) -> str:
    """Create a sweep on disk and return its id (`entity` is accepted and ignored).

    `sweep_config` is a dict (or a path to a YAML/JSON file). `prior_runs` are ids of
    finished runs in the project whose config and summary seed the search.
    """
    if isinstance(sweep_config, (str, os.PathLike)):
        sweep_config = load_config(sweep_config)
    from recorder.sweeps.config import parse

    parse(sweep_config)  # one clear error before optuna is even imported
    _require_optuna()
    from recorder.sweeps.sweep_store import SweepStore

    store = SweepStore.create(sweep_config, project=project, dir=dir)
    if prior_runs:
        from recorder.sweeps.prior import add_prior_runs

        add_prior_runs(store, prior_runs)
    print(f"loupe: created sweep {store.id} in {store.path}", flush=True)
    return store.id


def agent(
    sweep_id: str,
    function: Callable[[], Any] | None = None,
    entity: str | None = None,
    project: str | None = None,
    count: int | None = None,
    dir: Any = None,
    quiet: bool = False,
) -> list:
    """Run trials of a sweep in this process: each calls `function()`, whose `recorder.init()`
    gets the chosen parameters in its config. Stops after `count` trials, when a grid is
    exhausted, or when the sweep's run_cap is reached. Returns the trials it ran."""
    _require_optuna()
    from recorder.sweeps.agent_loop import run_agent

    return run_agent(sweep_id, function=function, count=count, project=project, dir=dir, quiet=quiet)
