from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from conftest import make_run

from recorder import metadata
from recorder.metadata import collect_slow, collect_static, rank_env, strip_credentials

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")


def git(cwd: Path, *args: str) -> str:
    env = dict(
        os.environ,
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@example.com",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@example.com",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
    )
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path, monkeypatch):
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "trainbranch")
    (root / "train.py").write_text("lr = 0.1\n")
    git(root, "add", "train.py")
    git(root, "commit", "-q", "-m", "first")
    monkeypatch.chdir(root)
    # The user's global config must not change what the tests see.
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    return root


def test_static_is_cheap_and_complete(monkeypatch):
    for name in (
        "RANK",
        "LOCAL_RANK",
        "WORLD_SIZE",
        "SLURM_PROCID",
        "SLURM_LOCALID",
        "SLURM_NTASKS",
        "OMPI_COMM_WORLD_RANK",
        "OMPI_COMM_WORLD_LOCAL_RANK",
        "OMPI_COMM_WORLD_SIZE",
        "PMI_RANK",
        "PMI_SIZE",
        "PMIX_RANK",
        "MPI_LOCALRANKID",
    ):
        monkeypatch.delenv(name, raising=False)
    collect_static()  # first call may pay one-off imports
    t0 = time.perf_counter()
    info = collect_static()
    assert time.perf_counter() - t0 < 0.005
    assert info["pid"] == os.getpid()
    assert info["host"] and info["python"].count(".") == 2
    assert info["cwd"] == os.getcwd()
    assert isinstance(info["argv"], list) and info["python_executable"]
    assert "platform" in info and "user" in info
    assert not {"rank", "local_rank", "world_size"} & set(info)


def test_rank_env_variables():
    assert rank_env({"RANK": "3", "LOCAL_RANK": "1", "WORLD_SIZE": "8"}) == {
        "rank": 3,
        "local_rank": 1,
        "world_size": 8,
    }
    assert rank_env({"SLURM_PROCID": "5", "SLURM_LOCALID": "2", "SLURM_NTASKS": "16"}) == {
        "rank": 5,
        "local_rank": 2,
        "world_size": 16,
    }
    assert rank_env({"OMPI_COMM_WORLD_RANK": "7", "OMPI_COMM_WORLD_LOCAL_RANK": "3", "OMPI_COMM_WORLD_SIZE": "9"}) == {
        "rank": 7,
        "local_rank": 3,
        "world_size": 9,
    }
    # torchrun inside SLURM: torchrun's own numbering wins.
    assert rank_env({"RANK": "1", "SLURM_PROCID": "0"}) == {"rank": 1}
    # Garbage is skipped, not fatal.
    assert rank_env({"RANK": "x", "SLURM_PROCID": " 4 "}) == {"rank": 4}
    assert rank_env({}) == {}


def test_static_reads_rank_from_environment(monkeypatch):
    monkeypatch.setenv("RANK", "2")
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    monkeypatch.delenv("SLURM_LOCALID", raising=False)
    monkeypatch.delenv("OMPI_COMM_WORLD_LOCAL_RANK", raising=False)
    monkeypatch.delenv("MPI_LOCALRANKID", raising=False)
    info = collect_static()
    assert info["rank"] == 2 and info["world_size"] == 4
    assert "local_rank" not in info


@needs_git
def test_git_dirty_repo(repo, tmp_path):
    commit = git(repo, "rev-parse", "HEAD")
    (repo / "train.py").write_text("lr = 0.2\n")
    files = tmp_path / "run" / "files"  # created by collect_slow
    info = collect_slow(files)
    g = info["git"]
    assert g["commit"] == commit
    assert g["branch"] == "trainbranch"
    assert g["dirty"] is True
    assert "remote" not in g
    patch = (files / "diff.patch").read_text()
    assert "-lr = 0.1" in patch and "+lr = 0.2" in patch
    assert g["diff_file"] == "files/diff.patch"
    assert not [p for p in files.iterdir() if p.name.startswith(".tmp-")]


@needs_git
def test_a_run_records_git_through_its_helper_process(repo, runs_root, monkeypatch):
    # git commands started by the helper run at its lower priority, not the training
    # loop's; here the training process cannot run them itself.
    monkeypatch.setenv("LOUPE_PUBLISHER", "process")

    def refused(files_dir):
        raise AssertionError("git ran in the training process")

    monkeypatch.setattr(metadata, "git_info", refused)
    (repo / "train.py").write_text("lr = 0.3\n")
    run = make_run(runs_root)
    assert run._files._helper is not None
    run.log({"x": 1.0})
    run.finish()
    meta = json.loads((Path(run.dir) / "run.json").read_text())
    assert meta["git"]["commit"] == git(repo, "rev-parse", "HEAD")
    assert meta["git"]["branch"] == "trainbranch" and meta["git"]["dirty"] is True
    assert "+lr = 0.3" in (Path(run.dir) / meta["git"]["diff_file"]).read_text()


@needs_git
def test_git_clean_repo_writes_no_diff(repo, tmp_path):
    (repo / "untracked.txt").write_text("not part of the commit\n")
    files = tmp_path / "files"
    g = collect_slow(files)["git"]
    assert g["dirty"] is False
    assert not (files / "diff.patch").exists()


@needs_git
def test_git_remote_credentials_stripped(repo, tmp_path):
    git(repo, "remote", "add", "origin", "https://alice:s3cret@github.com/acme/model.git")
    g = collect_slow(tmp_path / "files")["git"]
    assert g["remote"] == "https://github.com/acme/model.git"
    assert "s3cret" not in str(g)


def test_strip_credentials():
    assert strip_credentials("https://user:pass@host/x.git") == "https://host/x.git"
    assert strip_credentials("https://ghp_token@github.com/a/b") == "https://github.com/a/b"
    assert strip_credentials("ssh://git:pw@host/x.git") == "ssh://git@host/x.git"
    assert strip_credentials("ssh://git@host/x.git") == "ssh://git@host/x.git"
    assert strip_credentials("git@github.com:a/b.git") == "git@github.com:a/b.git"
    assert strip_credentials("https://github.com/a/b") == "https://github.com/a/b"
    assert strip_credentials("/srv/repos/x.git") == "/srv/repos/x.git"


def test_outside_repo_no_git_key(tmp_path, monkeypatch):
    outside = tmp_path / "plain"
    outside.mkdir()
    monkeypatch.chdir(outside)
    # Stop git from finding a repository above tmp_path.
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    info = collect_slow(tmp_path / "files")
    assert "git" not in info
    assert info["packages_file"] == "files/requirements.txt"


def test_git_missing_no_exception(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    info = collect_slow(tmp_path / "files")
    assert "git" not in info
    assert (tmp_path / "files" / "requirements.txt").is_file()


def test_requirements_lists_installed_packages(tmp_path):
    info = collect_slow(tmp_path / "files")
    lines = (tmp_path / "files" / "requirements.txt").read_text().splitlines()
    assert info["packages_file"] == "files/requirements.txt"
    import pyarrow

    assert f"pyarrow=={pyarrow.__version__}" in lines
    assert all("==" in line for line in lines)
    assert lines == sorted(lines, key=lambda s: s.split("==")[0].lower().replace("_", "-"))


@needs_git
def test_large_diff_is_capped(repo, tmp_path, monkeypatch):
    monkeypatch.setattr(metadata, "DIFF_CAP_BYTES", 1000)
    (repo / "train.py").write_text("".join(f"line {i}\n" for i in range(5000)))
    files = tmp_path / "files"
    g = collect_slow(files)["git"]
    assert g["diff_truncated"] is True
    assert (files / "diff.patch").stat().st_size == 1000


def test_never_raises_on_unwritable_files_dir(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    info = collect_slow(blocker / "files")  # cannot be created
    assert "packages_file" not in info


def test_package_list_is_reused_until_a_sys_path_directory_changes(tmp_path, monkeypatch):
    # A sweep agent starts many runs in one process: the ~100 ms listing is done once,
    # and again after an install (which changes a site-packages directory).
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    listings: list[int] = []
    real = metadata.list_requirements
    monkeypatch.setattr(metadata, "list_requirements", lambda: (listings.append(1), real())[1])
    monkeypatch.setattr(metadata, "_requirements_cache", None)
    first = metadata._requirements()
    assert metadata._requirements() == first and len(listings) == 1
    (site / "newpkg-1.0.dist-info").mkdir()
    (site / "newpkg-1.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: newpkg\nVersion: 1.0\n")
    os.utime(site, ns=(0, site.stat().st_mtime_ns + 10_000_000))  # mtime resolution
    second = metadata._requirements()
    assert len(listings) == 2 and "newpkg==1.0\n" in second and "newpkg" not in first
