"""Parsing `name`, `name:alias`, `name:v3`, `project/name:alias`, `entity/project/name:alias`."""

from __future__ import annotations

from dataclasses import dataclass

from recorder import layout
from recorder.artifacts.artifact_names import check_name

LATEST = "latest"


@dataclass(frozen=True)
class Spec:
    project: str | None
    name: str
    alias: str  # 'latest', 'v3' or a custom alias


def parse_spec(spec: str) -> Spec:
    if not isinstance(spec, str) or not spec:
        raise ValueError(f"invalid artifact reference {spec!r}")
    path, sep, alias = spec.rpartition(":") if ":" in spec else (spec, "", "")
    alias = alias if sep else LATEST
    if sep and not alias:
        raise ValueError(f"invalid artifact reference {spec!r}: empty alias after ':'")
    parts = path.split("/")
    if len(parts) > 3 or any(p == "" for p in parts):
        raise ValueError(
            f"invalid artifact reference {spec!r}: use name[:alias], project/name[:alias] "
            "or entity/project/name[:alias]"
        )
    name = check_name(parts[-1], "artifact name")
    project = layout.check_name(parts[-2], "project name") if len(parts) >= 2 else None
    check_name(alias, "alias or version")
    return Spec(project, name, alias)


def parse_target(target_path: str, default_project: str) -> tuple[str, str]:
    """link_artifact target -> (registry, collection): 'coll', 'reg/coll' or 'entity/reg/coll'."""
    if not isinstance(target_path, str) or not target_path:
        raise ValueError(f"invalid link target {target_path!r}")
    if ":" in target_path:
        raise ValueError(f"invalid link target {target_path!r}: pass aliases with aliases=[...], not ':'")
    parts = target_path.split("/")
    if len(parts) > 3 or any(p == "" for p in parts):
        raise ValueError(f"invalid link target {target_path!r}: use registry/collection")
    collection = check_name(parts[-1], "registry collection name")
    registry = (
        check_name(parts[-2], "registry name") if len(parts) >= 2 else check_name(default_project, "registry name")
    )
    return registry, collection


def safe_default_name(text: str) -> str:
    """A usable artifact name from a file name (for log_artifact('model.pth'))."""
    out = "".join(c if (c.isascii() and (c.isalnum() or c in "_.-")) else "-" for c in text)
    while ".." in out:
        out = out.replace("..", ".")
    out = out.lstrip("._-")[:128] or "artifact"
    return out
