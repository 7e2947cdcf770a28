"""Distributed runs: rank 0 only by default, or every rank its own run in one group.

The two-process tests run a real torch.distributed (gloo) job launched the way torchrun
does it (RANK / WORLD_SIZE / LOCAL_RANK / MASTER_ADDR / MASTER_PORT); the others check the
policy in-process with a fake environment.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import types
from pathlib import Path

import pytest
from run_reading import read_stream

import recorder
from recorder.integrations import distributed

REPO = Path(__file__).resolve().parents[1]
LAUNCH_VARS = (
    "RANK",
    "WORLD_SIZE",
    "LOCAL_RANK",
    "SLURM_PROCID",
    "SLURM_LOCALID",
    "SLURM_NTASKS",
    "SLURM_JOB_ID",
    "SLURM_STEP_ID",
    "OMPI_COMM_WORLD_RANK",
    "OMPI_COMM_WORLD_LOCAL_RANK",
    "OMPI_COMM_WORLD_SIZE",
    "PMI_RANK",
    "PMI_SIZE",
    "PMIX_RANK",
    "MPI_LOCALRANKID",
    "PMIX_NAMESPACE",
    "OMPI_MCA_orte_ess_jobid",
    "TORCHELASTIC_RUN_ID",
    "MASTER_ADDR",
    "MASTER_PORT",
)


@pytest.fixture
def launch_env(monkeypatch):
    """A clean slate of launcher variables; returns a setter for this test's."""
    for var in LAUNCH_VARS:
        monkeypatch.delenv(var, raising=False)

    def set_(**values):
        for k, v in values.items():
            monkeypatch.setenv(k, str(v))

    return set_


def _run_dirs(root: Path, project: str) -> list[Path]:
    base = root / project
    return sorted(p for p in base.iterdir() if (p / "run.json").exists()) if base.exists() else []


# -- policy, in-process ------------------------------------------------------------------


def test_single_process_is_untouched(runs_root, launch_env):
    run = recorder.init(project="d", name="solo", distributed="all")
    assert not run.disabled and run.name == "solo" and run.group is None


def test_world_size_one_is_not_distributed(runs_root, launch_env):
    launch_env(RANK=0, WORLD_SIZE=1, LOCAL_RANK=0)
    run = recorder.init(project="d", name="solo", distributed="all")
    assert run.name == "solo" and run.group is None


def test_rank0_default_disables_other_ranks(runs_root, launch_env):
    launch_env(RANK=3, WORLD_SIZE=4, LOCAL_RANK=1)
    run = recorder.init(project="d", config={"lr": 0.1})
    assert run.disabled and run.dir == ""
    run.log({"loss": 1.0})  # accepted, written nowhere
    assert run.config["lr"] == 0.1
    run.finish()
    assert _run_dirs(runs_root, "d") == []


def test_rank0_default_records_on_rank_zero(runs_root, launch_env):
    launch_env(RANK=0, WORLD_SIZE=4, LOCAL_RANK=0)
    run = recorder.init(project="d", name="job")
    assert not run.disabled and run.name == "job" and run.group is None
    run.finish()
    meta = json.loads((Path(run.dir) / "run.json").read_text())
    assert (meta["rank"], meta["world_size"], meta["local_rank"]) == (0, 4, 0)


def test_env_all_names_groups_and_marks_each_rank(runs_root, launch_env, monkeypatch):
    launch_env(RANK=2, WORLD_SIZE=4, LOCAL_RANK=0, TORCHELASTIC_RUN_ID="abc123")
    monkeypatch.setenv("LOUPE_DISTRIBUTED", "all")
    run = recorder.init(project="d", name="job")
    assert not run.disabled and run.name == "job-rank2" and run.group == "torchrun-abc123"
    meta = json.loads((Path(run.dir) / "run.json").read_text())  # written at init, not at the next heartbeat
    assert meta["distributed"] == "all" and meta["rank"] == 2 and meta["group"] == "torchrun-abc123"


def test_keyword_beats_env_and_explicit_group_and_id(runs_root, launch_env, monkeypatch):
    launch_env(RANK=1, WORLD_SIZE=2)
    monkeypatch.setenv("LOUPE_DISTRIBUTED", "all")
    assert recorder.init(project="d", distributed="rank0").disabled
    run = recorder.init(project="d", distributed="all", group="sweep-7", id="myrun", reinit="create_new")
    # Each rank resumes its own run: an explicit id gets the rank suffix too.
    assert run.id == "myrun-rank1" and run.group == "sweep-7" and run.name.endswith("-rank1")


def test_bad_mode_is_refused(launch_env, monkeypatch):
    with pytest.raises(ValueError, match="rank0, all"):
        recorder.init(project="d", distributed="everyone")
    monkeypatch.setenv("LOUPE_DISTRIBUTED", "nope")
    with pytest.raises(ValueError):
        recorder.init(project="d")


@pytest.mark.parametrize(
    "env, group",
    [
        ({"LOUPE_RUN_GROUP": "mine", "TORCHELASTIC_RUN_ID": "x"}, "mine"),
        ({"WANDB_RUN_GROUP": "theirs"}, "theirs"),
        ({"TORCHELASTIC_RUN_ID": "none", "SLURM_JOB_ID": "991", "SLURM_STEP_ID": "0"}, "slurm-991.0"),
        ({"PMIX_NAMESPACE": "prterun-h-1234@1"}, "mpi-prterun-h-1234-1"),
    ],
)
def test_default_group_sources(env, group):
    assert distributed.default_group(env) == group


def test_default_group_falls_back_to_the_shared_launcher():
    group = distributed.default_group({"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "29500"})
    assert group.startswith("ddp-") and group.endswith(f"-{os.getppid()}")
    assert group == distributed.default_group({})  # stable within one launcher


def test_rank_from_initialised_torch_distributed(runs_root, launch_env, monkeypatch):
    # mp.spawn passes the rank to init_process_group, not the environment.
    fake = types.SimpleNamespace(
        is_available=lambda: True, is_initialized=lambda: True, get_rank=lambda: 1, get_world_size=lambda: 2
    )
    monkeypatch.setitem(sys.modules, "torch.distributed", fake)
    assert recorder.init(project="d").disabled
    run = recorder.init(project="d", distributed="all", name="w", reinit="create_new")
    run.finish()
    meta = json.loads((Path(run.dir) / "run.json").read_text())
    assert meta["name"] == "w-rank1" and meta["rank"] == 1 and meta["world_size"] == 2
    assert distributed.is_rank_zero() is False and distributed.should_record("all") is True


# -- a real two-process gloo job ------------------------------------------------------------

WORKER = r"""
import json, os, sys
import torch
import torch.distributed as dist
import recorder

dist.init_process_group("gloo")
rank, world = dist.get_rank(), dist.get_world_size()
torch.manual_seed(0)
model = torch.nn.Linear(4, 1)  # data parallel by hand: DDP's first construction costs seconds
opt = torch.optim.SGD(model.parameters(), lr=0.1)
out = {}
for policy in (None, "all"):  # None: the default (LOUPE_DISTRIBUTED unset) is rank 0 only
    run = recorder.init(project="ddp", name="job", config={"lr": 0.1}, distributed=policy, reinit="create_new")
    g = torch.Generator().manual_seed(rank)
    for step in range(5):
        x = torch.randn(8, 4, generator=g)
        loss = (model(x) - x.sum(1, keepdim=True)).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        for p in model.parameters():
            dist.all_reduce(p.grad)
            p.grad /= world
        opt.step()
        mean = loss.detach().clone()
        dist.all_reduce(mean)
        run.log({"loss": loss.item(), "loss_mean": mean.item() / world})
    out[str(policy)] = {"disabled": run.disabled, "dir": run.dir, "name": run.name, "group": run.group}
    run.finish()
    dist.barrier()
dist.destroy_process_group()
with open(sys.argv[1], "w") as f:
    json.dump(out, f)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_process_gloo_job_rank0_then_grouped(runs_root, tmp_path, launch_env):
    pytest.importorskip("torch.distributed")
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    base = {k: v for k, v in os.environ.items() if k not in LAUNCH_VARS and k != "LOUPE_DISTRIBUTED"}
    base.update(
        PYTHONPATH=str(REPO),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(_free_port()),
        WORLD_SIZE="2",
        OMP_NUM_THREADS="1",
        GLOO_SOCKET_IFNAME="lo",
    )
    procs = []
    for rank in range(2):
        env = dict(base, RANK=str(rank), LOCAL_RANK=str(rank))
        procs.append(
            subprocess.Popen(
                [sys.executable, str(script), str(tmp_path / f"out{rank}.json")],
                cwd=tmp_path,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    for p in procs:
        try:
            output, _ = p.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            raise
        assert p.returncode == 0, output
    res = [json.loads((tmp_path / f"out{r}.json").read_text()) for r in range(2)]

    # Default policy: rank 0 records, rank 1 got a disabled run.
    assert res[0]["None"]["disabled"] is False and res[1]["None"]["disabled"] is True
    rank0_dir = Path(res[0]["None"]["dir"])
    assert json.loads((rank0_dir / "run.json").read_text())["name"] == "job"

    # "all": one run per rank, one group both ranks derived alike, rank in run.json.
    all0, all1 = res[0]["all"], res[1]["all"]
    assert all0["group"] == all1["group"] and all0["group"].startswith("ddp-")
    metas = [json.loads((Path(r["dir"]) / "run.json").read_text()) for r in (all0, all1)]
    assert [m["name"] for m in metas] == ["job-rank0", "job-rank1"]
    assert [(m["rank"], m["local_rank"], m["world_size"]) for m in metas] == [(0, 0, 2), (1, 1, 2)]
    assert all(m["state"] == "finished" and m["distributed"] == "all" for m in metas)

    dirs = _run_dirs(runs_root, "ddp")
    assert len(dirs) == 3  # rank 0's default run + one per rank
    histories = [read_stream(Path(r["dir"])) for r in (all0, all1)]
    assert all([row["_step"] for row in h] == [0, 1, 2, 3, 4] for h in histories)
    # Each rank logged its own loss; the all-reduced mean is the same on both.
    assert [r["loss"] for r in histories[0]] != [r["loss"] for r in histories[1]]
    assert [r["loss_mean"] for r in histories[0]] == pytest.approx([r["loss_mean"] for r in histories[1]])
