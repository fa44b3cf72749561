"""Store what an audit found, for a run: findings (tied to stored messages), metrics, agent scores
and, when order exports were given, the sales KPIs.

The audit (`kefuguard.audit`) produces an `AuditReport`; the server keeps it queryable per run
instead of as files only. Findings point at the stored message they were found in, found again
by the message's natural key — so it works for conversations imported through `ingest_file`,
whichever file they came from. Matched text is masked unless the tenant turned masking off.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kefuguard.conversation.results import (
    AgentSummary,
    AuditReport,
    ConversationResult,
    KpiReport,
    MetricResult,
)
from kefuguard.masking import mask_text
from kefuguard.storage.errors import NotFoundError
from kefuguard.storage.ingest import _storable, message_key
from kefuguard.storage.models import (
    KPI_FIELDS,
    AgentScore,
    AuditRun,
    Conversation,
    Finding,
    Kpi,
    Message,
    Metric,
)
from kefuguard.storage.tenants import get_or_create_agent, get_or_create_shop, get_tenant

_METRIC_DETAIL = ("title", "comparison", "numerator", "denominator", "unit", "fine_yuan", "note")
_KPI_RESULT = {"metric", "title", "value", "threshold", "comparison", "passed", "numerator", "denominator", "note"}


class _Ids:
    """Shop/agent ids by the names the report uses, created on first sight."""

    def __init__(self, session: Session, tenant_id: int) -> None:
        self.session, self.tenant_id = session, tenant_id
        self.shops: dict[tuple[str, str], int] = {}
        self.agents: dict[tuple[int, str], int] = {}

    def shop(self, platform: str, shop: str) -> int:
        key = (platform, shop)
        if key not in self.shops:
            self.shops[key] = get_or_create_shop(self.session, self.tenant_id, platform, shop).id
        return self.shops[key]

    def agent(self, shop_id: int, agent: str | None) -> int | None:
        if not agent:
            return None
        key = (shop_id, agent)
        if key not in self.agents:
            self.agents[key] = get_or_create_agent(self.session, self.tenant_id, shop_id, agent).id
        return self.agents[key]


def record_audit_report(
    session: Session,
    tenant_id: int,
    run_id: int,
    report: AuditReport,
    *,
    results: Iterable[ConversationResult] | None = None,
) -> dict[str, int]:
    """Store a run's findings, metrics, agent scores and KPI rows, and its headline counts on the run.

    Findings come from `results` (conversation results with their messages; default: the report's
    flagged conversations). A finding whose conversation or message is not stored is skipped and
    counted. Returns what was stored: findings, skipped_findings, metrics, agent_scores, kpis.
    """
    tenant = get_tenant(session, tenant_id)
    run = session.scalars(select(AuditRun).where(AuditRun.tenant_id == tenant_id, AuditRun.id == run_id)).one_or_none()
    if run is None:
        raise NotFoundError(f"租户 {tenant_id} 没有审核 {run_id} no audit run {run_id} in tenant {tenant_id}")
    ids = _Ids(session, tenant_id)
    stored, skipped = _store_findings(session, tenant_id, run_id, ids, report.flagged if results is None else results,
                                      mask=tenant.mask_pii)
    metrics = [m for s in report.shops for m in s.metrics] + list(report.daily_metrics)
    _store_metrics(session, tenant_id, run_id, ids, metrics)
    _store_agents(session, tenant_id, run_id, ids, report.agents)
    kpis = _store_kpis(session, tenant_id, run_id, ids, report.kpis)
    summary = {
        "findings_by_category": report.findings_by_category,
        "findings_by_severity": report.findings_by_severity,
        "days": [d.isoformat() for d in report.days],
        "imports": report.imports.model_dump(mode="json", exclude={"files"}),
        "exposure": [s.exposure.model_dump(mode="json") for s in report.shops if s.exposure is not None],
        "kpis": _kpi_summary(report.kpis),
    }
    session.execute(
        update(AuditRun).where(AuditRun.id == run_id)
        .values(conversations=report.conversations, messages=report.messages,
                findings=sum(report.findings_by_severity.values()), summary=summary)
        .execution_options(synchronize_session="fetch")
    )
    return {"findings": stored, "skipped_findings": skipped, "metrics": len(metrics), "agent_scores": len(report.agents),
            "kpis": kpis}


def _store_findings(session: Session, tenant_id: int, run_id: int, ids: _Ids, results: Iterable[ConversationResult],
                    *, mask: bool) -> tuple[int, int]:
    stored = skipped = 0
    rows: list[dict[str, Any]] = []
    for result in results:
        if not result.findings:
            continue
        shop_id = ids.shop(result.platform, result.shop)
        conv_id = session.scalars(
            select(Conversation.id).where(Conversation.tenant_id == tenant_id, Conversation.shop_id == shop_id,
                                          Conversation.external_id == result.conversation_id)
        ).first()
        if conv_id is None:
            skipped += len(result.findings)
            continue
        keys: dict[int, str] = {}
        for f in result.findings:
            if f.message_index is not None and result.messages and 0 <= f.message_index < len(result.messages):
                m = result.messages[f.message_index]
                keys[f.message_index] = message_key(m.platform, _storable(m.shop), _storable(m.conversation_id),
                                                    m.sent_at, m.role.value, _storable(m.agent_id), _storable(m.text))
        found = dict(session.execute(
            select(Message.natural_key, Message.id)
            .where(Message.tenant_id == tenant_id, Message.natural_key.in_(set(keys.values())))
        ).all()) if keys else {}
        for f in result.findings:
            message_id = found.get(keys.get(f.message_index, ""), None) if f.message_index is not None else None
            if f.message_index is not None and message_id is None:
                skipped += 1
                continue
            matched = f.matched
            rows.append({
                "tenant_id": tenant_id, "run_id": run_id, "conversation_id": conv_id, "message_id": message_id,
                "kind": f.kind, "rule_id": f.check_id, "category": f.category, "severity": f.severity.value,
                "title": f.title[:300], "start_offset": f.start, "end_offset": f.end,
                "matched": mask_text(matched) if mask and matched else matched,
                "detail": mask_text(f.detail) if mask else f.detail, "suggestion": f.suggestion,
                "penalty": f.penalty.model_dump(mode="json") if f.penalty is not None else None,
            })
            stored += 1
    if rows:
        session.execute(Finding.__table__.insert(), rows)
    return stored, skipped


def _store_metrics(session: Session, tenant_id: int, run_id: int, ids: _Ids, metrics: list[MetricResult]) -> None:
    rows = []
    for m in metrics:
        shop_id = ids.shop(m.platform, m.shop)
        rows.append({
            "tenant_id": tenant_id, "run_id": run_id, "shop_id": shop_id, "agent_id": ids.agent(shop_id, m.agent_id),
            "day": m.day, "metric_id": m.metric, "value": m.value, "threshold": m.threshold, "passed": m.passed,
            "detail": {k: getattr(m, k) for k in _METRIC_DETAIL},
        })
    if rows:
        session.execute(Metric.__table__.insert(), rows)


def _store_agents(session: Session, tenant_id: int, run_id: int, ids: _Ids, agents: list[AgentSummary]) -> None:
    rows = []
    for a in agents:
        shop_id = ids.shop(a.platform, a.shop)
        rows.append({
            "tenant_id": tenant_id, "run_id": run_id, "shop_id": shop_id,
            "agent_id": None if a.unassigned else ids.agent(shop_id, a.agent_id), "score": a.mean_score,
            "rank": a.rank, "conversations": a.conversations, "messages": a.messages, "findings": a.findings,
            "detail": {"findings_by_severity": a.findings_by_severity, "findings_by_category": a.findings_by_category,
                       "min_score": a.min_score, "mean_first_response_seconds": a.mean_first_response_seconds},
        })
    if rows:
        session.execute(AgentScore.__table__.insert(), rows)


def _store_kpis(session: Session, tenant_id: int, run_id: int, ids: _Ids, kpis: KpiReport | None) -> int:
    """Every KPI row (all levels, daily and whole-period) with its threshold results; `passed` is
    False when one of them failed, None when none was judged."""
    rows = []
    for r in kpis.rows if kpis is not None else ():
        shop_id = None if r.level == "platform" else ids.shop(r.platform, r.shop)
        judged = [res.passed for res in r.results if res.passed is not None]
        rows.append({
            "tenant_id": tenant_id, "run_id": run_id, "level": r.level, "platform": r.platform, "shop_id": shop_id,
            "agent_id": ids.agent(shop_id, r.agent_id) if r.level == "agent" else None, "day": r.day,
            **{name: getattr(r, name) for name in KPI_FIELDS},
            "passed": all(judged) if judged else None,
            "results": [res.model_dump(mode="json", include=_KPI_RESULT) for res in r.results],
        })
    if rows:
        session.execute(Kpi.__table__.insert(), rows)
    return len(rows)


def _kpi_summary(kpis: KpiReport | None) -> dict[str, Any] | None:
    """The KPI report's profile and order/refund counts (the rows are in kpi_rows); None without orders."""
    if kpis is None:
        return None
    return {
        "profile": kpis.profile, "profile_title": kpis.profile_title, "orders": kpis.orders,
        "silent_orders": kpis.silent_orders, "refunds": kpis.refunds, "unmatched_refunds": kpis.unmatched_refunds,
        "imports": {kind: summary.model_dump(mode="json", exclude={"files", "rejects_path"})
                    for kind, summary in kpis.imports.items()},
    }
