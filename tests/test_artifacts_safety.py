"""Hostile names and paths, symlinks, FIFOs and loops in add_dir, hostile manifests."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest
from conftest import make_run

import recorder
from recorder.artifacts import Artifact
from recorder.artifacts.artifact_names import check_entry_path

HOSTILE_PATHS = {
    "dotdot": ("../escape.txt", "'..'"),
    "dotdot-inner": ("a/../../escape.txt", "'..'"),
    "dotdot-only": ("..", "'..'"),
    "absolute": ("/etc/passwd", "absolute"),
    "backslash": ("a\\..\\b.txt", "backslash"),
    "windows-drive": ("C:/x.txt", "drive-letter"),
    "nul": ("a\0b", "NUL"),
    "newline": ("a\nb", "newline"),
    "carriage-return": ("a\rb", "newline"),
    "escape": ("\x1b]0;pwned\x07.txt", "escape"),
    "control": ("a\x01b", "control character"),
    "c1-control": ("a\x9bb", "control character"),
    "long-component": ("d/" + "x" * 256, "more than 255"),
    "long-utf8-component": ("é" * 128, "more than 255"),
    "empty": ("", "empty"),
    "only-slashes": ("//", "absolute"),
}


@pytest.fixture
def run(runs_root):
    r = make_run(runs_root, "p")
    yield r
    r.finish()


@pytest.fixture
def src(tmp_path) -> Path:
    p = tmp_path / "src.txt"
    p.write_text("content")
    return p


@pytest.mark.parametrize("bad,reason", HOSTILE_PATHS.values(), ids=list(HOSTILE_PATHS))
def test_hostile_entry_paths_are_refused_everywhere(bad, reason, src, tmp_path):
    art = Artifact("ok", type="t")
    with pytest.raises(ValueError, match=reason):
        art.add_file(src, name=bad)
    with pytest.raises(ValueError, match=reason), art.new_file(bad):
        pass
    with pytest.raises(ValueError, match=reason):
        art.add_reference(src.as_uri(), name=bad)
    assert art.files() == []


def test_a_component_of_exactly_255_bytes_is_fine(src):
    art = Artifact("ok", type="t")
    art.add_file(src, name="d/" + "x" * 255)
    assert check_entry_path("./a//b/") == "a/b"


@pytest.mark.parametrize(
    "bad", ["../x", "a/b", "/x", "a\\b", "a\nb", "\x1b[2J", "a\0", "..", ".", "x" * 129, "-flag", "a b", ""]
)
def test_hostile_artifact_names_types_and_aliases(bad, run, src):
    with pytest.raises(ValueError):
        Artifact(bad, type="t")
    with pytest.raises(ValueError):
        Artifact("ok", type=bad)
    art = Artifact("ok", type="t")
    art.add_file(src)
    with pytest.raises(ValueError):
        run.log_artifact(art, aliases=[bad])
    if bad != "a/b":  # a/b:latest is project/name
        with pytest.raises(ValueError):
            run.use_artifact(f"{bad}:latest")
    with pytest.raises(ValueError):
        run.use_artifact(f"ok:{bad}")
    if bad != "a/b":  # registry/a/b is entity/registry/collection
        with pytest.raises(ValueError):
            run.link_artifact(art, f"registry/{bad}")


def test_hostile_file_names_inside_add_dir_are_refused(tmp_path):
    for name in ("new\nline.txt", "back\\slash.txt", "esc\x1b[31m.txt"):
        d = tmp_path / f"d{abs(hash(name))}"
        d.mkdir()
        (d / "fine.txt").write_text("ok")
        (d / name).write_text("x")
        art = Artifact("ok", type="t")
        with pytest.raises(ValueError, match="found in"):
            art.add_dir(d)
        assert art.files() == []  # nothing half-added


def test_add_dir_does_not_follow_symlinks_out_and_skips_loops(tmp_path, run):
    d = tmp_path / "data"
    (d / "sub").mkdir(parents=True)
    (d / "a.txt").write_text("a")
    (d / "sub" / "b.txt").write_text("b")
    os.symlink("/etc/passwd", d / "passwd")  # file outside
    os.symlink("/etc", d / "etc")  # folder outside
    os.symlink("..", d / "sub" / "parent")  # loop: points at an ancestor inside
    os.symlink(".", d / "self")  # loop: itself
    os.symlink("../a.txt", d / "sub" / "alias.txt")  # file inside: kept
    os.symlink("sub", d / "sublink")  # folder inside, not a loop: walked
    os.symlink(tmp_path / "nowhere", d / "dangling")
    outside = tmp_path / "secret.txt"
    outside.write_text("secret")
    os.symlink("../secret.txt", d / "sneaky.txt")  # relative escape
    art = Artifact("ds", type="dataset")
    art.add_dir(d)
    paths = [e.path for e in art.files()]
    assert paths == ["a.txt", "sub/alias.txt", "sub/b.txt", "sublink/alias.txt", "sublink/b.txt"]
    reasons = {s["path"]: s["reason"] for s in art.skipped}
    assert "outside" in reasons["passwd"] and "outside" in reasons["etc"] and "outside" in reasons["sneaky.txt"]
    assert "loop" in reasons["sub/parent"] and "loop" in reasons["self"]
    assert "sublink/parent" in reasons
    assert "dangling" in reasons
    run.log_artifact(art)
    out = Path(art.download(tmp_path / "out"))
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert files == ["a.txt", "sub/alias.txt", "sub/b.txt", "sublink/alias.txt", "sublink/b.txt"]
    assert not any(p.is_symlink() for p in out.rglob("*"))
    # The skipped list travels with the version.
    again = recorder.Api().artifact("p/ds:latest")
    assert {s["path"] for s in again.skipped} == set(reasons)


def test_plain_copytree_would_have_copied_passwd(tmp_path):
    # The finding this guards against, kept as a reminder of why walk() exists.
    import shutil

    d = tmp_path / "d"
    d.mkdir()
    os.symlink("/etc/passwd", d / "passwd")
    shutil.copytree(d, tmp_path / "copy")
    assert not (tmp_path / "copy" / "passwd").is_symlink()  # followed: /etc/passwd's bytes copied


def test_fifos_sockets_are_skipped_without_blocking(tmp_path, caplog):
    d = tmp_path / "d"
    d.mkdir()
    (d / "a.txt").write_text("a")
    os.mkfifo(d / "pipe")
    os.symlink("pipe", d / "pipe-link")
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(d / "sock"))
        art = Artifact("ds", type="dataset")
        art.add_dir(d)
    finally:
        sock.close()
    assert [e.path for e in art.files()] == ["a.txt"]
    reasons = {s["path"]: s["reason"] for s in art.skipped}
    assert "FIFO" in reasons["pipe"] and "FIFO" in reasons["pipe-link"] and "socket" in reasons["sock"]
    assert "skipped 3 item(s)" in caplog.text
    with pytest.raises(ValueError, match="not a regular file"):
        Artifact("x", type="t").add_file(d / "pipe")
    with pytest.raises(ValueError, match="not a regular file"):
        Artifact("x", type="t").add_reference((d / "pipe").as_uri())


def test_file_swapped_for_a_fifo_after_add_is_refused_at_log(tmp_path, run):
    f = tmp_path / "f"
    f.write_text("x")
    art = Artifact("swap", type="t")
    art.add_file(f)
    f.unlink()
    os.mkfifo(f)
    with pytest.raises(ValueError, match="not a regular file"):
        run.log_artifact(art)


def test_hostile_manifest_on_disk_cannot_write_outside_the_download_folder(run, runs_root, tmp_path):
    good = Artifact("ds", type="t")
    (tmp_path / "x.txt").write_text("x")
    good.add_file(tmp_path / "x.txt")
    run.log_artifact(good)
    vfile = runs_root / "p" / "_artifacts" / "collections" / "ds" / "v0.json"
    manifest = json.loads(vfile.read_text())
    for bad_entry in ({"path": "../../escaped.txt"}, {"path": "/tmp/abs.txt"}, {"digest": "../../../../etc/passwd"}):
        m = json.loads(json.dumps(manifest))
        m["entries"][0].update(bad_entry)
        os.chmod(vfile, 0o644)
        vfile.write_text(json.dumps(m))
        with pytest.raises(ValueError):
            recorder.Api().artifact("p/ds:v0").download(tmp_path / "out")
    assert not (tmp_path / "escaped.txt").exists() and not Path("/tmp/abs.txt").exists()


def test_download_refuses_to_write_through_a_symlink_in_the_target(run, tmp_path):
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "f.txt").write_text("payload")
    art = Artifact("ds", type="t")
    art.add_dir(tmp_path / "s", name="sub")
    run.log_artifact(art)
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim"
    victim.mkdir()
    os.symlink(victim, out / "sub")
    with pytest.raises(ValueError, match="symlink"):
        art.download(out)
    assert list(victim.iterdir()) == []
    # A symlink at the file's own name is replaced, not followed.
    out2 = tmp_path / "out2"
    (out2 / "sub").mkdir(parents=True)
    target = tmp_path / "target.txt"
    target.write_text("keep")
    os.symlink(target, out2 / "sub" / "f.txt")
    art.download(out2)
    assert target.read_text() == "keep"
    assert (out2 / "sub" / "f.txt").read_text() == "payload" and not (out2 / "sub" / "f.txt").is_symlink()


def test_a_path_cannot_be_both_a_file_and_a_folder(run, src):
    art = Artifact("clash", type="t")
    art.add_file(src, name="a")
    art.add_file(src, name="a/b")
    with pytest.raises(ValueError, match="both a file and a folder"):
        run.log_artifact(art)
