"""Media types round trip: log() -> files in the run -> viewer/media_index (and DuckDB):
images, histograms, tables and charts. The writer, the index, SQL views and path
safety: test_media_store.py."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import numpy as np
import pytest
from conftest import make_run
from media_helpers import finished, text_values

import recorder
from recorder.media.png import encode_png, png_size
from viewer.data import media_index as mi
from viewer.data import media_views

PIL = pytest.importorskip("PIL.Image")


def pixels(path: Path) -> np.ndarray:
    with PIL.open(path) as im:
        return np.asarray(im.copy())


# -- images ---------------------------------------------------------------------------------
def test_numpy_images_round_trip(runs_root):
    run = make_run(runs_root)
    gray = np.linspace(0, 1, 12 * 10).reshape(12, 10)
    rgb = (np.arange(6 * 7 * 3) % 256).astype(np.uint8).reshape(6, 7, 3)
    rgba = np.zeros((5, 4, 4), np.uint8) + np.array([1, 2, 3, 255], np.uint8)
    for step in range(3):
        run.log(
            {
                "gray": recorder.Image(gray, caption=f"step {step}"),
                "rgb": recorder.Image(rgb),
                "rgba": recorder.Image(rgba),
                "loss": float(step),
            }
        )
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
    assert ref == {
        "_type": "image-file",
        "path": mi.images(run_dir, "gray")[2].path.relative_to(run_dir.absolute()).as_posix(),
        "width": 10,
        "height": 12,
        "caption": "step 2",
        "format": "png",
    }
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
    run.log(
        {
            "pil": recorder.Image(im),
            "as_gray": recorder.Image(im, mode="L"),
            "palette": recorder.Image(im.convert("P", palette=PIL.Palette.ADAPTIVE)),
        }
    )
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


# -- histograms -----------------------------------------------------------------------------
def test_histograms_round_trip(runs_root):
    rng = np.random.default_rng(0)
    run = make_run(runs_root)
    data = []
    for step in range(4):
        values = rng.normal(step, 1.0, 500)
        data.append(values)
        run.log(
            {
                "weights": recorder.Histogram(values, num_bins=16),
                "given": recorder.Histogram(np_histogram=np.histogram(values, bins=4)),
            }
        )
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
    media_views.register(con, runs_root)
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
    run.log(
        {
            "line": recorder.plot.line(xy, "x", "y", stroke="series", title="Squares"),
            "scatter": recorder.plot.scatter(xy, "x", "y"),
            "bar": recorder.plot.bar(xy, "series", "y", title="Bars"),
            "hist": recorder.plot.histogram(xy, "y"),
            "series": recorder.plot.line_series([0, 1, 2], [[1, 2, 3], [3, 2, 1]], keys=["up", "down"]),
        }
    )
    y_true = [0, 1, 2, 2, 1, 0, 2]
    preds = [0, 2, 2, 2, 1, 1, 0]
    probs = np.eye(3)[preds] * 0.8 + 0.05
    run.log(
        {
            "conf_mat": recorder.plot.confusion_matrix(
                probs=None, y_true=y_true, preds=preds, class_names=["cat", "dog", "bird"], title="CM"
            )
        }
    )
    run.log(
        {"conf_mat": recorder.plot.confusion_matrix(probs=probs, y_true=y_true, class_names=["cat", "dog", "bird"])}
    )
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
