"""Access and limits: rate limit, body and page limits, token expiry, no existence leaks in 403 / 404,
security headers, CORS, docs off in production, audit chain checked at start, and the response scan itself."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from service.api import create_app
from service.auth import add_user
from service.core import COOKIE, MAX_CAPACITY, AuditChainBroken
from service.roles import ROLES
from service.settings import Settings
from store.engine import connect
from store.tables import audit_log, users
from tests.service.conftest import SCAN, SECRET, Env, auth, build_env, dashboard_session, make_world

WORLD = make_world()
MISSING = "no-such-entity"


@pytest.fixture(scope="module")
def sqlite_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    e = build_env("sqlite", tmp_path_factory.mktemp("hardening"))
    yield e
    e.client.close()


def _app(env: Env, **over: object) -> TestClient:
    return TestClient(create_app(env.settings.model_copy(update=over)))


# --- request limits ------------------------------------------------------------------------------------------------


def test_rate_limit_per_token_answers_429_with_retry_after(sqlite_env: Env) -> None:
    client = _app(sqlite_env, rate_limit_per_minute=60, rate_limit_burst=3)
    admin, other = auth(sqlite_env.tokens["admin"]), auth(sqlite_env.tokens["visa_unit"])
    assert [client.get("/v1/indicators", headers=admin).status_code for _ in range(3)] == [200] * 3
    limited = client.get("/v1/indicators", headers=admin)
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert limited.json()["detail"] == "too many requests; retry later"
    assert client.get("/v1/indicators", headers=other).status_code == 200  # per token, not global
    # failing tokens are limited per client address (guessing is throttled too)
    bad = [client.get("/v1/indicators", headers=auth(f"x{i}.y")).status_code for i in range(5)]
    assert bad[:3] == [401] * 3 and bad[3:] == [429, 429]
    time.sleep(1.1)  # one token refilled (60 per minute)
    assert client.get("/v1/indicators", headers=admin).status_code == 200
    assert "tracerisk_rate_limited_total 3.0" in client.get("/metrics").text


def test_body_size_limit_413_declared_and_streamed(sqlite_env: Env) -> None:
    client = _app(sqlite_env, max_body_bytes=2048)
    h = {**auth(sqlite_env.tokens["admin"]), "Content-Type": "application/json"}
    big = b'{"entity_type": "employer", "entity_id": "' + b"x" * 5000 + b'"}'
    r = client.post("/v1/outcomes", content=big, headers=h)
    assert r.status_code == 413 and "too large" in r.json()["detail"]
    assert r.headers["x-content-type-options"] == "nosniff"

    def chunks() -> Iterator[bytes]:  # no Content-Length: chunked transfer
        yield big[:1000]
        yield big[1000:]

    assert client.post("/v1/outcomes", content=chunks(), headers=h).status_code == 413
    small = {"entity_type": "employer", "entity_id": "E1", "decided_on": "2024-05-01", "kind": "complaint"}
    assert client.post("/v1/outcomes", json=small, headers=h).status_code == 201
    assert client.post("/login", content=b"token=" + b"a" * 5000).status_code == 413


def test_page_size_limits(sqlite_env: Env) -> None:
    h = auth(sqlite_env.tokens["admin"])
    c = sqlite_env.client
    assert c.get(f"/v1/worklists/employer?capacity={MAX_CAPACITY}", headers=h).status_code == 200
    r = c.get(f"/v1/worklists/employer?capacity={MAX_CAPACITY + 1}", headers=h)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.capacity"
    assert c.get("/v1/audit?limit=1001", headers=h).status_code == 422
    assert c.get(f"/v1/entities/employer/{'x' * 201}", headers=h).status_code == 422


# --- tokens --------------------------------------------------------------------------------------------------------


def test_token_expiry_takes_effect_at_once(sqlite_env: Env) -> None:
    engine = connect(sqlite_env.url)
    try:
        token = add_user(engine, sqlite_env.settings.secret, "expiring", "admin", expires_in=timedelta(hours=1))
        assert sqlite_env.client.get("/v1/models", headers=auth(token)).status_code == 200
        with engine.begin() as conn:  # the hour is over
            conn.execute(
                sa.update(users).where(users.c.name == "expiring").values(expires_at="2000-01-01T00:00:00+00:00")
            )
        assert sqlite_env.client.get("/v1/models", headers=auth(token)).status_code == 401
        gone = add_user(engine, sqlite_env.settings.secret, "born-expired", "admin", expires_in=timedelta(seconds=-1))
        assert sqlite_env.client.get("/v1/models", headers=auth(gone)).status_code == 401
    finally:
        engine.dispose()


def test_cli_users_add_sets_an_expiry(tmp_path: Path) -> None:
    from flows.cli import app as cli

    cli_env = {"TRACERISK_HOME": str(tmp_path), "TRACERISK_SECRET_KEY": SECRET, "TRACERISK_MODE": "production"}
    assert CliRunner().invoke(cli, ["users", "add", "a", "--role", "admin"], env=cli_env).exit_code == 0
    args = ["users", "add", "b", "--role", "admin", "--expires-in-days", "0"]
    assert CliRunner().invoke(cli, args, env=cli_env).exit_code == 0
    engine = connect(f"sqlite:///{tmp_path / 'serving.db'}")
    with engine.connect() as conn:
        expiry = dict(conn.execute(sa.select(users.c.name, users.c.expires_at)).all())
    engine.dispose()
    assert expiry["b"] is None and expiry["a"] is not None and expiry["a"][:4].isdigit()


# --- no existence leaks ----------------------------------------------------------------------------------------------


def _comparable(r: object) -> tuple[int, bytes, list[tuple[str, str]]]:
    per_request = ("date", "x-request-id")  # differ between any two requests, hidden or not
    headers = sorted((k, v) for k, v in r.headers.items() if k not in per_request)  # type: ignore[attr-defined]
    return r.status_code, r.content, headers  # type: ignore[attr-defined]


LEAK_CASES = [
    (role, t, eid)
    for role in ROLES
    for (t, eid) in WORLD.keys
    if not WORLD.visible(role, t, eid)  # out of scope, or a type the role may not see
]


@pytest.mark.parametrize(("role", "entity_type", "entity_id"), LEAK_CASES[::3])  # a third of them: all kinds occur
def test_403_and_404_bodies_do_not_reveal_existence(env: Env, role: str, entity_type: str, entity_id: str) -> None:
    """An entity that exists but is hidden answers byte for byte what a missing one does, on every route."""
    h = auth(env.tokens[role])
    c = env.client
    pairs = [
        (c.get(f"/v1/entities/{entity_type}/{quote(eid, safe='')}", headers=h) for eid in (entity_id, MISSING)),
        (
            c.post(
                "/v1/outcomes",
                json={"entity_type": entity_type, "entity_id": eid, "decided_on": "2024-05-01", "kind": "complaint"},
                headers=h,
            )
            for eid in (entity_id, MISSING)
        ),
    ]
    for hidden, missing in (tuple(p) for p in pairs):
        assert hidden.status_code in (403, 404)
        assert _comparable(hidden) == _comparable(missing)
    c.cookies.set(COOKIE, dashboard_session(env, role))
    try:
        hidden, missing = (
            c.get(f"/entities/{entity_type}/{quote(eid, safe='')}", headers={"Accept": "text/html"})
            for eid in (entity_id, MISSING)
        )
    finally:
        c.cookies.clear()
    assert hidden.status_code in (403, 404)
    assert _comparable(hidden)[:2] == _comparable(missing)[:2]


def test_leak_cases_cover_forbidden_and_out_of_scope() -> None:
    kinds = {entity_type in ROLES[role].types for role, entity_type, _ in LEAK_CASES[::3]}
    assert kinds == {True, False}


# --- headers, CORS, docs ---------------------------------------------------------------------------------------------


def test_security_headers_on_every_kind_of_response(sqlite_env: Env) -> None:
    c = sqlite_env.client
    h = auth(sqlite_env.tokens["admin"])
    responses = [
        c.get("/v1/entities/employer/E1", headers=h),
        c.get("/v1/entities/employer/nope", headers=h),
        c.get("/v1/models"),  # 401
        c.get("/login"),
        c.get("/healthz"),
        c.get("/v1/worklists/employer.csv", headers=h),
    ]
    for r in responses:
        assert r.headers["x-content-type-options"] == "nosniff", r.url
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["referrer-policy"] == "no-referrer"
        assert r.headers["cache-control"] == "no-store"
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert "script-src" not in r.headers["content-security-policy"]  # default-src 'none': no scripts at all
        assert "access-control-allow-origin" not in r.headers
        assert "strict-transport-security" not in r.headers  # only behind HTTPS (cookie_secure)
        assert "server" not in r.headers or "uvicorn" not in r.headers["server"]
    assert "strict-transport-security" in _app(sqlite_env, cookie_secure=True).get("/healthz").headers


def test_cors_closed_by_default_and_open_only_to_listed_origins(sqlite_env: Env) -> None:
    h = auth(sqlite_env.tokens["admin"])
    preflight = {"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
    closed = sqlite_env.client.options("/v1/models", headers=preflight)
    assert "access-control-allow-origin" not in closed.headers
    got = sqlite_env.client.get("/v1/models", headers={**h, "Origin": "https://evil.example"})
    assert got.status_code == 200 and "access-control-allow-origin" not in got.headers
    opened = _app(sqlite_env, cors_origins=["https://dashboard.example"])
    ok = opened.get("/v1/models", headers={**h, "Origin": "https://dashboard.example"})
    assert ok.headers["access-control-allow-origin"] == "https://dashboard.example"
    other = opened.get("/v1/models", headers={**h, "Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def test_docs_and_debug_off_outside_development(sqlite_env: Env, tmp_path: Path) -> None:
    production = sqlite_env.client
    assert production.app.debug is False  # type: ignore[attr-defined]
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert production.get(path).status_code == 404
    dev = TestClient(create_app(Settings(home=tmp_path, store_url=sqlite_env.url)))
    assert dev.get("/openapi.json").status_code == 200 and dev.get("/docs").status_code == 200
    assert "content-security-policy" not in dev.get("/docs").headers  # Swagger UI runs its script
    assert dev.app.debug is False  # type: ignore[attr-defined]
    told = _app(sqlite_env, docs=True)
    assert told.get("/openapi.json").json()["info"]["title"] == "tracerisk"
    boom = production.get("/v1/entities/employer/E1", headers={"Authorization": "Bearer " + "x" * 5000})
    assert boom.status_code == 401 and "Traceback" not in boom.text


# --- audit chain at start --------------------------------------------------------------------------------------------


def test_service_refuses_to_start_on_a_broken_audit_chain(tmp_path: Path) -> None:
    env = build_env("sqlite", tmp_path)
    with TestClient(env.client.app) as client:  # lifespan runs: the intact chain verifies
        assert client.get("/v1/entities/employer/E1", headers=auth(env.tokens["admin"])).status_code == 200
    engine = connect(env.url)
    with engine.begin() as conn:
        conn.execute(sa.update(audit_log).where(audit_log.c.seq == 1).values(actor="someone-else"))
    engine.dispose()
    with pytest.raises(AuditChainBroken, match="TRACERISK_ALLOW_BROKEN_AUDIT"), TestClient(create_app(env.settings)):
        pass
    allowed = create_app(env.settings.model_copy(update={"allow_broken_audit": True}))
    with TestClient(allowed) as client:
        assert client.get("/healthz").status_code == 200
    from flows.cli import app as cli

    cli_env = {"TRACERISK_STORE_URL": env.url, "TRACERISK_SECRET_KEY": SECRET, "TRACERISK_MODE": "production"}
    result = CliRunner().invoke(cli, ["serve", "--port", "1"], env=cli_env)
    assert result.exit_code == 1 and "hash chain is broken" in result.output


def test_store_down_at_start_still_starts(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "absent", secret_key=SECRET, mode="production")
    with TestClient(create_app(settings)) as client:
        assert client.get("/readyz").status_code == 503


# --- the response scan ----------------------------------------------------------------------------------------------


def test_the_response_scan_sees_responses_and_catches_raw_ids(sqlite_env: Env) -> None:
    seen = SCAN.responses
    sqlite_env.client.get("/healthz")
    assert SCAN.responses == seen + 1
    before = len(SCAN.violations)
    for planted in (b"applicant P000000003259 seen", b'{"officer": "CO293946"}', b"BO520590,LI232806"):
        SCAN.check("/planted", planted)
    caught = SCAN.violations[before:]
    del SCAN.violations[before:]  # planted here on purpose
    assert [v.split(": ")[1] for v in caught] == ["P000000003259", "CO293946", "BO520590", "LI232806"]
    SCAN.check("/fine", b"ps_00000000000000000c8 RN00003251 E1 COR-MAN:ps_00 2024-01-01")
    assert len(SCAN.violations) == before
