"""API conventions: RFC 9457 problem details on every error, the bearer scheme in OpenAPI, Swagger UI from local
assets, a request id on every answer (echoed when sane) and in the JSON access line, the fast path included."""

from __future__ import annotations

import logging
from http import HTTPStatus
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.api import create_app
from service.problems import PROBLEM_JSON
from service.settings import Settings
from tests.service.conftest import Env, auth

MISSING = "no-such-entity"


def _is_problem(r: object, status: int) -> dict[str, object]:
    assert r.status_code == status  # type: ignore[attr-defined]
    assert r.headers["content-type"] == PROBLEM_JSON  # type: ignore[attr-defined]
    body: dict[str, object] = r.json()  # type: ignore[attr-defined]
    assert body["type"] == "about:blank"
    assert body["title"] == HTTPStatus(status).phrase
    assert body["status"] == status
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def test_every_kind_of_error_is_a_problem_document(env: Env) -> None:
    c = env.client
    admin = auth(env.tokens["admin"])
    _is_problem(c.get("/v1/models"), 401)
    _is_problem(c.get("/v1/entities/visa_desk/x", headers=auth(env.tokens["labour_inspectorate"])), 403)
    _is_problem(c.get(f"/v1/entities/employer/{MISSING}", headers=admin), 404)
    _is_problem(c.get("/v1/indicators/NOPE", headers=admin), 404)
    _is_problem(c.get("/no/such/route"), 404)
    _is_problem(c.post("/v1/indicators", headers=admin), 405)
    too_big = c.post("/v1/outcomes", content=b"x" * (env.settings.max_body_bytes + 1), headers=admin)
    _is_problem(too_big, 413)
    invalid = _is_problem(c.get("/v1/worklists/employer?capacity=0&explore=2", headers=admin), 422)
    assert [e["field"] for e in invalid["errors"]] == ["query.capacity", "query.explore"]  # type: ignore[attr-defined]
    assert invalid["detail"] == "invalid query.capacity, query.explore"
    limited = TestClient(create_app(env.settings.model_copy(update={"rate_limit_per_minute": 1})))
    limited_admin = [limited.get("/v1/indicators", headers=admin) for _ in range(200)][-1]
    assert _is_problem(limited_admin, 429)["detail"] == "too many requests; retry later"


def test_hidden_and_missing_entities_answer_the_same_problem_bytes(env: Env) -> None:
    scoped = auth(env.tokens["labour_inspectorate"])
    hidden_id = next(
        i for i in env.world.ids("employer") if not env.world.visible("labour_inspectorate", "employer", i)
    )
    same_id = {"X-Request-ID": "same"}
    hidden = env.client.get(f"/v1/entities/employer/{hidden_id}", headers={**scoped, **same_id})
    missing = env.client.get(f"/v1/entities/employer/{MISSING}", headers={**scoped, **same_id})
    _is_problem(hidden, 404)
    assert hidden.content == missing.content
    assert {k: v for k, v in hidden.headers.items() if k != "date"} == {
        k: v for k, v in missing.headers.items() if k != "date"
    }


def test_openapi_declares_the_bearer_scheme_on_authenticated_operations(tmp_path: Path, env: Env) -> None:
    dev = TestClient(create_app(Settings(home=tmp_path, store_url=env.url)))
    document = dev.get("/openapi.json").json()
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "opaque token",
        "description": "A token printed once by `tracerisk users add` (or `tracerisk users demo`).",
    }
    operations = {(path, method): op for path, item in document["paths"].items() for method, op in item.items()}
    assert operations[("/v1/entities/{entity_type}/{entity_id}", "get")]["security"] == [{"bearer": []}]
    assert operations[("/v1/worklists/{entity_type}", "get")]["security"] == [{"bearer": []}]
    assert "security" not in operations[("/healthz", "get")]
    not_found = operations[("/v1/indicators/{indicator_id}", "get")]["responses"]["404"]["content"]
    assert not_found[PROBLEM_JSON]["schema"] == {"$ref": "#/components/schemas/Problem"}
    assert "errors" in document["components"]["schemas"]["ValidationProblem"]["properties"]


def test_swagger_ui_loads_its_assets_from_the_service(tmp_path: Path, env: Env) -> None:
    dev = TestClient(create_app(Settings(home=tmp_path, store_url=env.url)))
    page = dev.get("/docs")
    assert page.status_code == 200
    assert "/docs/assets/swagger-ui-bundle.js" in page.text and "/docs/assets/swagger-ui.css" in page.text
    assert "cdn" not in page.text.lower() and "https://" not in page.text
    script = dev.get("/docs/assets/swagger-ui-bundle.js")
    assert script.status_code == 200 and len(script.content) > 100_000
    assert dev.get("/docs/assets/swagger-ui.css").status_code == 200
    assert dev.get("/redoc").status_code == 404  # ReDoc would load its script from a CDN
    production = env.client
    assert production.get("/docs").status_code == 404
    assert production.get("/docs/assets/swagger-ui-bundle.js").status_code == 404


def test_request_id_is_echoed_when_sane_and_made_otherwise(env: Env) -> None:
    c = env.client
    assert c.get("/healthz", headers={"X-Request-ID": "abc-123.x:y_Z"}).headers["x-request-id"] == "abc-123.x:y_Z"
    made = {c.get("/healthz").headers["x-request-id"] for _ in range(3)}
    assert len(made) == 3 and all(len(m) == 32 and int(m, 16) >= 0 for m in made)
    for insane in ("a b", "x" * 129, "<script>", "ä"):
        replaced = c.get("/healthz", headers={"X-Request-ID": insane.encode()}).headers
        assert replaced["x-request-id"] != insane and len(replaced["x-request-id"]) == 32
    admin = auth(env.tokens["admin"])
    fast = c.get("/v1/entities/employer/E1", headers={**admin, "X-Request-ID": "fast-1"})
    assert fast.status_code == 200 and fast.headers["x-request-id"] == "fast-1"
    assert c.get("/v1/models", headers={"X-Request-ID": "err-1"}).headers["x-request-id"] == "err-1"  # 401


def _access_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "tracerisk.access"]


def test_access_line_with_request_id_for_routes_and_the_fast_path(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    admin = auth(env.tokens["admin"])
    with caplog.at_level(logging.INFO, logger="tracerisk.access"):
        fast = env.client.get("/v1/entities/employer/E1?x=1", headers=admin)
        env.client.get("/v1/indicators/NOPE", headers={**admin, "X-Request-ID": "routed-1"})
    lines = _access_lines(caplog)
    assert [(r.request_id, r.method, r.path, r.status) for r in lines] == [  # type: ignore[attr-defined]
        (fast.headers["x-request-id"], "GET", "/v1/entities/employer/E1", 200),
        ("routed-1", "GET", "/v1/indicators/NOPE", 404),
    ]
    assert all(r.duration_ms >= 0 for r in lines)  # type: ignore[attr-defined]
