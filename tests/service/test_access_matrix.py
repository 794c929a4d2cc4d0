"""Every route for every role with in-scope, out-of-scope and missing entities, generated from the role
definitions (service.roles.ROLES) and the fixture world's scope keys, never written by hand per case."""

from __future__ import annotations

import csv
import io
from urllib.parse import quote

import pytest
from openpyxl import load_workbook

from features.registry import ENTITY_TYPES
from service.core import COOKIE
from service.roles import ROLES
from tests.service.conftest import Env, auth, dashboard_session, make_world

WORLD = make_world()
MISSING = "no-such-entity"


def _case(role: str, entity_type: str, entity_id: str) -> tuple[str, str, str, str]:
    if entity_type not in ROLES[role].types:
        kind = "forbidden"
    elif entity_id == MISSING:
        kind = "missing"
    else:
        kind = "in" if WORLD.visible(role, entity_type, entity_id) else "out"
    return role, entity_type, entity_id, kind


CASES = [_case(r, t, i) for r in ROLES for (t, i) in WORLD.keys] + [
    _case(r, t, MISSING) for r in ROLES for t in ENTITY_TYPES
]
EXPECTED = {"in": 200, "out": 404, "missing": 404, "forbidden": 403}


def test_the_world_exercises_every_case() -> None:
    """Each role sees some and misses some entities of every type it may see (admin sees all)."""
    for role, definition in ROLES.items():
        for t in definition.types:
            kinds = {k for r, tt, _, k in CASES if r == role and tt == t}
            assert {"in", "missing"} <= kinds, (role, t)
            assert ("out" in kinds) != definition.types[t].everything, (role, t)
        assert any(k == "forbidden" for r, *_, k in CASES if r == role) == (len(definition.types) < len(ENTITY_TYPES))


def _id(case: tuple[str, str, str, str]) -> str:
    return f"{case[0]}-{case[1]}-{case[3]}-{case[2]}"


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_entity_api(env: Env, case: tuple[str, str, str, str]) -> None:
    role, entity_type, entity_id, kind = case
    r = env.client.get(f"/v1/entities/{entity_type}/{quote(entity_id, safe='')}", headers=auth(env.tokens[role]))
    assert r.status_code == EXPECTED[kind], r.text
    if kind == "in":
        body = r.json()
        assert body["entity_id"] == entity_id and body["reasons"] and len(body["history"]) == 2
        assert all(x["link"].startswith("/v1/indicators/") for x in body["reasons"])
    if kind in ("out", "missing"):
        missing = env.client.get(f"/v1/entities/{entity_type}/{MISSING}", headers=auth(env.tokens[role]))
        assert (r.status_code, r.json(), r.headers.get("content-length")) == (
            missing.status_code,
            missing.json(),
            missing.headers.get("content-length"),
        )


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_entity_page(env: Env, case: tuple[str, str, str, str]) -> None:
    role, entity_type, entity_id, kind = case
    env.client.cookies.set(COOKIE, dashboard_session(env, role))
    try:
        r = env.client.get(f"/entities/{entity_type}/{quote(entity_id, safe='')}", headers={"Accept": "text/html"})
    finally:
        env.client.cookies.clear()
    assert r.status_code == EXPECTED[kind]
    if kind == "in":
        assert 'id="reasons"' in r.text and "<svg" in r.text


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_outcome(env: Env, case: tuple[str, str, str, str]) -> None:
    role, entity_type, entity_id, kind = case
    body = {"entity_type": entity_type, "entity_id": entity_id, "decided_on": "2024-05-01", "kind": "complaint"}
    r = env.client.post("/v1/outcomes", json=body, headers=auth(env.tokens[role]))
    assert r.status_code == {**EXPECTED, "in": 201}[kind], r.text


WORKLIST_CASES = [(r, t) for r in ROLES for t in ENTITY_TYPES]


@pytest.mark.parametrize("fmt", ["json", "csv", "xlsx", "accept-csv"])
@pytest.mark.parametrize(("role", "entity_type"), WORKLIST_CASES)
def test_worklist(env: Env, role: str, entity_type: str, fmt: str) -> None:
    suffix = {"csv": ".csv", "xlsx": ".xlsx"}.get(fmt, "")
    headers = {**auth(env.tokens[role]), **({"Accept": "text/csv"} if fmt == "accept-csv" else {})}
    r = env.client.get(f"/v1/worklists/{entity_type}{suffix}?capacity=1000&explore=0", headers=headers)
    if entity_type not in ROLES[role].types:
        assert r.status_code == 403
        return
    assert r.status_code == 200, r.text
    expected = {i for i in WORLD.ids(entity_type) if WORLD.visible(role, entity_type, i)}
    if fmt == "json":
        got = {it["entity_id"] for it in r.json()["items"]}
    elif fmt == "xlsx":
        sheet = load_workbook(io.BytesIO(r.content)).active
        assert sheet is not None
        got = {str(row[2]) for row in sheet.iter_rows(min_row=2, values_only=True)}
    else:
        assert r.headers["content-type"].startswith("text/csv")
        got = {row["entity_id"] for row in csv.DictReader(io.StringIO(r.text))}
    assert got == expected


@pytest.mark.parametrize("role", list(ROLES))
def test_unscoped_routes(env: Env, role: str) -> None:
    h = auth(env.tokens[role])
    assert env.client.get("/v1/indicators", headers=h).status_code == 200
    assert env.client.get("/v1/indicators/E01", headers=h).status_code == 200
    assert env.client.get("/v1/indicators/NOPE", headers=h).status_code == 404
    models = env.client.get("/v1/models", headers=h)
    assert models.status_code == 200 and models.json()
    card = env.client.get(f"/v1/models/{models.json()[0]['model_id']}/card", headers=h)
    assert card.status_code == 200 and card.text.startswith("# Model card")
    assert env.client.get("/v1/models/nope/card", headers=h).status_code == 404
    audit_status = env.client.get("/v1/audit", headers=h).status_code
    assert audit_status == (200 if ROLES[role].may_read_audit else 403)
    assert env.client.get("/v1/audit/verify", headers=h).status_code == audit_status
