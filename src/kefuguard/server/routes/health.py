"""/healthz (the process answers) and /readyz (the database answers and its schema is at head)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from kefuguard.server.errors import ApiError
from kefuguard.server.schemas import ErrorBody

if TYPE_CHECKING:
    from kefuguard.server.app import Context

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="进程存活 Liveness")
async def healthz() -> dict:
    return {"status": "ok"}


@router.get("/readyz", summary="可以服务 Readiness",
            responses={503: {"model": ErrorBody, "description": "database unreachable or not migrated"}})
async def readyz(request: Request) -> dict:
    ctx: Context = request.app.state.kefuguard
    state = await run_in_threadpool(ctx.store.readiness)
    if not state["database"]:
        raise ApiError(503, "not_ready", "数据库无法连接", "database unreachable")
    if not state["migrated"]:
        raise ApiError(503, "not_ready", f"数据库结构版本 {state['revision']} 不是最新 {state['head']}，请运行 "
                       "`kefuguard db upgrade`", f"database schema at {state['revision']}, not at head "
                       f"{state['head']}: run `kefuguard db upgrade`")
    # checkers_warm: the platform checkers are built (a first check on a cold platform waits ~1 s)
    return {"status": "ready", "database": ctx.store.db.dialect, "revision": state["revision"],
            "checkers_warm": ctx.warmed}
