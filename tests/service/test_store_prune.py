"""Retention of score runs: ``tracerisk store prune --keep N`` removes old runs with every row they hold, never a
published run, and leaves the audit log (still verifying), users, outcomes and issued worklists as they were."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from typer.testing import CliRunner

from flows.cli import app as cli
from service import audit
from store.engine import connect
from store.publish import publish
from store.tables import RUN_TABLES, audit_log, issued_worklists, published, score_runs, users
from tests.service.conftest import SECRET, auth, build_env, make_world, score_run


def _runs(engine: sa.Engine) -> set[str]:
    with engine.connect() as conn:
        return {r.run_id for r in conn.execute(sa.select(score_runs.c.run_id))}


def _rows_of(engine: sa.Engine, run_id: str) -> int:
    with engine.connect() as conn:
        return sum(
            int(conn.execute(sa.select(sa.func.count()).where(t.c.run_id == run_id)).scalar_one()) for t in RUN_TABLES
        )


def _count(engine: sa.Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_prune_keeps_the_newest_and_every_published_run(tmp_path: Path) -> None:
    env = build_env("sqlite", tmp_path)  # runs of 2024-01-01 and 2024-04-01, the later one published
    h = auth(env.tokens["admin"])
    assert env.client.get("/v1/worklists/employer?capacity=3", headers=h).status_code == 200
    engine = connect(env.url)
    for as_of in ("2024-07-01", "2024-10-01", "2025-01-01"):
        publish(engine, score_run(make_world(), f"run-{as_of}", as_of, 0.0))
    with engine.begin() as conn:  # one type still served from the oldest run
        conn.execute(sa.update(published).where(published.c.entity_type == "recruiter").values(run_id="run-2024-01-01"))
    assert env.client.get("/v1/entities/employer/E1", headers=h).status_code == 200
    before = {t.name: _count(engine, t) for t in (audit_log, users, issued_worklists)}
    assert _rows_of(engine, "run-2024-07-01") > 0

    result = CliRunner().invoke(
        cli,
        ["store", "prune", "--keep", "2"],
        env={"TRACERISK_STORE_URL": env.url, "TRACERISK_SECRET_KEY": SECRET, "TRACERISK_MODE": "production"},
    )
    assert result.exit_code == 0, result.output
    assert "removed 2 with" in result.output and "removed run-2024-07-01" in result.output
    assert _runs(engine) == {"run-2025-01-01", "run-2024-10-01", "run-2024-01-01"}
    assert _rows_of(engine, "run-2024-07-01") == _rows_of(engine, "run-2024-04-01") == 0
    assert {t.name: _count(engine, t) for t in (audit_log, users, issued_worklists)} == before
    assert audit.verify(engine, env.settings.secret).ok
    employer = env.client.get("/v1/entities/employer/E1", headers=h).json()
    # the oldest run stays whole (a type is served from it): its employer rows are still history
    assert employer["as_of"] == "2025-01-01"
    assert sorted(p["as_of"] for p in employer["history"]) == ["2024-01-01", "2024-10-01", "2025-01-01"]
    recruiter_id = env.world.ids("recruiter")[0]
    assert env.client.get(f"/v1/entities/recruiter/{recruiter_id}", headers=h).json()["as_of"] == "2024-01-01"
    engine.dispose()
    env.client.close()
