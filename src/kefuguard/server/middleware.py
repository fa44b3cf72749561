"""The app's edge, pure ASGI: body-size limits in the API's JSON error shape, and the /v1/check fast
path.

Limits: a request whose Content-Length is over the limit is refused before the app runs (413,
nothing read); a body without Content-Length (chunked) is counted as it streams and refused the
moment it passes the limit. Uploads (`upload_paths`, POST) get their own, larger limit.

Fast path: POST /v1/check is answered here — key, rate limit, body, check — without the
framework's routing, request objects and dependency resolution, which cost several times the
check itself. The route in routes/check.py documents the operation and shares the code
(`check_body`); errors take the same JSON shape as everywhere else.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kefuguard.server.errors import ApiError, error_response, server_error_body, too_large
from kefuguard.server.security import authenticate_cached, key_from_headers, require_principal

log = logging.getLogger("kefuguard.server")

CHECK_PATH = "/v1/check"
_JSON_HEADERS = [(b"content-type", b"application/json")]


class BodyTooLarge(HTTPException):
    """Raised from `receive` when a streamed body passes the limit; the route's exception
    handling turns it into the JSON 413 (FastAPI re-raises HTTPExceptions from body reading)."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail="Content Too Large")
        self.limit = limit


class EdgeMiddleware:
    def __init__(self, app: ASGIApp, ctx: Any, max_body: int, max_upload: int, upload_paths: tuple[str, ...] = (),
                 fast_check: bool = True) -> None:
        self.app, self.ctx = app, ctx
        self.max_body, self.max_upload, self.upload_paths = max_body, max_upload, upload_paths
        self.fast_check = fast_check

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        upload = method == "POST" and scope["path"] in self.upload_paths
        limit = self.max_upload if upload else self.max_body
        length: int | None = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    length = None
                break
        if length is not None and length > limit:
            what = ("上传文件", "upload") if upload else ("请求体", "request body")
            await too_large(limit, *what).response()(scope, receive, send)
            return
        if self.fast_check and method == "POST" and scope["path"] == CHECK_PATH:
            await self._check(scope, receive, send, limit)
            return
        if length is not None:
            # the server holds the client to its Content-Length: nothing more to count
            await self.app(scope, receive, send)
            return
        total = 0

        async def counted() -> Message:
            nonlocal total
            message = await receive()
            if message["type"] == "http.request":
                total += len(message.get("body", b""))
                if total > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, counted, send)

    async def _check(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        from kefuguard.server.routes.check import check_body

        ctx = self.ctx
        status = 200
        headers = _JSON_HEADERS
        try:
            authorization = api_key = None
            for name, value in scope["headers"]:
                if name == b"x-api-key":
                    api_key = value.decode("latin-1")
                elif name == b"authorization":
                    authorization = value.decode("latin-1")
            raw_key = key_from_headers(authorization, api_key)
            who = authenticate_cached(ctx.keys, raw_key)
            if who is None:
                who = require_principal(await run_in_threadpool(ctx.keys.resolve, raw_key))
            ctx.limiter.take(who.key_id)
            chunks = []
            size = 0
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limit:
                    raise too_large(limit)
                chunks.append(chunk)
                if not message.get("more_body", False):
                    break
            data = await check_body(ctx, who, b"".join(chunks) if len(chunks) != 1 else chunks[0])
        except ApiError as exc:
            status, data = exc.status, exc.body_bytes()
            headers = [*_JSON_HEADERS, *((k.lower().encode("latin-1"), v.encode("latin-1"))
                                         for k, v in exc.headers.items())]
        except Exception as exc:
            log.error("unhandled error on POST %s", CHECK_PATH, exc_info=exc)
            response = error_response(500, server_error_body())
            await response(scope, receive, send)
            return
        await send({"type": "http.response.start", "status": status,
                    "headers": [*headers, (b"content-length", str(len(data)).encode())]})
        await send({"type": "http.response.body", "body": data})
