"""KPI rows (migration 0004): up and down with data on both databases; rows keep to their tenant and
to their level (a platform row names no shop, an agent row names its agent)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError

from kefuguard.storage import (
    AuditRun,
    Database,
    Metric,
    Tenant,
    create_tenant,
    get_or_create_agent,
    get_or_create_shop,
)
from kefuguard.storage.models import Kpi

DAY = dt.date(2024, 5, 1)
RESULT = {"metric": "conversion_rate", "title": "询单转化率", "value": 0.25, "threshold": 0.5, "comparison": ">=",
          "passed": False, "numerator": 1, "denominator": 4, "note": "seed 002"}


def _world(s, name: str) -> dict[str, int]:
    tenant = create_tenant(s, name)
    shop = get_or_create_shop(s, tenant.id, "pinduoduo", f"{name}的店")
    agent = get_or_create_agent(s, tenant.id, shop.id, "A1")
    run = AuditRun(tenant_id=tenant.id, status="done")
    s.add(run)
    s.flush()
    return {"tenant": tenant.id, "shop": shop.id, "agent": agent.id, "run": run.id}


def _kpi(ids: dict[str, int], level: str = "agent", **kw) -> Kpi:
    values = {"tenant_id": ids["tenant"], "run_id": ids["run"], "level": level, "platform": "pinduoduo",
              "shop_id": None if level == "platform" else ids["shop"],
              "agent_id": ids["agent"] if level == "agent" else None, "day": DAY, "consulted": 4, "converted": 1,
              "sales": 100.0, "conversion_rate": 0.25, "passed": False, "results": [RESULT]}
    values.update(kw)
    return Kpi(**values)


def test_migration_0004_up_and_down(db_url: str) -> None:
    with Database(db_url) as db:
        db.upgrade("0003")
        assert "kpi_rows" not in inspect(db.engine).get_table_names()
        with db.session() as s:
            ids = _world(s, "升级前")
            s.add(Metric(tenant_id=ids["tenant"], run_id=ids["run"], shop_id=ids["shop"], metric_id="m", detail={}))
        db.upgrade("0004")
        assert db.current_revision() == "0004"
        indexes = {ix["name"] for ix in inspect(db.engine).get_indexes("kpi_rows")}
        assert "ix_kpi_rows_tenant_id_run_id_level_day" in indexes
        with db.session() as s:
            s.add_all([_kpi(ids), _kpi(ids, "platform", day=None, passed=None, results=[], conversion_rate=None)])
        with db.session() as s:
            agent, platform = s.scalars(select(Kpi).order_by(Kpi.id)).all()
            assert (agent.day, agent.consulted, agent.sales, agent.conversion_rate, agent.passed) == (
                DAY, 4, 100.0, 0.25, False)
            assert agent.results == [RESULT] and (agent.orders, agent.silent_sales, agent.dispute_rate) == (0, 0.0, None)
            assert (platform.shop_id, platform.agent_id, platform.day, platform.passed) == (None, None, None, None)

        db.downgrade("0003")
        assert db.current_revision() == "0003"
        assert "kpi_rows" not in inspect(db.engine).get_table_names()
        with db.session() as s:  # the rest is untouched
            assert s.scalars(select(Tenant.name)).all() == ["升级前"]
            assert len(s.scalars(select(Metric)).all()) == 1
        db.upgrade()
        with db.session() as s:
            assert s.scalars(select(Kpi)).all() == []


def test_kpi_rows_stay_in_their_tenant(database: Database) -> None:
    with database.session() as s:
        a, b = _world(s, "甲"), _world(s, "乙")
        s.add_all([_kpi(a), _kpi(b)])
    # a row of tenant A can never name tenant B's run, shop or agent
    for foreign in ({"run_id": b["run"]}, {"shop_id": b["shop"], "agent_id": None, "level": "shop"},
                    {"agent_id": b["agent"]}):
        with pytest.raises(IntegrityError), database.session() as s:
            s.add(_kpi(a, **foreign))
            s.flush()
    # deleting a run deletes its rows; deleting a tenant, its rows only
    with database.session() as s:
        s.execute(AuditRun.__table__.delete().where(AuditRun.__table__.c.id == b["run"]))
    with database.session() as s:
        assert set(s.scalars(select(Kpi.tenant_id))) == {a["tenant"]}
    with database.session() as s:
        s.execute(Tenant.__table__.delete().where(Tenant.__table__.c.id == a["tenant"]))
    with database.session() as s:
        assert s.scalars(select(Kpi)).all() == []


@pytest.mark.parametrize(("level", "shop", "agent"), [
    ("team", True, True),  # not a level
    ("platform", True, False),  # a platform row names no shop
    ("shop", True, True),  # a shop row names no agent
    ("shop", False, False),  # ... but its shop
    ("agent", True, False),  # an agent row names its agent
])
def test_kpi_row_checks(database: Database, level: str, shop: bool, agent: bool) -> None:
    with database.session() as s:
        ids = _world(s, "检查")
    with pytest.raises(IntegrityError), database.session() as s:
        s.add(_kpi(ids, level, shop_id=ids["shop"] if shop else None, agent_id=ids["agent"] if agent else None))
        s.flush()
