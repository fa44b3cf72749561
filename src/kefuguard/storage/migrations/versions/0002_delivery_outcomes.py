"""Alert deliveries keep the dispatcher's own outcomes: deduplicated and rate_limited besides
pending, sending, sent and failed (they were stored as failed with the outcome in last_error).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = "status IN ('pending', 'sending', 'sent', 'failed')"
NEW = "status IN ('pending', 'sending', 'sent', 'failed', 'deduplicated', 'rate_limited')"


def _swap(check: str) -> None:
    with op.batch_alter_table("alert_deliveries") as batch:  # SQLite rebuilds the table
        batch.drop_constraint(op.f("ck_alert_deliveries_status"), type_="check")
        batch.create_check_constraint(op.f("ck_alert_deliveries_status"), sa.text(check))


def upgrade() -> None:
    deliveries = sa.table("alert_deliveries", sa.column("status", sa.String), sa.column("last_error", sa.Text))
    _swap(NEW)
    for outcome in ("deduplicated", "rate_limited"):
        op.execute(
            deliveries.update()
            .where(deliveries.c.status == "failed", deliveries.c.last_error.like(f"{outcome}%"))
            .values(status=outcome)
        )


def downgrade() -> None:
    deliveries = sa.table("alert_deliveries", sa.column("status", sa.String))
    op.execute(
        deliveries.update().where(deliveries.c.status.in_(("deduplicated", "rate_limited"))).values(status="failed")
    )
    _swap(OLD)
