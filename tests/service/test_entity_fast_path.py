"""The entity-read fast path (service/fast_path.py ``EntityReadFastPath``) against the FastAPI route it short-cuts.

A bearer-token read goes through the fast path; the same read with the dashboard cookie always goes through the
route. For every role and every kind of outcome (found, missing, out of scope, forbidden type, bad token, id too
long) both must give the same status, the same body bytes and the same audit entries, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from features.registry import ENTITY_TYPES
from service.api import create_app
from service.auth import add_user, revoke_user
from service.core import COOKIE
from service.roles import ROLES
from service.routes.entities import ENTITY_PATH, MAX_ENTITY_ID
from store.engine import connect
from store.tables import audit_log, users
from tests.service.conftest import JURISDICTIONS, Env, auth, count_route_calls, dashboard_session


def _cases(env: Env, role: str) -> list[tuple[str, str, str]]:
    """(label, entity type, entity id): one of each outcome the role can meet."""
    cases = [("missing", "employer", "no-such-entity"), ("too long", "employer", "x" * (MAX_ENTITY_ID + 1))]
    cases.append(("unknown type", "person", "E1"))
    for t in ENTITY_TYPES:
        ids = env.world.ids(t)
        seen = [i for i in ids if env.world.visible(role, t, i)]
        hidden = [i for i in ids if not env.world.visible(role, t, i)]
        if seen:
            cases.append(("visible", t, seen[0]))
        if hidden:
            cases.append(("out of scope or forbidden", t, hidden[0]))
    return cases


def _audit_tail(env: Env, after: int) -> list[tuple[Any, ...]]:
    engine = connect(env.url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(audit_log.c.actor, audit_log.c.action, audit_log.c.entity_type, audit_log.c.entity_id)
                .where(audit_log.c.seq > after)
                .order_by(audit_log.c.seq)
            )
            return [tuple(r) for r in rows]
    finally:
        engine.dispose()


def _last_seq(env: Env) -> int:
    engine = connect(env.url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(audit_log.c.seq), 0))).scalar_one())
    finally:
        engine.dispose()


@pytest.fixture()
def counted_route(env: Env) -> Iterator[list[str]]:
    """Every call of the route's service method (the fast path never calls it)."""
    service = env.client.app.state.service  # type: ignore[attr-defined]
    original = service.entity_async
    yield count_route_calls(service)
    service.entity_async = original


@pytest.mark.parametrize("role", sorted(ROLES))
def test_fast_path_answers_like_the_route(env: Env, role: str, counted_route: list[str]) -> None:
    token = env.tokens[role]
    for label, entity_type, entity_id in _cases(env, role):
        path = f"/v1/entities/{entity_type}/{entity_id}"
        before = _last_seq(env)
        calls = len(counted_route)
        request_id = {"X-Request-ID": "fast-path-or-route"}  # the same incoming id: the same echoed header
        fast = env.client.get(path, headers={**auth(token), **request_id})
        fast_audit = _audit_tail(env, before)
        answered_here = len(counted_route) == calls
        before = _last_seq(env)
        env.client.cookies.set(COOKIE, dashboard_session(env, role))
        try:
            routed = env.client.get(path, headers=request_id)
        finally:
            env.client.cookies.clear()
        routed_audit = _audit_tail(env, before)
        where = f"{role} {label} {entity_type}/{entity_id[:20]}"
        assert fast.status_code == routed.status_code, where
        assert fast.content == routed.content, where
        assert dict(fast.headers) == dict(routed.headers), where  # security headers, type, length alike
        assert fast_audit == routed_audit, where
        # found entities are answered by the fast path; 403 and 404 by the route (422 never reaches its body)
        if fast.status_code in (200, 403, 404):
            assert answered_here == (fast.status_code == 200), where
        if fast.status_code == 200:
            assert len(fast_audit) == 1 and fast_audit[0][1] == "entity.read", where


def test_bad_tokens_answer_like_the_route(env: Env) -> None:
    path = f"/v1/entities/employer/{env.world.ids('employer')[0]}"
    for headers in ({"Authorization": "Bearer nope.nope"}, {"Authorization": "Basic abc"}, {}):
        fast = env.client.get(path, headers=headers)
        assert fast.status_code == 401
        assert fast.json()["detail"] == "a valid bearer token is required"
        assert fast.headers["www-authenticate"] == "Bearer"


def test_fallback_is_charged_once_against_the_rate_limit(env: Env) -> None:
    """A read the fast path passes on (here: 404) takes one request from the token's bucket, not two."""
    client = TestClient(create_app(env.settings.model_copy(update={"rate_limit_per_minute": 1, "rate_limit_burst": 3})))
    headers = auth(env.tokens["admin"])
    codes = [client.get("/v1/entities/employer/no-such-entity", headers=headers).status_code for _ in range(4)]
    assert codes == [404, 404, 404, 429]
    visible = env.world.ids("employer")[0]
    client2 = TestClient(
        create_app(env.settings.model_copy(update={"rate_limit_per_minute": 1, "rate_limit_burst": 2}))
    )
    codes = [client2.get(f"/v1/entities/employer/{visible}", headers=headers).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    limited = client2.get(f"/v1/entities/employer/{visible}", headers=headers)
    assert limited.json()["detail"] == "too many requests; retry later" and int(limited.headers["retry-after"]) >= 1


def test_fast_path_reads_carry_headers_and_metrics(env: Env) -> None:
    client = TestClient(create_app(env.settings))
    entity_id = env.world.ids("employer")[0]
    answer = client.get(f"/v1/entities/employer/{entity_id}", headers=auth(env.tokens["admin"]))
    assert answer.status_code == 200 and answer.json()["entity_id"] == entity_id
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["cache-control"] == "no-store"
    assert int(answer.headers["content-length"]) == len(answer.content)
    metrics = client.get("/metrics").text
    line = f'tracerisk_http_requests_total{{method="GET",route="{ENTITY_PATH}",status="200"}} 1.0'
    assert line in metrics


def test_reads_with_a_body_or_an_origin_go_through_the_stack(env: Env, counted_route: list[str]) -> None:
    """A GET with a body (the guard's size limit applies) or, with CORS on, a cross-origin read (CORS headers)
    is answered by the route, with the same result."""
    entity_id = env.world.ids("employer")[0]
    path = f"/v1/entities/employer/{entity_id}"
    headers = auth(env.tokens["admin"])
    plain = env.client.get(path, headers=headers)
    assert plain.status_code == 200 and counted_route == []
    with_body = env.client.request("GET", path, headers=headers, content=b"{}")
    assert with_body.status_code == 200 and with_body.content == plain.content and counted_route == [entity_id]
    origin = "https://audit.example"
    app = create_app(env.settings.model_copy(update={"cors_origins": [origin]}))
    routed = count_route_calls(app.state.service)
    client = TestClient(app)
    assert client.get(path, headers=headers).status_code == 200 and routed == []  # same origin: fast path
    cross = client.get(path, headers={**headers, "Origin": origin})
    assert cross.status_code == 200 and cross.headers["access-control-allow-origin"] == origin
    assert cross.content == plain.content and routed == [entity_id]


def test_a_changed_user_row_applies_to_the_next_read(env: Env) -> None:
    """Users are kept by the stored row they were built from: a revoked token or a narrowed scope takes effect on
    the very next read (the fast path's own connection sees the commit)."""
    entity_id = next(i for i in env.world.ids("employer") if env.world.visible("labour_inspectorate", "employer", i))
    path = f"/v1/entities/employer/{entity_id}"
    engine = connect(env.url)
    try:
        token = add_user(engine, env.settings.secret, "narrowing", "labour_inspectorate", JURISDICTIONS)
        assert env.client.get(path, headers=auth(token)).status_code == 200
        with engine.begin() as conn:
            conn.execute(sa.update(users).where(users.c.name == "narrowing").values(jurisdictions='["NOWHERE"]'))
        assert env.client.get(path, headers=auth(token)).status_code == 404
        revoke_user(engine, "narrowing")
        assert env.client.get(path, headers=auth(token)).status_code == 401
    finally:
        engine.dispose()
