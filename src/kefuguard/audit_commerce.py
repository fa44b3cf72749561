"""Order and after-sales exports in an audit (issue 15): read, handed to the workers, joined at the end.

Three costs kept out of the audit's way:

- **time**: the exports are read in a thread of the parent (`PendingCommerce`) while the workers
  read the chat files; the audit waits for them only when the first conversation is audited;
- **memory in the workers**: the worker processes are forked *before* the exports are read, so
  none of them inherits the parent's orders; each loads just the per-buyer index
  (`OrderBook` + attribution profile) from a pickle file, once (`worker_commerce`);
- **memory at the end**: the KPIs are joined (`finish_kpis`) after the workers are gone.
"""

from __future__ import annotations

import os
import pickle
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kefuguard.conversation.commerce import CommerceFacts
from kefuguard.conversation.config import AuditConfig
from kefuguard.conversation.context import compiled
from kefuguard.conversation.model import Conversation
from kefuguard.conversation.results import AuditReport, ImportSummary
from kefuguard.io.importers import InputNotFoundError, RejectsWriter
from kefuguard.sales.kpi import KpiCollector
from kefuguard.sales.models import Order, Refund
from kefuguard.sales.orderbook import OrderBook
from kefuguard.sales.profiles import AttributionProfile, get_profile

if TYPE_CHECKING:
    from kefuguard.audit import AuditOptions

ORDER_REJECTS = "order_rejects.csv"


@dataclass
class Commerce:
    """The exports an audit joins: the index the order-based checks read per conversation and the
    attribution profile the KPI collectors follow; in the parent also the orders and refunds
    themselves and, once the chats are audited, the merged collector (`finish_kpis`)."""

    book: OrderBook | None  # None in the parent once shipped to the workers: it audits nothing itself
    profile: AttributionProfile
    orders: list[Order] = field(default_factory=list, repr=False)
    refunds: list[Refund] = field(default_factory=list, repr=False)
    imports: dict[str, ImportSummary] = field(default_factory=dict)
    collector: KpiCollector | None = field(default=None, repr=False)

    def for_workers(self) -> Commerce:
        """What a worker needs: the index and the profile, not the records."""
        return Commerce(self.book, self.profile)

    def facts(self, conv: Conversation) -> CommerceFacts | None:
        """What the exports say about this conversation's buyer (None: no export covers its shop)."""
        return self.book.facts(conv) if self.book is not None else None


def import_summary(stats, rejects_path: Path) -> ImportSummary:
    """An importer's counts as the report shows them (read = accepted + duplicates + rejected)."""
    return ImportSummary(
        files=[f.as_dict() for f in stats.files.values()],
        read=stats.read,
        accepted=stats.accepted,
        duplicates=stats.duplicates,
        rejected=stats.rejected,
        rejects_path=str(rejects_path) if stats.rejected else None,
    )


def check_commerce(options: AuditOptions) -> AttributionProfile | None:
    """The cheap checks, before any work: refunds need orders, files exist, the profile is known."""
    if not options.orders:
        if options.refunds:
            raise ValueError("售后/退款导出需要同时提供订单导出（--orders）：退款按订单号关联买家 "
                             "refund exports need the order exports too (--orders): refunds reach buyers through orders")
        return None
    for path in [*options.orders, *options.refunds]:
        if not Path(path).exists():
            raise InputNotFoundError(Path(path))
    return get_profile(options.attribution, **(
        {"window_hours": options.attribution_window_hours} if options.attribution_window_hours else {}))


def load_commerce(options: AuditOptions, out_dir: Path) -> Commerce | None:
    """Read the order and refund exports (rejects to order_rejects.csv); None when none were given."""
    profile = check_commerce(options)
    if profile is None:
        return None
    from kefuguard.io.orders import read_orders, read_refunds

    rejects_path = out_dir / ORDER_REJECTS
    with RejectsWriter(rejects_path, mask=options.config.mask_pii, lang=options.lang) as rejects:
        orders, order_stats = read_orders(options.orders, platform=options.platform, shop=options.shop,
                                          mapping=options.order_mapping, encoding=options.encoding,
                                          rejects=rejects, lang=options.lang)
        refunds, refund_stats = ([], None) if not options.refunds else read_refunds(
            options.refunds, mapping=options.refund_mapping, encoding=options.encoding, rejects=rejects,
            lang=options.lang)
    imports = {"orders": import_summary(order_stats, rejects_path)}
    if refund_stats is not None:
        imports["refunds"] = import_summary(refund_stats, rejects_path)
    book = OrderBook(orders, refunds if options.refunds else None,
                     order_platforms=checked_platforms(options.config, "audit.order_confirm"))
    return Commerce(book, profile, orders, refunds, imports)


def checked_platforms(config: AuditConfig, check_id: str) -> set[str]:
    """The platforms a check runs on for any shop (the base config or a shop's overrides)."""
    configs = [config, *(config.for_shop(shop) for shop in config.shops)]
    return {p for c in configs for p, checks in compiled(c).checks.items() if checks.get(check_id) is not None}


class PendingCommerce:
    """The exports being read in a thread of the parent; `result()` waits for them (and re-raises
    what went wrong) and, the first time, writes the workers' part to `worker_file` if given.
    The caller runs `check_commerce` first (`run_audit` does, before any work), so the errors a
    user can fix at once come before the chats are read."""

    def __init__(self, options: AuditOptions, out_dir: Path, worker_file: Path | None = None) -> None:
        self.worker_file = worker_file
        self._result: Commerce | None = None
        self._error: BaseException | None = None
        self._shipped = False
        self._thread = threading.Thread(target=self._load, args=(options, out_dir), name="kefuguard-orders",
                                        daemon=True)
        self._thread.start()

    def _load(self, options: AuditOptions, out_dir: Path) -> None:
        try:
            self._result = load_commerce(options, out_dir)
        except BaseException as exc:  # handed to the audit's thread by result()
            self._error = exc

    def result(self) -> Commerce | None:
        self._thread.join()
        if self._error is not None:
            raise self._error
        if not self._shipped and self.worker_file is not None and self._result is not None:
            tmp = self.worker_file.with_suffix(".part")
            with tmp.open("wb") as fh:
                pickle.dump(self._result.for_workers(), fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, self.worker_file)
            self._result.book = None  # the workers hold the index now; the parent keeps only the records
        self._shipped = True
        return self._result


class WorkerFile:
    """A private temporary folder for the workers' pickle; removed with the audit."""

    def __init__(self, spill_dir: Path | None) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="kefuguard-orders-", dir=spill_dir))
        self.path = self.folder / "commerce.pickle"

    def __enter__(self) -> WorkerFile:
        return self

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


_loaded: tuple[str, Commerce] | None = None


def worker_commerce(path: str | None) -> Commerce | None:
    """In a worker: the exports' index from the parent's pickle, loaded once per process."""
    global _loaded
    if path is None:
        return None
    if _loaded is None or _loaded[0] != path:
        with open(path, "rb") as fh:
            _loaded = (path, pickle.load(fh))
    return _loaded[1]


def finish_kpis(report: AuditReport, commerce: Commerce | None) -> AuditReport:
    """Join the orders and refunds with what the workers collected; the KPIs go on the report."""
    if commerce is not None and commerce.collector is not None:
        report.kpis = commerce.collector.finish(commerce.orders, commerce.refunds)
        report.kpis.imports = commerce.imports
        commerce.collector = None  # its units are done with: freed before the reports are written
    return report
