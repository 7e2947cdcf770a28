"""prior_runs: finished runs of the project become completed trials the sampler learns from."""

from __future__ import annotations

from typing import Any

from recorder import layout
from recorder.atomic_json import read_json
from recorder.sweeps import space
from recorder.sweeps.sweep_store import SweepStore
from recorder.warn import warn


def _flat(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flat(v, key + "."))
        out[key] = v
    return out


def add_prior_runs(store: SweepStore, run_ids: list[str]) -> int:
    import optuna

    from recorder.sweeps.agent_loop import summary_metric

    cfg = store.config()
    if cfg.method == "grid":
        warn("prior_runs are ignored by grid sweeps (every grid point is run)")
        return 0
    dists = space.distributions(cfg)
    study = store.study()
    added = 0
    for rid in run_ids:
        run_dir = store.root / store.project / layout.check_name(str(rid).split("/")[-1], "run id")
        try:
            config = _flat(read_json(run_dir / layout.CONFIG_FILE))
            summary = read_json(run_dir / layout.SUMMARY_FILE)
        except Exception as exc:
            warn(f"prior run {rid}: cannot read its config/summary ({exc}); skipped")
            continue
        params: dict[str, Any] = {}
        for p in cfg.searched:
            if p.name not in config:
                break
            d = dists[p.name]
            v = config[p.name]
            if isinstance(d, optuna.distributions.CategoricalDistribution):
                v = space._encode_choice(v)
            try:
                fits = not space._uses_quantile(p, cfg.method) and d._contains(d.to_internal_repr(v))
            except Exception:
                fits = False
            if not fits:
                break
            params[p.name] = v
        else:
            value: float | None = 0.0
            if cfg.metric is not None:
                value = summary_metric(summary, cfg.metric.name, cfg.metric.goal)
                if value is None:
                    warn(f"prior run {rid}: no {cfg.metric.name!r} in its summary; skipped")
                    continue
            study.add_trial(
                optuna.trial.create_trial(
                    params=params,
                    distributions=dists,
                    value=value,
                    user_attrs={
                        "loupe": {
                            "run_id": run_dir.name,
                            "config": read_json(run_dir / layout.CONFIG_FILE),
                            "prior": True,
                        },
                        "outcome": "finished",
                    },
                )
            )
            added += 1
            continue
        warn(f"prior run {rid}: its config does not fit the sweep's parameters; skipped")
    return added
