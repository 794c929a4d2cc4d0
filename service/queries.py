"""Scoped reads of the serving store: one entity with its history, the ranked rows of a worklist, models."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from service.auth import User
from service.reasons import public_reasons
from service.records import fields_of
from service.roles import Access, keys_for
from store.prepared import Prepared
from store.tables import model_drift, models, published, score_runs, score_scope, scores

HISTORY_LIMIT = 50  # score runs shown in an entity's history, newest kept


def published_run(conn: Connection, entity_type: str) -> str | None:
    row = conn.execute(sa.select(published.c.run_id).where(published.c.entity_type == entity_type)).first()
    return None if row is None else str(row.run_id)


def _scope_match(access: Access, user: User) -> sa.ColumnElement[bool] | None:
    keys = keys_for(access, user.jurisdictions, user.portfolio)
    if not keys:
        return None
    by_kind: dict[str, list[str]] = {}
    for kind, value in keys:
        by_kind.setdefault(kind, []).append(value)
    return sa.or_(*(sa.and_(score_scope.c.kind == k, score_scope.c.value.in_(v)) for k, v in by_kind.items()))


def scope_set_filter(access: Access, user: User, run_id: str, entity_type: str) -> sa.ColumnElement[bool]:
    """The same condition as ``scope_filter`` as ``entity_id IN (in-scope ids)``: the scope keys are looked up once
    (scope_lookup index) instead of once per score row, which is cheaper when many rows are read (worklists)."""
    if access.everything:
        return sa.true()
    match = _scope_match(access, user)
    if match is None:
        return sa.false()
    return scores.c.entity_id.in_(
        sa.select(score_scope.c.entity_id).where(
            score_scope.c.run_id == run_id, score_scope.c.entity_type == entity_type, match
        )
    )


# The single-entity read (the service's hottest path): two indexed lookups, each compiled once per dialect. The
# published row comes with the entity's scope keys, one row per key (kind and value None when it has none).
_PUBLISHED_ROW = Prepared(
    sa.select(scores, score_scope.c.kind, score_scope.c.value)
    .join(published, sa.and_(published.c.run_id == scores.c.run_id, published.c.entity_type == scores.c.entity_type))
    .outerjoin(
        score_scope,
        sa.and_(
            score_scope.c.run_id == scores.c.run_id,
            score_scope.c.entity_type == scores.c.entity_type,
            score_scope.c.entity_id == scores.c.entity_id,
        ),
    )
    .where(scores.c.entity_type == sa.bindparam("entity_type"), scores.c.entity_id == sa.bindparam("entity_id"))
)
_SCORE_COLUMNS = len(scores.c)
_HISTORY = Prepared(
    sa.select(
        scores.c.run_id,
        score_runs.c.as_of,
        scores.c.probability,
        scores.c.band,
        scores.c.rank,
        scores.c.model_id,
    )
    .join(score_runs, score_runs.c.run_id == scores.c.run_id)
    .where(scores.c.entity_type == sa.bindparam("entity_type"), scores.c.entity_id == sa.bindparam("entity_id"))
    .order_by(score_runs.c.as_of.desc(), score_runs.c.created_at.desc())
    .limit(HISTORY_LIMIT)
)


def in_scope(access: Access, user: User, entity_keys: Iterable[tuple[str, str]]) -> bool:
    """Whether an entity with these (kind, value) scope keys is in ``user``'s scope: the rule of ``_scope_match``
    (both are built from ``roles.keys_for``), evaluated on one entity's keys."""
    if access.everything:
        return True
    wanted = user.scope_keys(access)
    return any(key in wanted for key in entity_keys)


def entity(conn: Connection, user: User, access: Access, entity_type: str, entity_id: str) -> dict[str, Any] | None:
    """The published score of one entity in ``user``'s scope, with its history; None when missing or out of scope
    (the caller cannot tell which)."""
    found = _PUBLISHED_ROW.rows(conn, entity_type=entity_type, entity_id=entity_id)
    if not found:
        return None
    row = dict(zip(_PUBLISHED_ROW.columns, found[0], strict=True))  # the score row and its first scope key
    if not in_scope(access, user, (key[_SCORE_COLUMNS:] for key in found if key[_SCORE_COLUMNS] is not None)):
        return None
    history = _HISTORY.rows(conn, entity_type=entity_type, entity_id=entity_id)
    return {
        **_score(row),
        "history": [dict(zip(_HISTORY.columns, h, strict=True)) for h in reversed(history)],
    }


PROFILE_FIELDS = ("entity_type", "entity_id", "name", "country", "region", "sector", "address")
SCORE_FIELDS = ("probability", "band", "rank", "rank_in_region", "red_flags", "model_id", "as_of", "run_id")


def _score(row: Mapping[Any, Any]) -> dict[str, Any]:
    """What the service shows of one published ``scores`` row (by column name)."""
    return {
        **{name: row[name] for name in PROFILE_FIELDS + SCORE_FIELDS},
        "reasons": public_reasons(row["reasons"]),
        "base_value": row["base_value"],
        "raw_score": row["raw_score"],
    }


def ranked(
    conn: Connection, user: User, access: Access, entity_type: str, region: str | None
) -> tuple[str | None, list[dict[str, Any]]]:
    """(run id, every in-scope published row of the type, best rank first), optionally in one region."""
    run_id, rows = _ranked(conn, user, access, entity_type, region, [scores])
    return run_id, [_score(r._mapping) for r in rows]


def ranked_ids(
    conn: Connection, user: User, access: Access, entity_type: str, region: str | None
) -> tuple[str | None, list[dict[str, Any]]]:
    """As ``ranked`` with only entity_id and probability per row: what picking a worklist needs (the reasons of the
    picked rows are read afterwards with ``rows_for``; decoding every row's reasons cost ~30 ms per 1,000 rows)."""
    run_id, rows = _ranked(conn, user, access, entity_type, region, [scores.c.entity_id, scores.c.probability])
    return run_id, [{"entity_id": r.entity_id, "probability": r.probability} for r in rows]


def rows_for(conn: Connection, run_id: str, entity_type: str, entity_ids: list[str]) -> list[dict[str, Any]]:
    """The full score rows of ``entity_ids`` in ``run_id``, in the order given (the caller checked the scope)."""
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(entity_ids), 500):
        chunk = entity_ids[start : start + 500]
        query = sa.select(scores).where(
            scores.c.run_id == run_id, scores.c.entity_type == entity_type, scores.c.entity_id.in_(chunk)
        )
        found.update({r.entity_id: _score(r._mapping) for r in conn.execute(query)})
    return [found[i] for i in entity_ids]


def _ranked(
    conn: Connection,
    user: User,
    access: Access,
    entity_type: str,
    region: str | None,
    columns: list[Any],
) -> tuple[str | None, list[Any]]:
    run_id = published_run(conn, entity_type)
    if run_id is None:
        return None, []
    query = sa.select(*columns).where(
        scores.c.run_id == run_id,
        scores.c.entity_type == entity_type,
        scope_set_filter(access, user, run_id, entity_type),
    )
    if region:
        in_region = sa.select(score_scope.c.entity_id).where(
            score_scope.c.run_id == run_id,
            score_scope.c.entity_type == entity_type,
            score_scope.c.kind == "region",
            score_scope.c.value == region,
        )
        query = query.where(sa.or_(scores.c.region == region, scores.c.entity_id.in_(in_region)))
    return run_id, list(conn.execute(query.order_by(scores.c.rank)).all())


def regions(conn: Connection, entity_type: str) -> list[str]:
    """Region keys of the published run of a type (filter choices in the dashboard)."""
    run_id = published_run(conn, entity_type)
    if run_id is None:
        return []
    result = conn.execute(
        sa.select(score_scope.c.value)
        .where(score_scope.c.run_id == run_id, score_scope.c.entity_type == entity_type, score_scope.c.kind == "region")
        .distinct()
        .order_by(score_scope.c.value)
    )
    return [str(v) for v in result.scalars()]


def unpublished_scope_values(conn: Connection, values: Iterable[str]) -> list[str]:
    """The ``values`` (jurisdictions, portfolio ids) that no scope key of a published run holds, in their order."""
    wanted = list(dict.fromkeys(values))
    if not wanted:
        return []
    on_published = sa.and_(
        published.c.run_id == score_scope.c.run_id, published.c.entity_type == score_scope.c.entity_type
    )
    found = conn.execute(
        sa.select(score_scope.c.value).join(published, on_published).where(score_scope.c.value.in_(wanted)).distinct()
    )
    known = {str(v) for v in found.scalars()}
    return [v for v in wanted if v not in known]


def model_list(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(sa.select(models).order_by(models.c.entity_type, models.c.trained_as_of.desc())).all()
    drift = latest_drift(conn)
    return [{**_model(r), "drift": drift.get(r.model_id)} for r in rows]


def latest_drift(conn: Connection) -> dict[str, dict[str, Any]]:
    """Model id -> the drift of its most recent score run (PSI against its training window, flag, retraining due)."""
    out: dict[str, dict[str, Any]] = {}
    rows = conn.execute(sa.select(model_drift).order_by(model_drift.c.created_at, model_drift.c.run_id)).all()
    for r in rows:  # later rows replace earlier ones
        out[r.model_id] = {
            "as_of": r.as_of,
            "run_id": r.run_id,
            "reference_as_of": r.reference_as_of,
            "max_psi": r.max_psi,
            "score_psi": r.score_psi,
            "threshold": r.threshold,
            "flagged": bool(r.flagged),
            "retraining_due": bool(r.retraining_due),
        }
    return out


def model(conn: Connection, model_id: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(models).where(models.c.model_id == model_id)).first()
    return None if row is None else {**_model(row), "card": row.card}


def _model(row: Any) -> dict[str, Any]:
    return {
        **fields_of(row, ("model_id", "entity_type", "status", "trained_as_of", "strategy")),
        "metrics": json.loads(row.metrics),
        "gate": json.loads(row.gate),
        "updated_at": row.updated_at,
    }
