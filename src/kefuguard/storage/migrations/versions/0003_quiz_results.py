"""Quiz results: the rules quizzes the server hands out (GET /v1/quiz) and their graded results,
per tenant and agent.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07

Frozen like 0001: the types are spelled out here, not imported from the models.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "quiz_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("key_id", sa.Integer(), nullable=True),
        sa.Column("taken_by", sa.String(length=200), nullable=False),
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("exam", sa.Boolean(), nullable=False),
        sa.Column("generated", sa.Integer(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("percent", sa.Float(), nullable=True),
        sa.Column("detail", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("graded_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('open', 'graded')", name=op.f("ck_quiz_results_status")),
        sa.CheckConstraint("score IS NULL OR (score >= 0 AND score <= total)", name=op.f("ck_quiz_results_score")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "agent_id"],
            ["agents.tenant_id", "agents.id"],
            name=op.f("fk_quiz_results_tenant_id_agent_id"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_quiz_results_tenant_id"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quiz_results")),
    )
    op.create_index(
        op.f("ix_quiz_results_tenant_id_agent_id_graded_at"),
        "quiz_results",
        ["tenant_id", "agent_id", "graded_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_quiz_results_tenant_id_graded_at"), "quiz_results", ["tenant_id", "graded_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_quiz_results_tenant_id_graded_at"), table_name="quiz_results")
    op.drop_index(op.f("ix_quiz_results_tenant_id_agent_id_graded_at"), table_name="quiz_results")
    op.drop_table("quiz_results")
