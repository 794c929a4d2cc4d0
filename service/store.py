"""The serving store: what scoring published, declared once (SQLAlchemy Core; SQLite by default, PostgreSQL for
multi-user deployments via ``TRACERISK_STORE_URL``).

Scoring writes a score run in one transaction: its rows, its scope keys, the model registry entries, and the
``published`` pointers that say which run the service reads per entity type. A run that fails half-way rolls
back whole, so the previous run stays served (DESIGN: publishing is atomic). The service only reads.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

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
    sa.Column("reasons", sa.Text, nullable=False),  # JSON list of models.explain.Reason dicts
    sa.Column("base_value", sa.Float),  # SHAP base value (raw log-odds) for waterfall charts
    sa.Column("raw_score", sa.Float),  # model raw score (log-odds) = base value + contributions
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


def store_url(home: Path) -> str:
    """``TRACERISK_STORE_URL`` when set, else SQLite at ``$TRACERISK_HOME/serving.db``."""
    return os.environ.get("TRACERISK_STORE_URL") or f"sqlite:///{(home / 'serving.db').resolve()}"


def connect(url: str) -> Engine:
    """An engine with the schema created; SQLite gets WAL so readers never see a half-written run."""
    engine = sa.create_engine(url, future=True)
    if engine.dialect.name == "sqlite":

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

    metadata.create_all(engine)
    return engine


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class ModelEntry:
    model_id: str
    entity_type: str
    status: str
    trained_as_of: str
    strategy: str
    metrics: dict[str, Any]
    gate: dict[str, Any]
    card: str


@dataclass(frozen=True)
class ScoreRun:
    run_id: str
    as_of: str
    model_ids: dict[str, str]  # entity type -> model id ("rule-baseline" when no champion model exists)
    rows: Sequence[dict[str, Any]]  # columns of ``scores`` without run_id (reasons already JSON text)
    scope: Sequence[dict[str, Any]]  # columns of ``score_scope`` without run_id
    model_entries: Sequence[ModelEntry] = ()


BATCH_ROWS = 20_000  # rows per executemany batch (bounded memory on large runs)


def _batches(rows: Sequence[dict[str, Any]], run_id: str) -> Iterable[list[dict[str, Any]]]:
    for start in range(0, len(rows), BATCH_ROWS):
        yield [{**r, "run_id": run_id} for r in rows[start : start + BATCH_ROWS]]


def upsert_models(conn: Connection, entries: Iterable[ModelEntry]) -> None:
    for m in entries:
        values = {
            "entity_type": m.entity_type,
            "status": m.status,
            "trained_as_of": m.trained_as_of,
            "strategy": m.strategy,
            "metrics": json.dumps(m.metrics, sort_keys=True, default=str),
            "gate": json.dumps(m.gate, sort_keys=True, default=str),
            "card": m.card,
            "updated_at": now_iso(),
        }
        if m.status == "champion":  # one champion per entity type
            conn.execute(
                sa.update(models)
                .where(models.c.entity_type == m.entity_type, models.c.status == "champion")
                .where(models.c.model_id != m.model_id)
                .values(status="retired", updated_at=now_iso())
            )
        done = conn.execute(sa.update(models).where(models.c.model_id == m.model_id).values(**values))
        if done.rowcount == 0:
            conn.execute(sa.insert(models).values(model_id=m.model_id, **values))


def publish(engine: Engine, run: ScoreRun, before_commit: Callable[[], None] | None = None) -> None:
    """Write ``run`` and point the service at it, all in one transaction.

    ``before_commit`` runs after every row is written and before the pointers commit (tests use it to
    fail a publish half-way; anything it raises rolls the whole run back).
    """
    entity_types = sorted(run.model_ids)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(score_runs).values(
                run_id=run.run_id,
                as_of=run.as_of,
                created_at=now_iso(),
                entity_types=json.dumps(entity_types),
                rows=len(run.rows),
                model_ids=json.dumps(run.model_ids, sort_keys=True),
            )
        )
        for batch in _batches(run.rows, run.run_id):
            conn.execute(sa.insert(scores), batch)
        for batch in _batches(run.scope, run.run_id):
            conn.execute(sa.insert(score_scope), batch)
        upsert_models(conn, run.model_entries)
        if before_commit is not None:
            before_commit()
        for entity_type in entity_types:
            conn.execute(sa.delete(published).where(published.c.entity_type == entity_type))
            pointer = {"entity_type": entity_type, "run_id": run.run_id, "published_at": now_iso()}
            conn.execute(sa.insert(published).values(**pointer))


def published_runs(engine: Engine) -> dict[str, str]:
    """Entity type -> the run id the service serves."""
    with engine.connect() as conn:
        return {r.entity_type: r.run_id for r in conn.execute(sa.select(published))}


def published_scores(engine: Engine, entity_type: str) -> list[dict[str, Any]]:
    """Every published score row of ``entity_type``, best rank first (reasons decoded)."""
    runs = published_runs(engine)
    if entity_type not in runs:
        return []
    with engine.connect() as conn:
        result = conn.execute(
            sa.select(scores)
            .where(scores.c.run_id == runs[entity_type], scores.c.entity_type == entity_type)
            .order_by(scores.c.rank)
        )
        return [{**r._asdict(), "reasons": json.loads(r.reasons)} for r in result]
