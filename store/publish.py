"""Publishing a score run and reading back what is published.

Scoring writes a score run in one transaction: its rows, its scope keys, the model registry entries, and the
``published`` pointers that say which run the service reads per entity type. A run that fails half-way rolls back
whole, so the previous run stays served (DESIGN: publishing is atomic). The service only reads the scores.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from store.tables import (
    RUN_TABLES,
    model_drift,
    models,
    now_iso,
    published,
    score_runs,
    score_scope,
    scores,
    supply_rollup,
)


@dataclass(frozen=True)
class ModelRecord:
    """What the registry holds of a model, as publishing writes it and the API answers it."""

    model_id: str
    entity_type: str
    status: str
    trained_as_of: str
    strategy: str
    metrics: dict[str, Any]
    gate: dict[str, Any]


@dataclass(frozen=True)
class ModelEntry(ModelRecord):
    card: str


@dataclass(frozen=True)
class ScoreRun:
    run_id: str
    as_of: str
    model_ids: dict[str, str]  # entity type -> model id ("rule-baseline" when no champion model exists)
    rows: Sequence[dict[str, Any]]  # columns of ``scores`` without run_id (reasons already JSON text)
    scope: Sequence[dict[str, Any]]  # columns of ``score_scope`` without run_id
    model_entries: Sequence[ModelEntry] = ()
    supply: Sequence[dict[str, Any]] = ()  # columns of ``supply_rollup`` without run_id
    drift: Sequence[dict[str, Any]] = ()  # columns of ``model_drift`` without run_id and created_at


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
        for batch in _batches(run.supply, run.run_id):
            conn.execute(sa.insert(supply_rollup), batch)
        if run.drift:
            conn.execute(
                sa.insert(model_drift), [{**d, "run_id": run.run_id, "created_at": now_iso()} for d in run.drift]
            )
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


@dataclass(frozen=True)
class Pruned:
    kept: list[str]  # run ids kept: the newest ``keep`` and every published one
    removed: list[str]  # run ids removed with their rows
    rows: int  # score rows removed


def prune_runs(engine: Engine, keep: int) -> Pruned:
    """Remove every score run but the newest ``keep`` (by creation time) and those a ``published`` pointer names,
    with all their rows. One transaction per run, so the write lock is never held for long; the audit log, users,
    outcomes, issued worklists and the model registry are not touched."""
    if keep < 1:
        raise ValueError("keep at least one score run")
    with engine.connect() as conn:
        newest_first = [
            r.run_id
            for r in conn.execute(
                sa.select(score_runs.c.run_id).order_by(score_runs.c.created_at.desc(), score_runs.c.run_id.desc())
            )
        ]
        served = {r.run_id for r in conn.execute(sa.select(published.c.run_id))}
    kept = [run_id for i, run_id in enumerate(newest_first) if i < keep or run_id in served]
    removed = [run_id for run_id in newest_first if run_id not in kept]
    rows = 0
    for run_id in removed:
        with engine.begin() as conn:
            if conn.execute(sa.select(published.c.entity_type).where(published.c.run_id == run_id)).first():
                kept.append(run_id)  # published since it was listed
                continue
            for table in RUN_TABLES:
                done = conn.execute(sa.delete(table).where(table.c.run_id == run_id))
                rows += done.rowcount if table is scores else 0
            conn.execute(sa.delete(score_runs).where(score_runs.c.run_id == run_id))
    return Pruned(kept, [r for r in removed if r not in kept], rows)
