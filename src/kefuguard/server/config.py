"""Server settings: defaults that work with no configuration, each overridable from the environment.

Environment variables (all optional):

    KEFUGUARD_DATABASE_URL        the storage default (SQLite in the user data dir) when unset
    KEFUGUARD_CORS_ORIGINS        comma-separated allowed origins; none (closed) by default
    KEFUGUARD_MAX_BODY_BYTES      JSON request bodies (default 1 MiB)
    KEFUGUARD_MAX_UPLOAD_BYTES    audit uploads (default 200 MiB)
    KEFUGUARD_MAX_BATCH           messages per /v1/check request (default 500)
    KEFUGUARD_RATE_LIMIT          requests per second per key (default 200; 0 turns limiting off)
    KEFUGUARD_RATE_BURST          bucket size (default 2 × the rate)
    KEFUGUARD_AUTH_CACHE_SECONDS  how long a key's lookup is reused (default 5)
    KEFUGUARD_SETTINGS_RECHECK_SECONDS  how often a cached shop checker asks the database for the
                                  stored settings version (default 1; other instances' changes
                                  show within this time, this instance's at once)
    KEFUGUARD_AUDIT_WORKERS       processes inside one audit (default 1)
    KEFUGUARD_AUDIT_JOBS          audits running at once (default 1)
    KEFUGUARD_DATA_DIR            where audit uploads and reports are kept (default: the user data dir)
    KEFUGUARD_WEBHOOK_HOSTS       comma-separated hosts alert webhooks may point at (default: the robots'
                                  own hosts, see ROBOT_HOSTS; `*` allows any host, e.g. a relay)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path


def _env(name: str) -> str | None:
    value = os.environ.get(name)
    return value.strip() if value and value.strip() else None


def default_data_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("kefuguard", appauthor=False)) / "server"


#: where 企业微信, 钉钉 and 飞书/Lark group robots live: by default a webhook may point nowhere else, so
#: a tenant cannot make the server post to internal addresses (server-side request forgery)
ROBOT_HOSTS = ("qyapi.weixin.qq.com", "oapi.dingtalk.com", "open.feishu.cn", "open.larksuite.com")


@dataclass(frozen=True)
class ServerConfig:
    """Everything create_app() takes besides the database; frozen: one app, one config."""

    database_url: str | None = None
    cors_origins: tuple[str, ...] = ()
    max_body_bytes: int = 1 << 20
    max_upload_bytes: int = 200 << 20
    max_batch: int = 500
    rate_limit: float = 200.0  # requests per second per key; 0: off
    rate_burst: float | None = None  # None: 2 × rate_limit
    auth_cache_seconds: float = 5.0
    settings_recheck_seconds: float = 1.0
    audit_workers: int = 1  # processes inside one audit (AuditOptions.workers)
    audit_jobs: int = 1  # audits running at once
    audit_process: bool = True  # run audits in a spawned worker process (False: a thread of the server)
    data_dir: Path | None = None
    migrate: bool = True  # bring the database schema to head at start
    page_limit_max: int = 500
    dashboard: bool = True  # serve the web dashboard (kefuguard.web) at /
    webhook_hosts: tuple[str, ...] = ROBOT_HOSTS  # ("*",): any host

    def webhook_host_allowed(self, host: str | None) -> bool:
        return "*" in self.webhook_hosts or (host or "").lower().rstrip(".") in self.webhook_hosts

    @property
    def burst(self) -> float:
        return self.rate_burst if self.rate_burst is not None else max(1.0, 2 * self.rate_limit)

    @property
    def audit_dir(self) -> Path:
        return (self.data_dir or default_data_dir()) / "audits"

    @classmethod
    def from_env(cls, **overrides) -> ServerConfig:
        """Defaults, then KEFUGUARD_* variables, then the keyword arguments that are not None."""
        values: dict = {}
        if (url := _env("KEFUGUARD_DATABASE_URL")) is not None:
            values["database_url"] = url
        if (origins := _env("KEFUGUARD_CORS_ORIGINS")) is not None:
            values["cors_origins"] = tuple(o.strip() for o in origins.split(",") if o.strip())
        numeric = {
            "KEFUGUARD_MAX_BODY_BYTES": ("max_body_bytes", int),
            "KEFUGUARD_MAX_UPLOAD_BYTES": ("max_upload_bytes", int),
            "KEFUGUARD_MAX_BATCH": ("max_batch", int),
            "KEFUGUARD_RATE_LIMIT": ("rate_limit", float),
            "KEFUGUARD_RATE_BURST": ("rate_burst", float),
            "KEFUGUARD_AUTH_CACHE_SECONDS": ("auth_cache_seconds", float),
            "KEFUGUARD_SETTINGS_RECHECK_SECONDS": ("settings_recheck_seconds", float),
            "KEFUGUARD_AUDIT_WORKERS": ("audit_workers", int),
            "KEFUGUARD_AUDIT_JOBS": ("audit_jobs", int),
        }
        for env, (name, kind) in numeric.items():
            raw = _env(env)
            if raw is not None:
                try:
                    values[name] = kind(raw)
                except ValueError:
                    raise ValueError(f"{env}={raw!r}: 须为数字 / must be a number") from None
        if (hosts := _env("KEFUGUARD_WEBHOOK_HOSTS")) is not None:
            values["webhook_hosts"] = tuple(h.strip().lower() for h in hosts.split(",") if h.strip())
        if (data := _env("KEFUGUARD_DATA_DIR")) is not None:
            values["data_dir"] = Path(data)
        known = {f.name for f in fields(cls)}
        for name, value in overrides.items():
            if name not in known:
                raise TypeError(f"unknown server setting {name!r}")
            if value is not None:
                values[name] = value
        return cls(**values)

    def with_(self, **changes) -> ServerConfig:
        return replace(self, **changes)
