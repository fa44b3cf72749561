"""The audit on a Dask cluster (`kefuguard audit --engine dask [--scheduler tcp://host:8786]`).

The same steps as the local parallel reader (`kefuguard.io.parallel_read`), as Dask tasks:

1. the client plans the spans (headers checked, boundaries found) — it needs to see the files;
2. one task per span reads it on a worker and hash-partitions its records by conversation key
   into one pickled block per partition (blocks stay in the workers' memory, spilled to disk by
   Dask when a worker runs short);
3. the shuffle: each partition's task receives that partition's block from every span — all
   records of its conversations, never a conversation split across partitions — groups them and
   audits them; the client merges the small partial results and writes the same reports as a
   local run, plus findings/scores/metrics/agents as Parquet.

Without a scheduler address a `LocalCluster` is started (one single-threaded worker process per
core, or `--workers`). With one, every worker must see the input files under the same paths
(a shared file system; use absolute paths) and have the same kefuguard version installed.
Dask (`dask[dataframe]`, `distributed`) is an optional extra: `pip install 'kefuguard[dask]'`.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from kefuguard.audit import (
    OUTPUT_FILES,
    AuditOptions,
    PartialAudit,
    Results,
    _collector_paused,
    _worker_count,
    audit_partition,
)
from kefuguard.audit_commerce import Commerce
from kefuguard.conversation.assemble import DEFAULT_MEMORY_BUDGET
from kefuguard.conversation.results import AuditReport
from kefuguard.io.importers import RejectsWriter
from kefuguard.io.parallel_read import (
    PartitionCounts,
    ReadOptions,
    ReadTask,
    SpanMerger,
    SpanResult,
    plan_reads,
    read_task,
)

log = logging.getLogger("kefuguard.audit")


class DaskUnavailableError(RuntimeError):
    """The Dask extra is not installed, or the scheduler cannot be reached."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(f"{zh} {en}")
        self.zh, self.en = zh, en

    def text(self, lang: str = "zh") -> str:
        return self.en if lang == "en" else self.zh


def _distributed() -> Any:
    try:
        import dask  # noqa: F401
        import distributed
    except ImportError as exc:
        raise DaskUnavailableError(
            f"--engine dask 需要 Dask：请安装 pip install 'kefuguard[dask]'（dask[dataframe] 与 distributed；缺少 {exc.name}）",
            f"--engine dask needs Dask: pip install 'kefuguard[dask]' (dask[dataframe] and distributed; missing {exc.name})",
        ) from None
    return distributed


@contextmanager
def dask_client(scheduler: str | None, workers: int = 0, **cluster_kwargs: Any) -> Iterator[Any]:
    """A `distributed.Client`: connected to `scheduler`, or to a LocalCluster started (and shut
    down) here with `workers` single-threaded worker processes (0: one per core)."""
    distributed = _distributed()
    if scheduler:
        try:
            client = distributed.Client(scheduler, timeout="30s")
        except OSError as exc:
            raise DaskUnavailableError(f"无法连接 Dask 调度器 {scheduler}：{exc}",
                                       f"cannot reach the Dask scheduler {scheduler}: {exc}") from None
        try:
            yield client
        finally:
            client.close()
        return
    kwargs: dict[str, Any] = {"n_workers": _worker_count(workers), "threads_per_worker": 1, "processes": True,
                              "dashboard_address": ":0", "silence_logs": logging.ERROR}
    kwargs.update(cluster_kwargs)
    cluster = distributed.LocalCluster(**kwargs)
    try:
        client = distributed.Client(cluster)
        try:
            yield client
        finally:
            client.close()
    finally:
        cluster.close()


# ---------------------------------------------------------------- tasks (run on the workers)


def _meta(result: SpanResult) -> SpanResult:
    """A span's result without its blocks: what the client needs to check and merge it."""
    return result.without_blocks()


def _block(result: SpanResult, partition: int) -> bytes:
    assert result.blocks is not None
    return result.blocks[partition]


def _audit_blocks(blocks: list[bytes], flagged_per_shop: int, keep_scores: bool, memory_budget: int,
                  config: Any, profiles: Any, report_rows: int, commerce: Commerce | None = None
                  ) -> tuple[PartialAudit, PartitionCounts]:
    with _collector_paused():
        return audit_partition(blocks, flagged_per_shop, None, keep_scores, memory_budget, config, profiles,
                               report_rows=report_rows, commerce=commerce)


# ---------------------------------------------------------------- orchestration (the client)


def run_dask_audit(paths: Iterable[str | os.PathLike[str]], options: AuditOptions,
                   progress: Callable[[int, int], None] | None, rejects_path: Path,
                   commerce: Commerce | None = None) -> AuditReport:
    """`run_audit` with engine='dask'. Always writes the Parquet tables besides findings.csv.
    `commerce`: the order/refund exports (`kefuguard.audit.load_commerce`), broadcast to the workers."""
    options = replace(options, parquet=True)
    _distributed()  # a missing extra is reported before any work is done
    plan = plan_reads(
        paths, ReadOptions(options.platform, options.shop, options.mapping, options.encoding),
        exclude=[Path(options.out_dir) / name for name in OUTPUT_FILES], split_bytes=options.split_bytes,
        progress=progress,
    )
    budget = options.memory_budget or DEFAULT_MEMORY_BUDGET
    with dask_client(options.scheduler, options.workers) as client:
        distributed = _distributed()
        slots = sum(client.nthreads().values()) or 1
        partitions = plan.partitions(slots, options.partition_bytes)
        token = uuid.uuid4().hex[:10]
        reads: dict[tuple[int, int], Any] = {}

        def submit_read(task: ReadTask) -> Any:
            name = f"{task.seq}-{task.attempt}"
            fut = client.submit(read_task, task, plan.options, partitions, None, key=f"kefuguard-read-{token}-{name}")
            reads[(task.seq, task.attempt)] = fut
            return client.submit(_meta, fut, key=f"kefuguard-meta-{token}-{name}")

        with RejectsWriter(rejects_path, mask=options.config.mask_pii, lang=options.lang) as rejects:
            merger = SpanMerger(plan, rejects)
            metas = [submit_read(task) for task in plan.tasks()]
            for fut in distributed.as_completed(metas):
                merger.add(fut.result())
            accepted = merger.resolve(lambda task: submit_read(task).result())
        del metas
        keep = {(r.task.seq, r.task.attempt) for r in accepted}
        for key in [k for k in reads if k not in keep]:
            reads.pop(key).release()
        config, profiles, book = client.scatter(
            [options.config, options.profiles, commerce.for_workers() if commerce is not None else None],
            broadcast=True, hash=False)
        audits = []
        for p in range(partitions):
            blocks = [client.submit(_block, reads[(r.task.seq, r.task.attempt)], p,
                                    key=f"kefuguard-block-{token}-{r.task.seq}-{r.task.attempt}-{p}")
                      for r in accepted if r.frames and r.frames[p][1]]
            audits.append(client.submit(_audit_blocks, blocks, options.flagged_per_shop, True, budget, config,
                                        profiles, options.findings_rows_in_report, book,
                                        key=f"kefuguard-audit-{token}-{p}"))
            del blocks
        reads.clear()  # the scheduler keeps each span's blocks until the partitions that need them ran
        counts = PartitionCounts()
        with Results(options, commerce) as results:
            for fut in distributed.as_completed(audits):
                partial, part_counts = fut.result()
                fut.release()
                counts.merge(part_counts)
                results.absorb(partial)
        stats = merger.finish(counts)
        log.info("dask audit: %d spans (%d re-read), %d partitions, %d worker threads", len(accepted),
                 merger.reruns, partitions, slots)
        return results.report(stats, rejects_path)


__all__ = ["DaskUnavailableError", "dask_client", "run_dask_audit"]
