"""The `final` view: each run's final value of each metric, from its summary when the
recorder vouches for it (run.json `summary_final`, written at a clean finish), from its
history otherwise; the answers always equal a query over history itself."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

import recorder
from recorder import layout
from recorder.user_edits import edit_run
from viewer.data.store import Store

# Ground truth: the value at each run's last step where the metric was logged.
FROM_HISTORY = """
SELECT run_id, key, arg_max(value, _step) AS value
FROM (UNPIVOT (SELECT run_id, _step, COLUMNS(* EXCLUDE (run_id, _step, _timestamp, _runtime)) FROM history)
      ON COLUMNS(* EXCLUDE (run_id, _step)) INTO NAME key VALUE value)
GROUP BY run_id, key
"""


def _run(root: Path, name: str, steps: int = 6, finish: bool = True, **log_extra):
    run = recorder.init(dir=root, project="p", name=name, reinit="create_new", system_interval=0, capture_console=False)
    for s in range(steps):
        run.log({"loss": 1.0 / (s + 1), "acc": s / 10, **{k: v(s) for k, v in log_extra.items()}})
    if finish:
        run.finish()
    return run


def _run_json(run) -> dict:
    return json.loads((Path(run.dir) / layout.RUN_FILE).read_text())


def _final(store: Store) -> dict[tuple[str, str], tuple[float, str]]:
    rows = store.query("SELECT run_id, key, value, source FROM final").to_pylist()
    return {(r["run_id"], r["key"]): (r["value"], r["source"]) for r in rows}


def _truth(store: Store) -> dict[tuple[str, str], float]:
    return {(r["run_id"], r["key"]): r["value"] for r in store.query(FROM_HISTORY).to_pylist()}


def test_the_recorder_vouches_only_for_keys_whose_summary_is_the_last_value(tmp_path):
    run = recorder.init(dir=tmp_path, project="p", system_interval=0, capture_console=False)
    run.define_metric("acc", summary="max")
    for s in range(5):
        run.log({"loss": 1.0 / (s + 1), "acc": s / 10, "odd": float("nan") if s == 4 else 1.0, "msg": "hi"})
    run.log({"later": 3})
    run.summary["later"] = 7  # set by hand: no longer the logged value
    assert layout.SUMMARY_FINAL not in _run_json(run)  # nothing vouched for while running
    run.finish()
    # acc: an aggregate; odd: NaN (JSON cannot say it); msg: text; later: set by hand.
    assert _run_json(run)[layout.SUMMARY_FINAL] == ["loss"]
    assert _run_json(run)[layout.SUMMARY_FINAL_COMPLETE] is False
    plain = _run(tmp_path, "plain")
    assert _run_json(plain)[layout.SUMMARY_FINAL] == ["acc", "loss"]
    assert _run_json(plain)[layout.SUMMARY_FINAL_COMPLETE] is True
    edit_run(plain.dir, summary={"note": "not a metric"})  # no history key edited: still complete
    with Store([tmp_path]) as store:
        rows = store.query("SELECT id, final_from_summary FROM runs").to_pylist()
    assert {r["id"]: r["final_from_summary"] for r in rows} == {run.id: False, plain.id: True}


def test_final_values_equal_history_for_every_kind_of_run(tmp_path):
    plain = _run(tmp_path, "plain")
    by_hand = _run(tmp_path, "by_hand", finish=False)
    by_hand.summary["loss"] = -1.0
    by_hand.finish()
    aggregated = recorder.init(
        dir=tmp_path, project="p", name="agg", reinit="create_new", system_interval=0, capture_console=False
    )
    aggregated.define_metric("loss", summary="min")
    for s in range(4):
        aggregated.log({"loss": 5.0 - s, "acc": 0.5})
    aggregated.finish()
    edited = _run(tmp_path, "edited")
    edit_run(edited.dir, summary={"acc": 99.0})
    killed = _run(tmp_path, "killed")
    # As a kill leaves it: run.json still says running (a stale summary_final is ignored),
    # summary.json a second behind the last rows.
    rj = _run_json(killed)
    rj.update(state="running", heartbeat_at="2020-01-01T00:00:00.000000Z")
    (Path(killed.dir) / layout.RUN_FILE).write_text(json.dumps(rj))
    summary = json.loads((Path(killed.dir) / layout.SUMMARY_FILE).read_text())
    summary.update(loss=123.0)
    (Path(killed.dir) / layout.SUMMARY_FILE).write_text(json.dumps(summary))

    with Store([tmp_path]) as store:
        final, truth = _final(store), _truth(store)
    assert {k: v for k, (v, _) in final.items()} == pytest.approx(truth)
    source = {
        (name, key): final[(run.id, key)][1]
        for name, run in [
            ("plain", plain),
            ("by_hand", by_hand),
            ("agg", aggregated),
            ("edited", edited),
            ("killed", killed),
        ]
        for key in ("loss", "acc")
    }
    assert source == {
        ("plain", "loss"): "summary", ("plain", "acc"): "summary",
        ("by_hand", "loss"): "history", ("by_hand", "acc"): "summary",
        ("agg", "loss"): "history", ("agg", "acc"): "summary",
        ("edited", "loss"): "summary", ("edited", "acc"): "history",
        ("killed", "loss"): "history", ("killed", "acc"): "history",
    }  # fmt: skip


def _spoil_history(run) -> None:
    """The run's history parts turned to garbage: a query that read them would fail."""
    for part in (Path(run.dir) / layout.HISTORY_DIR).glob("*.parquet"):
        part.write_bytes(b"not parquet")


def test_a_vouched_run_is_answered_without_reading_its_history(tmp_path):
    vouched = _run(tmp_path, "vouched")
    other = _run(tmp_path, "other", steps=4, finish=False)  # a final loss of 1/4, above 1/6: no tie
    other.summary["loss"] = 0.0
    other.finish()
    with Store([tmp_path]) as store:
        expected = _final(store)
        _spoil_history(vouched)
        top = store.query(
            "SELECT r.name, f.value FROM final f JOIN runs r ON r.id = f.run_id "
            "WHERE f.key = 'loss' ORDER BY f.value DESC LIMIT 5"
        ).to_pylist()
    assert top == [
        {"name": "other", "value": expected[(other.id, "loss")][0]},
        {"name": "vouched", "value": expected[(vouched.id, "loss")][0]},
    ]
    assert expected[(other.id, "loss")] == (0.25, "history")


def test_runs_all_vouched_for_are_answered_from_summaries_beside_every_view(tmp_path):
    runs = [_run(tmp_path, "a"), _run(tmp_path, "b", steps=3)]
    with Store([tmp_path]) as store:
        _ = store.connection  # every view built, the part table with it
        for run in runs:
            _spoil_history(run)
        rows = store.query(
            "SELECT r.name, f.value, f.source FROM final f JOIN runs r ON r.id = f.run_id "
            "WHERE f.key = 'loss' ORDER BY r.name"
        ).to_pylist()
    assert rows == [
        {"name": "a", "value": pytest.approx(1 / 6), "source": "summary"},
        {"name": "b", "value": pytest.approx(1 / 3), "source": "summary"},
    ]


def test_a_live_run_is_answered_from_its_rows_so_far(tmp_path):
    live = _run(tmp_path, "live", steps=3, finish=False)
    try:
        time.sleep(0.05)
        with Store([tmp_path]) as store:
            assert _final(store)[(live.id, "loss")] == (pytest.approx(1 / 3), "history")
            assert store.query("SELECT final_keys FROM runs").to_pylist() == [{"final_keys": None}]
    finally:
        live.finish()
    with Store([tmp_path]) as store:
        assert _final(store)[(live.id, "loss")] == (pytest.approx(1 / 3), "summary")


def test_a_first_final_query_lists_only_runs_the_summary_does_not_answer_for(tmp_path, monkeypatch):
    from viewer.data import part_lists

    done = [_run(tmp_path, f"done{i}") for i in range(3)]
    by_hand = _run(tmp_path, "by_hand", finish=False)
    by_hand.summary["acc"] = 5.0
    by_hand.finish()
    listed: list[str] = []
    original = part_lists.part_table

    def counting(entries):
        entries = list(entries)
        listed.extend(run_id for run_id, _, _ in entries)
        return original(entries)

    monkeypatch.setattr(part_lists, "part_table", counting)
    with Store([tmp_path]) as store:  # no catalog yet: nothing listed before this query
        final = _final(store)
        assert listed == [by_hand.id]
        assert {k: v for k, (v, _) in final.items()} == pytest.approx(_truth(store))
    assert all(final[(r.id, "loss")][1] == "summary" for r in done)


def test_final_alone_builds_no_stream_view(tmp_path, monkeypatch):
    _run(tmp_path, "a")
    from viewer.data import view_connection

    built = []
    original = view_connection.ViewConnection._ensure_stream_views
    monkeypatch.setattr(
        view_connection.ViewConnection, "_ensure_stream_views", lambda self, con: built.append(1) or original(self, con)
    )
    with Store([tmp_path]) as store:
        assert store.query("SELECT count(*) AS n FROM final").to_pylist() == [{"n": 2}]
        assert built == []
        assert store.query("SELECT count(*) AS n FROM history").to_pylist() == [{"n": 6}]
        assert built == [1]
