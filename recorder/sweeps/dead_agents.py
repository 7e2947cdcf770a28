"""Cleaning up after sweep agents that died: their RUNNING trials and their grid points.

An agent killed mid-trial leaves its trial RUNNING in Optuna and, for a grid sweep, its
O_EXCL claim on the grid point. Any live agent may notice: once the dead agent's
heartbeat is stale (or at once on the same host when its pid is gone) the trial is
marked FAIL with outcome "crashed", and its grid point is given back so it runs again.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from recorder.layout import SWEEP_CLAIMS_DIR as CLAIMS_DIR
from recorder.sweeps.sweep_store import SweepStore, stale_after_s

if TYPE_CHECKING:
    import optuna

REAP_LOCK = ".reap.lock"


def reap_trials(study: optuna.Study, store: SweepStore, agent_id: str, say: Callable[[str], None]) -> None:
    """Mark RUNNING trials of dead agents FAIL (outcome 'crashed'); `agent_id`'s own are left alone."""
    from optuna.trial import TrialState

    storage = study._storage
    dead: dict[str, bool] = {}
    now = time.time()
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        agent = (t.user_attrs.get("loupe") or {}).get("agent")
        if agent == agent_id:
            continue
        if agent is None:
            started = t.datetime_start.timestamp() if t.datetime_start else now
            if now - started < stale_after_s():
                continue
        else:
            if agent not in dead:
                dead[agent] = store.agent_is_dead(agent)
            if not dead[agent]:
                continue
        try:
            storage.set_trial_user_attr(t._trial_id, "outcome", "crashed")
            storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
            say(f"trial {t.number} belonged to an agent that died; marked crashed")
        except Exception:
            pass  # another agent got there first


def release_dead_grid_claims(study: optuna.Study, store: SweepStore, agent_id: str, say: Callable[[str], None]) -> bool:
    """Give back grid points held by dead agents whose trial did not end; True if any."""
    from optuna.trial import TrialState

    lock = store.path / CLAIMS_DIR / REAP_LOCK
    try:
        fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        os.close(fd)
    except FileExistsError:
        try:
            if time.time() - lock.stat().st_mtime > 60:
                os.unlink(lock)  # left by a reaper that died; the next pass takes it
        except OSError:
            pass
        return False
    released = False
    try:
        reap_trials(study, store, agent_id, say)
        done: set[int] = set()
        for t in study.get_trials(deepcopy=False):
            gi = (t.user_attrs.get("loupe") or {}).get("grid_index")
            if gi is None:
                continue
            if t.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING) or (
                t.state == TrialState.FAIL and t.user_attrs.get("outcome") != "crashed"
            ):
                done.add(gi)
        dead: dict[str, bool] = {}
        for name in sorted(store.claims("grid-")):
            i = int(name.split("-", 1)[1])
            if i in done:
                continue
            info = store.read_claim(name)
            if info is None:
                try:
                    age = time.time() - (store.path / CLAIMS_DIR / name).stat().st_mtime
                except OSError:
                    continue
                if age < stale_after_s():
                    continue
                agent = None
            else:
                agent = info.get("agent")
            if agent == agent_id:
                continue
            if agent is not None and agent not in dead:
                dead[agent] = store.agent_is_dead(agent)
            if (agent is None or dead[agent]) and store.release_claim(name, "crashed"):
                say(f"grid point {i} was held by a dead agent; it will be run again")
                released = True
    finally:
        try:
            os.unlink(lock)
        except OSError:
            pass
    return released
