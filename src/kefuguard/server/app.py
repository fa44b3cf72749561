"""The application factory: `create_app(database_url=None, ...)` → a FastAPI app.

    uvicorn --factory kefuguard.server.app:create_app      # or: kefuguard serve

With no configuration the database is the storage default (an SQLite file in the user data dir),
migrated to head at start; KEFUGUARD_DATABASE_URL or `database_url` selects another (PostgreSQL:
postgresql://user:pass@host/db). Settings: `ServerConfig` (kefuguard.server.config).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import threading
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from kefuguard import __version__
from kefuguard.checker import Checker, get_checker
from kefuguard.findings import CheckResult
from kefuguard.server.checking import ShopCheckers
from kefuguard.server.config import ServerConfig
from kefuguard.server.errors import install_error_handlers
from kefuguard.server.jobs import AuditJobs
from kefuguard.server.middleware import EdgeMiddleware
from kefuguard.server.schemas import CheckRequest, ErrorBody
from kefuguard.server.security import KeyCache, RateLimiter
from kefuguard.server.store import Store

log = logging.getLogger("kefuguard.server")

UPLOAD_PATHS = ("/v1/audits",)

_DESCRIPTION = """\
kefuguard 客服质检 API: check agents' messages before they are sent (with a compliant rewrite),
apply each shop's own words and switches, audit chat logs in the background, and read
conversations, findings, metrics and agent scores.

**Authentication**: every `/v1` endpoint needs an API key (`kefuguard keys create`), sent as
`Authorization: Bearer <key>` or `X-API-Key: <key>`. Roles: `admin` (everything in the tenant,
keys and webhooks included), `supervisor` (shops, settings, audits, statistics), `agent` (check;
its own conversations and findings). Another tenant's ids answer 404.

**Errors** are JSON: `{"error": {"code", "message" (中文), "message_en", "field"}}`.
"""


_WARM_TEXTS = ("南京东路的店今天发货", "不抖，音乐节快乐", "加我微信发你优惠券", "打我电话 138 0013 8000",
               "全网最低价，绝对正品", "亲，这个宝贝很好哦", "發票可以開的", "链接 https://example.com/a")


class Context:
    """The app's services, shared by every request (app.state.kefuguard)."""

    def __init__(self, config: ServerConfig, store: Store, alerts: Any = None, own_db: bool = False,
                 own_alerts: bool = False) -> None:
        self.config = config
        self.store = store
        self.keys = KeyCache(store.lookup_key, ttl=config.auth_cache_seconds)
        self.limiter = RateLimiter(config.rate_limit, config.burst)
        self.shops = ShopCheckers(store, config.settings_recheck_seconds)
        self.checkers: dict[str, Checker] = {}
        self.jobs = AuditJobs(self)
        self._alerts = alerts
        self._alerts_given = alerts is not None
        self._own_alerts = own_alerts or alerts is None  # closed with the app
        self._alerts_lock = threading.Lock()
        self._own_db = own_db
        self._alert_pool: ThreadPoolExecutor | None = None
        self.warmed = False  # the platform checkers asked for at start are built
        self._rule_info: dict[str, dict[str, dict[str, Any]]] = {}

    # ------------------------------------------------------------------ checkers
    def platform_checker(self, platform: str) -> Checker:
        """The shared checker of a platform (built or read from the disk cache the first time)."""
        checker = self.checkers.get(platform)
        if checker is None:
            checker = self.checkers[platform] = get_checker(platform)
        return checker

    def rules_for(self, platform: str, rule_ids: Sequence[str] | set[str] | None = None) -> dict[str, dict[str, Any]]:
        """The rules (message rules and conversation checks) of a platform as they apply there, with
        their seed sources, by id; only `rule_ids` when given (a shop's own words have none)."""
        info = self._rule_info.get(platform)
        if info is None:
            from kefuguard.server.dashboard import rule_info

            info = self._rule_info[platform] = rule_info(self.platform_checker(platform), platform)
        if rule_ids is None:
            return dict(info)
        return {rid: info[rid] for rid in rule_ids if rid in info}

    def warm(self, platforms: Sequence[str]) -> None:
        """Build the platforms' checkers, then move them (and everything else alive at start) out
        of the cyclic collector's view: a full collection over six checkers takes ~40 ms, which
        would otherwise land on some unlucky request now and then."""
        from kefuguard.server.checking import run_checks

        for platform in platforms:
            try:
                checker = self.platform_checker(platform)
                # what loads on first use (the word segmenter: ~0.1 s), loaded now, not on a request
                run_checks(checker, [(text, None) for text in _WARM_TEXTS], want_rewrite=True, mask_char="*")
            except Exception:  # pragma: no cover - a broken rule pack shows on the first check
                log.exception("building the %s checker failed", platform)
        gc.collect()
        gc.freeze()
        self.warmed = True

    # ------------------------------------------------------------------ alerts
    @property
    def alerts(self) -> Any:
        """The alert dispatcher (started on first use: a thread with its own event loop)."""
        if self._alerts is None:
            with self._alerts_lock:
                if self._alerts is None:
                    from kefuguard.alerts.dispatcher import AlertDispatcher

                    self._alerts = AlertDispatcher(self.store.webhook_directory(), self.store.delivery_log())
        return self._alerts

    def submit_alerts(self, events: Sequence[Any]) -> None:
        """Hand events to the dispatcher; never blocks on I/O, never raises."""
        if not events:
            return
        try:
            dispatcher = self.alerts
            for event in events:
                dispatcher.submit(event)
        except Exception:  # alerts must never fail a request
            log.exception("submitting %d alert event(s) failed", len(events))

    def alert_checks(self, tenant_id: int, shop_id: int | None, platform: str, agent: int | str | None,
                     conversation_id: str | None, critical: Sequence[tuple[int, CheckResult]]) -> None:
        """Alert events for checked messages with a critical finding: built (masking, names) on a
        worker thread, so the request only pays for handing them over. A tenant known (for the last
        few seconds) to have no webhook costs nothing."""
        directory = self.store.webhook_directory()
        ours = not self._alerts_given or getattr(self._alerts, "directory", None) is directory
        if ours and directory.known_empty(str(tenant_id)):
            return
        with self._alerts_lock:
            if self._alert_pool is None:
                self._alert_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kefuguard-alert-events")
        with contextlib.suppress(RuntimeError):  # shutting down
            self._alert_pool.submit(self._alert_checks, tenant_id, shop_id, platform, agent, conversation_id,
                                    list(critical))

    def _alert_checks(self, tenant_id: int, shop_id: int | None, platform: str, agent: int | str | None,
                      conversation_id: str | None, critical: Sequence[tuple[int, CheckResult]]) -> None:
        try:
            from kefuguard.alerts.events import events_from_check

            shop = self.store.shop_label(tenant_id, shop_id) if shop_id is not None else ""
            if isinstance(agent, int):
                agent = self.store.agent_label(tenant_id, agent)
            events = []
            for _index, result in critical:
                events.extend(events_from_check(result, tenant=str(tenant_id), shop=shop, platform=platform,
                                                agent=agent, conversation_id=conversation_id,
                                                details={"source": "check"}))
        except Exception:
            log.exception("building alert events failed")
            return
        self.submit_alerts(events)

    # ------------------------------------------------------------------ lifecycle
    def flush_alerts(self, timeout: float = 5.0) -> None:
        """Wait until the alert events of earlier checks are handed to the dispatcher (tests)."""
        pool = self._alert_pool
        if pool is not None:
            pool.submit(lambda: None).result(timeout)

    def close(self) -> None:
        self.jobs.shutdown()
        if self._alert_pool is not None:
            self._alert_pool.shutdown(wait=True, cancel_futures=False)
        if self._alerts is not None and self._own_alerts:
            with contextlib.suppress(Exception):
                self._alerts.close(timeout=2.0)
        if self._own_db:
            self.store.db.dispose()


def create_app(
    database_url: str | None = None,
    *,
    config: ServerConfig | None = None,
    database: Any = None,
    alerts: Any = None,
    warm_platforms: Sequence[str] = (),
    **settings: Any,
) -> FastAPI:
    """The API as a FastAPI app.

    database_url: overrides KEFUGUARD_DATABASE_URL (default: the storage default, SQLite).
    config: a ServerConfig (default: from the environment, with `settings` as overrides, e.g.
        `create_app(rate_limit=5, max_batch=10)`).
    database: a storage `Database` to use instead of opening one (tests share theirs).
    alerts: an object with `submit(event)` (an AlertDispatcher), or a callable taking the app's
        Store and returning one; default: a dispatcher on the database's webhooks and deliveries,
        started on the first alert.
    warm_platforms: platforms whose checkers are built in the background at start.
    """
    from kefuguard.storage.db import Database

    if config is None:
        config = ServerConfig.from_env(database_url=database_url, **settings)
    elif database_url is not None or settings:
        config = config.with_(**({"database_url": database_url} if database_url else {}), **settings)
    own_db = database is None
    db = database if database is not None else Database(config.database_url)
    if config.migrate:
        db.upgrade()
    store = Store(db)
    try:
        store.fail_orphaned_runs()
    except Exception:  # a read-only or not yet migrated database: nothing to recover
        log.warning("could not check for audits interrupted by a restart", exc_info=True)
    own_alerts = alerts is not None and not hasattr(alerts, "submit") and callable(alerts)
    if own_alerts:
        alerts = alerts(store)
    ctx = Context(config, store, alerts=alerts, own_db=own_db, own_alerts=own_alerts)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if warm_platforms:
            threading.Thread(target=ctx.warm, args=(tuple(warm_platforms),), name="kefuguard-warm",
                             daemon=True).start()
        try:
            yield
        finally:
            ctx.close()

    app = FastAPI(
        title="kefuguard 客服质检 API",
        version=__version__,
        description=_DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.kefuguard = ctx
    install_error_handlers(app)
    app.add_middleware(EdgeMiddleware, ctx=ctx, max_body=config.max_body_bytes, max_upload=config.max_upload_bytes,
                       upload_paths=UPLOAD_PATHS)
    if config.cors_origins:
        from starlette.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(config.cors_origins), allow_credentials=False,
                           allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                           allow_headers=["Authorization", "X-API-Key", "Content-Type", "If-Match"],
                           expose_headers=["Retry-After", "ETag"])

    from kefuguard.server.routes import admin, assist, audits, check, dashboard, data, health, shops

    errors = {status: {"model": ErrorBody, "description": text} for status, text in (
        (401, "missing or bad API key"), (403, "the key's role may not do this"), (404, "not found (or another tenant's)"),
        (413, "body or batch too large"), (422, "invalid request"), (429, "rate limited (see Retry-After)"),
    )}
    app.include_router(health.router)
    for module in (check, shops, audits, data, admin, dashboard, assist):
        app.include_router(module.router, responses=errors)  # type: ignore[arg-type]
    if config.dashboard:
        from kefuguard.web import install as install_dashboard

        install_dashboard(app)  # the web dashboard at / (static pages on this API), kept out of the schema
    _document_security(app)
    return app


def _document_security(app: FastAPI) -> None:
    """Declare the two key headers in the OpenAPI schema (checked in code, not by FastAPI's
    security dependencies, which would cost every request a little)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        components = schema.setdefault("components", {})
        # /v1/check parses its body itself (the hot path): its schema is declared here
        check_schema = CheckRequest.model_json_schema(ref_template="#/components/schemas/{model}")
        components.setdefault("schemas", {}).update(check_schema.pop("$defs", {}))
        components["schemas"]["CheckRequest"] = check_schema
        check_op = schema["paths"]["/v1/check"]["post"]
        check_op["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/CheckRequest"}}}}
        components["securitySchemes"] = {
            "bearer": {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer <key>"},
            "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
        }
        for path, ops in schema.get("paths", {}).items():
            if path.startswith("/v1/"):
                for op in ops.values():
                    if isinstance(op, dict):
                        op["security"] = [{"bearer": []}, {"apiKey": []}]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
