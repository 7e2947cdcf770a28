"""What a run records about where it ran: host, command, distributed rank, git, packages.

Split in two: `collect_static` runs on the caller's thread at init and only reads what the
process already knows (a few microseconds each); `collect_slow` shells out to git and scans
installed packages, so it runs on a background thread. Neither raises: a missing fact is
left out, it never stops a training run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from recorder.atomic_json import write_bytes_atomic
from recorder.layout import DIFF_FILE, REQUIREMENTS_FILE

GIT_TIMEOUT_S = 2.0
DIFF_CAP_BYTES = 10 * 1024 * 1024

# First variable set wins: torchrun's own names, then the SLURM and MPI launchers that may
# be wrapping it (under torchrun inside SLURM, the torchrun rank is the one that matters).
_RANK_VARS: dict[str, tuple[str, ...]] = {
    "rank": ("RANK", "SLURM_PROCID", "OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK"),
    "local_rank": ("LOCAL_RANK", "SLURM_LOCALID", "OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID"),
    "world_size": ("WORLD_SIZE", "SLURM_NTASKS", "OMPI_COMM_WORLD_SIZE", "PMI_SIZE"),
}


def collect_static() -> dict[str, Any]:
    """Facts the process knows already; cheap enough for the caller's thread."""
    import getpass

    info: dict[str, Any] = {}
    # uname's nodename is gethostname() without importing socket (~3 ms, most of this
    # function's budget when nothing else imported it yet).
    _try(info, "host", _hostname)
    # getpass.getuser raises (OSError, KeyError) in containers running as a uid without
    # a passwd entry.
    _try(info, "user", getpass.getuser)
    info["pid"] = os.getpid()
    info["python"] = ".".join(str(v) for v in sys.version_info[:3])
    info["python_executable"] = sys.executable
    # platform.platform() takes ~6 ms on first call (it reads libc's version from the
    # interpreter binary); uname answers the same question in microseconds.
    _try(info, "platform", lambda: "{0.sysname}-{0.release}-{0.machine}".format(os.uname()))
    if "platform" not in info:
        info["platform"] = sys.platform
    info["argv"] = list(sys.argv)
    # getcwd raises when the working directory has been deleted.
    _try(info, "cwd", os.getcwd)
    info.update(rank_env(os.environ))
    return info


def _hostname() -> str:
    if hasattr(os, "uname"):
        return os.uname().nodename
    import socket  # Windows has no uname

    return socket.gethostname()


def rank_env(env: Any) -> dict[str, int]:
    """rank / local_rank / world_size from launcher variables; absent ones are left out."""
    out: dict[str, int] = {}
    for key, names in _RANK_VARS.items():
        for name in names:
            raw = env.get(name)
            if raw is None:
                continue
            try:
                out[key] = int(str(raw).strip())
                break
            except ValueError:
                continue
    return out


def collect_slow(
    files_dir: Path,
    list_packages: Callable[[], str] | None = None,
    git: Callable[[Path], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Git state of the working directory and the installed packages, saved under files_dir.

    `list_packages` (default: list_requirements here) and `git` (default: git_info here)
    let the run's helper process do the work: the package scan is ~100 ms of pure Python
    on a big environment, and git commands started from there run at its lower priority."""
    out: dict[str, Any] = {}
    files_dir = Path(files_dir)
    try:
        files_dir.mkdir(parents=True, exist_ok=True)
    except OSError:
        pass
    try:
        info = (git or git_info)(files_dir)
        if info:
            out["git"] = info
    except Exception:
        pass
    try:
        write_bytes_atomic(files_dir / REQUIREMENTS_FILE, _requirements(list_packages).encode("utf-8"))
        out["packages_file"] = f"{files_dir.name}/{REQUIREMENTS_FILE}"
    except Exception:
        pass
    return out


# -- git --------------------------------------------------------------------------------

_URL_USERINFO = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<user>[^@/]*)@")


def strip_credentials(url: str) -> str:
    """Remove secrets from a remote URL before it is written into the run.

    For http(s) the whole user part goes: a token is often sent as the user name alone
    (https://ghp_xxx@github.com/...). For ssh the user name (git@) is not a secret and is
    kept; a password never is.
    """
    m = _URL_USERINFO.match(url)
    if m is None:
        return url
    scheme, user = m.group("scheme"), m.group("user")
    if scheme.lower().startswith(("http", "ftp")):
        return scheme + url[m.end() :]
    return scheme + user.split(":", 1)[0] + "@" + url[m.end() :]


def _git_env() -> dict[str, str]:
    env = dict(os.environ)
    # Never wait on a credential prompt, and never take index.lock (a `git status` that
    # refreshes the index would make the user's own concurrent git commands fail).
    env.update(GIT_TERMINAL_PROMPT="0", GIT_OPTIONAL_LOCKS="0", LC_ALL="C")
    return env


def _git(args: list[str], cwd: str, env: dict[str, str], cap: int = 1 << 20) -> bytes | None:
    """stdout of a git command, or None on any failure; at most `cap` bytes are kept."""
    try:
        proc = subprocess.Popen(
            ["git", *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
    except OSError:  # git not installed, cwd gone
        return None
    # Reading with a cap rather than communicate(): a `git diff` of a modified multi-GB
    # tracked file must not be held in memory whole. The timer bounds a hung git (network
    # filesystem, huge repo) even while read() blocks.
    timer = threading.Timer(GIT_TIMEOUT_S, proc.kill)
    timer.daemon = True
    timer.start()
    try:
        assert proc.stdout is not None
        data = proc.stdout.read(cap + 1)
        if len(data) > cap:
            proc.kill()
        proc.stdout.close()
        rc = proc.wait()
    except Exception:
        proc.kill()
        proc.wait()
        return None
    finally:
        timer.cancel()
    if len(data) > cap:
        return data  # the caller sees it was cut by its length
    return data if rc == 0 else None


def _text(data: bytes | None) -> str | None:
    if data is None:
        return None
    s = data.decode("utf-8", "replace").strip()
    return s or None


def git_info(files_dir: Path) -> dict[str, Any]:
    """The working directory's repository: root, commit, branch, remote, dirty, and the
    diff against HEAD saved under files_dir; {} outside a repository or without git."""
    try:
        cwd = os.getcwd()
    except OSError:
        return {}
    env = _git_env()
    root = _text(_git(["rev-parse", "--show-toplevel"], cwd, env))
    if root is None:
        return {}  # not a repository, or git missing
    info: dict[str, Any] = {"root": root}
    commit = _text(_git(["rev-parse", "--verify", "--quiet", "HEAD"], cwd, env))
    if commit:
        info["commit"] = commit
    branch = _text(_git(["symbolic-ref", "--quiet", "--short", "HEAD"], cwd, env))
    if branch:  # absent on a detached HEAD
        info["branch"] = branch
    remote = _text(_git(["config", "--get", "remote.origin.url"], cwd, env))
    if remote:
        info["remote"] = strip_credentials(remote)
    status = _git(["status", "--porcelain", "--untracked-files=no"], cwd, env)
    if status is not None:
        info["dirty"] = bool(status.strip())
    if info.get("dirty") and commit:
        diff = _git(["diff", "--no-color", "--no-ext-diff", "HEAD"], cwd, env, cap=DIFF_CAP_BYTES)
        if diff:
            truncated = len(diff) > DIFF_CAP_BYTES
            try:
                write_bytes_atomic(files_dir / DIFF_FILE, diff[:DIFF_CAP_BYTES])
                info["diff_file"] = f"{files_dir.name}/{DIFF_FILE}"
                if truncated:
                    info["diff_truncated"] = True
            except OSError:
                pass
    return info


# -- packages ---------------------------------------------------------------------------


# The package list by the mtimes of sys.path's directories (an install or uninstall
# changes them): listing ~100 ms of distributions again for every run of a sweep agent
# made short trials wait on finish().
_requirements_cache: tuple[tuple, str] | None = None


def _requirements(list_packages: Callable[[], str] | None = None) -> str:
    global _requirements_cache
    key = tuple(_mtime(p) for p in sys.path)
    cached = _requirements_cache
    if cached is not None and cached[0] == key:
        return cached[1]
    text = (list_packages or list_requirements)()
    _requirements_cache = (key, text)
    return text


def _mtime(path: str) -> int | None:
    try:
        return os.stat(path or ".").st_mtime_ns
    except OSError:
        return None


def list_requirements() -> str:
    """requirements.txt lines (`name==version`, sorted) of what this interpreter can import."""
    # importlib.metadata rather than `pip freeze`: no subprocess, works without pip (conda,
    # uv venvs), and sees exactly what this interpreter can import.
    from importlib.metadata import distributions

    seen: dict[str, str] = {}
    for dist in distributions():
        try:
            name = dist.metadata["Name"]
            version = dist.version
        except Exception:
            continue
        if not name or not version:
            continue
        # The same package can be installed twice on sys.path; the first is what imports.
        seen.setdefault(name.lower().replace("_", "-"), f"{name}=={version}")
    return "".join(line + "\n" for _, line in sorted(seen.items()))


def _try(info: dict[str, Any], key: str, get: Any) -> None:
    try:
        value = get()
    except Exception:
        return
    if value is not None:
        info[key] = value
