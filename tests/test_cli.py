"""The `loupe` command: each subcommand's output, formats, errors and exit codes."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
import types

import pyarrow.parquet as pq
import pytest
from store_helpers import real_run

from viewer.cli.main import main


@pytest.fixture(scope="module")
def template_root(tmp_path_factory):
    r = tmp_path_factory.mktemp("cli") / "runs"
    real_run(r, name="alpha", config={"lr": 0.1, "bs": 32}, steps=5)
    real_run(r, name="beta", config={"lr": 0.001, "bs": 64}, steps=3)
    real_run(r, project="other", name="\x1b]0;pwned\x07evil\x1b[2J", config={"lr": 0.01}, steps=2)
    return r


@pytest.fixture
def root(template_root, tmp_path):
    r = tmp_path / "runs"
    shutil.copytree(template_root, r, symlinks=True)
    return r


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_ls_table_is_sanitised_and_sorted(capsys, root):
    code, out, err = run_cli(capsys, "ls", str(root), "--sort", "lr", "-c", "name", "project", "config.lr", "state")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split() == ["name", "project", "config.lr", "state"]
    assert [ln.split()[0] for ln in lines[1:]] == ["beta", "evil", "alpha"]
    assert "\x1b" not in out and "\x07" not in out


def test_ls_filter_project_desc_and_formats(capsys, root):
    code, out, _ = run_cli(
        capsys,
        "ls",
        str(root),
        "-f",
        "lr >= 0.01 and state = 'finished'",
        "--sort=-lr",
        "-c",
        "name,config.lr",
        "--format",
        "json",
    )
    assert code == 0
    rows = json.loads(out)
    assert [r["config.lr"] for r in rows] == [0.1, 0.01]
    code, out, _ = run_cli(capsys, "ls", str(root), "-p", "p", "-s", "bs:desc", "-c", "name", "bs", "--format", "csv")
    assert list(csv.reader(io.StringIO(out))) == [["name", "config.bs"], ["beta", "64"], ["alpha", "32"]]


@pytest.mark.parametrize("flt", ["lr > 0; COPY runs TO '/tmp/x'", "1 UNION SELECT 1", "nosuchcol = 1", "lr >"])
def test_ls_bad_filter_is_a_usage_error(capsys, root, flt):
    code, out, err = run_cli(capsys, "ls", str(root), "--filter", flt)
    assert code == 2 and out == "" and err.startswith("loupe: error:") and err.count("\n") == 1


def test_show_text_and_json(capsys, root):
    (next(root.glob("p/*/")) / "output.log").write_text("2026-11-29T14:08:12.123Z O last words \x1b[2J\n")
    code, out, _ = run_cli(capsys, "show", "alpha", "--root", str(root))
    assert code == 0
    assert "name       alpha" in out and "lr = 0.1" in out and "requirements.txt" in out
    assert "metrics (2): acc, loss" in out
    code, out, _ = run_cli(capsys, "show", "p/alpha", "--root", str(root), "--format", "json")
    data = json.loads(out)
    assert data["name"] == "alpha" and data["config"]["lr"] == 0.1 and data["state"] == "finished"


def test_show_log_lines_sanitised(capsys, root):
    run_dir = [p for p in root.glob("p/*/") if json.loads((p / "run.json").read_text())["name"] == "alpha"][0]
    (run_dir / "output.log").write_text("2026-11-29T14:08:12.123Z E last words \x1b]8;;http://x\x07link\n")
    code, out, _ = run_cli(capsys, "show", "alpha", "--root", str(root))
    assert "last words link" in out and "\x1b" not in out


def test_sql_formats_and_output_file(capsys, root, tmp_path):
    q = "SELECT name, \"config.lr\" AS lr FROM runs WHERE project = 'p' ORDER BY lr"
    code, out, _ = run_cli(capsys, "sql", q, "--root", str(root))
    assert code == 0 and out.splitlines()[1].split() == ["beta", "0.001"]
    code, out, _ = run_cli(capsys, "sql", q, "--root", str(root), "--format", "json")
    assert json.loads(out) == [{"name": "beta", "lr": 0.001}, {"name": "alpha", "lr": 0.1}]
    code, out, _ = run_cli(capsys, "sql", q, "--root", str(root), "--format", "csv")
    assert out.splitlines() == ["name,lr", "beta,0.001", "alpha,0.1"]
    dest = tmp_path / "out.parquet"
    code, out, _ = run_cli(
        capsys, "sql", "SELECT * FROM history", "--root", str(root), "--format", "parquet", "-o", str(dest)
    )
    assert code == 0 and pq.read_table(dest).num_rows == 10
    code, _, err = run_cli(capsys, "sql", "SELECT 1", "--root", str(root), "--format", "parquet")
    assert code == 2


def test_sql_errors(capsys, root):
    code, out, err = run_cli(capsys, "sql", "SELEC nonsense", "--root", str(root))
    assert code == 1 and "Parser Error" in err and err.count("\n") == 1
    code, _, err = run_cli(capsys, "sql", "SELECT * FROM nope", "--root", str(root))
    assert code == 1 and "nope" in err
    code, _, err = run_cli(capsys, "sql", "SELECT 1; SELECT 2", "--root", str(root))
    assert code == 1 and "one SQL statement" in err
    code, _, err = run_cli(capsys, "sql", "SELECT * FROM read_csv('/etc/passwd')", "--root", str(root))
    assert code == 1 and "Permission" in err


def test_runtime_and_usage_errors(capsys, root, tmp_path):
    code, _, err = run_cli(capsys, "show", "nosuchrun", "--root", str(root))
    assert code == 1 and err == "loupe: error: no run matches 'nosuchrun'\n"
    code, _, err = run_cli(capsys, "ls", str(tmp_path / "missing"))
    assert code == 1 and "does not exist" in err
    code, _, err = run_cli(capsys, "ls", "--bogus")
    assert code == 2 and err.count("\n") == 1
    code, _, err = run_cli(capsys, "export", "alpha", "--root", str(root))
    assert code == 2  # --format is required


def test_tail_prints_last_lines(capsys, root):
    run_dir = [p for p in root.glob("p/*/") if json.loads((p / "run.json").read_text())["name"] == "beta"][0]
    (run_dir / "output.log").write_text("".join(f"2026-11-29T14:08:12.123Z O line {i}\n" for i in range(50)))
    code, out, _ = run_cli(capsys, "tail", "beta", "--root", str(root), "-n", "3")
    assert code == 0 and [ln.split(" O ")[1] for ln in out.splitlines()] == ["line 47", "line 48", "line 49"]


def test_tail_follow_in_a_subprocess(root):
    run_dir = [p for p in root.glob("p/*/") if json.loads((p / "run.json").read_text())["name"] == "beta"][0]
    log = run_dir / "output.log"
    log.write_text("2026-11-29T14:08:12.123Z O first\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "viewer", "tail", "beta", "--root", str(root), "-f", "--interval", "0.05"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert "first" in proc.stdout.readline()
        with open(log, "a") as f:
            f.write("2026-11-29T14:08:13.123Z E second \x1b]0;x\x07\n")
        assert proc.stdout.readline().rstrip("\n") == "2026-11-29T14:08:13.123Z E second "
    finally:
        proc.terminate()
        proc.wait(5)


def test_export_csv_and_parquet(capsys, root, tmp_path):
    out_dir = tmp_path / "exp"
    code, out, _ = run_cli(
        capsys, "export", "alpha", "beta", "--root", str(root), "--format", "csv", "-o", str(out_dir)
    )
    assert code == 0
    files = sorted(p.name for p in out_dir.iterdir())
    assert len(files) == 2 and all(f.endswith(".history.csv") for f in files)
    rows = list(csv.DictReader(open(out_dir / files[0])))
    assert {"run_id", "_step", "loss", "acc"} <= set(rows[0])
    code, out, _ = run_cli(capsys, "export", "alpha", "--root", str(root), "--format", "parquet", "-o", str(out_dir))
    pq_file = next(out_dir.glob("*.parquet"))
    assert pq.read_table(pq_file).num_rows == 5


def test_view_falls_back_to_the_runs_table_without_a_dashboard(capsys, root, monkeypatch):
    monkeypatch.setitem(sys.modules, "viewer.tui.app", None)  # import fails as if the module did not exist
    code, out, err = run_cli(capsys, str(root))
    assert code == 0 and "dashboard is not installed" in err and "alpha" in out
    fake = types.ModuleType("viewer.tui.app")
    seen = []
    fake.run_app = lambda roots, poll=None: seen.append(roots) or 0
    monkeypatch.setitem(sys.modules, "viewer.tui.app", fake)
    assert main(["view", str(root)]) == 0 and seen == [[root]]


def test_default_root_falls_back_to_bundled_samples(capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("LOUPE_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(capsys, "ls")
    assert code == 0 and "bundled sample runs" in err and err.count("\n") == 1
    assert "digits" in out


def test_python_dash_m_viewer_help():
    out = subprocess.run([sys.executable, "-m", "viewer", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "ls" in out.stdout and "sql" in out.stdout


@pytest.mark.parametrize("cmd", ["ls", "show", "sql", "tail", "export", "view"])
def test_help_everywhere(capsys, cmd):
    with pytest.raises(SystemExit) as exc:
        main([cmd, "--help"])
    assert exc.value.code == 0 and "usage: loupe " + cmd in capsys.readouterr().out
