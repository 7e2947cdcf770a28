"""User edits (edits.json): what readers show, locking between editors, and a live writer
rewriting run.json while the run is renamed and tagged."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from store_helpers import real_run

import recorder
from recorder import layout
from recorder.journal import apply_edits, read_edits
from recorder.user_edits import edit_run
from viewer.cli.main import main
from viewer.data.store import Store

REPO = Path(__file__).resolve().parents[1]


def wait_until(condition, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_edits_show_everywhere_and_leave_run_json_alone(runs_root):
    run = real_run(runs_root, name="alpha", tags=["a", "b"], notes="old")
    before = (Path(run.dir) / "run.json").read_bytes()
    edit_run(run.dir, name="renamed", add_tags=["c"], remove_tags=["a"], notes="new notes", summary={"best": 0.5})

    assert (Path(run.dir) / "run.json").read_bytes() == before
    info = Store([runs_root]).resolve(run.id)
    assert (info.name, info.tags, info.notes, info.summary["best"]) == ("renamed", ("b", "c"), "new notes", 0.5)
    row = Store([runs_root]).query('SELECT name, tags, notes, "summary.best" FROM runs').to_pylist()[0]
    assert row == {"name": "renamed", "tags": ["b", "c"], "notes": "new notes", "summary.best": 0.5}
    api_run = recorder.Api(runs_root).run(f"p/{run.id}")
    assert (api_run.name, api_run.tags, api_run.notes, api_run.summary["best"]) == (
        "renamed",
        ["b", "c"],
        "new notes",
        0.5,
    )
    assert api_run.summary["loss"] == pytest.approx(0.1)  # the recorded summary is still there


def test_tag_changes_build_on_earlier_edits_and_summary_null_hides_a_key(runs_root):
    run = real_run(runs_root, tags=["x"])
    edit_run(run.dir, add_tags=["y"])
    edit_run(run.dir, add_tags=["z", "y"], remove_tags=["x"])
    assert read_edits(run.dir)["tags"] == ["y", "z"]
    edit_run(run.dir, tags=["only"])
    assert read_edits(run.dir)["tags"] == ["only"]
    edit_run(run.dir, summary={"loss": None})
    assert "loss" not in Store([runs_root]).resolve(run.id).summary


@pytest.mark.parametrize(
    "change, message",
    [
        ({"name": "  "}, "cannot be empty"),
        ({"add_tags": ["a,b"]}, "comma"),
        ({"add_tags": [""]}, "cannot be empty"),
        ({"add_tags": ["x" * 200]}, "longer than"),
        ({"notes": 3}, "must be text"),
    ],
)
def test_bad_edits_are_refused_and_write_nothing(runs_root, change, message):
    run = real_run(runs_root)
    with pytest.raises(ValueError, match=message):
        edit_run(run.dir, **change)
    assert not (Path(run.dir) / layout.EDITS_FILE).exists()


def test_an_edit_needs_a_run_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a run directory"):
        edit_run(tmp_path)


def test_a_damaged_edits_file_is_ignored_by_readers(runs_root):
    run = real_run(runs_root, name="alpha")
    (Path(run.dir) / layout.EDITS_FILE).write_text('{"name": 5, "tags": "nope", "notes": ["x"], "summary": 1}')
    info = Store([runs_root]).resolve(run.id)
    assert (info.name, info.tags) == ("alpha", ())
    (Path(run.dir) / layout.EDITS_FILE).write_bytes(b"\xef\xbb\xbf{garbage")
    assert Store([runs_root], on_warning=lambda m: None).resolve(run.id).name == "alpha"
    # apply_edits on its own: no edits, same objects back.
    r, s = {"name": "a"}, {"x": 1}
    assert apply_edits(r, s, {}) == (r, s) and apply_edits(r, s, {})[0] is r


def test_a_refresh_sees_an_edit_of_a_finished_run(runs_root):
    run = real_run(runs_root, name="alpha")
    store = Store([runs_root])
    assert store.resolve(run.id).name == "alpha"
    edit_run(run.dir, name="beta")
    assert store.refresh() is True
    assert store.resolve(run.id).name == "beta"


_EDITOR = textwrap.dedent(
    """
    import os, sys, time
    from recorder.user_edits import edit_run
    run_dir, start, who = sys.argv[1], sys.argv[2], sys.argv[3]
    while not os.path.exists(start):
        time.sleep(0.005)
    for j in range(15):
        edit_run(run_dir, add_tags=[f"{who}-{j}"])
    """
)


def test_concurrent_editors_lose_nothing(runs_root, tmp_path):
    run = real_run(runs_root, tags=["first"])
    start = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen([sys.executable, "-c", _EDITOR, str(run.dir), str(start), f"w{i}"], env=env) for i in range(4)
    ]
    time.sleep(0.5)  # let them all start waiting, then release them together
    start.touch()
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0, 0]
    tags = set(Store([runs_root]).resolve(run.id).tags)
    assert tags == {"first"} | {f"w{i}-{j}" for i in range(4) for j in range(15)}


_LIVE_RUN = textwrap.dedent(
    """
    import os, sys, time
    import recorder, recorder.run_files
    recorder.run_files.HEARTBEAT_S = 0.2  # rewrite run.json often, so the test can watch it happen
    root, stop = sys.argv[1], sys.argv[2]
    run = recorder.init(dir=root, project="p", id="live-run-1", name="original", tags=["t0"],
                        system_interval=0, capture_console=False)
    print("ready", flush=True)
    i = 0
    while not os.path.exists(stop):
        run.log({"loss": 1.0 / (i + 1)})
        i += 1
        time.sleep(0.01)
    run.finish()
    """
)


def test_edits_of_a_live_run_survive_its_run_json_rewrites(runs_root, tmp_path, capsys):
    stop = tmp_path / "stop"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen(
        [sys.executable, "-c", _LIVE_RUN, str(runs_root), str(stop)], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout.readline().strip() == "ready"
        run_json = runs_root / "p" / "live-run-1" / "run.json"
        root = ["--root", str(runs_root)]
        assert main(["tag", "live-run", "+edited", "-t0", *root]) == 0  # a unique prefix
        assert main(["rename", "live-run-1", "renamed", *root]) == 0
        assert main(["note", "live-run-1", "while it ran", *root]) == 0
        # A running run is not deleted without --force.
        assert main(["rm", "live-run-1", "--yes", *root]) == 1
        assert "running" in capsys.readouterr().err and run_json.is_file()

        edited_at = os.stat(runs_root / "p" / "live-run-1" / layout.EDITS_FILE).st_mtime_ns
        wait_until(lambda: os.stat(run_json).st_mtime_ns > edited_at, "the writer to rewrite run.json")
        recorded = json.loads(run_json.read_text())
        assert (recorded["name"], recorded["tags"], recorded["state"]) == ("original", ["t0"], "running")
        info = Store([runs_root]).resolve("live-run-1")
        assert (info.name, info.tags, info.notes, info.state) == ("renamed", ("edited",), "while it ran", "running")
    finally:
        stop.touch()
        child.wait(timeout=60)
    info = Store([runs_root]).resolve("live-run-1")
    assert (info.name, info.tags, info.state) == ("renamed", ("edited",), "finished")


def test_polling_notices_an_edit_of_a_long_finished_run(runs_root):
    from viewer.data.run_poller import LIVE_WINDOW_S, RunPoller

    run = real_run(runs_root, name="old")
    old = time.time() - LIVE_WINDOW_S - 60  # finished long ago: only its directory is watched
    os.utime(Path(run.dir) / "run.json", (old, old))
    os.utime(run.dir, (old, old))
    poller = RunPoller([runs_root], kick=lambda: None)
    before = poller.signature()
    assert before == poller.signature()
    edit_run(run.dir, name="new")
    assert poller.signature() != before
