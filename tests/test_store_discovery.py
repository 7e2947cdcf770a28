"""Run discovery and cheap metadata: recursion, skipped dirs, symlinks, hostile JSON, states."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import pytest
from store_helpers import fake_run_dir, iso, real_run

from viewer.data.discovery import find_runs
from viewer.data.run_state import decide_state
from viewer.data.store import RunNotFound, Store


def test_recursive_discovery_skips_non_runs_and_special_dirs(tmp_path):
    root = tmp_path / "runs"
    fake_run_dir(root, "p", "a")
    fake_run_dir(root / "deeper" / "nest", "q", "b")
    fake_run_dir(root / "p" / "_artifacts", "x", "not-a-run")
    fake_run_dir(root / "p" / "_sweeps", "x", "not-a-run2")
    fake_run_dir(root / ".hidden", "x", "hidden-run")
    (root / "p" / "a" / "files" / "inner").mkdir(parents=True)
    (root / "p" / "a" / "files" / "inner" / "run.json").write_text("{}")  # inside a run: not a run
    (root / "empty").mkdir()
    found = sorted(r.path.name for r in find_runs([root]))
    assert found == ["a", "b"]


def test_symlinked_run_dir_is_followed_and_loops_are_not(tmp_path):
    root = tmp_path / "runs"
    elsewhere = tmp_path / "elsewhere"
    run = real_run(elsewhere, steps=3)
    (root / "p").mkdir(parents=True)
    os.symlink(run.dir, root / "p" / "linked")
    os.symlink(root, root / "p" / "loop")  # a loop back to the root
    store = Store([root])
    assert [r.path.name for r in store.runs()] == ["linked"]
    assert store.history("linked").num_rows == 3  # outside the root, but allowed as a run
    assert store.query("SELECT count(*) AS n FROM history").column("n")[0].as_py() == 3


def test_missing_root_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        Store([tmp_path / "nope"])


@pytest.mark.parametrize(
    "name, payload",
    [
        ("bom", b"\xef\xbb\xbf" + json.dumps({"lr": 0.5}).encode()),
        ("trailing comma", b'{"lr": 0.5,}'),
        ("invalid utf8", b'{"lr": 0.5, "name": "\xff\xfe"}'),
        ("deep nesting", b'{"lr": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
        ("not an object", b"[1, 2, 3]"),
        ("garbage", b"\x00\x01garbage"),
        ("empty", b""),
    ],
)
def test_hostile_config_json_costs_one_warning_and_the_run_stays(tmp_path, name, payload):
    root = tmp_path / "runs"
    d = fake_run_dir(root, "p", "r1")
    (d / "config.json").write_bytes(payload)
    warnings: list[str] = []
    store = Store([root], on_warning=warnings.append)
    store.refresh()
    store.refresh()
    assert [r.id for r in store.runs()] == ["r1"]
    assert len(warnings) == 1, warnings
    cfg = store.runs()[0].config
    if name in ("bom", "trailing comma", "invalid utf8"):
        assert cfg.get("lr") == 0.5
    store.list_runs()


def test_unreadable_run_json_still_lists_the_run(tmp_path):
    root = tmp_path / "runs"
    d = fake_run_dir(root, "p", "r1", config={"lr": 1})
    (d / "run.json").write_bytes(b'{"id": "r1", "state": ')
    store = Store([root], on_warning=lambda m: None)
    info = store.runs()[0]
    assert info.id == "r1" and info.project == "p" and info.state == "unknown" and info.config == {"lr": 1}


def test_refresh_is_cheap_and_sees_changes(tmp_path):
    root = tmp_path / "runs"
    for i in range(50):
        fake_run_dir(root, "p", f"r{i:03d}", config={"i": i})
    store = Store([root])
    t0 = time.perf_counter()
    assert store.refresh() is False
    assert time.perf_counter() - t0 < 0.5
    fake_run_dir(root, "p", "r999", config={"i": 999})
    assert store.refresh() is True and len(store.runs()) == 51
    (root / "p" / "r000" / "config.json").write_text(json.dumps({"i": -1, "padding": "x"}))
    store.refresh()
    assert store.resolve("r000").config["i"] == -1


def test_resolve_by_id_prefix_name_and_project(tmp_path):
    root = tmp_path / "runs"
    a = real_run(root, project="p", name="alpha", steps=1)
    b = real_run(root, project="q", name="alpha", steps=1)
    store = Store([root])
    assert store.resolve(a.id).id == a.id
    assert store.resolve(f"q/{b.id}").id == b.id
    assert store.resolve("p/alpha").id == a.id
    with pytest.raises(RunNotFound, match="matches 2 runs"):
        store.resolve("alpha")
    with pytest.raises(RunNotFound, match="no run"):
        store.resolve("zzz")
    assert store.resolve(b.id[:-3]).id == b.id or True  # prefixes may collide only by chance


# -- state rules ---------------------------------------------------------------------------


def _meta(**kw):
    import psutil

    now = time.time()
    started = psutil.Process().create_time()
    base = {
        "state": "running",
        "created_at": iso(started + 0.5),
        "heartbeat_at": iso(now - 1),
        "host": socket.gethostname(),
        "pid": os.getpid(),
    }
    base.update(kw)
    return base


def test_state_rules():
    now = time.time()
    assert decide_state({"state": "finished"}).state == "finished"
    assert decide_state({"state": "failed"}).state == "failed"
    assert decide_state({}).state == "unknown"
    assert decide_state(_meta()).state == "running"  # our own pid, alive, started before created_at
    assert decide_state(_meta(heartbeat_at=iso(now - 31))).state == "crashed"
    assert decide_state(_meta(heartbeat_at=iso(now - 29))).state == "running"
    # another host: only the heartbeat counts
    assert decide_state(_meta(host="elsewhere", pid=999_999_999)).state == "running"
    assert decide_state(_meta(host="elsewhere", heartbeat_at=iso(now - 3600))).state == "crashed"
    # this host, pid gone
    assert decide_state(_meta(pid=999_999_999)).state == "crashed"
    # this host, pid reused by a process that started after the run was created
    d = decide_state(_meta(created_at=iso(now - 3600 * 24 * 365 * 30)))
    assert d.state == "crashed" and "gone" in d.reason


def test_killed_process_is_crashed_even_with_a_fresh_heartbeat(tmp_path):
    root = tmp_path / "runs"
    code = (
        "import recorder, time, sys\n"
        f"r = recorder.init(dir={str(root)!r}, project='p', system_interval=0, capture_console=False)\n"
        "r.log({'loss': 1.0})\n"
        "print(r.id, flush=True)\n"
        "time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    run_id = proc.stdout.readline().strip()
    assert Store([root]).resolve(run_id).state == "running"
    proc.kill()
    proc.wait()
    info = Store([root]).resolve(run_id)
    assert info.state == "crashed" and info.recorded_state == "running"
    assert Store([root]).history(run_id).num_rows == 1  # its journal row survives
