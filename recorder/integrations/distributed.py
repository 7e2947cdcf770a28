"""Which processes of a distributed job record, and how their runs are grouped.

Under a launcher that sets rank variables (torchrun's RANK / WORLD_SIZE / LOCAL_RANK, or
SLURM, Open MPI, PMI), or with `torch.distributed` already initialised, `recorder.init()`
follows one of two policies:

- ``"rank0"`` (default): only global rank 0 records. Every other rank gets a disabled run:
  `log()`, `config`, `summary` and `log_artifact()` work and write nothing.
- ``"all"``: every rank records its own run. The runs share one `group`, are named
  ``<name>-rank<N>`` (an explicit `id=` becomes ``<id>-rank<N>``, so each rank resumes its
  own run), and `run.json` holds `rank`, `local_rank`, `world_size` and
  ``"distributed": "all"``.

Choose with `init(distributed="all")` or `LOUPE_DISTRIBUTED=all` (the keyword wins).
A single process (no rank variables, or a world size of 1) is never affected.

The default group is one that all ranks compute alike without talking to each other,
first found of: `group=`; `LOUPE_RUN_GROUP` / `WANDB_RUN_GROUP`; torchrun's
`TORCHELASTIC_RUN_ID` (when not "none"); SLURM's job and step id; the PMIx / Open MPI job
id; otherwise the launching process (the parent shared by the ranks of one machine:
torchrun's agent, `mp.spawn`'s parent): ``ddp-<host>-<its start time>-<its pid>``. That
last one differs between machines, so a multi-node job launched without torchrun's
rendezvous id, SLURM or MPI should pass `group=` or set `LOUPE_RUN_GROUP`.

This module imports no framework (torch is consulted only if the script imported it).
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
import time
from collections.abc import Mapping
from typing import Any

MODES = ("rank0", "all")
ENV_VAR = "LOUPE_DISTRIBUTED"
_ALIASES = {
    "rank0": "rank0",
    "rank_zero": "rank0",
    "rank-zero": "rank0",
    "main": "rank0",
    "all": "all",
    "every": "all",
    "group": "all",
    "grouped": "all",
}


@dataclasses.dataclass(frozen=True)
class Placement:
    """Where this process sits in a job: rank and world size, and where they were read."""

    rank: int
    world_size: int | None
    local_rank: int | None
    source: str  # "env" or "torch.distributed"

    @property
    def is_distributed(self) -> bool:
        return self.rank > 0 or (self.world_size or 1) > 1


def resolve_mode(distributed: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """`distributed=` over LOUPE_DISTRIBUTED over "rank0"; raises ValueError on anything else."""
    env = os.environ if env is None else env
    raw = distributed if distributed is not None else (env.get(ENV_VAR) or "rank0")
    mode = _ALIASES.get(str(raw).strip().lower())
    if mode is None:
        raise ValueError(f"distributed={raw!r} is not one of: rank0, all")
    return mode


def placement(env: Mapping[str, str] | None = None) -> Placement | None:
    """This process's rank from launcher variables, else from an initialised torch.distributed."""
    from recorder.metadata import rank_env

    env = os.environ if env is None else env
    info = rank_env(env)
    if "rank" in info:
        return Placement(info["rank"], info.get("world_size"), info.get("local_rank"), "env")
    # mp.spawn and hand-rolled launchers pass the rank to init_process_group, not the
    # environment. Only a torch the script already imported is asked.
    td = sys.modules.get("torch.distributed")
    if td is not None:
        try:
            if td.is_available() and td.is_initialized():
                return Placement(
                    int(td.get_rank()), int(td.get_world_size()), info.get("local_rank"), "torch.distributed"
                )
        except Exception:
            pass
    return None


def is_rank_zero(env: Mapping[str, str] | None = None) -> bool:
    """True unless this process is a non-zero rank of a distributed job."""
    where = placement(env)
    return where is None or where.rank == 0


def should_record(distributed: str | None = None, env: Mapping[str, str] | None = None) -> bool:
    """Whether init() in this process would write a run (rank 0, any rank with "all", or no job)."""
    return resolve_mode(distributed, env) == "all" or is_rank_zero(env)


_GROUP_SAFE = re.compile(r"[^A-Za-z0-9_.:-]+")


def default_group(env: Mapping[str, str] | None = None) -> str:
    """A group name every rank of one job derives alike, without communicating (see module doc)."""
    env = os.environ if env is None else env
    for var in ("LOUPE_RUN_GROUP", "WANDB_RUN_GROUP"):
        if env.get(var):
            return env[var]
    run_id = env.get("TORCHELASTIC_RUN_ID")
    if run_id and run_id.lower() != "none":
        return _clean(f"torchrun-{run_id}")
    job = env.get("SLURM_JOB_ID")
    if job:
        step = env.get("SLURM_STEP_ID")
        return _clean(f"slurm-{job}" + (f".{step}" if step else ""))
    ns = env.get("PMIX_NAMESPACE") or env.get("OMPI_MCA_orte_ess_jobid")
    if ns:
        return _clean(f"mpi-{ns}")
    return _clean(_launcher_group())


def _launcher_group() -> str:
    host = os.uname().nodename if hasattr(os, "uname") else "host"
    ppid = os.getppid()
    try:
        import psutil

        started = psutil.Process(ppid).create_time()
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(started))
        return f"ddp-{host}-{stamp}-{ppid}"
    except Exception:
        return f"ddp-{host}-{ppid}"


def _clean(text: str) -> str:
    return _GROUP_SAFE.sub("-", text).strip("-")[:128] or "ddp"


def before_init(
    distributed: str | None,
    settings: Any,
    name: str | None,
    group: str | None,
    id: str | None,
) -> tuple[Any, str | None, str | None, str | None, dict[str, Any] | None]:
    """What init() changes for this rank: (settings, name, group, id, extra run.json keys)."""
    mode = resolve_mode(distributed)  # a typo fails even in a single process
    where = placement()
    if where is None or not where.is_distributed:
        return settings, name, group, id, None
    if mode == "rank0":
        if where.rank != 0 and settings.mode != "disabled":
            settings = dataclasses.replace(settings, mode="disabled")
        return settings, name, group, id, None
    from recorder import layout

    suffix = f"-rank{where.rank}"
    group = group or default_group()
    if id:
        id = id if id.endswith(suffix) else f"{id}{suffix}"
    else:
        id = layout.new_run_id()
    name = f"{name or layout.default_run_name(id)}{suffix}"
    extra: dict[str, Any] = {"distributed": "all"}
    if where.source != "env":
        # metadata.collect_static reads only the environment; say what torch.distributed said.
        extra.update(rank=where.rank, world_size=where.world_size)
    return settings, name, group, id, extra


def after_init(extra: dict[str, Any] | None, run: Any) -> None:
    if extra and not run.disabled:
        run.extra_metadata = {**(getattr(run, "extra_metadata", None) or {}), **extra}
        files = getattr(run, "_files", None)
        if files is not None:
            files.write_run_json("running")  # say it now, not at the next heartbeat
