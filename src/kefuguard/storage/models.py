"""The tables: typed SQLAlchemy 2 declarative models, one per stored thing.

Every row carries `tenant_id`, so the server can scope each query by the caller's tenant. Rows
that point at another row of a tenant do so through a composite foreign key (tenant_id, id): the
database itself refuses a message filed under another tenant's conversation, whatever a query
forgets. Plain foreign-key columns, no ORM relationships: queries say which join they want, and
nothing loads a tenant's million messages by accident.

Enumerations are strings with CHECK constraints (portable, and a new value is a small migration);
JSON columns are jsonb on PostgreSQL and JSON text on SQLite; timestamps are aware UTC
(`UTCDateTime`). The schema itself is created by the Alembic migrations in `migrations/`, never
by `create_all`; a test holds the two identical.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from kefuguard.storage.types import BigId, JSONType, UTCDateTime, utcnow

ROLES = ("admin", "supervisor", "agent")
MESSAGE_ROLES = ("buyer", "agent", "bot", "system")
SEVERITIES = ("critical", "major", "minor", "info")
RUN_STATUSES = ("queued", "running", "done", "failed")
IMPORT_STATUSES = ("running", "done", "failed")
WEBHOOK_KINDS = ("wecom", "dingtalk", "feishu")
DELIVERY_STATUSES = ("pending", "sending", "sent", "failed", "deduplicated", "rate_limited")
QUIZ_STATUSES = ("open", "graded")
KPI_LEVELS = ("platform", "shop", "agent")
#: the KpiRow fields kpi_rows keeps in columns of the same names
KPI_FIELDS = ("consulted", "converted", "after_sales_consulted", "ordered", "paid", "silent_ordered", "orders",
              "paid_orders", "items", "refunds", "sales", "silent_sales", "conversion_rate", "fulfilment_rate",
              "avg_order_value", "items_per_order", "handling_hours", "refund_hours", "quality_refund_rate",
              "dispute_rate")

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s",
    "pk": "pk_%(table_name)s",
}


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dt.datetime: UTCDateTime(), dict[str, Any]: JSONType, list[Any]: JSONType}


def _tenant_fk() -> Mapped[int]:
    return mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))


def _created() -> Mapped[dt.datetime]:
    return mapped_column(default=utcnow)


def _in_tenant(column: str, table: str, *, ondelete: str | None = "CASCADE") -> ForeignKeyConstraint:
    """(tenant_id, <column>) → <table>(tenant_id, id): the referenced row is in the same tenant."""
    return ForeignKeyConstraint(["tenant_id", column], [f"{table}.tenant_id", f"{table}.id"], ondelete=ondelete)


# ---------------------------------------------------------------- tenants, shops, people


class Tenant(Base):
    """A customer of the server (a shop group or an outsourcing firm); owns everything else."""

    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    #: mask buyer phone/ID numbers and addresses in stored messages and rejects (default: yes)
    mask_pii: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[dt.datetime] = _created()


class Shop(Base):
    """A shop on one platform; `external_id` is what exports call it (often its display name)."""

    __tablename__ = "shops"
    __table_args__ = (
        UniqueConstraint("tenant_id", "platform", "external_id"),
        UniqueConstraint("tenant_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = _tenant_fk()
    platform: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = _created()


class Agent(Base):
    """A customer-service agent of one shop, as the exports identify them."""

    __tablename__ = "agents"
    __table_args__ = (
        UniqueConstraint("tenant_id", "shop_id", "external_id"),
        UniqueConstraint("tenant_id", "id"),
        _in_tenant("shop_id", "shops"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = _tenant_fk()
    shop_id: Mapped[int] = mapped_column(Integer)
    external_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = _created()


class ApiKey(Base):
    """A key the server accepts; only a hash is stored, the plaintext is shown once at creation.

    `prefix` (random, not secret) finds the row; `key_hash` is the SHA-256 of the whole key (the
    key has 256 random bits, so a slow hash would add nothing but latency per request). An agent
    key belongs to one agent (who may see only their own conversations); admin and supervisor
    keys belong to no agent.
    """

    __tablename__ = "api_keys"
    __table_args__ = (
        CheckConstraint(_one_of("role", ROLES), name="role"),
        CheckConstraint(
            "(role = 'agent' AND agent_id IS NOT NULL) OR (role <> 'agent' AND agent_id IS NULL)", name="agent_role"
        ),
        _in_tenant("agent_id", "agents"),
        Index(None, "tenant_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = _tenant_fk()
    role: Mapped[str] = mapped_column(String(20))
    agent_id: Mapped[int | None] = mapped_column(Integer)
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    label: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = _created()
    revoked_at: Mapped[dt.datetime | None]


# ---------------------------------------------------------------- chat logs


class ImportBatch(Base):
    """One import of one file, and how far it got.

    `position` counts the file's rows (messages and rejects, in file order) whose batch has been
    committed; the counters cover exactly those rows. A process killed mid-import leaves the row
    'running' with the last committed position, and the same import run again resumes there.
    `owner` (host:pid) tells a live import from an abandoned one.
    """

    __tablename__ = "import_batches"
    __table_args__ = (
        CheckConstraint(_one_of("status", IMPORT_STATUSES), name="status"),
        UniqueConstraint("tenant_id", "id"),
        Index(None, "tenant_id", "file_sha256", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = _tenant_fk()
    filename: Mapped[str] = mapped_column(String(500))
    file_sha256: Mapped[str] = mapped_column(String(64))
    file_size: Mapped[int] = mapped_column(BigInteger, default=0)
    #: platform/shop defaults, column mapping, encoding: what the rows were read with
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    options_key: Mapped[str] = mapped_column(String(64))
    format: Mapped[str] = mapped_column(String(20), default="")
    encoding: Mapped[str] = mapped_column(String(40), default="")
    status: Mapped[str] = mapped_column(String(20), default="running")
    position: Mapped[int] = mapped_column(BigInteger, default=0)
    read: Mapped[int] = mapped_column(Integer, default=0)
    added: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    bytes_read: Mapped[int] = mapped_column(BigInteger, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = _created()
    updated_at: Mapped[dt.datetime] = _created()
    finished_at: Mapped[dt.datetime | None]


class ImportReject(Base):
    """A row of an import that did not become a message: where it was, why, and the row (masked)."""

    __tablename__ = "import_rejects"
    __table_args__ = (
        UniqueConstraint("import_id", "seq"),
        _in_tenant("import_id", "import_batches"),
        Index(None, "tenant_id", "import_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = _tenant_fk()
    import_id: Mapped[int] = mapped_column(Integer)
    #: the row's position in its file (see ImportBatch.position): resuming never stores a reject twice
    seq: Mapped[int] = mapped_column(BigInteger)
    file: Mapped[str] = mapped_column(String(500))
    sheet: Mapped[str] = mapped_column(String(200), default="")
    line: Mapped[int] = mapped_column(Integer)
    #: the field the reason names (sent_at, text …), when it names one
    field: Mapped[str | None] = mapped_column(String(50))
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[str] = mapped_column(Text, default="")


class Conversation(Base):
    """A conversation of one buyer with one shop; `message_count`/times follow the stored messages."""

    __tablename__ = "conversations"
    __table_args__ = (
        UniqueConstraint("tenant_id", "shop_id", "external_id"),
        UniqueConstraint("tenant_id", "id"),
        _in_tenant("shop_id", "shops"),
        Index(None, "tenant_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = _tenant_fk()
    shop_id: Mapped[int] = mapped_column(Integer)
    external_id: Mapped[str] = mapped_column(String(200))
    buyer_id: Mapped[str] = mapped_column(String(200), default="")
    message_count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    started_at: Mapped[dt.datetime | None]
    last_message_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = _created()


class Message(Base):
    """One chat message. `natural_key` (unique per tenant) makes re-imports add nothing.

    The key hashes shop, platform, conversation, time, sender and the *masked* text, so it never
    encodes a phone number that masking removed, and stays the same whether a tenant masks or not.
    """

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("tenant_id", "natural_key"),
        UniqueConstraint("tenant_id", "id"),
        CheckConstraint(_one_of("role", MESSAGE_ROLES), name="role"),
        _in_tenant("conversation_id", "conversations"),
        _in_tenant("shop_id", "shops"),
        _in_tenant("agent_id", "agents", ondelete=None),
        ForeignKeyConstraint(["import_id"], ["import_batches.id"], ondelete="SET NULL"),
        Index(None, "tenant_id", "conversation_id", "sent_at"),
        Index(None, "tenant_id", "shop_id", "sent_at"),
        Index(None, "tenant_id", "agent_id", "sent_at"),
        Index(None, "import_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = _tenant_fk()
    conversation_id: Mapped[int] = mapped_column(BigInteger)
    shop_id: Mapped[int] = mapped_column(Integer)
    agent_id: Mapped[int | None] = mapped_column(Integer)
    import_id: Mapped[int | None] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(10))
    sent_at: Mapped[dt.datetime]
    text: Mapped[str] = mapped_column(Text)
    quick_reply: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    auto_reply: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    buyer_reported: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    order_time: Mapped[dt.datetime | None]
    paid_amount: Mapped[float | None] = mapped_column(Float)
    #: file:line (or file[sheet]:line) it was read from
    source: Mapped[str] = mapped_column(String(700), default="")
    natural_key: Mapped[str] = mapped_column(String(64))


# ---------------------------------------------------------------- audits


class AuditRun(Base):
    """One audit the server ran (or is running): state, progress and headline counts."""

    __tablename__ = "audit_runs"
    __table_args__ = (
        CheckConstraint(_one_of("status", RUN_STATUSES), name="status"),
        CheckConstraint("progress >= 0 AND progress <= 1", name="progress"),
        UniqueConstraint("tenant_id", "id"),
        _in_tenant("shop_id", "shops"),
        Index(None, "tenant_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = _tenant_fk()
    shop_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="queued")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    #: what was audited and how (date range, shops, options), as the server received it
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    conversations: Mapped[int] = mapped_column(Integer, default=0)
    messages: Mapped[int] = mapped_column(Integer, default=0)
    findings: Mapped[int] = mapped_column(Integer, default=0)
    #: anything else worth keeping from the report (by category/severity, exposure …)
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = _created()
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]


class AuditArtefact(Base):
    """A report file of a run (HTML, JSON, XLSX, findings/rejects CSV): bytes in the row, or a path."""

    __tablename__ = "audit_artefacts"
    __table_args__ = (
        UniqueConstraint("run_id", "kind"),
        CheckConstraint("content IS NOT NULL OR path IS NOT NULL", name="content_or_path"),
        _in_tenant("run_id", "audit_runs"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = _tenant_fk()
    run_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(40))
    filename: Mapped[str] = mapped_column(String(300))
    media_type: Mapped[str] = mapped_column(String(100), default="application/octet-stream")
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    path: Mapped[str | None] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[dt.datetime] = _created()


class Finding(Base):
    """One finding of a run: a message rule broken (with offsets) or a conversation check failed."""

    __tablename__ = "findings"
    __table_args__ = (
        CheckConstraint(_one_of("severity", SEVERITIES), name="severity"),
        _in_tenant("run_id", "audit_runs"),
        _in_tenant("conversation_id", "conversations"),
        _in_tenant("message_id", "messages"),
        Index(None, "tenant_id", "run_id"),
        Index(None, "tenant_id", "conversation_id"),
        Index(None, "tenant_id", "message_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = _tenant_fk()
    run_id: Mapped[int] = mapped_column(Integer)
    conversation_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(20), default="message")
    rule_id: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(50))
    severity: Mapped[str] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(String(300), default="")
    start_offset: Mapped[int | None] = mapped_column(Integer)
    end_offset: Mapped[int | None] = mapped_column(Integer)
    #: the matched text, masked unless the tenant turned masking off
    matched: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[str] = mapped_column(Text, default="")
    suggestion: Mapped[str] = mapped_column(Text, default="")
    penalty: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


class Metric(Base):
    """A platform metric of a run for a shop (and optionally an agent and a day) against its threshold."""

    __tablename__ = "metrics"
    __table_args__ = (
        _in_tenant("run_id", "audit_runs"),
        _in_tenant("shop_id", "shops"),
        _in_tenant("agent_id", "agents", ondelete=None),
        Index(None, "tenant_id", "run_id", "shop_id", "day"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = _tenant_fk()
    run_id: Mapped[int] = mapped_column(Integer)
    shop_id: Mapped[int] = mapped_column(Integer)
    agent_id: Mapped[int | None] = mapped_column(Integer)
    #: None: the whole period of the run
    day: Mapped[dt.date | None] = mapped_column(Date)
    metric_id: Mapped[str] = mapped_column(String(100))
    value: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float | None] = mapped_column(Float)
    passed: Mapped[bool | None] = mapped_column(Boolean)
    #: title, comparison, numerator/denominator, unit, fine, note
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class AgentScore(Base):
    """An agent's score in a run (agent_id None: the 未分配 row of conversations without an agent)."""

    __tablename__ = "agent_scores"
    __table_args__ = (
        _in_tenant("run_id", "audit_runs"),
        _in_tenant("shop_id", "shops"),
        _in_tenant("agent_id", "agents", ondelete=None),
        Index(None, "tenant_id", "run_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = _tenant_fk()
    run_id: Mapped[int] = mapped_column(Integer)
    shop_id: Mapped[int] = mapped_column(Integer)
    agent_id: Mapped[int | None] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    rank: Mapped[int] = mapped_column(Integer, default=0)
    conversations: Mapped[int] = mapped_column(Integer, default=0)
    messages: Mapped[int] = mapped_column(Integer, default=0)
    findings: Mapped[int] = mapped_column(Integer, default=0)
    #: findings by severity/category, min score, mean first response …
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Kpi(Base):
    """A sales/after-sales KPI row of a run (issue 15, `kefuguard.conversation.results.KpiRow`): one
    platform, shop or agent on one day (day None: the run's whole period), with its threshold results.

    A platform row names no shop, a shop row no agent, an agent row both (a CHECK holds the three apart).
    """

    __tablename__ = "kpi_rows"
    __table_args__ = (
        CheckConstraint(_one_of("level", KPI_LEVELS), name="level"),
        CheckConstraint(
            "(level = 'platform' AND shop_id IS NULL AND agent_id IS NULL) OR "
            "(level = 'shop' AND shop_id IS NOT NULL AND agent_id IS NULL) OR "
            "(level = 'agent' AND shop_id IS NOT NULL AND agent_id IS NOT NULL)",
            name="level_ids",
        ),
        _in_tenant("run_id", "audit_runs"),
        _in_tenant("shop_id", "shops"),
        _in_tenant("agent_id", "agents", ondelete=None),
        Index(None, "tenant_id", "run_id", "level", "day"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = _tenant_fk()
    run_id: Mapped[int] = mapped_column(Integer)
    level: Mapped[str] = mapped_column(String(10))
    platform: Mapped[str] = mapped_column(String(20))
    shop_id: Mapped[int | None] = mapped_column(Integer)
    agent_id: Mapped[int | None] = mapped_column(Integer)
    #: None: the whole period of the run
    day: Mapped[dt.date | None] = mapped_column(Date)
    #: buyers (distinct per shop) and orders
    consulted: Mapped[int] = mapped_column(Integer, default=0)
    converted: Mapped[int] = mapped_column(Integer, default=0)
    after_sales_consulted: Mapped[int] = mapped_column(Integer, default=0)
    ordered: Mapped[int] = mapped_column(Integer, default=0)
    paid: Mapped[int] = mapped_column(Integer, default=0)
    silent_ordered: Mapped[int] = mapped_column(Integer, default=0)
    orders: Mapped[int] = mapped_column(Integer, default=0)
    paid_orders: Mapped[int] = mapped_column(Integer, default=0)
    items: Mapped[int] = mapped_column(Integer, default=0)
    refunds: Mapped[int] = mapped_column(Integer, default=0)
    #: yuan
    sales: Mapped[float] = mapped_column(Float, default=0.0)
    silent_sales: Mapped[float] = mapped_column(Float, default=0.0)
    #: rates as 0–1 fractions, hours, yuan; None where the denominator is zero
    conversion_rate: Mapped[float | None] = mapped_column(Float)
    fulfilment_rate: Mapped[float | None] = mapped_column(Float)
    avg_order_value: Mapped[float | None] = mapped_column(Float)
    items_per_order: Mapped[float | None] = mapped_column(Float)
    handling_hours: Mapped[float | None] = mapped_column(Float)
    refund_hours: Mapped[float | None] = mapped_column(Float)
    quality_refund_rate: Mapped[float | None] = mapped_column(Float)
    dispute_rate: Mapped[float | None] = mapped_column(Float)
    #: every threshold judged on the row passed (False: one failed; None: none judged)
    passed: Mapped[bool | None] = mapped_column(Boolean)
    #: the thresholds judged: [{metric, title, value, threshold, comparison, passed, numerator, denominator, note}]
    results: Mapped[list[Any]] = mapped_column(default=list)


# ---------------------------------------------------------------- shop settings


class ShopSettingsRecord(Base):
    """The current settings of a shop (kefuguard.shop.ShopSettings as JSON) and their version."""

    __tablename__ = "shop_settings"
    __table_args__ = (UniqueConstraint("tenant_id", "shop_id"), _in_tenant("shop_id", "shops"))

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = _tenant_fk()
    shop_id: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    settings: Mapped[dict[str, Any]]
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[dt.datetime] = _created()


class ShopSettingsChange(Base):
    """One change of a shop's settings: who, when, and what changed (a JSON diff)."""

    __tablename__ = "shop_settings_changes"
    __table_args__ = (
        UniqueConstraint("tenant_id", "shop_id", "version"),
        _in_tenant("shop_id", "shops"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = _tenant_fk()
    shop_id: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    who: Mapped[str] = mapped_column(String(200))
    at: Mapped[dt.datetime] = _created()
    #: [{"op": "add"|"remove"|"change", "path": "banned_words", "value"|"old"/"new": …}]
    diff: Mapped[list[Any]] = mapped_column(default=list)


# ---------------------------------------------------------------- alerts


class AlertWebhook(Base):
    """A group-chat robot (WeCom, DingTalk, Feishu) alerts are posted to; `secret` signs requests."""

    __tablename__ = "alert_webhooks"
    __table_args__ = (
        CheckConstraint(_one_of("kind", WEBHOOK_KINDS), name="kind"),
        UniqueConstraint("tenant_id", "id"),
        Index(None, "tenant_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = _tenant_fk()
    kind: Mapped[str] = mapped_column(String(20))
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str | None] = mapped_column(String(500))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    label: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = _created()


class AlertDelivery(Base):
    """One alert to one webhook. (webhook, event_key) is unique: an event is never posted twice."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (
        CheckConstraint(_one_of("status", DELIVERY_STATUSES), name="status"),
        UniqueConstraint("webhook_id", "event_key"),
        _in_tenant("webhook_id", "alert_webhooks"),
        Index(None, "tenant_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = _tenant_fk()
    webhook_id: Mapped[int] = mapped_column(Integer)
    event_key: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = _created()
    sent_at: Mapped[dt.datetime | None]


# ---------------------------------------------------------------- training


class QuizResult(Base):
    """A rules quiz the server handed out (GET /v1/quiz) and, once answered, its graded result.

    The questions are not stored: a quiz is rebuilt from (platform, exam, generated, seed), which is
    deterministic, so the server grades exactly what it handed out, and each quiz is graded once.
    `agent_id` is the agent key's agent; None for a supervisor's (or admin's) practice run, which
    only the key that fetched it (`key_id`) may answer.
    """

    __tablename__ = "quiz_results"
    __table_args__ = (
        CheckConstraint(_one_of("status", QUIZ_STATUSES), name="status"),
        CheckConstraint("score IS NULL OR (score >= 0 AND score <= total)", name="score"),
        _in_tenant("agent_id", "agents"),
        Index(None, "tenant_id", "agent_id", "graded_at"),
        Index(None, "tenant_id", "graded_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = _tenant_fk()
    agent_id: Mapped[int | None] = mapped_column(Integer)
    #: the API key that fetched the quiz (no foreign key: keys are revoked, and the result stays)
    key_id: Mapped[int | None] = mapped_column(Integer)
    taken_by: Mapped[str] = mapped_column(String(200), default="")
    platform: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200), default="")
    exam: Mapped[bool] = mapped_column(Boolean, default=True)
    generated: Mapped[int] = mapped_column(Integer, default=0)
    seed: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(20), default="open")
    #: questions in the quiz
    total: Mapped[int] = mapped_column(Integer, default=0)
    score: Mapped[int | None] = mapped_column(Integer)
    percent: Mapped[float | None] = mapped_column(Float)
    #: once graded: right answers by question kind, and each question's given and correct answer
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = _created()
    graded_at: Mapped[dt.datetime | None]


__all__ = [
    "Agent",
    "AgentScore",
    "AlertDelivery",
    "AlertWebhook",
    "ApiKey",
    "AuditArtefact",
    "AuditRun",
    "Base",
    "Conversation",
    "Finding",
    "ImportBatch",
    "ImportReject",
    "Kpi",
    "Message",
    "Metric",
    "QuizResult",
    "Shop",
    "ShopSettingsChange",
    "ShopSettingsRecord",
    "Tenant",
]
