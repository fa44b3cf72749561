"""What the web dashboard needs beyond the plain lists: GET /v1/me (the caller), GET /v1/overview (a
run's metrics against thresholds, findings by category, exposure, trends) and GET /v1/exports/{list}
(any list as an Excel file, with the same filters and the same scoping as the list itself)."""

from __future__ import annotations

import datetime as dt
import urllib.parse
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from kefuguard.rules.model import PLATFORM_NAMES_ZH, SEVERITY_ZH
from kefuguard.server.dashboard import category_labels, me, overview, xlsx_bytes
from kefuguard.server.deps import Caller, Supervisor, platform_param
from kefuguard.server.errors import invalid
from kefuguard.server.routes.data import AgentQ, DayFrom, DayTo, RunQ, Severity, ShopQ, _filter
from kefuguard.server.schemas import MAX_ID

if TYPE_CHECKING:
    from kefuguard.server.app import Context

router = APIRouter(tags=["dashboard"])

EXPORT_ROWS = 50_000  # rows in one exported list
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ExportKind = Literal["conversations", "findings", "scores", "metrics", "kpis", "agents", "deliveries", "rules",
                     "quiz_results"]
LEVEL_ZH = {"platform": "平台", "shop": "店铺", "agent": "客服"}


def _ctx(request: Request) -> Context:
    return request.app.state.kefuguard


@router.get("/v1/me", summary="当前密钥 Who is calling")
def whoami(who: Caller, request: Request) -> dict:
    """The key's role, label and tenant; for agent keys the agent and their shop. Also the labels the
    dashboard shows: platforms, finding categories and severities in Chinese."""
    return me(_ctx(request).store.db, who)


@router.get("/v1/overview", summary="概览 Overview of an audit")
def get_overview(
    who: Supervisor, request: Request, run_id: RunQ = None, shop_id: ShopQ = None,
    platform: Annotated[str | None, Query(max_length=20)] = None,
    period: Annotated[Literal["day", "week", "all"], Query(description="one day, its week (Mon–Sun), or the whole "
                                                                       "audit")] = "all",
    day: Annotated[dt.date | None, Query(description="the day (Beijing time) of a day or week; default: the "
                                                     "audit's last day")] = None,
) -> dict:
    """The newest finished audit (or `run_id`): per shop, each platform metric for the period against
    its threshold (daily rows added up for a week), findings by category and severity in the period,
    the audit's exposure estimate (yuan and points, over the audit's days) and daily trends."""
    return overview(_ctx(request).store.db, who.tenant_id, run_id=run_id, shop_id=shop_id,
                    platform=platform_param(platform), period=period, day=day)


def _translate(lang: str) -> Any:
    if lang == "en":
        return None
    labels = category_labels()

    def translate(name: str, value: Any) -> Any:
        if value is None:
            return None
        if name in ("severity", "worst"):
            return SEVERITY_ZH.get(value, value)
        if name == "platform":
            return PLATFORM_NAMES_ZH.get(value, value)
        if name == "category":
            return labels.get(value, value)
        if name == "level":
            return LEVEL_ZH.get(value, value)
        return value

    return translate


@router.get(
    "/v1/exports/{kind}",
    summary="导出 Excel Export a list to Excel",
    responses={200: {"content": {XLSX: {}}, "description": "the list as an .xlsx workbook"}},
)
def export_list(
    who: Caller, request: Request,
    kind: Annotated[ExportKind, Path(description="conversations, findings, rules, quiz_results (any role; agents: "
                                                 "their own); scores, metrics, kpis, agents (supervisor); deliveries "
                                                 "(admin)")],
    shop_id: ShopQ = None, agent_id: AgentQ = None, day_from: DayFrom = None, day_to: DayTo = None,
    run_id: RunQ = None,
    platform: Annotated[str | None, Query(max_length=20)] = None,
    category: Annotated[str | None, Query(max_length=50)] = None,
    severity: Annotated[Severity | None, Query()] = None,
    flagged: Annotated[bool | None, Query()] = None,
    rule_id: Annotated[str | None, Query(max_length=200)] = None,
    finding_kind: Annotated[Literal["message", "conversation", "metric"] | None, Query()] = None,
    metric: Annotated[str | None, Query(max_length=100)] = None,
    passed: Annotated[bool | None, Query()] = None,
    level: Annotated[Literal["shop", "agent"] | None, Query()] = None,
    period: Annotated[Literal["total", "day"] | None, Query()] = None,
    status: Annotated[Literal["sent", "failed", "deduplicated", "rate_limited", "pending", "sending"] | None,
                      Query()] = None,
    webhook_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    lang: Annotated[Literal["zh", "en"], Query(description="header language")] = "zh",
) -> Response:
    """The same rows as the list endpoint with these filters (at most 50,000), as one sheet with a
    header row; text is written as text, never as a formula."""
    ctx = _ctx(request)
    store = ctx.store
    code = platform_param(platform)
    if kind in ("scores", "metrics", "kpis", "agents"):
        who.require("supervisor", "导出统计数据（需要 supervisor 或 admin）", "export statistics (needs supervisor or admin)")
    elif kind == "deliveries":
        who.require("admin", "导出告警推送记录（需要 admin）", "export alert deliveries (needs admin)")
    f = _filter(who, shop_id, agent_id, day_from, day_to, run_id)
    items: list[dict[str, Any]]
    if kind == "conversations":
        items, _ = store.list_conversations(who.tenant_id, f, code, EXPORT_ROWS, 0, category=category,
                                            severity=severity, flagged=flagged)
    elif kind == "findings":
        items, _ = store.list_findings(who.tenant_id, f, severity, category, rule_id, finding_kind, EXPORT_ROWS, 0)
    elif kind == "scores":
        items, _ = store.list_scores(who.tenant_id, f, EXPORT_ROWS, 0)
    elif kind == "metrics":
        items, _ = store.list_metrics(who.tenant_id, f, metric, passed, level, period, EXPORT_ROWS, 0)
    elif kind == "kpis":
        items, _ = store.list_kpis(who.tenant_id, f, code, level, period, passed, EXPORT_ROWS, 0)
    elif kind == "agents":
        items, _ = store.list_agents(who.tenant_id, shop_id, EXPORT_ROWS, 0)
    elif kind == "deliveries":
        items, _ = store.list_deliveries(who.tenant_id, webhook_id, status, EXPORT_ROWS, 0)
    elif kind == "quiz_results":
        from kefuguard.server.quiz import ResultFilter, list_results

        items, _ = list_results(store.db, who, ResultFilter(agent_id=agent_id, shop_id=shop_id, platform=code,
                                                            day_from=day_from, day_to=day_to), EXPORT_ROWS, 0)
    else:
        if code is None:
            raise invalid("platform", "导出规则须指定平台", "exporting rules needs a platform")
        checker = ctx.platform_checker(code)
        from kefuguard.rules.model import CATEGORY_ZH

        items = [{"id": cr.id, "title": cr.title, "category_zh": CATEGORY_ZH[cr.rule.category.value],
                  "severity_zh": SEVERITY_ZH[cr.severity.value], "penalty": cr.penalty.model_dump(mode="json"),
                  "source": cr.source.model_dump(mode="json"), "suggestion": cr.suggestion, "pack": cr.pack_label}
                 for cr in checker.rules]
    content = xlsx_bytes(kind, items, lang, _translate(lang))
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M")
    name = f"kefuguard-{kind}-{stamp}.xlsx"
    return Response(content, media_type=XLSX,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{urllib.parse.quote(name)}"})
