"""`loupe tag|note|rename|rm|restore|gc`: fix a run's name, tags and notes; delete runs.

    loupe tag RUN [+TAG|TAG|-TAG]...     add (+TAG or TAG) and remove (-TAG) tags; none: print them
    loupe note RUN [TEXT|-]              set the notes ('-' reads stdin, '' clears); none: print them
    loupe rename RUN NAME
    loupe rm RUN... [--force] [--yes]    move runs to the root's trash (asks first)
    loupe restore [RUN...]               put runs back; none: list the trash
    loupe gc --trash [--older-than DAYS] [--yes]   empty the trash for good

RUN is an id, a unique id prefix, a name or project/id, as everywhere. Edits go to the
run's edits.json (recorder.user_edits.edit_run), never to run.json, so they survive a live
run's rewrites and show at once in `loupe ls`, `loupe sql` and the dashboard. A running
run is not deleted unless --force.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from viewer.cli.output import UsageError, cell
from viewer.cli.run_commands import open_store, run_roots
from viewer.data.byte_size import format_bytes

__all__ = ["add_parsers", "confirm"]


def confirm(question: str, yes: bool) -> bool:
    """True when --yes was given or the user answers y; no answer (EOF) is no."""
    if yes:
        return True
    sys.stderr.write(f"{question} [y/N] ")
    sys.stderr.flush()
    answer = sys.stdin.readline()
    if not answer.endswith("\n"):
        sys.stderr.write("\n")
    return answer.strip().lower() in ("y", "yes")


def _fail(message: str) -> int:
    print(f"loupe: error: {cell(message, 400)}", file=sys.stderr)
    return 1


def _edit(args: argparse.Namespace, **change: Any) -> tuple[Any, Any]:
    """(the run before, the run after) an edit_run() with `change`."""
    from viewer.data.run_edits import edit_run

    store = open_store(run_roots(args.root))
    before = store.resolve(args.run)
    try:
        edit_run(before.path, **change)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    store.refresh()
    return before, store.resolve(before.id)


# -- tag, note, rename --------------------------------------------------------------------


def _split_tag_args(tokens: list[str], roots: list[str]) -> tuple[list[str], list[str]]:
    """(added, removed) from `+a b -c`; `--root DIR` may come after RUN too."""
    add: list[str] = []
    remove: list[str] = []
    it = iter(tokens)
    literal = False
    for tok in it:
        if not literal and tok == "--":
            literal = True
        elif not literal and tok in ("--root", "-r"):
            root = next(it, None)
            if root is None:
                raise UsageError(f"{tok} needs a directory")
            roots.append(root)
        elif not literal and tok.startswith("--root="):
            roots.append(tok.split("=", 1)[1])
        elif tok.startswith("-") and len(tok) > 1:
            remove.append(tok[1:])
        elif tok.startswith("+") and len(tok) > 1:
            add.append(tok[1:])
        else:
            add.append(tok)
    return add, remove


def cmd_tag(args: argparse.Namespace) -> int:
    args.root = list(args.root or [])
    add, remove = _split_tag_args(args.changes, args.root)
    if not add and not remove:
        info = open_store(run_roots(args.root)).resolve(args.run)
    else:
        _, info = _edit(args, add_tags=add, remove_tags=remove)
    print(f"{cell(info.ref, None)}  tags: {cell(', '.join(info.tags) or '(none)', 400)}")
    return 0


def cmd_note(args: argparse.Namespace) -> int:
    if args.text is None:
        info = open_store(run_roots(args.root)).resolve(args.run)
        if info.notes:
            print(cell(info.notes, None))
        return 0
    text = sys.stdin.read() if args.text == "-" else args.text
    _, info = _edit(args, notes=text.rstrip("\n"))
    print(f"{cell(info.ref, None)}  notes: {cell(info.notes or '(cleared)', 80)}")
    return 0


def cmd_rename(args: argparse.Namespace) -> int:
    old, info = _edit(args, name=args.name)
    print(f"{cell(info.ref, None)}  renamed {cell(old.name or old.id, 80)} -> {cell(info.name, 80)}")
    return 0


# -- rm, restore, gc ------------------------------------------------------------------------


def cmd_rm(args: argparse.Namespace) -> int:
    from viewer.data.run_trash import RunIsRunning, move_to_trash

    store = open_store(run_roots(args.root))
    infos = list({i.id: i for i in (store.resolve(r) for r in args.runs)}.values())
    running = [i for i in infos if i.state == "running"]
    if running and not args.force:
        names = ", ".join(i.ref for i in running[:5])
        return _fail(f"{len(running)} of these runs are running ({names}); stop them first or pass --force")
    print(f"move {len(infos)} run{'s' if len(infos) != 1 else ''} to the trash:")
    for i in infos:
        print(f"  {cell(i.ref, 60)}  {cell(i.name, 40)}  {i.state}")
    if not confirm(f"Move {len(infos)} run{'s' if len(infos) != 1 else ''} to the trash?", args.yes):
        print("nothing deleted", file=sys.stderr)
        return 1
    moved = []
    for i in infos:
        try:
            entry = move_to_trash(i, force=args.force)
        except (RunIsRunning, OSError, ValueError) as exc:
            _fail(f"{exc}; not deleted")
            continue
        moved.append(entry)
        print(f"moved {cell(i.ref, None)} to {cell(str(entry.trash_path), None)}")
    if moved:
        print(f"undo with: loupe restore {' '.join(e.id for e in moved)}")
    return 0 if len(moved) == len(infos) else 1


def _trash_roots(args: argparse.Namespace) -> list[Any]:
    from pathlib import Path

    roots = run_roots(args.root)
    for r in roots:
        if not Path(r).is_dir():
            raise FileNotFoundError(f"run root {str(r)!r} does not exist")
    return roots


def _entry_line(e: Any) -> str:
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(e.deleted_at)) if e.deleted_at else "?"
    return f"  {cell(e.ref, 60)}  {cell(e.name, 40)}  deleted {when}  was {cell(str(e.path), None)}"


def cmd_restore(args: argparse.Namespace) -> int:
    from viewer.data.run_lookup import RunNotFound
    from viewer.data.run_trash import find_in_trash, list_trash, restore

    roots = _trash_roots(args)
    entries = list_trash(roots)
    if not args.runs:
        if not entries:
            print("the trash is empty")
        for e in entries:
            print(_entry_line(e))
        return 0
    picked = []
    for ref in args.runs:
        try:
            picked.append(find_in_trash(ref, entries))
        except RunNotFound as exc:
            raise RunNotFound(f"{exc.args[0]} in the trash (`loupe restore` lists it)") from exc
    code = 0
    for e in dict.fromkeys(picked):
        try:
            dest = restore(e)
        except OSError as exc:
            code = _fail(str(exc))
            continue
        print(f"restored {cell(e.ref, None)} to {cell(str(dest), None)}")
    return code


def cmd_gc(args: argparse.Namespace) -> int:
    from viewer.data.run_trash import empty_trash, list_trash

    if not args.trash:
        raise UsageError("say what to collect: --trash empties the runs' trash (`loupe artifacts gc` cleans artifacts)")
    entries = list_trash(_trash_roots(args))
    if args.older_than is not None:
        cutoff = time.time() - args.older_than * 86400
        entries = [e for e in entries if e.deleted_at is not None and e.deleted_at < cutoff]
    if not entries:
        print("nothing to delete: the trash is empty" if args.older_than is None else "nothing that old in the trash")
        return 0
    for e in entries:
        print(_entry_line(e))
    n = len(entries)
    if not confirm("Delete this run for good?" if n == 1 else f"Delete these {n} runs for good?", args.yes):
        print("nothing deleted", file=sys.stderr)
        return 1
    freed = empty_trash(entries)
    print(f"deleted {n} run{'s' if n != 1 else ''} from the trash ({format_bytes(freed)} freed)")
    return 0


# -- parsers ----------------------------------------------------------------------------------


def _root_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--root", "-r", action="append", metavar="ROOT", help="run root (default: ./runs); repeatable")


def add_parsers(sub: Any) -> None:
    """Add tag, note, rename, rm, restore and gc to the main parser's subparsers."""
    t = sub.add_parser(
        "tag",
        help="add (+TAG) or remove (-TAG) a run's tags",
        description="Add (+TAG or TAG) and remove (-TAG) tags; with none, print the run's tags.",
    )
    _root_option(t)
    t.add_argument("run", metavar="RUN")
    t.add_argument("changes", nargs=argparse.REMAINDER, metavar="+TAG|-TAG")
    t.set_defaults(func=cmd_tag)

    n = sub.add_parser("note", help="set a run's notes ('-' reads them from stdin, '' clears)")
    _root_option(n)
    n.add_argument("run", metavar="RUN")
    n.add_argument("text", nargs="?", metavar="TEXT")
    n.set_defaults(func=cmd_note)

    r = sub.add_parser("rename", help="give a run a new name")
    _root_option(r)
    r.add_argument("run", metavar="RUN")
    r.add_argument("name", metavar="NAME")
    r.set_defaults(func=cmd_rename)

    rm = sub.add_parser("rm", help="move runs to the trash under their root (undo with `loupe restore`)")
    _root_option(rm)
    rm.add_argument("runs", nargs="+", metavar="RUN")
    rm.add_argument("--force", action="store_true", help="delete even a run that is still running")
    rm.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    rm.set_defaults(func=cmd_rm)

    rs = sub.add_parser("restore", help="put runs back from the trash; with no RUN, list the trash")
    _root_option(rs)
    rs.add_argument("runs", nargs="*", metavar="RUN")
    rs.set_defaults(func=cmd_restore)

    gc = sub.add_parser("gc", help="free disk space: --trash deletes the trashed runs for good")
    _root_option(gc)
    gc.add_argument("--trash", action="store_true", help="empty the trash")
    gc.add_argument("--older-than", type=float, metavar="DAYS", help="only runs deleted more than DAYS ago")
    gc.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    gc.set_defaults(func=cmd_gc)
