"""Several processes (and threads, with locking off) publishing the same artifact name."""

from __future__ import annotations

import json
import multiprocessing
import threading
from pathlib import Path

import recorder
from recorder.artifacts import Artifact, versions


def _log_from_process(root: str, i: int, barrier) -> None:
    import recorder as wandb

    wandb.init(dir=root, project="p", system_interval=0, capture_console=False)
    src = Path(root).parent / f"src-{i}"
    src.mkdir()
    (src / "payload.txt").write_text(f"process {i}\n" * (1000 + i))
    (src / "shared.txt").write_text("identical in every version")
    art = wandb.Artifact("shared", type="dataset", metadata={"proc": i})
    art.add_dir(src)
    barrier.wait(timeout=60)  # all four publish at the same moment
    wandb.log_artifact(art, aliases=[f"proc{i}"])
    wandb.finish()


def test_four_processes_publish_distinct_whole_versions(tmp_path):
    root = tmp_path / "runs"
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(4)
    procs = [ctx.Process(target=_log_from_process, args=(str(root), i, barrier)) for i in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    cdir = root / "p" / "_artifacts" / "collections" / "shared"
    assert versions.list_versions(cdir) == [0, 1, 2, 3]
    assert not [n for n in cdir.iterdir() if n.name.startswith(".tmp-")]
    api = recorder.Api(root)
    seen = {}
    for v in range(4):
        art = api.artifact(f"p/shared:v{v}")
        proc = art.metadata["proc"]
        out = Path(art.download(tmp_path / f"out{v}"))
        assert (out / "payload.txt").read_text() == f"process {proc}\n" * (1000 + proc)
        assert api.artifact(f"p/shared:proc{proc}").version == f"v{v}"
        seen[proc] = v
    assert sorted(seen) == [0, 1, 2, 3]
    assert api.artifact("p/shared:latest").version == "v3"
    # The shared file is one object; each payload is its own.
    objs = [p for p in (root / "p" / "_artifacts" / "objects").rglob("*") if p.is_file()]
    assert len(objs) == 5
    usage = [json.loads(l) for l in (root / "p" / "_artifacts" / "usage.jsonl").read_text().splitlines() if l]
    assert sorted(e["version"] for e in usage if e["role"] == "output") == [0, 1, 2, 3]


def test_exclusive_link_keeps_versions_apart_even_without_locks(tmp_path, monkeypatch, runs_root):
    # Where flock does not work (or is not honoured), os.link still refuses to replace a
    # published version: the loser of a race takes the next number.
    monkeypatch.setattr(versions, "fcntl", None)
    from conftest import make_run

    run = make_run(runs_root, "p")
    errors = []
    barrier = threading.Barrier(8)

    def worker(i: int) -> None:
        try:
            f = tmp_path / f"t{i}.txt"
            f.write_text(f"thread {i}")
            art = Artifact("race", type="t", metadata={"i": i})
            art.add_file(f, name="x.txt")
            barrier.wait(timeout=30)
            run.log_artifact(art)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    run.finish()
    assert errors == []
    cdir = runs_root / "p" / "_artifacts" / "collections" / "race"
    # Without the lock the "equal to latest?" check can race, but nothing is lost or torn:
    # every thread's bytes are in some whole version.
    assert versions.list_versions(cdir) == list(range(8))  # contents differ: no dedup
    found = set()
    api = recorder.Api(runs_root)
    for v in versions.list_versions(cdir):
        art = api.artifact(f"p/race:v{v}")
        found.add((Path(art.download(tmp_path / f"o{v}")) / "x.txt").read_text())
    assert found == {f"thread {i}" for i in range(8)}
