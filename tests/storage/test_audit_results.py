"""An audit's results stored per run: findings tied to stored messages, metrics, agent scores."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from kefuguard.audit import AuditOptions, run_audit
from kefuguard.conversation.results import AuditReport
from kefuguard.sample import sample_dir
from kefuguard.storage import (
    AgentScore,
    AuditRun,
    Database,
    Finding,
    Message,
    Metric,
    NotFoundError,
    create_tenant,
    ingest_file,
    record_audit_report,
)

SAMPLE = sample_dir() / "chat_tmall_pinduoduo.jsonl"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> AuditReport:
    out = tmp_path_factory.mktemp("audit")
    return run_audit([SAMPLE], AuditOptions(out_dir=Path(out), workers=1))


def test_record_audit_report(database: Database, report: AuditReport) -> None:
    with database.session() as s:
        tenant_id = create_tenant(s, "甲").id
    ingest_file(database, tenant_id, SAMPLE)
    with database.session() as s:
        run = AuditRun(tenant_id=tenant_id, status="done", progress=1.0)
        s.add(run)
        s.flush()
        stored = record_audit_report(s, tenant_id, run.id, report)
    expected = sum(len(c.findings) for c in report.flagged)
    assert stored["findings"] == expected and stored["skipped_findings"] == 0
    with database.session() as s:
        run = s.get(AuditRun, run.id)
        assert (run.conversations, run.messages) == (report.conversations, report.messages)
        assert run.summary["findings_by_category"] == report.findings_by_category
        findings = s.scalars(select(Finding).where(Finding.run_id == run.id)).all()
        assert len(findings) == expected
        # a message finding points at the stored message, and its offsets at the matched text
        wechat = [f for f in findings if f.rule_id == "common.diversion.wechat"]
        assert wechat
        for f in wechat:
            text = s.get(Message, f.message_id).text
            assert text[f.start_offset:f.end_offset] == f.matched and f.penalty["text"]
        assert s.scalar(select(func.count()).select_from(Metric).where(Metric.run_id == run.id)) == stored["metrics"]
        assert stored["metrics"] == len(report.daily_metrics) + sum(len(sh.metrics) for sh in report.shops)
        scores = s.scalars(select(AgentScore).where(AgentScore.run_id == run.id)).all()
        assert sorted(a.score for a in scores) == sorted(a.mean_score for a in report.agents)


def test_findings_of_unknown_conversations_are_skipped(database: Database, report: AuditReport) -> None:
    with database.session() as s:
        tenant_id = create_tenant(s, "乙").id  # nothing imported
        run = AuditRun(tenant_id=tenant_id)
        s.add(run)
        s.flush()
        stored = record_audit_report(s, tenant_id, run.id, report)
        assert stored["findings"] == 0 and stored["skipped_findings"] == sum(len(c.findings) for c in report.flagged)
        with pytest.raises(NotFoundError):
            record_audit_report(s, create_tenant(s, "丙").id, run.id, report)  # another tenant's run
