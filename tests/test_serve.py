"""`loupe serve`: loopback unless --public, the access token, and the dashboard in headless
Chromium (runs table in the page, `2` shows the Metrics tab). The browser test is skipped
(with the reason) where Chromium is not installed."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from browser_helpers import open_browser
from tui_fixtures import STANDARD, make_runs

from viewer.cli.main import main
from viewer.cli.output import UsageError
from viewer.cli.serve_command import check_host, is_loopback, ssh_hint


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(root: Path) -> Iterator[tuple[str, list[str]]]:
    """`loupe serve ROOT` on a free port: (the URL it printed, its output lines so far)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "viewer", "serve", str(root), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its dashboards are its children: stopped with it below
    )
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True).start()
    try:
        deadline = time.monotonic() + 30
        url = None
        while url is None:
            url = next((m.group(1) for ln in list(lines) if (m := re.search(r"open (http://\S+)", ln))), None)
            assert proc.poll() is None, "".join(lines)
            assert time.monotonic() < deadline, f"no URL printed: {''.join(lines)}"
            time.sleep(0.05)
        assert url.startswith(f"http://127.0.0.1:{port}/?token=")
        yield url, lines
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


@pytest.fixture
def root(tmp_path) -> Path:
    r = tmp_path / "runs"
    make_runs(r, STANDARD)
    return r


def test_only_loopback_without_public():
    for host in ("127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2"):
        assert is_loopback(host)
        check_host(host, public=False)
    for host in ("0.0.0.0", "::", "10.1.2.3", "myhost.example"):
        assert not is_loopback(host)
        with pytest.raises(UsageError, match="--public"):
            check_host(host, public=False)
        check_host(host, public=True)
    assert re.fullmatch(r"ssh -N -L 8123:127\.0\.0\.1:8123 \S+@\S+", ssh_hint(8123))


def test_public_host_refused_on_the_command_line(capsys, root):
    assert main(["serve", str(root), "--host", "0.0.0.0"]) == 2
    err = capsys.readouterr().err
    assert "add --public" in err and err.count("\n") == 1


def status_of(url: str, headers: dict[str, str] | None = None) -> int:
    req = urllib.request.Request(url, headers=headers or {})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback, never a proxy
    try:
        with opener.open(req, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except ConnectionError:
        return 0  # closed without an answer


def test_token_and_origin_are_checked(root):
    with serving(root) as (url, lines):
        base, token = url.split("/?token=")
        assert "ssh -N -L" in "".join(lines)  # how to reach it from a laptop
        assert status_of(base + "/") == 403
        assert status_of(base + "/?token=wrong") == 403
        assert status_of(url) == 200
        assert status_of(base + "/ws") == 403  # no token
        cookie = {"Cookie": f"loupe_token_{base.rsplit(':', 1)[1]}={token}"}
        assert status_of(base + "/ws", {**cookie, "Origin": "http://evil.example"}) == 403
        # The right token and origin get past both checks (then the missing upgrade fails).
        assert status_of(base + "/ws", {**cookie, "Origin": base}) not in (403, 200)


def test_dashboard_in_the_browser(root, tmp_path, monkeypatch):
    with serving(root) as (url, _), open_browser(tmp_path / "profile", monkeypatch, loopback=True) as browser:
        browser.driver.get(url)
        browser.wait_for(lambda: all(n in browser.websocket_text() for n in ("baseline", "fast-lr")), "the runs table")
        since = len(browser.events)
        terminal = browser.driver.find_element("css selector", ".xterm-helper-textarea")
        terminal.send_keys("2")
        # The Metrics tab's status line (runs, plots, x axis) and the metrics regex box.
        browser.wait_for(lambda: "x: _step" in browser.websocket_text(since), "the Metrics tab")
        assert "regex over metric names" in browser.websocket_text(since)
        port = url.split(":")[2].split("/")[0]
        requests = browser.requests()
        assert requests and all(
            u.startswith((f"http://127.0.0.1:{port}/", f"ws://127.0.0.1:{port}/")) for u in requests
        )
        assert not browser.failed_requests()
