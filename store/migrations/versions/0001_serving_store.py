"""Serving store: score runs, published pointers, scores, scope keys, model registry.

Stores written before migrations existed already have these tables (created by ``metadata.create_all``); they
are adopted as they are.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _missing(name: str) -> bool:
    return not sa.inspect(op.get_bind()).has_table(name)


def upgrade() -> None:
    if _missing("score_runs"):
        op.create_table(
            "score_runs",
            sa.Column("run_id", sa.String(64), primary_key=True),
            sa.Column("as_of", sa.String(10), nullable=False),
            sa.Column("created_at", sa.String(32), nullable=False),
            sa.Column("entity_types", sa.Text, nullable=False),
            sa.Column("rows", sa.Integer, nullable=False),
            sa.Column("model_ids", sa.Text, nullable=False),
        )
    if _missing("published"):
        op.create_table(
            "published",
            sa.Column("entity_type", sa.String(32), primary_key=True),
            sa.Column("run_id", sa.String(64), sa.ForeignKey("score_runs.run_id"), nullable=False),
            sa.Column("published_at", sa.String(32), nullable=False),
        )
    if _missing("scores"):
        op.create_table(
            "scores",
            sa.Column("run_id", sa.String(64), sa.ForeignKey("score_runs.run_id"), primary_key=True),
            sa.Column("entity_type", sa.String(32), primary_key=True),
            sa.Column("entity_id", sa.String(200), primary_key=True),
            sa.Column("name", sa.String(300)),
            sa.Column("country", sa.String(100)),
            sa.Column("region", sa.String(100)),
            sa.Column("sector", sa.String(100)),
            sa.Column("probability", sa.Float, nullable=False),
            sa.Column("band", sa.String(16), nullable=False),
            sa.Column("rank", sa.Integer, nullable=False),
            sa.Column("rank_in_region", sa.Integer, nullable=False),
            sa.Column("red_flags", sa.Integer, nullable=False),
            sa.Column("model_id", sa.String(120), nullable=False),
            sa.Column("as_of", sa.String(10), nullable=False),
            sa.Column("reasons", sa.Text, nullable=False),
            sa.Column("base_value", sa.Float),
            sa.Column("raw_score", sa.Float),
        )
        op.create_index("scores_rank", "scores", ["run_id", "entity_type", "rank"])
        op.create_index("scores_entity", "scores", ["entity_type", "entity_id"])
    if _missing("score_scope"):
        op.create_table(
            "score_scope",
            sa.Column("run_id", sa.String(64), sa.ForeignKey("score_runs.run_id"), nullable=False),
            sa.Column("entity_type", sa.String(32), nullable=False),
            sa.Column("entity_id", sa.String(200), nullable=False),
            sa.Column("kind", sa.String(16), nullable=False),
            sa.Column("value", sa.String(200), nullable=False),
        )
        op.create_index("scope_lookup", "score_scope", ["run_id", "entity_type", "kind", "value"])
        op.create_index("scope_entity", "score_scope", ["run_id", "entity_type", "entity_id"])
    if _missing("models"):
        op.create_table(
            "models",
            sa.Column("model_id", sa.String(120), primary_key=True),
            sa.Column("entity_type", sa.String(32), nullable=False),
            sa.Column("status", sa.String(16), nullable=False),
            sa.Column("trained_as_of", sa.String(10), nullable=False),
            sa.Column("strategy", sa.String(32), nullable=False),
            sa.Column("metrics", sa.Text, nullable=False),
            sa.Column("gate", sa.Text, nullable=False),
            sa.Column("card", sa.Text, nullable=False),
            sa.Column("updated_at", sa.String(32), nullable=False),
        )


def downgrade() -> None:
    for name in ("models", "score_scope", "scores", "published", "score_runs"):
        op.drop_table(name)
