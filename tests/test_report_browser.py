"""The report in headless Chromium with the network shut: it loads nothing, logs no error,
draws one plot per metric with a trace per run, its controls work, and hostile names
run no script. Skipped (with the reason) where Chromium is not installed.

    UPDATE_SCREENSHOTS=1 pytest tests/test_report_browser.py   # also rewrites docs/screenshot-report.png
"""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow.compute as pc
from browser_helpers import open_browser
from store_helpers import fake_run_dir

from viewer.cli.main import main
from viewer.data.store import Store

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "sample_runs"
# The runs of the dashboard's screenshots (scripts/make_screenshots.py).
SAMPLE_RUNS = ("sweep-09", "sweep-05", "sweep-02", "tanh-hidden")
PLOTS_JS = """
return Array.from(document.querySelectorAll(arguments[0] + ' .loupe-plot')).map(e => [
  e.dataset.metric,
  e.querySelectorAll('.u-legend tr.u-series').length - 1,
  e.querySelectorAll('.u-legend tr.u-series.u-off').length,
  e.querySelectorAll('canvas').length,
]);
"""


def write(root: Path, out: Path, *args: str) -> None:
    assert main(["report", "--root", str(root), "-o", str(out), *args]) == 0


def load(browser, page: Path) -> None:
    browser.driver.get(page.as_uri())
    browser.wait_for(
        lambda: browser.driver.execute_script("return document.body.dataset.ready === 'true'"), "the page to draw"
    )


def expected_traces(root: Path, names: tuple[str, ...]) -> dict[str, int]:
    """Per metric: how many of these runs logged a finite value of it (read straight from history)."""
    store = Store([root])
    table = store.history([store.resolve(n).id for n in names])
    out = {}
    for name in table.column_names:
        if name in ("run_id", "_step", "_timestamp", "_runtime"):
            continue
        finite = table.filter(pc.is_finite(table.column(name)))
        out[name] = len(set(finite.column("run_id").to_pylist()))
    return out


def test_report_opens_offline_with_a_plot_per_metric(tmp_path, monkeypatch):
    page = tmp_path / "report.html"
    write(SAMPLES, page, *SAMPLE_RUNS)
    with open_browser(tmp_path / "profile", monkeypatch, size=(1400, 1800)) as browser:
        load(browser, page)
        plots = browser.driver.execute_script(PLOTS_JS, "#metrics")
        metrics = [p[0] for p in plots]
        assert len(metrics) == len(set(metrics))  # one plot per metric
        assert {m: traces for m, traces, _, _ in plots} == expected_traces(SAMPLES, SAMPLE_RUNS)
        assert all(canvases >= 1 for *_, canvases in plots)
        assert browser.driver.execute_script(PLOTS_JS, "#system")  # system metrics of the sample runs
        from selenium.webdriver.common.action_chains import ActionChains

        # Hover over the first plot: the cursor is synced, every legend shows its values.
        over = browser.driver.find_element("css selector", "#metrics .loupe-plot .u-over")
        ActionChains(browser.driver).move_to_element_with_offset(over, 60, 0).perform()
        legend = browser.driver.find_element("css selector", "#metrics .loupe-plot:nth-child(2) .u-legend").text
        assert "—" not in legend.split("\n", 1)[-1]  # the runs' values at the cursor, not placeholders
        shot = REPO / "docs" / "screenshot-report.png" if os.environ.get("UPDATE_SCREENSHOTS") else tmp_path / "s.png"
        assert browser.driver.save_screenshot(str(shot))
        assert shot.stat().st_size > 20_000  # a drawn page, not a blank one

        # A run switched off in the chips is switched off in every plot it is in.
        browser.driver.find_element("css selector", "#run-chips .chip").click()
        after = browser.driver.execute_script(PLOTS_JS, "#metrics")
        assert all(off == 1 for _, _, off, _ in after)
        # log-y redraws every plot (uPlot charts rebuilt) with the same traces.
        browser.driver.find_element("id", "log-y").click()
        assert [p[:2] for p in browser.driver.execute_script(PLOTS_JS, "#metrics")] == [p[:2] for p in plots]
        # Sorting the runs table by name.
        browser.driver.find_element("xpath", "//table[@id='runs-table']//th[text()='name']").click()
        names = browser.driver.execute_script(
            "return Array.from(document.querySelectorAll('#runs-table tbody tr td:nth-child(2)')).map(t => t.textContent)"
        )
        assert names == sorted(SAMPLE_RUNS)

        requests = [u for u in browser.requests() if not u.startswith("data:")]  # inlined images
        assert requests == [page.as_uri()], requests  # the page itself, nothing else
        assert not browser.failed_requests()
        assert not browser.errors()


def test_hostile_names_run_no_script(tmp_path, monkeypatch):
    root = tmp_path / "runs"
    payloads = [
        "<script>window.__pwned = 1</script>",
        '<img src=x onerror="window.__pwned = 2">',
        "</script><script>window.__pwned = 3</script>",
    ]
    fake_run_dir(root, "p", "evil2", name=payloads[1], history={"loss": [1.0, 0.5]})
    d = fake_run_dir(
        root,
        "p",
        "evil",
        name=payloads[0],
        tags=[payloads[2]],
        config={"note": payloads[1], payloads[1]: 1},
        summary={"x": payloads[2]},
        history={payloads[1]: [1.0, 2.0, 3.0], "loss": [3.0, 2.0, 1.0]},
    )
    (d / "output.log").write_text(f"2026-01-01T00:00:00.000Z O {payloads[0]} {payloads[1]}\n")
    page = tmp_path / "report.html"
    write(root, page, "--title", payloads[2])
    with open_browser(tmp_path / "profile", monkeypatch) as browser:
        load(browser, page)
        driver = browser.driver
        assert driver.execute_script("return window.__pwned === undefined")
        # Nothing a run wrote became an element: no <img>, no script but the page's own three.
        assert driver.execute_script("return document.images.length") == 0
        assert driver.execute_script("return document.scripts.length") == 3
        driver.execute_script("document.querySelectorAll('details').forEach(d => d.open = true)")
        text = driver.find_element("tag name", "body").text
        for p in payloads:
            assert p in text  # shown, as text
        assert driver.title == payloads[2]
        assert not browser.errors()  # not even a blocked attempt
        assert [u for u in browser.requests() if not u.startswith("data:")] == [page.as_uri()]
