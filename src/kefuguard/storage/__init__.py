"""Storage for the HTTP server: SQLAlchemy 2 models, Alembic migrations, and the operations on them.

SQLite by default (a file in the user's data folder), PostgreSQL for bigger teams — same code,
same migrations. Everything is scoped by tenant. The server creates one `Database`, calls
`upgrade()` at start, and uses `db.session()` per request:

    db = Database()                       # $KEFUGUARD_DATABASE_URL, else SQLite in the user data dir
    db.upgrade()
    with db.session() as s:
        tenant = create_tenant(s, "演示公司")
        key, plaintext = create_api_key(s, tenant.id, "admin")
    result = ingest_file(db, tenant.id, "chats.jsonl")      # idempotent, resumable, PII masked

This package sits above the engine and the importers; the engine never imports it.
"""

from kefuguard.storage.audit_results import record_audit_report
from kefuguard.storage.db import Database, default_url, downgrade, head_revision, normalize_url, upgrade
from kefuguard.storage.errors import (
    ImportInProgressError,
    NotFoundError,
    SettingsConflictError,
    StorageError,
)
from kefuguard.storage.ingest import DEFAULT_BATCH_SIZE, IngestResult, ingest_file, message_key
from kefuguard.storage.keys import authenticate, create_api_key, hash_key, list_api_keys, revoke_api_key
from kefuguard.storage.models import (
    Agent,
    AgentScore,
    AlertDelivery,
    AlertWebhook,
    ApiKey,
    AuditArtefact,
    AuditRun,
    Base,
    Conversation,
    Finding,
    ImportBatch,
    ImportReject,
    Message,
    Metric,
    Shop,
    ShopSettingsChange,
    ShopSettingsRecord,
    Tenant,
)
from kefuguard.storage.settings import get_shop_settings, put_shop_settings, settings_diff, settings_history
from kefuguard.storage.tenants import (
    create_tenant,
    get_or_create_agent,
    get_or_create_shop,
    get_shop,
    get_tenant,
    list_shops,
)
from kefuguard.storage.types import utcnow

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "Agent",
    "AgentScore",
    "AlertDelivery",
    "AlertWebhook",
    "ApiKey",
    "AuditArtefact",
    "AuditRun",
    "Base",
    "Conversation",
    "Database",
    "Finding",
    "ImportBatch",
    "ImportInProgressError",
    "ImportReject",
    "IngestResult",
    "Message",
    "Metric",
    "NotFoundError",
    "SettingsConflictError",
    "Shop",
    "ShopSettingsChange",
    "ShopSettingsRecord",
    "StorageError",
    "Tenant",
    "authenticate",
    "create_api_key",
    "create_tenant",
    "default_url",
    "downgrade",
    "get_or_create_agent",
    "get_or_create_shop",
    "get_shop",
    "get_shop_settings",
    "get_tenant",
    "hash_key",
    "head_revision",
    "ingest_file",
    "list_api_keys",
    "list_shops",
    "message_key",
    "normalize_url",
    "put_shop_settings",
    "record_audit_report",
    "revoke_api_key",
    "settings_diff",
    "settings_history",
    "upgrade",
    "utcnow",
]
