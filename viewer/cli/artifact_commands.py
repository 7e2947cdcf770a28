"""`loupe artifacts ls|show|download|gc`.

Wire into the main parser with:

    from viewer.cli.main import artifact_commands as artifacts_cli
    artifacts_cli.add_parser(subparsers)      # adds "artifacts", sets func=artifacts_cli.handle
    args = parser.parse_args(); return args.func(args)

Every subcommand takes `--root` (default: LOUPE_DIR or ./runs). `main(argv)` runs it alone:
`python -m viewer.cli.artifact_commands ls`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from viewer.cli.text_rows import write_rows
from viewer.data.byte_size import format_bytes

GRACE_S = 3600.0


def _safe(value: Any) -> str:
    """Text for a terminal: control and escape characters shown as \\xNN, never emitted."""
    s = "" if value is None else str(value)
    return "".join(c if (c.isprintable() or c == " ") else f"\\x{ord(c):02x}" for c in s)


def _root(args: argparse.Namespace) -> Path:
    root = getattr(args, "root", None)
    if isinstance(root, (list, tuple)):
        root = root[0] if root else None
    return Path(root or os.environ.get("LOUPE_DIR") or "runs")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `artifacts` command (with ls/show/download/gc) to an argparse subparsers object."""
    p = subparsers.add_parser(
        "artifacts",
        help="list, inspect, download and garbage-collect artifacts",
        description="Artifacts stored under <root>/<project>/_artifacts.",
    )
    sub = p.add_subparsers(dest="artifacts_command", metavar="{ls,show,download,gc}")
    sub.required = True

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument(
            "--root",
            "-r",
            action="append",
            default=argparse.SUPPRESS,
            metavar="ROOT",
            help="runs root (default: LOUPE_DIR or ./runs; the first one if repeated)",
        )

    ls = sub.add_parser("ls", help="list artifacts, or the versions of one (project/name)")
    ls.add_argument("target", nargs="?", help="project, or project/name to list its versions")
    ls.add_argument("--type", help="only artifacts of this type")
    ls.add_argument("--registry", action="store_true", help="list registry collections instead")
    ls.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    common(ls)

    show = sub.add_parser("show", help="details of one version: project/name[:alias|:vN]")
    show.add_argument("spec")
    show.add_argument("--json", action="store_true")
    common(show)

    dl = sub.add_parser("download", help="materialise a version's files (verified by sha256)")
    dl.add_argument("spec")
    dl.add_argument("--dir", "-o", help="destination folder (default ./artifacts/<name>:v<N>)")
    dl.add_argument("--link", action="store_true", help="hard-link read-only store objects instead of copying")
    common(dl)

    gc = sub.add_parser("gc", help="remove store objects no manifest references (dry run unless --yes)")
    gc.add_argument("--project", action="append", help="only this project (repeatable)")
    gc.add_argument("--yes", action="store_true", help="really delete")
    gc.add_argument(
        "--grace",
        type=float,
        default=GRACE_S,
        help=f"keep objects touched in the last N seconds (default {GRACE_S:.0f}: a log in progress)",
    )
    common(gc)

    p.set_defaults(func=handle)
    return p


def handle(args: argparse.Namespace) -> int:
    """Run the parsed `artifacts` subcommand; returns the exit code."""
    from recorder.artifacts import (
        ArtifactCorruptedError,
        ArtifactMissingError,
        ArtifactNotFoundError,
    )

    cmd = getattr(args, "artifacts_command", None)
    try:
        if cmd == "ls":
            return cmd_ls(args)
        if cmd == "show":
            return cmd_show(args)
        if cmd == "download":
            return cmd_download(args)
        if cmd == "gc":
            return cmd_gc(args)
    except (ArtifactNotFoundError, ArtifactCorruptedError, ArtifactMissingError, ValueError, OSError) as exc:
        print(f"loupe artifacts: {_safe(exc)}", file=sys.stderr)
        return 2 if isinstance(exc, ArtifactCorruptedError) else 1
    print("loupe artifacts: choose one of ls, show, download, gc", file=sys.stderr)
    return 2


def cmd_ls(args: argparse.Namespace, out=None) -> int:
    from recorder import layout
    from viewer.data import artifact_index as index

    out = out or sys.stdout
    root = _root(args)
    if args.registry:
        rows = index.link_rows(root)
        if args.json:
            for r in rows:
                out.write(json.dumps(r) + "\n")
            return 0
        table = [["COLLECTION", "VERSION", "ALIASES", "TYPE", "SOURCE"]]
        for r in rows:
            table.append(
                [
                    _safe(f"{r['registry']}/{r['collection']}"),
                    f"v{r['version']}",
                    _safe(",".join(r["aliases"])),
                    _safe(r["type"]),
                    _safe(f"{r['source_project']}/{r['source_name']}:v{r['source_version']}"),
                ]
            )
        write_rows(table, out)
        return 0
    target = args.target
    if target and "/" in target:
        project, name = target.split("/", 1)
        records = index.versions(root, project, name.split(":")[0])
        rows = [r for r in index.artifact_rows(root, records=records) if not args.type or r["type"] == args.type]
        if args.json:
            for r in rows:
                out.write(json.dumps(r) + "\n")
            return 0
        table = [["VERSION", "ALIASES", "SIZE", "FILES", "CREATED", "RUN", "DIGEST"]]
        for r in rows:
            table.append(
                [
                    f"v{r['version']}",
                    _safe(",".join(r["aliases"])),
                    format_bytes(r["size"], "-"),
                    str(r["file_count"]),
                    _safe(r["created_at"]),
                    _safe(r["producer_run_id"] or "-"),
                    _safe((r["digest"] or "")[:12]),
                ]
            )
        write_rows(table, out)
        return 0
    projects = [layout.check_name(target, "project name")] if target else index.projects(root)
    summary = []
    for p in projects:
        for n in index.collections(root, p):
            vs = index.versions(root, p, n)
            if not vs:
                continue
            last = vs[-1]
            if args.type and last.get("type") != args.type:
                continue
            summary.append(
                {
                    "project": p,
                    "name": n,
                    "type": last.get("type"),
                    "versions": len(vs),
                    "latest": f"v{last['version']}",
                    "size": last.get("size"),
                    "aliases": sorted({a for v in vs for a in v["aliases"] if a != "latest"}),
                }
            )
    if args.json:
        for r in summary:
            out.write(json.dumps(r) + "\n")
        return 0
    table = [["ARTIFACT", "TYPE", "VERSIONS", "LATEST", "SIZE", "ALIASES"]]
    for r in summary:
        table.append(
            [
                _safe(f"{r['project']}/{r['name']}"),
                _safe(r["type"]),
                str(r["versions"]),
                r["latest"],
                format_bytes(r["size"], "-"),
                _safe(",".join(r["aliases"])),
            ]
        )
    write_rows(table, out)
    return 0


def _default_project() -> str:
    return os.environ.get("LOUPE_PROJECT") or os.environ.get("WANDB_PROJECT") or "default"


def cmd_show(args: argparse.Namespace, out=None) -> int:
    from recorder.artifacts import load_artifact

    out = out or sys.stdout
    art = load_artifact(_root(args), args.spec, _default_project())
    info = {
        "name": art.qualified_name,
        "source": f"{art.source_project}/{art.source_name}",
        "type": art.type,
        "aliases": art.aliases,
        "digest": art.digest,
        "size": art.size,
        "created_at": art.created_at,
        "description": art.description,
        "metadata": art.metadata,
        "logged_by": art.logged_by(),
        "used_by": art.used_by(),
        "skipped": art.skipped,
        "files": [{"path": e.path, "size": e.size, "digest": e.digest, "ref": e.ref} for e in art.files()],
    }
    if args.json:
        out.write(json.dumps(info, indent=2, default=str) + "\n")
        return 0
    for key in (
        "name",
        "source",
        "type",
        "aliases",
        "digest",
        "size",
        "created_at",
        "description",
        "logged_by",
        "used_by",
    ):
        value = info[key]
        if isinstance(value, list):
            value = ", ".join(value) or "-"
        elif key == "size":
            value = format_bytes(value, "-")
        out.write(f"{key:12} {_safe(value if value is not None else '-')}\n")
    out.write(f"{'metadata':12} {_safe(json.dumps(info['metadata'], default=str))}\n")
    if info["skipped"]:
        out.write(f"skipped when logged ({len(info['skipped'])}):\n")
        for s in info["skipped"]:
            out.write(f"  {_safe(s.get('path'))}  ({_safe(s.get('reason'))})\n")
    out.write(f"files ({len(info['files'])}):\n")
    table = [
        [_safe(f["path"]), format_bytes(f["size"], "-"), _safe(f["ref"] or (f["digest"] or "")[:12])]
        for f in info["files"]
    ]
    write_rows([["  " + r[0], r[1], r[2]] for r in table], out)
    return 0


def cmd_download(args: argparse.Namespace, out=None) -> int:
    from recorder.artifacts import load_artifact

    out = out or sys.stdout
    art = load_artifact(_root(args), args.spec, _default_project())
    path = art.download(root=args.dir, link=args.link)
    out.write(_safe(path) + "\n")
    return 0


def cmd_gc(args: argparse.Namespace, out=None) -> int:
    from recorder import layout
    from recorder.artifacts.object_store import ObjectStore, referenced_digests

    out = out or sys.stdout
    root = _root(args)
    projects = (
        [layout.check_name(p, "project name") for p in args.project] if args.project else layout.artifact_projects(root)
    )
    now = time.time()
    total_n = total_bytes = 0
    for project in projects:
        store = ObjectStore(layout.artifacts_dir(root, project))
        try:
            referenced = referenced_digests(root, project)
        except Exception as exc:
            print(
                f"loupe artifacts gc: {project}: a manifest is unreadable ({_safe(exc)}); "
                "nothing removed in this project",
                file=sys.stderr,
            )
            continue
        doomed = []
        for digest, path, mtime in store.iter_objects():
            if now - mtime < args.grace:
                continue  # may belong to a log_artifact in progress
            if digest is not None and digest in referenced:
                continue
            doomed.append((digest, path))
        if not doomed:
            continue
        if args.yes:
            # Re-read the manifests right before deleting: a version published meanwhile wins.
            try:
                referenced = referenced_digests(root, project)
            except Exception:
                print(f"loupe artifacts gc: {project}: a manifest became unreadable; nothing removed", file=sys.stderr)
                continue
        for digest, path in doomed:
            if digest is not None and digest in referenced:
                continue
            try:
                size = os.lstat(path).st_size
            except OSError:
                continue
            total_n += 1
            total_bytes += size
            label = f"{project}/{digest}" if digest else f"{project}/{path.name} (unfinished write)"
            if args.yes:
                try:
                    os.unlink(path)
                except OSError as exc:
                    print(f"loupe artifacts gc: cannot remove {_safe(path)}: {_safe(exc)}", file=sys.stderr)
                    continue
                out.write(f"removed {_safe(label)} ({format_bytes(size)})\n")
            else:
                out.write(f"would remove {_safe(label)} ({format_bytes(size)})\n")
    verb = "removed" if args.yes else "would remove"
    out.write(
        f"{verb} {total_n} object(s), {format_bytes(total_bytes)}"
        + ("" if args.yes or not total_n else "; run with --yes to delete")
        + "\n"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="loupe")
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["artifacts", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
