"""The web dashboard (客服质检看板): static pages served by the API server at `/` (`kefuguard serve`).

Everything it shows comes from the `/v1` API with the API key the user pastes at sign-in (kept in
the tab's sessionStorage, sent as the X-API-Key header, never put in a URL). No build step and no
network beyond the server: the pages are plain HTML, CSS and JavaScript in `static/`, and the one
library (Apache ECharts, for the charts) is shipped in `static/vendor/` with its licence
(`static/vendor/README.md` says which version and where it came from).

`install(app)` adds `GET /` (the page, with a Content-Security-Policy that allows nothing but this
server) and `/static/…` (the assets, cached by version) to a Starlette/FastAPI app; the API's own
routes are untouched. Guide: docs/dashboard.md.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

STATIC_DIR = Path(__file__).resolve().parent / "static"
INDEX = Path(__file__).resolve().parent / "index.html"

#: the page may load and call nothing but this server (charts are drawn as inline SVG)
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
       "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",
}


def asset_version() -> str:
    """A short digest of the static files (names, sizes, times): it changes whenever an asset does,
    so asset URLs carrying it can be cached for long."""
    digest = hashlib.sha256()
    for path in sorted(STATIC_DIR.rglob("*")):
        if path.is_file():
            stat = path.stat()
            digest.update(f"{path.relative_to(STATIC_DIR)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:12]


def render_index(version: str | None = None) -> bytes:
    return INDEX.read_text(encoding="utf-8").replace("{{v}}", version or asset_version()).encode("utf-8")


def install(app: Any) -> None:
    """Serve the dashboard from `app`: GET / and /static/…"""
    from starlette.responses import Response
    from starlette.staticfiles import StaticFiles
    from starlette.types import Receive, Scope, Send

    page = render_index()

    class _Assets(StaticFiles):
        """Static files; a request carrying the asset version (?v=…) may be cached for a day."""

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            versioned = b"v=" in scope.get("query_string", b"")

            async def send_cached(message: dict) -> None:
                if message["type"] == "http.response.start":
                    headers = list(message.get("headers", []))
                    headers.append((b"x-content-type-options", b"nosniff"))
                    if versioned and message.get("status") in (200, 304):
                        headers.append((b"cache-control", b"public, max-age=86400, immutable"))
                    message = {**message, "headers": headers}
                await send(message)

            await super().__call__(scope, receive, send_cached)

    async def index() -> Response:
        return Response(page, media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)

    app.add_api_route("/", index, methods=["GET"], include_in_schema=False)
    app.mount("/static", _Assets(directory=STATIC_DIR), name="static")
