"""`loupe tag|note|rename|rm|restore|gc|diff`: what each prints, what it changes, and its errors."""

from __future__ import annotations

import io
import json
import shutil
import time

import pytest
from store_helpers import fake_run_dir, iso, real_run

from recorder import layout
from recorder.user_edits import edit_run
from viewer.cli.main import main
from viewer.data.store import Store


@pytest.fixture(scope="module")
def template_root(tmp_path_factory):
    r = tmp_path_factory.mktemp("manage") / "runs"
    real_run(r, name="alpha", config={"lr": 0.1, "bs": 32, "opt": "adam"}, steps=5, tags=["base"], id="aaa111")
    real_run(r, name="beta", config={"lr": 0.001, "bs": 32, "opt": "adam"}, steps=3, id="aaa222")
    real_run(r, project="other", name="gamma", config={"lr": 0.01}, steps=2, id="bbb333")
    return r


@pytest.fixture
def root(template_root, tmp_path):
    r = tmp_path / "runs"
    shutil.copytree(template_root, r, symlinks=True)
    return r


def cli(capsys, *argv, stdin: str | None = None, monkeypatch=None):
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def shown(root, ref):
    return Store([root]).resolve(ref)


def test_tag_adds_and_removes_and_sql_sees_it_at_once(capsys, root):
    code, out, err = cli(capsys, "tag", "aaa1", "+best", "-base", "plain", "--root", str(root))
    assert code == 0 and err == ""
    assert out.strip() == "p/aaa111  tags: best, plain"
    code, out, _ = cli(
        capsys, "sql", "SELECT name, tags FROM runs WHERE id = 'aaa111'", "--root", str(root), "--format", "json"
    )
    assert json.loads(out) == [{"name": "alpha", "tags": ["best", "plain"]}]
    code, out, _ = cli(capsys, "tag", "aaa111", "--root", str(root))
    assert code == 0 and out.strip() == "p/aaa111  tags: best, plain"


def test_rename_and_note_by_name_and_project_prefix(capsys, root, monkeypatch):
    code, out, _ = cli(capsys, "rename", "other/bbb", "delta", "--root", str(root))
    assert code == 0 and "renamed gamma -> delta" in out
    assert shown(root, "bbb333").name == "delta"
    code, out, _ = cli(capsys, "note", "delta", "tried lr 0.01", "--root", str(root))
    assert code == 0 and shown(root, "bbb333").notes == "tried lr 0.01"
    code, out, _ = cli(capsys, "note", "delta", "--root", str(root))
    assert out == "tried lr 0.01\n"
    code, out, _ = cli(
        capsys, "note", "delta", "-", "--root", str(root), stdin="from\nstdin\n", monkeypatch=monkeypatch
    )
    assert code == 0 and shown(root, "bbb333").notes == "from\nstdin"
    code, _, _ = cli(capsys, "note", "delta", "", "--root", str(root))
    assert code == 0 and shown(root, "bbb333").notes == ""


def test_an_ambiguous_prefix_or_unknown_run_is_one_line_and_changes_nothing(capsys, root):
    code, out, err = cli(capsys, "tag", "aaa", "+x", "--root", str(root))
    assert code == 1 and out == ""
    assert err.startswith("loupe: error: 'aaa' matches 2 runs: p/aaa") and err.count("\n") == 1
    code, _, err = cli(capsys, "rename", "nope", "x", "--root", str(root))
    assert code == 1 and err == "loupe: error: no run matches 'nope'\n"
    assert not list(root.glob(f"*/*/{layout.EDITS_FILE}"))


def test_bad_tags_and_names_are_usage_errors(capsys, root):
    code, _, err = cli(capsys, "tag", "aaa111", "+a,b", "--root", str(root))
    assert code == 2 and "comma" in err and err.count("\n") == 1
    code, _, err = cli(capsys, "rename", "aaa111", " ", "--root", str(root))
    assert code == 2 and "cannot be empty" in err


def test_hostile_names_and_tags_print_as_plain_text(capsys, root):
    edit_run(root / "p" / "aaa111", name="\x1b]0;pwned\x07[bold]x[/bold]", add_tags=["\x1b[2Jt"])
    code, out, _ = cli(capsys, "tag", "aaa111", "--root", str(root))
    assert code == 0 and "\x1b" not in out and "\x07" not in out
    code, out, _ = cli(capsys, "diff", "aaa111", "aaa222", "--root", str(root))
    assert code == 0 and "\x1b" not in out and "[bold]x[/bold]" in out


def test_rm_asks_then_moves_to_the_trash_and_restore_brings_it_back(capsys, root, monkeypatch):
    run_dir = root / "p" / "aaa222"
    code, out, err = cli(capsys, "rm", "aaa2", "--root", str(root), stdin="n\n", monkeypatch=monkeypatch)
    assert code == 1 and run_dir.is_dir() and "nothing deleted" in err
    assert "p/aaa222  beta  finished" in out
    code, out, err = cli(capsys, "rm", "aaa2", "--root", str(root), stdin="", monkeypatch=monkeypatch)  # EOF is no
    assert code == 1 and run_dir.is_dir()
    code, out, _ = cli(capsys, "rm", "aaa2", "--root", str(root), stdin="y\n", monkeypatch=monkeypatch)
    assert code == 0 and not run_dir.exists()
    assert "undo with: loupe restore aaa222" in out
    assert [r.id for r in Store([root]).runs()] != [] and "aaa222" not in {r.id for r in Store([root]).runs()}
    code, out, _ = cli(capsys, "sql", "SELECT count(*) AS n FROM runs", "--root", str(root), "--format", "json")
    assert json.loads(out) == [{"n": 2}]

    code, out, _ = cli(capsys, "restore", "--root", str(root))
    assert code == 0 and "p/aaa222  beta  deleted" in out
    code, out, _ = cli(capsys, "restore", "aaa2", "--root", str(root))
    assert code == 0 and run_dir.is_dir() and shown(root, "aaa222").name == "beta"
    code, out, _ = cli(capsys, "restore", "--root", str(root))
    assert out == "the trash is empty\n"


def test_restore_refuses_to_overwrite_and_names_unknown_entries(capsys, root):
    cli(capsys, "rm", "aaa222", "--yes", "--root", str(root))
    real_run(root, name="beta-again", id="aaa222")  # the id is taken again meanwhile
    code, _, err = cli(capsys, "restore", "aaa222", "--root", str(root))
    assert code == 1 and "exists; move it away first" in err
    code, _, err = cli(capsys, "restore", "zzz", "--root", str(root))
    assert code == 1 and "no run matches 'zzz' in the trash" in err


def test_gc_trash_empties_it_for_good_after_asking(capsys, root, monkeypatch):
    cli(capsys, "rm", "aaa111", "aaa222", "-y", "--root", str(root))
    trash = root / layout.TRASH_DIR
    assert len([p for p in trash.iterdir() if p.is_dir()]) == 2
    code, _, err = cli(capsys, "gc", "--root", str(root))
    assert code == 2 and "--trash" in err
    code, out, _ = cli(capsys, "gc", "--trash", "--older-than", "1", "--root", str(root))
    assert code == 0 and out == "nothing that old in the trash\n"
    code, _, _ = cli(capsys, "gc", "--trash", "--root", str(root), stdin="no\n", monkeypatch=monkeypatch)
    assert code == 1 and len(list(trash.iterdir())) == 4
    code, out, _ = cli(capsys, "gc", "--trash", "--root", str(root), stdin="y\n", monkeypatch=monkeypatch)
    assert code == 0 and "deleted 2 runs from the trash" in out
    assert list(trash.iterdir()) == []
    assert [r.id for r in Store([root]).runs()] == ["bbb333"]


def test_rm_refuses_a_running_run_unless_forced(capsys, root):
    fake_run_dir(root, "p", "live1", state="running", heartbeat_age=0.5, created_at=iso(time.time()))
    assert shown(root, "live1").state == "running"
    code, out, err = cli(capsys, "rm", "live1", "aaa111", "--yes", "--root", str(root))
    assert code == 1 and "running" in err and "--force" in err
    assert (root / "p" / "live1").is_dir() and (root / "p" / "aaa111").is_dir()  # nothing deleted
    code, out, _ = cli(capsys, "rm", "live1", "--yes", "--force", "--root", str(root))
    assert code == 0 and not (root / "p" / "live1").exists()


def test_diff_table_marks_the_best_and_folds_same_config(capsys, root):
    code, out, err = cli(capsys, "diff", "alpha", "beta", "--root", str(root))
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split() == ["alpha", "beta"]
    assert "config: 1 of 3 keys differ (2 the same: --all lists them)" in lines
    lr = next(ln for ln in lines if ln.split()[:1] == ["lr"])
    assert lr.split() == ["lr", "0.1", "0.001"]
    loss = next(ln for ln in lines if ln.split()[:1] == ["loss"])
    assert loss.split() == ["loss", "0.2", "*", "0.333333"]  # alpha ran longer: lower loss
    assert not any(ln.split()[:1] == ["bs"] for ln in lines)
    code, out, _ = cli(capsys, "diff", "alpha", "beta", "--all", "--root", str(root))
    assert any(ln.split() == ["bs", "32", "32"] for ln in out.splitlines())


def test_diff_json_has_every_section(capsys, root):
    code, out, _ = cli(capsys, "diff", "aaa111", "aaa222", "bbb333", "--format", "json", "--root", str(root))
    assert code == 0
    data = json.loads(out)
    assert [r["id"] for r in data["runs"]] == ["aaa111", "aaa222", "bbb333"]
    assert {r["key"] for r in data["config"]["differ"]} == {"lr", "bs", "opt"}  # gamma lacks bs and opt
    loss = next(r for r in data["summary"] if r["key"] == "loss")
    assert loss["goal"] == "min" and loss["best"] == [0]
    meta = {r["key"]: r["values"] for r in data["metadata"]}
    assert meta["project"] == ["p", "p", "other"] and meta["steps"] == [5, 3, 2]


def test_diff_needs_two_runs(capsys, root):
    code, _, err = cli(capsys, "diff", "alpha", "aaa111", "--root", str(root))
    assert code == 2 and "at least two different runs" in err
