"""`recorder.Api`: read runs and artifacts from a local root, no server, no API key.

    api = recorder.Api("runs")                      # or LOUPE_DIR, default ./runs
    api.artifact("my-project/model:production").download()
    for art in api.artifacts("model", "my-project/model"): print(art.version, art.aliases)
    for run in api.runs("my-project"): print(run.id, run.state, run.summary.get("loss"))

Like wandb.Api(overrides={...}), a dict as the first argument is read as overrides
("project", and "root" or "dir").
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from recorder import journal, layout


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

    # -- runs (minimal) -----------------------------------------------------------------
    def runs(
        self, path: str | None = None, filters: Any = None, order: Any = None, per_page: Any = None
    ) -> list[ApiRun]:
        project = layout.check_name((path or self.default_project).split("/")[-1], "project name")
        names = layout.listed_names(self.root / project, lambda n: layout.check_name(n, "run id"), layout.is_run_dir)
        return [ApiRun(self.root, project, n) for n in names]

    def run(self, path: str) -> ApiRun:
        parts = path.split("/")
        if len(parts) < 2:
            raise ValueError(f"run path {path!r}: use project/run_id")
        project = layout.check_name(parts[-2], "project name")
        run_id = layout.check_name(parts[-1], "run id")
        if not layout.is_run_dir(self.root / project / run_id):
            raise LookupError(f"no run {project}/{run_id} under {self.root}")
        return ApiRun(self.root, project, run_id)


class ApiRun:
    """A recorded run, read from its JSON sidecars (no history: use the viewer or DuckDB).

    Name, tags, notes and summary are as the user last edited them (edits.json over
    run.json and summary.json; see recorder.user_edits.edit_run)."""

    def __init__(self, root: Path, project: str, run_id: str) -> None:
        self._root = Path(root)
        self.project = project
        self.id = run_id
        self.dir = self._root / project / run_id
        info, _ = journal.apply_edits(self._read(layout.RUN_FILE), {}, journal.read_edits(self.dir))
        self.name = info.get("name") or run_id
        self.state = info.get("state")
        self.tags = info.get("tags") or []
        self.group = info.get("group")
        self.job_type = info.get("job_type")
        self.notes = info.get("notes")
        self.created_at = info.get("created_at")
        self.metadata = info

    def _read(self, name: str) -> dict[str, Any]:
        return journal.read_json_object(self.dir / name) or {}

    @property
    def path(self) -> list[str]:
        return [self.project, self.id]

    @property
    def config(self) -> dict[str, Any]:
        return self._read(layout.CONFIG_FILE)

    @property
    def summary(self) -> dict[str, Any]:
        return journal.apply_edits({}, self._read(layout.SUMMARY_FILE), journal.read_edits(self.dir))[1]

    def _artifacts(self, kind: str) -> list[Any]:
        from recorder.artifacts.artifact import Artifact

        out = []
        for item in journal.read_run_artifacts(self.dir)[kind]:
            try:
                out.append(
                    Artifact._from_disk(
                        self._root,
                        layout.check_name(item["project"], "project name"),
                        item["name"],
                        int(item["version"]),
                    )
                )
            except Exception:
                continue
        return out

    def logged_artifacts(self) -> list[Any]:
        return self._artifacts("outputs")

    def used_artifacts(self) -> list[Any]:
        return self._artifacts("inputs")

    def __repr__(self) -> str:
        return f"<ApiRun {self.project}/{self.id} ({self.state})>"
