"""Lineage and contents queried through DuckDB (viewer.data.artifact_views), and the CLI."""

from __future__ import annotations

import argparse
import io
import os
import time
from pathlib import Path

import duckdb
import pytest
from conftest import make_run

from recorder.artifacts import Artifact
from viewer.cli import artifact_commands as artifacts_cli
from viewer.data import artifact_views


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def lineage(runs_root, tmp_path):
    """producer logs ds v0, v1 (v1 'best') and model v0; two consumers use ds; model linked."""
    producer = make_run(runs_root, "p")
    for i in range(2):
        art = Artifact("ds", type="dataset", description=f"split {i}", metadata={"rows": i})
        art.add_file(_write(tmp_path / f"ds{i}" / "train.csv", f"rows {i}"), name="train.csv")
        art.add_file(_write(tmp_path / "common.txt", "same"), name="common.txt")
        producer.log_artifact(art, aliases=["best"] if i else None)
    model = Artifact("model", type="model")
    model.add_reference(_write(tmp_path / "weights.bin", "w").as_uri())
    producer.log_artifact(model)
    producer.link_artifact(model, "model-registry/prod", aliases=["production"])
    producer.finish()
    consumers = []
    for alias in ("ds:best", "ds:v0"):
        c = make_run(runs_root, "p")
        c.use_artifact(alias)
        c.finish()
        consumers.append(c)
    return producer, consumers


def test_views_answer_lineage_questions_in_sql(lineage, runs_root):
    producer, (c1, c2) = lineage
    con = duckdb.connect()
    artifact_views.register(con, [runs_root])
    rows = con.execute(
        "SELECT name, version, type, aliases, producer_run_id, description, metadata "
        "FROM artifacts ORDER BY name, version"
    ).fetchall()
    assert rows == [
        ("ds", 0, "dataset", [], producer.id, "split 0", '{"rows":0}'),
        ("ds", 1, "dataset", ["latest", "best"], producer.id, "split 1", '{"rows":1}'),
        ("model", 0, "model", ["latest"], producer.id, None, "{}"),
    ]
    usage = con.execute(
        "SELECT name, version, run_id, role FROM artifact_usage ORDER BY name, version, role, run_id"
    ).fetchall()
    assert usage == [
        ("ds", 0, c2.id, "input"),
        ("ds", 0, producer.id, "output"),
        ("ds", 1, c1.id, "input"),
        ("ds", 1, producer.id, "output"),
        ("model", 0, producer.id, "output"),
    ]
    # Which runs consumed what the producer made?
    consumers = con.execute(
        "SELECT DISTINCT i.run_id FROM artifact_usage o JOIN artifact_usage i USING (project, name, version) "
        "WHERE o.role = 'output' AND o.run_id = ? AND i.role = 'input' ORDER BY 1",
        [producer.id],
    ).fetchall()
    assert consumers == sorted([(c1.id,), (c2.id,)])
    files = con.execute(
        "SELECT name, version, path, size, ref IS NOT NULL FROM artifact_files ORDER BY name, version, path"
    ).fetchall()
    assert files == [
        ("ds", 0, "common.txt", 4, False),
        ("ds", 0, "train.csv", 6, False),
        ("ds", 1, "common.txt", 4, False),
        ("ds", 1, "train.csv", 6, False),
        ("model", 0, "weights.bin", 1, True),
    ]
    # common.txt is the same object in both versions.
    assert con.execute("SELECT count(DISTINCT digest) FROM artifact_files WHERE path = 'common.txt'").fetchone() == (1,)
    links = con.execute(
        "SELECT registry, collection, version, aliases, source_name, source_version FROM artifact_links"
    ).fetchall()
    assert links == [("model-registry", "prod", 0, ["latest", "production"], "model", 0)]
    assert con.execute("SELECT typeof(created_at) FROM artifacts LIMIT 1").fetchone()[0].startswith("TIMESTAMP")


def test_views_work_inside_the_locked_sandbox_and_skip_damaged_versions(lineage, runs_root):
    bad = runs_root / "p" / "_artifacts" / "collections" / "ds" / "v0.json"
    os.chmod(bad, 0o644)
    bad.write_text("{ not json")
    con = duckdb.connect()
    con.execute(f"SET allowed_directories=['{runs_root}']")
    con.execute("SET enable_external_access=false")
    con.execute("SET lock_configuration=true")
    artifact_views.register(con, [runs_root])
    assert con.execute("SELECT name, version FROM artifacts ORDER BY 1, 2").fetchall() == [("ds", 1), ("model", 0)]
    # Called again: refreshed, not duplicated.
    artifact_views.register(con, [runs_root])
    assert con.execute("SELECT count(*) FROM artifacts").fetchone() == (2,)


def test_views_of_an_empty_root(tmp_path):
    con = duckdb.connect()
    artifact_views.register(con, [tmp_path / "nothing"])
    for view in ("artifacts", "artifact_files", "artifact_usage", "artifact_links"):
        assert con.execute(f"SELECT count(*) FROM {view}").fetchone() == (0,)


# -- CLI ---------------------------------------------------------------------------------------
def cli(*argv: str) -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="loupe")
    artifacts_cli.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["artifacts", *argv])
    buf = io.StringIO()
    import contextlib

    with contextlib.redirect_stdout(buf):
        code = args.func(args)
    return code, buf.getvalue()


def test_cli_ls_show_download(lineage, runs_root, tmp_path):
    producer, _ = lineage
    code, out = cli("ls", "--root", str(runs_root))
    assert code == 0 and "p/ds" in out and "p/model" in out and "best" in out
    code, out = cli("ls", "p/ds", "--root", str(runs_root))
    assert code == 0 and "v0" in out and "latest,best" in out
    code, out = cli("ls", "--registry", "--root", str(runs_root))
    assert "model-registry/prod" in out and "p/model:v0" in out
    code, out = cli("show", "p/ds:best", "--root", str(runs_root))
    assert code == 0 and "p/ds:v1" in out and "train.csv" in out and producer.id in out
    code, out = cli("download", "p/ds:v0", "--root", str(runs_root), "--dir", str(tmp_path / "dl"))
    assert code == 0 and (tmp_path / "dl" / "train.csv").read_text() == "rows 0"
    assert cli("show", "p/nope", "--root", str(runs_root))[0] == 1
    assert cli("show", "../etc:latest", "--root", str(runs_root))[0] == 1


def test_cli_escapes_terminal_sequences(runs_root, tmp_path):
    run = make_run(runs_root, "p")
    art = Artifact("ds", type="t", description="\x1b]0;owned\x07 evil")
    art.add_file(_write(tmp_path / "f", "x"))
    run.log_artifact(art)
    run.finish()
    _, out = cli("show", "p/ds", "--root", str(runs_root))
    assert "\x1b" not in out and "\\x1b" in out


def test_gc_removes_only_unreferenced_objects(lineage, runs_root):
    obj_dir = runs_root / "p" / "_artifacts" / "objects"
    before = {p for p in obj_dir.rglob("*") if p.is_file()}
    # An orphan (as left by a crash after storing, before publishing) and a stale temp file.
    from recorder.artifacts.object_store import ObjectStore

    orphan_digest, _ = ObjectStore(obj_dir.parent).put_bytes(b"orphan")
    orphan = ObjectStore(obj_dir.parent).path(orphan_digest)
    stale_tmp = obj_dir / ".tmp-123-abc"
    stale_tmp.write_bytes(b"half")
    fresh_orphan_digest, _ = ObjectStore(obj_dir.parent).put_bytes(b"being logged right now")
    old = time.time() - 7200
    for p in (*before, orphan, stale_tmp):
        os.utime(p, (old, old), follow_symlinks=False)
    code, out = cli("gc", "--root", str(runs_root))
    assert code == 0 and "would remove 2 object(s)" in out and orphan_digest in out
    assert orphan.exists() and stale_tmp.exists()  # dry run by default
    code, out = cli("gc", "--root", str(runs_root), "--yes")
    assert code == 0 and "removed 2 object(s)" in out
    assert not orphan.exists() and not stale_tmp.exists()
    assert ObjectStore(obj_dir.parent).has(fresh_orphan_digest)  # inside the grace period
    assert before <= {p for p in obj_dir.rglob("*") if p.is_file()}
    # Everything still downloads.
    import recorder

    for spec in ("p/ds:v0", "p/ds:v1"):
        recorder.Api(runs_root).artifact(spec).verify()


def test_gc_refuses_when_a_manifest_is_unreadable(lineage, runs_root):
    obj_dir = runs_root / "p" / "_artifacts" / "objects"
    old = time.time() - 7200
    for p in obj_dir.rglob("*"):
        os.utime(p, (old, old))
    bad = runs_root / "p" / "_artifacts" / "collections" / "ds" / "v1.json"
    os.chmod(bad, 0o644)
    bad.write_text("garbage")
    count = len([p for p in obj_dir.rglob("*") if p.is_file()])
    code, _ = cli("gc", "--root", str(runs_root), "--yes", "--grace", "0")
    assert code == 0
    assert len([p for p in obj_dir.rglob("*") if p.is_file()]) == count


def test_wired_into_the_loupe_command(lineage, runs_root, capsys):
    from viewer.cli import main as loupe_cli

    assert loupe_cli.main(["artifacts", "ls", "-r", str(runs_root)]) == 0
    assert "p/ds" in capsys.readouterr().out
    assert (
        loupe_cli.main(
            ["sql", "SELECT name, version FROM artifacts ORDER BY 1, 2", "-r", str(runs_root), "--format", "csv"]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "ds,0" in out and "model,0" in out
