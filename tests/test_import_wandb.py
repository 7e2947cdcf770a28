"""`import_wandb` on runs made by the real wandb 0.31 offline: every value compared with what wandb wrote."""

from __future__ import annotations

import math
import shutil
import struct
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from import_sources import make_wandb_runs, plain_history, plain_records, plain_stats, plain_summary, run_wandb_script

pytest.importorskip("wandb")

from recorder import layout
from recorder.atomic_json import read_json
from recorder.importers import import_wandb, wandb_history
from recorder.importers.wandb_stats import MIB
from viewer.data.store import Store


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> dict[str, Path]:
    return make_wandb_runs(tmp_path_factory.mktemp("wandb-sources"))


def log_file(run_dir: Path) -> Path:
    return next(run_dir.glob("run-*.wandb"))


def only_run(root: Path) -> Path:
    (run,) = [p for project in root.iterdir() if project.is_dir() for p in project.iterdir() if layout.is_run_dir(p)]
    return run


def same(a, b) -> bool:
    return a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))


def test_finished_run_every_value_as_wandb_wrote_it(sources, tmp_path):
    src = sources["finished"]
    report = import_wandb([src], root=tmp_path / "runs")
    assert [o.status for o in report.outcomes] == ["imported"] and not report.failed
    run_dir = only_run(tmp_path / "runs")
    meta = read_json(run_dir / layout.RUN_FILE)
    assert meta["project"] == "imp" and run_dir.parent.name == "imp"
    assert (meta["name"], meta["group"], meta["job_type"], meta["notes"]) == (
        "finished-run",
        "grp",
        "train",
        "some notes",
    )
    assert meta["tags"] == ["t1", "t2"] and meta["state"] == "finished" and meta["exit_code"] == 0
    assert meta["source"]["tool"] == "wandb" and meta["source"]["id"] == src.name.rsplit("-", 1)[1]
    assert read_json(run_dir / layout.CONFIG_FILE) == {
        "lr": 0.001,
        "opt": {"name": "adam", "betas": [0.9, 0.99]},
        "layers": 3,
    }

    wrote = plain_history(log_file(src))
    assert len(wrote) == 60
    store = Store([tmp_path / "runs"])
    info = store.runs()[0]
    assert info.state == "finished"
    rows = store.history(info.id).sort_by("_step").to_pylist()
    columns = read_json(run_dir / layout.METRICS_FILE)["columns"]
    assert columns in ({"Loss": "Loss#2"}, {"loss": "loss#2"})  # case twins keep apart on disk
    for got, w in zip(rows, wrote, strict=True):
        assert got["_step"] == w["_step"] and got["_timestamp"] == w["_timestamp"] and got["_runtime"] == w["_runtime"]
        assert got["loss"] == w["loss"] and got["Loss"] == w["Loss"]
        assert got["count"] == w["count"] and got["val/acc"] == w["val/acc"]
        assert got["nested.a"] == w["nested"]["a"]
        for key in ("odd", "big"):
            assert same(got.get(key), w.get(key)) or (got.get(key) is None and key not in w)
    texts = {(r["_step"], r["key"]): r["value"] for r in store.text(info.id).to_pylist()}
    assert {s: v for (s, k), v in texts.items() if k == "note"} == {i: f"text {i}" for i in range(0, 60, 10)}

    summary = read_json(run_dir / layout.SUMMARY_FILE)
    wrote_summary = plain_summary(log_file(src))
    assert summary["best"] == 42 and summary["val/acc"] == wrote_summary["val/acc"] == {"max": 6 / 7}
    assert summary["Loss"] == wrote_summary["Loss"] == 59 and summary["_step"] == 59
    assert summary["note"] == "text 50" and summary["odd"] == "NaN" and summary["big"] == "Infinity"
    defs = read_json(run_dir / layout.METRICS_FILE)["definitions"]
    assert [(d["name"], d["summary"]) for d in defs] == [("val/acc", ["max"])]


def test_media_console_files_and_system_metrics(sources, tmp_path):
    src = sources["finished"]
    import_wandb([src], root=tmp_path / "runs")
    run_dir = only_run(tmp_path / "runs")
    store = Store([tmp_path / "runs"])
    run_id = store.runs()[0].id
    con = store.connection
    images = con.execute("SELECT _step, width, height, caption, file FROM images ORDER BY _step").fetchall()
    assert [(s, w, h, c) for s, w, h, c, _ in images] == [(i, 6, 4, f"c{i}") for i in range(0, 60, 10)]
    # The stored image is wandb's file, byte for byte.
    wandb_images = {p.name.split("_")[1]: p.read_bytes() for p in (src / "files" / "media" / "images").iterdir()}
    assert all(Path(f).read_bytes() == wandb_images[str(s)] for s, *_, f in images)
    hists = con.execute("SELECT _step, bins, counts FROM histograms ORDER BY _step").fetchall()
    assert hists == [(i, [0.0, 1.0, 2.0, 3.0], [1.0, 2.0, float(i)]) for i in range(0, 60, 10)]
    # wandb's files/ (requirements, media, console) come along.
    assert (run_dir / "files" / "requirements.txt").is_file()
    assert sorted(p.name for p in (run_dir / "files" / "media" / "images").iterdir()) == sorted(
        p.name for p in (src / "files" / "media" / "images").iterdir()
    )
    lines = (run_dir / layout.OUTPUT_LOG).read_text().splitlines()
    assert [ln[25:] for ln in lines if ln[25:].startswith("O ")] == [f"O step {i}" for i in range(0, 60, 20)]
    assert [ln[25:] for ln in lines if ln[25:].startswith("E ")] == [f"E warn {i}" for i in range(0, 60, 20)]
    # Stats records land in the system stream under Loupe's names, values as wandb wrote them.
    wrote = plain_stats(log_file(src))
    assert len(wrote) >= 3
    system = sorted(store.system(run_id).to_pylist(), key=lambda r: r["_timestamp"])
    assert [r["_timestamp"] for r in system] == [t for t, _ in wrote]
    for got, (_, w) in zip(system, wrote, strict=True):
        assert got["memory.percent"] == w["memory_percent"]
        assert got["memory.process_rss_mb"] == w["proc.memory.rssMB"]
        assert got["network.sent_mb"] == pytest.approx(w["network.sent"] / MIB)
        assert got.get("cpu.process_percent") == w.get("cpu")
        assert got["proc.cpu.threads"] == w["proc.cpu.threads"]  # unmapped names are kept


def test_failed_run_and_killed_run(sources, tmp_path):
    report = import_wandb([sources["failed"], sources["killed"]], root=tmp_path / "runs")
    assert sorted(o.state for o in report.outcomes) == ["crashed", "failed"]
    store = Store([tmp_path / "runs"])
    by_name = {r.name: r for r in store.runs()}
    assert by_name["failed-run"].state == "failed"
    assert read_json(by_name["failed-run"].path / layout.RUN_FILE)["exit_code"] == 1
    killed = by_name["killed-run"]
    assert killed.state == "crashed"
    # Every complete history record on disk is imported: steps 0..n-1, each as logged.
    wrote = plain_history(log_file(sources["killed"]))
    assert len(wrote) > 300
    rows = store.history(killed.id).sort_by("_step").to_pylist()
    assert [r["_step"] for r in rows] == list(range(len(wrote)))
    assert all(r["loss"] == 1.0 / (r["_step"] + 1) and r["count"] == r["_step"] for r in rows)
    outcome = next(o for o in report.outcomes if o.state == "crashed")
    assert outcome.steps == len(wrote)


def _copy_run(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest, symlinks=True)
    return dest


def test_torn_tail_imports_every_complete_record(sources, tmp_path):
    data = log_file(sources["finished"]).read_bytes()
    complete = len(plain_history(log_file(sources["finished"])))
    # Cut inside the last block, in the middle of a record: a writer killed mid-write.
    cut = len(data) - 100
    run = _copy_run(sources["finished"], tmp_path / "src" / sources["finished"].name)
    log_file(run).write_bytes(data[:cut])
    expected = len(plain_history(log_file(run)))
    assert 0 < expected <= complete
    report = import_wandb([run], root=tmp_path / "runs")
    (outcome,) = report.outcomes
    assert outcome.status == "imported" and outcome.state == "crashed" and outcome.steps == expected


def test_bad_files_are_skipped_with_one_line_and_the_batch_goes_on(sources, tmp_path):
    data = log_file(sources["finished"]).read_bytes()
    srcs = tmp_path / "src"
    corrupt = _copy_run(sources["finished"], srcs / "corrupt")
    middle = bytearray(data)
    assert len(data) > 32768  # more than one block: damage in the first is not a torn tail
    middle[3000:3016] = b"\xff" * 16
    log_file(corrupt).write_bytes(bytes(middle))
    version = _copy_run(sources["finished"], srcs / "version")
    log_file(version).write_bytes(data[:6] + b"\x07" + data[7:])
    garbage = srcs / "garbage" / "run-x.wandb"
    garbage.parent.mkdir()
    garbage.write_bytes(b"PK\x03\x04 not a wandb log at all")
    empty_file = srcs / "empty" / "run-y.wandb"
    empty_file.parent.mkdir()
    empty_file.write_bytes(b"")
    empty_dir = srcs / "nothing"
    empty_dir.mkdir()
    report = import_wandb([corrupt, version, garbage, empty_file, empty_dir, sources["failed"]], root=tmp_path / "runs")
    reasons = {
        Path(o.source).parent.name if o.source.endswith(".wandb") else Path(o.source).name: o.reason
        for o in report.failed
    }
    assert "corrupt record at byte" in reasons["corrupt"]
    assert reasons["version"] == "unknown wandb transaction log version 7 (this Loupe reads version 0)"
    assert reasons["garbage"] == "not a wandb transaction log (no ':W&B' header)"
    assert reasons["empty"].startswith("not a wandb transaction log: 0 bytes")
    assert reasons["nothing"] == "no wandb runs here (no run-*.wandb file)"
    assert all("\n" not in o.line for o in report.failed)
    assert [o.state for o in report.imported] == ["failed"]  # the good one went through
    # Nothing half-written is left behind: only the good run, no staging folders.
    project = tmp_path / "runs" / "imp"
    assert [p.name for p in project.iterdir()] == [report.imported[0].run_dir.name]


def test_import_again_updates_one_run_and_a_failed_reimport_keeps_it(sources, tmp_path):
    src = _copy_run(sources["finished"], tmp_path / "src" / sources["finished"].name)
    root = tmp_path / "runs"
    first = import_wandb([src], root=root)
    run_dir = first.outcomes[0].run_dir
    again = import_wandb([src], root=root)
    assert again.outcomes[0].status == "unchanged" and again.outcomes[0].run_dir == run_dir
    forced = import_wandb([src], root=root, force=True)
    assert forced.outcomes[0].status == "updated" and forced.outcomes[0].run_dir == run_dir
    assert [only_run(root)] == [run_dir]
    # Into another project: the run moves, it is not duplicated.
    moved = import_wandb([src], root=root, project="elsewhere")
    assert moved.outcomes[0].status == "updated" and only_run(root).parent.name == "elsewhere"
    # The source goes bad: the import fails and the earlier import stays as it was.
    before = {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    data = log_file(src).read_bytes()
    log_file(src).write_bytes(data[:7000] + b"\x00garbage" * 6000)
    broken = import_wandb([src], root=root, project="elsewhere")
    assert broken.failed and "corrupt record" in broken.failed[0].reason
    after = {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    assert after == before


def test_records_split_across_blocks(tmp_path):
    # A config bigger than a 32 KiB block is written as FIRST/MIDDLE/LAST pieces.
    src = run_wandb_script(
        tmp_path,
        "import sys, wandb\n"
        "run = wandb.init(project='big', dir=sys.argv[1], config={'blob': 'x' * 100_000, 'n': 1})\n"
        "for i in range(5):\n    wandb.log({'v': float(i)})\n"
        "wandb.finish()\n",
    )
    data = log_file(src).read_bytes()
    kinds = set()
    pos = 7
    while pos + 7 <= len(data):
        left = 32768 - pos % 32768
        if left < 7:
            pos += left
            continue
        _, length, kind = struct.unpack_from("<IHB", data, pos)
        if kind == 0:
            break
        kinds.add(kind)
        pos += 7 + length
    assert {2, 3, 4} <= kinds  # FIRST, MIDDLE, LAST
    assert any(r.WhichOneof("record_type") == "run" for r in plain_records(log_file(src)))
    report = import_wandb([src], root=tmp_path / "runs")
    assert not report.failed
    run_dir = report.outcomes[0].run_dir
    assert read_json(run_dir / layout.CONFIG_FILE) == {"blob": "x" * 100_000, "n": 1}
    assert report.outcomes[0].steps == 5


PLAIN_SCRIPT = """
import sys, wandb
run = wandb.init(project="plain", dir=sys.argv[1])
for i in range(3000):
    row = {"a": i * 0.5, "b": -i, "tiny": 1e-300 * (i + 1), "huge": 1.5e300 - i}
    if i % 3 == 0:
        row["c"] = i / 3
    if i >= 600:
        row["d"] = i * 2.0  # a key that a later batch brings in
    if i == 1400:
        row["odd"] = float("nan")  # its batch is read row by row
    if i == 1500:
        wandb.define_metric("late", summary="min")  # the rows after it go one by one
    if i >= 1500:
        row["late"] = 3000.0 - i
    wandb.log(row)
wandb.finish()
"""


@pytest.fixture(scope="module")
def plain_source(tmp_path_factory) -> Path:
    return run_wandb_script(tmp_path_factory.mktemp("wandb-plain"), PLAIN_SCRIPT)


def _history_matches(root: Path, wrote: list[dict]) -> None:
    store = Store([root])
    (info,) = store.runs()
    rows = store.history(info.id).sort_by("_step").to_pylist()
    assert len(rows) == len(wrote)
    for got, w in zip(rows, wrote, strict=True):
        got = {k: v for k, v in got.items() if v is not None and k != "run_id"}
        assert got.keys() == w.keys() and all(same(got[k], w[k]) for k in w)


@pytest.mark.parametrize("batch_rows", [None, 500])
def test_number_only_rows_are_imported_value_for_value(plain_source, tmp_path, monkeypatch, batch_rows):
    if batch_rows is not None:  # read in several batches, written as one part
        monkeypatch.setattr(wandb_history, "BATCH_ROWS", batch_rows)
    report = import_wandb([plain_source], root=tmp_path / "runs")
    (outcome,) = report.outcomes
    assert outcome.status == "imported" and outcome.state == "finished" and outcome.steps == 3000
    wrote = plain_history(log_file(plain_source))
    assert len(wrote) == 3000 and "c" not in wrote[1] and "late" in wrote[1500] and "d" in wrote[600]
    assert math.isnan(wrote[1400]["odd"])
    _history_matches(tmp_path / "runs", wrote)
    assert len(list((outcome.run_dir / layout.HISTORY_DIR).glob("*.parquet"))) == 1
    summary = read_json(outcome.run_dir / layout.SUMMARY_FILE)
    wrote_summary = plain_summary(log_file(plain_source))
    assert summary["late"] == wrote_summary["late"] == {"min": 1.0}
    assert {"a", "b", "c", "d", "tiny", "huge"} <= wrote_summary.keys() and summary["odd"] == "NaN"
    assert all(summary[k] == v for k, v in wrote_summary.items() if k not in ("_step", "_timestamp", "_runtime", "odd"))
    assert summary["_step"] == 2999


def test_number_only_rows_of_a_torn_log(plain_source, tmp_path):
    src = _copy_run(plain_source, tmp_path / "src" / plain_source.name)
    data = log_file(src).read_bytes()
    log_file(src).write_bytes(data[: len(data) * 2 // 5 + 5])  # mid-record, before the NaN and define_metric
    wrote = plain_history(log_file(src))
    assert 600 < len(wrote) < 1400
    (outcome,) = import_wandb([src], root=tmp_path / "runs").outcomes
    assert outcome.status == "imported" and outcome.state == "crashed" and outcome.steps == len(wrote)
    _history_matches(tmp_path / "runs", wrote)
