"""The dashboard in a browser: textual-serve, with a token and nothing fetched from the internet.

    DashboardServer(command, host, port, token).serve()

textual-serve runs `command` (the Textual app) once per browser tab and relays the
terminal over a websocket. On top of it:

- a token: the page opens only as `/?token=...` (the URL printed at start), which sets
  a same-site cookie that the websocket must carry. On a shared login node, loopback is
  shared by every user of the machine, so "listens on 127.0.0.1" alone would give them
  your dashboard;
- the websocket also refuses a cross-site Origin (a web page elsewhere in your browser
  cannot drive the dashboard through a forwarded port);
- its own page (templates/app_index.html): fonts and scripts from textual-serve's
  static files only, never a font service, and every URL relative to the page, so an
  `ssh -L` tunnel on any local port works.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp_jinja2
from aiohttp import web
from textual_serve.server import Server, to_int

TEMPLATES = Path(__file__).resolve().parent / "templates"


class DashboardServer(Server):
    def __init__(
        self, command: str, host: str, port: int, token: str, announce: Callable[[], None], title: str = "Loupe"
    ) -> None:
        super().__init__(command, host=host, port=port, title=title, templates_path=TEMPLATES)
        self.token = token
        self.cookie = f"loupe_token_{port}"  # cookies are per host, not per port
        self._announce = announce

    def _authorised(self, request: web.Request) -> bool:
        given = request.query.get("token") or request.cookies.get(self.cookie) or ""
        return hmac.compare_digest(given.encode(), self.token.encode())

    async def on_startup(self, app: web.Application) -> None:
        self._announce()  # instead of textual-serve's banner: the URL with its token

    async def handle_index(self, request: web.Request) -> web.StreamResponse:
        if not self._authorised(request):
            raise web.HTTPForbidden(text="Open the URL that `loupe serve` printed (it carries the access token).\n")
        context = {
            "font_size": to_int(request.query.get("fontsize", "16"), 16),
            "config": {"static": {"url": "/static/"}},
            "application": {"name": self.title},
        }
        response = aiohttp_jinja2.render_template("app_index.html", request, context)
        response.set_cookie(self.cookie, self.token, httponly=True, samesite="Strict", path="/")
        return response

    async def handle_websocket(self, request: web.Request) -> Any:
        if not self._authorised(request):
            raise web.HTTPForbidden(text="missing or wrong access token\n")
        origin = request.headers.get("Origin")
        if origin is not None and urlsplit(origin).netloc != request.host:
            raise web.HTTPForbidden(text="cross-origin connection refused\n")
        return await super().handle_websocket(request)
