"""`loupe serve [ROOT...] [--host 127.0.0.1] [--port 8000] [--public]`: the dashboard in a browser.

The same Textual dashboard, relayed by textual-serve (viewer.web.dashboard_server):
each browser tab gets its own `loupe view ROOT...` process. It listens on loopback
unless --public is given, and prints the URL (with its access token) and the `ssh -L`
line that reaches it from a laptop.
"""

from __future__ import annotations

import argparse
import getpass
import ipaddress
import secrets
import shlex
import socket
import sys
from typing import Any

from viewer.cli.output import UsageError
from viewer.cli.run_commands import run_roots


def is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_host(host: str, public: bool) -> None:
    """Anything but loopback (0.0.0.0, ::, an interface address or name) needs --public."""
    if not is_loopback(host) and not public:
        raise UsageError(
            f"--host {host} would let other machines reach the dashboard; add --public if you mean it, "
            "or keep 127.0.0.1 and use ssh -L"
        )


def ssh_hint(port: int) -> str:
    user = getpass.getuser()
    return f"ssh -N -L {port}:127.0.0.1:{port} {user}@{socket.gethostname()}"


def cmd_serve(args: argparse.Namespace) -> int:
    if not 1 <= args.port <= 65535:
        raise UsageError("--port must be between 1 and 65535")
    check_host(args.host, args.public)
    roots = run_roots(args.roots)
    for r in roots:
        if not r.is_dir():
            raise FileNotFoundError(f"run root {str(r)!r} does not exist")
    from viewer.web.dashboard_server import DashboardServer

    command = shlex.join([sys.executable, "-m", "viewer", "view", *(str(r.resolve()) for r in roots)])
    if args.poll:
        command += " --poll"
    token = secrets.token_urlsafe(24)
    shown = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{'127.0.0.1' if args.host in ('0.0.0.0', '::') else shown}:{args.port}/?token={token}"

    def announce() -> None:
        lines = [f"loupe: serving the dashboard of {', '.join(str(r) for r in roots)}", f"  open {url}"]
        if is_loopback(args.host):
            lines.append(f"  from another machine: {ssh_hint(args.port)}  then open the same URL there")
        else:
            lines.append("  listening beyond loopback: anyone who has the URL (with its token) can use it")
        lines.append("  Ctrl+C stops")
        print("\n".join(lines), flush=True)

    server = DashboardServer(command, host=args.host, port=args.port, token=token, announce=announce)
    try:
        server.serve()
    except OSError as exc:
        raise OSError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from exc
    return 0


def add_parser(sub: Any) -> None:
    s = sub.add_parser(
        "serve",
        help="the dashboard in a web browser (textual-serve), on loopback by default",
        description="Serve the dashboard to a browser. It listens on 127.0.0.1; from a laptop, "
        "forward the port with ssh -L (printed at start).",
    )
    s.add_argument("roots", nargs="*", metavar="ROOT", help="run roots (default: ./runs)")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    s.add_argument("--port", "-p", type=int, default=8000, help="port (default 8000)")
    s.add_argument("--public", action="store_true", help="allow a --host other than loopback, e.g. 0.0.0.0")
    s.add_argument("--poll", action="store_true", help="poll the roots for changes instead of inotify")
    s.set_defaults(func=cmd_serve)
