"""`loupe report` without a browser: what the report holds, its size budget, escaping, the CLI.

The page in a real (headless) browser is tests/test_report_browser.py.
"""

from __future__ import annotations

import json
import math
import re
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from report_helpers import report_json
from store_helpers import fake_run_dir
from tui_fixtures import STANDARD, make_runs

import recorder
from recorder import layout
from viewer.cli.main import main
from viewer.data.run_colors import RunColors
from viewer.data.store import Store
from viewer.report import html_page, report_data, write_report
from viewer.report.report_data import gather, points_per_series

HOSTILE = "<script>window.__pwned=1</script>"


@pytest.fixture
def standard_root(tmp_path) -> tuple[Path, list[str]]:
    root = tmp_path / "runs"
    return root, make_runs(root, STANDARD)


def test_one_panel_per_metric_with_one_series_per_run_in_dashboard_colours(standard_root, tmp_path):
    root, ids = standard_root
    store = Store([root])
    data = gather(store, ids)
    panels = {p["metric"]: p for s in data["metrics"] for p in s["panels"]}
    assert set(panels) == {"train/loss", "val/acc", "epoch"}
    assert [s["title"] for s in data["metrics"]] == ["train", "val", "charts"]
    for panel in panels.values():
        assert [s["run"] for s in panel["series"]] == [0, 1, 2, 3]
    # The dashboard's colours for runs selected in this order, in the table and the chips.
    expected = RunColors.in_order(ids)
    assert [r["color"] for r in data["runs"]] == [expected.hex(i) for i in ids]
    assert data["runs"][0]["cells"]["name"] == "baseline"
    assert "config.lr" in data["columns"] and data["runs"][1]["sort"]["config.lr"] == 0.1
    # The broken run logged 10 steps: its series ends where it stopped, as in the dashboard.
    broken = panels["train/loss"]["series"][3]
    assert broken["x"][-1] == 9 and broken["y"][0] == 1


def test_colours_from_the_dashboard_are_kept(standard_root):
    root, ids = standard_root
    colors = RunColors()
    for rid in reversed(ids):
        colors.assign(rid)
    data = gather(Store([root]), ids, colors)
    assert [r["color"] for r in data["runs"]] == [colors.hex(i) for i in ids]
    assert data["runs"][0]["color"] != RunColors.in_order(ids).hex(ids[0])


def test_series_keep_bucket_min_and_max(tmp_path):
    root = tmp_path / "runs"
    values = [1.0] * 10_000
    values[5_000] = 50.0  # one spike: a bucket mean hides it, the max keeps it
    fake_run_dir(root, "p", "spiky", history={"loss": values})
    data = gather(Store([root]), ["spiky"])
    series = data["metrics"][0]["panels"][0]["series"][0]
    assert len(series["x"]) == report_data.MAX_POINTS
    assert max(series["hi"]) == 50 and max(series["y"]) < 50 and min(series["lo"]) == 1


def test_points_per_series_shrink_to_the_budget():
    assert points_per_series(1) == report_data.MAX_POINTS
    assert points_per_series(20 * 10) == 400
    assert points_per_series(20 * 200) == report_data.MIN_POINTS
    many = 20 * 60
    assert points_per_series(many) * many <= report_data.SERIES_BUCKETS


def test_details_media_and_system(tmp_path):
    root = tmp_path / "runs"
    run = recorder.init(
        dir=root, project="p", name="media", config={"lr": 0.1, "model": {"depth": 3}}, system_interval=0.05
    )
    rng = np.random.default_rng(0)
    for step in range(3):
        run.log({"loss": 1 / (step + 1), "pic": recorder.Image(rng.integers(0, 255, (8, 8), dtype=np.uint8))})
        run.log({"weights": recorder.Histogram(rng.normal(size=500))})
    store = Store([root])
    deadline = time.monotonic() + 10
    while "cpu.percent" not in store.metric_names([run.id], stream="system") and time.monotonic() < deadline:
        time.sleep(0.05)  # waiting for the monitor's first samples, not a fixed pause
    run.summary["best"] = 0.5
    run.finish()
    (Path(run.dir) / "output.log").write_text(
        "".join(f"2026-01-01T00:00:0{i}.000Z O line {i}\n" for i in range(5))
        + "2026-01-01T00:00:09.000Z E \x1b[31mred\n"
    )
    store.refresh()
    data = gather(store, [run.id])
    media = data["media"][0]
    assert [(m["key"], m["step"]) for m in media["images"]] == [("pic", 4)]
    assert media["images"][0]["src"].startswith("data:image/png;base64,")
    assert [h["key"] for h in media["histograms"]] == ["weights"]
    assert len(media["histograms"][0]["edges"]) == len(media["histograms"][0]["counts"]) + 1
    details = data["details"][0]
    assert ["model.depth", "3"] in details["config"]["rows"]
    assert ["best", "0.5"] in details["summary"]["rows"]
    assert details["log"][-1].endswith("E red")  # escape sequences gone
    assert details["log_complete"] is True
    system = {p["metric"] for s in data["system"] for p in s["panels"]}
    assert "cpu.percent" in system and "memory.percent" in system


def test_gpu_metrics_get_a_section_per_device(tmp_path):
    root = tmp_path / "runs"
    d = fake_run_dir(root, "p", "gpu", history={"loss": [1.0, 0.5]})
    n = 30
    system = {
        "run_id": pa.array(["gpu"] * n),
        "_timestamp": pa.array([1e9 + i for i in range(n)], pa.float64()),
        "_runtime": pa.array([float(i) for i in range(n)], pa.float64()),
        "cpu.percent": pa.array([50.0] * n),
        "gpu.0.util_percent": pa.array([90.0] * n),
        "gpu.1.util_percent": pa.array([80.0] * n),
        "gpu.1.temp_c": pa.array([60.0] * n),
    }
    (d / layout.SYSTEM_DIR).mkdir()
    pq.write_table(pa.table(system), d / layout.SYSTEM_DIR / layout.part_name("aaaaaaaa", 0, 0))
    data = gather(Store([root]), ["gpu"])
    sections = {s["title"]: [p["metric"] for p in s["panels"]] for s in data["system"]}
    assert sections == {
        "GPU 0": ["gpu.0.util_percent"],
        "GPU 1": ["gpu.1.temp_c", "gpu.1.util_percent"],
        "system": ["cpu.percent"],
    }
    assert data["system"][0]["panels"][0]["series"][0]["x"][-1] == n - 1  # over run time


def test_hostile_text_never_leaves_the_json_block_raw(tmp_path):
    root = tmp_path / "runs"
    fake_run_dir(
        root,
        "p",
        "evil",
        config={"x": '<img src=x onerror="window.__pwned=2">', "</script><script>a": "&amp;\u2028"},
        history={HOSTILE: [1.0, 2.0]},
        name=HOSTILE,
        tags=["</script><script>window.__pwned=3</script>"],
    )
    out = tmp_path / "r.html"
    write_report(Store([root]), ["evil"], out, title=HOSTILE)
    text = out.read_text(encoding="utf-8")
    # Only the page's own three script elements (the data block and two scripts).
    assert text.count("<script") == 3 and "window.__pwned" in text
    assert "<script>window" not in text and "<img src=x" not in text and "\u2028" not in text
    assert "<title>&lt;script&gt;" in text
    data = report_json(out)
    assert data["runs"][0]["cells"]["name"] == HOSTILE
    assert data["metrics"][0]["panels"][0]["metric"] == HOSTILE


def test_page_is_self_contained_with_a_strict_policy(standard_root, tmp_path):
    root, ids = standard_root
    out = tmp_path / "r.html"
    write_report(Store([root]), ids, out)
    text = out.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)
    assert "@import" not in text and "url(http" not in text
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', text).group(1)
    assert "default-src 'none'" in csp and "unsafe-inline" not in csp and "connect-src" not in csp


def test_script_json_escapes_what_could_close_the_block():
    s = html_page.script_json({"a": "</script><!-- & \u2028\u2029"})
    assert "<" not in s and ">" not in s and "&" not in s and "\u2028" not in s
    assert json.loads(s) == {"a": "</script><!-- & \u2028\u2029"}


def test_nonfinite_values_become_gaps(tmp_path):
    root = tmp_path / "runs"
    fake_run_dir(root, "p", "nan", history={"loss": [1.0, math.nan, math.inf, 2.0]})
    series = gather(Store([root]), ["nan"])["metrics"][0]["panels"][0]["series"][0]
    assert all(v is None or math.isfinite(v) for v in series["y"])


# -- the command ---------------------------------------------------------------------------


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_picks_runs_by_name_filter_and_words(standard_root, tmp_path, capsys):
    root, ids = standard_root
    out = tmp_path / "r.html"
    code, stdout, _ = run_cli(capsys, "report", "fast-lr", "--root", root, "-o", out)
    assert code == 0 and "1 run," in stdout
    assert [r["cells"]["name"] for r in report_json(out)["runs"]] == ["fast-lr"]
    code, _, _ = run_cli(capsys, "report", "config.batch_size > 64", "tag:base", "--root", root, "-o", out)
    assert code == 0
    assert [r["cells"]["name"] for r in report_json(out)["runs"]] == ["big-batch", "baseline"]
    code, _, _ = run_cli(capsys, "report", "--root", root, "-o", out)
    assert code == 0 and len(report_json(out)["runs"]) == 4


def test_cli_caps_runs_and_says_so(standard_root, tmp_path, capsys):
    root, _ = standard_root
    out = tmp_path / "r.html"
    code, _, err = run_cli(capsys, "report", "--root", root, "-o", out, "--max-runs", "2")
    assert code == 0 and "first 2 of 4 runs" in err
    assert len(report_json(out)["runs"]) == 2


def test_cli_errors_are_one_line(standard_root, tmp_path, capsys):
    root, _ = standard_root
    code, _, err = run_cli(capsys, "report", "nosuchrun", "--root", root, "-o", tmp_path / "r.html")
    assert code == 2 and "no run matches 'nosuchrun'" in err and err.count("\n") == 1
    code, _, err = run_cli(capsys, "report", "config.lr >", "--root", root, "-o", tmp_path / "r.html")
    assert code == 2 and "neither a run nor a valid filter" in err
    code, _, err = run_cli(capsys, "report", "--root", root, "-o", tmp_path / "missing" / "r.html")
    assert code == 1 and "does not exist" in err
    code, _, err = run_cli(capsys, "report", "--root", root, "-o", tmp_path)
    assert code == 2 and "is a directory" in err
    assert not list(tmp_path.glob("*.html")) and not list(tmp_path.glob(".*"))


def test_size_is_set_by_buckets_not_steps(tmp_path):
    """20 runs x 10 metrics: 2,000 or 10,000 steps a run give (nearly) the same file, under
    the 5 MB budget; benchmarks/report_size.py measures the 100k-step case."""
    rng = np.random.default_rng(0)
    sizes = []
    for steps in (2_000, 10_000):
        root = tmp_path / f"runs{steps}"
        for i in range(20):
            history = {f"m{k}": (rng.normal(size=steps) + k).tolist() for k in range(10)}
            fake_run_dir(root, "p", f"run{i:02d}", history=history)
        store = Store([root])
        out = tmp_path / f"r{steps}.html"
        sizes.append(write_report(store, [r.id for r in store.runs()], out))
        assert report_json(out)["points"] == points_per_series(20 * 10)
    assert max(sizes) <= 5_000_000
    assert abs(sizes[1] - sizes[0]) / sizes[0] < 0.05, sizes
