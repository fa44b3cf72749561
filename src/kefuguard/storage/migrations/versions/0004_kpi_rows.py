"""KPI rows: the sales and after-sales KPIs of an audit run (issue 15) — per platform, shop and agent,
per day and for the whole run, with their threshold results.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-14

Frozen like 0001: the types are spelled out here, not imported from the models.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTS = ("consulted", "converted", "after_sales_consulted", "ordered", "paid", "silent_ordered", "orders",
          "paid_orders", "items", "refunds")
RATES = ("conversion_rate", "fulfilment_rate", "avg_order_value", "items_per_order", "handling_hours", "refund_hours",
         "quality_refund_rate", "dispute_rate")


def upgrade() -> None:
    op.create_table(
        "kpi_rows",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("day", sa.Date(), nullable=True),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS),
        sa.Column("sales", sa.Float(), nullable=False),
        sa.Column("silent_sales", sa.Float(), nullable=False),
        *(sa.Column(name, sa.Float(), nullable=True) for name in RATES),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.Column("results", JSON, nullable=False),
        sa.CheckConstraint("level IN ('platform', 'shop', 'agent')", name=op.f("ck_kpi_rows_level")),
        sa.CheckConstraint(
            "(level = 'platform' AND shop_id IS NULL AND agent_id IS NULL) OR "
            "(level = 'shop' AND shop_id IS NOT NULL AND agent_id IS NULL) OR "
            "(level = 'agent' AND shop_id IS NOT NULL AND agent_id IS NOT NULL)",
            name=op.f("ck_kpi_rows_level_ids"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "agent_id"],
            ["agents.tenant_id", "agents.id"],
            name=op.f("fk_kpi_rows_tenant_id_agent_id"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "run_id"],
            ["audit_runs.tenant_id", "audit_runs.id"],
            name=op.f("fk_kpi_rows_tenant_id_run_id"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "shop_id"],
            ["shops.tenant_id", "shops.id"],
            name=op.f("fk_kpi_rows_tenant_id_shop_id"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_kpi_rows_tenant_id"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kpi_rows")),
    )
    op.create_index(
        op.f("ix_kpi_rows_tenant_id_run_id_level_day"), "kpi_rows", ["tenant_id", "run_id", "level", "day"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_kpi_rows_tenant_id_run_id_level_day"), table_name="kpi_rows")
    op.drop_table("kpi_rows")
