"""Organisations' addresses in the serving store: the migration that adds the column to a store of the previous
revision (every row kept), the API's entity read and the printable visit pack (escaped, "address not on record"
in the page's language when there is none)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import sqlalchemy as sa

from service.store import connect, make_engine, publish, published_scores
from tests.service.conftest import make_world, score_run
from tests.service.test_service import _migrate_to

PREVIOUS_REVISION = "0006"
# Employers with an odd number have an address (markup in it, to be shown as text); the others and every desk none.
ADDRESSES = {f"E{i}": f"{i} <b>Harbour</b> Road & Sons, R-{i}" for i in range(1, 9, 2)}


def _columns(engine: sa.Engine) -> set[str]:
    return {c["name"] for c in sa.inspect(engine).get_columns("scores")}


def _rows(engine: sa.Engine) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return sorted(tuple(r) for r in conn.exec_driver_sql("SELECT run_id, entity_type, entity_id, name FROM scores"))


def test_a_store_of_the_previous_revision_gains_the_address_column_and_keeps_every_row(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'serving.db'}"
    world = make_world()
    engine = make_engine(url)
    _migrate_to(engine, PREVIOUS_REVISION)
    assert "address" not in _columns(engine)
    publish(engine, score_run(world, "run-old", "2024-01-01", 0.0))  # rows as scoring wrote them before
    before = _rows(engine)
    engine.dispose()

    engine = connect(url)
    assert "address" in _columns(engine) and _rows(engine) == before
    assert {r["address"] for r in published_scores(engine, "employer")} == {None}
    run = score_run(world, "run-new", "2024-04-01", 0.0)
    publish(engine, replace(run, rows=[{**r, "address": ADDRESSES.get(r["entity_id"])} for r in run.rows]))
    served = {r["entity_id"]: r["address"] for r in published_scores(engine, "employer")}
    assert served == {e: ADDRESSES.get(e) for e in served} and set(ADDRESSES) <= set(served)

    _migrate_to(engine, PREVIOUS_REVISION, down=True)
    assert "address" not in _columns(engine) and len(_rows(engine)) == len(before) * 2
    engine.dispose()
