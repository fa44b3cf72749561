"""The chat-log audit: stream conversations from the importers through the checks, in parallel.

Orchestration only. Two ways to feed the workers, one report:

- **parallel reading** (the default with more than one worker): the workers read spans of the
  input files and hash-partition the records by conversation onto disk
  (`kefuguard.io.parallel_read`); then each worker groups whole partitions into conversations and
  audits them. No process ever holds the whole input, and the reading is done on every core.
- **serial reading** (one worker, or `reader="serial"`): this process streams conversations from
  the importers (bounded memory, spilling to disk) and sends batches to the workers.

Workers run the pure per-conversation audit (message checker, conversation checks, platform
metrics) and return small mergeable partials (accumulators, the worst conversations per shop,
finding rows). The parent merges them into one `AuditReport`; its content does not depend on the
way the input was read, on the number of workers, or on the engine (`engine="dask"`:
`kefuguard.audit_dask`, the same steps as tasks on a Dask cluster).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import gc
import heapq
import io
import logging
import os
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, as_completed, wait
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from kefuguard.audit_commerce import (
    ORDER_REJECTS,
    Commerce,
    PendingCommerce,
    WorkerFile,
    check_commerce,
    finish_kpis,
    import_summary,
    load_commerce,
    worker_commerce,
)
from kefuguard.checker import get_checker
from kefuguard.conversation.assemble import DEFAULT_MEMORY_BUDGET, conversation_from_records
from kefuguard.conversation.checks import audit_conversation
from kefuguard.conversation.config import AuditConfig
from kefuguard.conversation.context import compiled
from kefuguard.conversation.metrics import MetricsAggregator
from kefuguard.conversation.model import Conversation
from kefuguard.conversation.profiles import DEFAULT_PROFILES, MetricProfile, MetricSpec
from kefuguard.conversation.results import (
    AuditReport,
    ConversationResult,
    MetricResult,
    ShopSummary,
)
from kefuguard.conversation.scoring import AgentAccumulator, ExposureAccumulator, rank_agents
from kefuguard.io.importers import RejectsWriter, import_logs
from kefuguard.io.parallel_read import (
    DEFAULT_PARTITION_BYTES,
    DEFAULT_SPLIT_BYTES,
    Frame,
    PartitionCounts,
    ReadOptions,
    SpanResult,
    frames_size,
    group_partition,
    partition_frames,
    plan_reads,
    read_task,
)
from kefuguard.masking import mask_text
from kefuguard.rules.model import PLATFORMS
from kefuguard.sales.kpi import KpiCollector

log = logging.getLogger("kefuguard.audit")

#: Parquet tables an audit writes with `parquet=True` (schemas: kefuguard.io.parquet, docs/scale.md).
PARQUET_FILES = ("findings.parquet", "scores.parquet", "metrics.parquet", "agents.parquet")
#: What an audit writes into its output folder (never read back as input).
OUTPUT_FILES = ("findings.csv", "rejects.csv", ORDER_REJECTS, "report.html", "report.json", "report.xlsx", *PARQUET_FILES)

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
    thresholds: dict[tuple[str, str], tuple[float, str]] = field(default_factory=dict)
    # one row per conversation for scores.parquet (only when Parquet output is asked for)
    keep_scores: bool = False
    score_rows: list[tuple] = field(default_factory=list)
    # platforms audited, and the labels of the rule packs their checkers use (filled where the
    # checkers are: the parent of a parallel audit never builds one)
    platforms: set[str] = field(default_factory=set)
    packs: set[str] = field(default_factory=set)
    # finding rows already written as findings.csv text (`pack`): the parent only appends bytes
    findings_csv: bytes = b""
    packed: bool = False
    # what the sales KPIs need of the chats (only when order exports were given)
    kpi: KpiCollector | None = None

    def add(self, conv: Conversation, result: ConversationResult, mask: bool) -> None:
        shop_key = (result.shop, result.platform)
        if self.keep_scores:  # columns of kefuguard.io.parquet.SCORES_SCHEMA
            self.score_rows.append((
                result.shop, result.platform, result.conversation_id, result.agent_id, result.day,
                result.started_at, result.message_count, result.buyer_messages, result.agent_messages,
                result.first_response_seconds, len(result.findings), result.score, result.buyer_abuse,
                list(result.tags),
            ))
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
        _settle_deposit_tie(exp, result)
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
        if limit is not None and (-result.score, result.conversation_id) <= limit:
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

    def cutoffs(self) -> dict[tuple[str, str], tuple[float, str]]:
        """Per shop with a full list, the kept entry that goes first, as (−score, conversation id):
        only an entry that orders after it can enter (a worse score, or the same score and a later
        id — the order the list itself keeps, so cut-offs never change which conversations it holds)."""
        return {key: heap[0][:2] for key, heap in self.worst.items() if len(heap) >= self.flagged_per_shop}

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
        self.findings_csv += other.findings_csv
        self.score_rows.extend(other.score_rows)
        self.platforms |= other.platforms
        self.packs |= other.packs
        if other.kpi is not None:
            if self.kpi is None:
                self.kpi = other.kpi
            else:
                self.kpi.merge(other.kpi)

    def pack(self, report_rows: int, keep_rows: bool = False) -> PartialAudit:
        """Where the rows are made (a worker): finding rows as findings.csv text, so the parent
        appends bytes instead of writing every row; of the rows themselves only the first
        `report_rows` in report order travel on (all of them when `keep_rows`: Parquet)."""
        if self.finding_rows:
            self.findings_csv += _csv_bytes(self.finding_rows)
            if not keep_rows:
                self.finding_rows = heapq.nsmallest(max(0, report_rows), self.finding_rows)
        self.packed = True
        return self

    def label_packs(self) -> PartialAudit:
        """Note the rule packs of every platform audited (in the process that holds the checkers)."""
        self.packs |= {label for p in self.platforms for label in get_checker(p).pack_labels}
        return self


def _csv_bytes(rows: Iterable[tuple]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return buf.getvalue().encode("utf-8", "backslashreplace")


def _settle_deposit_tie(exp: ExposureAccumulator, result: ConversationResult) -> None:
    """Of several rules putting the same largest deposit at risk, name the first by rule id — as
    ExposureAccumulator.merge settles that tie — not the first one read, so the report does not
    depend on the order conversations arrive in (worker count, reader, engine)."""
    top = exp.deposit_at_risk_yuan
    for f in result.findings:
        p = f.penalty
        if p is not None and p.deposit_yuan and p.deposit_yuan == top and exp.deposit_rule is not None \
                and f.check_id < exp.deposit_rule:
            exp.deposit_rule = f.check_id


# ---------------------------------------------------------------- workers

_WORKER_CONFIG: AuditConfig | None = None
_WORKER_PROFILES: dict[str, MetricProfile] | None = None
_WORKER_COMMERCE_FILE: str | None = None  # the parent's pickle of the exports' index (audit_commerce)
_WARM = False  # this worker process has built its checkers (and frozen them out of the GC's view)


def _init_worker(config: AuditConfig, profiles: dict[str, MetricProfile], commerce_file: str | None = None) -> None:
    global _WORKER_CONFIG, _WORKER_PROFILES, _WORKER_COMMERCE_FILE
    _WORKER_CONFIG, _WORKER_PROFILES, _WORKER_COMMERCE_FILE = config, profiles, commerce_file
    # long-lived objects (tables, checkers) leave the collector's view; batches clean up after
    # themselves in audit_records_batch
    gc.freeze()
    gc.disable()


def audit_records_batch(
    batch: list[tuple], flagged_per_shop: int, thresholds: dict[tuple[str, str], tuple[float, str]] | None = None,
    keep_scores: bool = False, report_rows: int | None = None,
) -> PartialAudit:
    """Worker entry point: build the conversations from raw importer records, audit them.

    Records (plain tuples) cross the process boundary instead of pydantic messages, which pickle
    several times slower; the parent never builds message objects at all.
    """
    partial = audit_batch(
        [conversation_from_records(k, r) for k, r in batch], flagged_per_shop=flagged_per_shop, thresholds=thresholds,
        keep_scores=keep_scores,
    )
    if report_rows is not None:
        partial.pack(report_rows, keep_rows=keep_scores)
    gc.collect(1)  # only this batch's objects: older ones are frozen or in the oldest generation
    return partial


def audit_batch(
    conversations: list[Conversation],
    config: AuditConfig | None = None,
    profiles: Mapping[str, MetricProfile] | None = None,
    flagged_per_shop: int = 20,
    thresholds: dict[tuple[str, str], tuple[float, str]] | None = None,
    keep_scores: bool = False,
    commerce: Commerce | None = None,
) -> PartialAudit:
    """Audit a batch of conversations (runs in a worker process or inline)."""
    config = config or _WORKER_CONFIG or AuditConfig()
    profiles = dict(profiles or _WORKER_PROFILES or DEFAULT_PROFILES)
    commerce = commerce or worker_commerce(_WORKER_COMMERCE_FILE)
    partial = _new_partial(profiles, flagged_per_shop, commerce, thresholds, keep_scores)
    for conv in conversations:
        _audit_one(partial, conv, config, profiles, commerce)
    return partial.label_packs()


def _new_partial(profiles: Mapping[str, MetricProfile], flagged_per_shop: int, commerce: Commerce | None,
                 thresholds: dict[tuple[str, str], tuple[float, str]] | None = None,
                 keep_scores: bool = False) -> PartialAudit:
    return PartialAudit(
        metrics=MetricsAggregator(dict(profiles)), flagged_per_shop=flagged_per_shop,
        thresholds=dict(thresholds or {}), keep_scores=keep_scores,
        kpi=KpiCollector(commerce.profile) if commerce is not None else None,
    )


def _audit_one(partial: PartialAudit, conv: Conversation, config: AuditConfig,
               profiles: Mapping[str, MetricProfile], commerce: Commerce | None = None) -> None:
    cm = partial.metrics.add(conv)  # the turn checks judge the turns these metrics cut
    result = audit_conversation(
        conv, get_checker(conv.platform), config, profiles.get(conv.platform), cm.turns if cm else None,
        commerce.facts(conv) if commerce is not None else None,
    )
    partial.platforms.add(conv.platform)
    partial.add(conv, result, config.mask_pii)
    if partial.kpi is not None:
        partial.kpi.add_conversation(conv)


def audit_partition(
    frames: Iterable[Frame],
    flagged_per_shop: int = 20,
    thresholds: dict[tuple[str, str], tuple[float, str]] | None = None,
    keep_scores: bool = False,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    config: AuditConfig | None = None,
    profiles: Mapping[str, MetricProfile] | None = None,
    batch_messages: int = 4000,
    report_rows: int = 20000,
    commerce: Commerce | None = None,
) -> tuple[PartialAudit, PartitionCounts]:
    """Worker entry point of the parallel reader: group one shuffle partition (every record of its
    conversations) into conversations and audit them; also returns grouping's counts."""
    config = config or _WORKER_CONFIG or AuditConfig()
    profiles = dict(profiles or _WORKER_PROFILES or DEFAULT_PROFILES)
    commerce = commerce or worker_commerce(_WORKER_COMMERCE_FILE)
    in_pool = _WORKER_CONFIG is not None
    if in_pool:
        _warm_once()
    partial = _new_partial(profiles, flagged_per_shop, commerce, thresholds, keep_scores)
    counts = PartitionCounts()
    done = 0
    for key, records in group_partition(frames, counts, memory_budget=memory_budget):
        _audit_one(partial, conversation_from_records(key, records), config, profiles, commerce)
        done += len(records)
        if in_pool and done >= batch_messages:
            gc.collect(1)  # as audit_records_batch: young objects only
            done = 0
    return partial.label_packs().pack(report_rows, keep_rows=keep_scores), counts


def _warm_once() -> None:
    global _WARM
    if not _WARM:
        _warm_up()
        _WARM = True


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
    # how the input is read: 'parallel' (workers read spans of the files and shuffle records to
    # partitions by conversation: no process holds the whole input), 'serial' (this process reads
    # and groups, workers audit) or 'auto' (parallel with more than one worker). Same report.
    reader: str = "auto"
    # 'local' (this machine's processes) or 'dask' (a Dask cluster: `scheduler`, or a local one)
    engine: str = "local"
    scheduler: str | None = None  # e.g. 'tcp://10.0.0.5:8786'; None with engine='dask': a LocalCluster
    # also write findings/scores/metrics/agents as Parquet (kefuguard.io.parquet; the Dask engine always does)
    parquet: bool = False
    split_bytes: int = DEFAULT_SPLIT_BYTES  # input bytes per span a worker reads
    partition_bytes: int = DEFAULT_PARTITION_BYTES  # input bytes per shuffle partition a worker audits
    spill_dir: Path | None = None  # where shuffle partitions go (default: the system temp folder)
    # sales KPIs and order-based checks (issue 15): order / after-sales exports joined with the chats
    # (kefuguard.io.orders; rejects go to rejects.csv beside the chats'); KPIs need `orders`
    orders: list[Path] = field(default_factory=list)
    refunds: list[Path] = field(default_factory=list)
    order_mapping: Mapping[str, str] | None = None  # --order-map 列名=字段 for unknown order headers
    refund_mapping: Mapping[str, str] | None = None  # --refund-map
    attribution: str = "last_manual_24h"  # kefuguard.sales.profiles name
    attribution_window_hours: float | None = None  # overrides the profile's window


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
    if options.engine not in ("local", "dask"):
        raise ValueError(f"未知的引擎 {options.engine!r}（local 或 dask） unknown engine {options.engine!r}: local or dask")
    if options.reader not in ("auto", "parallel", "serial"):
        raise ValueError(f"未知的读取方式 {options.reader!r} unknown reader {options.reader!r}: auto, parallel or serial")
    out_dir = prepare_out_dir(options.out_dir)
    if options.mask_pii is not None and options.mask_pii != options.config.mask_pii:
        options = replace(options, config=options.config.model_copy(update={"mask_pii": options.mask_pii}))
    rejects_path = out_dir / "rejects.csv"
    check_commerce(options)  # refunds without orders, a missing export, an unknown profile: before any work
    if options.engine == "dask":
        from kefuguard.audit_dask import run_dask_audit

        commerce = load_commerce(options, out_dir)
        return finish_kpis(run_dask_audit(paths, options, progress, rejects_path, commerce), commerce)
    workers = _worker_count(options.workers)
    partitioned = options.reader == "parallel" or (options.reader == "auto" and workers > 1)
    if workers == 1:
        pending = PendingCommerce(options, out_dir) if options.orders else None
        audit = _audit_partitioned if partitioned else _audit_into
        report = audit(paths, options, progress, rejects_path, None, pending)
        return finish_kpis(report, pending.result() if pending else None)
    with WorkerFile(options.spill_dir) if options.orders else nullcontext() as ship:
        commerce_file = str(ship.path) if ship is not None else None
        with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker,
                                 initargs=(options.config, options.profiles, commerce_file)) as pool:
            # fork the workers now: small (not copies of a parent that holds the whole input or the
            # order exports), they build their checkers while the parent reads or parses
            for warm in [pool.submit(_warm_up) for _ in range(workers)]:
                warm.result()
            pending = PendingCommerce(options, out_dir, ship.path) if ship is not None else None
            if partitioned:
                report = _audit_partitioned(paths, options, progress, rejects_path, (pool, workers), pending)
            else:
                report = _audit_into(paths, options, progress, rejects_path, (pool, workers), pending)
    return finish_kpis(report, pending.result() if pending else None)  # the workers are gone: their memory too


def _warm_up() -> None:
    """Build every platform's checker in a fresh worker, then freeze them out of the GC's view."""
    for platform in PLATFORMS:
        get_checker(platform)
    gc.freeze()


def _audit_into(paths, options: AuditOptions, progress, rejects_path: Path, pool,
                pending: PendingCommerce | None = None) -> AuditReport:
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
    commerce = pending.result() if pending is not None else None
    with Results(options, commerce) as results:
        total = results.total
        if pool is None:
            for batch in _batches(conversations, options.batch_messages):
                results.absorb(audit_batch(batch, options.config, options.profiles, options.flagged_per_shop,
                                           keep_scores=options.parquet, commerce=commerce))
        else:
            executor, workers = pool
            batches = _batches(conversations, options.batch_messages, size_of=lambda kr: len(kr[1]))
            _run_parallel(executor, batches, workers, options, results.absorb, total.cutoffs)
    return results.report(stats, rejects_path)


def _run_parallel(pool: ProcessPoolExecutor, batches: Iterator[list], workers: int, options: AuditOptions,
                  absorb, cutoffs) -> None:
    """Keep at most 2×workers batches in flight, so memory stays bounded on any input size."""
    pending: set[Future] = set()
    for batch in batches:
        pending.add(pool.submit(audit_records_batch, batch, options.flagged_per_shop, cutoffs(), options.parquet,
                                options.findings_rows_in_report))
        if len(pending) >= 2 * workers:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                absorb(fut.result())
    for fut in pending:
        absorb(fut.result())


def _audit_partitioned(paths, options: AuditOptions, progress, rejects_path: Path,
                       pool: tuple[ProcessPoolExecutor, int] | None, pending: PendingCommerce | None = None
                       ) -> AuditReport:
    """The parallel reader: spans read by the workers into shuffle partitions on disk, then each
    partition grouped and audited by one worker. `pool` None: the same steps in this process.
    The order exports (`pending`) are read meanwhile; they are needed only for the audit."""
    pool, workers = pool if pool is not None else (None, 1)
    plan = plan_reads(
        paths, ReadOptions(options.platform, options.shop, options.mapping, options.encoding),
        exclude=[Path(options.out_dir) / name for name in OUTPUT_FILES], split_bytes=options.split_bytes,
        progress=progress,
    )
    partitions = plan.partitions(workers, options.partition_bytes)
    shuffle = tempfile.mkdtemp(prefix="kefuguard-shuffle-", dir=options.spill_dir)
    budget = options.memory_budget or DEFAULT_MEMORY_BUDGET
    started = time.perf_counter()
    try:
        with RejectsWriter(rejects_path, mask=options.config.mask_pii, lang=options.lang) as rejects:
            accepted, merger = _read_spans(plan, partitions, shuffle, pool, rejects)
        read_s = time.perf_counter() - started
        counts = PartitionCounts()
        commerce = pending.result() if pending is not None else None
        with Results(options, commerce) as results:
            # largest first: the workers' last tasks are the small ones, so they finish together
            jobs = sorted((partition_frames(accepted, p) for p in range(partitions)), key=frames_size, reverse=True)
            if pool is None:
                for frames in jobs:
                    partial, part_counts = audit_partition(
                        frames, options.flagged_per_shop, results.total.cutoffs(), options.parquet, budget,
                        options.config, options.profiles, report_rows=options.findings_rows_in_report,
                        commerce=commerce,
                    )
                    counts.merge(part_counts)
                    results.absorb(partial)
            else:
                pending: set[Future] = set()
                for frames in jobs:
                    pending.add(pool.submit(audit_partition, frames, options.flagged_per_shop,
                                            results.total.cutoffs(), options.parquet, budget,
                                            report_rows=options.findings_rows_in_report))
                    if len(pending) >= 2 * workers:
                        done, pending = wait(pending, return_when=FIRST_COMPLETED)
                        for fut in done:
                            partial, part_counts = fut.result()
                            counts.merge(part_counts)
                            results.absorb(partial)
                for fut in as_completed(pending):
                    partial, part_counts = fut.result()
                    counts.merge(part_counts)
                    results.absorb(partial)
        stats = merger.finish(counts)
        log.debug("parallel reader: %d spans (%d re-read) read in %.1f s, %d partitions audited in %.1f s",
                  len(accepted), merger.reruns, read_s, partitions, time.perf_counter() - started - read_s)
        return results.report(stats, rejects_path)
    finally:
        shutil.rmtree(shuffle, ignore_errors=True)


def _read_spans(plan, partitions: int, shuffle: str, pool: ProcessPoolExecutor | None, rejects
                ) -> tuple[list[SpanResult], Any]:
    from kefuguard.io.parallel_read import SpanMerger

    merger = SpanMerger(plan, rejects)

    def run(task):
        if pool is None:
            return read_task(task, plan.options, partitions, shuffle)
        return pool.submit(read_task, task, plan.options, partitions, shuffle).result()

    if pool is None:
        for task in plan.tasks():
            merger.add(run(task))
    else:
        futures = [pool.submit(read_task, task, plan.options, partitions, shuffle) for task in plan.tasks()]
        for fut in as_completed(futures):
            merger.add(fut.result())
    return merger.resolve(run), merger


class _KeptRows:
    """The finding rows the report carries: the first `limit` in a fixed order (shop, platform,
    agent, conversation, time, rule, …), whatever order the workers deliver them in."""

    def __init__(self, limit: int) -> None:
        self.limit = max(0, limit)
        self.rows: list[tuple] = []

    def add(self, rows: list[tuple]) -> None:
        if not self.limit:
            return
        self.rows.extend(rows)
        if len(self.rows) > 2 * self.limit + 10_000:
            self._trim()

    def _trim(self) -> None:
        self.rows.sort()
        del self.rows[self.limit:]

    def result(self) -> list[tuple]:
        self._trim()
        return self.rows


class Results:
    """Where partials go: merged into one total; finding rows streamed to findings.csv (and, with
    `options.parquet`, findings/scores rows to Parquet); a bounded, ordered set kept for the report."""

    def __init__(self, options: AuditOptions, commerce: Commerce | None = None) -> None:
        self.options = options
        self.commerce = commerce
        out = Path(options.out_dir)
        self.total = _new_partial(options.profiles, options.flagged_per_shop, commerce, keep_scores=options.parquet)
        self.kept = _KeptRows(options.findings_rows_in_report)
        # UTF-8 with BOM (Excel opens it without mojibake); rows arrive as CSV text from the workers
        self._fh = (out / "findings.csv").open("wb")
        self._fh.write(codecs.BOM_UTF8 + _csv_bytes([FINDING_COLUMNS_ZH]))
        self._tables: dict[str, Any] = {}
        if options.parquet:
            from kefuguard.io.parquet import FINDINGS_SCHEMA, SCORES_SCHEMA, TableWriter

            self._tables = {"findings": TableWriter(out / "findings.parquet", FINDINGS_SCHEMA),
                            "scores": TableWriter(out / "scores.parquet", SCORES_SCHEMA)}

    def absorb(self, partial: PartialAudit) -> None:
        if not partial.packed:
            partial.pack(self.options.findings_rows_in_report, keep_rows=self.options.parquet)
        self._fh.write(partial.findings_csv)
        rows = partial.finding_rows
        self.kept.add(rows)
        if self._tables:
            self._tables["findings"].write(rows)
            self._tables["scores"].write(partial.score_rows)
        partial.finding_rows = []
        partial.findings_csv = b""
        partial.score_rows = []
        self.total.merge(partial)

    def close(self) -> None:
        self._fh.close()
        for table in self._tables.values():
            table.close()

    def __enter__(self) -> Results:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def report(self, stats, rejects_path: Path) -> AuditReport:
        report = _report(self.total, stats, self.kept.result(), rejects_path, self.options)
        if self.commerce is not None:  # joined with the orders by finish_kpis, once the workers are gone
            self.commerce.collector = self.total.kpi
        if self.options.parquet:
            from kefuguard.io.parquet import write_summary_tables

            write_summary_tables(self.options.out_dir, self.total.metrics, report.agents)
        return report


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
        (item[2] for heap in total.worst.values() for item in heap),
        key=lambda r: (r.score, r.conversation_id, r.shop, r.platform),  # a total order: no arrival order shows
    )
    imports = import_summary(stats, rejects_path)
    # every platform audited has a shop row: the packs of their checkers, as the workers noted them
    packs = sorted(total.packs)
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
