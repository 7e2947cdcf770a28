"""The layer rules, checked on every module under recorder/ and viewer/ (parsed with ast).

Data flows one way: the recorder writes files, viewer.data reads them, viewer.tui draws.
So: viewer.data imports no Textual/Rich and no viewer.tui or viewer.cli; viewer.tui imports
no duckdb and no recorder module; the recorder imports no viewer; the viewer takes from
the recorder only recorder.layout (paths, names) and recorder.journal (encodings), except
what ALLOWED_RECORDER_IMPORTS lists. Every import counts: inside functions, under
TYPE_CHECKING, and importlib.import_module("...") with a literal name.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import textwrap
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("recorder", "viewer")
VIEWER_MAY_USE = ("recorder.layout", "recorder.journal")

# Viewer modules that may import more of the recorder: module -> recorder modules (a package
# covers its submodules). docs/architecture.md gives the same table. Shrink it as code moves
# behind recorder.layout / recorder.journal; an entry nothing uses fails test_allow_list_is_current.
ALLOWED_RECORDER_IMPORTS: dict[str, tuple[str, ...]] = {
    # The live host monitor reads GPUs through the recorder's NVML reader (one implementation,
    # same keys); it reads hardware, not run files.
    "viewer.data.host_sampler": ("recorder.gpu_stats",),
    # `loupe artifact download/gc` act on the store as the writer does (hash-checked copies,
    # the garbage collector); `show`/`download` resolve specs with the recorder's own lookup.
    "viewer.cli.artifact_commands": ("recorder.artifacts",),
    # `loupe sweep` creates sweeps and runs the recorder's sweep agent: it is the writer.
    "viewer.cli.sweep_commands": ("recorder.sweeps",),
    # The report is an output file, written with the recorder's temp-file + rename helper.
    "viewer.report.html_page": ("recorder.atomic_json",),
    # Rename/tags/notes (dashboard and `loupe tag/note/rename`) write edits.json: the one
    # locked read-modify-write, shared with the recorder's Api.
    "viewer.data.run_edits": ("recorder.user_edits",),
    # `loupe rm` and the dashboard's delete write the trash record with the recorder's
    # temp-file + fsync + rename helper.
    "viewer.data.run_trash": ("recorder.atomic_json",),
    # The run catalog and part lists (caches, not run files) are replaced the same way.
    "viewer.data.run_catalog": ("recorder.atomic_json",),
    # `loupe import` writes runs from other trackers' files through the recorder's own writer.
    "viewer.cli.import_command": ("recorder.importers",),
}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    path: Path
    line: int
    target: str  # the module imported (an attribute import resolves to its module)

    def where(self) -> str:
        return f"{self.path}:{self.line} ({self.module})"


def module_files(root: Path) -> dict[str, Path]:
    """Every module under root's packages, by dotted name (packages by their __init__)."""
    out: dict[str, Path] = {}
    for pkg in PACKAGES:
        for path in sorted((root / pkg).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imports_of(module: str, path: Path, rel: Path, known: dict[str, Path]) -> list[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    found: list[Import] = []
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, is_package, node)
            # `from pkg import sub` imports the submodule pkg.sub when there is one.
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and (
                (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
                or (isinstance(node.func, ast.Name) and node.func.id in ("import_module", "__import__"))
            )
        ):
            targets = [node.args[0].value]
        found += [Import(module, rel, node.lineno, t) for t in dict.fromkeys(targets)]
    return found


def all_imports(root: Path) -> list[Import]:
    known = module_files(root)
    return [imp for mod, path in known.items() for imp in imports_of(mod, path, path.relative_to(root), known)]


def _under(name: str, *prefixes: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _textual(name: str) -> bool:
    top = name.split(".")[0]
    return top in ("textual", "rich") or top.startswith("textual_")


def violations(imports: list[Import], allowed: dict[str, tuple[str, ...]]) -> list[str]:
    """One line per broken rule: where, what, and which rule."""
    out = []
    for imp in imports:
        m, t = imp.module, imp.target
        if _under(m, "viewer.data") and (_textual(t) or _under(t, "viewer.tui", "viewer.cli")):
            out.append(f"{imp.where()} imports {t}: viewer.data must not import Textual/Rich, viewer.tui or viewer.cli")
        if _under(m, "viewer.tui") and _under(t, "duckdb", "recorder"):
            out.append(f"{imp.where()} imports {t}: viewer.tui must not import duckdb or the recorder")
        elif _under(m, "viewer") and _under(t, "recorder") and not _under(t, *VIEWER_MAY_USE, *allowed.get(m, ())):
            out.append(
                f"{imp.where()} imports {t}: the viewer may use only {' and '.join(VIEWER_MAY_USE)} of the recorder"
            )
        if _under(m, "recorder") and _under(t, "viewer"):
            out.append(f"{imp.where()} imports {t}: the recorder must not import the viewer")
    return out


def shared_file_names(root: Path) -> list[str]:
    by_name: dict[str, list[str]] = defaultdict(list)
    for path in module_files(root).values():
        if path.name not in ("__init__.py", "__main__.py"):
            by_name[path.name].append(str(path.relative_to(root)))
    return [f"{name}: {', '.join(paths)}" for name, paths in sorted(by_name.items()) if len(paths) > 1]


# -- the rules on this repository ---------------------------------------------------------------


def test_every_module_is_checked():
    mods = module_files(REPO)
    assert {"recorder", "recorder.layout", "viewer.data.store", "viewer.tui.app", "viewer.cli.main"} <= set(mods)
    on_disk = {p for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py")}
    assert set(mods.values()) == on_disk


def test_layer_rules_hold():
    problems = violations(all_imports(REPO), ALLOWED_RECORDER_IMPORTS)
    assert not problems, "import rules broken:\n" + "\n".join(problems)


def test_allow_list_is_current():
    """An allowance nothing uses any more is removed, so the list only shrinks."""
    imports = all_imports(REPO)
    stale = [
        f"{m}: {allowed}"
        for m, prefixes in ALLOWED_RECORDER_IMPORTS.items()
        for allowed in prefixes
        if not any(i.module == m and _under(i.target, allowed) for i in imports)
    ]
    assert not stale, "allow-list entries no longer needed:\n" + "\n".join(stale)


def test_allow_list_matches_the_architecture_doc():
    """docs/architecture.md's table of allowed exceptions says the same as the dict."""
    rows = re.findall(
        r"^\| `(viewer/[\w/]+)\.py` \| `(recorder[\w.]*)` \|", (REPO / "docs" / "architecture.md").read_text(), re.M
    )
    documented = {(path.replace("/", "."), target) for path, target in rows}
    listed = {(m, t) for m, targets in ALLOWED_RECORDER_IMPORTS.items() for t in targets}
    assert documented == listed


def test_no_two_modules_share_a_file_name():
    dups = shared_file_names(REPO)
    assert not dups, "modules with the same file name:\n" + "\n".join(dups)


def test_recorder_and_data_layer_load_no_textual():
    """Importing them for real (lazy imports included) loads no Textual; names the first that does."""
    data_modules = sorted(m for m in module_files(REPO) if _under(m, "viewer.data"))
    code = textwrap.dedent(
        f"""
        import importlib, sys
        for name in ["recorder", "viewer", "viewer.cli.main", *{data_modules!r}]:
            importlib.import_module(name)
            if name == "viewer":
                importlib.import_module("viewer").connect  # the lazy attribute loads the store
            if "textual" in sys.modules:
                print(name)
                break
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"importing {out.stdout.strip()} loaded Textual"


# -- the checker itself, on a planted tree ------------------------------------------------------


def _plant(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text))


PLANTED = {
    "recorder/__init__.py": "",
    "recorder/layout.py": "",
    "recorder/run_api.py": "def f():\n    from viewer.data import store\n",
    "recorder/extra/__init__.py": "",
    "recorder/extra/store.py": "",  # shares viewer/data/store.py's name
    "viewer/__init__.py": "",
    "viewer/data/__init__.py": "",
    "viewer/data/store.py": """\
        from typing import TYPE_CHECKING

        from recorder import layout
        from . import sql

        if TYPE_CHECKING:
            from textual.app import App
        """,
    "viewer/data/sql.py": "import importlib\nmod = importlib.import_module('viewer.tui.app')\n",
    "viewer/tui/__init__.py": "",
    "viewer/tui/app.py": "from ..data import store\n\ndef run():\n    import duckdb\n    from recorder.run_api import f\n",
    "viewer/cli/__init__.py": "",
    "viewer/cli/main.py": "from recorder import run_api\nfrom recorder.run_api import f\n",
}


@pytest.fixture
def planted(tmp_path):
    _plant(tmp_path, PLANTED)
    return tmp_path


def test_checker_finds_each_planted_violation(planted):
    problems = violations(all_imports(planted), {})
    text = "\n".join(problems)
    assert "viewer/data/store.py:7 (viewer.data.store) imports textual.app" in text  # under TYPE_CHECKING
    assert "viewer/data/sql.py:2 (viewer.data.sql) imports viewer.tui.app" in text  # import_module
    assert "viewer/tui/app.py:4 (viewer.tui.app) imports duckdb" in text  # inside a function
    assert "viewer/tui/app.py:5 (viewer.tui.app) imports recorder.run_api" in text
    assert "recorder/run_api.py:2 (recorder.run_api) imports viewer.data.store" in text
    assert "viewer/cli/main.py:1 (viewer.cli.main) imports recorder.run_api" in text
    assert "viewer/cli/main.py:2 (viewer.cli.main) imports recorder.run_api" in text
    # Allowed: recorder.layout from the viewer, a relative import inside viewer.data,
    # viewer.tui reading viewer.data.
    assert "imports recorder.layout" not in text and "imports viewer.data.sql" not in text
    assert not any("viewer/tui/app.py:1 " in p for p in problems)
    assert len(problems) == 7, text


def test_allow_list_lets_a_listed_import_through(planted):
    problems = violations(all_imports(planted), {"viewer.cli.main": ("recorder.run_api",)})
    assert not any(p.startswith("viewer/cli/main.py") for p in problems)
    # A viewer.tui module is never let through, listed or not.
    problems = violations(all_imports(planted), {"viewer.tui.app": ("recorder",)})
    assert any("viewer/tui/app.py:5" in p for p in problems)


def test_checker_finds_shared_file_names(planted):
    assert shared_file_names(planted) == ["store.py: recorder/extra/store.py, viewer/data/store.py"]
