"""Quiz results (migration 0003): up and down with data on both databases; the table keeps tenants apart."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError

from kefuguard.storage import (
    AlertWebhook,
    Database,
    Tenant,
    create_tenant,
    get_or_create_agent,
    get_or_create_shop,
)
from kefuguard.storage.models import QuizResult


def _agent(s, name: str) -> tuple[int, int]:
    tenant = create_tenant(s, name)
    shop = get_or_create_shop(s, tenant.id, "douyin", f"{name}的店")
    return tenant.id, get_or_create_agent(s, tenant.id, shop.id, f"{name}:小王").id


def _result(tenant: int, agent: int | None, **kw) -> QuizResult:
    values = {"tenant_id": tenant, "agent_id": agent, "key_id": 1, "taken_by": "小王 (agent)", "platform": "douyin",
              "title": "抖音客服规则考试", "exam": True, "generated": 6, "seed": 42, "total": 21}
    values.update(kw)
    return QuizResult(**values)


def test_migration_0003_up_and_down(db_url: str) -> None:
    with Database(db_url) as db:
        db.upgrade("0002")
        assert "quiz_results" not in inspect(db.engine).get_table_names()
        with db.session() as s:
            tenant, agent = _agent(s, "升级前")
            s.add(AlertWebhook(tenant_id=tenant, kind="wecom", url="https://qyapi.weixin.qq.com/x"))
        db.upgrade("0003")
        assert db.current_revision() == "0003"
        indexes = {ix["name"] for ix in inspect(db.engine).get_indexes("quiz_results")}
        assert {"ix_quiz_results_tenant_id_agent_id_graded_at", "ix_quiz_results_tenant_id_graded_at"} <= indexes
        with db.session() as s:
            s.add(_result(tenant, agent, status="graded", score=19, percent=90.5,
                          detail={"by_kind": {"exam": {"correct": 14, "total": 15}}, "items": [{"id": "exam-1"}]}))
            s.add(_result(tenant, None, key_id=7, taken_by="张主管 (supervisor)"))  # practice, still open
        with db.session() as s:
            graded, practice = s.scalars(select(QuizResult).order_by(QuizResult.id)).all()
            assert (graded.status, graded.score, graded.percent, graded.seed) == ("graded", 19, 90.5, 42)
            assert graded.detail["by_kind"]["exam"] == {"correct": 14, "total": 15}
            assert graded.created_at.tzinfo is not None and graded.graded_at is None
            assert (practice.status, practice.agent_id, practice.score, practice.exam) == ("open", None, None, True)

        db.downgrade("0002")
        assert db.current_revision() == "0002"
        assert "quiz_results" not in inspect(db.engine).get_table_names()
        with db.session() as s:  # the rest is untouched
            assert s.scalars(select(Tenant.name)).all() == ["升级前"]
            assert len(s.scalars(select(AlertWebhook)).all()) == 1
        db.upgrade()
        with db.session() as s:
            assert s.scalars(select(QuizResult)).all() == []


def test_quiz_results_stay_in_their_tenant(database: Database) -> None:
    with database.session() as s:
        a_tenant, a_agent = _agent(s, "甲")
        b_tenant, b_agent = _agent(s, "乙")
        s.add_all([_result(a_tenant, a_agent), _result(b_tenant, b_agent)])
    # a result of tenant A can never name tenant B's agent
    with pytest.raises(IntegrityError), database.session() as s:
        s.add(_result(a_tenant, b_agent))
        s.flush()
    # deleting a tenant deletes its results only
    with database.session() as s:
        s.execute(Tenant.__table__.delete().where(Tenant.__table__.c.id == a_tenant))
    with database.session() as s:
        assert set(s.scalars(select(QuizResult.tenant_id))) == {b_tenant}


@pytest.mark.parametrize("bad", [{"status": "abandoned"}, {"score": 22}, {"score": -1}])
def test_quiz_result_checks(database: Database, bad: dict) -> None:
    with database.session() as s:
        tenant, agent = _agent(s, "检查")
    with pytest.raises(IntegrityError), database.session() as s:
        s.add(_result(tenant, agent, **bad))
        s.flush()
