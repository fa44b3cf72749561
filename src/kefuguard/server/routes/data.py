"""Stored chat data: conversations, findings, metrics, agent scores, sales KPIs, agents — filtered by
shop, agent and day, paginated (limit/offset, with the total).

An agent key sees only its own conversations and findings (the agent filter is forced to the
key's agent; another agent's conversation is 404), and no metrics, scores or KPIs.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Literal

from fastapi import APIRouter, Path, Query, Request

from kefuguard.server.deps import Caller, Pages, Supervisor, page, platform_param
from kefuguard.server.errors import invalid
from kefuguard.server.schemas import MAX_BIG_ID, MAX_ID, KpiPage, Page
from kefuguard.server.security import Principal
from kefuguard.server.store import ListFilter

if TYPE_CHECKING:
    from kefuguard.server.app import Context

router = APIRouter(tags=["data"])

ShopQ = Annotated[int | None, Query(ge=1, le=MAX_ID, description="a shop's id")]
AgentQ = Annotated[int | None, Query(ge=1, le=MAX_ID, description="an agent's id (GET /v1/agents)")]
RunQ = Annotated[int | None, Query(ge=1, le=MAX_ID, description="an audit's id")]
DayFrom = Annotated[dt.date | None, Query(description="first day (Beijing time), YYYY-MM-DD")]
DayTo = Annotated[dt.date | None, Query(description="last day (Beijing time), YYYY-MM-DD")]
Severity = Literal["critical", "major", "minor", "info"]


def _ctx(request: Request) -> Context:
    return request.app.state.kefuguard


def _filter(who: Principal, shop_id: int | None, agent_id: int | None, day_from: dt.date | None,
            day_to: dt.date | None, run_id: int | None = None) -> ListFilter:
    if day_from and day_to and day_from > day_to:
        raise invalid("day_from", "day_from 晚于 day_to", "day_from is after day_to")
    if who.role == "agent":
        # another agent's rows: none (not an error that would confirm they exist)
        agent_id = -1 if agent_id is not None and agent_id != who.agent_id else who.agent_id
    return ListFilter(shop_id=shop_id, agent_id=agent_id, day_from=day_from, day_to=day_to, run_id=run_id)


@router.get("/v1/conversations", response_model=Page, summary="会话列表 Conversations")
def list_conversations(who: Caller, request: Request, paging: Pages, shop_id: ShopQ = None, agent_id: AgentQ = None,
                       day_from: DayFrom = None, day_to: DayTo = None,
                       platform: Annotated[str | None, Query(max_length=20)] = None,
                       category: Annotated[str | None, Query(max_length=50, description="with a finding of this "
                                                             "category (in its newest audit)")] = None,
                       severity: Annotated[Severity | None, Query(description="with a finding of this severity")] = None,
                       flagged: Annotated[bool | None, Query(description="true: with findings; false: without")] = None,
                       ) -> dict:
    """Newest first (by start), each with `findings` and `worst` (severity) of its newest audit.
    Agents: their own conversations only."""
    f = _filter(who, shop_id, agent_id, day_from, day_to)
    items, total = _ctx(request).store.list_conversations(who.tenant_id, f, platform_param(platform), paging.limit,
                                                          paging.offset, category=category, severity=severity,
                                                          flagged=flagged)
    return page(items, total, paging)


@router.get("/v1/conversations/{conversation_id}", summary="会话详情 A conversation with its messages and findings")
def get_conversation(who: Caller, request: Request,
                     conversation_id: Annotated[int, Path(ge=1, le=MAX_BIG_ID)]) -> dict:
    """Messages, findings (every audit's, newest first) and `rules`: each finding's rule as it applies
    on the conversation's platform — title, penalty, seed source (file and quote), suggestion."""
    ctx = _ctx(request)
    agent = who.agent_id if who.role == "agent" else None
    out = ctx.store.get_conversation(who.tenant_id, conversation_id, agent)
    out["rules"] = ctx.rules_for(out["platform"], {f["rule_id"] for f in out["findings"]})
    return out


@router.get("/v1/findings", response_model=Page, summary="违规列表 Findings")
def list_findings(
    who: Caller, request: Request, paging: Pages, shop_id: ShopQ = None, agent_id: AgentQ = None,
    day_from: DayFrom = None, day_to: DayTo = None, run_id: RunQ = None,
    severity: Annotated[Severity | None, Query()] = None,
    category: Annotated[str | None, Query(max_length=50)] = None,
    rule_id: Annotated[str | None, Query(max_length=200)] = None,
    kind: Annotated[Literal["message", "conversation", "metric"] | None, Query()] = None,
) -> dict:
    """Findings stored by audits, newest first. Agents: findings on their own messages, and the
    conversation-level findings of their conversations."""
    f = _filter(who, shop_id, agent_id, day_from, day_to, run_id)
    items, total = _ctx(request).store.list_findings(who.tenant_id, f, severity, category, rule_id, kind,
                                                     paging.limit, paging.offset)
    return page(items, total, paging)


@router.get("/v1/metrics", response_model=Page, summary="平台指标 Metrics")
def list_metrics(
    who: Supervisor, request: Request, paging: Pages, shop_id: ShopQ = None, agent_id: AgentQ = None,
    day_from: DayFrom = None, day_to: DayTo = None, run_id: RunQ = None,
    metric: Annotated[str | None, Query(max_length=100, description="metric id, e.g. reply_rate_3min")] = None,
    passed: Annotated[bool | None, Query(description="false: below the platform threshold")] = None,
    level: Annotated[Literal["shop", "agent"] | None, Query()] = None,
    period: Annotated[Literal["total", "day"] | None, Query(description="the run's whole period or per day")] = None,
) -> dict:
    f = _filter(who, shop_id, agent_id, day_from, day_to, run_id)
    items, total = _ctx(request).store.list_metrics(who.tenant_id, f, metric, passed, level, period,
                                                    paging.limit, paging.offset)
    return page(items, total, paging)


@router.get("/v1/scores", response_model=Page, summary="客服评分 Agent scores")
def list_scores(who: Supervisor, request: Request, paging: Pages, shop_id: ShopQ = None, agent_id: AgentQ = None,
                day_from: DayFrom = None, day_to: DayTo = None, run_id: RunQ = None) -> dict:
    """Per audit run, shop and agent (rank 1 = best); day_from/day_to select runs by when they ran."""
    f = _filter(who, shop_id, agent_id, day_from, day_to, run_id)
    items, total = _ctx(request).store.list_scores(who.tenant_id, f, paging.limit, paging.offset)
    return page(items, total, paging)


@router.get("/v1/kpis", response_model=KpiPage, summary="销售指标 Sales KPIs")
def list_kpis(
    who: Supervisor, request: Request, paging: Pages, shop_id: ShopQ = None, agent_id: AgentQ = None,
    day_from: DayFrom = None, day_to: DayTo = None, run_id: RunQ = None,
    platform: Annotated[str | None, Query(max_length=20)] = None,
    level: Annotated[Literal["platform", "shop", "agent"] | None, Query()] = None,
    period: Annotated[Literal["total", "day"] | None, Query(description="the run's whole period or per day")] = None,
    passed: Annotated[bool | None, Query(description="false: a threshold failed (e.g. PDD 询单转化率 below 50% "
                                                     "that day)")] = None,
) -> dict:
    """询单人数, 询单转化率, 落实率, 客单价, 销售额, 售后时长 … of audits whose upload had order exports
    (docs/kpi.md), per platform, shop and agent, per day and for the run's whole period; daily rows
    carry their threshold results. Newest run first. A run without orders has no rows; another
    tenant's `run_id` is 404."""
    f = _filter(who, shop_id, agent_id, day_from, day_to, run_id)
    items, total = _ctx(request).store.list_kpis(who.tenant_id, f, platform_param(platform), level, period, passed,
                                                 paging.limit, paging.offset)
    return page(items, total, paging)


@router.get("/v1/agents", response_model=Page, summary="客服列表 Agents")
def list_agents(who: Supervisor, request: Request, paging: Pages, shop_id: ShopQ = None) -> dict:
    """The agents imports have met (their ids are what agent keys and the agent filters take)."""
    items, total = _ctx(request).store.list_agents(who.tenant_id, shop_id, paging.limit, paging.offset)
    return page(items, total, paging)
