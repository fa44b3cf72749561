"""Every model round-trips on both databases; the schema itself keeps tenants apart."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, StatementError

from kefuguard.storage import (
    Agent,
    AgentScore,
    AlertDelivery,
    AlertWebhook,
    ApiKey,
    AuditArtefact,
    AuditRun,
    Conversation,
    Database,
    Finding,
    ImportBatch,
    ImportReject,
    Message,
    Metric,
    Shop,
    ShopSettingsChange,
    ShopSettingsRecord,
    Tenant,
    create_tenant,
    get_or_create_agent,
    get_or_create_shop,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
SENT = dt.datetime(2025, 6, 16, 10, 9, 12, 345678, tzinfo=SHANGHAI)


def _world(s, name: str = "租户") -> dict:
    """One of everything, for one tenant; returns the ids."""
    tenant = create_tenant(s, name)
    shop = get_or_create_shop(s, tenant.id, "拼多多", "山野茶铺")
    agent = get_or_create_agent(s, tenant.id, shop.id, "山野茶铺:茶茶")
    imp = ImportBatch(tenant_id=tenant.id, filename="a.jsonl", file_sha256="0" * 64, options={"platform": None},
                      options_key="1" * 64)
    conv = Conversation(tenant_id=tenant.id, shop_id=shop.id, external_id="c1", buyer_id="pdd_1", message_count=1,
                        started_at=SENT, last_message_at=SENT)
    run = AuditRun(tenant_id=tenant.id, shop_id=shop.id, status="running", progress=0.5, params={"天": ["2025-06-16"]})
    hook = AlertWebhook(tenant_id=tenant.id, kind="feishu", url="https://open.feishu.cn/hook/x", secret="s")
    s.add_all([imp, conv, run, hook])
    s.flush()
    msg = Message(tenant_id=tenant.id, conversation_id=conv.id, shop_id=shop.id, agent_id=agent.id, import_id=imp.id,
                  role="agent", sent_at=SENT, text="亲，这款是现货的😊", quick_reply=True, order_time=SENT,
                  paid_amount=66.5, source="a.jsonl:1", natural_key="k" * 64)
    s.add(msg)
    s.flush()
    s.add_all([
        ImportReject(tenant_id=tenant.id, import_id=imp.id, seq=2, file="a.jsonl", line=2, field="sent_at",
                     reason="发送时间为空 missing sent_at", raw="{}"),
        Finding(tenant_id=tenant.id, run_id=run.id, conversation_id=conv.id, message_id=msg.id,
                rule_id="pdd.wording.baobei", category="wording", severity="minor", start_offset=0, end_offset=2,
                matched="宝贝", penalty={"text": "扣分", "points": 2.0}),
        Metric(tenant_id=tenant.id, run_id=run.id, shop_id=shop.id, agent_id=agent.id, day=dt.date(2025, 6, 16),
               metric_id="pdd.reply_3min", value=0.91, threshold=0.85, passed=True, detail={"unit": "%"}),
        AgentScore(tenant_id=tenant.id, run_id=run.id, shop_id=shop.id, agent_id=agent.id, score=92.5, rank=1,
                   conversations=3, detail={"min_score": 80}),
        AuditArtefact(tenant_id=tenant.id, run_id=run.id, kind="xlsx", filename="report.xlsx",
                      content=b"PK\x03\x04\x00\xff", size=6),
        ShopSettingsRecord(tenant_id=tenant.id, shop_id=shop.id, version=1, settings={"banned_words": []},
                           updated_by="alice"),
        ShopSettingsChange(tenant_id=tenant.id, shop_id=shop.id, version=1, who="alice",
                           diff=[{"op": "add", "path": "allowed_phrases", "value": "最美"}]),
        AlertDelivery(tenant_id=tenant.id, webhook_id=hook.id, event_key="run:1:critical", payload={"msg": "严重"}),
        ApiKey(tenant_id=tenant.id, role="agent", agent_id=agent.id, prefix=f"p{tenant.id}", key_hash="h" * 64),
    ])
    s.flush()
    return {"tenant": tenant.id, "shop": shop.id, "agent": agent.id, "conversation": conv.id, "message": msg.id,
            "run": run.id, "webhook": hook.id, "import": imp.id}


def test_every_model_round_trips(database: Database) -> None:
    with database.session() as s:
        ids = _world(s)
    with database.session() as s:
        msg = s.get(Message, ids["message"])
        assert msg.sent_at == SENT and msg.sent_at.utcoffset() == dt.timedelta(0)  # aware, in UTC, microseconds kept
        assert msg.text == "亲，这款是现货的😊" and msg.quick_reply is True and msg.auto_reply is False
        assert msg.paid_amount == 66.5 and msg.order_time == SENT
        shop = s.get(Shop, ids["shop"])
        assert (shop.platform, shop.external_id, shop.name) == ("pinduoduo", "山野茶铺", "山野茶铺")
        assert s.get(Tenant, ids["tenant"]).mask_pii is True
        assert s.scalars(select(Agent.external_id)).one() == "山野茶铺:茶茶"
        run = s.get(AuditRun, ids["run"])
        assert run.params == {"天": ["2025-06-16"]} and run.progress == 0.5 and run.status == "running"
        finding = s.scalars(select(Finding)).one()
        assert finding.penalty == {"text": "扣分", "points": 2.0} and finding.matched == "宝贝"
        metric = s.scalars(select(Metric)).one()
        assert metric.day == dt.date(2025, 6, 16) and metric.passed is True and metric.detail == {"unit": "%"}
        assert s.scalars(select(AgentScore.detail)).one() == {"min_score": 80}
        assert s.scalars(select(AuditArtefact.content)).one() == b"PK\x03\x04\x00\xff"
        change = s.scalars(select(ShopSettingsChange)).one()
        assert change.diff == [{"op": "add", "path": "allowed_phrases", "value": "最美"}]
        assert change.at.tzinfo is not None
        delivery = s.scalars(select(AlertDelivery)).one()
        assert (delivery.status, delivery.attempts, delivery.payload) == ("pending", 0, {"msg": "严重"})
        assert s.scalars(select(AlertWebhook.enabled)).one() is True
        assert s.scalars(select(ImportReject.field)).one() == "sent_at"
        assert s.get(Conversation, ids["conversation"]).started_at == SENT


def test_naive_datetimes_are_refused(database: Database) -> None:
    with pytest.raises(StatementError, match="naive datetime"), database.session() as s:
        ids = _world(s)
        s.add(AuditRun(tenant_id=ids["tenant"], started_at=dt.datetime(2025, 1, 1)))
        s.flush()


def test_rows_cannot_point_into_another_tenant(database: Database) -> None:
    """Composite (tenant_id, id) foreign keys: whatever a query forgets, a row of tenant A can never
    hang under tenant B's conversation, shop, agent, run or webhook."""
    with database.session() as s:
        a, b = _world(s, "甲"), _world(s, "乙")
    cases = [
        lambda: Message(tenant_id=a["tenant"], conversation_id=b["conversation"], shop_id=a["shop"], role="buyer",
                        sent_at=SENT, text="x", natural_key="x" * 64),
        lambda: Conversation(tenant_id=a["tenant"], shop_id=b["shop"], external_id="c9"),
        lambda: Finding(tenant_id=a["tenant"], run_id=a["run"], conversation_id=a["conversation"],
                        message_id=b["message"], rule_id="r", category="c", severity="info"),
        lambda: ApiKey(tenant_id=a["tenant"], role="agent", agent_id=b["agent"], prefix="zz", key_hash="h"),
        lambda: AlertDelivery(tenant_id=a["tenant"], webhook_id=b["webhook"], event_key="e"),
        lambda: ShopSettingsRecord(tenant_id=a["tenant"], shop_id=b["shop"], version=1, settings={}, updated_by="x"),
    ]
    for make in cases:
        with pytest.raises(IntegrityError), database.session() as s:
            s.add(make())
            s.flush()


@pytest.mark.parametrize("bad", ["role", "agent_role", "progress", "severity", "kind"])
def test_check_constraints(database: Database, bad: str) -> None:
    with database.session() as s:
        ids = _world(s)
    t = ids["tenant"]
    make = {
        "role": lambda: ApiKey(tenant_id=t, role="owner", prefix="q1", key_hash="h"),
        "agent_role": lambda: ApiKey(tenant_id=t, role="agent", agent_id=None, prefix="q2", key_hash="h"),
        "progress": lambda: AuditRun(tenant_id=t, progress=1.5),
        "severity": lambda: Finding(tenant_id=t, run_id=ids["run"], conversation_id=ids["conversation"], rule_id="r",
                                    category="c", severity="fatal"),
        "kind": lambda: AlertWebhook(tenant_id=t, kind="slack", url="https://x"),
    }[bad]
    with pytest.raises(IntegrityError), database.session() as s:
        s.add(make())
        s.flush()


def test_deleting_a_tenant_deletes_its_rows_only(database: Database) -> None:
    with database.session() as s:
        a, b = _world(s, "甲"), _world(s, "乙")
    with database.session() as s:
        s.execute(Tenant.__table__.delete().where(Tenant.__table__.c.id == a["tenant"]))
    with database.session() as s:
        for model in (Shop, Agent, Conversation, Message, AuditRun, Finding, Metric, AgentScore, ApiKey,
                      AlertDelivery, ShopSettingsChange, ImportReject, ImportBatch):
            assert set(s.scalars(select(model.tenant_id))) == {b["tenant"]}, model.__name__
