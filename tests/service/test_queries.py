"""Scoped reads (service/queries.py): the single-entity read checks scope in Python on one entity's keys, the
worklist read checks it in SQL over a run; both are built from ``roles.keys_for``, and this property test holds
them to the same answer for random scope keys, roles and users."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service import queries
from service.auth import User
from service.roles import ROLES
from store.engine import connect
from store.publish import ScoreRun, publish

KINDS = ("country", "region", "post", "employer")
VALUES = ("A", "B", "C", "E1", "E2")
ENTITIES = [f"X{i}" for i in range(12)]

scope_keys = st.lists(st.tuples(st.sampled_from(KINDS), st.sampled_from(VALUES)), max_size=4, unique=True)
stores = st.lists(scope_keys, min_size=len(ENTITIES), max_size=len(ENTITIES))
users = st.builds(
    lambda role, jur, port: User("u1", "someone", role, tuple(jur), tuple(port)),
    st.sampled_from(sorted(ROLES)),
    st.lists(st.sampled_from(VALUES), max_size=3, unique=True),
    st.lists(st.sampled_from(VALUES), max_size=2, unique=True),
)


def _publish(engine: sa.Engine, keys_per_entity: list[list[tuple[str, str]]], run: int) -> None:
    rows, scope = [], []
    for rank, (entity_id, keys) in enumerate(zip(ENTITIES, keys_per_entity, strict=True), start=1):
        for entity_type in ("employer", "visa_desk"):
            rows.append(
                {
                    "entity_type": entity_type,
                    "entity_id": entity_id,
                    "name": entity_id,
                    "country": None,
                    "region": None,
                    "sector": None,
                    "probability": 1 / rank,
                    "band": "low",
                    "rank": rank,
                    "rank_in_region": rank,
                    "red_flags": 0,
                    "model_id": "m",
                    "as_of": "2024-01-01",
                    "reasons": "[]",
                    "base_value": None,
                    "raw_score": None,
                }
            )
            scope += [{"entity_type": entity_type, "entity_id": entity_id, "kind": k, "value": v} for k, v in keys]
    publish(engine, ScoreRun(f"run-{run}", "2024-01-01", {"employer": "m", "visa_desk": "m"}, rows, scope))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(keys_per_entity=stores, user=users)
def test_entity_read_and_worklist_agree_on_scope(tmp_path: Path, keys_per_entity: list, user: User) -> None:
    engine = connect(f"sqlite:///{tmp_path / 'serving.db'}")
    try:
        with engine.connect() as conn:
            run = conn.execute(sa.text("SELECT count(*) FROM score_runs")).scalar_one()
        _publish(engine, keys_per_entity, run)
        for entity_type, access in ROLES[user.role].types.items():
            if entity_type not in ("employer", "visa_desk"):
                continue
            with engine.connect() as conn:
                _, listed = queries.ranked_ids(conn, user, access, entity_type, None)
                readable = {e for e in ENTITIES if queries.entity(conn, user, access, entity_type, e) is not None}
            assert {r["entity_id"] for r in listed} == readable
    finally:
        engine.dispose()
