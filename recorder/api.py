"""`recorder.Api`: read runs and artifacts from a local root, no server, no API key.

    api = recorder.Api("runs")                      # or LOUPE_DIR, default ./runs
    api.artifact("my-project/model:production").download()
    for art in api.artifacts("model", "my-project/model"): print(art.version, art.aliases)
    runs = api.runs("my-project", filters={"config.lr": {"$gt": 1e-3}}, order="-summary_metrics.val/acc")
    runs[0].history(keys=["val/acc"]); api.run("my-project/<run id>").scan_history()

Runs are ApiRun (recorder/api_run.py); docs/python-api.md sets each call beside
wandb's and says what differs.

Like wandb.Api(overrides={...}), a dict as the first argument is read as overrides
("project", and "root" or "dir").
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from recorder import journal, layout
from recorder.api_run import ApiRun
from recorder.run_filters import matches, order_key, sort_value

__all__ = ["Api", "ApiRun", "Runs"]


class Api:
    def __init__(
        self,
        root: str | os.PathLike | dict | None = None,
        overrides: dict | None = None,
        timeout: Any = None,
        api_key: Any = None,
        **_ignored: Any,
    ) -> None:
        if isinstance(root, dict):
            overrides, root = root, None
        overrides = dict(overrides or {})
        root = root or overrides.get("root") or overrides.get("dir") or os.environ.get("LOUPE_DIR") or "runs"
        self.root = Path(root)
        self.default_project = (
            overrides.get("project") or os.environ.get("LOUPE_PROJECT") or os.environ.get("WANDB_PROJECT") or "default"
        )

    def __repr__(self) -> str:
        return f"<Api root={str(self.root)!r}>"

    # -- artifacts ----------------------------------------------------------------------
    def artifact(self, name: str, type: str | None = None) -> Any:
        """`name[:alias]`, `project/name[:alias]`, `entity/project/name[:alias]`; alias
        defaults to latest and may be `v<N>`. Registry collections resolve as
        `registry/collection:alias`."""
        from recorder.artifacts.lookup import load_artifact

        return load_artifact(self.root, name, self.default_project, type=type)

    def artifact_exists(self, name: str, type: str | None = None) -> bool:
        from recorder.artifacts.lookup import ArtifactNotFoundError

        try:
            self.artifact(name, type=type)
        except (ArtifactNotFoundError, ValueError):
            return False
        return True

    def _split(self, name: str) -> tuple[str, str]:
        parts = name.split(":")[0].split("/")
        project = parts[-2] if len(parts) >= 2 else self.default_project
        return layout.check_name(project, "project name"), parts[-1]

    def artifacts(
        self, type_name: str | None = None, name: str | None = None, per_page: int | None = None, tags: Any = None
    ) -> list[Any]:
        """Every version (oldest first) of artifact `name` (`project/name` or a name in
        the default project), optionally only if it has type `type_name`."""
        from recorder.artifacts import versions as _versions
        from recorder.artifacts.artifact import Artifact
        from recorder.artifacts.locations import collection_dir

        if name is None:
            raise ValueError("artifacts(type_name, name): name is required")
        project, base = self._split(name)
        cdir = collection_dir(self.root, project, base)
        out = []
        for v in _versions.list_versions(cdir):
            art = Artifact._from_disk(self.root, project, base, v)
            if type_name is None or art.type == type_name:
                out.append(art)
        if not out:
            from recorder.artifacts import registry

            rdir = registry.collection_dir(self.root, project, base)
            out = [registry.load_link(self.root, project, base, v) for v in _versions.list_versions(rdir)]
            out = [a for a in out if type_name is None or a.type == type_name]
        return out

    artifact_versions = artifacts

    def artifact_collections(self, project_name: str | None = None, type_name: str | None = None) -> list[str]:
        """Artifact names in a project (those with a version of `type_name`, if given)."""
        project = layout.check_name(project_name or self.default_project, "project name")
        names = layout.artifact_collections(self.root, project)
        if type_name is None:
            return names
        cdir = layout.artifact_collections_dir(self.root, project)
        return [n for n in names if any(r.get("type") == type_name for r in journal.read_collection(cdir / n))]

    # -- runs ------------------------------------------------------------------------------
    def _project(self, path: str | None) -> str:
        """`project` or `entity/project` (the entity is ignored: every run is local)."""
        parts = (path or self.default_project).strip("/").split("/")
        if len(parts) > 2:
            raise ValueError(f"runs({path!r}): use 'project' or 'entity/project'")
        return layout.check_name(parts[-1], "project name")

    def runs(
        self,
        path: str | None = None,
        filters: dict[str, Any] | None = None,
        order: str | None = "+created_at",
        per_page: int = 50,
        include_sweeps: bool = True,
        lazy: bool = True,
    ) -> Runs:
        """The project's runs that match `filters` (MongoDB-style, recorder.run_filters),
        sorted by `order` (`+created_at` by default; `-summary_metrics.val/acc`...;
        runs lacking the field come last). `per_page` is accepted; everything is local."""
        project = self._project(path)
        pdir = self.root / project
        if not pdir.is_dir():
            known = layout.listed_names(self.root, lambda n: layout.check_name(n, "project name"), Path.is_dir)
            raise ValueError(f"no project {project!r} under {self.root} (projects: {', '.join(known) or 'none'})")
        field, descending = order_key(order)
        names = layout.listed_names(pdir, lambda n: layout.check_name(n, "run id"), layout.is_run_dir)
        found = [r for r in (ApiRun(self.root, project, n) for n in names) if matches(filters, r.field)]
        keyed = [(sort_value(r.field(field), field), r) for r in found]
        present = sorted((k for k in keyed if k[0][0] < 8), key=lambda k: k[0], reverse=descending)
        return Runs([r for _, r in present] + [r for k, r in keyed if k[0] >= 8])

    def run(self, path: str) -> ApiRun:
        """`project/run_id`, `entity/project/run_id` or `entity/project/runs/run_id`."""
        parts = path.strip("/").split("/")
        if len(parts) >= 3 and parts[-2] == "runs":
            parts = parts[:-2] + parts[-1:]
        if len(parts) < 2:
            raise ValueError(f"run path {path!r}: use project/run_id")
        project = layout.check_name(parts[-2], "project name")
        run_id = layout.check_name(parts[-1], "run id")
        if not layout.is_run_dir(self.root / project / run_id):
            raise LookupError(f"no run {project}/{run_id} under {self.root}")
        return ApiRun(self.root, project, run_id)


class Runs(list):
    """The runs `Api.runs()` found (a list), with wandb's `histories()`."""

    def histories(
        self,
        samples: int = 500,
        keys: list[str] | None = None,
        x_axis: str = "_step",
        format: str = "default",
        stream: str = "default",
    ) -> Any:
        """Every run's sampled history with a `run_id` column: "default" a list of dicts,
        "pandas" a DataFrame, "arrow" a pyarrow Table."""
        import pyarrow as pa

        from recorder.api_run import FORMATS, convert

        if format not in FORMATS:
            raise ValueError(f"format {format!r}: use one of {', '.join(FORMATS)}")
        tables = []
        for run in self:
            table = run.history(samples=samples, keys=keys, x_axis=x_axis, stream=stream, format="arrow")
            if table.num_rows:
                tables.append(table.append_column("run_id", pa.array([run.id] * table.num_rows, pa.string())))
        if not tables:
            return convert(pa.table({}), format)
        return convert(pa.concat_tables(tables, promote_options="permissive"), format)
