"""Service tables: users (hashed tokens), hash-chained audit log, outcomes, issued worklists.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("user_id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(120), nullable=False, unique=True),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("jurisdictions", sa.Text, nullable=False),
        sa.Column("portfolio", sa.Text, nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("revoked_at", sa.String(32)),
    )
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("entity_type", sa.String(32)),
        sa.Column("entity_id", sa.String(200)),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "outcomes",
        sa.Column("outcome_id", sa.String(64), primary_key=True),
        sa.Column("entity_type", sa.String(32), nullable=False),
        sa.Column("entity_id", sa.String(200), nullable=False),
        sa.Column("decided_on", sa.String(10), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("indicators_observed", sa.Text, nullable=False),
        sa.Column("issuing_body", sa.String(100)),
        sa.Column("exploration", sa.Boolean, nullable=False),
        sa.Column("worklist_id", sa.String(64)),
        sa.Column("recorded_by", sa.String(120), nullable=False),
        sa.Column("recorded_at", sa.String(32), nullable=False),
        sa.Column("landing_file", sa.String(300)),
    )
    op.create_table(
        "issued_worklists",
        sa.Column("worklist_id", sa.String(64), primary_key=True),
        sa.Column("entity_type", sa.String(32), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("issued_to", sa.String(120), nullable=False),
        sa.Column("issued_at", sa.String(32), nullable=False),
        sa.Column("params", sa.Text, nullable=False),
    )
    op.create_table(
        "worklist_items",
        sa.Column("worklist_id", sa.String(64), sa.ForeignKey("issued_worklists.worklist_id"), primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("entity_type", sa.String(32), nullable=False),
        sa.Column("entity_id", sa.String(200), nullable=False),
        sa.Column("exploration", sa.Boolean, nullable=False),
    )
    op.create_index("worklist_items_entity", "worklist_items", ["entity_type", "entity_id"])


def downgrade() -> None:
    for name in ("worklist_items", "issued_worklists", "outcomes", "audit_head", "audit_log", "users"):
        op.drop_table(name)
