"""Retention of score runs in the store: at least one run is kept, and a lone run is never removed."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from store.engine import connect
from store.publish import prune_runs, publish
from store.tables import score_runs
from tests.service.conftest import make_world, score_run


def _runs(engine: sa.Engine) -> set[str]:
    with engine.connect() as conn:
        return {r.run_id for r in conn.execute(sa.select(score_runs.c.run_id))}


def test_prune_keeps_at_least_one_run(tmp_path: Path) -> None:
    engine = connect(f"sqlite:///{tmp_path / 'serving.db'}")
    with pytest.raises(ValueError):
        prune_runs(engine, 0)
    publish(engine, score_run(make_world(), "run-only", "2024-01-01", 0.0))
    assert prune_runs(engine, 1).removed == [] and _runs(engine) == {"run-only"}
    engine.dispose()
