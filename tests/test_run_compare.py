"""The comparison behind `loupe diff` and the compare view: differences, goals, best per row."""

from __future__ import annotations

from pathlib import Path

import pytest

from viewer.data.run_compare import compare_runs, goal_of, run_labels
from viewer.data.runs_table import RunInfo


def run(name: str, config: dict | None = None, summary: dict | None = None, run_id: str | None = None) -> RunInfo:
    rid = run_id or f"2026-{name}"
    p = Path("/r/p") / rid
    return RunInfo(rid, "p", name, "finished", "", p, Path("/r"), p, config=config or {}, summary=summary or {})


def by_key(rows) -> dict:
    return {r.key: r for r in rows}


def test_config_differences_first_same_apart_and_numbers_by_value():
    a = run("a", {"lr": 0.1, "bs": 32, "opt": {"name": "adam", "beta": 0.9}, "flag": True, "n": 1})
    b = run("b", {"lr": 0.01, "bs": 32.0, "opt": {"name": "adam", "beta": 0.99}, "flag": 1, "extra": "x", "n": 1})
    c = compare_runs([a, b])
    assert [r.key for r in c.config_differ] == ["extra", "flag", "lr", "opt.beta"]
    assert [r.key for r in c.config_same] == ["bs", "n", "opt.name"]
    assert by_key(c.config_differ)["extra"].values == (None, "x")


def test_best_follows_definitions_then_names():
    defs = {"definitions": [{"name": "val/*", "goal": "maximize"}, {"name": "score", "summary": ["min"]}]}
    a = run("a", summary={"train/loss": 0.5, "val/wer": 0.3, "score": 3, "acc": 0.9, "lr": 0.1, "_step": 9})
    b = run("b", summary={"train/loss": 0.4, "val/wer": 0.2, "score": 5, "acc": 0.9, "lr": 0.2, "_step": 19})
    rows = by_key(compare_runs([a, b], [defs, {}]).summary)
    assert rows["train/loss"].best == {1} and rows["train/loss"].goal == "min"
    assert rows["val/wer"].best == {0}  # define_metric's maximize beats the name
    assert rows["score"].best == {0}  # summary="min" alone says lower is better
    assert rows["acc"].best == frozenset()  # a tie everywhere marks nothing
    assert rows["lr"].best == frozenset() and rows["lr"].goal is None
    assert "_step" not in rows  # internal keys are in the metadata instead
    assert by_key(compare_runs([a, b]).metadata)["steps"].values == (10, 20)


def test_aggregates_nonfinite_and_media_references():
    a = run("a", summary={"val/loss": {"min": 0.1, "max": 0.9}, "img": {"_type": "image-file", "path": "x.png"}})
    b = run("b", summary={"val/loss": {"min": "NaN", "max": 0.5}, "img": {"_type": "image-file", "path": "y.png"}})
    c = run("c", summary={"val/loss": {"min": 0.1, "max": 0.7}})
    rows = by_key(compare_runs([a, b, c]).summary)
    assert rows["val/loss.min"].best == {0, 2}  # ties are all marked; NaN never wins
    assert rows["val/loss.max"].best == {1}
    assert rows["img"].values == ("(image-file)", "(image-file)", None)


@pytest.mark.parametrize(
    "key, goal",
    [
        ("train/loss", "min"),
        ("val_error_rate", "min"),
        ("eval.acc.max", "max"),
        ("top1_accuracy", "max"),
        ("glossary", None),  # a word, not a substring
        ("epoch", None),
    ],
)
def test_goal_from_the_name(key, goal):
    assert goal_of(key) == goal


def test_labels_tell_same_named_runs_apart_and_one_run_is_refused():
    a, b = run("same", run_id="20260101-000000-aaaaaa"), run("same", run_id="20260101-000000-bbbbbb")
    assert run_labels([a, b]) == ["same (…aaaaaa)", "same (…bbbbbb)"]
    with pytest.raises(ValueError):
        compare_runs([a])
