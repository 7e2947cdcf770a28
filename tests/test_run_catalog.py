"""The run catalog (viewer.data.run_catalog, run_table_cache): a cache of each root's runs
table that a second open trusts for runs that did not change, and never the truth."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import recorder
from recorder import layout
from tests.store_helpers import real_run
from viewer.data import discovery, run_table_cache
from viewer.data.run_catalog import CATALOG_DIR, catalog_file
from viewer.data.store import Store

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def trust_at_once(monkeypatch):
    # Rows are trusted only when the directory's mtime is 2 s older than the check; the
    # tests would otherwise sleep that long before each second open.
    monkeypatch.setattr(run_table_cache, "FRESH_NS", 0)


@pytest.fixture
def reads(monkeypatch):
    """Run directories whose sidecars were read, in order."""
    seen: list[str] = []
    original = discovery.MetadataCache.read

    def counting(self, run_dir):
        seen.append(Path(run_dir).name)
        return original(self, run_dir)

    monkeypatch.setattr(discovery.MetadataCache, "read", counting)
    return seen


def _rows(store: Store) -> list[dict]:
    table = store.list_runs()
    return sorted(table.to_pylist(), key=lambda r: r["id"])


def _scan_without_catalog(root: Path, monkeypatch) -> list[dict]:
    monkeypatch.setenv("LOUPE_NO_CATALOG", "1")
    try:
        with Store([root]) as store:
            return _rows(store)
    finally:
        monkeypatch.delenv("LOUPE_NO_CATALOG")


def test_second_open_reads_only_the_run_that_changed(tmp_path, trust_at_once, reads):
    runs = [real_run(tmp_path, name=f"r{i}", config={"lr": 0.1 * (i + 1)}) for i in range(3)]
    with Store([tmp_path]) as first:
        assert len(first.runs()) == 3
    assert catalog_file(tmp_path) == tmp_path / CATALOG_DIR / "catalog-v3.arrow"
    assert catalog_file(tmp_path).is_file()
    reads.clear()
    with Store([tmp_path]) as second:
        assert reads == []  # all three came from the catalog
        assert sorted(r.name for r in second.runs()) == ["r0", "r1", "r2"]
    api = recorder.Api(root=tmp_path)
    edited = api.run(f"p/{runs[1].id}")
    edited.name, edited.tags = "renamed", ["best"]
    edited.update()
    reads.clear()
    with Store([tmp_path]) as third:
        assert reads == [Path(runs[1].dir).name]
        row = third.list_runs(filter=f"id = '{runs[1].id}'").to_pylist()[0]
        assert row["name"] == "renamed" and row["tags"] == ["best"]


def test_catalog_rows_equal_a_scan_without_it(tmp_path, trust_at_once, monkeypatch):
    real_run(tmp_path, name="a", config={"x": 1, "nested": {"k": "v"}})
    with Store([tmp_path]):
        pass
    # A run whose config.x is a float widens the column; one that is a string makes it text.
    real_run(tmp_path, name="b", config={"x": 0.5})
    with Store([tmp_path]) as store:
        assert store.list_runs().schema.field("config.x").type == "double"
        assert _rows(store) == _scan_without_catalog(tmp_path, monkeypatch)
    real_run(tmp_path, name="c", config={"x": "big"})
    with Store([tmp_path]) as store:
        assert store.list_runs().schema.field("config.x").type == "string"
        assert _rows(store) == _scan_without_catalog(tmp_path, monkeypatch)


def test_deleting_the_catalog_loses_nothing(tmp_path, trust_at_once, monkeypatch):
    for i in range(3):
        real_run(tmp_path, name=f"r{i}")
    with Store([tmp_path]) as store:
        before = _rows(store)
    for f in (tmp_path / CATALOG_DIR).iterdir():
        f.unlink()
    (tmp_path / CATALOG_DIR).rmdir()
    with Store([tmp_path]) as store:
        assert _rows(store) == before


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty", "other_root"])
def test_a_damaged_catalog_is_rebuilt_with_one_warning(tmp_path, trust_at_once, monkeypatch, damage):
    for i in range(2):
        real_run(tmp_path, name=f"r{i}")
    with Store([tmp_path]) as store:
        expected = _rows(store)
    path = catalog_file(tmp_path)
    data = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        path.write_bytes(os.urandom(len(data)))
    elif damage == "empty":
        path.write_bytes(b"")
    else:  # a catalog copied from another root
        other = tmp_path.parent / (tmp_path.name + "-other")
        real_run(other, name="elsewhere")
        with Store([other]):
            pass
        path.write_bytes(catalog_file(other).read_bytes())
    warnings: list[str] = []
    with Store([tmp_path], on_warning=warnings.append) as store:
        assert _rows(store) == expected
    assert len(warnings) == 1 and "run catalog" in warnings[0] and "rebuilding" in warnings[0]
    warnings.clear()
    with Store([tmp_path], on_warning=warnings.append) as store:  # rebuilt: no warning now
        assert _rows(store) == expected
    assert warnings == []


class _FullDisk:
    """A file that takes `room` bytes, then fails as a full disk does."""

    def __init__(self, path: str, room: int) -> None:
        self._f = open(path, "wb")
        self._room = room
        self.closed = False

    def write(self, data) -> int:
        if len(data) > self._room:
            raise OSError(28, "No space left on device")
        self._room -= len(data)
        return self._f.write(data)

    def flush(self) -> None:
        self._f.flush()

    def tell(self) -> int:
        return self._f.tell()

    def close(self) -> None:
        self._f.close()
        self.closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def test_a_catalog_save_that_fills_the_disk_keeps_the_old_one_and_leaves_no_temp_file(
    tmp_path, trust_at_once, monkeypatch
):
    import pyarrow as pa

    for i in range(3):
        real_run(tmp_path, name=f"r{i}")
    with Store([tmp_path]) as store:
        _rows(store)
    path = catalog_file(tmp_path)
    saved = path.read_bytes()
    real_run(tmp_path, name="later")
    monkeypatch.setattr(pa, "OSFile", lambda p, mode: _FullDisk(p, room=len(saved) // 3))
    warnings: list[str] = []
    with Store([tmp_path], on_warning=warnings.append) as store:
        assert len(_rows(store)) == 4
    assert [w for w in warnings if "cannot save the run catalog" in w], warnings
    assert path.read_bytes() == saved, "the old catalog was kept whole"
    assert not [p for p in path.parent.iterdir() if p.name.startswith(layout.TMP_PREFIX)], "a temporary file was left"
    monkeypatch.undo()
    with Store([tmp_path]) as store:
        assert [r["name"] for r in _rows(store)].count("later") == 1


def test_read_only_root_keeps_its_catalog_in_the_user_cache(tmp_path, trust_at_once, monkeypatch, reads):
    root = tmp_path / "root"
    real_run(root, name="r")
    cache = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    real_access = os.access
    monkeypatch.setattr(
        "viewer.data.run_catalog.os.access", lambda p, m: False if Path(p) == root else real_access(p, m)
    )
    with Store([root]):
        pass
    assert not (root / CATALOG_DIR).exists()
    assert len(list((cache / "loupe" / "catalogs").glob("*.arrow"))) == 1
    reads.clear()
    with Store([root]) as store:
        assert reads == [] and [r.name for r in store.runs()] == ["r"]


def test_a_running_run_is_read_again_on_every_open(tmp_path, trust_at_once, reads):
    run = real_run(tmp_path, name="live", finish=False)
    try:
        with Store([tmp_path]):
            pass
        run.log({"loss": 0.01})
        run.summary["best"] = 7
        reads.clear()
        with Store([tmp_path]) as store:
            assert reads == [Path(run.dir).name]
            assert store.runs()[0].state == "running"
    finally:
        run.finish()
    with Store([tmp_path]) as store:
        info = store.runs()[0]
        assert info.state == "finished" and info.summary["best"] == 7


def test_an_edit_in_place_is_caught_by_verify(tmp_path, trust_at_once):
    run = real_run(tmp_path, name="r", config={"lr": 0.1})
    with Store([tmp_path]):
        pass
    config = Path(run.dir) / "config.json"
    mtime = os.stat(Path(run.dir)).st_mtime_ns
    with open(config, "r+b") as f:  # an editor writing in place: the directory's mtime stays
        f.write(json.dumps({"lr": 0.2}).encode())
        f.truncate()
    os.utime(Path(run.dir), ns=(mtime, mtime))
    with Store([tmp_path]) as store:
        assert store.runs()[0].config == {"lr": 0.1}  # trusted by mtime
        assert store.verify() is True
        assert store.runs()[0].config == {"lr": 0.2}


def test_history_views_come_from_the_kept_listing_and_match_the_files(tmp_path, trust_at_once, monkeypatch):
    runs = [real_run(tmp_path, name=f"r{i}", steps=5 + i) for i in range(3)]
    q = "SELECT run_id, count(*) AS n, sum(loss) AS s FROM history GROUP BY run_id ORDER BY run_id"
    with Store([tmp_path]) as store:
        first = store.query(q).to_pylist()
    listed: list[str] = []
    original = run_table_cache.RunTableCache.remember_streams

    def remembering(self, path, listing):
        listed.append(path)
        return original(self, path, listing)

    monkeypatch.setattr(run_table_cache.RunTableCache, "remember_streams", remembering)
    with Store([tmp_path]) as store:
        assert store.query(q).to_pylist() == first
    assert listed == []  # every run's parts came from the catalog
    steps = {r.id: 5 + i for i, r in enumerate(runs)}
    assert {r["run_id"]: r["n"] for r in first} == steps


def _writer(root: str, index: int) -> None:
    run = recorder.init(dir=root, project="p", name=f"w{index}", config={"i": index}, reinit="create_new")
    for step in range(20):
        run.log({"loss": 1.0 / (step + 1)})
    run.summary["writer"] = index
    run.finish()


@pytest.mark.slow
def test_viewers_and_64_writers_at_once_never_see_a_wrong_row(tmp_path, monkeypatch):
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), i)) for i in range(64)]
    for p in procs:
        p.start()
    warnings: list[str] = []
    stop = threading.Event()

    def viewer() -> None:
        while not stop.is_set():
            with Store([tmp_path], on_warning=warnings.append) as store:
                for info in store.runs():
                    # A finished row carries the summary its writer wrote before finishing.
                    if info.state == "finished":
                        assert info.summary.get("writer") == info.config.get("i")

    viewers = [threading.Thread(target=viewer) for _ in range(2)]
    for v in viewers:
        v.start()
    for p in procs:
        p.join(120)
    stop.set()
    for v in viewers:
        v.join(60)
    assert all(p.exitcode == 0 for p in procs)
    assert not any("catalog" in w for w in warnings), warnings
    time.sleep(run_table_cache.FRESH_NS / 1e9 + 0.1)  # let every row become trustworthy
    with Store([tmp_path]):
        pass
    with Store([tmp_path]) as store:
        rows = _rows(store)
        assert len(rows) == 64 and {r["state"] for r in rows} == {"finished"}
    assert rows == _scan_without_catalog(tmp_path, monkeypatch)


NO_PANDAS = """
import sys, runpy
sys.argv = ["loupe"] + sys.argv[1:]
from viewer.cli.main import main
try:
    main()
except SystemExit:
    pass
assert "pandas" not in sys.modules, "pandas was imported"
"""


@pytest.mark.parametrize(
    "args", [["ls"], ["sql", "SELECT count(*) FROM runs"], ["sql", "SELECT count(*) FROM history"], ["show", "r0"]]
)
def test_cli_paths_never_import_pandas(tmp_path, args):
    for i in range(2):
        real_run(tmp_path, name=f"r{i}", config={"lr": 0.1})
    env = dict(os.environ, LOUPE_DIR=str(tmp_path), PYTHONPATH=str(REPO))
    for _ in range(2):  # without a catalog, then with it
        out = subprocess.run([sys.executable, "-c", NO_PANDAS, *args], env=env, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr


def test_connect_never_imports_pandas(tmp_path):
    real_run(tmp_path, name="r", config={"lr": 0.1})
    code = (
        "import sys, viewer; con = viewer.connect(sys.argv[1]); "
        "assert con.sql('SELECT count(*) FROM runs').fetchall() == [(1,)]; "
        "assert 'pandas' not in sys.modules"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO))
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_live_rescans_write_the_catalog_at_most_every_few_seconds_and_close_writes_the_rest(
    tmp_path, trust_at_once, reads
):
    real_run(tmp_path, name="first")
    store = Store([tmp_path])  # the first save happens at once: a cold scan is the costly one
    saved = catalog_file(tmp_path).stat().st_mtime_ns
    real_run(tmp_path, name="second")
    assert store.refresh()  # the run list changed ...
    assert sorted(r.name for r in store.runs()) == ["first", "second"]
    assert catalog_file(tmp_path).stat().st_mtime_ns == saved  # ... but the file waits
    store.close()
    assert catalog_file(tmp_path).stat().st_mtime_ns != saved
    reads.clear()
    with Store([tmp_path]) as third:
        assert sorted(r.name for r in third.runs()) == ["first", "second"]
    assert reads == []  # close() wrote the second run into the catalog


def test_a_running_run_read_again_in_place_keeps_every_row_right(tmp_path, trust_at_once, monkeypatch):
    # Each live rescan re-reads a running run and puts its row back where it was; the
    # table must stay what a scan without the catalog sees (order, values, new columns).
    real_run(tmp_path, name="older")
    live = real_run(tmp_path, name="live", finish=False)
    real_run(tmp_path, name="newest")
    store = Store([tmp_path])
    try:
        put_back = []
        original = run_table_cache.RunTableCache._replace_in_place

        def spy(self, *args):
            result = original(self, *args)
            if self is store._cache:  # not the scans without a catalog below
                put_back.append(result is not None)
            return result

        monkeypatch.setattr(run_table_cache.RunTableCache, "_replace_in_place", spy)
        for i in range(3):
            live.summary["best"] = i
            live.summary[f"new_key_{i}"] = "text" if i == 2 else i  # a new column, then a string
            deadline = time.monotonic() + 10
            while True:  # the recorder writes summary.json in the background
                store.refresh()
                row = next(r for r in store.list_runs().to_pylist() if r["name"] == "live")
                if row.get("summary.best") == i or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            assert row["summary.best"] == i
            assert _rows(store) == _scan_without_catalog(tmp_path, monkeypatch)
        assert put_back and all(put_back)  # the rows went back in place each time
        assert [r.name for r in store.runs()] == ["newest", "live", "older"]
    finally:
        live.finish()
        store.close()
