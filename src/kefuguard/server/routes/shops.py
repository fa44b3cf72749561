"""Shops and their settings: GET/PUT /v1/shops/{id}/settings (applied to the next check), history."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Body, Header, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from kefuguard.server.deps import Pages, Supervisor, page, platform_param
from kefuguard.server.errors import invalid
from kefuguard.server.schemas import MAX_ID, Page, ShopSettingsOut

if TYPE_CHECKING:
    from kefuguard.server.app import Context

router = APIRouter(tags=["shops"])

ShopId = Annotated[int, Path(ge=1, le=MAX_ID, description="the shop's id (GET /v1/shops)")]

_SETTINGS_EXAMPLE = {
    "banned_words": [{"text": "竞品店", "tags": ["竞品"]},
                     {"text": "好评.{0,4}返现", "regex": True, "severity": "critical"}],
    "allowed_phrases": ["最美衣橱"],
    "disabled_rules": ["conduct.attitude.cold"],
    "severity_overrides": {"pdd.wording.baobei": "info"},
    "rule_exceptions": {"conduct.superlative.zui": ["最快今天发货"]},
    "mask_char": "●",
}


class ShopIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    platform: str = Field(description="douyin, pinduoduo, tmall, taobao, jd or kuaishou", max_length=20)
    external_id: str = Field(min_length=1, max_length=200, description="the shop as chat exports name it")
    name: str | None = Field(default=None, max_length=200)


def _ctx(request: Request) -> Context:
    return request.app.state.kefuguard


@router.get("/v1/shops", summary="店铺列表 List shops")
def list_shops(who: Supervisor, request: Request) -> dict:
    items = _ctx(request).store.list_shops(who.tenant_id)
    return {"items": items, "total": len(items)}


@router.post("/v1/shops", status_code=201, summary="添加店铺 Add a shop")
def create_shop(who: Supervisor, request: Request, body: ShopIn) -> dict:
    """Creates the shop (or returns the existing one with the same platform and external id)."""
    platform = platform_param(body.platform)
    if platform is None:
        raise invalid("platform", "缺少平台", "platform is empty")
    if not body.external_id.strip():
        raise invalid("external_id", "店铺编号为空", "external_id is empty")
    return _ctx(request).store.create_shop(who.tenant_id, platform, body.external_id, body.name)


@router.get("/v1/shops/{shop_id}", summary="店铺 A shop")
def get_shop(who: Supervisor, request: Request, shop_id: ShopId) -> dict:
    return _ctx(request).store.get_shop(who.tenant_id, shop_id)


@router.get("/v1/shops/{shop_id}/settings", response_model=ShopSettingsOut, summary="店铺设置 A shop's settings")
def get_settings(who: Supervisor, request: Request, response: Response, shop_id: ShopId) -> dict:
    """The shop's settings (words, allowed phrases, rule switches and severities; ShopSettings as JSON)
    and their version (also the ETag; send it back as If-Match with a PUT to refuse lost updates)."""
    record = _ctx(request).store.settings_record(who.tenant_id, shop_id)
    response.headers["ETag"] = f'"{record["version"]}"'
    return record


def _expected(if_match: str | None) -> int | None:
    if if_match is None or if_match.strip() == "*":
        return None
    value = if_match.strip().removeprefix("W/").strip('"')
    if not value.isdigit() or len(value) > 9:
        raise invalid("If-Match", "If-Match 须为设置版本号（GET 返回的 ETag）",
                      "If-Match must be a settings version (the ETag of GET)")
    return int(value)


@router.put("/v1/shops/{shop_id}/settings", response_model=ShopSettingsOut, summary="修改店铺设置 Replace a shop's settings")
def put_settings(
    who: Supervisor,
    request: Request,
    response: Response,
    shop_id: ShopId,
    settings: Annotated[dict[str, Any], Body(description="ShopSettings as JSON (docs/shop-settings.md); shop_id "
                                             "and platform default to the shop's", examples=[_SETTINGS_EXAMPLE])],
    if_match: Annotated[str | None, Header(description="the version read (ETag): 409 if it changed since")] = None,
) -> dict:
    """Replace the shop's whole settings. Validated (422 names the field and says why), stored with a
    new version and the change (who: the key's label and role), and in force for the next check on
    this instance at once (other instances sharing the database: within a second)."""
    ctx = _ctx(request)
    expected = _expected(if_match)
    prepared = ctx.store.prepare_settings(who.tenant_id, shop_id, settings)
    checker = ctx.shops.build(prepared)  # validates against the platform's rules before anything is stored
    version = ctx.store.put_settings(who.tenant_id, shop_id, prepared, who.who, expected)
    ctx.shops.install(who.tenant_id, shop_id, version, checker, prepared.mask_char)
    record = ctx.store.settings_record(who.tenant_id, shop_id)
    response.headers["ETag"] = f'"{record["version"]}"'
    return record


@router.get("/v1/shops/{shop_id}/settings/history", response_model=Page, summary="设置变更记录 Settings change log")
def settings_history(who: Supervisor, request: Request, shop_id: ShopId, paging: Pages) -> dict:
    """Who changed what and when, newest first (diff: add/remove/change operations)."""
    items, total = _ctx(request).store.settings_history(who.tenant_id, shop_id, paging.limit, paging.offset)
    return page(items, total, paging)
