"""FastAPI dependencies: the app's services, the caller (API key → Principal, rate limited), roles,
pagination."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from kefuguard.server.security import Principal, authenticate_cached, key_from_headers, require_principal

if TYPE_CHECKING:
    from kefuguard.server.app import Context


def context(request: Request) -> Context:
    return request.app.state.kefuguard


async def principal(request: Request) -> Principal:
    """The caller, from `Authorization: Bearer <key>` or `X-API-Key`; 401 if missing or bad,
    429 when its bucket is empty. A cached key costs no database query."""
    ctx: Context = request.app.state.kefuguard
    headers = request.headers
    raw = key_from_headers(headers.get("authorization"), headers.get("x-api-key"))
    who = authenticate_cached(ctx.keys, raw)
    if who is None:
        who = require_principal(await run_in_threadpool(ctx.keys.resolve, raw))  # type: ignore[arg-type]
    ctx.limiter.take(who.key_id)
    return who


Caller = Annotated[Principal, Depends(principal)]


async def supervisor(who: Caller) -> Principal:
    who.require("supervisor", "访问店铺、设置、审计和统计数据（需要 supervisor 或 admin）",
                "access shops, settings, audits and statistics (needs supervisor or admin)")
    return who


async def admin(who: Caller) -> Principal:
    who.require("admin", "管理密钥和告警机器人（需要 admin）", "manage keys and webhooks (needs admin)")
    return who


Supervisor = Annotated[Principal, Depends(supervisor)]
Admin = Annotated[Principal, Depends(admin)]


class Paging:
    def __init__(self, limit: int, offset: int) -> None:
        self.limit, self.offset = limit, offset


def paging(
    limit: Annotated[int, Query(ge=1, le=500, description="rows per page (at most 500)")] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="rows to skip")] = 0,
) -> Paging:
    return Paging(limit, offset)


Pages = Annotated[Paging, Depends(paging)]


def page(items: list, total: int, paging_: Paging) -> dict:
    nxt = paging_.offset + len(items)
    return {"items": items, "total": total, "limit": paging_.limit, "offset": paging_.offset,
            "next_offset": nxt if nxt < total else None}


def platform_param(value: str | None, field: str = "platform") -> str | None:
    """A platform as chat exports spell it (拼多多, pdd, …) → its code; 422 if unknown; None stays None."""
    if value is None or not value.strip():
        return None
    from kefuguard.io.columns import canonical_platform
    from kefuguard.server.errors import invalid

    try:
        code = canonical_platform(value)
    except ValueError:
        code = None
    if code is None:
        raise invalid(field, f"未知平台 {value!r}，可选 douyin、pinduoduo、tmall、taobao、jd、kuaishou",
                      f"unknown platform {value!r}; use douyin, pinduoduo, tmall, taobao, jd or kuaishou")
    return code
