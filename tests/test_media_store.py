"""The media store and its readers: encoding off the training thread, a full queue,
DuckDB views, reading a live run, disabled mode, hostile keys and paths, the sample
helper and a resumed run."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import duckdb
import numpy as np
import pytest
from conftest import make_run
from media_helpers import finished, text_values

import recorder
from recorder import layout
from recorder.media.media_store import get_store
from viewer.data import media_index as mi
from viewer.data import media_views

PIL = pytest.importorskip("PIL.Image")


# -- the background writer ------------------------------------------------------------------
def test_encoding_happens_off_the_training_thread(monkeypatch, runs_root):
    from recorder.media.image import Image

    threads = []
    original = Image.encoded

    def spy(self):
        threads.append(threading.current_thread().name)
        return original(self)

    monkeypatch.setattr(Image, "encoded", spy)
    run = make_run(runs_root)
    for _ in range(3):
        run.log({"x": recorder.Image(np.zeros((4, 4), np.uint8))})
    finished(run)
    assert threads == ["loupe-media"] * 3


def test_full_queue_drops_and_counts(monkeypatch, runs_root, caplog):
    from recorder.media import media_store as store_mod
    from recorder.media.image import Image

    gate = threading.Event()
    original = Image.encoded

    def slow(self):
        gate.wait(5)
        return original(self)

    monkeypatch.setattr(Image, "encoded", slow)
    monkeypatch.setattr(store_mod, "MAX_QUEUED_ITEMS", 2)
    monkeypatch.setattr(store_mod, "BLOCK_S", 0.05)
    run = make_run(runs_root)
    for _ in range(8):
        run.log({"x": recorder.Image(np.zeros((2, 2), np.uint8))})
    store = get_store(run)
    assert store.dropped >= 4
    assert any("dropped" in r.getMessage() for r in caplog.records)
    gate.set()
    run_dir = finished(run)
    stored = mi.images(run_dir, "x")
    assert 1 <= len(stored) == 8 - store.dropped and all(i.exists for i in stored)
    # a dropped image leaves no dangling reference in the history row
    refs = text_values(run_dir)
    assert len([k for k in refs if k[1] == "x"]) == len(stored)


# -- SQL views ------------------------------------------------------------------------------
def test_duckdb_views(runs_root):
    for n in range(2):
        run = make_run(runs_root, project=f"proj{n}")
        run.log({"h": recorder.Histogram([1, 2, 3, 4], num_bins=2), "img": recorder.Image(np.zeros((2, 3)))})
        run.log({"h": recorder.Histogram([1, 1, 1, 4], num_bins=2)})
        run.finish()
    con = duckdb.connect()
    media_views.register(con, [runs_root])
    assert con.execute("SELECT count(*) FROM histograms").fetchone()[0] == 4
    rows = con.execute(
        "SELECT _step, bin, count FROM histogram_bins WHERE project = 'proj0' ORDER BY _step, bin"
    ).fetchall()
    assert rows == [(0, 0, 2.0), (0, 1, 2.0), (1, 0, 3.0), (1, 1, 1.0)]
    files = con.execute("SELECT file, width, height FROM images").fetchall()
    assert len(files) == 2 and all(Path(f).is_file() and (w, h) == (3, 2) for f, w, h in files)
    assert set(con.execute("SELECT DISTINCT kind FROM media").fetchall()) == {("image",), ("histogram",)}


def test_live_run_is_readable_before_finish(runs_root):
    run = make_run(runs_root)
    run.log({"x": recorder.Image(np.zeros((2, 2), np.uint8)), "h": recorder.Histogram([1, 2])})
    get_store(run).drain()
    run_dir = Path(run.dir)
    assert not list((run_dir / "media" / "index").glob("*.parquet"))  # journal only, so far
    assert mi.images(run_dir, "x")[0].exists
    assert mi.histogram_series(run_dir, "h").steps == [0]
    get_store(run).flush()  # what the background writer does every 30 s
    assert list((run_dir / "media" / "index").glob("*.parquet"))
    assert len(mi.read_index(run_dir)) == 2
    run.finish()
    assert len(mi.read_index(run_dir)) == 2


def test_disabled_mode_writes_nothing(tmp_path):
    run = recorder.init(mode="disabled", dir=tmp_path / "d", reinit="create_new")
    run.log({"x": recorder.Image(np.zeros((2, 2))), "h": recorder.Histogram([1])})
    run.finish()
    assert not (tmp_path / "d").exists()


# -- hostile input --------------------------------------------------------------------------
HOSTILE_KEYS = [
    "../../escape",
    "/etc/passwd",
    "a/../../b",
    "..",
    "[@click=app.quit]",
    "a b",
    "a_b",
    "x/./y",
    "C:\\win\\path",
    "ключ/値",
    "\x1b]0;title\x07",
    "",
]


def test_hostile_keys_stay_inside_the_run(runs_root):
    run = make_run(runs_root)
    for key in HOSTILE_KEYS:
        run.log(
            {
                key: recorder.Image(np.zeros((2, 2), np.uint8), caption="[@click=app.quit]\x1b[31m"),
                key + "t": recorder.Table(columns=["[b]x[/b]"], data=[[1]]),
            },
            commit=False,
        )
    run.log({})
    run_dir = finished(run).resolve()
    everything = [p.resolve() for p in runs_root.rglob("*")]
    assert all(p.is_relative_to(run_dir) or p in run_dir.parents or p == run_dir for p in everything)
    logged = {k.key for k in mi.keys(run_dir)}
    assert {k for k in HOSTILE_KEYS if k} <= logged
    dirs = {mi.images(run_dir, k)[0].path.parent for k in HOSTILE_KEYS if k}
    assert len(dirs) == len([k for k in HOSTILE_KEYS if k])  # no two keys share a directory
    item = mi.images(run_dir, "[@click=app.quit]")[0]
    assert item.caption == "[@click=app.quit]\x1b[31m"  # stored verbatim; the viewer sanitises
    assert mi.load_table(run_dir, "a bt").column_names == ["[b]x[/b]"]


def test_key_dir_is_safe():
    for key in HOSTILE_KEYS + ["a" * 500, "/".join(["x"] * 50)]:
        rel = layout.media_key_dir(key)
        base = Path("/run/media/images")
        p = layout.inside(base, rel)
        assert p.is_relative_to(base) and ".." not in Path(rel).parts and not rel.startswith("/")
        assert all(len(seg) <= 90 for seg in rel.split("/"))
    assert layout.media_key_dir("train/examples") == "train/examples"
    assert layout.media_key_dir("a b") != layout.media_key_dir("a_b")
    with pytest.raises(ValueError):
        layout.inside(Path("/run"), "../x")


def test_reader_refuses_paths_outside_the_run(runs_root, tmp_path):
    run = make_run(runs_root)
    run.log({"ok": recorder.Image(np.zeros((2, 2), np.uint8))})
    run_dir = finished(run)
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"x")
    journal = run_dir / "media" / "index" / "journal-ffffffff-00000000.jsonl"
    lines = [
        {"_step": 5, "_timestamp": 0.0, "key": k, "kind": kind, "idx": 0, "path": p}
        for k, kind, p in [
            ("evil", "image", "../../../secret.png"),
            ("abs", "image", str(secret)),
            ("tab", "table", "../../../secret.png"),
        ]
    ]
    journal.write_bytes(b"".join(b"\n" + json.dumps(x).encode() for x in lines) + b"\n{torn")
    assert mi.images(run_dir, "evil")[0].path is None
    assert mi.images(run_dir, "abs")[0].path is None
    assert mi.tables(run_dir, "tab")[0].path is None
    with pytest.raises(KeyError):
        mi.load_table(run_dir, "tab")
    assert mi.images(run_dir, "ok")[0].exists


def test_sample_media_helper(runs_root):
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
    from sample_media import log_media, log_weight_histograms

    rng = np.random.default_rng(1)
    images = rng.integers(0, 17, (20, 64))
    labels = rng.integers(0, 10, 20)
    preds = np.where(rng.random(20) < 0.8, labels, (labels + 1) % 10)
    run = make_run(runs_root)
    for _epoch in range(3):
        log_weight_histograms(run, {"hidden": rng.normal(size=(64, 8))})
    log_media(
        run,
        images,
        labels,
        preds,
        probs=rng.random((20, 10)),
        class_names=[str(d) for d in range(10)],
        max_images=4,
        table_rows=10,
    )
    run_dir = finished(run)
    kinds = {k.key: k.kind for k in mi.keys(run_dir)}
    assert kinds == {
        "examples": "image",
        "predictions": "table",
        "confusion_matrix": "plot",
        "weights/hidden": "histogram",
    }
    assert len(mi.images(run_dir, "examples")) == 4 and mi.images(run_dir, "examples")[0].width == 32
    assert mi.load_table(run_dir, "predictions").num_rows == 10
    assert mi.confusion_matrix(run_dir, "confusion_matrix").total == 20
    assert mi.histogram_series(run_dir, "weights/hidden").steps == [0, 1, 2]


def test_resumed_run_keeps_both_writers_media(runs_root):
    run = make_run(runs_root, id="resume-me")
    run.log({"x": recorder.Image(np.zeros((2, 2), np.uint8)), "h": recorder.Histogram([1, 2])})
    run.finish()
    run = make_run(runs_root, id="resume-me", resume="allow")
    run.log({"x": recorder.Image(np.ones((2, 2), np.uint8)), "h": recorder.Histogram([3, 4])})
    run_dir = finished(run)
    items = mi.images(run_dir, "x")
    assert [i.step for i in items] == [0, 1] and items[0].path != items[1].path
    assert mi.histogram_series(run_dir, "h").steps == [0, 1]
    assert len(list((run_dir / "media" / "index").glob("part-*.parquet"))) == 2
