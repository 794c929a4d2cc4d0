"""The entity read, ``GET /v1/entities/{type}/{id}`` with a bearer token, answered in front of the middleware stack
when everything goes right, from the same parts as the route and the stack: ``Service.admit``, ``may_see``,
``queries.entity``, the audit entry of the read, the route's response model, ``with_security_headers``,
``with_request_id``, ``Metrics.observe`` and ``log_access``. Everything else goes on to the FastAPI route, the
documented one."""

from __future__ import annotations

import logging
import time

from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from features.registry import ENTITY_TYPES
from service import queries
from service.core import ADMITTED, STORE_BUSY, Service, may_see
from service.database import StoreBusy, StoreUnavailable
from service.limits import security_headers, with_security_headers
from service.logs import REQUEST_ID_HEADER, log_access, request_id_for, with_request_id
from service.routes.entities import ENTITY_PATH, MAX_ENTITY_ID
from service.schemas import ENTITY_JSON

log = logging.getLogger("tracerisk.service")
JSON_CONTENT_TYPE = (b"content-type", b"application/json")


class EntityReadFastPath:
    """Answers a found entity (valid token, within the rate limit, a type the role may see, published and in
    scope, the store up) with the bytes and headers the route and the middleware stack would give, after the same
    audit entry is committed. That skips the middleware chain, routing, dependency resolution and response
    validation. Every other outcome (401, 403, 404, 422, 429, 503, cookies, a request body, a cross-origin
    request, other methods) goes on to the route with nothing sent and nothing audited; the admission made here
    rides along in the scope so that the token is looked up and the rate limit charged once."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.prefix = ENTITY_PATH.split("{", 1)[0]
        security = security_headers(service.settings.cookie_secure)  # as GuardMiddleware's outside /docs
        # Every answer's headers but its length and request id, built once by the stack's helpers (the id goes
        # last, where with_request_id puts it)
        self.fixed_headers = with_request_id(with_security_headers([JSON_CONTENT_TYPE], security), b"")[:-1]
        self.cors = bool(service.settings.cors_origins)

    def entity_target(self, scope: Scope) -> tuple[str, str] | None:
        """(entity type, id) of an entity read this path may answer, else None (then the stack answers)."""
        if scope["type"] != "http" or scope["method"] != "GET" or not scope["path"].startswith(self.prefix):
            return None
        entity_type, _, entity_id = scope["path"][len(self.prefix) :].partition("/")  # an id may hold "/"
        if entity_type not in ENTITY_TYPES or not 0 < len(entity_id) <= MAX_ENTITY_ID:
            return None
        return entity_type, entity_id

    def token(self, scope: Scope) -> str | None:
        """The request's bearer token; None without one, or with a body (the guard's limit) or a cross-origin
        read (CORS headers), which the stack answers."""
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
                return None
        return token

    async def answer(self, scope: Scope, send: Send) -> bool:
        """Answer ``scope`` here if everything goes right; False (nothing sent, nothing audited) to pass it on."""
        target = self.entity_target(scope)
        if target is None:
            return False
        start = time.perf_counter()
        token = self.token(scope)
        if token is None:
            return False
        try:
            body = await self.body(scope, token, *target)
        except Exception:  # nothing sent yet: the route answers (and logs) whatever this was
            log.exception("entity fast path failed; passing the request on")
            return False
        if body is None:
            return False
        request_id = request_id_for(scope)
        headers = [(b"content-length", b"%d" % len(body)), *self.fixed_headers, (REQUEST_ID_HEADER, request_id)]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        self.service.metrics.observe("GET", ENTITY_PATH, 200, time.perf_counter() - start)
        log_access(scope, request_id, 200, start)
        return True

    async def body(self, scope: Scope, token: str, entity_type: str, entity_id: str) -> bytes | None:
        """The response body, or None to pass the request on (nothing audited then)."""
        service = self.service
        client = scope.get("client")
        try:
            with service.store.loop_connection() as conn:  # the loop's own connection: token and entity
                admitted = scope[ADMITTED] = service.admit(token, client[0] if client else "-", conn)
                user = admitted.user
                if user is None or admitted.retry_after is not None:
                    return None
                access = may_see(user, entity_type)
                if access is None:
                    return None
                found = queries.entity(conn, user, access, entity_type, entity_id)
            if found is None:
                return None
            await service.audit_entity_read_async(user, entity_type, entity_id, True)
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
