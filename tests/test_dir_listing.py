"""Walks keep directory listings while the directory's mtime holds (viewer.data.dir_listing)."""

from __future__ import annotations

import os
import time

from store_helpers import fake_run_dir

from viewer.data.batch_stat import is_files, mtimes_ns, stats
from viewer.data.dir_listing import DirListings
from viewer.data.discovery import find_runs
from viewer.data.run_poller import RunPoller


def names(root, listings) -> list[str]:
    return sorted(r.path.name for r in find_runs([root], listings=listings))


def age(path, seconds: float = 30.0) -> int:
    """Set `path`'s mtime `seconds` into the past; the new mtime_ns."""
    t = time.time_ns() - int(seconds * 1e9)
    os.utime(path, ns=(t, t))
    return t


def test_a_run_added_to_a_listed_project_is_found(tmp_path):
    root = tmp_path / "runs"
    fake_run_dir(root, "p", "a")
    age(root / "p")
    age(root)
    listings = DirListings()
    assert names(root, listings) == ["a"]
    assert names(root, listings) == ["a"]  # from the kept listings
    fake_run_dir(root, "p", "b")  # changes p's mtime
    fake_run_dir(root, "q", "c")  # a new project changes the root's
    assert names(root, listings) == ["a", "b", "c"]


def test_a_listing_taken_just_after_a_change_is_not_kept(tmp_path):
    # Coarse timestamps (NFS): a run created in the same tick as the listing leaves the
    # directory's mtime as it was. A listing that recent is not trusted next time.
    root = tmp_path / "runs"
    fake_run_dir(root, "p", "a")
    listings = DirListings()
    before = os.stat(root / "p").st_mtime_ns
    assert names(root, listings) == ["a"]
    fake_run_dir(root, "p", "b")
    os.utime(root / "p", ns=(before, before))  # as if within the same tick
    assert names(root, listings) == ["a", "b"]


def test_a_run_directory_replaced_by_a_symlink_is_seen(tmp_path):
    root = tmp_path / "runs"
    fake_run_dir(root, "p", "a")
    elsewhere = tmp_path / "elsewhere"
    fake_run_dir(elsewhere, "x", "moved")
    age(root / "p")
    listings = DirListings()
    assert names(root, listings) == ["a"]
    os.symlink(elsewhere / "x" / "moved", root / "p" / "linked")
    found = find_runs([root], listings=listings)
    linked = next(r for r in found if r.path.name == "linked")
    assert linked.real_str == os.path.realpath(elsewhere / "x" / "moved")


def test_the_poller_announces_a_new_run_from_a_kept_listing(tmp_path):
    root = tmp_path / "runs"
    fake_run_dir(root, "p", "a")
    age(root / "p")
    age(root)
    poller = RunPoller([root], lambda: None)
    first = poller.listing()
    assert poller.listing() == first
    fake_run_dir(root, "p", "b")
    assert poller.listing()[str(root / "p")] == ("a", "b")


def test_batched_stats_match_os_stat(tmp_path):
    paths = []
    for i in range(5):
        p = tmp_path / f"f{i}"
        p.write_bytes(b"x" * i)
        paths.append(str(p))
    (tmp_path / "d").mkdir()
    missing = str(tmp_path / "missing")
    got = stats([*paths, missing])
    assert got[:-1] == [(os.stat(p).st_mtime_ns, os.stat(p).st_size) for p in paths] and got[-1] is None
    assert mtimes_ns([str(tmp_path / "d"), missing]) == [os.stat(tmp_path / "d").st_mtime_ns, None]
    assert is_files([paths[0], str(tmp_path / "d"), missing]) == [True, False, False]
