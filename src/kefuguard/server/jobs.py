"""Background audit jobs: a run row first (so GET /v1/audits/{id} answers at once), then the work.

Each job runs `kefuguard.server.audit_job.execute` in a spawned worker process (one at a time by
default: the audit takes the second core, the server keeps its own), started on the first job and
reused. Progress and results live in the database, so any instance can answer for any run. An
in-memory SQLite database cannot be shared with another process: its jobs run in a thread.
"""

from __future__ import annotations

import logging
import re
import shutil
import threading
from collections.abc import Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kefuguard.server.security import Principal

if TYPE_CHECKING:
    from kefuguard.server.app import Context

log = logging.getLogger("kefuguard.server")

_SAFE = re.compile(r"[^\w.\-]+", re.UNICODE)


def safe_name(filename: str, index: int) -> str:
    """A stored file name: the upload's own base name made harmless, kept recognisable (its
    extension tells the importer the format)."""
    base = Path(filename.replace("\\", "/")).name or "upload"
    base = _SAFE.sub("_", base).strip("._") or "upload"
    return f"{index:02d}_{base[-120:]}"


class AuditJobs:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._executor: Executor | None = None
        self._lock = threading.Lock()
        self._futures: dict[int, Future] = {}

    @property
    def in_process(self) -> bool:
        db = self.ctx.store.db
        memory = db.dialect == "sqlite" and db.url.database in (None, "", ":memory:")
        return memory or not self.ctx.config.audit_process

    def _pool(self) -> Executor:
        with self._lock:
            if self._executor is None:
                if self.in_process:
                    self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kefuguard-audit")
                else:
                    import multiprocessing

                    self._executor = ProcessPoolExecutor(max_workers=self.ctx.config.audit_jobs,
                                                         mp_context=multiprocessing.get_context("spawn"))
            return self._executor

    def run_dir(self, run_id: int) -> Path:
        return self.ctx.config.audit_dir / str(run_id)

    # ------------------------------------------------------------------ starting jobs
    def start_upload(self, who: Principal, files: Sequence[tuple[str, Any]], platform: str | None,
                     shop: str | None, *, orders: Sequence[tuple[str, Any]] = (),
                     refunds: Sequence[tuple[str, Any]] = (), sales: dict[str, Any] | None = None) -> dict:
        """files, orders, refunds: (original name, readable binary file) of the chat logs, order and
        after-sales exports; sales: the KPI attribution options (AuditOptions' attribution,
        attribution_window_hours). Saves the files, creates the run, queues it."""
        groups = {"files": files, "orders": orders, "refunds": refunds}
        sales = sales or {}
        params = {"source": "upload", **{kind: [name for name, _ in group] for kind, group in groups.items()},
                  "platform": platform, "shop": shop, **sales, "owner": _owner()}
        run = self.ctx.store.create_run(who.tenant_id, params, who.who)
        folder = self.run_dir(run["id"]) / "input"
        folder.mkdir(parents=True, exist_ok=True)
        stored: dict[str, list[dict[str, str]]] = {kind: [] for kind in groups}
        uploads = [(kind, name, fh) for kind, group in groups.items() for name, fh in group]
        try:
            for i, (kind, name, fh) in enumerate(uploads):
                target = folder / safe_name(name, i)
                with target.open("wb") as out:
                    shutil.copyfileobj(fh, out, 1 << 20)
                stored[kind].append({"filename": Path(name.replace("\\", "/")).name or target.name,
                                     "stored": target.name})
        except OSError:
            shutil.rmtree(self.run_dir(run["id"]), ignore_errors=True)
            self.ctx.store.fail_run(who.tenant_id, run["id"], "无法保存上传文件 / could not save the upload")
            raise
        spec = {"source": "upload", **stored, "platform": platform, "shop": shop, **sales, "who": who.who}
        self._submit(who.tenant_id, run["id"], spec)
        return run

    def start_stored(self, who: Principal, selection: dict[str, Any]) -> dict:
        params = {"source": "stored", **selection, "owner": _owner()}
        run = self.ctx.store.create_run(who.tenant_id, params, who.who, shop_id=selection.get("shop_id"))
        self._submit(who.tenant_id, run["id"], {"source": "stored", **selection, "who": who.who})
        return run

    def _submit(self, tenant_id: int, run_id: int, spec: dict[str, Any]) -> None:
        from kefuguard.server.audit_job import execute

        folder = str(self.run_dir(run_id))
        workers = self.ctx.config.audit_workers
        url = self.ctx.store.db.url.render_as_string(hide_password=False)
        if self.in_process:
            future = self._pool().submit(execute, url, tenant_id, run_id, spec, folder, workers, self.ctx.store.db)
        else:
            future = self._pool().submit(execute, url, tenant_id, run_id, spec, folder, workers)
        self._futures[run_id] = future
        future.add_done_callback(lambda f, rid=run_id, tid=tenant_id: self._finished(tid, rid, f))

    def _finished(self, tenant_id: int, run_id: int, future: Future) -> None:
        self._futures.pop(run_id, None)
        if future.cancelled():
            self.ctx.store.fail_run(tenant_id, run_id, "服务器关闭，审计已取消 / the server stopped; audit cancelled")
            return
        exc = future.exception()
        if exc is not None:  # the worker process died (killed, out of memory)
            log.error("audit run %s: worker failed: %r", run_id, exc)
            self.ctx.store.fail_run(tenant_id, run_id, f"审计进程异常退出 / the audit worker failed ({type(exc).__name__})")
            return
        result = future.result()
        if result.get("events"):
            from kefuguard.alerts.model import AlertEvent

            events = []
            for data in result["events"]:
                try:
                    events.append(AlertEvent.model_validate(data))
                except ValueError:
                    log.warning("audit run %s: an alert event did not validate", run_id)
            self.ctx.submit_alerts(events)

    def wait(self, run_id: int, timeout: float | None = None) -> None:
        """Wait for a job of this instance (tests)."""
        future = self._futures.get(run_id)
        if future is not None:
            future.result(timeout)

    def shutdown(self) -> None:
        """Cancel queued jobs and stop running ones (their runs are marked failed; a run cut short by
        a crash instead is marked failed at the next start, see Store.fail_orphaned_runs)."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is None:
            return
        processes = list(getattr(executor, "_processes", {}).values())  # a process pool's workers
        executor.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(2)


def _owner() -> str:
    """Who runs a job: host and process id (a restart finds the runs its dead process left)."""
    import os
    import socket

    return f"{socket.gethostname()}:{os.getpid()}"
