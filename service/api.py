"""The FastAPI service: published scores, reasons and worklists for the four user groups, scoped and audited.

``create_app(settings)`` builds the app; the store is connected lazily (migrations run on first use) and
dropped on any database error, so the service answers 503 with Retry-After while the store is down and
recovers by itself when it returns. Error bodies never carry a stack trace, SQL or a file path.

Errors are RFC 9457 problem details (service/problems.py); every request carries an id (X-Request-ID, echoed)
and writes one JSON access line (service/logs.py). Outside development mode the OpenAPI document and its Swagger
UI (/openapi.json, /docs; the UI's scripts served from the installed swagger-ui-bundle, never a CDN) are off unless
``TRACERISK_DOCS=true``; CORS is closed unless ``TRACERISK_CORS_ORIGINS`` lists origins; request bodies, page sizes
and requests per token are limited (service/limits.py); the audit hash chain is verified at start and a broken
chain stops the start unless ``TRACERISK_ALLOW_BROKEN_AUDIT=true``.
"""

from __future__ import annotations

import gc
import hmac
import json
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from enum import StrEnum
from typing import Annotated, Any, NamedTuple
from wsgiref.simple_server import WSGIServer

import sqlalchemy as sa
from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request, Response, Security
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, PlainTextResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    start_http_server,
)
from pydantic import BaseModel, Field, TypeAdapter
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from swagger_ui_bundle import swagger_ui_path

from features.catalogue import render_indicator_page
from features.registry import BY_ID, ENTITY_TYPES, INDICATORS, Indicator
from models.worklist import DEFAULT_EXPLORATION_SHARE, build_worklist, seed_for
from service import audit, exports, outcomes, queries
from service.auth import User, authenticate, session_user
from service.limits import GuardMiddleware, RateLimiter, security_headers
from service.logs import REQUEST_ID_HEADER, RequestIdMiddleware, log_access, request_id_for
from service.logs import configure as configure_logging
from service.problems import Problem, ProblemResponse, ValidationProblem, documented, problem
from service.roles import Access, keys_for
from service.settings import BUILTIN_SECRET_WARNING, Settings
from service.store import is_lock_timeout, issued_worklists, make_engine, migrate, now_iso, worklist_items

log = logging.getLogger("tracerisk.service")

COOKIE = "tracerisk_session"  # the dashboard session id (service.auth.start_session), never a token
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_CAPACITY = 10_000  # the largest worklist page (also what ?capacity= may ask for)
RANKED_CACHE = 32  # (run, type, scope, region) rankings kept in memory: ~100 bytes per ranked entity each


class EntityType(StrEnum):
    employer = "employer"
    recruiter = "recruiter"
    visa_desk = "visa_desk"
    border_post = "border_post"
    inspector = "inspector"


assert tuple(EntityType) == ENTITY_TYPES


DB_ERRORS = (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.ProgrammingError, sa.exc.InternalError)


class StoreUnavailable(RuntimeError):
    """The serving store cannot be reached (answered 503 with Retry-After)."""


class StoreBusy(StoreUnavailable):
    """Another process held SQLite's write lock past the busy timeout (answered 503 with Retry-After; the engine
    is kept)."""


STORE_BUSY = "tracerisk.store_busy"  # ASGI scope key: the fast path's read met a held write lock (server-side only)


class Admission(NamedTuple):
    """A request's token checked and its rate limit charged: the user (None: unknown, revoked or expired token)
    and the seconds to wait when the limit is reached (None: go ahead)."""

    user: User | None
    retry_after: int | None


ADMITTED = "tracerisk.admission"  # ASGI scope key: the Admission the fast path made (server-side only)


class AuditChainBroken(RuntimeError):
    """The audit log's hash chain does not verify: the service does not start (unless told to)."""


class Store:
    """The serving store's engine, created (and migrated) on first use and dropped after a database error."""

    def __init__(self, url: str, busy_timeout_ms: int) -> None:
        self.url = url
        self.busy_timeout_ms = busy_timeout_ms
        self._engine: Engine | None = None
        self._held: Connection | None = None  # loop_connection's
        self._lock = threading.Lock()

    def engine(self) -> Engine:
        engine = self._engine
        if engine is not None:
            return engine
        with self._lock:
            if self._engine is None:
                candidate = make_engine(self.url, self.busy_timeout_ms)
                try:
                    migrate(candidate)
                except Exception as exc:
                    candidate.dispose()
                    raise StoreUnavailable("the serving store is unavailable") from exc
                self._engine = candidate
            return self._engine

    def reset(self) -> None:
        with self._lock:
            held, self._held = self._held, None
            if held is not None:
                with suppress(Exception):  # a broken connection may fail to close: it is dropped either way
                    held.close()
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None

    @contextmanager
    def guard(self) -> Iterator[None]:
        """Database errors inside become StoreUnavailable (503) and drop the engine, so the next request
        reconnects (and re-runs migrations) instead of reusing a broken pool. A write lock held past the busy
        timeout becomes StoreBusy, and the engine is kept."""
        try:
            yield
        except DB_ERRORS as exc:
            if is_lock_timeout(exc):
                raise StoreBusy("the serving store is busy") from exc
            self.reset()
            raise StoreUnavailable("the serving store is unavailable") from exc

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        with self.guard(), self.engine().connect() as conn:
            yield conn

    @contextmanager
    def loop_connection(self) -> Iterator[Connection]:
        """The event loop's own connection, held between requests (no pool checkout per read): only code on the
        loop thread that does not await while using it may take it. Reads run on it through ``Prepared``; after
        each use its driver-level transaction is ended, so the next read sees what was committed since."""
        with self.guard():
            held = self._held
            if held is None:
                held = self._held = self.engine().connect()
            try:
                yield held
            finally:
                held.connection.dbapi_connection.rollback()  # type: ignore[union-attr]

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        with self.guard(), self.engine().begin() as conn:
            yield conn


# --- response models (OpenAPI) -----------------------------------------------------------------------------------


class ReasonOut(BaseModel):
    indicator_id: str
    title: str
    value: float | None
    detail: str
    contribution: float
    link: str


class HistoryPoint(BaseModel):
    run_id: str
    as_of: str
    probability: float
    band: str
    rank: int
    model_id: str


class EntityOut(BaseModel):
    entity_type: str
    entity_id: str
    name: str | None
    country: str | None
    region: str | None
    sector: str | None
    address: str | None = None  # the organisation's own address as of the score's date; None for official desks
    probability: float
    band: str
    rank: int
    rank_in_region: int
    red_flags: int
    model_id: str
    as_of: str
    reasons: list[ReasonOut]
    base_value: float | None
    raw_score: float | None
    history: list[HistoryPoint]


class WorklistItem(BaseModel):
    entity_id: str
    entity_type: str
    name: str | None
    region: str | None
    address: str | None = None  # as EntityOut.address
    score: float
    band: str
    rank: int
    exploration: bool
    reasons: list[ReasonOut]


class WorklistOut(BaseModel):
    worklist_id: str | None
    entity_type: str
    capacity: int
    in_scope: int
    exploration_share: float
    items: list[WorklistItem]
    expected_findings: float
    expected_findings_ranked: float
    expected_findings_exploration: float
    model_id: str | None
    as_of: str | None


class OutcomeOut(BaseModel):
    outcome_id: str
    entity_type: str
    entity_id: str
    decided_on: str
    kind: str
    indicators_observed: list[str]
    exploration: bool
    worklist_id: str | None


class IndicatorOut(BaseModel):
    id: str
    entity: str
    title: str
    unit: str
    direction: int
    sensitive: bool
    sources: list[str]
    link: str


class IndicatorPage(IndicatorOut):
    why: str
    page: str = Field(description="the registry page, Markdown")


class ModelOut(BaseModel):
    model_id: str
    entity_type: str
    status: str
    trained_as_of: str
    strategy: str
    metrics: dict[str, Any]
    gate: dict[str, Any]
    updated_at: str
    drift: dict[str, Any] | None = None  # latest score run's PSI against the training window; flagged above threshold


class AuditEntry(BaseModel):
    seq: int
    at: str
    actor: str
    role: str
    action: str
    entity_type: str | None
    entity_id: str | None
    detail: dict[str, Any]
    hash: str


class AuditVerification(BaseModel):
    ok: bool
    entries: int
    problems: list[str]
    anchors: int = Field(description="anchors of the anchor file checked")
    warnings: list[str] = Field(description="what this verification cannot detect")


# --- helpers shared with the dashboard ---------------------------------------------------------------------------


def indicator_out(ind: Indicator) -> dict[str, Any]:
    return {
        "id": ind.id,
        "entity": ind.entity,
        "title": ind.title,
        "unit": ind.unit,
        "direction": ind.direction,
        "sensitive": ind.sensitive,
        "sources": list(ind.sources),
        "link": f"/v1/indicators/{ind.id}",
    }


def indicator_page_markdown(ind: Indicator) -> str:
    """The registry page without its SQL block (no SQL in any response; the catalogue in docs/ has it)."""
    out: list[str] = []
    in_sql = False
    for line in render_indicator_page(ind).splitlines():
        if line.startswith("```sql"):
            in_sql = True
            out.append("(The computation is published in the indicator catalogue.)")
            continue
        if in_sql:
            in_sql = not line.startswith("```")
            continue
        out.append(line)
    return "\n".join(out)


class Service:
    """What the routes share: settings, the store, metrics."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = Store(settings.resolved_store_url(), settings.store_busy_timeout_ms)
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "tracerisk_http_requests", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "tracerisk_http_request_seconds",
            "HTTP request latency",
            ["route"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
        )
        self.store_up = Gauge("tracerisk_store_up", "1 when the serving store answered", registry=self.registry)
        self.audit_entries = Counter("tracerisk_audit_entries", "audit log entries written", registry=self.registry)
        self.audit_writer = audit.AuditWriter(self.store.engine, settings.secret)
        self.anchors = audit.AnchorKeeper(
            self.store.engine, settings.secret, settings.audit_anchor_path, settings.audit_anchor_interval_s
        )
        self.limiter = RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst)
        self.rate_limited = Counter("tracerisk_rate_limited", "requests answered 429", registry=self.registry)
        self._ranked_cache: OrderedDict[tuple[Any, ...], list[dict[str, Any]]] = OrderedDict()
        self._ranked_lock = threading.Lock()

    def admit(self, token: str, client: str, conn: Connection | None = None) -> Admission:
        """The token's user (checked against the store on every request, so revocation and expiry apply at once)
        and the rate limiter's answer: per user, or per client address for tokens that fail. One call takes one
        request from the bucket. ``conn``: a store connection to look the token up on (else one is taken)."""
        with self.store.guard():  # a down store answers 503, not 401
            user = authenticate(conn or self.store.engine(), self.settings.secret, token.strip())
        return self._limited(user, client)

    def admit_session(self, session_id: str, client: str) -> Admission:
        """``admit`` for a dashboard session id (the cookie) instead of a token."""
        with self.store.guard():
            user = session_user(self.store.engine(), self.settings.secret, session_id)
        return self._limited(user, client)

    def _limited(self, user: User | None, client: str) -> Admission:
        """The rate limiter's answer for one request: per user, or per client address without a user."""
        wait = self.limiter.check(f"user:{user.user_id}" if user else f"addr:{client}")
        if wait is not None:
            self.rate_limited.inc()
        return Admission(user, wait)

    def user_from(self, request: Request) -> User | None:
        """The user of the request's bearer token (or dashboard session cookie), None without a valid one; 429 with
        Retry-After past the rate limit. A request the entity-read fast path passed on was admitted there already
        (its admission rides in the ASGI scope, which clients cannot set), so it is not counted twice."""
        admitted: Admission | None = request.scope.get(ADMITTED)
        if admitted is None:
            header = request.headers.get("authorization", "")
            scheme, _, token = header.partition(" ")
            client = request.client.host if request.client else "-"
            if scheme.lower() == "bearer" and token:
                admitted = self.admit(token, client)
            elif request.cookies.get(COOKIE):
                admitted = self.admit_session(request.cookies[COOKIE], client)
            else:
                return None
        if admitted.retry_after is not None:
            raise HTTPException(
                429, "too many requests; retry later", headers={"Retry-After": str(admitted.retry_after)}
            )
        return admitted.user

    def check_audit_chain(self) -> None:
        """Verify the audit hash chain; raise AuditChainBroken (or log, when allowed) if it does not verify. A store
        that cannot be reached is logged and skipped: the service starts, answers 503 and recovers later."""
        found, unreadable = audit.read_anchors(self.settings.audit_anchor_path)
        try:
            engine = self.store.engine()
            with self.store.guard():
                result = audit.verify(engine, self.settings.secret, found)
        except StoreUnavailable:
            log.warning("serving store unavailable at start; audit chain not verified")
            return
        problems = unreadable + result.problems
        if not problems:
            log.info("audit chain verified: %d entries, %d anchors", result.entries, len(found))
            return
        message = f"audit log hash chain is broken ({len(problems)} problem(s), first: {problems[0]})"
        if not self.settings.allow_broken_audit:
            raise AuditChainBroken(
                f"{message}; run `tracerisk audit verify`, investigate, and start with "
                "TRACERISK_ALLOW_BROKEN_AUDIT=true only once that is understood"
            )
        log.error("%s; starting anyway (TRACERISK_ALLOW_BROKEN_AUDIT=true)", message)

    def audit(self, user: User, action: str, entity_type: str | None, entity_id: str | None, **detail: Any) -> None:
        """Append to the audit log and wait until it is committed (from a worker thread)."""
        with self.store.guard():
            self.audit_writer.submit((user.name, user.role, action, entity_type, entity_id, detail)).result(timeout=60)
        self.audit_entries.inc()

    async def audit_async(
        self, user: User, action: str, entity_type: str | None, entity_id: str | None, **detail: Any
    ) -> None:
        """The same from the event loop: awaits the group commit without holding a thread."""
        with self.store.guard():
            await self.audit_writer.append_async((user.name, user.role, action, entity_type, entity_id, detail))
        self.audit_entries.inc()

    async def entity_async(self, user: User, entity_type: str, entity_id: str) -> dict[str, Any]:
        """``entity`` for the async route: the read (sub-millisecond, indexed) runs on the loop, the audit entry
        is group-committed by the writer thread before the answer leaves."""
        access = self.access(user, entity_type)
        with self.store.connect() as conn:
            found = queries.entity(conn, user, access, entity_type, entity_id)
        await self.audit_async(user, "entity.read" if found else "entity.not_found", entity_type, entity_id)
        if found is None:
            raise HTTPException(404, "not found")
        return found

    # -- reads used by the API and the dashboard (each audited) --

    def entity(self, user: User, entity_type: str, entity_id: str) -> dict[str, Any]:
        access = self.access(user, entity_type)
        with self.store.connect() as conn:
            found = queries.entity(conn, user, access, entity_type, entity_id)
        self.audit(user, "entity.read" if found else "entity.not_found", entity_type, entity_id)
        if found is None:
            raise HTTPException(404, "not found")
        return found

    def record_outcome(self, user: User, body: outcomes.OutcomeIn) -> dict[str, Any]:
        """Store an outcome on an entity in ``user``'s scope (404 otherwise, audited), write its landing file and
        its audit entry in one transaction; the landing file is removed again when the transaction fails."""
        access = self.access(user, body.entity_type)
        with self.store.connect() as conn:
            found = queries.entity(conn, user, access, body.entity_type, body.entity_id)
        if found is None:
            self.audit(user, "outcome.not_found", body.entity_type, body.entity_id)
            raise HTTPException(404, "not found")
        landing = self.settings.home / "landing" / "outcomes"
        written: list[str] = []
        try:
            with self.store.begin() as conn:
                out = outcomes.record(conn, landing, body, found["name"], user.name)
                written.append(out["outcome_id"])
                audit.append_in(
                    conn,
                    self.settings.secret,
                    user.name,
                    user.role,
                    "outcome.recorded",
                    body.entity_type,
                    body.entity_id,
                    {"outcome_id": out["outcome_id"], "exploration": out["exploration"]},
                )
        except BaseException:
            for path in landing.glob(f"enforcement_outcome-*-{written[0]}.csv") if written else ():
                path.unlink(missing_ok=True)
            raise
        return out

    def access(self, user: User, entity_type: str) -> Access:
        access = user.role_def.types.get(entity_type)
        if access is None:
            raise HTTPException(403, f"role {user.role} may not see {entity_type} scores")
        return access

    def worklist(
        self, user: User, entity_type: str, capacity: int | None, region: str | None, explore: float
    ) -> dict[str, Any]:
        access = self.access(user, entity_type)
        with self.store.connect() as conn:
            run_id, rows = self._ranked_ids(conn, user, access, entity_type, region)
            if capacity is None:
                capacity = min(MAX_CAPACITY, max(1, math.ceil(self.settings.default_capacity_share * len(rows))))
            if run_id is not None and rows:
                parts = (run_id, entity_type, user.user_id, region or "", str(capacity), repr(explore))
                seed = seed_for(*parts)
                wl = build_worklist(rows, capacity, explore, seed)
                full = queries.rows_for(conn, run_id, entity_type, [r["entity_id"] for r in wl.items])
        result: dict[str, Any] = {
            "worklist_id": None,
            "entity_type": entity_type,
            "capacity": capacity,
            "in_scope": len(rows),
            "exploration_share": explore,
            "items": [],
            "expected_findings": 0.0,
            "expected_findings_ranked": 0.0,
            "expected_findings_exploration": 0.0,
            "model_id": None,
            "as_of": None,
        }
        if run_id is None or not rows:
            self.audit(user, "worklist.read", entity_type, None, items=0, region=region)
            return result
        worklist_id = f"wl-{seed:016x}"
        items = [
            {
                "entity_id": r["entity_id"],
                "entity_type": entity_type,
                "name": r["name"],
                "region": r["region"],
                "address": r["address"],
                "score": r["probability"],
                "band": r["band"],
                "rank": r["rank"],
                "exploration": pick["exploration"],
                "reasons": r["reasons"],
            }
            for r, pick in zip(full, wl.items, strict=True)
        ]
        self._record_worklist(worklist_id, run_id, entity_type, user, items, capacity, region, explore, seed)
        self.audit(user, "worklist.read", entity_type, None, worklist_id=worklist_id, items=len(items), region=region)
        result.update(
            worklist_id=worklist_id,
            items=items,
            expected_findings=wl.expected_findings,
            expected_findings_ranked=wl.expected_findings_ranked,
            expected_findings_exploration=wl.expected_findings_exploration,
            model_id=full[0]["model_id"],  # the top-ranked row: always the first pick
            as_of=full[0]["as_of"],
        )
        return result

    def _ranked_ids(
        self, conn: Connection, user: User, access: Access, entity_type: str, region: str | None
    ) -> tuple[str | None, list[dict[str, Any]]]:
        """queries.ranked_ids, cached per published run and scope (the ranking of a run never changes; a new run
        has a new id, so nothing is served stale). A bounded LRU of RANKED_CACHE entries."""
        run_id = queries.published_run(conn, entity_type)
        if run_id is None:
            return None, []
        scope = () if access.everything else tuple(sorted(keys_for(access, user.jurisdictions, user.portfolio)))
        key = (run_id, entity_type, scope, region)
        with self._ranked_lock:
            cached = self._ranked_cache.get(key)
            if cached is not None:
                self._ranked_cache.move_to_end(key)
                return run_id, cached
        found_run, rows = queries.ranked_ids(conn, user, access, entity_type, region)
        if found_run is not None:
            with self._ranked_lock:
                self._ranked_cache[(found_run, entity_type, scope, region)] = rows
                while len(self._ranked_cache) > RANKED_CACHE:
                    self._ranked_cache.popitem(last=False)
        return found_run, rows

    def _record_worklist(
        self,
        worklist_id: str,
        run_id: str,
        entity_type: str,
        user: User,
        items: list[dict[str, Any]],
        capacity: int,
        region: str | None,
        explore: float,
        seed: int,
    ) -> None:
        """Remember what was issued (exploration picks included) so outcomes can be marked; idempotent, also for
        simultaneous identical requests: the worklist row is inserted unless present, in one statement, and only
        the request that inserted it adds the items (the id is a hash of the parameters, so equal ids list equal
        items)."""
        with self.store.begin() as conn:
            dialect_insert = sqlite_insert if conn.dialect.name == "sqlite" else postgresql_insert
            added = conn.execute(
                dialect_insert(issued_worklists)
                .values(
                    worklist_id=worklist_id,
                    entity_type=entity_type,
                    run_id=run_id,
                    issued_to=user.name,
                    issued_at=now_iso(),
                    params=_json(capacity, region, explore, seed),
                )
                .on_conflict_do_nothing(index_elements=[issued_worklists.c.worklist_id])
                .returning(issued_worklists.c.worklist_id)  # a row only when this request inserted it
            ).first()
            if added is None:
                return
            conn.execute(
                sa.insert(worklist_items),
                [
                    {
                        "worklist_id": worklist_id,
                        "position": i,
                        "entity_type": entity_type,
                        "entity_id": it["entity_id"],
                        "exploration": bool(it["exploration"]),
                    }
                    for i, it in enumerate(items)
                ],
            )


def _json(capacity: int, region: str | None, explore: float, seed: int) -> str:
    return json.dumps({"capacity": capacity, "region": region, "exploration_share": explore, "seed": str(seed)})


def _field_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    """Field-level messages without the submitted input (it could carry anything)."""
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        out.append({"field": ".".join(loc), "message": str(err.get("msg", "invalid value"))})
    return out


class MetricsMiddleware:
    """Pure ASGI middleware (cheaper than ``@app.middleware``): request count and latency per route template
    (never the raw path, which would carry entity ids)."""

    def __init__(self, app: ASGIApp, service: Service) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            path = getattr(scope.get("route"), "path", "unmatched")
            self.service.requests.labels(scope["method"], path, str(status)).inc()
            self.service.latency.labels(path).observe(time.perf_counter() - start)


ENTITY_PATH = "/v1/entities/{entity_type}/{entity_id}"
# OpenAPI links between the operations a client chains (a worklist, its top pick, an outcome on it). Targets are
# JSON pointers into the document's paths; a requestBody object holds one runtime expression per field (the form
# schemathesis' stateful phase reads).
_ENTITY_OP = "#/paths/~1v1~1entities~1{entity_type}~1{entity_id}/get"
_OUTCOME_OP = "#/paths/~1v1~1outcomes/post"
_TOP_PICK = {"entity_type": "$response.body#/entity_type", "entity_id": "$response.body#/items/0/entity_id"}
ENTITY_LINKS = {
    "RecordOutcome": {
        "operationRef": _OUTCOME_OP,
        "requestBody": {"entity_type": "$response.body#/entity_type", "entity_id": "$response.body#/entity_id"},
        "description": "record what a visit to this entity found",
    },
}
WORKLIST_LINKS = {
    "TopPick": {"operationRef": _ENTITY_OP, "parameters": _TOP_PICK, "description": "the worklist's first entity"},
    "RecordOutcomeOnTopPick": {
        "operationRef": _OUTCOME_OP,
        "requestBody": {**_TOP_PICK, "worklist_id": "$response.body#/worklist_id"},
        "description": "record what a visit to the worklist's first entity found",
    },
}
OUTCOME_LINKS = {
    "Entity": {
        "operationRef": _ENTITY_OP,
        "parameters": {"entity_type": "$response.body#/entity_type", "entity_id": "$response.body#/entity_id"},
        "description": "the entity the outcome was recorded on",
    },
}
ENTITY_JSON = TypeAdapter(EntityOut)  # the route's response model: the fast path's body is its bytes
MAX_ENTITY_ID = 200  # characters: the route's Path(max_length=...)


class EntityReadFastPath:
    """The service's hottest call, ``GET /v1/entities/{type}/{id}`` with a bearer token, answered in front of the
    whole middleware stack (``TraceriskAPI.__call__`` asks it first).

    When everything goes right (valid token, within the rate limit, a type the role may see, the entity published
    and in scope, the store up) it answers here: the same checks and queries as the route, the same audit entry
    (committed before the answer leaves), the route's response model serialised to the same bytes, the security
    headers and the request metrics the middleware would add. That skips Starlette's middleware chain, FastAPI's
    routing, dependency resolution and response validation, most of a read's cost. It sets the request id header
    and writes the access line as RequestIdMiddleware does. Every other outcome (401, 403,
    404, 422, 429, 503, cookies, a request body, a cross-origin request, other methods) goes on to the FastAPI
    route, which stays the documented one; the admission made here rides along in the scope so the token is
    looked up and the rate limit charged once. Nothing is audited here unless the answer is sent here."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.prefix = ENTITY_PATH.split("{", 1)[0]
        self.headers = [(b"content-type", b"application/json"), *security_headers(service.settings.cookie_secure)]
        # the MetricsMiddleware's series for this route, bound once
        self.answered = service.requests.labels("GET", ENTITY_PATH, "200")
        self.latency = service.latency.labels(ENTITY_PATH)
        self.cors = bool(service.settings.cors_origins)

    async def answer(self, scope: Scope, send: Send) -> bool:
        """Answer ``scope`` here if everything goes right; False (nothing sent, nothing audited) to pass it on."""
        if scope["type"] != "http" or scope["method"] != "GET" or not scope["path"].startswith(self.prefix):
            return False
        parts = scope["path"][len(self.prefix) :].split("/")
        if len(parts) != 2 or parts[0] not in ENTITY_TYPES or not 0 < len(parts[1]) <= MAX_ENTITY_ID:
            return False
        start = time.perf_counter()
        token = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, bearer = value.decode("latin-1").partition(" ")
                token = bearer if scheme.lower() == "bearer" and bearer else None
            elif (
                (name == b"content-length" and value != b"0")
                or name == b"transfer-encoding"
                or (name == b"origin" and self.cors)
            ):
                return False  # a body (the guard's limit) or a cross-origin read (CORS headers): the full stack
        if token is None:
            return False
        try:
            body = await self._body(scope, token, parts[0], parts[1])
        except Exception:  # nothing sent yet: the route answers (and logs) whatever this was
            log.exception("entity fast path failed; passing the request on")
            return False
        if body is None:
            return False
        request_id = request_id_for(scope)
        headers = [*self.headers, (b"content-length", b"%d" % len(body)), (REQUEST_ID_HEADER, request_id)]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        self.answered.inc()
        self.latency.observe(time.perf_counter() - start)
        log_access(scope, request_id, 200, start)
        return True

    async def _body(self, scope: Scope, token: str, entity_type: str, entity_id: str) -> bytes | None:
        """The response body, or None to pass the request on (nothing audited then)."""
        service = self.service
        client = scope.get("client")
        try:
            with service.store.loop_connection() as conn:  # the loop's own connection: token and entity
                admitted = scope[ADMITTED] = service.admit(token, client[0] if client else "-", conn)
                user = admitted.user
                if user is None or admitted.retry_after is not None:
                    return None
                access = user.role_def.types.get(entity_type)
                if access is None:
                    return None
                found = queries.entity(conn, user, access, entity_type, entity_id)
            if found is None:
                return None
            await service.audit_async(user, "entity.read", entity_type, entity_id)
        except StoreBusy:
            scope[STORE_BUSY] = True  # the route answers 503 at once instead of waiting for the lock again
            return None
        except StoreUnavailable:
            return None  # the route tries again and answers 503 with Retry-After if the store is still down
        return ENTITY_JSON.dump_json(ENTITY_JSON.validate_python(found), by_alias=True)


class TraceriskAPI(FastAPI):
    """FastAPI with the entity-read fast path in front of its middleware stack."""

    entity_fast_path: EntityReadFastPath | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        fast = self.entity_fast_path
        if fast is not None and await fast.answer(scope, send):
            return
        await super().__call__(scope, receive, send)


BEARER = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    bearerFormat="opaque token",
    description="A token printed once by `tracerisk users add` (or `tracerisk users demo`).",
)
DOCS_ASSETS = "/docs/assets"  # Swagger UI's scripts and styles, from the swagger-ui-bundle package


async def current_user(
    request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)] = None
) -> User:
    """The user holding the request's bearer token (or dashboard cookie); 401 otherwise. The Security dependency
    declares the bearer scheme in OpenAPI (Swagger's Authorize); the token itself is read by ``user_from``."""
    user: User | None = request.app.state.service.user_from(request)
    if user is None:
        raise HTTPException(401, "a valid bearer token is required", headers={"WWW-Authenticate": "Bearer"})
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def worklist_params(
    capacity: Annotated[int | None, Query(ge=1, le=MAX_CAPACITY, description="list size; default top 5%")] = None,
    region: Annotated[str | None, Query(max_length=100, description="only entities in this region")] = None,
    explore: Annotated[
        float, Query(ge=0.0, le=0.5, description="share of random exploration picks")
    ] = DEFAULT_EXPLORATION_SHARE,
) -> tuple[int | None, str | None, float]:
    return capacity, region, explore


Params = Annotated[tuple[int | None, str | None, float], Depends(worklist_params)]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = (settings or Settings()).check()
    service = Service(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        configure_logging()
        for warning in settings.development_warnings():
            log.warning(warning)
        service.check_audit_chain()  # raises AuditChainBroken: the server does not start
        service.anchors.start()
        metrics_listener = start_metrics_listener(settings, service.registry)
        # Everything built so far (modules, the app, pydantic schemas) lives as long as the process: frozen out of
        # the collector, a full collection no longer walks it. Unfrozen, those collections were the reads' p99
        # tail (closed loop at c=64, 20k employers: p99 60 -> 18 ms, throughput +12%).
        gc.collect()
        gc.freeze()
        yield
        gc.unfreeze()
        service.audit_writer.close()  # flush what is pending
        service.anchors.stop()  # the last anchor covers every entry written
        if metrics_listener is not None:
            metrics_listener.shutdown()
            metrics_listener.server_close()
        service.store.reset()

    docs = settings.docs_enabled
    app = TraceriskAPI(
        lifespan=lifespan,
        debug=False,
        docs_url=None,  # served below with local assets
        redoc_url=None,  # ReDoc loads its script from a CDN: not offered
        openapi_url="/openapi.json" if docs else None,
        title="tracerisk",
        version="1",
        description="Scores, reasons and worklists for organisations and official desks; never for individuals.",
    )
    app.state.service = service
    app.entity_fast_path = EntityReadFastPath(service)

    @app.exception_handler(StoreUnavailable)
    async def _unavailable(request: Request, exc: StoreUnavailable) -> ProblemResponse:
        service.store_up.set(0)
        log.warning("store unavailable: %s", exc.__cause__.__class__.__name__ if exc.__cause__ else "")
        return problem(
            503, "the score store is unavailable; retry shortly", headers={"Retry-After": str(settings.retry_after_s)}
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> ProblemResponse:
        errors = _field_errors(exc)
        fields = ", ".join(dict.fromkeys(e["field"] for e in errors))
        return problem(422, f"invalid {fields}" if fields else "invalid request", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code in (401, 403, 404) and request.url.path.split("/")[1:2] != ["v1"] and _wants_html(request):
            from service.dashboard import html_error

            return html_error(request, exc.status_code, str(exc.detail))
        return problem(exc.status_code, str(exc.detail), headers=exc.headers)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> ProblemResponse:
        log.exception("unhandled error on %s", request.url.path)
        return problem(500, "internal error")

    app.add_middleware(MetricsMiddleware, service=service)
    if settings.cors_origins:  # closed by default: no CORS headers at all, so browsers refuse cross-origin reads
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(GuardMiddleware, max_body_bytes=settings.max_body_bytes, hsts=settings.cookie_secure, docs=docs)
    app.add_middleware(RequestIdMiddleware)  # outermost: every answer, the guard's 413 included, has an id

    if docs:
        app.mount(DOCS_ASSETS, StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")

        @app.get("/docs", include_in_schema=False)
        def swagger_ui() -> HTMLResponse:
            return get_swagger_ui_html(
                openapi_url="/openapi.json",
                title="tracerisk API",
                swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
                swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
                swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png",
            )

    errors: dict[int | str, dict[str, Any]] = {
        401: documented(Problem),
        403: documented(Problem),
        404: documented(Problem),
        422: documented(ValidationProblem, "invalid parameters or body, per field"),
        429: documented(Problem, "rate limit; see Retry-After"),
        503: documented(Problem),
    }

    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"], responses={503: documented(Problem)})
    def readyz() -> dict[str, Any]:
        """Readiness: the store answers (503 with Retry-After while it does not)."""
        with service.store.connect() as conn:
            published = [r.entity_type for r in conn.execute(sa.text("SELECT entity_type FROM published"))]
        service.store_up.set(1)
        return {"status": "ready", "published": sorted(published)}

    if settings.metrics_access != "off":  # off: no route (404), Prometheus scrapes the metrics_port listener

        @app.get("/metrics", tags=["operations"], response_class=PlainTextResponse)
        def metrics(request: Request) -> Response:
            """Prometheus metrics (TRACERISK_METRICS=token: with the bearer token TRACERISK_METRICS_TOKEN)."""
            if settings.metrics_access == "token" and not metrics_token_matches(settings, request):
                raise HTTPException(401, "a valid metrics token is required", headers={"WWW-Authenticate": "Bearer"})
            return Response(generate_latest(service.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get(ENTITY_PATH, response_model=EntityOut, tags=["scores"], responses={**errors, 200: {"links": ENTITY_LINKS}})
    async def get_entity(
        user: CurrentUser,
        request: Request,
        entity_type: EntityType,
        entity_id: Annotated[str, Path(max_length=MAX_ENTITY_ID)],
    ) -> dict[str, Any]:
        """One entity's published score: probability, band, rank, model, as-of, top reasons and score history.
        Out of scope answers 404 exactly like a missing entity; a type the role may not see answers 403."""
        if request.scope.get(STORE_BUSY):
            raise StoreBusy("the serving store is busy")
        return await service.entity_async(user, entity_type.value, entity_id)

    text = {"schema": {"type": "string"}}
    binary = {"schema": {"type": "string", "format": "binary"}}

    @app.get(
        "/v1/worklists/{entity_type}.csv",
        tags=["worklists"],
        response_class=Response,
        responses={**errors, 200: {"description": "the worklist, CSV", "content": {"text/csv": text}}},
    )
    def worklist_csv(user: CurrentUser, entity_type: EntityType, params: Params) -> Response:
        """The worklist as CSV."""
        wl = service.worklist(user, entity_type.value, *params)
        return _csv(wl)

    @app.get(
        "/v1/worklists/{entity_type}.xlsx",
        tags=["worklists"],
        response_class=Response,
        responses={**errors, 200: {"description": "the worklist, Excel", "content": {XLSX: binary}}},
    )
    def worklist_xlsx(user: CurrentUser, entity_type: EntityType, params: Params) -> Response:
        """The worklist as an Excel workbook."""
        wl = service.worklist(user, entity_type.value, *params)
        return _xlsx(wl)

    @app.get(
        "/v1/worklists/{entity_type}",
        response_model=WorklistOut,
        tags=["worklists"],
        responses={**errors, 200: {"content": {"text/csv": text, XLSX: binary}, "links": WORKLIST_LINKS}},
    )
    def worklist(user: CurrentUser, request: Request, entity_type: EntityType, params: Params) -> Any:
        """The ranked worklist in the user's scope, exploration picks flagged, with expected findings.
        ``Accept: text/csv`` or the XLSX media type give the spreadsheet exports."""
        wl = service.worklist(user, entity_type.value, *params)
        accept = request.headers.get("accept", "")
        if "text/csv" in accept:
            return _csv(wl)
        if XLSX in accept:
            return _xlsx(wl)
        return wl

    @app.post(
        "/v1/outcomes",
        response_model=OutcomeOut,
        status_code=201,
        tags=["outcomes"],
        responses={
            **errors,
            201: {"links": OUTCOME_LINKS},
            400: documented(Problem, "the body cannot be read (not UTF-8 JSON)"),
            413: documented(Problem, "request body too large"),
        },
    )
    def post_outcome(user: CurrentUser, body: outcomes.OutcomeIn) -> dict[str, Any]:
        """Record what a visit or audit found; validated by the enforcement_outcome contract, stored, and written
        to the landing zone for the next training run. An outcome on an exploration pick is marked as such."""
        return service.record_outcome(user, body)

    @app.get("/v1/indicators", response_model=list[IndicatorOut], tags=["indicators"], responses=errors)
    def indicators(user: CurrentUser) -> list[dict[str, Any]]:
        """The indicator registry: every indicator a reason can name."""
        return [indicator_out(i) for i in INDICATORS]

    @app.get("/v1/indicators/{indicator_id}", response_model=IndicatorPage, tags=["indicators"], responses=errors)
    def indicator(user: CurrentUser, indicator_id: Annotated[str, Path(max_length=20)]) -> dict[str, Any]:
        """One indicator's page: why it is a red flag, what it is based on, exclusions."""
        ind = BY_ID.get(indicator_id)
        if ind is None:
            raise HTTPException(404, "not found")
        return {**indicator_out(ind), "why": ind.why, "page": indicator_page_markdown(ind)}

    @app.get("/v1/models", response_model=list[ModelOut], tags=["models"], responses=errors)
    def model_list(user: CurrentUser) -> list[dict[str, Any]]:
        """Every registered model with its backtest metrics and champion/challenger decision."""
        with service.store.connect() as conn:
            return queries.model_list(conn)

    @app.get(
        "/v1/models/{model_id}/card",
        tags=["models"],
        response_class=Response,
        responses={**errors, 200: {"description": "the model card, Markdown", "content": {"text/markdown": text}}},
    )
    def model_card(user: CurrentUser, model_id: Annotated[str, Path(max_length=120)]) -> Response:
        """The model card (Markdown), public to every user."""
        with service.store.connect() as conn:
            found = queries.model(conn, model_id)
        if found is None:
            raise HTTPException(404, "not found")
        return Response(found["card"], media_type="text/markdown; charset=utf-8")

    @app.get("/v1/audit", response_model=list[AuditEntry], tags=["audit"], responses=errors)
    def audit_log(
        user: CurrentUser,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    ) -> list[dict[str, Any]]:
        """The audit log, newest first (admin only)."""
        if not user.role_def.may_read_audit:
            raise HTTPException(403, "only admins may read the audit log")
        with service.store.guard():
            return audit.entries(service.store.engine(), limit, before)

    @app.get("/v1/audit/verify", response_model=AuditVerification, tags=["audit"], responses=errors)
    def audit_verify(user: CurrentUser) -> dict[str, Any]:
        """Check the audit log's hash chain, its sealed head and the anchor file (admin only)."""
        if not user.role_def.may_read_audit:
            raise HTTPException(403, "only admins may read the audit log")
        found, unreadable = audit.read_anchors(settings.audit_anchor_path)
        with service.store.guard():
            v = audit.verify(service.store.engine(), settings.secret, found)
        problems = unreadable + v.problems
        warnings = v.warnings + ([BUILTIN_SECRET_WARNING] if settings.builtin_secret else [])
        return {
            "ok": not problems,
            "entries": v.entries,
            "problems": problems,
            "anchors": len(found),
            "warnings": warnings,
        }

    from service.dashboard import register_dashboard

    register_dashboard(app, service)
    from service.portfolios import router as portfolios_router

    app.include_router(portfolios_router)  # supply-chain portfolios
    return app


def start_metrics_listener(settings: Settings, registry: CollectorRegistry) -> WSGIServer | None:
    """The Prometheus listener on TRACERISK_METRICS_HOST:TRACERISK_METRICS_PORT, serving ``registry`` only; None
    when no port is set or it is taken (another worker of the same server holds it: logged)."""
    if settings.metrics_port is None:
        return None
    try:
        server, _ = start_http_server(settings.metrics_port, addr=settings.metrics_host, registry=registry)
    except OSError as exc:
        log.warning("metrics listener on %s:%d not started: %s", settings.metrics_host, settings.metrics_port, exc)
        return None
    return server


def metrics_token_matches(settings: Settings, request: Request) -> bool:
    """Whether the request's bearer token is the metrics token (compared in constant time)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    expected = settings.metrics_token.get_secret_value() if settings.metrics_token else ""
    return scheme.lower() == "bearer" and bool(expected) and hmac.compare_digest(token.encode(), expected.encode())


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def _csv(wl: dict[str, Any]) -> Response:
    return Response(
        exports.to_csv(wl["items"]),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="worklist-{wl["entity_type"]}.csv"'},
    )


def _xlsx(wl: dict[str, Any]) -> Response:
    return Response(
        exports.to_xlsx(wl["items"], f"worklist {wl['entity_type']}"),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="worklist-{wl["entity_type"]}.xlsx"'},
    )
