"""Authentication, validation, outcomes, audit chain, store outages, settings, metrics and demo users."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from models.worklist import DEFAULT_EXPLORATION_SHARE, MIN_EXPLORATION_SHARE, exploration_count
from service import audit
from service.api import create_app
from service.auth import add_user, authenticate, revoke_user
from service.outcomes import CONTRACT
from service.settings import InsecureSettings, Settings
from store.engine import connect
from store.publish import publish
from store.tables import audit_head, audit_log
from tests.service.conftest import SECRET, Env, auth, make_world, outcome_body, score_run

LEAKS = ("Traceback", "SELECT ", "sqlite", "psycopg", "/tmp", 'File "')


def _v1_paths(client: TestClient) -> list[tuple[str, str]]:
    out = []
    for route in client.app.routes:  # type: ignore[attr-defined]
        path = getattr(route, "path", "")
        if path.startswith("/v1"):
            for method in getattr(route, "methods", ()):
                filled = (
                    path.replace("{entity_type}", "employer")
                    .replace("{entity_id}", "E1")
                    .replace("{indicator_id}", "E01")
                    .replace("{model_id}", "m")
                )
                out.append((method, filled))
    return out


def test_every_v1_route_needs_a_token(env: Env) -> None:
    paths = _v1_paths(env.client)
    assert len(paths) >= 10
    for method, path in paths:
        for headers in ({}, auth("nope"), auth("abc.def"), {"Authorization": "Basic x"}):
            r = env.client.request(method, path, headers=headers, json={})
            assert r.status_code == 401, (method, path, r.status_code)
            assert r.headers["www-authenticate"] == "Bearer"


def test_revoked_token_stops_working(env: Env) -> None:
    engine = connect(env.url)
    token = add_user(engine, env.settings.secret, "temp", "admin")
    assert env.client.get("/v1/models", headers=auth(token)).status_code == 200
    revoke_user(engine, "temp")
    assert env.client.get("/v1/models", headers=auth(token)).status_code == 401
    # tokens are stored hashed only
    with engine.connect() as conn:
        stored = [r.token_hash for r in conn.execute(sa.text("SELECT token_hash FROM users"))]
    assert token not in stored and token.split(".")[1] not in json.dumps(stored)
    # a token checked with another secret key fails
    assert authenticate(engine, b"another-key", env.tokens["admin"]) is None
    engine.dispose()


def test_field_level_422(env: Env) -> None:
    h = auth(env.tokens["admin"])
    r = env.client.get("/v1/worklists/employer?capacity=0&explore=2", headers=h)
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == {"query.capacity", "query.explore"}
    assert env.client.get("/v1/entities/person/x", headers=h).json()["errors"][0]["field"] == "path.entity_type"
    bad = {"entity_type": "employer", "entity_id": "E1", "decided_on": "2999-01-01", "kind": "arrest", "extra": 1}
    r = env.client.post("/v1/outcomes", json={**bad, "indicators_observed": ["nationality"]}, headers=h)
    assert r.status_code == 422
    detail = {e["field"]: e["message"] for e in r.json()["errors"]}
    assert set(detail) == {"body.decided_on", "body.kind", "body.extra", "body.indicators_observed"}
    assert "complaint" in detail["body.kind"]  # the contract's value set is listed
    assert "arrest" not in r.text and "nationality" not in r.text.replace("allowed", "")  # input not echoed
    r = env.client.post("/v1/outcomes", content=b"{not json", headers={**h, "Content-Type": "application/json"})
    assert r.status_code == 422


def test_every_worklist_keeps_the_deployments_exploration_floor(env: Env) -> None:
    settings = env.settings.model_copy(update={"min_exploration_share": MIN_EXPLORATION_SHARE})
    with TestClient(create_app(settings)) as client:
        h = auth(env.tokens["admin"])
        for share in ("0", "0.04"):
            r = client.get(f"/v1/worklists/employer?capacity=20&explore={share}", headers=h)
            assert r.status_code == 422, r.text
            assert r.json()["errors"][0]["field"] == "query.explore" and "at least 0.05" in r.text
        for query, share in (("&explore=0.05", MIN_EXPLORATION_SHARE), ("", DEFAULT_EXPLORATION_SHARE)):
            wl = client.get(f"/v1/worklists/employer?capacity=20{query}", headers=h).json()
            assert wl["exploration_share"] == share and len(wl["items"]) > 2
            assert sum(it["exploration"] for it in wl["items"]) == exploration_count(len(wl["items"]), share) >= 1
        page = client.get("/worklists/employer?capacity=20&explore=0", headers={**h, "Accept": "text/html"})
        assert page.status_code == 422 and page.headers["content-type"].startswith("text/html")
        assert "query.explore: at least 0.05" in page.text


def test_outcome_lands_for_the_next_training_run(env: Env) -> None:
    h = auth(env.tokens["labour_inspectorate"])
    wl = env.client.get("/v1/worklists/employer?capacity=3&explore=0.34", headers=h).json()
    picks = {it["entity_id"]: it["exploration"] for it in wl["items"]}
    assert sum(picks.values()) == 1 and len(picks) == 3
    for entity_id, exploration in picks.items():
        body = outcome_body(
            entity_id,
            "substantiated_forced_labour",
            ["debt_bondage", "retention_of_identity_documents"],
            wl["worklist_id"],
        )
        r = env.client.post("/v1/outcomes", json=body, headers=h)
        assert r.status_code == 201, r.text
        out = r.json()
        assert out["exploration"] is exploration and out["worklist_id"] == wl["worklist_id"]
        files = list((env.home / "landing" / "outcomes").glob(f"enforcement_outcome-*-{out['outcome_id']}.csv"))
        assert len(files) == 1
        with files[0].open(encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        assert len(rows) == 1
        row = rows[0]
        assert set(CONTRACT.columns) <= set(row)
        assert row["entity_ref"] == entity_id and row["kind"] == "substantiated_forced_labour"
        assert row["exploration"] == ("true" if exploration else "false")
        assert row["indicators_observed"] == "debt_bondage;retention_of_identity_documents"
        assert not any(k in r.text for k in ("landing", "/tmp"))


def test_audit_chain_records_reads_and_detects_tampering(env: Env) -> None:
    h = auth(env.tokens["admin"])
    for entity_id in ("E2", "E3", "E4"):
        env.client.get(f"/v1/entities/employer/{entity_id}", headers=h)
    env.client.get("/v1/entities/employer/E1", headers=h)
    env.client.get("/v1/worklists/recruiter", headers=h)
    entries = env.client.get("/v1/audit?limit=5", headers=h).json()
    assert [e["action"] for e in entries[:2]] == ["worklist.read", "entity.read"]
    assert entries[1]["entity_id"] == "E1" and entries[1]["actor"] == "admin-user"
    assert env.client.get("/v1/audit/verify", headers=h).json()["ok"] is True

    engine = connect(env.url)
    key = env.settings.secret
    assert audit.verify(engine, key).ok
    with engine.begin() as conn:  # edit one entry
        original = conn.execute(sa.select(audit_log).where(audit_log.c.seq == 2)).one()
        conn.execute(sa.update(audit_log).where(audit_log.c.seq == 2).values(actor="someone-else"))
    result = audit.verify(engine, key)
    assert not result.ok and any("entry 2" in p and "edited" in p for p in result.problems)
    with engine.begin() as conn:
        conn.execute(sa.update(audit_log).where(audit_log.c.seq == 2).values(actor=original.actor))
        conn.execute(sa.delete(audit_log).where(audit_log.c.seq == 3))  # delete one in the middle
    result = audit.verify(engine, key)
    assert not result.ok and any("missing" in p for p in result.problems)
    runner = CliRunner()
    from flows.cli import app as cli

    cli_env = {"TRACERISK_STORE_URL": env.url, "TRACERISK_SECRET_KEY": SECRET, "TRACERISK_MODE": "production"}
    cli_result = runner.invoke(cli, ["audit", "verify"], env=cli_env)
    assert cli_result.exit_code == 1 and "BROKEN" in cli_result.output
    # then drop the newest entry
    with engine.connect() as conn:
        last = conn.execute(sa.select(sa.func.max(audit_log.c.seq))).scalar_one()
    with engine.begin() as conn:
        conn.execute(sa.delete(audit_log).where(audit_log.c.seq == last))
    result = audit.verify(engine, key)
    assert any("head" in p for p in result.problems)
    # a forged head without the key does not help: hashes are keyed
    with engine.begin() as conn:
        conn.execute(sa.update(audit_head).values(seq=last - 1))
    assert not audit.verify(engine, key).ok
    engine.dispose()


def test_store_outage_answers_503_and_recovers(tmp_path: Path) -> None:
    home = tmp_path / "not-yet"
    settings = Settings(home=home, secret_key=SECRET, mode="production", retry_after_s=7)
    client = TestClient(create_app(settings))
    for path in ("/readyz", "/v1/models", "/v1/entities/employer/E1"):
        r = client.get(path, headers=auth("x.y"))
        assert r.status_code == 503 and r.headers["retry-after"] == "7"
        assert not any(leak in r.text for leak in LEAKS), r.text
    assert client.get("/healthz").status_code == 200
    home.mkdir()  # the store comes back: no restart needed
    engine = connect(settings.resolved_store_url())
    publish(engine, score_run(make_world(), "run-1", "2024-01-01", 0.0))
    token = add_user(engine, settings.secret, "a", "admin")
    assert client.get("/readyz").status_code == 200
    assert client.get("/v1/entities/employer/E1", headers=auth(token)).status_code == 200
    engine.dispose()


def test_production_refuses_default_secrets(tmp_path: Path) -> None:
    with pytest.raises(InsecureSettings):
        create_app(Settings(home=tmp_path, mode="production"))
    with pytest.raises(InsecureSettings):
        Settings(home=tmp_path, mode="production", secret_key="short").check()
    create_app(Settings(home=tmp_path))  # development mode is allowed to use the default
    result = CliRunner().invoke(
        __import__("flows.cli", fromlist=["app"]).app,
        ["users", "add", "x", "--role", "admin"],
        env={"TRACERISK_MODE": "production", "TRACERISK_HOME": str(tmp_path), "TRACERISK_SECRET_KEY": ""},
    )
    assert result.exit_code == 2


def test_cli_users_add_prints_the_token_last(tmp_path: Path) -> None:
    from flows.cli import app as cli

    engine = connect(f"sqlite:///{tmp_path / 'serving.db'}")
    publish(engine, score_run(make_world(), "run-2024-04-01", "2024-04-01", 0.0))
    portfolio = tmp_path / "portfolio.csv"
    portfolio.write_text("employer_id\nE1\nE2\nE99\n", encoding="utf-8")
    cli_env = {"TRACERISK_HOME": str(tmp_path), "TRACERISK_SECRET_KEY": SECRET, "TRACERISK_MODE": "production"}
    runner = CliRunner()
    args = ["users", "add", "Auditor A", "--role", "supply_chain_auditor", "--portfolio", str(portfolio)]
    result = runner.invoke(cli, [*args, "--jurisdiction", "Atlantis"], env=cli_env)
    assert result.exit_code == 0, result.output
    warned = [line.split("'")[1] for line in result.output.splitlines() if line.startswith("warning: ")]
    assert warned == ["Atlantis", "E99"]  # E1 and E2 are published employers
    token = result.output.strip().splitlines()[-1].split()[-1]
    user = authenticate(engine, SECRET.encode(), token)
    assert user is not None and user.portfolio == ("E1", "E2", "E99") and user.role == "supply_chain_auditor"
    bad = runner.invoke(cli, ["users", "add", "B", "--role", "king"], env=cli_env)
    assert bad.exit_code == 2 and "unknown role" in bad.output
    assert runner.invoke(cli, ["users", "revoke", "Auditor A"], env=cli_env).exit_code == 0
    assert authenticate(engine, SECRET.encode(), token) is None
    engine.dispose()


def test_metrics_and_probes(env: Env) -> None:
    env.client.get("/v1/models", headers=auth(env.tokens["admin"]))
    text = env.client.get("/metrics").text
    assert 'tracerisk_http_requests_total{method="GET",route="/v1/models",status="200"}' in text
    assert "tracerisk_http_request_seconds_bucket" in text
    ready = env.client.get("/readyz").json()
    assert ready["status"] == "ready" and "employer" in ready["published"]
    assert env.client.app.openapi()["info"]["title"] == "tracerisk"  # type: ignore[attr-defined]
    assert env.client.get("/openapi.json").status_code == 404  # production mode: no docs


def test_demo_users_one_per_role_each_sees_something(env: Env) -> None:
    from service.demo import create_demo_users
    from service.roles import ROLES

    engine = connect(env.url)
    made = create_demo_users(engine, env.settings.secret)
    again = create_demo_users(engine, env.settings.secret)  # re-running replaces them
    engine.dispose()
    assert [m[1] for m in made] == list(ROLES) == [m[1] for m in again]
    for _, role, _, token in again:
        entity_type = next(iter(ROLES[role].types))
        r = env.client.get(f"/v1/worklists/{entity_type}?capacity=50", headers=auth(token))
        assert r.status_code == 200 and r.json()["items"], role
    for _, _, _, token in made:
        assert env.client.get("/v1/models", headers=auth(token)).status_code == 401


def test_an_entity_id_holding_a_slash_is_read_through_the_api(tmp_path: Path) -> None:
    """A desk of a post named "n/a" by its source: its id reaches the route whole, encoded or not, on the fast
    path and on the stack (the app without its fast path)."""
    world = make_world()
    desk = "n/a:ps_00000000000000000abc"
    world.keys[("visa_desk", desk)] = [("post", "n/a"), ("country", "CX")]
    world.names[("visa_desk", desk)] = f"visa desk {desk}"
    url = f"sqlite:///{tmp_path / 'serving.db'}"
    engine = connect(url)
    publish(engine, score_run(world, "run-2024-04-01", "2024-04-01", 0.0))
    settings = Settings(home=tmp_path, store_url=url, secret_key=SECRET, mode="production", rate_limit_per_minute=0)
    token = add_user(engine, settings.secret, "admin-user", "admin", (), ())
    engine.dispose()
    for fast in (True, False):
        app = create_app(settings)
        if not fast:
            app.entity_fast_path = None
        with TestClient(app) as client:
            for path in ("n/a:ps_00000000000000000abc", "n%2Fa%3Aps_00000000000000000abc"):
                r = client.get(f"/v1/entities/visa_desk/{path}", headers=auth(token))
                assert r.status_code == 200 and r.json()["entity_id"] == desk, (fast, path, r.text)
