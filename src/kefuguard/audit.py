"""The chat-log audit: stream conversations from the importers through the checks, in parallel.

Orchestration only. Importers stream conversations (bounded memory, spilling to disk); batches
go to worker processes that run the pure per-conversation audit (message checker, conversation
checks, platform metrics) and return small mergeable partials (accumulators, the worst
conversations per shop, finding rows). The parent merges them into one `AuditReport`.
"""

from __future__ import annotations

import csv
import datetime as dt
import heapq
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from kefuguard.checker import get_checker
from kefuguard.conversation.assemble import MESSAGE_FIELDS, record_message
from kefuguard.conversation.checks import audit_conversation
from kefuguard.conversation.config import AuditConfig
from kefuguard.conversation.metrics import MetricsAggregator
from kefuguard.conversation.model import Conversation
from kefuguard.conversation.profiles import DEFAULT_PROFILES, MetricProfile
from kefuguard.conversation.results import (
    AuditReport,
    ConversationResult,
    ImportSummary,
    ShopSummary,
)
from kefuguard.conversation.scoring import AgentAccumulator, ExposureAccumulator, rank_agents
from kefuguard.io.importers import import_logs
from kefuguard.io.masking import mask_text

FINDING_COLUMNS = (
    "shop", "platform", "agent_id", "conversation_id", "sent_at", "check_id", "title", "severity",
    "category", "matched", "text", "suggestion", "penalty",
)
FINDING_COLUMNS_ZH = ("店铺", "平台", "客服", "会话ID", "时间", "规则", "标题", "严重度", "类别", "命中", "消息", "建议", "处罚")


@dataclass
class ShopCounter:
    conversations: int = 0
    messages: int = 0
    findings: int = 0
    score_sum: float = 0.0

    def merge(self, other: ShopCounter) -> None:
        self.conversations += other.conversations
        self.messages += other.messages
        self.findings += other.findings
        self.score_sum += other.score_sum


@dataclass
class PartialAudit:
    """What one worker learned from a batch of conversations; picklable and mergeable."""

    metrics: MetricsAggregator
    flagged_per_shop: int
    agents: dict[tuple[str, str, str], AgentAccumulator] = field(default_factory=dict)
    exposure: dict[tuple[str, str], ExposureAccumulator] = field(default_factory=dict)
    shops: dict[tuple[str, str], ShopCounter] = field(default_factory=dict)
    by_category: Counter = field(default_factory=Counter)
    by_severity: Counter = field(default_factory=Counter)
    worst: dict[tuple[str, str], list[tuple[float, str, ConversationResult]]] = field(default_factory=dict)
    finding_rows: list[tuple] = field(default_factory=list)
    conversations: int = 0
    messages: int = 0

    def add(self, conv: Conversation, result: ConversationResult, mask: bool) -> None:
        shop_key = (result.shop, result.platform)
        self.conversations += 1
        self.messages += result.message_count
        agent_key = (result.shop, result.platform, result.agent_id)
        acc = self.agents.get(agent_key)
        if acc is None:
            acc = self.agents[agent_key] = AgentAccumulator(*agent_key)
        acc.add(result)
        exp = self.exposure.get(shop_key)
        if exp is None:
            exp = self.exposure[shop_key] = ExposureAccumulator(result.shop, result.platform)
        exp.add(result)
        counter = self.shops.setdefault(shop_key, ShopCounter())
        counter.merge(ShopCounter(1, result.message_count, len(result.findings), result.score))
        for f in result.findings:
            self.by_category[f.category] += 1
            self.by_severity[f.severity.value] += 1
            msg = conv.messages[f.message_index] if f.message_index is not None else None
            text = msg.text if msg is not None else ""
            self.finding_rows.append((
                result.shop, result.platform, result.agent_id, result.conversation_id,
                (msg.sent_at if msg is not None else result.started_at).isoformat(timespec="seconds"),
                f.check_id, f.title, f.severity.value, f.category,
                mask_text(f.matched or "") if mask else (f.matched or ""),
                mask_text(text) if mask else text, f.suggestion, f.penalty.text if f.penalty else "",
            ))
        if result.findings or result.buyer_abuse:
            self._keep_if_worst(shop_key, conv, result)

    def _keep_if_worst(self, shop_key: tuple[str, str], conv: Conversation, result: ConversationResult) -> None:
        heap = self.worst.setdefault(shop_key, [])
        # max-heap on score via negation: the root is the best-scoring kept conversation
        item = (-result.score, result.conversation_id, result)
        if len(heap) < self.flagged_per_shop:
            heapq.heappush(heap, item)
            result.messages = list(conv.messages)
        elif item > heap[0]:
            result.messages = list(conv.messages)
            heapq.heapreplace(heap, item)

    def merge(self, other: PartialAudit) -> None:
        self.metrics.merge(other.metrics)
        for key, acc in other.agents.items():
            if key in self.agents:
                self.agents[key].merge(acc)
            else:
                self.agents[key] = acc
        for key, exp in other.exposure.items():
            if key in self.exposure:
                self.exposure[key].merge(exp)
            else:
                self.exposure[key] = exp
        for key, counter in other.shops.items():
            self.shops.setdefault(key, ShopCounter()).merge(counter)
        self.by_category.update(other.by_category)
        self.by_severity.update(other.by_severity)
        for key, items in other.worst.items():
            for item in items:
                heap = self.worst.setdefault(key, [])
                if len(heap) < self.flagged_per_shop:
                    heapq.heappush(heap, item)
                elif item > heap[0]:
                    heapq.heapreplace(heap, item)
        self.conversations += other.conversations
        self.messages += other.messages
        self.finding_rows.extend(other.finding_rows)


# ---------------------------------------------------------------- workers

_WORKER_CONFIG: AuditConfig | None = None
_WORKER_PROFILES: dict[str, MetricProfile] | None = None


def _init_worker(config: AuditConfig, profiles: dict[str, MetricProfile]) -> None:
    global _WORKER_CONFIG, _WORKER_PROFILES
    _WORKER_CONFIG, _WORKER_PROFILES = config, profiles


def pack_batch(conversations: list[Conversation]) -> list[tuple]:
    """Conversations as plain tuples for the trip to a worker: pickling pydantic models costs
    several times more than pickling their field values."""
    fields = MESSAGE_FIELDS
    return [
        (c.conversation_id, c.platform, c.shop, [tuple(m.__dict__[f] for f in fields) for m in c.messages])
        for c in conversations
    ]


def unpack_batch(packed: list[tuple]) -> list[Conversation]:
    return [
        Conversation.model_construct(
            conversation_id=cid, platform=platform, shop=shop, messages=[record_message(r) for r in records]
        )
        for cid, platform, shop, records in packed
    ]


def audit_packed_batch(packed: list[tuple], flagged_per_shop: int) -> PartialAudit:
    """Worker entry point: unpack, audit, and return only what needs to travel back."""
    partial = audit_batch(unpack_batch(packed), flagged_per_shop=flagged_per_shop)
    return partial


def audit_batch(
    conversations: list[Conversation],
    config: AuditConfig | None = None,
    profiles: Mapping[str, MetricProfile] | None = None,
    flagged_per_shop: int = 20,
) -> PartialAudit:
    """Audit a batch of conversations (runs in a worker process or inline)."""
    config = config or _WORKER_CONFIG or AuditConfig()
    profiles = dict(profiles or _WORKER_PROFILES or DEFAULT_PROFILES)
    partial = PartialAudit(metrics=MetricsAggregator(profiles), flagged_per_shop=flagged_per_shop)
    for conv in conversations:
        partial.metrics.add(conv)
        result = audit_conversation(conv, get_checker(conv.platform), config)
        partial.add(conv, result, config.mask_pii)
    return partial


def _batches(conversations: Iterable[Conversation], max_messages: int) -> Iterator[list[Conversation]]:
    batch: list[Conversation] = []
    size = 0
    for conv in conversations:
        batch.append(conv)
        size += len(conv.messages)
        if size >= max_messages:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


# ---------------------------------------------------------------- orchestration


@dataclass
class AuditOptions:
    """How to run an audit; everything has a sensible default."""

    out_dir: Path = Path("reports")
    workers: int = 0  # 0: all cores
    platform: str | None = None
    shop: str | None = None
    mapping: Mapping[str, str] | None = None
    encoding: str | None = None
    config: AuditConfig = field(default_factory=AuditConfig)
    profiles: dict[str, MetricProfile] = field(default_factory=lambda: dict(DEFAULT_PROFILES))
    flagged_per_shop: int = 20
    findings_rows_in_report: int = 20000
    batch_messages: int = 4000
    memory_budget: int | None = None


def _worker_count(requested: int) -> int:
    if requested and requested > 0:
        return requested
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def run_audit(
    paths: Iterable[str | os.PathLike[str]],
    options: AuditOptions | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> AuditReport:
    """Audit chat-log files; writes rejects.csv and findings.csv to `options.out_dir`."""
    options = options or AuditOptions()
    out_dir = Path(options.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rejects_path = out_dir / "rejects.csv"
    kwargs = {}
    if options.memory_budget:
        kwargs["memory_budget"] = options.memory_budget
    conversations, stats = import_logs(
        paths,
        platform=options.platform,
        shop=options.shop,
        mapping=options.mapping,
        encoding=options.encoding,
        rejects=rejects_path,
        progress=progress,
        **kwargs,
    )
    total = PartialAudit(metrics=MetricsAggregator(options.profiles), flagged_per_shop=options.flagged_per_shop)
    findings_path = out_dir / "findings.csv"
    kept_rows: list[tuple] = []
    with findings_path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(FINDING_COLUMNS_ZH)

        def absorb(partial: PartialAudit) -> None:
            writer.writerows(partial.finding_rows)
            room = options.findings_rows_in_report - len(kept_rows)
            if room > 0:
                kept_rows.extend(partial.finding_rows[:room])
            partial.finding_rows = []
            total.merge(partial)

        workers = _worker_count(options.workers)
        batches = _batches(conversations, options.batch_messages)
        if workers == 1:
            for batch in batches:
                absorb(audit_batch(batch, options.config, options.profiles, options.flagged_per_shop))
        else:
            _run_parallel(batches, workers, options, absorb)
    return _report(total, stats, kept_rows, rejects_path, options)


def _run_parallel(batches: Iterator[list[Conversation]], workers: int, options: AuditOptions, absorb) -> None:
    """Keep at most 2×workers batches in flight, so memory stays bounded on any input size."""
    with ProcessPoolExecutor(
        max_workers=workers, initializer=_init_worker, initargs=(options.config, options.profiles)
    ) as pool:
        pending: set[Future] = set()
        for batch in batches:
            pending.add(pool.submit(audit_packed_batch, pack_batch(batch), options.flagged_per_shop))
            if len(pending) >= 2 * workers:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    absorb(fut.result())
        for fut in pending:
            absorb(fut.result())


def _report(
    total: PartialAudit, stats, rows: list[tuple], rejects_path: Path, options: AuditOptions
) -> AuditReport:
    metrics = total.metrics
    shop_metrics = metrics.results(level="shop", period="total")
    daily = metrics.results(level="shop", period="day")
    shops: list[ShopSummary] = []
    for (shop, platform), counter in sorted(total.shops.items()):
        exposure = total.exposure[(shop, platform)]
        specs = options.profiles[platform].metrics if platform in options.profiles else {}
        for r in daily:
            if r.shop == shop and r.platform == platform and r.fine_yuan:
                spec = specs.get(r.metric)
                exposure.add_metric_fine(
                    r.metric, r.fine_yuan, internal=spec is not None and spec.fine_scope == "internal"
                )
        shops.append(
            ShopSummary(
                shop=shop,
                platform=platform,
                conversations=counter.conversations,
                messages=counter.messages,
                findings=counter.findings,
                mean_score=round(counter.score_sum / counter.conversations, 1) if counter.conversations else 100.0,
                metrics=[r for r in shop_metrics if r.shop == shop and r.platform == platform],
                exposure=exposure.exposure(),
            )
        )
    agents = rank_agents([acc.summary() for acc in total.agents.values()])
    flagged = sorted(
        (item[2] for heap in total.worst.values() for item in heap), key=lambda r: (r.score, r.conversation_id)
    )
    imports = ImportSummary(
        files=[f.as_dict() for f in stats.files.values()],
        read=stats.read,
        accepted=stats.accepted,
        duplicates=stats.duplicates,
        rejected=stats.rejected,
        rejects_path=str(rejects_path) if stats.rejected else None,
    )
    packs = sorted({label for p in {r.platform for r in flagged} | {s.platform for s in shops}
                    for label in get_checker(p).pack_labels})
    return AuditReport(
        generated_at=dt.datetime.now(dt.UTC).astimezone(),
        packs=packs,
        imports=imports,
        conversations=total.conversations,
        messages=total.messages,
        days=metrics.days,
        shops=shops,
        agents=agents,
        findings_by_category=dict(total.by_category.most_common()),
        findings_by_severity=dict(total.by_severity),
        response_time_histogram=metrics.histogram(),
        flagged=flagged,
        all_findings=[dict(zip(FINDING_COLUMNS, row, strict=True)) for row in rows],
        daily_metrics=daily,
    )
