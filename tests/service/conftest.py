"""Service fixtures: a synthetic world published through ``store.publish.publish`` into a fresh store (SQLite,
and PostgreSQL when ``TRACERISK_TEST_POSTGRES_URL`` names a server: .ci/postgres.sh starts one), one user per
role, and a TestClient on the app.

Every response any app gives during these tests (TestClient, schemathesis, the live server of the browser test)
is scanned for raw person identifiers in the simulator's formats: passport numbers (P + 12 digits), desk officer,
border officer and inspector badges (CO / BO / LI + 6 digits) and escort ids (E + 8 digits). Spreadsheet exports
are unzipped first. A test during which one appears fails."""

from __future__ import annotations

import io
import json
import os
import re
import secrets
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

from features.registry import ENTITY_TYPES, INDICATORS
from service.api import create_app
from service.auth import add_user
from service.core import COOKIE
from service.roles import ROLES, keys_for
from service.settings import Settings
from store.engine import connect
from store.publish import ModelEntry, ScoreRun, publish

PG_ENV = "TRACERISK_TEST_POSTGRES_URL"
JURISDICTIONS = ("R-NORTH", "COR-MAN")  # every scoped user's jurisdictions
PORTFOLIO = ("E1", "E2")  # supply-chain auditors' portfolio
SECRET = "test-secret-key-that-is-long-enough-0123456789"


RAW_PERSON_ID = re.compile(rb"(?<![A-Za-z0-9])(?:P\d{12}|(?:CO|BO|LI)\d{6}|E\d{8})(?![0-9])")


@dataclass
class BodyScan:
    """What the response scan saw in this session."""

    responses: int = 0
    violations: list[str] = field(default_factory=list)

    def check(self, path: str, body: bytes) -> None:
        self.responses += 1
        texts = [body]
        if body[:2] == b"PK":  # xlsx: scan the XML inside
            try:
                with zipfile.ZipFile(io.BytesIO(body)) as archive:
                    texts = [archive.read(name) for name in archive.namelist()]
            except zipfile.BadZipFile:
                pass
        for text in texts:
            for match in RAW_PERSON_ID.finditer(text):
                self.violations.append(f"{path}: {match.group().decode()}")


SCAN = BodyScan()


@pytest.fixture(scope="session", autouse=True)
def _scan_every_response() -> Iterator[BodyScan]:
    """Wrap every FastAPI app's ASGI entry for the session and hand each whole response body to SCAN."""
    original = FastAPI.__call__

    async def recording(self: FastAPI, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await original(self, scope, receive, send)
            return
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    SCAN.check(str(scope.get("path", "")), b"".join(chunks))
            await send(message)

        await original(self, scope, receive, capture)

    FastAPI.__call__ = recording  # type: ignore[method-assign]
    try:
        yield SCAN
    finally:
        FastAPI.__call__ = original  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _no_raw_person_ids(_scan_every_response: BodyScan) -> Iterator[None]:
    """Fail the test during which any response carried a raw person identifier."""
    before = len(_scan_every_response.violations)
    yield
    new = _scan_every_response.violations[before:]
    assert not new, f"raw person identifiers in responses: {new[:5]}"


@dataclass
class World:
    """Entities with their scope keys; published as two score runs (history) of every type."""

    keys: dict[tuple[str, str], list[tuple[str, str]]] = field(default_factory=dict)  # (type, id) -> [(kind, value)]
    names: dict[tuple[str, str], str] = field(default_factory=dict)

    def ids(self, entity_type: str) -> list[str]:
        return [i for (t, i) in self.keys if t == entity_type]

    def visible(self, role: str, entity_type: str, entity_id: str) -> bool:
        """Expected visibility from the role definitions (not from the service's SQL)."""
        access = ROLES[role].types.get(entity_type)
        if access is None:
            return False
        if access.everything:
            return True
        wanted = set(keys_for(access, JURISDICTIONS, PORTFOLIO))
        return bool(wanted & set(self.keys[(entity_type, entity_id)]))


def make_world() -> World:
    w = World()
    regions = ["R-NORTH", "R-SOUTH"]
    posts = ["COR-MAN", "COR-LAG"]
    for i in range(1, 9):
        eid = f"E{i}"
        w.keys[("employer", eid)] = [
            ("employer", eid),
            ("region", regions[i % 2]),
            ("post", posts[(i // 2) % 2]),
            ("country", "CA"),
        ]
        w.names[("employer", eid)] = f"Employer {i} Ltd"
    for i in range(1, 7):
        rid = f"REC-{i}"
        w.keys[("recruiter", rid)] = [
            ("region", regions[i % 2]),
            ("post", posts[(i // 2) % 2]),
            ("employer", f"E{i}"),
            ("country", "CB"),
        ]
        w.names[("recruiter", rid)] = f"Agency {i}"
    for i, post in enumerate(posts * 2):
        did = f"{post}:ps_{i:020x}"
        w.keys[("visa_desk", did)] = [("post", post), ("country", "CX")]
        w.names[("visa_desk", did)] = f"visa desk {did}"
        bid = f"BP-{i}:ps_{i + 100:020x}"
        w.keys[("border_post", bid)] = [("post", "COR-MAN" if i % 2 else "BP-SOUTH")]
        w.names[("border_post", bid)] = f"border desk {bid}"
        iid = f"ps_{i + 200:020x}"
        w.keys[("inspector", iid)] = [("region", regions[i % 2])]
        w.names[("inspector", iid)] = f"inspector {iid}"
    return w


def _reasons(entity_type: str, k: int) -> list[dict[str, Any]]:
    inds = [i for i in INDICATORS if i.entity == entity_type][:3]
    return [
        {
            "indicator_id": ind.id,
            "title": ind.title,
            "value": 0.5,
            "detail": f"{k + 1} of 4 checks; peers 10%",
            "contribution": round(0.9 / (j + 1), 6),
            "link": f"docs/indicators/{ind.id}.md",
        }
        for j, ind in enumerate(inds)
    ]


def score_run(world: World, run_id: str, as_of: str, shift: float) -> ScoreRun:
    rows: list[dict[str, Any]] = []
    scope: list[dict[str, Any]] = []
    model_ids = {t: f"{t}-model-{as_of}" for t in ENTITY_TYPES}
    for t in ENTITY_TYPES:
        ids = world.ids(t)
        for k, eid in enumerate(ids):
            p = max(0.01, min(0.99, 0.9 - 0.1 * k + shift))
            reasons = _reasons(t, k)
            region = next((v for kind, v in world.keys[(t, eid)] if kind == "region"), None)
            rows.append(
                {
                    "entity_type": t,
                    "entity_id": eid,
                    "name": world.names[(t, eid)],
                    "country": "CA",
                    "region": region,
                    "sector": "agriculture",
                    "probability": p,
                    "band": "high" if k < 2 else ("elevated" if k < 4 else "low"),
                    "rank": k + 1,
                    "rank_in_region": k // 2 + 1,
                    "red_flags": 3 - min(k, 3),
                    "model_id": model_ids[t],
                    "as_of": as_of,
                    "reasons": json.dumps(reasons),
                    "base_value": -2.0,
                    "raw_score": -2.0 + sum(r["contribution"] for r in reasons) + 0.1,
                }
            )
            scope += [{"entity_type": t, "entity_id": eid, "kind": kd, "value": v} for kd, v in world.keys[(t, eid)]]
    entries = [
        ModelEntry(
            model_ids[t],
            t,
            "champion",
            as_of,
            "inspected_only",
            {"precision_at_k": 0.4},
            {"promoted": True},
            f"# Model card {model_ids[t]}\n\nIntended use: rank {t}s for inspection.\n",
        )
        for t in ENTITY_TYPES
    ]
    return ScoreRun(run_id, as_of, model_ids, rows, scope, entries)


def _postgres_database(base: str) -> str:
    """A fresh database on the test server (one per app fixture)."""
    name = f"t_{secrets.token_hex(6)}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.rsplit("/", 1)[0] + "/" + name


def store_url_for(backend: str, tmp: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp / 'serving.db'}"
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f'PostgreSQL tests need {PG_ENV} (eval "$(.ci/postgres.sh)" starts a server)')
    return _postgres_database(base)


@dataclass
class Env:
    client: TestClient
    tokens: dict[str, str]
    world: World
    settings: Settings
    url: str
    home: Path
    sessions: dict[str, str] = field(default_factory=dict)  # role -> dashboard session id (dashboard_session)


def build_env(backend: str, tmp: Path) -> Env:
    url = store_url_for(backend, tmp)
    engine = connect(url)
    world = make_world()
    publish(engine, score_run(world, "run-2024-01-01", "2024-01-01", -0.05))
    publish(engine, score_run(world, "run-2024-04-01", "2024-04-01", 0.0))
    settings = Settings(  # production, with /metrics opened for the tests that read it; no exploration floor, so
        # that tests can ask for the ranked top k alone (?explore=0)
        home=tmp,
        store_url=url,
        secret_key=SECRET,
        mode="production",
        rate_limit_per_minute=0,
        metrics="open",
        min_exploration_share=0.0,
    )
    tokens = {
        role: add_user(
            engine,
            settings.secret,
            f"{role}-user",
            role,
            () if role == "admin" else JURISDICTIONS,
            PORTFOLIO if role == "supply_chain_auditor" else (),
        )
        for role in ROLES
    }
    engine.dispose()
    return Env(TestClient(create_app(settings)), tokens, world, settings, url, tmp)


BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="module", params=BACKENDS)
def env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    e = build_env(str(request.param), tmp_path_factory.mktemp(f"svc-{request.param}"))
    yield e
    e.client.close()


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def outcome_body(entity_id: str, kind: str, indicators: list[str], worklist_id: str, **extra: str) -> dict[str, object]:
    """An employer outcome decided on 2024-05-02 from a worklist, as the API's JSON and the outcome form take it."""
    return {
        "entity_type": "employer",
        "entity_id": entity_id,
        "decided_on": "2024-05-02",
        "kind": kind,
        "indicators_observed": indicators,
        "worklist_id": worklist_id,
        **extra,
    }


def sign_in(client: TestClient, token: str) -> None:
    """Sign ``client`` in to the dashboard the way a browser does: the sign-in form, its CSRF token, the token; the
    session cookie stays in the client's cookie jar."""
    form = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([0-9a-f]+)"', form.text)
    assert csrf is not None, form.text
    r = client.post("/login", data={"token": token, "csrf_token": csrf.group(1)}, follow_redirects=False)
    assert r.status_code == 303, r.text


def dashboard_session(env: Env, role: str) -> str:
    """A dashboard session id of ``role``'s user (the value of the session cookie), signed in once per env."""
    found = env.sessions.get(role)
    if found is None:
        client = TestClient(env.client.app)  # a cookie jar of its own
        sign_in(client, env.tokens[role])
        found = env.sessions[role] = client.cookies[COOKIE]
    return found


def count_route_calls(service: Any) -> list[str]:
    """Patch ``service`` so that every call of the entity route's method (``entity_async``; the entity-read fast
    path never calls it) is listed in the returned list."""
    calls: list[str] = []
    original = service.entity_async

    async def counting(user: Any, entity_type: str, entity_id: str) -> dict[str, Any]:
        calls.append(entity_id)
        return await original(user, entity_type, entity_id)  # type: ignore[no-any-return]

    service.entity_async = counting
    return calls
