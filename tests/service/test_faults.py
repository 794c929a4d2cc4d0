"""Faults: a scoring run killed half-way (a real process, SIGKILL inside the publishing transaction) leaves
the previous scores served and nothing partial; the serving store going away and coming back (PostgreSQL refusing
connections) answers 503 with Retry-After and recovers without a restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from store.engine import connect
from store.publish import published_runs, published_scores
from store.tables import score_runs, scores
from tests.service.conftest import BACKENDS, PG_ENV, auth, build_env, count_route_calls, make_world, score_run

ROOT = str(Path(__file__).resolve().parents[2])
KILLED = "run-killed"

PUBLISH_AND_HOLD = """
import sys, time
sys.path.insert(0, {root!r})
from store.engine import connect
from store.publish import publish
from tests.service.conftest import make_world, score_run

engine = connect({url!r})
run = score_run(make_world(), {run_id!r}, "2024-07-01", 0.05)

def hold() -> None:  # every row written, pointers not yet swapped, transaction open
    print("written", flush=True)
    time.sleep(300)

publish(engine, run, before_commit=hold)
print("committed", flush=True)
"""


@pytest.mark.parametrize("backend", BACKENDS)
def test_scoring_run_killed_half_way_leaves_the_previous_scores_served(backend: str, tmp_path: Path) -> None:
    env = build_env(backend, tmp_path)
    h = auth(env.tokens["admin"])
    before = env.client.get("/v1/entities/employer/E1", headers=h).json()
    assert before["as_of"] == "2024-04-01"
    script = PUBLISH_AND_HOLD.format(root=ROOT, url=env.url, run_id=KILLED)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env={**os.environ})
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "written"
        # while the half-published run's transaction is open, readers see the previous run only
        reader = connect(env.url)
        try:
            assert {r["run_id"] for r in published_scores(reader, "employer")} == {"run-2024-04-01"}
        finally:
            reader.dispose()
        if backend == "postgresql":  # on SQLite the open publish holds the one write lock the audit entry needs
            during = env.client.get("/v1/entities/employer/E1", headers=h).json()
            assert during["as_of"] == "2024-04-01" and len(during["history"]) == 2
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    engine = connect(env.url)
    try:
        assert set(published_runs(engine).values()) == {"run-2024-04-01"}
        with engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).where(score_runs.c.run_id == KILLED)).scalar_one() == 0
            assert conn.execute(sa.select(sa.func.count()).where(scores.c.run_id == KILLED)).scalar_one() == 0
        after = env.client.get("/v1/entities/employer/E1", headers=h).json()
        assert after == {**before, "history": after["history"]} and len(after["history"]) == 2
        wl = env.client.get("/v1/worklists/employer?capacity=100", headers=h).json()
        assert wl["as_of"] == "2024-04-01" and len(wl["items"]) == len(make_world().ids("employer"))
        # the store is not left locked: the next scoring run publishes
        from store.publish import publish

        publish(engine, score_run(make_world(), "run-next", "2024-07-01", 0.0))
        assert env.client.get("/v1/entities/employer/E1", headers=h).json()["as_of"] == "2024-07-01"
        wl = env.client.get("/v1/worklists/employer?capacity=100", headers=h).json()  # no stale cached ranking
        assert wl["as_of"] == "2024-07-01" and len(wl["items"]) == len(make_world().ids("employer"))
    finally:
        engine.dispose()
        env.client.close()


def test_store_going_away_answers_503_and_recovers_without_restart(tmp_path: Path) -> None:
    if not os.environ.get(PG_ENV):
        pytest.skip(f'needs {PG_ENV} (eval "$(.ci/postgres.sh)")')
    env = build_env("postgresql", tmp_path)
    h = auth(env.tokens["visa_unit"])
    name = env.url.rsplit("/", 1)[1]
    admin = sa.create_engine(os.environ[PG_ENV], isolation_level="AUTOCOMMIT")

    def allow(yes: bool) -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {"true" if yes else "false"}'))
            if not yes:
                conn.execute(
                    sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": name}
                )

    visible = next(i for i in env.world.ids("employer") if env.world.visible("visa_unit", "employer", i))
    try:
        assert env.client.get("/v1/worklists/employer", headers=h).status_code == 200
        assert env.client.get(f"/v1/entities/employer/{visible}", headers=h).status_code == 200  # fast path
        allow(False)
        for path in ("/v1/worklists/employer", "/readyz", "/v1/models", f"/v1/entities/employer/{visible}"):
            r = env.client.get(path, headers=h)
            assert r.status_code == 503, (path, r.status_code)
            assert r.headers["retry-after"] == str(env.settings.retry_after_s)
            assert r.json()["detail"] == "the score store is unavailable; retry shortly"
        allow(True)
        assert env.client.get("/readyz").status_code == 200
        assert env.client.get("/v1/worklists/employer", headers=h).status_code == 200
        # the entity-read fast path's held connection was dropped with the store and is taken anew: its reads are
        # answered there again, not passed to the route
        routed = count_route_calls(env.client.app.state.service)  # type: ignore[attr-defined]
        assert env.client.get(f"/v1/entities/employer/{visible}", headers=h).status_code == 200
        assert env.client.get(f"/v1/entities/employer/{visible}", headers=h).status_code == 200
        assert routed == []
        assert env.client.get("/v1/audit/verify", headers=auth(env.tokens["admin"])).json()["ok"] is True
    finally:
        allow(True)
        admin.dispose()
        env.client.close()
