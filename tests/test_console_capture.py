from __future__ import annotations

import io
import multiprocessing
import os
import re
import sys
import threading
import time
from pathlib import Path

import pytest

from recorder import console_capture, journal, warn
from recorder.console_capture import ConsoleCapture
from recorder.journal import parse_log_line

PREFIX_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z [OE] ")


@pytest.fixture(autouse=True)
def _fresh_warnings():
    warn.reset()
    yield
    warn.reset()


def use_streams(monkeypatch) -> tuple[io.StringIO, io.StringIO]:
    """Fresh originals for sys.stdout / sys.stderr, so pytest's own capture is not involved.

    Called in the test body: pytest re-installs its capture streams after fixture setup.
    """
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    return out, err


def read_log(path: Path) -> list[tuple[str | None, str, str]]:
    lines = path.read_text(encoding="utf-8").split("\n")
    assert lines[-1] == ""  # every line is complete
    for line in lines[:-1]:
        assert PREFIX_RE.match(line), line
        assert len(line.split(" ", 1)[0]) == 24
    return [parse_log_line(line) for line in lines[:-1]]


def texts(path: Path) -> list[tuple[str, str]]:
    return [(s, t) for _, s, t in read_log(path)]


def test_tee_reaches_original_and_log(tmp_path, monkeypatch):
    out, err = use_streams(monkeypatch)
    log = tmp_path / "output.log"
    cap = ConsoleCapture(log)
    cap.start()
    try:
        assert sys.stdout is not out
        print("hello")
        print("to err", file=sys.stderr)
        sys.stdout.write("a\nb\n")
        sys.stdout.writelines(["c\n", "d\n"])
        print()
    finally:
        cap.stop()
    assert sys.stdout is out and sys.stderr is err
    assert out.getvalue() == "hello\na\nb\nc\nd\n\n"
    assert err.getvalue() == "to err\n"
    assert texts(log) == [
        ("O", "hello"),
        ("E", "to err"),
        ("O", "a"),
        ("O", "b"),
        ("O", "c"),
        ("O", "d"),
        ("O", ""),
    ]
    t = read_log(log)[0][0]
    assert t is not None and t.endswith("Z")


def test_carriage_return_keeps_last_redraw(tmp_path, monkeypatch):
    out, _ = use_streams(monkeypatch)
    log = tmp_path / "output.log"
    cap = ConsoleCapture(log)
    cap.start()
    try:
        sys.stdout.write("a\rb\rc\n")
        for pct in (10, 20, 30):
            sys.stdout.write(f"\r{pct}%|###")
            sys.stdout.flush()
        sys.stdout.write("\n")
        sys.stdout.write("windows line\r\n")
        sys.stdout.write("done 100%\r")
        sys.stdout.write("\n")
    finally:
        cap.stop()
    # The terminal still received every redraw.
    assert out.getvalue().count("%|###") == 3
    assert texts(log) == [
        ("O", "c"),
        ("O", "30%|###"),
        ("O", "windows line"),
        ("O", "done 100%"),
    ]


def test_stale_partial_line_flushed(tmp_path, monkeypatch):
    use_streams(monkeypatch)
    monkeypatch.setattr(console_capture, "STALE_PARTIAL_S", 0.05)
    log = tmp_path / "output.log"
    cap = ConsoleCapture(log)
    cap.start()
    try:
        sys.stdout.write("\rstep 1")
        assert log.read_text() == ""  # young partial lines wait for their newline
        time.sleep(0.1)
        sys.stdout.write("\rstep 2")  # the next write logs the stale bar
        assert texts(log) == [("O", "step 2")]
        sys.stdout.write("\rstep 3")  # young again
        sys.stderr.write("no newline at the end")
    finally:
        cap.stop()  # stop() logs what is still pending
    assert sorted(texts(log)) == sorted([("O", "step 2"), ("O", "step 3"), ("E", "no newline at the end")])


def test_closed_or_missing_original_does_not_raise(tmp_path, monkeypatch):
    closed = io.StringIO()
    closed.close()
    monkeypatch.setattr(sys, "stdout", closed)
    monkeypatch.setattr(sys, "stderr", None)
    log = tmp_path / "output.log"
    cap = ConsoleCapture(log)
    cap.start()
    try:
        print("still logged")
        sys.stdout.flush()
        assert sys.stdout.isatty() is False
        sys.stderr.write("err without a stream\n")
        sys.stderr.flush()
    finally:
        cap.stop()
    assert sys.stdout is closed and sys.stderr is None
    assert texts(log) == [("O", "still logged"), ("E", "err without a stream")]


def test_attributes_proxied_to_original(tmp_path, monkeypatch):
    f = open(tmp_path / "real.txt", "w", encoding="utf-8")
    monkeypatch.setattr(sys, "stdout", f)
    cap = ConsoleCapture(tmp_path / "output.log")
    cap.start()
    try:
        assert sys.stdout.fileno() == f.fileno()
        assert sys.stdout.encoding == f.encoding
        assert sys.stdout.buffer is f.buffer
        assert sys.stdout.isatty() is False
        assert sys.stdout.closed is False
        sys.stdout.write("x\n")
        sys.stdout.flush()
        assert (tmp_path / "real.txt").read_text() == "x\n"
    finally:
        cap.stop()
        f.close()


def test_log_write_error_warns_once_and_never_raises(tmp_path, caplog, monkeypatch):
    out, _ = use_streams(monkeypatch)
    cap = ConsoleCapture(tmp_path / "output.log")
    cap.start()
    # Swap the log descriptor for one that refuses writes (as a full disk would).
    ro = os.open(tmp_path / "output.log", os.O_RDONLY)
    real = cap._log.fd
    cap._log.fd = ro
    try:
        for i in range(5):
            print(f"line {i}")
    finally:
        cap._log.fd = real
        cap.stop()
        os.close(ro)
    assert out.getvalue() == "".join(f"line {i}\n" for i in range(5))
    assert sum("output.log" in r.getMessage() for r in caplog.records) == 1


def test_stop_is_idempotent_and_respects_later_wrappers(tmp_path, monkeypatch):
    out, _ = use_streams(monkeypatch)
    log = tmp_path / "output.log"
    cap = ConsoleCapture(log)
    cap.start()
    ours = sys.stdout
    later = io.StringIO()
    sys.stdout = later  # something else took over stdout after us
    cap.stop()
    cap.stop()
    assert sys.stdout is later  # not clobbered with our original
    sys.stdout = out
    ours.write("after stop\n")  # a tee left in someone's chain just forwards
    assert out.getvalue() == "after stop\n"
    assert log.read_text() == ""


def test_unicode_and_escape_sequences_verbatim(tmp_path, monkeypatch):
    out, _ = use_streams(monkeypatch)
    log = tmp_path / "output.log"
    samples = [
        "héllo wörld ✓ 日本語 🚀",
        "\x1b[31mred\x1b[0m",
        "\x1b]0;window title\x07",
        "\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\",
        "tab\there",
        "lone surrogate \udcff",
    ]
    cap = ConsoleCapture(log)
    cap.start()
    try:
        for s in samples:
            print(s)
    finally:
        cap.stop()
    got = [t for _, t in texts(log)]
    assert got[:-1] == samples[:-1]
    # Unencodable text is escaped rather than raising or writing invalid UTF-8.
    assert got[-1] == "lone surrogate \\udcff"


def test_many_threads_lines_stay_whole(tmp_path, monkeypatch):
    use_streams(monkeypatch)
    log = tmp_path / "output.log"
    cap = ConsoleCapture(log)
    cap.start()

    def spam(k: int) -> None:
        # One write per line: print() writes the text and the "\n" separately, so lines
        # from print() in several threads interleave on a terminal, and in the log alike.
        for i in range(200):
            sys.stdout.write(f"thread {k} line {i} " + "x" * 50 + "\n")

    try:
        threads = [threading.Thread(target=spam, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        cap.stop()
    got = [t for _, t in texts(log)]
    assert sorted(got) == sorted(f"thread {k} line {i} " + "x" * 50 for k in range(4) for i in range(200))


def _child_prints() -> None:
    print("hello from child")
    sys.stdout.flush()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_fork_while_printing_does_not_deadlock(tmp_path, monkeypatch):
    use_streams(monkeypatch)
    log = tmp_path / "output.log"
    cap = ConsoleCapture(log)
    cap.start()
    stop = threading.Event()

    def spam() -> None:
        while not stop.is_set():
            print("parent thread")

    threads = [threading.Thread(target=spam, daemon=True) for _ in range(2)]
    for t in threads:
        t.start()
    ctx = multiprocessing.get_context("fork")
    try:
        sys.stdout.write("parent partial")  # must not be logged twice by the child
        procs = []
        for _ in range(3):
            procs.append(ctx.Process(target=_child_prints))
            procs[-1].start()
        # Deterministic worst case: fork while the stdout tee's lock is held.
        tee = sys.stdout
        with tee._lock:
            procs.append(ctx.Process(target=_child_prints))
            procs[-1].start()
        for p in procs:
            p.join(10)
            if p.is_alive():
                p.kill()
                pytest.fail("forked child deadlocked on an inherited lock")
            assert p.exitcode == 0
    finally:
        stop.set()
        for t in threads:
            t.join(5)
        cap.stop()
    got = [t for _, t in texts(log)]
    assert got.count("hello from child") == 4
    assert sum("parent partial" in t for t in got) == 1


def test_parse_log_line():
    assert parse_log_line("2026-11-29T14:08:12.123Z E boom: x y\n") == (
        "2026-11-29T14:08:12.123Z",
        "E",
        "boom: x y",
    )
    assert parse_log_line("2026-11-29T14:08:12.123Z O ") == ("2026-11-29T14:08:12.123Z", "O", "")
    assert parse_log_line("plain text from elsewhere") == (None, "O", "plain text from elsewhere")
    assert parse_log_line("2026-11-29T14:08:12Z O no millis") == (
        None,
        "O",
        "2026-11-29T14:08:12Z O no millis",
    )
    assert parse_log_line("") == (None, "O", "")
    assert journal.format_log_time(0.5) == "1970-01-01T00:00:00.500Z"


def test_unwritable_log_path_leaves_streams_alone(tmp_path, monkeypatch):
    out, _ = use_streams(monkeypatch)
    blocker = tmp_path / "file"
    blocker.write_text("")
    cap = ConsoleCapture(blocker / "output.log")  # parent is a file: cannot be created
    cap.start()
    assert sys.stdout is out
    cap.stop()
