"""Audits in the background: POST /v1/audits (upload chat logs, or select stored conversations),
GET /v1/audits/{id} (progress, counts), GET /v1/audits/{id}/reports/{format} (download)."""

from __future__ import annotations

import math
import urllib.parse
from pathlib import Path as FilePath
from typing import TYPE_CHECKING, Annotated, Any, BinaryIO, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.responses import FileResponse, JSONResponse, Response

from kefuguard.sales.profiles import PROFILES
from kefuguard.server.deps import Pages, Supervisor, page, platform_param
from kefuguard.server.errors import ApiError, invalid, not_found, validation_error
from kefuguard.server.schemas import MAX_ID, Page, StoredAuditRequest

if TYPE_CHECKING:
    from kefuguard.server.app import Context

router = APIRouter(tags=["audits"])

RunId = Annotated[int, Path(ge=1, le=MAX_ID, description="the audit's id")]
MAX_FILES = 20  # chat-log files in one upload
MAX_EXPORTS = 10  # order exports in one upload, and as many after-sales exports
MAX_WINDOW_HOURS = 24 * 30

_UPLOAD_SCHEMA = {
    "type": "object",
    "required": ["file"],
    "properties": {
        "file": {"type": "array", "items": {"type": "string", "format": "binary"},
                 "description": "chat-log files: JSONL, CSV/TSV (UTF-8 or GBK), XLSX; at most 20"},
        "orders": {"type": "array", "items": {"type": "string", "format": "binary"},
                   "description": "order exports (CSV/TSV/XLSX, docs/kpi.md): the audit then computes the sales "
                                  "KPIs (GET /v1/kpis); at most 10"},
        "refunds": {"type": "array", "items": {"type": "string", "format": "binary"},
                    "description": "after-sales / refund exports, joined to the orders by order id; at most 10"},
        "platform": {"type": "string", "description": "for rows without a platform column"},
        "shop": {"type": "string", "description": "for rows without a shop column"},
        "attribution": {"type": "string", "enum": list(PROFILES),
                        "description": "which agent an order is credited to (docs/kpi.md); default last_manual_24h"},
        "window_hours": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_WINDOW_HOURS,
                         "description": "the attribution window before an order, hours (default: the profile's)"},
    },
}
_OPENAPI = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {"schema": _UPLOAD_SCHEMA},
            "application/json": {"schema": StoredAuditRequest.model_json_schema()},
        },
    }
}


def _ctx(request: Request) -> Context:
    return request.app.state.kefuguard


@router.post(
    "/v1/audits",
    status_code=202,
    summary="开始审计 Start an audit",
    openapi_extra=_OPENAPI,
    responses={202: {"description": "the audit run, queued"}, 415: {"description": "neither multipart nor JSON"}},
)
async def start_audit(who: Supervisor, request: Request) -> Response:
    """Upload chat-log files (multipart field `file`, repeatable; optional `platform`, `shop`) — they
    are stored (ingested idempotently: a re-upload adds no message twice) and audited — or send JSON
    selecting stored conversations (`shop_id`, `platform`, `agent_id`, `day_from`, `day_to`,
    `conversation_ids`). Order exports (`orders`, repeatable) and after-sales exports (`refunds`)
    in the same upload are joined with the chats: the sales KPIs (`GET /v1/kpis`), attributed by
    `attribution` and `window_hours`. Answers 202 with the run; follow its progress at
    `GET /v1/audits/{id}`."""
    ctx = _ctx(request)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        most = MAX_FILES + 2 * MAX_EXPORTS
        form = await request.form(max_files=most, max_fields=most + 10)
        try:
            uploads = _files(form, ("file", "files"), MAX_FILES, "聊天记录")
            if not uploads:
                raise invalid("file", "请上传至少一个聊天记录文件（表单字段 file）",
                              "upload at least one chat-log file (form field 'file')")
            orders = _files(form, ("orders",), MAX_EXPORTS, "订单导出")
            refunds = _files(form, ("refunds",), MAX_EXPORTS, "售后导出")
            if refunds and not orders:
                raise invalid("refunds", "售后导出须与订单导出一起上传（表单字段 orders）：售后记录按订单号关联买家",
                              "after-sales exports need the order exports too (form field 'orders'): refunds "
                              "reach buyers through their orders")
            platform = platform_param(_text(form.get("platform")))
            shop = (_text(form.get("shop")) or "").strip() or None
            if shop is not None and len(shop) > 200:
                raise invalid("shop", "店铺名称过长（最多 200 个字符）", "shop longer than 200 characters")
            run = await run_in_threadpool(ctx.jobs.start_upload, who, uploads, platform, shop, orders=orders,
                                          refunds=refunds, sales=_attribution(form))
        finally:
            await form.close()
    elif kind == "application/json" or kind.endswith("+json"):
        body = await request.body()
        try:
            req = StoredAuditRequest.model_validate_json(body or b"null")
        except ValidationError as exc:
            raise validation_error(exc.errors(include_url=False, include_context=False)) from None
        if req.agent_id is not None and not await run_in_threadpool(ctx.store.agent_exists, who.tenant_id, req.agent_id):
            raise not_found("客服", "agent", req.agent_id, field="agent_id")
        if req.shop_id is not None:
            await run_in_threadpool(ctx.store.get_shop, who.tenant_id, req.shop_id)  # 404 if not the tenant's
        if req.day_from and req.day_to and req.day_from > req.day_to:
            raise invalid("day_from", "day_from 晚于 day_to", "day_from is after day_to")
        selection = req.model_dump(mode="json")
        run = await run_in_threadpool(ctx.jobs.start_stored, who, selection)
    else:
        raise ApiError(415, "unsupported_media_type", "请用 multipart/form-data 上传文件，或用 JSON 选择已存储的会话",
                       "send multipart/form-data (file upload) or JSON (stored conversations)")
    return JSONResponse(run, status_code=202, headers={"Location": f"/v1/audits/{run['id']}"})


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _files(form: FormData, fields: tuple[str, ...], most: int, what_zh: str) -> list[tuple[str, BinaryIO]]:
    """(name, file) of the files sent in these form fields; 422 beyond `most`."""
    uploads = [v for key in fields for v in form.getlist(key) if isinstance(v, UploadFile)]
    if len(uploads) > most:
        raise invalid(fields[0], f"{what_zh}文件过多（表单字段 {fields[0]} 最多 {most} 个）",
                      f"too many files in form field '{fields[0]}' (at most {most})")
    return [(u.filename or f"{fields[0]}{i}", u.file) for i, u in enumerate(uploads)]


def _attribution(form: FormData) -> dict[str, Any]:
    """The KPI attribution options of an upload: a profile name and the window before an order."""
    out: dict[str, Any] = {}
    name = (_text(form.get("attribution")) or "").strip()
    if name:
        if name not in PROFILES:
            raise invalid("attribution", f"未知归属口径 {name!r}，可选 {'、'.join(PROFILES)}",
                          f"unknown attribution profile {name!r}; use {', '.join(PROFILES)}")
        out["attribution"] = name
    hours = (_text(form.get("window_hours")) or "").strip()
    if hours:
        try:
            value = float(hours)
        except ValueError:
            value = math.nan
        if not 0 < value <= MAX_WINDOW_HOURS:  # NaN fails too
            raise invalid("window_hours", f"归属窗口须为 0–{MAX_WINDOW_HOURS} 小时之间的数",
                          f"window_hours must be a number of hours above 0 and at most {MAX_WINDOW_HOURS}")
        out["attribution_window_hours"] = value
    return out


@router.get("/v1/audits", response_model=Page, summary="审计列表 List audits")
def list_audits(who: Supervisor, request: Request, paging: Pages,
                status: Annotated[Literal["queued", "running", "done", "failed"] | None, Query()] = None) -> dict:
    items, total = _ctx(request).store.list_runs(who.tenant_id, status, paging.limit, paging.offset)
    return page(items, total, paging)


@router.get("/v1/audits/{run_id}", summary="审计进度与结果 An audit's progress and results")
def get_audit(who: Supervisor, request: Request, run_id: RunId) -> dict:
    """status (queued, running, done, failed), progress (0–1), counts, summary, error, and the
    report formats ready to download."""
    return _ctx(request).store.get_run(who.tenant_id, run_id)


@router.get(
    "/v1/audits/{run_id}/reports/{fmt}",
    summary="下载报告 Download a report",
    responses={200: {"content": {"text/html": {}, "application/json": {},
                                 "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {},
                                 "text/csv": {}}, "description": "the report file"},
               409: {"description": "the audit has not finished"}},
)
def get_report(who: Supervisor, request: Request, run_id: RunId,
               fmt: Annotated[Literal["html", "json", "xlsx", "findings", "rejects", "order_rejects"], Path(
                   description="html, json, xlsx, findings (CSV), rejects (CSV) or order_rejects (CSV: the "
                               "order and after-sales rows not read)")]) -> Response:
    ctx = _ctx(request)
    run = ctx.store.get_run(who.tenant_id, run_id)
    if run["status"] != "done":
        raise ApiError(409, "not_ready", f"审计尚未完成（状态 {run['status']}），报告还不能下载",
                       f"the audit is not done (status {run['status']}); no reports yet")
    found = ctx.store.artefact(who.tenant_id, run_id, fmt)
    if found is None:
        raise not_found("报告", "report", fmt)
    filename, media, content, path = found
    disposition = f"attachment; filename*=UTF-8''{urllib.parse.quote(filename)}"
    if content is not None:
        return Response(content, media_type=media, headers={"Content-Disposition": disposition})
    if path is None or not FilePath(path).is_file():
        raise not_found("报告文件", "report file", fmt)
    return FileResponse(path, media_type=media, headers={"Content-Disposition": disposition})
