"""The server's side of storage: every query a request needs, each in one short session, always
scoped by the caller's tenant (a row of another tenant is "not found", never "forbidden").

Storage (kefuguard.storage) owns the schema and the write paths (keys, settings, ingest); the
read queries the API's lists need (filters, pagination, totals) are written here on its models.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from kefuguard.server.security import Principal
from kefuguard.shop import ShopSettings
from kefuguard.storage.db import Database
from kefuguard.storage.errors import NotFoundError
from kefuguard.storage.models import (
    KPI_FIELDS,
    Agent,
    AgentScore,
    AlertDelivery,
    AlertWebhook,
    ApiKey,
    AuditArtefact,
    AuditRun,
    Conversation,
    Finding,
    Kpi,
    Message,
    Metric,
    Shop,
    ShopSettingsChange,
    ShopSettingsRecord,
)

# ---------------------------------------------------------------------------- helpers
_SEVERITIES = ("critical", "major", "minor", "info")


def iso(value: dt.datetime | dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _count(session: Session, query: Select) -> int:
    return session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0


def _day_bounds(day_from: dt.date | None, day_to: dt.date | None) -> tuple[dt.datetime | None, dt.datetime | None]:
    """[start, end) instants of Beijing-time days (chat logs are in Asia/Shanghai)."""
    from kefuguard.conversation.model import SHANGHAI

    start = dt.datetime.combine(day_from, dt.time(), SHANGHAI) if day_from else None
    end = dt.datetime.combine(day_to + dt.timedelta(days=1), dt.time(), SHANGHAI) if day_to else None
    return start, end


def _with_settings(query: Any, tenant_id: int, shop_id: int | None = None) -> Any:
    """`query` over the tenant's shops (or one) joined with their stored settings (none yet: NULLs)."""
    query = query.outerjoin(ShopSettingsRecord, and_(ShopSettingsRecord.tenant_id == Shop.tenant_id,
                                                     ShopSettingsRecord.shop_id == Shop.id))
    return query.where(Shop.tenant_id == tenant_id, *([Shop.id == shop_id] if shop_id is not None else []))


@dataclass(frozen=True)
class ListFilter:
    """Filters common to the list endpoints (None: not filtered)."""

    shop_id: int | None = None
    agent_id: int | None = None
    day_from: dt.date | None = None
    day_to: dt.date | None = None
    run_id: int | None = None


class Store:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._shop_labels: dict[tuple[int, int], str] = {}
        self._webhooks: Any = None

    # ------------------------------------------------------------------ health
    def readiness(self) -> dict[str, Any]:
        from kefuguard.storage.db import head_revision

        head = head_revision()
        try:
            revision = self.db.current_revision()
        except Exception:
            return {"database": False, "migrated": False, "revision": None, "head": head}
        return {"database": True, "migrated": revision == head, "revision": revision, "head": head}

    # ------------------------------------------------------------------ keys and tenants
    def lookup_key(self, raw: str) -> Principal | None:
        from kefuguard.storage.keys import authenticate

        with self.db.session() as s:
            key = authenticate(s, raw)
            if key is None:
                return None
            return Principal(key_id=key.id, tenant_id=key.tenant_id, role=key.role, agent_id=key.agent_id,
                             label=key.label or "")

    def create_key(self, tenant_id: int, role: str, agent_id: int | None, label: str | None) -> tuple[dict, str]:
        from kefuguard.storage.keys import create_api_key

        with self.db.session(immediate=True) as s:
            key, plaintext = create_api_key(s, tenant_id, role, agent_id, label)
            return _key_json(key), plaintext

    def list_keys(self, tenant_id: int, include_revoked: bool) -> list[dict]:
        from kefuguard.storage.keys import list_api_keys

        with self.db.session() as s:
            return [_key_json(k) for k in list_api_keys(s, tenant_id, include_revoked=include_revoked)]

    def revoke_key(self, tenant_id: int, key_id: int) -> bool:
        from kefuguard.storage.keys import revoke_api_key

        with self.db.session(immediate=True) as s:
            return revoke_api_key(s, tenant_id, key_id)

    # ------------------------------------------------------------------ shops and settings
    def list_shops(self, tenant_id: int) -> list[dict]:
        with self.db.session() as s:
            rows = s.execute(_with_settings(select(Shop, ShopSettingsRecord.version), tenant_id)
                             .order_by(Shop.platform, Shop.external_id)).all()
            return [_shop_json(shop, version or 0) for shop, version in rows]

    def create_shop(self, tenant_id: int, platform: str, external_id: str, name: str | None) -> dict:
        from kefuguard.storage.tenants import get_or_create_shop

        with self.db.session(immediate=True) as s:
            return _shop_json(get_or_create_shop(s, tenant_id, platform, external_id, name=name), 0)

    def get_shop(self, tenant_id: int, shop_id: int) -> dict:
        from kefuguard.storage.tenants import get_shop

        with self.db.session() as s:
            shop = get_shop(s, tenant_id, shop_id)
            version = s.scalar(select(ShopSettingsRecord.version).where(
                ShopSettingsRecord.tenant_id == tenant_id, ShopSettingsRecord.shop_id == shop_id))
            return _shop_json(shop, version or 0)

    def shop_label(self, tenant_id: int, shop_id: int) -> str:
        """A shop's name for alerts (cached: names do not change)."""
        key = (tenant_id, shop_id)
        label = self._shop_labels.get(key)
        if label is None:
            with self.db.session() as s:
                label = s.scalar(select(Shop.name).where(Shop.tenant_id == tenant_id, Shop.id == shop_id)) or str(shop_id)
            self._shop_labels[key] = label
        return label

    def agent_label(self, tenant_id: int, agent_id: int) -> str:
        """An agent's external id (as chat exports name them) for alerts (cached)."""
        key = (tenant_id, -agent_id)
        label = self._shop_labels.get(key)
        if label is None:
            with self.db.session() as s:
                label = s.scalar(select(Agent.external_id).where(Agent.tenant_id == tenant_id,
                                                                 Agent.id == agent_id)) or str(agent_id)
            self._shop_labels[key] = label
        return label

    # the ShopCheckers cache's source (kefuguard.server.checking.SettingsSource)
    def settings_version(self, tenant_id: int, shop_id: int) -> int | None:
        with self.db.session() as s:
            row = s.execute(_with_settings(select(Shop.id, ShopSettingsRecord.version), tenant_id, shop_id)).first()
            if row is None:
                return None
            return row[1] or 0

    def load_settings(self, tenant_id: int, shop_id: int) -> tuple[int, ShopSettings] | None:
        from kefuguard.shop import parse_settings
        from kefuguard.storage.settings import default_shop_id

        with self.db.session() as s:
            row = s.execute(_with_settings(select(Shop, ShopSettingsRecord), tenant_id, shop_id)).first()
            if row is None:
                return None
            shop, record = row
            if record is None:
                return 0, ShopSettings(shop_id=default_shop_id(shop.external_id, shop.id), platform=shop.platform)
            return record.version, parse_settings(record.settings)

    def settings_record(self, tenant_id: int, shop_id: int) -> dict:
        """GET /v1/shops/{id}/settings: the stored settings (or the defaults, version 0)."""
        from kefuguard.storage.settings import default_shop_id, get_shop_settings
        from kefuguard.storage.tenants import get_shop

        with self.db.session() as s:
            shop = get_shop(s, tenant_id, shop_id)
            record = get_shop_settings(s, tenant_id, shop_id)
            if record is None:
                defaults = ShopSettings(shop_id=default_shop_id(shop.external_id, shop.id), platform=shop.platform)
                return {"shop_id": shop.id, "platform": shop.platform, "version": 0, "updated_at": None,
                        "updated_by": None, "settings": defaults.model_dump(mode="json")}
            return {"shop_id": shop.id, "platform": shop.platform, "version": record.version,
                    "updated_at": iso(record.updated_at), "updated_by": record.updated_by, "settings": record.settings}

    def prepare_settings(self, tenant_id: int, shop_id: int, data: dict[str, Any]) -> ShopSettings:
        """The settings as they will be stored: shop_id and platform default to the shop's."""
        from kefuguard.storage.settings import settings_for_shop
        from kefuguard.storage.tenants import get_shop

        with self.db.session() as s:
            return settings_for_shop(get_shop(s, tenant_id, shop_id), data)

    def put_settings(self, tenant_id: int, shop_id: int, settings: ShopSettings, who: str,
                     expected_version: int | None) -> int:
        from kefuguard.storage.settings import put_shop_settings

        with self.db.session(immediate=True) as s:
            return put_shop_settings(s, tenant_id, shop_id, settings, who, expected_version=expected_version,
                                     check_rules=False)

    def settings_history(self, tenant_id: int, shop_id: int, limit: int, offset: int) -> tuple[list[dict], int]:
        from kefuguard.storage.tenants import get_shop

        with self.db.session() as s:
            get_shop(s, tenant_id, shop_id)
            query = select(ShopSettingsChange).where(ShopSettingsChange.tenant_id == tenant_id,
                                                     ShopSettingsChange.shop_id == shop_id)
            total = _count(s, query)
            rows = s.scalars(query.order_by(ShopSettingsChange.version.desc()).limit(limit).offset(offset))
            return [{"version": c.version, "who": c.who, "at": iso(c.at), "diff": c.diff} for c in rows], total

    # ------------------------------------------------------------------ audit runs
    def create_run(self, tenant_id: int, params: dict[str, Any], who: str, shop_id: int | None = None) -> dict:
        with self.db.session(immediate=True) as s:
            run = AuditRun(tenant_id=tenant_id, shop_id=shop_id, status="queued", progress=0.0, params=params,
                           created_by=who[:200])
            s.add(run)
            s.flush()
            return _run_json(run, [])

    def fail_run(self, tenant_id: int, run_id: int, error: str) -> None:
        from sqlalchemy import update

        from kefuguard.storage.types import utcnow

        with self.db.session(immediate=True) as s:
            s.execute(update(AuditRun).where(AuditRun.tenant_id == tenant_id, AuditRun.id == run_id,
                                             AuditRun.status.in_(("queued", "running")))
                      .values(status="failed", error=error, finished_at=utcnow())
                      .execution_options(synchronize_session=False))

    def fail_orphaned_runs(self) -> int:
        """Runs this host started in a process that is gone (the server was stopped or killed
        mid-audit) are marked failed; runs of other hosts are theirs to judge."""
        import socket

        from kefuguard.storage.types import utcnow

        host = socket.gethostname()
        failed = 0
        with self.db.session(immediate=True) as s:
            for run in s.scalars(select(AuditRun).where(AuditRun.status.in_(("queued", "running")))):
                owner = str((run.params or {}).get("owner", ""))
                owner_host, _, pid = owner.rpartition(":")
                if owner_host != host or not pid.isdigit() or _alive(int(pid)):
                    continue
                run.status, run.finished_at = "failed", utcnow()
                run.error = "服务器重启，审计被中断，请重新提交 / the server restarted mid-audit; submit it again"
                failed += 1
        return failed

    def get_run(self, tenant_id: int, run_id: int) -> dict:
        with self.db.session() as s:
            run = s.scalars(select(AuditRun).where(AuditRun.tenant_id == tenant_id, AuditRun.id == run_id)).first()
            if run is None:
                raise NotFoundError(run_id)
            kinds = list(s.scalars(select(AuditArtefact.kind).where(AuditArtefact.tenant_id == tenant_id,
                                                                      AuditArtefact.run_id == run_id)))
            return _run_json(run, kinds)

    def list_runs(self, tenant_id: int, status: str | None, limit: int, offset: int) -> tuple[list[dict], int]:
        with self.db.session() as s:
            query = select(AuditRun).where(AuditRun.tenant_id == tenant_id)
            if status:
                query = query.where(AuditRun.status == status)
            total = _count(s, query)
            runs = list(s.scalars(query.order_by(AuditRun.id.desc()).limit(limit).offset(offset)))
            kinds: dict[int, list[str]] = {}
            if runs:
                for run_id, kind in s.execute(select(AuditArtefact.run_id, AuditArtefact.kind).where(
                        AuditArtefact.tenant_id == tenant_id, AuditArtefact.run_id.in_([r.id for r in runs]))):
                    kinds.setdefault(run_id, []).append(kind)
            return [_run_json(r, kinds.get(r.id, [])) for r in runs], total

    def artefact(self, tenant_id: int, run_id: int, kind: str) -> tuple[str, str, bytes | None, str | None] | None:
        """(filename, media type, content, path) of a run's report file, None if there is none."""
        with self.db.session() as s:
            row = s.scalars(select(AuditArtefact).where(AuditArtefact.tenant_id == tenant_id,
                                                        AuditArtefact.run_id == run_id,
                                                        AuditArtefact.kind == kind)).first()
            if row is None:
                return None
            return row.filename, row.media_type, row.content, row.path

    # ------------------------------------------------------------------ chat data
    def agent_id_by_external(self, tenant_id: int, external_id: str) -> int | None:
        with self.db.session() as s:
            ids = list(s.scalars(select(Agent.id).where(Agent.tenant_id == tenant_id,
                                                        Agent.external_id == external_id).limit(2)))
            return ids[0] if len(ids) == 1 else None

    def agent_exists(self, tenant_id: int, agent_id: int) -> bool:
        with self.db.session() as s:
            return s.scalar(select(Agent.id).where(Agent.tenant_id == tenant_id, Agent.id == agent_id)) is not None

    def list_agents(self, tenant_id: int, shop_id: int | None, limit: int, offset: int) -> tuple[list[dict], int]:
        with self.db.session() as s:
            query = (select(Agent, Shop.name, Shop.platform)
                     .join(Shop, and_(Shop.tenant_id == Agent.tenant_id, Shop.id == Agent.shop_id))
                     .where(Agent.tenant_id == tenant_id))
            if shop_id is not None:
                query = query.where(Agent.shop_id == shop_id)
            total = _count(s, query)
            rows = s.execute(query.order_by(Agent.shop_id, Agent.external_id).limit(limit).offset(offset)).all()
            return [{"id": a.id, "shop_id": a.shop_id, "shop": shop, "platform": platform,
                     "external_id": a.external_id, "name": a.name} for a, shop, platform in rows], total

    @staticmethod
    def _agent_conversations(tenant_id: int, agent_id: int) -> Select:
        """Ids of the conversations an agent took part in."""
        return select(Message.conversation_id).where(Message.tenant_id == tenant_id, Message.agent_id == agent_id)

    @staticmethod
    def _current_findings(tenant_id: int, conversation_ids: Sequence[int] | None = None) -> Select:
        """Findings of each conversation's newest audit run (a conversation audited again is counted
        once, by its latest run): a select of Finding rows, to filter or aggregate further."""
        latest = select(Finding.conversation_id.label("cid"), func.max(Finding.run_id).label("rid")).where(
            Finding.tenant_id == tenant_id)
        if conversation_ids is not None:
            latest = latest.where(Finding.conversation_id.in_(conversation_ids))
        newest = latest.group_by(Finding.conversation_id).subquery()
        return select(Finding).join(newest, and_(newest.c.cid == Finding.conversation_id,
                                                 newest.c.rid == Finding.run_id)).where(Finding.tenant_id == tenant_id)

    def list_conversations(self, tenant_id: int, f: ListFilter, platform: str | None, limit: int,
                           offset: int, *, category: str | None = None, severity: str | None = None,
                           flagged: bool | None = None) -> tuple[list[dict], int]:
        """Newest first; each with `findings` (count) and `worst` (severity) of its newest audit run.
        category/severity: conversations with such a finding in that run; flagged: with (True) or
        without (False) any finding."""
        with self.db.session() as s:
            query = (select(Conversation, Shop.name, Shop.platform)
                     .join(Shop, and_(Shop.tenant_id == Conversation.tenant_id, Shop.id == Conversation.shop_id))
                     .where(Conversation.tenant_id == tenant_id))
            if f.shop_id is not None:
                query = query.where(Conversation.shop_id == f.shop_id)
            if platform:
                query = query.where(Shop.platform == platform)
            if f.agent_id is not None:
                query = query.where(Conversation.id.in_(self._agent_conversations(tenant_id, f.agent_id)))
            start, end = _day_bounds(f.day_from, f.day_to)
            if start is not None:
                query = query.where(Conversation.started_at >= start)
            if end is not None:
                query = query.where(Conversation.started_at < end)
            if category or severity or flagged:
                current = self._current_findings(tenant_id).with_only_columns(Finding.conversation_id)
                if category:
                    current = current.where(Finding.category == category)
                if severity:
                    current = current.where(Finding.severity == severity)
                query = query.where(Conversation.id.in_(current))
            elif flagged is False:
                query = query.where(Conversation.id.not_in(
                    select(Finding.conversation_id).where(Finding.tenant_id == tenant_id)))
            total = _count(s, query)
            rows = s.execute(query.order_by(Conversation.started_at.desc(), Conversation.id.desc())
                             .limit(limit).offset(offset)).all()
            items = [_conversation_json(c, shop, plat) for c, shop, plat in rows]
            ids = [item["id"] for item in items]
            counts: dict[int, Counter[str]] = {}
            if ids:
                current = self._current_findings(tenant_id, ids).with_only_columns(
                    Finding.conversation_id, Finding.severity, func.count()).group_by(
                    Finding.conversation_id, Finding.severity)
                for cid, sev, n in s.execute(current):
                    counts.setdefault(cid, Counter())[sev] += n
            for item in items:
                found = counts.get(item["id"], Counter())
                item["findings"] = sum(found.values())
                item["worst"] = next((sev for sev in _SEVERITIES if found.get(sev)), None)
            return items, total

    def get_conversation(self, tenant_id: int, conversation_id: int, agent_id: int | None,
                         message_limit: int = 2000) -> dict:
        with self.db.session() as s:
            query = (select(Conversation, Shop.name, Shop.platform)
                     .join(Shop, and_(Shop.tenant_id == Conversation.tenant_id, Shop.id == Conversation.shop_id))
                     .where(Conversation.tenant_id == tenant_id, Conversation.id == conversation_id))
            if agent_id is not None:
                query = query.where(Conversation.id.in_(self._agent_conversations(tenant_id, agent_id)))
            row = s.execute(query).first()
            if row is None:
                raise NotFoundError(conversation_id)
            conv, shop, platform = row
            out = _conversation_json(conv, shop, platform)
            messages = s.execute(
                select(Message, Agent.external_id)
                .outerjoin(Agent, and_(Agent.tenant_id == Message.tenant_id, Agent.id == Message.agent_id))
                .where(Message.tenant_id == tenant_id, Message.conversation_id == conversation_id)
                .order_by(Message.sent_at, Message.id).limit(message_limit)
            ).all()
            out["messages"] = [_message_json(m, agent) for m, agent in messages]
            findings = s.scalars(select(Finding).where(Finding.tenant_id == tenant_id,
                                                       Finding.conversation_id == conversation_id)
                                 .order_by(Finding.run_id.desc(), Finding.id))
            out["findings"] = [_finding_json(f) for f in findings]
            return out

    def list_findings(self, tenant_id: int, f: ListFilter, severity: str | None, category: str | None,
                      rule_id: str | None, kind: str | None, limit: int, offset: int) -> tuple[list[dict], int]:
        with self.db.session() as s:
            query = (select(Finding, Conversation.external_id, Conversation.shop_id, Message.sent_at,
                            Message.text, Message.agent_id)
                     .join(Conversation, and_(Conversation.tenant_id == Finding.tenant_id,
                                              Conversation.id == Finding.conversation_id))
                     .outerjoin(Message, and_(Message.tenant_id == Finding.tenant_id, Message.id == Finding.message_id))
                     .where(Finding.tenant_id == tenant_id))
            if f.run_id is not None:
                query = query.where(Finding.run_id == f.run_id)
            if f.shop_id is not None:
                query = query.where(Conversation.shop_id == f.shop_id)
            if f.agent_id is not None:
                # the agent's own messages, and conversation-level findings of conversations they took part in
                query = query.where(or_(
                    Message.agent_id == f.agent_id,
                    and_(Finding.message_id.is_(None),
                         Finding.conversation_id.in_(self._agent_conversations(tenant_id, f.agent_id))),
                ))
            start, end = _day_bounds(f.day_from, f.day_to)
            when = func.coalesce(Message.sent_at, Conversation.started_at)
            if start is not None:
                query = query.where(when >= start)
            if end is not None:
                query = query.where(when < end)
            for column, value in ((Finding.severity, severity), (Finding.category, category),
                                  (Finding.rule_id, rule_id), (Finding.kind, kind)):
                if value:
                    query = query.where(column == value)
            total = _count(s, query)
            rows = s.execute(query.order_by(Finding.id.desc()).limit(limit).offset(offset)).all()
            items = []
            for finding, conv, shop_id, sent_at, text, agent in rows:
                item = _finding_json(finding)
                item.update({"conversation_external_id": conv, "shop_id": shop_id, "agent_id": agent,
                             "sent_at": iso(sent_at), "text": text})
                items.append(item)
            return items, total

    def list_metrics(self, tenant_id: int, f: ListFilter, metric_id: str | None, passed: bool | None,
                     level: str | None, period: str | None, limit: int, offset: int) -> tuple[list[dict], int]:
        with self.db.session() as s:
            query = (select(Metric, Shop.name, Shop.platform, Agent.external_id)
                     .join(Shop, and_(Shop.tenant_id == Metric.tenant_id, Shop.id == Metric.shop_id))
                     .outerjoin(Agent, and_(Agent.tenant_id == Metric.tenant_id, Agent.id == Metric.agent_id))
                     .where(Metric.tenant_id == tenant_id))
            query = _daily_rows(_run_shop_agent(query, Metric, f), Metric.day, f, period)
            if metric_id:
                query = query.where(Metric.metric_id == metric_id)
            if passed is not None:
                query = query.where(Metric.passed.is_(passed))
            if level == "shop":
                query = query.where(Metric.agent_id.is_(None))
            elif level == "agent":
                query = query.where(Metric.agent_id.is_not(None))
            total = _count(s, query)
            rows = s.execute(query.order_by(Metric.run_id.desc(), Metric.shop_id, Metric.day, Metric.metric_id,
                                            Metric.id).limit(limit).offset(offset)).all()
            return [{"id": m.id, "run_id": m.run_id, "shop_id": m.shop_id, "shop": shop, "platform": platform,
                     "agent_id": m.agent_id, "agent": agent, "day": iso(m.day), "metric": m.metric_id,
                     "value": m.value, "threshold": m.threshold, "passed": m.passed, **(m.detail or {})}
                    for m, shop, platform, agent in rows], total

    def list_kpis(self, tenant_id: int, f: ListFilter, platform: str | None, level: str | None, period: str | None,
                  passed: bool | None, limit: int, offset: int) -> tuple[list[dict], int]:
        """Sales KPI rows of audits run with order exports, newest run first, each run's rows in the
        audit's order (platform, shop, agent; daily rows, then the whole period). Another tenant's
        run_id is not found."""
        with self.db.session() as s:
            if f.run_id is not None and s.scalar(select(AuditRun.id).where(AuditRun.tenant_id == tenant_id,
                                                                            AuditRun.id == f.run_id)) is None:
                raise NotFoundError(f.run_id)
            query = (select(Kpi, Shop.name, Agent.external_id)
                     .outerjoin(Shop, and_(Shop.tenant_id == Kpi.tenant_id, Shop.id == Kpi.shop_id))
                     .outerjoin(Agent, and_(Agent.tenant_id == Kpi.tenant_id, Agent.id == Kpi.agent_id))
                     .where(Kpi.tenant_id == tenant_id))
            query = _daily_rows(_run_shop_agent(query, Kpi, f), Kpi.day, f, period)
            for column, value in ((Kpi.platform, platform), (Kpi.level, level)):
                if value:
                    query = query.where(column == value)
            if passed is not None:
                query = query.where(Kpi.passed.is_(passed))
            total = _count(s, query)
            rows = s.execute(query.order_by(Kpi.run_id.desc(), Kpi.id).limit(limit).offset(offset)).all()
            return [_kpi_json(k, shop, agent) for k, shop, agent in rows], total

    def list_scores(self, tenant_id: int, f: ListFilter, limit: int, offset: int) -> tuple[list[dict], int]:
        with self.db.session() as s:
            query = (select(AgentScore, Shop.name, Shop.platform, Agent.external_id, AuditRun.created_at)
                     .join(Shop, and_(Shop.tenant_id == AgentScore.tenant_id, Shop.id == AgentScore.shop_id))
                     .join(AuditRun, and_(AuditRun.tenant_id == AgentScore.tenant_id, AuditRun.id == AgentScore.run_id))
                     .outerjoin(Agent, and_(Agent.tenant_id == AgentScore.tenant_id, Agent.id == AgentScore.agent_id))
                     .where(AgentScore.tenant_id == tenant_id))
            query = _run_shop_agent(query, AgentScore, f)
            start, end = _day_bounds(f.day_from, f.day_to)
            if start is not None:
                query = query.where(AuditRun.created_at >= start)
            if end is not None:
                query = query.where(AuditRun.created_at < end)
            total = _count(s, query)
            rows = s.execute(query.order_by(AgentScore.run_id.desc(), AgentScore.shop_id, AgentScore.rank,
                                            AgentScore.id).limit(limit).offset(offset)).all()
            return [{"id": a.id, "run_id": a.run_id, "run_created_at": iso(created), "shop_id": a.shop_id,
                     "shop": shop, "platform": platform, "agent_id": a.agent_id, "agent": agent,
                     "unassigned": a.agent_id is None, "score": a.score, "rank": a.rank,
                     "conversations": a.conversations, "messages": a.messages, "findings": a.findings,
                     **(a.detail or {})} for a, shop, platform, agent, created in rows], total

    # ------------------------------------------------------------------ webhooks
    def webhook_directory(self) -> Any:
        if self._webhooks is None:
            from kefuguard.server.alerting import StoreWebhooks

            self._webhooks = StoreWebhooks(self.db)
        return self._webhooks

    def delivery_log(self) -> Any:
        from kefuguard.server.alerting import StoreDeliveryLog

        return StoreDeliveryLog(self.db)

    def _webhooks_changed(self, tenant_id: int) -> None:
        if self._webhooks is not None:
            self._webhooks.forget(str(tenant_id))

    def list_webhooks(self, tenant_id: int) -> list[dict]:
        with self.db.session() as s:
            rows = s.scalars(select(AlertWebhook).where(AlertWebhook.tenant_id == tenant_id).order_by(AlertWebhook.id))
            return [_webhook_json(w) for w in rows]

    def get_webhook(self, tenant_id: int, webhook_id: int) -> dict:
        with self.db.session() as s:
            return _webhook_json(self._webhook(s, tenant_id, webhook_id))

    @staticmethod
    def _webhook(s: Session, tenant_id: int, webhook_id: int) -> AlertWebhook:
        row = s.scalars(select(AlertWebhook).where(AlertWebhook.tenant_id == tenant_id,
                                                   AlertWebhook.id == webhook_id)).first()
        if row is None:
            raise NotFoundError(webhook_id)
        return row

    def create_webhook(self, tenant_id: int, data: dict[str, Any]) -> dict:
        with self.db.session(immediate=True) as s:
            row = AlertWebhook(tenant_id=tenant_id, kind=data["kind"], url=data["url"], secret=data.get("secret"),
                               enabled=data.get("enabled", True), label=data.get("name") or None)
            s.add(row)
            s.flush()
            out = _webhook_json(row)
        self._webhooks_changed(tenant_id)
        return out

    def update_webhook(self, tenant_id: int, webhook_id: int, changes: dict[str, Any]) -> dict:
        with self.db.session(immediate=True) as s:
            row = self._webhook(s, tenant_id, webhook_id)
            for name, value in changes.items():
                setattr(row, "label" if name == "name" else name, value)
            s.flush()
            out = _webhook_json(row)
        self._webhooks_changed(tenant_id)
        return out

    def delete_webhook(self, tenant_id: int, webhook_id: int) -> None:
        with self.db.session(immediate=True) as s:
            s.delete(self._webhook(s, tenant_id, webhook_id))
        self._webhooks_changed(tenant_id)

    def list_deliveries(self, tenant_id: int, webhook_id: int | None, status: str | None, limit: int,
                        offset: int) -> tuple[list[dict], int]:
        with self.db.session() as s:
            query = select(AlertDelivery).where(AlertDelivery.tenant_id == tenant_id)
            if webhook_id is not None:
                self._webhook(s, tenant_id, webhook_id)
                query = query.where(AlertDelivery.webhook_id == webhook_id)
            if status is not None:
                query = query.where(AlertDelivery.status == status)
            total = _count(s, query)
            rows = s.scalars(query.order_by(AlertDelivery.id.desc()).limit(limit).offset(offset))
            return [_delivery_json(d) for d in rows], total


def _run_shop_agent(query, table, f):
    """`query` narrowed by the filter's run, shop and agent, on a table that has all three columns."""
    for column, value in (("run_id", f.run_id), ("shop_id", f.shop_id), ("agent_id", f.agent_id)):
        if value is not None:
            query = query.where(getattr(table, column) == value)
    return query


def _daily_rows(query, day, f, period):
    """`query` narrowed to the filter's days on a table of daily rows (`day` None: the whole period);
    period "total" keeps the whole-period rows only, "day" the daily ones."""
    if f.day_from is not None:
        query = query.where(day >= f.day_from)
    if f.day_to is not None:
        query = query.where(day <= f.day_to)
    if period == "total":
        query = query.where(day.is_(None))
    elif period == "day":
        query = query.where(day.is_not(None))
    return query


def _key_json(key: ApiKey) -> dict:
    return {"id": key.id, "role": key.role, "agent_id": key.agent_id, "label": key.label, "prefix": key.prefix,
            "created_at": iso(key.created_at), "revoked_at": iso(key.revoked_at)}


def _shop_json(shop: Shop, version: int) -> dict:
    return {"id": shop.id, "platform": shop.platform, "external_id": shop.external_id, "name": shop.name,
            "settings_version": version, "created_at": iso(shop.created_at)}


__all__ = ["ListFilter", "NotFoundError", "Store", "iso"]


def _alive(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _run_json(run: AuditRun, kinds: Sequence[str]) -> dict:
    params = {k: v for k, v in (run.params or {}).items() if k != "owner"}
    return {"id": run.id, "status": run.status, "progress": run.progress, "shop_id": run.shop_id,
            "params": params, "conversations": run.conversations, "messages": run.messages,
            "findings": run.findings, "summary": run.summary, "error": run.error, "created_by": run.created_by,
            "created_at": iso(run.created_at), "started_at": iso(run.started_at), "finished_at": iso(run.finished_at),
            "reports": sorted(kinds)}


def _conversation_json(c: Conversation, shop: str, platform: str) -> dict:
    return {"id": c.id, "shop_id": c.shop_id, "shop": shop, "platform": platform, "external_id": c.external_id,
            "buyer_id": c.buyer_id, "message_count": c.message_count, "started_at": iso(c.started_at),
            "last_message_at": iso(c.last_message_at)}


def _message_json(m: Message, agent: str | None) -> dict:
    return {"id": m.id, "role": m.role, "agent_id": m.agent_id, "agent": agent, "sent_at": iso(m.sent_at),
            "text": m.text, "quick_reply": m.quick_reply, "auto_reply": m.auto_reply,
            "buyer_reported": m.buyer_reported}


def _finding_json(f: Finding) -> dict:
    return {"id": f.id, "run_id": f.run_id, "conversation_id": f.conversation_id, "message_id": f.message_id,
            "kind": f.kind, "rule_id": f.rule_id, "category": f.category, "severity": f.severity, "title": f.title,
            "start": f.start_offset, "end": f.end_offset, "matched": f.matched, "detail": f.detail,
            "suggestion": f.suggestion, "penalty": f.penalty}


def _kpi_json(k: Kpi, shop: str | None, agent: str | None) -> dict:
    return {"id": k.id, "run_id": k.run_id, "level": k.level, "platform": k.platform, "shop_id": k.shop_id,
            "shop": shop, "agent_id": k.agent_id, "agent": agent, "day": iso(k.day),
            **{name: getattr(k, name) for name in KPI_FIELDS}, "passed": k.passed, "results": k.results or []}


def _webhook_json(w: AlertWebhook) -> dict:
    from kefuguard.alerts.model import redact_url

    return {"id": w.id, "kind": w.kind, "url": redact_url(w.url), "has_secret": bool(w.secret),
            "enabled": w.enabled, "name": w.label or "", "created_at": iso(w.created_at)}


def _delivery_json(d: AlertDelivery) -> dict:
    payload = d.payload or {}
    return {"id": d.id, "webhook_id": d.webhook_id, "event_id": d.event_key,
            "status": d.status, "attempts": d.attempts, "last_error": d.last_error,
            "event_kind": payload.get("event_kind"), "subject": payload.get("subject"), "shop": payload.get("shop"),
            "http_status": payload.get("http_status"), "url": payload.get("url"),
            "created_at": iso(d.created_at), "sent_at": iso(d.sent_at)}
