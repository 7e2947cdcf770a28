"""`loupe import ...` as a user runs it: summary line, one-line errors, exit codes, no network, the dashboard."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from import_sources import REPO, run_wandb_script, tool_env
from tui_helpers import open_tab, settle

pytest.importorskip("tensorboard")
tb_writer = pytest.importorskip("torch.utils.tensorboard")

from test_zero_network import GUARD

from recorder.importers.import_report import FAILED, IMPORTED, UNCHANGED, UPDATED, ImportReport, Outcome
from viewer.cli.main import main
from viewer.tui.app import LoupeApp
from viewer.tui.logs_pane import LogsPane
from viewer.tui.system_pane import SystemPane


def tb_logs(root: Path, name: str = "exp", steps: int = 5) -> Path:
    w = tb_writer.SummaryWriter(str(root / name))
    for s in range(steps):
        w.add_scalar("loss", 1.0 / (s + 1), s)
    w.close()
    return root


def loupe(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "viewer", *args],
        env=env or {**os.environ, "PYTHONPATH": str(REPO)},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_summary_line_errors_and_exit_codes(tmp_path, capsys):
    logs = tb_logs(tmp_path / "logs")
    (tmp_path / "empty").mkdir()
    root = tmp_path / "runs"
    assert main(["import", "tensorboard", str(logs), "--root", str(root), "--project", "tb"]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == "tensorboard: imported 1 run, 5 steps" and err == ""
    assert (
        main(["import", "tensorboard", str(logs), str(tmp_path / "empty"), "--root", str(root), "--project", "tb"]) == 1
    )
    out, err = capsys.readouterr()
    assert err.splitlines() == [
        f"loupe: error: {tmp_path / 'empty'}: no TensorBoard event files here (events.out.tfevents.*)"
    ]
    assert out.strip() == (
        "tensorboard: imported 0 runs, 0 steps; skipped 2: 1 unchanged since the last import, "
        f"1 failed ({tmp_path / 'empty'}: no TensorBoard event files here (events.out.tfevents.*))"
    )
    assert main(["import", "tensorboard", str(logs), "--root", str(root), "--project", "bad/name"]) == 1
    assert capsys.readouterr().err.startswith("loupe: error: invalid project name 'bad/name'")
    # The imported run is an ordinary run for `loupe ls` and `loupe sql`.
    assert main(["ls", str(root), "--format", "csv", "--columns", "project,name,state"]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == ["tb,exp,finished"]
    assert main(["sql", "SELECT count(*), max(_step) FROM history", "--root", str(root), "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "5,4"


def test_summary_line_counts():
    report = ImportReport(
        "wandb",
        [
            Outcome("a", IMPORTED, steps=10),
            Outcome("b", UPDATED, steps=5),
            Outcome("c", UNCHANGED),
            Outcome("d", FAILED, reason="corrupt record at byte 9"),
            Outcome("e", FAILED, reason="no such file or folder"),
            Outcome("f", FAILED, reason="x"),
        ],
    )
    assert report.summary_line() == (
        "wandb: imported 2 runs (1 updated), 15 steps; skipped 4: 1 unchanged since the last import, "
        "3 failed (d: corrupt record at byte 9; e: no such file or folder; and 1 more, see the errors above)"
    )


@pytest.mark.parametrize(
    "tool, module, extra",
    [("wandb", "wandb", "wandb"), ("tensorboard", "tensorboard", "tensorboard"), ("mlflow", "mlflow", "mlflow")],
)
def test_missing_reader_is_one_line_naming_the_extra(tmp_path, tool, module, extra):
    # None in sys.modules makes `import x` fail as if x were not installed.
    code = f"import sys; sys.modules[{module!r}] = None; from viewer.cli.main import main; sys.exit(main(['import', {tool!r}, {str(tmp_path)!r}, '--root', {str(tmp_path / 'runs')!r}]))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 1
    (line,) = out.stderr.strip().splitlines()
    assert line.startswith("loupe: error: importing ") and line.endswith(f"pip install 'loupe[{extra}]'")


def test_importing_opens_no_network_connection(tmp_path):
    logs = tb_logs(tmp_path / "logs")
    mlruns = tmp_path / "mlruns"
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, mlflow; mlflow.set_tracking_uri('file://' + sys.argv[1]); "
            "mlflow.set_experiment('e'); r = mlflow.start_run(); mlflow.log_metric('m', 1.0); mlflow.end_run()",
            str(mlruns),
        ],
        env=tool_env(tmp_path),
        check=True,
        timeout=300,
        capture_output=True,
    )
    guard = tmp_path / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(GUARD)
    log = tmp_path / "net.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "WANDB_"))}
    env.update(PYTHONPATH=f"{guard}{os.pathsep}{REPO}", LOUPE_NET_LOG=str(log))
    for args in (["tensorboard", str(logs)], ["mlflow", str(mlruns)], ["wandb", str(tmp_path / "none")]):
        out = loupe("import", *args, "--root", str(tmp_path / "runs"), env=env, cwd=tmp_path)
        assert out.returncode in (0, 1), out.stderr
    assert not log.exists() or log.read_text() == ""
    assert len([p for p in (tmp_path / "runs").glob("*/*") if p.is_dir()]) == 2


async def test_imported_wandb_run_in_the_dashboard(tmp_path):
    pytest.importorskip("wandb")
    src = run_wandb_script(
        tmp_path,
        "import sys, time, wandb\n"
        "run = wandb.init(project='dash', name='from-wandb', dir=sys.argv[1], settings=wandb.Settings(x_stats_sampling_interval=0.1))\n"
        "for i in range(30):\n"
        "    wandb.log({'loss': 1 / (i + 1)})\n"
        "    if i % 10 == 0: print(f'line {i}', flush=True)\n"
        "    time.sleep(0.02)\n"
        "wandb.finish()\n",
    )
    root = tmp_path / "runs"
    assert main(["import", "wandb", str(src), "--root", str(root)]) == 0
    app = LoupeApp([root], live=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert [(r.name, r.project, r.state) for r in app.all_runs] == [("from-wandb", "dash", "finished")]
        app.select([r.id for r in app.all_runs])
        system = await open_tab(app, pilot, "3", SystemPane)
        await settle(pilot)
        mem = system.series["host-mem"]
        assert mem and len(mem[0].ys) >= 2 and all(0 < y < 100 for y in mem[0].ys)
        logs = await open_tab(app, pilot, "4", LogsPane)
        await settle(pilot)
        text = "\n".join(ln.text for ln in logs.query_one("LogView").lines)
        assert "line 0" in text and "line 20" in text
