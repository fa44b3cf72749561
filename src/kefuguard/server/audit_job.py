"""One audit job, start to finish: ingest the uploads (or export stored conversations), audit (joined
with the upload's order and after-sales exports, if any), write the reports, store findings/metrics/
agent scores/sales KPIs and the report files, and say which alerts to send.

`execute(...)` runs in a process of its own (spawned by kefuguard.server.jobs: the audit then uses
the second core and never holds the server's GIL) or, for an in-memory database, in a thread. It
opens its own `Database`, writes progress (0–1) to the run's row at most twice a second, and
returns the alert events (as JSON dicts) for the server's dispatcher. Nothing here imports FastAPI.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import and_, select, update

log = logging.getLogger("kefuguard.server")

REPORT_KINDS: dict[str, tuple[str, str]] = {
    "html": ("report.html", "text/html; charset=utf-8"),
    "json": ("report.json", "application/json"),
    "xlsx": ("report.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "findings": ("findings.csv", "text/csv; charset=utf-8"),
    "rejects": ("rejects.csv", "text/csv; charset=utf-8"),
    "order_rejects": ("order_rejects.csv", "text/csv; charset=utf-8"),
}
INLINE_ARTEFACT_BYTES = 16 << 20  # report files up to this size are kept in the database
MAX_FINDING_ALERTS = 100  # critical-finding alerts one audit may raise (the dispatcher dedupes too)


class _Progress:
    """Writes the run's progress to the database, at most every `every` seconds."""

    def __init__(self, db: Any, run_id: int, every: float = 0.5) -> None:
        self.db, self.run_id, self.every = db, run_id, every
        self._last = 0.0
        self.value = 0.0

    def set(self, value: float, force: bool = False) -> None:
        from kefuguard.storage.models import AuditRun

        value = max(self.value, min(0.99, value))
        now = time.monotonic()
        if not force and now - self._last < self.every:
            self.value = value
            return
        self.value, self._last = value, now
        with self.db.session() as s:
            s.execute(update(AuditRun).where(AuditRun.id == self.run_id).values(progress=round(value, 4))
                      .execution_options(synchronize_session=False))

    def phase(self, lo: float, hi: float) -> Callable[[int, int], None]:
        def callback(done: int, total: int) -> None:
            if total > 0:
                self.set(lo + (hi - lo) * min(1.0, done / total))

        return callback


def execute(database_url: str, tenant_id: int, run_id: int, spec: dict[str, Any], run_dir: str, workers: int,
            db: Any = None) -> dict[str, Any]:
    """Run the job; returns {"status", "events": [AlertEvent JSON], ...}. Never raises: a failure
    is recorded on the run (status failed, a bilingual reason) and returned."""
    from kefuguard.storage.db import Database
    from kefuguard.storage.models import AuditRun
    from kefuguard.storage.types import utcnow

    own = db is None
    if own:
        db = Database(database_url)
    folder = Path(run_dir)
    try:
        with db.session() as s:
            s.execute(update(AuditRun).where(AuditRun.id == run_id)
                      .values(status="running", started_at=utcnow(), progress=0.01)
                      .execution_options(synchronize_session=False))
        progress = _Progress(db, run_id)
        try:
            events = _run(db, tenant_id, run_id, spec, folder, workers, progress)
        except Exception as exc:
            log.exception("audit run %s failed", run_id)
            error = _failure(exc)
            with db.session() as s:
                s.execute(update(AuditRun).where(AuditRun.id == run_id)
                          .values(status="failed", error=error, finished_at=utcnow())
                          .execution_options(synchronize_session=False))
            return {"status": "failed", "error": error, "events": []}
        return {"status": "done", "events": events}
    finally:
        shutil.rmtree(folder / "input", ignore_errors=True)
        if own:
            db.dispose()


def _failure(exc: BaseException) -> str:
    from kefuguard.audit import OutputDirError
    from kefuguard.io.importers import ColumnError

    if isinstance(exc, ColumnError | OutputDirError):
        return f"{exc.zh} / {exc.en}"
    if isinstance(exc, ValueError | FileNotFoundError):
        return f"审计失败：{exc} / audit failed: {exc}"
    return f"审计失败（{type(exc).__name__}），详情见服务器日志 / audit failed ({type(exc).__name__}); see the server log"


def _every_result(paths: list[Path], options: Any, spill: Path) -> list[Any]:
    """Each conversation that has findings, audited again with its messages attached.

    The audit's report keeps only the worst conversations of each shop (for the HTML report), but
    the API lists findings by shop, agent and day: storage needs every one. The conversations are
    read back from the same files (streamed, spilled to `spill` past the memory budget) and audited
    one by one with the audit's own config, profiles and order/refund exports (the order-based
    checks judge their times), so the findings are those of the run."""
    from kefuguard.audit_commerce import load_commerce
    from kefuguard.checker import get_checker
    from kefuguard.conversation.checks import audit_conversation
    from kefuguard.io.importers import import_logs

    spill.mkdir(parents=True, exist_ok=True)
    commerce = load_commerce(options, spill)  # its rejects were written with the reports already
    conversations, _stats = import_logs(paths, platform=options.platform, shop=options.shop,
                                        mapping=options.mapping, encoding=options.encoding, spill_dir=spill)
    out = []
    for conv in conversations:
        result = audit_conversation(conv, get_checker(conv.platform), options.config,
                                    options.profiles.get(conv.platform),
                                    commerce=commerce.facts(conv) if commerce is not None else None)
        if result.findings:
            result.messages = list(conv.messages)
            out.append(result)
    return out


def _run(db: Any, tenant_id: int, run_id: int, spec: dict[str, Any], folder: Path, workers: int,
         progress: _Progress) -> list[dict[str, Any]]:
    from kefuguard.audit import AuditOptions, run_audit
    from kefuguard.io.reports import write_html, write_json, write_xlsx
    from kefuguard.storage.audit_results import record_audit_report
    from kefuguard.storage.ingest import ingest_file
    from kefuguard.storage.models import AuditRun, Tenant
    from kefuguard.storage.types import utcnow

    platform, shop = spec.get("platform"), spec.get("shop")
    ingests: list[dict[str, Any]] = []
    # order and after-sales exports of an upload: joined with the chats by the audit (sales KPIs)
    exports = {kind: [folder / "input" / item["stored"] for item in spec.get(kind, ())] for kind in ("orders", "refunds")}
    sales = {name: spec[name] for name in ("attribution", "attribution_window_hours") if spec.get(name) is not None}
    if spec["source"] == "upload":
        files = spec["files"]
        paths = []
        for i, item in enumerate(files):
            lo, hi = 0.4 * i / len(files), 0.4 * (i + 1) / len(files)
            path = folder / "input" / item["stored"]
            result = ingest_file(db, tenant_id, path, platform=platform, shop=shop, filename=item["filename"],
                                 who=spec.get("who"), progress=progress.phase(lo, hi))
            ingests.append({"file": item["filename"], **result.as_dict()})
            paths.append(path)
        audit_from = 0.4
    else:
        paths = [_export(db, tenant_id, spec, folder / "input" / "stored.jsonl")]
        platform = shop = None  # every row names its own
        audit_from = 0.2
    progress.set(audit_from, force=True)
    with db.session() as s:
        mask = s.scalar(select(Tenant.mask_pii).where(Tenant.id == tenant_id))
    out = folder / "reports"
    options = AuditOptions(out_dir=out, workers=workers, platform=platform, shop=shop,
                           mask_pii=None if mask is None else bool(mask), **exports, **sales)
    report = run_audit(paths, options, progress=progress.phase(audit_from, 0.85))
    progress.set(0.85, force=True)
    masked = options.mask_pii is not False
    write_json(report, out / "report.json", mask_pii=masked)
    write_html(report, out / "report.html", mask_pii=masked)
    write_xlsx(report, out / "report.xlsx", mask_pii=masked)
    every = _every_result(paths, options, folder / "spill")  # every finding, not only the report's worst
    progress.set(0.93, force=True)
    with db.session(immediate=True) as s:  # reads, then writes: take SQLite's write lock first
        stored = record_audit_report(s, tenant_id, run_id, report, results=every)
        _store_artefacts(s, tenant_id, run_id, out)
    with db.session(immediate=True) as s:
        run = s.get(AuditRun, run_id)
        summary = dict(run.summary or {}) if run is not None else {}
        summary["stored"] = stored
        summary["shops"] = [{"shop": sh.shop, "platform": sh.platform, "conversations": sh.conversations,
                             "messages": sh.messages, "findings": sh.findings, "mean_score": sh.mean_score}
                            for sh in report.shops]
        if ingests:
            summary["ingest"] = ingests
        s.execute(update(AuditRun).where(AuditRun.id == run_id)
                  .values(status="done", progress=1.0, finished_at=utcnow(), summary=summary)
                  .execution_options(synchronize_session=False))
    return _events(tenant_id, run_id, report)


def _store_artefacts(session: Any, tenant_id: int, run_id: int, out: Path) -> None:
    from kefuguard.storage.models import AuditArtefact

    for kind, (name, media) in REPORT_KINDS.items():
        path = out / name
        if not path.is_file():
            continue
        size = path.stat().st_size
        inline = size <= INLINE_ARTEFACT_BYTES
        session.add(AuditArtefact(tenant_id=tenant_id, run_id=run_id, kind=kind, filename=name, media_type=media,
                                  content=path.read_bytes() if inline else None,
                                  path=None if inline else str(path.resolve()), size=size))


def _export(db: Any, tenant_id: int, spec: dict[str, Any], target: Path) -> Path:
    """The stored conversations the request selects, as a JSONL chat log the audit reads."""
    from kefuguard.conversation.model import SHANGHAI
    from kefuguard.storage.models import Agent, Conversation, Message, Shop

    query = (
        select(Message, Conversation.external_id, Conversation.buyer_id, Shop.platform, Shop.external_id,
               Agent.external_id)
        .join(Conversation, and_(Conversation.tenant_id == Message.tenant_id,
                                 Conversation.id == Message.conversation_id))
        .join(Shop, and_(Shop.tenant_id == Message.tenant_id, Shop.id == Message.shop_id))
        .outerjoin(Agent, and_(Agent.tenant_id == Message.tenant_id, Agent.id == Message.agent_id))
        .where(Message.tenant_id == tenant_id)
    )
    if spec.get("shop_id") is not None:
        query = query.where(Message.shop_id == spec["shop_id"])
    if spec.get("platform"):
        query = query.where(Shop.platform == spec["platform"])
    if spec.get("agent_id") is not None:
        mine = select(Message.conversation_id).where(Message.tenant_id == tenant_id,
                                                     Message.agent_id == spec["agent_id"])
        query = query.where(Message.conversation_id.in_(mine))
    if spec.get("conversation_ids"):
        query = query.where(Message.conversation_id.in_(spec["conversation_ids"]))
    if spec.get("day_from"):
        day = dt.date.fromisoformat(spec["day_from"])
        query = query.where(Message.sent_at >= dt.datetime.combine(day, dt.time(), SHANGHAI))
    if spec.get("day_to"):
        day = dt.date.fromisoformat(spec["day_to"]) + dt.timedelta(days=1)
        query = query.where(Message.sent_at < dt.datetime.combine(day, dt.time(), SHANGHAI))
    target.parent.mkdir(parents=True, exist_ok=True)
    with db.session() as s, target.open("w", encoding="utf-8") as fh:
        for m, conv, buyer, platform, shop, agent in s.execute(
            query.order_by(Message.conversation_id, Message.sent_at, Message.id).execution_options(yield_per=2000)
        ):
            fh.write(json.dumps({
                "conversation_id": conv, "platform": platform, "shop": shop, "agent_id": agent or "",
                "buyer_id": buyer, "role": m.role, "sent_at": m.sent_at.isoformat(), "text": m.text,
                "quick_reply": m.quick_reply, "auto_reply": m.auto_reply, "buyer_reported": m.buyer_reported,
                "order_time": m.order_time.isoformat() if m.order_time else None, "paid_amount": m.paid_amount,
            }, ensure_ascii=False) + "\n")
    return target


def _events(tenant_id: int, run_id: int, report: Any) -> list[dict[str, Any]]:
    """Alerts: every shop metric below its platform threshold, and the messages with a critical
    finding (one event per message, at most MAX_FINDING_ALERTS)."""
    from kefuguard.alerts.events import events_from_metrics
    from kefuguard.alerts.model import AlertEvent, AlertKind, AlertRule
    from kefuguard.masking import mask_text

    tenant = str(tenant_id)
    events: list[Any] = []
    for shop in report.shops:
        events.extend(events_from_metrics(shop.metrics, tenant=tenant))
    by_message: dict[tuple, list[dict[str, Any]]] = {}
    for row in report.all_findings:
        if row.get("severity") != "critical" or str(row.get("check_id", "")).startswith("audit."):
            continue
        key = (row["shop"], row["platform"], row["agent_id"], row["conversation_id"], row["sent_at"], row["text"])
        by_message.setdefault(key, []).append(row)
    for (shop, platform, agent, conv, _sent, text), rows in list(by_message.items())[:MAX_FINDING_ALERTS]:
        rules = []
        for row in rows:
            if all(r.rule_id != row["check_id"] for r in rules):
                rules.append(AlertRule(rule_id=row["check_id"], title=row["title"], severity="critical",
                                       category=row.get("category", ""), matched=mask_text(row.get("matched") or "")))
        masked = mask_text(text or "")
        ids = ",".join(sorted(r.rule_id for r in rules))
        digest = hashlib.sha256(masked.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        events.append(AlertEvent(
            kind=AlertKind.critical_finding, tenant=tenant, shop=shop, platform=platform, agent=agent or None,
            subject=rules[0].rule_id, title=rules[0].title, severity="critical",
            excerpt=masked[:200] + ("…" if len(masked) > 200 else ""), rules=rules, conversation_id=conv,
            details={"source": "audit", "run_id": run_id},
            dedupe_key=f"{AlertKind.critical_finding}|{tenant}|{shop}|{agent or ''}|{ids}|{digest}",
        ))
    return [e.model_dump(mode="json") for e in events]
