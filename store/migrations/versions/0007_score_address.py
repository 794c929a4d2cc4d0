"""Scores carry the organisation's address (features/profiles.py): scores.address, nullable (official desks have
none, and rows published before this revision keep none).

Added only where missing: a store adopted from tables created with the current declaration has it already.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _has_address() -> bool:
    columns = sa.inspect(op.get_bind()).get_columns("scores")  # a new inspector: no cached answer
    return any(c["name"] == "address" for c in columns)


def upgrade() -> None:
    if not _has_address():
        op.add_column("scores", sa.Column("address", sa.String(500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("scores") as batch:
        batch.drop_column("address")
