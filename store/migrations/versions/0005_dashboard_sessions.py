"""Dashboard sessions: the sign-in cookie holds a random session id; the store keeps its HMAC, the user and the
expiry, and signing out deletes the row.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dashboard_sessions",
        sa.Column("session_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(32), sa.ForeignKey("users.user_id"), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("expires_at", sa.String(32), nullable=False),
    )
    op.create_index("dashboard_sessions_expiry", "dashboard_sessions", ["expires_at"])


def downgrade() -> None:
    op.drop_index("dashboard_sessions_expiry", "dashboard_sessions")
    op.drop_table("dashboard_sessions")
