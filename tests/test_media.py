"""Media round trips: log() -> files in the run -> viewer/media_index (and DuckDB)."""

from __future__ import annotations

import io
import json
import threading
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.parquet as pq
import pytest

import recorder
from conftest import make_run
from recorder.media import paths
from recorder.media.png import encode_png, png_size
from recorder.media.store import get_store
from run_reading import read_stream
from viewer import media_index as mi

PIL = pytest.importorskip("PIL.Image")


def pixels(path: Path) -> np.ndarray:
    with PIL.open(path) as im:
        return np.asarray(im.copy())


def finished(run) -> Path:
    run.finish()
    return Path(run.dir)


def text_values(run_dir: Path) -> dict[tuple[int, str], str]:
    import glob

    out = {}
    for p in glob.glob(str(run_dir / "text" / "*.parquet")):
        for r in pq.read_table(p).to_pylist():
            out[(r["_step"], r["key"])] = r["value"]
    return out


# -- images ---------------------------------------------------------------------------------
def test_numpy_images_round_trip(runs_root):
    run = make_run(runs_root)
    gray = np.linspace(0, 1, 12 * 10).reshape(12, 10)
    rgb = (np.arange(6 * 7 * 3) % 256).astype(np.uint8).reshape(6, 7, 3)
    rgba = np.zeros((5, 4, 4), np.uint8) + np.array([1, 2, 3, 255], np.uint8)
    for step in range(3):
        run.log({"gray": recorder.Image(gray, caption=f"step {step}"), "rgb": recorder.Image(rgb),
                 "rgba": recorder.Image(rgba), "loss": float(step)})
    run_dir = finished(run)

    items = mi.images(run_dir, "gray")
    assert [i.step for i in items] == [0, 1, 2]
    assert [i.caption for i in items] == ["step 0", "step 1", "step 2"]
    assert all(i.exists and i.width == 10 and i.height == 12 for i in items)
    assert np.array_equal(pixels(items[0].path), np.rint(gray * 255).astype(np.uint8))
    assert np.array_equal(pixels(mi.images(run_dir, "rgb", step=1)[0].path), rgb)
    assert np.array_equal(pixels(mi.images(run_dir, "rgba")[0].path), rgba)
    assert items[0].path.parent == run_dir.absolute() / "media" / "images" / "gray"
    # The history row holds a reference (path, width, height, caption) as text.
    ref = json.loads(text_values(run_dir)[(2, "gray")])
    assert ref == {"_type": "image-file", "path": mi.images(run_dir, "gray")[2].path.relative_to(run_dir.absolute()).as_posix(),
                   "width": 10, "height": 12, "caption": "step 2", "format": "png"}
    assert json.loads((run_dir / "summary.json").read_text())["loss"] == 2.0


def test_caller_may_mutate_array_after_log(runs_root):
    run = make_run(runs_root)
    a = np.zeros((4, 4), np.uint8)
    img = recorder.Image(a)
    a[:] = 200  # after Image(): the snapshot is already taken
    run.log({"x": img})
    run_dir = finished(run)
    assert pixels(mi.images(run_dir, "x")[0].path).max() == 0


def test_list_of_images(runs_root):
    run = make_run(runs_root)
    imgs = [np.full((3, 3), i * 40, np.uint8) for i in range(5)]
    run.log({"examples": [recorder.Image(im, caption=f"digit {i}") for i, im in enumerate(imgs)]})
    run.log({"examples": [recorder.Image(im) for im in imgs[:2]]})
    run_dir = finished(run)
    items = mi.images(run_dir, "examples")
    assert [(i.step, i.idx) for i in items] == [(0, 0), (0, 1), (0, 2), (0, 3), (0, 4), (1, 0), (1, 1)]
    assert [pixels(i.path)[0, 0] for i in items[:5]] == [0, 40, 80, 120, 160]
    assert items[3].caption == "digit 3"
    assert len({i.path for i in items}) == 7
    ref = json.loads(text_values(run_dir)[(0, "examples")])
    assert ref["_type"] == "images" and ref["count"] == 5 and ref["items"][4]["caption"] == "digit 4"
    assert mi.keys(run_dir)[0] == mi.MediaKey("examples", "image", None, 7, 2, 0, 1)


def test_pil_image_and_mode(runs_root):
    run = make_run(runs_root)
    im = PIL.new("RGB", (6, 4), (10, 20, 30))
    run.log({"pil": recorder.Image(im), "as_gray": recorder.Image(im, mode="L"),
             "palette": recorder.Image(im.convert("P", palette=PIL.Palette.ADAPTIVE))})
    im.paste((255, 255, 255), (0, 0, 6, 4))  # changing it afterwards changes nothing stored
    run_dir = finished(run)
    stored = pixels(mi.images(run_dir, "pil")[0].path)
    assert stored.shape == (4, 6, 3) and tuple(stored[0, 0]) == (10, 20, 30)
    assert pixels(mi.images(run_dir, "as_gray")[0].path).ndim == 2
    assert tuple(pixels(mi.images(run_dir, "palette")[0].path)[1, 1]) == (10, 20, 30)


def test_matplotlib_figure(runs_root):
    plt = pytest.importorskip("matplotlib.pyplot")
    import matplotlib

    matplotlib.use("Agg")
    fig, ax = plt.subplots(figsize=(2, 1.5), dpi=50)
    ax.plot([0, 1, 2], [2, 0, 1])
    run = make_run(runs_root)
    run.log({"custom_plot": recorder.Image(fig), "current": recorder.Image(plt)})
    plt.close(fig)
    run_dir = finished(run)
    item = mi.images(run_dir, "custom_plot")[0]
    assert (item.width, item.height) == (100, 75)
    assert pixels(item.path).shape[:2] == (75, 100)
    assert mi.images(run_dir, "current")[0].exists


def test_image_files_are_copied(runs_root, tmp_path):
    src_png = tmp_path / "in.png"
    PIL.new("L", (3, 2), 7).save(src_png)
    src_jpg = tmp_path / "in.jpg"
    PIL.new("RGB", (8, 5), (200, 0, 0)).save(src_jpg)
    run = make_run(runs_root)
    run.log({"png": recorder.Image(str(src_png), caption="from disk"), "jpg": recorder.Image(src_jpg)})
    src_png.unlink()
    run_dir = finished(run)
    png = mi.images(run_dir, "png")[0]
    jpg = mi.images(run_dir, "jpg")[0]
    assert png.exists and (png.width, png.height) == (3, 2) and png.caption == "from disk"
    assert jpg.path.suffix == ".jpg" and (jpg.width, jpg.height) == (8, 5)
    assert jpg.path.read_bytes() == src_jpg.read_bytes()
    with pytest.raises(ValueError):
        recorder.Image(tmp_path / "missing.png")


def test_torch_tensor_chw(runs_root):
    torch = pytest.importorskip("torch")
    t = torch.zeros(3, 4, 5)
    t[0] = 1.0
    run = make_run(runs_root)
    run.log({"t": recorder.Image(t)})
    run_dir = finished(run)
    stored = pixels(mi.images(run_dir, "t")[0].path)
    assert stored.shape == (4, 5, 3) and tuple(stored[0, 0]) == (255, 0, 0)


def test_png_without_pillow(monkeypatch, runs_root):
    from recorder.media import image as image_mod

    monkeypatch.setattr(image_mod, "_pil_module", lambda: None)
    run = make_run(runs_root)
    a = (np.arange(7 * 9 * 3) % 251).astype(np.uint8).reshape(7, 9, 3)
    run.log({"x": recorder.Image(a), "g": recorder.Image(a[:, :, 0]), "ga": recorder.Image(a[:, :, :2])})
    run_dir = finished(run)
    assert np.array_equal(pixels(mi.images(run_dir, "x")[0].path), a)
    assert np.array_equal(pixels(mi.images(run_dir, "g")[0].path), a[:, :, 0])
    with PIL.open(mi.images(run_dir, "ga")[0].path) as im:
        assert im.mode == "LA"
    assert png_size(encode_png(a)[:24]) == (9, 7)


def test_float_ranges_and_bad_shapes():
    from recorder.media.image import to_uint8

    assert to_uint8(np.array([[0.0, 0.5, 1.0]])).tolist() == [[0, 128, 255]]
    assert to_uint8(np.array([[0.0, 128.0, 255.0]])).tolist() == [[0, 128, 255]]
    assert to_uint8(np.array([[-1.0, 0.0, 1.0]])).tolist() == [[0, 128, 255]]
    assert to_uint8(np.array([[np.nan, 1.0]])).tolist() == [[0, 255]]
    assert to_uint8(np.array([[True, False]])).tolist() == [[255, 0]]
    assert recorder.Image(np.zeros((3, 8, 8))).width == 8  # CHW
    for bad in (np.zeros(5), np.zeros((2, 2, 7, 3)), np.zeros((0, 4))):
        with pytest.raises(ValueError):
            recorder.Image(bad)


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
    from recorder.media import store as store_mod
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


# -- histograms -----------------------------------------------------------------------------
def test_histograms_round_trip(runs_root):
    rng = np.random.default_rng(0)
    run = make_run(runs_root)
    data = []
    for step in range(4):
        values = rng.normal(step, 1.0, 500)
        data.append(values)
        run.log({"weights": recorder.Histogram(values, num_bins=16),
                 "given": recorder.Histogram(np_histogram=np.histogram(values, bins=4))})
    run_dir = finished(run)
    s = mi.histogram_series(run_dir, "weights")
    assert s.steps == [0, 1, 2, 3]
    counts, bins = np.histogram(data[2], bins=16)
    assert s.counts[2] == counts.tolist() and s.bins[2] == pytest.approx(bins.tolist())
    assert all(len(b) == 17 and sum(c) == 500 for b, c in zip(s.bins, s.counts))
    assert s.latest()[0] == 3
    edges, rows = s.grid(8)
    assert len(edges) == 9 and len(rows) == 4
    assert all(sum(r) == pytest.approx(500) for r in rows)
    assert edges[0] == pytest.approx(min(b[0] for b in s.bins))
    assert mi.histogram_series(run_dir, "given").counts[0] == np.histogram(data[0], bins=4)[0].tolist()


def test_histogram_inputs():
    h = recorder.Histogram([1, 2, 2, 3, float("nan"), float("inf")], num_bins=3)
    assert h.histogram == [1.0, 2.0, 1.0] and len(h.bins) == 4
    assert len(recorder.Histogram(np.arange(10), num_bins=10_000).histogram) == 512
    from recorder.media.histogram import _compute_plain

    counts, bins = _compute_plain([[1, 2], [2, 3]], 3)
    assert counts == [1.0, 2.0, 1.0] and bins[0] == 1 and bins[-1] == 3
    with pytest.raises(ValueError):
        recorder.Histogram(np_histogram=([1, 2], [0, 1]))
    with pytest.raises(ValueError):
        recorder.Histogram()


# -- tables and charts ----------------------------------------------------------------------
def test_table_round_trip_with_image_cells(runs_root):
    run = make_run(runs_root)
    table = recorder.Table(columns=["id", "image", "prediction", "truth", "score"])
    for i in range(3):
        table.add_data(i, recorder.Image(np.full((2, 2), i * 50, np.uint8)), str(i), i % 2, 0.5 + i)
    table.add_column("ok", [True, False, None])
    assert table.get_column("id") == [0, 1, 2]
    assert table.get_column("score", convert_to="numpy").dtype == np.float64
    run.log({"predictions": table})
    table.add_data(9, None, "9", 1, 1.0, True)  # after log(): belongs to a later log only
    run_dir = finished(run)

    [item] = mi.tables(run_dir, "predictions")
    assert item.kind == "table" and item.nrows == 3 and item.columns == table.columns
    assert item.spec == {"image_columns": ["image"]}
    t = mi.load_table(run_dir, "predictions")
    assert t.num_rows == 3
    assert t.column("id").to_pylist() == [0, 1, 2] and str(t.schema.field("id").type) == "int64"
    assert t.column("score").to_pylist() == [0.5, 1.5, 2.5]
    assert t.column("ok").to_pylist() == [True, False, None]
    cells = [mi.image_cell_path(run_dir, c) for c in t.column("image").to_pylist()]
    assert [pixels(c)[0, 0] for c in cells] == [0, 50, 100]
    con = duckdb.connect()
    mi.register(con, runs_root)
    [(file,)] = con.execute("SELECT file FROM tables WHERE key = 'predictions'").fetchall()
    assert con.execute("SELECT sum(score) FROM read_parquet(?)", [file]).fetchone()[0] == 4.5


def test_table_constructors():
    t = recorder.Table(data=[[1, "a"], [2, "b"]])
    assert t.columns == ["col0", "col1"] and len(t) == 2
    t = recorder.Table(columns=["x"], data=np.array([[1.0], [2.0]]))
    assert t.get_column("x") == [1.0, 2.0]

    class Frame:  # the part of a pandas DataFrame that Table uses
        columns = ["a", "b"]

        def itertuples(self, index=False, name=None):
            return iter([(1, 2), (3, 4)])

    assert recorder.Table(dataframe=Frame()).data == [[1, 2], [3, 4]]
    with pytest.raises(ValueError):
        t.add_data(1, 2)
    with pytest.raises(ValueError):
        recorder.Table(columns=["a", "a"])


def test_plots_round_trip(runs_root):
    run = make_run(runs_root)
    xy = recorder.Table(columns=["x", "y", "series"], data=[[i, i * i, "a" if i % 2 else "b"] for i in range(5)])
    run.log({
        "line": recorder.plot.line(xy, "x", "y", stroke="series", title="Squares"),
        "scatter": recorder.plot.scatter(xy, "x", "y"),
        "bar": recorder.plot.bar(xy, "series", "y", title="Bars"),
        "hist": recorder.plot.histogram(xy, "y"),
        "series": recorder.plot.line_series([0, 1, 2], [[1, 2, 3], [3, 2, 1]], keys=["up", "down"]),
    })
    y_true = [0, 1, 2, 2, 1, 0, 2]
    preds = [0, 2, 2, 2, 1, 1, 0]
    probs = np.eye(3)[preds] * 0.8 + 0.05
    run.log({"conf_mat": recorder.plot.confusion_matrix(probs=None, y_true=y_true, preds=preds,
                                                         class_names=["cat", "dog", "bird"], title="CM")})
    run.log({"conf_mat": recorder.plot.confusion_matrix(probs=probs, y_true=y_true, class_names=["cat", "dog", "bird"])})
    run_dir = finished(run)

    line = mi.chart(run_dir, "line")
    assert line.chart == "line" and line.spec == {"x": "x", "y": "y", "stroke": "series", "title": "Squares"}
    assert line.table.column("y").to_pylist() == [0, 1, 4, 9, 16]
    assert mi.chart(run_dir, "bar").spec["label"] == "series"
    assert mi.chart(run_dir, "hist").spec == {"value": "y"}
    series = mi.chart(run_dir, "series")
    assert series.table.num_rows == 6 and series.spec["keys"] == ["up", "down"]

    cm = mi.confusion_matrix(run_dir, "conf_mat", step=1)
    assert cm.class_names == ["cat", "dog", "bird"] and cm.title == "CM"
    assert cm.counts == [[1, 1, 0], [0, 1, 1], [1, 0, 2]] and cm.total == 7
    assert mi.confusion_matrix(run_dir, "conf_mat").counts == cm.counts  # latest: from probs
    assert [k.kind for k in mi.keys(run_dir)] == ["plot"] * 6
    with pytest.raises(ValueError):
        recorder.plot.line(xy, "x", "nope")
    with pytest.raises(ValueError):
        recorder.plot.confusion_matrix(y_true=[0, 3], preds=[0, 1], class_names=["a", "b"])


# -- SQL views ------------------------------------------------------------------------------
def test_duckdb_views(runs_root):
    for n in range(2):
        run = make_run(runs_root, project=f"proj{n}")
        run.log({"h": recorder.Histogram([1, 2, 3, 4], num_bins=2), "img": recorder.Image(np.zeros((2, 3)))})
        run.log({"h": recorder.Histogram([1, 1, 1, 4], num_bins=2)})
        run.finish()
    con = duckdb.connect()
    mi.register(con, [runs_root])
    assert con.execute("SELECT count(*) FROM histograms").fetchone()[0] == 4
    rows = con.execute(
        "SELECT _step, bin, count FROM histogram_bins WHERE project = 'proj0' ORDER BY _step, bin").fetchall()
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
HOSTILE_KEYS = ["../../escape", "/etc/passwd", "a/../../b", "..", "[@click=app.quit]", "a b", "a_b",
                "x/./y", "C:\\win\\path", "ключ/値", "\x1b]0;title\x07", ""]


def test_hostile_keys_stay_inside_the_run(runs_root):
    run = make_run(runs_root)
    for key in HOSTILE_KEYS:
        run.log({key: recorder.Image(np.zeros((2, 2), np.uint8), caption="[@click=app.quit]\x1b[31m"),
                 key + "t": recorder.Table(columns=["[b]x[/b]"], data=[[1]])}, commit=False)
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
        rel = paths.key_dir(key)
        base = Path("/run/media/images")
        p = paths.inside(base, rel)
        assert p.is_relative_to(base) and ".." not in Path(rel).parts and not rel.startswith("/")
        assert all(len(seg) <= 90 for seg in rel.split("/"))
    assert paths.key_dir("train/examples") == "train/examples"
    assert paths.key_dir("a b") != paths.key_dir("a_b")
    with pytest.raises(ValueError):
        paths.inside(Path("/run"), "../x")


def test_reader_refuses_paths_outside_the_run(runs_root, tmp_path):
    run = make_run(runs_root)
    run.log({"ok": recorder.Image(np.zeros((2, 2), np.uint8))})
    run_dir = finished(run)
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"x")
    journal = run_dir / "media" / "index" / "journal-ffffffff-00000000.jsonl"
    lines = [{"_step": 5, "_timestamp": 0.0, "key": k, "kind": kind, "idx": 0, "path": p}
             for k, kind, p in [("evil", "image", "../../../secret.png"), ("abs", "image", str(secret)),
                                ("tab", "table", "../../../secret.png")]]
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
    for epoch in range(3):
        log_weight_histograms(run, {"hidden": rng.normal(size=(64, 8))})
    log_media(run, images, labels, preds, probs=rng.random((20, 10)), class_names=[str(d) for d in range(10)],
              max_images=4, table_rows=10)
    run_dir = finished(run)
    kinds = {k.key: k.kind for k in mi.keys(run_dir)}
    assert kinds == {"examples": "image", "predictions": "table", "confusion_matrix": "plot",
                     "weights/hidden": "histogram"}
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
