"""The chat-log audit: stream conversations from the importers through the checks, in parallel.

Orchestration only. Importers stream conversations (bounded memory, spilling to disk); batches
go to worker processes that run the pure per-conversation audit (message checker, conversation
checks, platform metrics) and return small mergeable partials (accumulators, the worst
conversations per shop, finding rows). The parent merges them into one `AuditReport`.
"""

from __future__ import annotations

import csv
import datetime as dt
import gc
import heapq
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from kefuguard.checker import get_checker
from kefuguard.conversation.assemble import conversation_from_records
from kefuguard.conversation.checks import audit_conversation
from kefuguard.conversation.config import AuditConfig
from kefuguard.conversation.context import compiled
from kefuguard.conversation.metrics import MetricsAggregator
from kefuguard.conversation.model import Conversation
from kefuguard.conversation.profiles import DEFAULT_PROFILES, MetricProfile, MetricSpec
from kefuguard.conversation.results import (
    AuditReport,
    ConversationResult,
    ImportSummary,
    MetricResult,
    ShopSummary,
)
from kefuguard.conversation.scoring import AgentAccumulator, ExposureAccumulator, rank_agents
from kefuguard.io.importers import import_logs
from kefuguard.masking import mask_text
from kefuguard.rules.model import PLATFORMS

#: What an audit writes into its output folder (never read back as input).
OUTPUT_FILES = ("findings.csv", "rejects.csv", "report.html", "report.json", "report.xlsx")

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
    scope_skips: Counter = field(default_factory=Counter)  # (check id, reason) → turns not flagged
    worst: dict[tuple[str, str], list[tuple[float, str, ConversationResult]]] = field(default_factory=dict)
    finding_rows: list[tuple] = field(default_factory=list)
    conversations: int = 0
    messages: int = 0
    # per shop, the score a conversation must beat (be below) to be worth keeping: the parent's
    # current cut-off, so workers do not ship conversations that cannot make the final list
    thresholds: dict[tuple[str, str], float] = field(default_factory=dict)

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
        counter = self.shops.get(shop_key)
        if counter is None:
            counter = self.shops[shop_key] = ShopCounter()
        counter.conversations += 1
        counter.messages += result.message_count
        counter.findings += len(result.findings)
        counter.score_sum += result.score
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
        for skip in result.skipped:
            self.scope_skips[(skip.check_id, skip.reason)] += 1
        if result.findings or result.buyer_abuse:
            self._keep_if_worst(shop_key, conv, result)

    def _keep_if_worst(self, shop_key: tuple[str, str], conv: Conversation, result: ConversationResult) -> None:
        limit = self.thresholds.get(shop_key)
        if limit is not None and result.score >= limit:
            return
        heap = self.worst.setdefault(shop_key, [])
        # max-heap on score via negation: the root is the best-scoring kept conversation
        item = (-result.score, result.conversation_id, result)
        if len(heap) < self.flagged_per_shop:
            heapq.heappush(heap, item)
            result.messages = list(conv.messages)
        elif item > heap[0]:
            result.messages = list(conv.messages)
            heapq.heapreplace(heap, item)

    def cutoffs(self) -> dict[tuple[str, str], float]:
        """Per shop with a full list, the best score kept: only worse conversations can enter."""
        return {key: -heap[0][0] for key, heap in self.worst.items() if len(heap) >= self.flagged_per_shop}

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
        self.scope_skips.update(other.scope_skips)
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
    # long-lived objects (tables, checkers) leave the collector's view; batches clean up after
    # themselves in audit_records_batch
    gc.freeze()
    gc.disable()


def audit_records_batch(
    batch: list[tuple], flagged_per_shop: int, thresholds: dict[tuple[str, str], float] | None = None
) -> PartialAudit:
    """Worker entry point: build the conversations from raw importer records, audit them.

    Records (plain tuples) cross the process boundary instead of pydantic messages, which pickle
    several times slower; the parent never builds message objects at all.
    """
    partial = audit_batch(
        [conversation_from_records(k, r) for k, r in batch], flagged_per_shop=flagged_per_shop, thresholds=thresholds
    )
    gc.collect(1)  # only this batch's objects: older ones are frozen or in the oldest generation
    return partial


def audit_batch(
    conversations: list[Conversation],
    config: AuditConfig | None = None,
    profiles: Mapping[str, MetricProfile] | None = None,
    flagged_per_shop: int = 20,
    thresholds: dict[tuple[str, str], float] | None = None,
) -> PartialAudit:
    """Audit a batch of conversations (runs in a worker process or inline)."""
    config = config or _WORKER_CONFIG or AuditConfig()
    profiles = dict(profiles or _WORKER_PROFILES or DEFAULT_PROFILES)
    partial = PartialAudit(
        metrics=MetricsAggregator(profiles), flagged_per_shop=flagged_per_shop, thresholds=dict(thresholds or {})
    )
    for conv in conversations:
        cm = partial.metrics.add(conv)  # the turn checks judge the turns these metrics cut
        result = audit_conversation(
            conv, get_checker(conv.platform), config, profiles.get(conv.platform), cm.turns if cm else None
        )
        partial.add(conv, result, config.mask_pii)
    return partial


def _batches(conversations: Iterable, max_messages: int, size_of=lambda c: len(c.messages)) -> Iterator[list]:
    batch: list = []
    size = 0
    for conv in conversations:
        batch.append(conv)
        size += size_of(conv)
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
    # mask personal data in findings.csv and rejects.csv (None: as `config.mask_pii`, default on);
    # False only on an explicit request (`kefuguard audit --no-mask`)
    mask_pii: bool | None = None
    # language of the reasons in rejects.csv: 'zh' or 'en' (`--lang`); None: both
    lang: str | None = None
    findings_rows_in_report: int = 20000
    batch_messages: int = 4000
    # records the importer may hold before spilling to disk; with worker processes beside it the
    # parent keeps less than the importer's own default, so the whole audit stays under 1 GB
    memory_budget: int | None = 384 * 2**20


def _worker_count(requested: int) -> int:
    if requested and requested > 0:
        return requested
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


@contextmanager
def _collector_paused():
    """Pause Python's cyclic garbage collector while millions of records are alive.

    The importers hold every record until the input is read; with the collector on, each full
    collection walks all of them again (a quarter of the audit's time in measurements). The
    audit's own objects are freed by reference counting.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def run_audit(
    paths: Iterable[str | os.PathLike[str]],
    options: AuditOptions | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> AuditReport:
    """Audit chat-log files; writes rejects.csv and findings.csv to `options.out_dir`."""
    with _collector_paused():
        return _run_audit(paths, options or AuditOptions(), progress)


class OutputDirError(ValueError):
    """`out_dir` cannot be used as the report folder (an existing file, or not creatable)."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(f"{zh} {en}")
        self.zh, self.en = zh, en

    def text(self, lang: str = "zh") -> str:
        return self.en if lang == "en" else self.zh


def prepare_out_dir(out_dir: str | os.PathLike[str]) -> Path:
    """Create the report folder; an existing *file* at that path is a clear error, never overwritten."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise OutputDirError(f"--out 指向已存在的文件 {out}，报告需要写入目录：请换一个目录名",
                             f"--out points at an existing file {out}; reports need a folder: choose another name")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputDirError(f"无法创建报告目录 {out}：{exc.strerror or exc}",
                             f"cannot create the report folder {out}: {exc.strerror or exc}") from None
    return out


def _run_audit(paths, options: AuditOptions, progress) -> AuditReport:
    out_dir = prepare_out_dir(options.out_dir)
    if options.mask_pii is not None and options.mask_pii != options.config.mask_pii:
        options = replace(options, config=options.config.model_copy(update={"mask_pii": options.mask_pii}))
    rejects_path = out_dir / "rejects.csv"
    workers = _worker_count(options.workers)
    if workers == 1:
        return _audit_into(paths, options, progress, rejects_path, None)
    # start the workers before reading: forked now they are small (not copies of a parent that
    # holds the whole input), and they build their checkers while the parent parses
    with ProcessPoolExecutor(
        max_workers=workers, initializer=_init_worker, initargs=(options.config, options.profiles)
    ) as pool:
        for warm in [pool.submit(_warm_up) for _ in range(workers)]:
            warm.result()
        return _audit_into(paths, options, progress, rejects_path, (pool, workers))


def _warm_up() -> None:
    """Build every platform's checker in a fresh worker, then freeze them out of the GC's view."""
    for platform in PLATFORMS:
        get_checker(platform)
    gc.freeze()


def _audit_into(paths, options: AuditOptions, progress, rejects_path: Path, pool) -> AuditReport:
    kwargs = {"raw": pool is not None}
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
        mask_rejects=options.config.mask_pii,
        rejects_lang=options.lang,
        # an earlier run's outputs, when the report folder lies inside (or is) the input folder
        exclude=[Path(options.out_dir) / name for name in OUTPUT_FILES],
        **kwargs,
    )
    total = PartialAudit(metrics=MetricsAggregator(options.profiles), flagged_per_shop=options.flagged_per_shop)
    kept_rows: list[tuple] = []
    findings_path = Path(options.out_dir) / "findings.csv"
    with findings_path.open("w", encoding="utf-8-sig", newline="", errors="backslashreplace") as fh:
        writer = csv.writer(fh)
        writer.writerow(FINDING_COLUMNS_ZH)

        def absorb(partial: PartialAudit) -> None:
            writer.writerows(partial.finding_rows)
            room = options.findings_rows_in_report - len(kept_rows)
            if room > 0:
                kept_rows.extend(partial.finding_rows[:room])
            partial.finding_rows = []
            total.merge(partial)

        if pool is None:
            for batch in _batches(conversations, options.batch_messages):
                absorb(audit_batch(batch, options.config, options.profiles, options.flagged_per_shop))
        else:
            executor, workers = pool
            batches = _batches(conversations, options.batch_messages, size_of=lambda kr: len(kr[1]))
            _run_parallel(executor, batches, workers, options, absorb, total.cutoffs)
    return _report(total, stats, kept_rows, rejects_path, options)


def _run_parallel(pool: ProcessPoolExecutor, batches: Iterator[list], workers: int, options: AuditOptions,
                  absorb, cutoffs) -> None:
    """Keep at most 2×workers batches in flight, so memory stays bounded on any input size."""
    pending: set[Future] = set()
    for batch in batches:
        pending.add(pool.submit(audit_records_batch, batch, options.flagged_per_shop, cutoffs()))
        if len(pending) >= 2 * workers:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                absorb(fut.result())
    for fut in pending:
        absorb(fut.result())


def _scope_skips(counts: Counter) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for (check_id, reason), n in sorted(counts.items()):
        out.setdefault(check_id, {})[reason] = n
    return out


def _turn_checks_charge(config: AuditConfig, platform: str) -> bool:
    """Do the late/unanswered turn checks charge money per event on this platform (for this shop)?"""
    checks = compiled(config).checks.get(platform, {})
    for cid in ("audit.reply_time", "audit.missed_reply"):
        resolved = checks.get(cid)
        if resolved is not None and (resolved.penalty.fine_yuan or resolved.penalty.buyer_compensation_yuan):
            return True
    return False


def _charge_metric(exposure: ExposureAccumulator, r: MetricResult, spec: MetricSpec | None,
                   turn_checks_charge: bool) -> None:
    """A shop-day's metric fine into the exposure, each event once.

    The platform's own fine for the day (Pinduoduo's 1000 yuan) is charged as a platform fine. A
    per-miss charge (a profile's `fine_per_miss_yuan`) counts the same late or unanswered turns the
    turn checks charge one by one, so it is charged only where those checks charge nothing."""
    per_miss_events = 0
    per_miss = 0.0
    if spec is not None and spec.fine_per_miss_yuan and r.denominator:
        per_miss_events = int(r.denominator - r.numerator)
        per_miss = per_miss_events * spec.fine_per_miss_yuan
    platform_part = round(r.fine_yuan - per_miss, 2)
    title = r.title
    source = spec.source if spec is not None else ""
    if platform_part > 0:
        exposure.add_metric_fine(r.metric, platform_part, title=title, text=source)
    if per_miss:
        internal = spec is not None and spec.fine_scope == "internal"
        if turn_checks_charge:
            exposure.supersede_metric_fine(r.metric, per_miss)
        else:
            exposure.add_metric_fine(r.metric, per_miss, internal=internal, title=title, text=source,
                                     events=per_miss_events)


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
        turn_checks_charge = _turn_checks_charge(options.config.for_shop(shop), platform)
        for r in daily:
            if r.shop == shop and r.platform == platform and r.fine_yuan:
                _charge_metric(exposure, r, specs.get(r.metric), turn_checks_charge)
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
        scope_skips=_scope_skips(total.scope_skips),
        response_time_histogram=metrics.histogram(),
        flagged=flagged,
        all_findings=[dict(zip(FINDING_COLUMNS, row, strict=True)) for row in rows],
        daily_metrics=daily,
    )
