"""`import_tensorboard` on event files written by torch's SummaryWriter, compared with the events themselves."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorboard")
tb_writer = pytest.importorskip("torch.utils.tensorboard")

from tensorboard.backend.event_processing.event_file_loader import LegacyEventFileLoader

from recorder import layout
from recorder.atomic_json import read_json
from recorder.importers import import_tensorboard
from recorder.user_edits import edit_run
from viewer.data.store import Store


def write_run(logdir: Path, steps: int = 12, start: int = 0, hparams: bool = True) -> None:
    rng = np.random.default_rng(start)
    w = tb_writer.SummaryWriter(str(logdir))
    for s in range(start, start + steps):
        w.add_scalar("train/loss", 1 / (s + 1), s)
        w.add_scalar("acc", s / 20, s)
        if s % 4 == 0:
            w.add_histogram("weights", rng.normal(size=300), s)  # TensorBoard's many default buckets
            w.add_histogram("small", rng.normal(size=300), s, bins=16)
            w.add_image("sample", rng.random((3, 5, 7)), s)
            w.add_text("note", f"hello {s}", s)
    if hparams:
        w.add_hparams({"lr": 0.01, "bs": 32, "opt": "adam"}, {"hp/acc": 0.9})
    w.close()


def written(logdir: Path) -> dict[str, list]:
    """What the writer put in the event files of `logdir` (not its children), by kind."""
    out: dict[str, list] = {"scalars": [], "histograms": [], "images": [], "text": []}
    for f in sorted(logdir.glob("events.out.tfevents.*")):
        for event in LegacyEventFileLoader(str(f)).Load():  # events as written, not migrated
            for v in event.summary.value:
                kind = v.WhichOneof("value")
                if kind == "simple_value":
                    out["scalars"].append((event.step, event.wall_time, v.tag, v.simple_value))
                elif kind == "histo":
                    out["histograms"].append((event.step, v.tag, v.histo))
                elif kind == "image":
                    out["images"].append((event.step, v.tag, v.image.encoded_image_string))
                elif v.metadata.plugin_data.plugin_name == "text":
                    out["text"].append((event.step, v.tag, v.tensor.string_val[0].decode()))
    return out


def test_every_event_as_written(tmp_path):
    logs = tmp_path / "logs"
    write_run(logs / "exp1")
    report = import_tensorboard([logs], root=tmp_path / "runs")
    # add_hparams writes into a child folder: merged into its run, not a run of its own.
    assert [(o.status, Path(o.source).name) for o in report.outcomes] == [("imported", "exp1")]
    run_dir = report.outcomes[0].run_dir
    assert run_dir.parent.name == "tensorboard"
    meta = read_json(run_dir / layout.RUN_FILE)
    assert meta["name"] == "exp1" and meta["state"] == "finished" and meta["source"]["tool"] == "tensorboard"
    assert read_json(run_dir / layout.CONFIG_FILE) == {"lr": 0.01, "bs": 32, "opt": "adam"}
    summary = read_json(run_dir / layout.SUMMARY_FILE)
    assert summary["hp/acc"] == float(np.float32(0.9))

    wrote = written(logs / "exp1")
    store = Store([tmp_path / "runs"])
    run_id = store.runs()[0].id
    rows = {r["_step"]: r for r in store.history(run_id).to_pylist()}
    assert sorted(rows) == list(range(12))
    first_time: dict[int, float] = {}
    for step, wall, tag, value in wrote["scalars"]:
        assert rows[step][tag] == value  # float32 as stored, exactly
        first_time[step] = min(first_time.get(step, wall), wall)
    assert all(rows[s]["_timestamp"] == t for s, t in first_time.items())
    assert all(rows[s]["train/loss"] == float(np.float32(1 / (s + 1))) for s in rows)

    texts = {(r["_step"], r["key"]): r["value"] for r in store.text(run_id).to_pylist()}
    assert [(s, texts[(s, "note")]) for s, _, _ in wrote["text"]] == [(s, f"hello {s}") for s in range(0, 12, 4)]

    con = store.connection
    hists = {(s, k): (b, c) for s, k, b, c in con.execute("SELECT _step, key, bins, counts FROM histograms").fetchall()}
    assert len(hists) == len(wrote["histograms"]) == 6
    for step, tag, histo in wrote["histograms"]:
        bins, counts = hists[(step, tag)]
        assert sum(counts) == histo.num == 300
        if tag == "small":
            # As TensorBoard's reader gives them: empty end buckets dropped, the outer
            # edges at the data's min and max, float32.
            b = list(histo.bucket)
            start = next(i for i, c in enumerate(b) if c > 0)
            end = max(i for i, c in enumerate(b) if c > 0)
            assert counts == b[start : end + 1]
            edges = [histo.min, *list(histo.bucket_limit)[start:end], histo.max]
            assert bins == [float(np.float32(e)) for e in edges]
    images = {s: Path(f).read_bytes() for s, f in con.execute("SELECT _step, file FROM images").fetchall()}
    assert {s: data for s, _, data in wrote["images"]} == images
    assert con.execute("SELECT DISTINCT width, height FROM images").fetchall() == [(7, 5)]


def test_each_event_folder_is_a_run_and_reimport_updates(tmp_path):
    logs = tmp_path / "logs"
    write_run(logs / "a", hparams=False)
    write_run(logs / "b" / "deeper", steps=3, hparams=False)
    root = tmp_path / "runs"
    report = import_tensorboard([logs], root=root, project="tb")
    assert sorted((Path(o.source).name, o.steps) for o in report.outcomes) == [("a", 12), ("deeper", 3)]
    names = sorted(read_json(o.run_dir / layout.RUN_FILE)["name"] for o in report.outcomes)
    assert names == ["a", "b/deeper"]
    again = import_tensorboard([logs], root=root, project="tb")
    assert [o.status for o in again.outcomes] == ["unchanged", "unchanged"]
    # The user renames and tags the imported run; then training goes on in `a` (a new
    # event file): the same Loupe run now holds every step, and keeps the user's edits.
    a_dir = next(o.run_dir for o in report.outcomes if Path(o.source).name == "a")
    edit_run(a_dir, name="renamed", add_tags=["keep"])
    write_run(logs / "a", steps=5, start=12, hparams=False)
    later = import_tensorboard([logs / "a"], root=root, project="tb")
    assert [(o.status, o.steps, o.run_dir) for o in later.outcomes] == [("updated", 17, a_dir)]
    assert len(list((root / "tb").iterdir())) == 2
    info = next(r for r in Store([root]).runs() if r.path == a_dir)
    assert info.name == "renamed" and "keep" in info.tags


def test_empty_corrupt_and_truncated_event_files(tmp_path):
    logs = tmp_path / "logs"
    write_run(logs / "good", hparams=False)
    (logs / "empty").mkdir()
    corrupt = logs / "corrupt"
    corrupt.mkdir()
    (corrupt / "events.out.tfevents.1.host").write_bytes(bytes(range(256)) * 20)
    truncated = logs / "truncated"
    truncated.mkdir()
    (good_file,) = (logs / "good").glob("events.out.tfevents.*")
    data = good_file.read_bytes()
    (truncated / good_file.name).write_bytes(data[: len(data) // 2])
    report = import_tensorboard([logs, tmp_path / "nothing-here"], root=tmp_path / "runs")
    failed = {Path(o.source).name: o.reason for o in report.failed}
    assert failed == {
        "corrupt": "corrupt event file events.out.tfevents.1.host: no readable record",
        "nothing-here": "no such folder",
    }
    done = {Path(o.source).name: o.steps for o in report.imported}
    assert done["good"] == 12 and 0 < done["truncated"] < 12
    empty = import_tensorboard([logs / "empty"], root=tmp_path / "runs")
    assert empty.failed[0].reason == "no TensorBoard event files here (events.out.tfevents.*)"


def test_many_buckets_are_merged_keeping_counts(tmp_path):
    from recorder.importers.tensorboard_tags import histogram_parts

    k = 1200
    triples = np.array([[i, i + 1, i % 3] for i in range(k)], dtype=float)
    edges, counts = histogram_parts(triples)
    assert len(counts) <= 512 and len(edges) == len(counts) + 1
    assert sum(counts) == triples[:, 2].sum() and edges[0] == 0 and edges[-1] == k
    assert all(a < b for a, b in itertools.pairwise(edges))
    assert histogram_parts(np.zeros((0, 3))) is None
    assert math.isclose(sum(histogram_parts(triples[:10])[1]), triples[:10, 2].sum())
