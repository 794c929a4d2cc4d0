"""The published store's tables, declared once: what scoring publishes (score runs, their rows and scope keys, the
model registry, supply roll-ups, drift) and what the service writes while answering reads (users, the audit log,
outcomes, issued worklists, dashboard sessions). Alembic's migrations in ``store/migrations`` build this schema.

On SQLite the service's tables live in a second database file next to the store (``store.engine.service_database``),
attached to every connection under the schema name ``service``: SQLite has one write lock per file, so a publish
holding the store's lock never delays an audited read, a worklist's issuance or an outcome. Statements name those
tables without a schema: SQLite finds a table that is not in the main database in the attached one. On PostgreSQL
(row locks) every table stays in the one database.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

metadata = sa.MetaData()

score_runs = sa.Table(
    "score_runs",
    metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("as_of", sa.String(10), nullable=False),  # ISO date the features were built as of
    sa.Column("created_at", sa.String(32), nullable=False),  # ISO UTC timestamp
    sa.Column("entity_types", sa.Text, nullable=False),  # JSON list
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("model_ids", sa.Text, nullable=False),  # JSON {entity_type: model id or "rule-baseline"}
)

# Which run the service reads, per entity type: swapped inside the publishing transaction.
published = sa.Table(
    "published",
    metadata,
    sa.Column("entity_type", sa.String(32), primary_key=True),
    sa.Column("run_id", sa.String(64), sa.ForeignKey("score_runs.run_id"), nullable=False),
    sa.Column("published_at", sa.String(32), nullable=False),
)

scores = sa.Table(
    "scores",
    metadata,
    sa.Column("run_id", sa.String(64), sa.ForeignKey("score_runs.run_id"), primary_key=True),
    sa.Column("entity_type", sa.String(32), primary_key=True),
    sa.Column("entity_id", sa.String(200), primary_key=True),
    sa.Column("name", sa.String(300)),
    sa.Column("country", sa.String(100)),
    sa.Column("region", sa.String(100)),
    sa.Column("sector", sa.String(100)),
    sa.Column("probability", sa.Float, nullable=False),  # calibrated P(finding within the horizon)
    sa.Column("band", sa.String(16), nullable=False),  # models/scoring.py BANDS
    sa.Column("rank", sa.Integer, nullable=False),  # 1 = highest risk within the entity type
    sa.Column("rank_in_region", sa.Integer, nullable=False),  # within type and region (or country)
    sa.Column("red_flags", sa.Integer, nullable=False),  # rule-based count of indicators past threshold
    sa.Column("model_id", sa.String(120), nullable=False),
    sa.Column("as_of", sa.String(10), nullable=False),
    sa.Column("reasons", sa.Text, nullable=False),  # JSON list of reasons (shape: models/reasons.py)
    sa.Column("base_value", sa.Float),  # SHAP base value (raw log-odds) for waterfall charts
    sa.Column("raw_score", sa.Float),  # model raw score (log-odds) = base value + contributions
    sa.Column("address", sa.String(500)),  # the organisation's own address as of as_of; NULL for desks (migration 0007)
)
sa.Index("scores_rank", scores.c.run_id, scores.c.entity_type, scores.c.rank)
sa.Index("scores_entity", scores.c.entity_type, scores.c.entity_id)

score_scope = sa.Table(
    "score_scope",
    metadata,
    sa.Column("run_id", sa.String(64), sa.ForeignKey("score_runs.run_id"), nullable=False),
    sa.Column("entity_type", sa.String(32), nullable=False),
    sa.Column("entity_id", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # features/profiles.py SCOPE_KINDS
    sa.Column("value", sa.String(200), nullable=False),
)
sa.Index("scope_lookup", score_scope.c.run_id, score_scope.c.entity_type, score_scope.c.kind, score_scope.c.value)
sa.Index("scope_entity", score_scope.c.run_id, score_scope.c.entity_type, score_scope.c.entity_id)

models = sa.Table(
    "models",
    metadata,
    sa.Column("model_id", sa.String(120), primary_key=True),
    sa.Column("entity_type", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # champion | challenger | retired
    sa.Column("trained_as_of", sa.String(10), nullable=False),
    sa.Column("strategy", sa.String(32), nullable=False),
    sa.Column("metrics", sa.Text, nullable=False),  # JSON: backtest metrics of model, rule, random
    sa.Column("gate", sa.Text, nullable=False),  # JSON: the champion/challenger decision and its reason
    sa.Column("card", sa.Text, nullable=False),  # model card, Markdown
    sa.Column("updated_at", sa.String(32), nullable=False),
)


# Supply-chain roll-up (models/rollup.py), published with the run that scored the employers: one row per buyer
# portfolio (supplier_id '') and per tier-1 supplier of it (migration 0004).
supply_rollup = sa.Table(
    "supply_rollup",
    metadata,
    sa.Column("run_id", sa.String(64), sa.ForeignKey("score_runs.run_id"), primary_key=True),
    sa.Column("buyer_id", sa.String(64), primary_key=True),
    sa.Column("supplier_id", sa.String(200), primary_key=True),  # '' = the portfolio as a whole
    sa.Column("supplier_name", sa.String(300)),
    sa.Column("own_probability", sa.Float),
    sa.Column("own_band", sa.String(16)),
    sa.Column("rollup_max", sa.Float),
    sa.Column("rollup_weighted", sa.Float),
    sa.Column("high_risk", sa.Integer, nullable=False),
    sa.Column("tier2_suppliers", sa.Integer, nullable=False),
    sa.Column("rank", sa.Integer, nullable=False),  # within the portfolio; 0 = the portfolio row
    sa.Column("top_path", sa.Text),
    sa.Column("paths", sa.Text, nullable=False),  # JSON list of paths (models/rollup.py)
)

# Drift of a score run against the champion's training window (models/drift.py), per entity type (migration 0004).
model_drift = sa.Table(
    "model_drift",
    metadata,
    sa.Column("run_id", sa.String(64), sa.ForeignKey("score_runs.run_id"), primary_key=True),
    sa.Column("entity_type", sa.String(32), primary_key=True),
    sa.Column("model_id", sa.String(120), nullable=False),
    sa.Column("as_of", sa.String(10), nullable=False),
    sa.Column("reference_as_of", sa.String(10)),  # the champion's training as-of date
    sa.Column("max_psi", sa.Float),  # largest PSI over the indicators
    sa.Column("score_psi", sa.Float),  # PSI of the score bands
    sa.Column("threshold", sa.Float, nullable=False),
    sa.Column("flagged", sa.Boolean, nullable=False),
    sa.Column("retraining_due", sa.Boolean, nullable=False),
    sa.Column("detail", sa.Text, nullable=False),  # JSON: PSI per indicator and per score band
    sa.Column("created_at", sa.String(32), nullable=False),
)


# --- service tables (users, audit log, outcomes, issued worklists) ------------------------------------------

users = sa.Table(
    "users",
    metadata,
    sa.Column("user_id", sa.String(32), primary_key=True),  # public half of the token: "<user_id>.<secret>"
    sa.Column("name", sa.String(120), nullable=False, unique=True),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("jurisdictions", sa.Text, nullable=False),  # JSON list of country / region / post keys
    sa.Column("portfolio", sa.Text, nullable=False),  # JSON list of employer ids (supply-chain auditors)
    sa.Column("token_hash", sa.String(64), nullable=False),  # HMAC-SHA256(secret key, token), hex
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("revoked_at", sa.String(32)),
    sa.Column("expires_at", sa.String(32)),  # ISO UTC; NULL = never (migration 0003)
)

# Append-only, hash-chained: hash = HMAC(audit key, prev_hash + canonical entry). audit_head holds the last link
# so that deleting the newest entries is detected too.
audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("at", sa.String(32), nullable=False),
    sa.Column("actor", sa.String(120), nullable=False),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("entity_type", sa.String(32)),
    sa.Column("entity_id", sa.String(200)),
    sa.Column("detail", sa.Text, nullable=False),  # JSON
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)
audit_head = sa.Table(
    "audit_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

outcomes = sa.Table(
    "outcomes",
    metadata,
    sa.Column("outcome_id", sa.String(64), primary_key=True),
    sa.Column("entity_type", sa.String(32), nullable=False),
    sa.Column("entity_id", sa.String(200), nullable=False),
    sa.Column("decided_on", sa.String(10), nullable=False),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("indicators_observed", sa.Text, nullable=False),  # JSON list of ILO indicator names
    sa.Column("issuing_body", sa.String(100)),
    sa.Column("exploration", sa.Boolean, nullable=False),
    sa.Column("worklist_id", sa.String(64)),
    sa.Column("recorded_by", sa.String(120), nullable=False),
    sa.Column("recorded_at", sa.String(32), nullable=False),
    sa.Column("landing_file", sa.String(300)),
)

issued_worklists = sa.Table(
    "issued_worklists",
    metadata,
    sa.Column("worklist_id", sa.String(64), primary_key=True),
    sa.Column("entity_type", sa.String(32), nullable=False),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("issued_to", sa.String(120), nullable=False),
    sa.Column("issued_at", sa.String(32), nullable=False),
    sa.Column("params", sa.Text, nullable=False),  # JSON: capacity, region, exploration share, seed
)
worklist_items = sa.Table(
    "worklist_items",
    metadata,
    sa.Column("worklist_id", sa.String(64), sa.ForeignKey("issued_worklists.worklist_id"), primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("entity_type", sa.String(32), nullable=False),
    sa.Column("entity_id", sa.String(200), nullable=False),
    sa.Column("exploration", sa.Boolean, nullable=False),
)
sa.Index("worklist_items_entity", worklist_items.c.entity_type, worklist_items.c.entity_id)

# Dashboard sign-ins: the cookie holds a random session id, the store only its HMAC; signing out deletes the row
# (migration 0005).
dashboard_sessions = sa.Table(
    "dashboard_sessions",
    metadata,
    sa.Column("session_hash", sa.String(64), primary_key=True),  # HMAC-SHA256(secret key, session id), hex
    sa.Column("user_id", sa.String(32), sa.ForeignKey("users.user_id"), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("expires_at", sa.String(32), nullable=False),  # ISO UTC, the format of now_iso
)
sa.Index("dashboard_sessions_expiry", dashboard_sessions.c.expires_at)


# The tables the service writes while answering reads: in the service database on SQLite (migration 0006 moved them
# there from the store's file, entries and rows included). Parents before children (foreign keys).
SERVICE_SCHEMA = "service"
SERVICE_TABLES = (audit_log, audit_head, outcomes, issued_worklists, worklist_items)
RUN_TABLES = (scores, score_scope, supply_rollup, model_drift)  # every table holding rows of a score run


def now_iso() -> str:
    """Now, UTC, to the second: the format of every ``*_at`` column."""
    return datetime.now(UTC).isoformat(timespec="seconds")
