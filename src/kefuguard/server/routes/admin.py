"""Admin only: the tenant's API keys and alert webhooks (企业微信 / 钉钉 / 飞书 robots), deliveries."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response

from kefuguard.server.deps import Admin, Pages, page
from kefuguard.server.errors import invalid, not_found
from kefuguard.server.schemas import MAX_ID, KeyCreate, Page, WebhookIn, WebhookPatch

if TYPE_CHECKING:
    from kefuguard.server.app import Context

router = APIRouter(tags=["admin"])

KeyId = Annotated[int, Path(ge=1, le=MAX_ID)]
WebhookId = Annotated[int, Path(ge=1, le=MAX_ID)]


def _ctx(request: Request) -> Context:
    return request.app.state.kefuguard


# ---------------------------------------------------------------------------- keys
@router.get("/v1/keys", summary="API 密钥列表 API keys")
def list_keys(who: Admin, request: Request,
              include_revoked: Annotated[bool, Query(description="also list revoked keys")] = False) -> dict:
    """The tenant's keys (never their secrets: only the prefix that starts each key)."""
    items = _ctx(request).store.list_keys(who.tenant_id, include_revoked)
    return {"items": items, "total": len(items)}


@router.post("/v1/keys", status_code=201, summary="创建 API 密钥 Create an API key")
def create_key(who: Admin, request: Request, body: KeyCreate) -> dict:
    """The new key is in `key`, shown this once (only its hash is stored)."""
    ctx = _ctx(request)
    if body.role != "agent" and body.agent_id is not None:
        raise invalid("agent_id", "只有 agent 角色的密钥可指定 agent_id", "only agent keys take agent_id")
    if body.agent_id is not None and not ctx.store.agent_exists(who.tenant_id, body.agent_id):
        raise not_found("客服", "agent", body.agent_id, field="agent_id")
    info, plaintext = ctx.store.create_key(who.tenant_id, body.role, body.agent_id, body.label or None)
    return {**info, "key": plaintext}


@router.delete("/v1/keys/{key_id}", status_code=204, summary="吊销 API 密钥 Revoke an API key")
def revoke_key(who: Admin, request: Request, key_id: KeyId) -> Response:
    """At once on this instance; other instances stop accepting it within the auth cache time (5 s)."""
    ctx = _ctx(request)
    ctx.store.revoke_key(who.tenant_id, key_id)
    ctx.keys.forget_key(key_id)
    return Response(status_code=204)


# ---------------------------------------------------------------------------- webhooks
def _check_url(request: Request, kind: str, url: str, secret: str | None) -> None:
    from urllib.parse import urlsplit

    from kefuguard.alerts.model import Webhook

    try:
        Webhook(id="0", tenant="0", kind=kind, url=url, secret=secret)  # type: ignore[arg-type]
    except ValueError:
        raise invalid("url", "url 须为完整的 http(s) 地址（机器人的 Webhook 地址）",
                      "url must be an absolute http(s) URL (the robot's webhook address)") from None
    config = _ctx(request).config
    host = urlsplit(url).hostname
    if not config.webhook_host_allowed(host):
        allowed = ", ".join(config.webhook_hosts)
        raise invalid("url", f"url 的主机 {host} 不在允许的机器人地址内（{allowed}；服务器可用 KEFUGUARD_WEBHOOK_HOSTS 放开）",
                      f"url host {host} is not an allowed robot host ({allowed}; the server's KEFUGUARD_WEBHOOK_HOSTS "
                      "widens it)")


@router.get("/v1/webhooks", summary="告警机器人 Alert webhooks")
def list_webhooks(who: Admin, request: Request) -> dict:
    """URLs are shown with their key/token redacted; secrets never."""
    items = _ctx(request).store.list_webhooks(who.tenant_id)
    return {"items": items, "total": len(items)}


@router.post("/v1/webhooks", status_code=201, summary="添加告警机器人 Add a webhook")
def create_webhook(who: Admin, request: Request, body: WebhookIn) -> dict:
    """A group robot of 企业微信 (wecom), 钉钉 (dingtalk) or 飞书 (feishu): its full webhook URL and,
    for 钉钉/飞书 signed robots, the secret. Critical findings and metrics below their platform
    threshold are posted to every enabled robot of the tenant."""
    _check_url(request, body.kind, body.url, body.secret)
    return _ctx(request).store.create_webhook(who.tenant_id, body.model_dump())


@router.get("/v1/webhooks/{webhook_id}", summary="告警机器人 A webhook")
def get_webhook(who: Admin, request: Request, webhook_id: WebhookId) -> dict:
    return _ctx(request).store.get_webhook(who.tenant_id, webhook_id)


@router.patch("/v1/webhooks/{webhook_id}", summary="修改告警机器人 Change a webhook")
def update_webhook(who: Admin, request: Request, webhook_id: WebhookId, body: WebhookPatch) -> dict:
    ctx = _ctx(request)
    changes = body.model_dump(exclude_unset=True)
    if "url" in changes or "secret" in changes:
        current = ctx.store.get_webhook(who.tenant_id, webhook_id)
        if changes.get("url") is None:
            changes.pop("url", None)
        else:
            _check_url(request, current["kind"], changes["url"], None)
    if "enabled" in changes and changes["enabled"] is None:
        changes.pop("enabled")
    return ctx.store.update_webhook(who.tenant_id, webhook_id, changes)


@router.delete("/v1/webhooks/{webhook_id}", status_code=204, summary="删除告警机器人 Delete a webhook")
def delete_webhook(who: Admin, request: Request, webhook_id: WebhookId) -> Response:
    _ctx(request).store.delete_webhook(who.tenant_id, webhook_id)
    return Response(status_code=204)


DeliveryStatus = Literal["sent", "failed", "deduplicated", "rate_limited", "pending", "sending"]


@router.get("/v1/webhooks/{webhook_id}/deliveries", response_model=Page, summary="推送记录 A webhook's deliveries")
def webhook_deliveries(who: Admin, request: Request, webhook_id: WebhookId, paging: Pages,
                       status: Annotated[DeliveryStatus | None, Query()] = None) -> dict:
    items, total = _ctx(request).store.list_deliveries(who.tenant_id, webhook_id, status, paging.limit, paging.offset)
    return page(items, total, paging)


@router.get("/v1/deliveries", response_model=Page, summary="推送记录 All deliveries")
def deliveries(who: Admin, request: Request, paging: Pages,
               status: Annotated[DeliveryStatus | None, Query()] = None) -> dict:
    items, total = _ctx(request).store.list_deliveries(who.tenant_id, None, status, paging.limit, paging.offset)
    return page(items, total, paging)
