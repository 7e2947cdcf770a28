"""Headless Chromium for the report and `loupe serve` tests, with every request recorded.

Debian's `chromium` and `chromium-driver` (installed by .ci/run when missing), driven by
selenium with the driver named explicitly, so Selenium Manager never looks for one
online. Tests call `open_browser()`, which skips with the reason when either is missing.

The network is shut twice: a proxy that refuses everything (127.0.0.1:9, where nothing
listens) and, for file:// pages, Chromium's own offline mode. What the page asked for
is read back from Chromium's DevTools (CDP) Network events in the performance log, so a
test can assert that no request left file:// (or loopback, for `loupe serve`).
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)
CHROMEDRIVER = shutil.which("chromedriver")
# Chromium's own pages (the new-tab page before the first navigation) are not network.
INTERNAL = ("chrome:", "chrome-untrusted:", "devtools:", "about:")
_ANSI = re.compile(rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b[\]P_^][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b.")


def skip_reason() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    if CHROMIUM is None or CHROMEDRIVER is None:
        missing = " and ".join(n for n, p in (("chromium", CHROMIUM), ("chromedriver", CHROMEDRIVER)) if p is None)
        return f"headless Chromium not available ({missing} not on PATH): apt-get install chromium chromium-driver"
    return None


class Browser:
    def __init__(self, driver: Any) -> None:
        self.driver = driver
        self.events: list[dict[str, Any]] = []
        self.console: list[dict[str, Any]] = []

    def drain(self) -> None:
        """Move what Chromium logged since the last call into events / console."""
        for entry in self.driver.get_log("performance"):
            self.events.append(json.loads(entry["message"])["message"])
        self.console.extend(self.driver.get_log("browser"))

    def requests(self) -> list[str]:
        self.drain()
        urls = [e["params"]["request"]["url"] for e in self.events if e["method"] == "Network.requestWillBeSent"]
        urls += [e["params"]["url"] for e in self.events if e["method"] == "Network.webSocketCreated"]
        return [u for u in urls if not u.startswith(INTERNAL)]

    def failed_requests(self) -> list[dict[str, Any]]:
        self.drain()
        return [e["params"] for e in self.events if e["method"] == "Network.loadingFailed"]

    def errors(self) -> list[str]:
        self.drain()
        return [c["message"] for c in self.console if c["level"] == "SEVERE"]

    def websocket_text(self, since: int = 0) -> str:
        """What the page received over websockets from event `since` on, escape sequences removed."""
        self.drain()
        data = b""
        for e in self.events[since:]:
            if e["method"] == "Network.webSocketFrameReceived":
                frame = e["params"]["response"]
                payload = frame["payloadData"]
                data += base64.b64decode(payload) if frame["opcode"] == 2 else payload.encode()
        return _ANSI.sub(b"", data).decode("utf-8", "replace")

    def wait_for(self, condition: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
            time.sleep(0.1)


@contextmanager
def open_browser(
    profile: Path, monkeypatch: pytest.MonkeyPatch, size: tuple[int, int] = (1400, 1000), loopback: bool = False
) -> Iterator[Browser]:
    """A fresh headless Chromium; `loopback=True` lets it reach 127.0.0.1 (and nothing else)."""
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    from selenium import webdriver

    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager: never download anything
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--no-first-run",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        f"--window-size={size[0]},{size[1]}",
        "--proxy-server=http://127.0.0.1:9",
        # Without this, loopback bypasses the proxy; with it, every host is refused.
        *(() if loopback else ("--proxy-bypass-list=<-loopback>",)),
    ):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(options=opts, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    try:
        driver.set_page_load_timeout(60)
        # Start from a blank page and forget what the browser did on its own before it
        # (its new-tab page tries the network): what is recorded from here is the test's.
        driver.get("about:blank")
        driver.get_log("performance")
        driver.get_log("browser")
        driver.execute_cdp_cmd("Network.enable", {})
        if not loopback:
            driver.execute_cdp_cmd(
                "Network.emulateNetworkConditions",
                {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
            )
        yield Browser(driver)
    finally:
        driver.quit()
