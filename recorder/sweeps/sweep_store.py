"""A sweep on disk, next to the runs of its project:

    <root>/<project>/_sweeps/<sweep_id>/
        sweep.json             id, project, created_at, the config as given
        journal.log            Optuna JournalStorage (one JSON operation per line)
        journal.log.lock       present only while a process appends to the journal
        claims/grid-<i>        grid point i is taken (O_EXCL); renamed to *.crashed-* when its agent died
        claims/cap-<n>         the n-th trial of a run_cap'ed sweep is taken
        claims/agent-<k>       agent number k (seeds agent k's sampler with seed + k)
        agents/<agent_id>.json agent heartbeat: host, pid, started_at, heartbeat_at, state

Every cross-process decision is either an append under Optuna's journal lock
(JournalFileOpenLock: O_CREAT|O_EXCL on a lock file, which NFSv3+ makes atomic; a lock
older than 30 s is broken) or an O_EXCL claim file, so agents on several machines
sharing a filesystem need no server. Nothing here imports optuna until a study is opened.
"""

from __future__ import annotations

import os
import secrets
import string
import threading
import time
import warnings
from pathlib import Path
from typing import Any

from recorder import layout
from recorder.atomic_json import read_json, write_json
from recorder.journal import iso_now, sweep_agent_gone, sweep_agent_stale_s, this_host
from recorder.layout import SWEEP_AGENTS_DIR as AGENTS_DIR
from recorder.layout import SWEEP_CLAIMS_DIR as CLAIMS_DIR
from recorder.layout import SWEEP_FILE
from recorder.layout import SWEEP_JOURNAL_FILE as JOURNAL_FILE
from recorder.sweeps import config as sweep_config

AGENT_HEARTBEAT_S = 5.0
# The rule for a dead agent is the file contract's (the viewer applies it too).
stale_after_s = sweep_agent_stale_s
hostname = this_host


def new_sweep_id() -> str:
    """8 characters like wandb's sweep ids, starting with a letter (never a run id)."""
    alphabet = string.ascii_lowercase + string.digits
    return secrets.choice(string.ascii_lowercase) + "".join(secrets.choice(alphabet) for _ in range(7))


def resolve_root(dir: Any = None) -> Path:
    return Path(dir or os.environ.get("LOUPE_DIR") or "runs")


def resolve_project(project: str | None) -> str:
    return project or os.environ.get("LOUPE_PROJECT") or os.environ.get("WANDB_PROJECT") or "default"


class SweepNotFound(LookupError):
    pass


def _journal_storage(path: Path):
    """Optuna's JournalStorage on a file, with the O_EXCL lock (NFSv3+), across Optuna 3.x-5.x."""
    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ExperimentalWarning / FutureWarning on older versions
        try:
            from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock
        except ImportError:  # optuna < 4.0
            from optuna.storages import JournalFileOpenLock  # type: ignore[attr-defined,no-redef]
            from optuna.storages import JournalFileStorage as JournalFileBackend  # type: ignore[attr-defined,no-redef]
        backend = JournalFileBackend(str(path), lock_obj=JournalFileOpenLock(str(path)))
        return optuna.storages.JournalStorage(backend)


class SweepStore:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.id = self.path.name
        self.project = self.path.parent.parent.name
        self.root = self.path.parent.parent.parent
        self._meta: dict[str, Any] | None = None
        self._storage = None

    # -- creating and finding -----------------------------------------------------------
    @classmethod
    def create(
        cls, raw: dict[str, Any], project: str | None = None, dir: Any = None, sweep_id: str | None = None
    ) -> SweepStore:
        cfg = sweep_config.parse(raw)  # refuse a bad config before anything is written
        project = layout.check_name(resolve_project(project or raw.get("project")), "project name")
        base = resolve_root(dir) / project / layout.SWEEPS_DIR
        base.mkdir(parents=True, exist_ok=True)
        while True:
            sid = layout.check_name(sweep_id, "sweep id") if sweep_id else new_sweep_id()
            path = base / sid
            try:
                path.mkdir()
                break
            except FileExistsError:
                if sweep_id:
                    raise ValueError(f"sweep {sweep_id!r} already exists in {base}") from None
        store = cls(path)
        (path / CLAIMS_DIR).mkdir()
        (path / AGENTS_DIR).mkdir()
        import optuna

        direction = cfg.metric.goal if cfg.metric else "minimize"
        verbosity = optuna.logging.get_verbosity()
        optuna.logging.set_verbosity(max(verbosity, optuna.logging.WARNING))  # no "A new study created" line
        try:
            optuna.create_study(storage=store.storage(), study_name=sid, direction=direction)
        finally:
            optuna.logging.set_verbosity(verbosity)
        meta = {
            "format_version": 1,
            "id": sid,
            "project": project,
            "name": cfg.name,
            "created_at": iso_now(),
            "method": cfg.method,
            "metric": {"name": cfg.metric.name, "goal": cfg.metric.goal} if cfg.metric else None,
            "config": raw,
        }
        # sweep.json last: a sweep is listed only once its study exists.
        write_json(path / SWEEP_FILE, meta, fsync=True)
        return store

    @classmethod
    def find(cls, sweep_id: str, project: str | None = None, dir: Any = None) -> SweepStore:
        """By id; `sweep_id` may be 'entity/project/id' or 'project/id' as wandb prints them."""
        parts = [p for p in str(sweep_id).split("/") if p]
        if not parts:
            raise SweepNotFound("empty sweep id")
        sid = layout.check_name(parts[-1], "sweep id")
        if len(parts) >= 2:
            project = project or parts[-2]
        root = resolve_root(dir)
        candidates = []
        if project:
            candidates.append(root / project / layout.SWEEPS_DIR / sid)
        env_project = os.environ.get("LOUPE_PROJECT") or os.environ.get("WANDB_PROJECT")
        if env_project and env_project != project:
            candidates.append(root / env_project / layout.SWEEPS_DIR / sid)
        for c in candidates:
            if (c / SWEEP_FILE).is_file():
                return cls(c)
        try:
            projects = sorted(p for p in root.iterdir() if p.is_dir())
        except OSError:
            projects = []
        for p in projects:
            c = p / layout.SWEEPS_DIR / sid
            if (c / SWEEP_FILE).is_file():
                return cls(c)
        raise SweepNotFound(f"no sweep {sid!r} under {root} (pass dir= or set LOUPE_DIR)")

    # -- contents -----------------------------------------------------------------------
    @property
    def meta(self) -> dict[str, Any]:
        if self._meta is None:
            self._meta = read_json(self.path / SWEEP_FILE)
        return self._meta

    def config(self) -> sweep_config.SweepConfig:
        return sweep_config.parse(self.meta["config"])

    def storage(self):
        if self._storage is None:
            self._storage = _journal_storage(self.path / JOURNAL_FILE)
        return self._storage

    def study(self, sampler=None, pruner=None):
        import optuna

        return optuna.load_study(study_name=self.id, storage=self.storage(), sampler=sampler, pruner=pruner)

    # -- claims -------------------------------------------------------------------------
    def claim(self, name: str, info: dict[str, Any]) -> bool:
        """Create claims/<name> if nobody has; True for exactly one caller."""
        path = self.path / CLAIMS_DIR / name
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        try:
            os.write(fd, __import__("orjson").dumps(info))
            os.fsync(fd)
        finally:
            os.close(fd)
        return True

    def claims(self, prefix: str) -> set[str]:
        try:
            return {n for n in os.listdir(self.path / CLAIMS_DIR) if n.startswith(prefix) and "." not in n}
        except FileNotFoundError:
            return set()

    def read_claim(self, name: str) -> dict[str, Any] | None:
        try:
            return read_json(self.path / CLAIMS_DIR / name)
        except Exception:
            return None

    def release_claim(self, name: str, why: str) -> bool:
        src = self.path / CLAIMS_DIR / name
        try:
            os.rename(src, src.with_name(f"{name}.{why}-{secrets.token_hex(4)}"))
            return True
        except FileNotFoundError:
            return False

    def claim_agent_number(self, agent_id: str) -> int:
        k = len(self.claims("agent-"))
        while not self.claim(f"agent-{k}", {"agent": agent_id}):
            k += 1
        return k

    # -- agents -------------------------------------------------------------------------
    def agent_file(self, agent_id: str) -> Path:
        return layout.sweep_agent_file(self.path, agent_id)

    def agent_info(self, agent_id: str) -> dict[str, Any] | None:
        try:
            return read_json(self.agent_file(agent_id))
        except Exception:
            return None

    def agent_is_dead(self, agent_id: str, now: float | None = None) -> bool:
        """Gone when stopped, its heartbeat is stale, or (same host) its process no longer exists."""
        return sweep_agent_gone(self.agent_info(agent_id), now)


class AgentHeartbeat:
    """Rewrites agents/<id>.json every few seconds from a daemon thread while the agent lives."""

    def __init__(self, store: SweepStore, agent_id: str) -> None:
        self.store = store
        self.agent_id = agent_id
        self.started = time.time()
        self.trial: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _write(self, state: str = "running") -> None:
        try:
            write_json(
                self.store.agent_file(self.agent_id),
                {
                    "agent": self.agent_id,
                    "host": hostname(),
                    "pid": os.getpid(),
                    "started_at": iso_now(self.started),
                    "heartbeat_at": iso_now(),
                    "state": state,
                    "trial": self.trial,
                },
            )
        except OSError:
            pass

    def start(self) -> None:
        self._write()
        self._thread = threading.Thread(target=self._loop, name="loupe-sweep-agent", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(AGENT_HEARTBEAT_S):
            self._write()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._write("stopped")


def list_sweeps(root: Path, project: str | None = None) -> list[SweepStore]:
    """Every sweep under a root (optionally one project), oldest first."""
    out = []
    try:
        projects = [root / project] if project else [p for p in root.iterdir() if p.is_dir()]
    except OSError:
        return []
    for p in projects:
        d = p / layout.SWEEPS_DIR
        try:
            entries = list(d.iterdir())
        except OSError:
            continue
        for e in entries:
            if (e / SWEEP_FILE).is_file():
                out.append(SweepStore(e))
    out.sort(key=lambda s: (s.meta.get("created_at") or "", s.id) if _safe_meta(s) else ("", s.id))
    return out


def _safe_meta(s: SweepStore) -> bool:
    try:
        return s.meta is not None
    except Exception:
        return False
