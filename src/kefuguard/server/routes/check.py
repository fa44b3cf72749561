"""POST /v1/check (the hot path) and GET /v1/rules.

The check runs on the event loop for small requests (a clean message costs tens of µs; a worker
thread hop would cost more than the check) and in a worker thread for large batches. The response
is built as a dict and sent as JSON directly, without a response model.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from kefuguard.rules.model import CATEGORY_ZH, PLATFORMS, SEVERITY_ZH
from kefuguard.server.checking import run_checks
from kefuguard.server.deps import Caller, principal
from kefuguard.server.errors import ApiError, invalid, not_found, validation_error
from kefuguard.server.schemas import CheckRequest, CheckResponse
from kefuguard.server.security import Principal

if TYPE_CHECKING:
    from kefuguard.server.app import Context

router = APIRouter(tags=["check"])

INLINE_MESSAGES = 64  # batches larger than this run in a worker thread


def dumps(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


async def check_body(ctx: Context, who: Principal, raw: bytes) -> bytes:
    """The whole check: validate the body, pick the checker, check, alert, the JSON answer.

    Shared by the route and the edge middleware's fast path (kefuguard.server.middleware), which
    answers POST /v1/check before the framework's routing; raises ApiError."""
    try:
        body = CheckRequest.model_validate_json(raw or b"null")
    except ValidationError as exc:
        raise validation_error(exc.errors(include_url=False, include_context=False)) from None
    if body.text is not None:
        items: list[tuple[str, str | None]] = [(body.text, None)]
    else:
        assert body.messages is not None
        if len(body.messages) > ctx.config.max_batch:
            raise ApiError(413, "batch_too_large",
                           f"一次最多检查 {ctx.config.max_batch} 条消息，收到 {len(body.messages)} 条",
                           f"at most {ctx.config.max_batch} messages per request, got {len(body.messages)}",
                           field="messages")
        items = [(m, None) if isinstance(m, str) else (m.text, m.id) for m in body.messages]
    version: int | None = None
    if body.shop_id is not None:
        tenant = who.tenant_id
        entry = ctx.shops.fresh(tenant, body.shop_id)
        if entry is None:
            entry = await run_in_threadpool(ctx.shops.refresh, tenant, body.shop_id)
        if entry.shop is None:
            raise not_found("店铺", "shop", body.shop_id, field="shop_id")
        if body.platform is not None and body.platform != entry.platform:
            raise invalid("platform", f"店铺 {body.shop_id} 属于平台 {entry.platform}，与 {body.platform} 不一致",
                          f"shop {body.shop_id} is on {entry.platform}, not {body.platform}")
        checker: Any = entry.shop
        mask_char, version, platform = entry.mask_char, entry.version, entry.platform
    else:
        assert body.platform is not None
        platform = body.platform
        checker = ctx.checkers.get(platform)
        if checker is None:
            checker = await run_in_threadpool(ctx.platform_checker, platform)
        mask_char = "*"
    if body.semantic:
        # the tone check (kefuguard[semantic]): imported only here, run off the event loop
        from kefuguard.server.semantic import require_semantic, run_checks_tone

        require_semantic()
        results, critical = await run_in_threadpool(
            run_checks_tone, checker, items, want_rewrite=body.rewrite, mask_char=mask_char
        )
    elif len(items) > INLINE_MESSAGES:
        results, critical = await run_in_threadpool(
            run_checks, checker, items, want_rewrite=body.rewrite, mask_char=mask_char
        )
    else:
        results, critical = run_checks(checker, items, want_rewrite=body.rewrite, mask_char=mask_char)
    if critical and not body.draft:
        agent: int | str | None = who.agent_id if who.role == "agent" else body.agent_id
        ctx.alert_checks(who.tenant_id, body.shop_id, platform, agent, body.conversation_id, critical)
    head = {"platform": platform, "shop_id": body.shop_id, "settings_version": version}
    if body.text is not None:
        return dumps({**head, **results[0]})
    return dumps({**head, "results": results})


@router.post(
    "/v1/check",
    response_model=CheckResponse,
    response_model_exclude_none=True,
    summary="检查消息 Check messages",
    description="Check one message (`text`) or a batch (`messages`) on a platform, with a shop's settings "
                "applied when `shop_id` is given (the settings in force at the moment: a PUT to the shop's "
                "settings applies to the next check). Returns the findings and, unless `rewrite` is false, a "
                "compliant rewrite of each message. A batch holds at most 500 messages by default (413 beyond). "
                "With `semantic: true` each message also gets its `tone` (rude or not, which tone, how sure) and a "
                "message no rule flags but whose tone is rude gets a `semantic.tone.*` finding; this needs the "
                "optional extra `pip install 'kefuguard[semantic]'` (503 without it) and costs a few ms a message.",
)
async def check(request: Request) -> Response:
    # normally answered by the edge middleware before routing; this route documents it (and
    # serves it should the middleware be left out)
    ctx: Context = request.app.state.kefuguard
    who = await principal(request)
    data = await check_body(ctx, who, await request.body())
    return Response(data, media_type="application/json")


@router.get("/v1/rules", summary="平台规则 Rules of a platform")
async def rules(
    who: Caller,
    request: Request,
    platform: Annotated[str, Query(description="douyin, pinduoduo, tmall, taobao, jd or kuaishou",
                                   json_schema_extra={"enum": list(PLATFORMS)})],
) -> dict:
    """Every rule that applies on the platform, with that platform's severity, penalty and source; and
    in `audit_checks` the conversation checks of an audit (reply times, greetings …) as they apply there."""
    from kefuguard.rules.model import platform_code

    ctx: Context = request.app.state.kefuguard
    try:
        name = platform_code(platform)
    except ValueError as exc:
        raise invalid("platform", f"未知平台 {platform!r}，可选: {', '.join(PLATFORMS)}", str(exc)) from None
    checker = ctx.checkers.get(name) or await run_in_threadpool(ctx.platform_checker, name)
    items = []
    for cr in checker.rules:
        rule = cr.rule
        items.append({
            "id": cr.id,
            "title": cr.title,
            "category": rule.category.value,
            "category_zh": CATEGORY_ZH[rule.category.value],
            "severity": cr.severity.value,
            "severity_zh": SEVERITY_ZH[cr.severity.value],
            "penalty": cr.penalty.model_dump(mode="json"),
            "source": cr.source.model_dump(mode="json"),
            "suggestion": cr.suggestion,
            "explanation": rule.explanation,
            "pack": cr.pack_label,
            "examples": rule.examples.model_dump(mode="json"),
        })
    # the conversation-level checks of an audit (audit.*), as they apply on the platform
    audit_checks = [info for info in ctx.rules_for(name).values() if info["kind"] == "conversation"]
    return {"platform": name, "packs": sorted({cr.pack_label for cr in checker.rules}), "total": len(items),
            "items": items, "audit_checks": audit_checks}
