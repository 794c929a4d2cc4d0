"""What every route shares: the ``Service`` (settings, the store connection, metrics, admission of a request and
the audited reads and writes) and the facts about a request that the routes and the fast path agree on."""

from __future__ import annotations

import json
import logging
import math
import threading
from collections import OrderedDict
from typing import Any, NamedTuple

import sqlalchemy as sa
from fastapi import HTTPException, Request
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from data_contracts.home import Home
from models.worklist import build_worklist, seed_for
from service import audit, outcomes, queries
from service.audit_writer import AuditWriter
from service.auth import User, authenticate, session_user
from service.database import ReconnectingEngine, StoreUnavailable
from service.limits import RateLimiter
from service.metrics import Metrics
from service.roles import Access, keys_for
from service.settings import Settings
from store.tables import issued_worklists, now_iso, worklist_items

log = logging.getLogger("tracerisk.service")

COOKIE = "tracerisk_session"  # the dashboard session id (service.auth.start_session), never a token
MAX_CAPACITY = 10_000  # the largest worklist page (also what ?capacity= may ask for)
RANKED_CACHE = 32  # (run, type, scope, region) rankings kept in memory: ~100 bytes per ranked entity each
STORE_BUSY = "tracerisk.store_busy"  # ASGI scope key: the fast path's read met a held write lock (server-side only)
ADMITTED = "tracerisk.admission"  # ASGI scope key: the Admission the fast path made (server-side only)


class Admission(NamedTuple):
    """A request's token checked and its rate limit charged: the user (None: unknown, revoked or expired token)
    and the seconds to wait when the limit is reached (None: go ahead)."""

    user: User | None
    retry_after: int | None


class AuditChainBroken(RuntimeError):
    """The audit log's hash chain does not verify: the service does not start (unless told to)."""


def may_see(user: User, entity_type: str) -> Access | None:
    """How far ``user``'s role sees ``entity_type``; None when it may not see that type at all."""
    return user.role_def.types.get(entity_type)


def entity_read_action(found: bool) -> str:
    """The audit action of one entity read."""
    return "entity.read" if found else "entity.not_found"


class Service:
    """What the routes share: settings, the store, metrics, admission (token, session, rate limit) and the audited
    reads and writes."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = ReconnectingEngine(settings.resolved_store_url(), settings.store_busy_timeout_ms)
        self.metrics = Metrics()
        self.audit_writer = AuditWriter(self.store.engine, settings.secret)
        self.anchors = audit.AnchorKeeper(
            self.store.engine, settings.secret, settings.audit_anchor_path, settings.audit_anchor_interval_s
        )
        self.limiter = RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst)
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
            self.metrics.rate_limited.inc()
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
        self.metrics.audit_entries.inc()

    async def audit_async(
        self, user: User, action: str, entity_type: str | None, entity_id: str | None, **detail: Any
    ) -> None:
        """The same from the event loop: awaits the group commit without holding a thread."""
        with self.store.guard():
            await self.audit_writer.append_async((user.name, user.role, action, entity_type, entity_id, detail))
        self.metrics.audit_entries.inc()

    async def entity_async(self, user: User, entity_type: str, entity_id: str) -> dict[str, Any]:
        """``entity`` for the async route: the read (sub-millisecond, indexed) runs on the loop, the audit entry
        is group-committed by the writer thread before the answer leaves."""
        access = self.access(user, entity_type)
        with self.store.connect() as conn:
            found = queries.entity(conn, user, access, entity_type, entity_id)
        await self.audit_entity_read_async(user, entity_type, entity_id, found is not None)
        if found is None:
            raise HTTPException(404, "not found")
        return found

    async def audit_entity_read_async(self, user: User, entity_type: str, entity_id: str, found: bool) -> None:
        """The audit entry of one entity read (the route's and the fast path's)."""
        await self.audit_async(user, entity_read_action(found), entity_type, entity_id)

    # -- reads used by the API and the dashboard (each audited) --

    def entity(self, user: User, entity_type: str, entity_id: str) -> dict[str, Any]:
        access = self.access(user, entity_type)
        with self.store.connect() as conn:
            found = queries.entity(conn, user, access, entity_type, entity_id)
        self.audit(user, entity_read_action(found is not None), entity_type, entity_id)
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
        landing = Home(self.settings.home).outcome_landing
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
        """How far ``user`` sees ``entity_type``; 403 when the role may not see it (``may_see``)."""
        access = may_see(user, entity_type)
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
