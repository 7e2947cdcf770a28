"""Integrations stay optional: `import recorder` pulls in no framework, a missing one says what to install."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "lightning", "pytorch_lightning", "transformers", "keras", "tensorflow", "jax")


def _python(code: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    full_env.update(
        PYTHONPATH=str(REPO), LOUPE_DIR=str(tmp_path / "runs"), LOUPE_SYSTEM_INTERVAL="0", LOUPE_CONSOLE="off", **env
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=full_env, capture_output=True, text=True, timeout=60
    )


def test_recorder_and_integrations_package_import_no_framework(tmp_path):
    code = f"""
import json, sys
import recorder
recorder.integrations                      # the lazy attribute
import recorder.integrations.distributed   # what init() uses
run = recorder.init(project="p", config={{"a": 1}})
run.log({{"x": 1.0}})
run.finish()
print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))
"""
    out = _python(code, tmp_path, RANK="1", WORLD_SIZE="2", LOUPE_DISTRIBUTED="all")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_integration_submodules_load_on_attribute_access():
    pytest.importorskip("transformers")
    import recorder

    assert recorder.integrations.transformers.Callback.__name__ == "Callback"
    with pytest.raises(AttributeError):
        recorder.integrations.nope


@pytest.mark.parametrize(
    "module, extra, blocked",
    [
        ("lightning", "lightning", ("lightning", "pytorch_lightning")),
        ("transformers", "transformers", ("transformers",)),
        ("keras", "keras", ("keras",)),
    ],
)
def test_missing_framework_is_one_clear_import_error(tmp_path, module, extra, blocked):
    # None in sys.modules makes `import x` fail as if x were not installed.
    code = f"""
import sys
for name in {blocked!r}:
    sys.modules[name] = None
import recorder.integrations.{module}
"""
    out = _python(code, tmp_path)
    assert out.returncode == 1
    err = out.stderr.strip()
    last = err.splitlines()[-1]
    assert last.startswith(f"ImportError: recorder.integrations.{module} needs ")
    assert f"pip install 'loupe[{extra}]'" in last
    # One error, not a chain of them.
    assert "During handling" not in err and "direct cause" not in err
