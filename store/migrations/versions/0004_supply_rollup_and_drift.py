"""Supply-chain roll-up per buyer portfolio and tier-1 supplier, and drift per score run and entity type.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "supply_rollup",
        sa.Column("run_id", sa.String(64), sa.ForeignKey("score_runs.run_id"), primary_key=True),
        sa.Column("buyer_id", sa.String(64), primary_key=True),
        sa.Column("supplier_id", sa.String(200), primary_key=True),
        sa.Column("supplier_name", sa.String(300)),
        sa.Column("own_probability", sa.Float),
        sa.Column("own_band", sa.String(16)),
        sa.Column("rollup_max", sa.Float),
        sa.Column("rollup_weighted", sa.Float),
        sa.Column("high_risk", sa.Integer, nullable=False),
        sa.Column("tier2_suppliers", sa.Integer, nullable=False),
        sa.Column("rank", sa.Integer, nullable=False),
        sa.Column("top_path", sa.Text),
        sa.Column("paths", sa.Text, nullable=False),
    )
    op.create_table(
        "model_drift",
        sa.Column("run_id", sa.String(64), sa.ForeignKey("score_runs.run_id"), primary_key=True),
        sa.Column("entity_type", sa.String(32), primary_key=True),
        sa.Column("model_id", sa.String(120), nullable=False),
        sa.Column("as_of", sa.String(10), nullable=False),
        sa.Column("reference_as_of", sa.String(10)),
        sa.Column("max_psi", sa.Float),
        sa.Column("score_psi", sa.Float),
        sa.Column("threshold", sa.Float, nullable=False),
        sa.Column("flagged", sa.Boolean, nullable=False),
        sa.Column("retraining_due", sa.Boolean, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("model_drift")
    op.drop_table("supply_rollup")
