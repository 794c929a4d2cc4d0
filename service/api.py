"""The FastAPI app: published scores, reasons and worklists for the four user groups, scoped and audited.

``create_app(settings)`` builds the app from the routers in service/routes/ (one per noun), the dashboard, the
middleware stack and the error handlers (service/handlers.py). The store is connected lazily (migrations run on
first use) and dropped on any database error, so the service answers 503 with Retry-After while the store is down
and recovers by itself when it returns.

Every request carries an id (X-Request-ID, echoed) and writes one JSON access line (service/logs.py). Outside
development mode the OpenAPI document and its Swagger UI (/openapi.json, /docs) are off unless
``TRACERISK_DOCS=true``; CORS is closed unless ``TRACERISK_CORS_ORIGINS`` lists origins; request bodies, page sizes
and requests per token are limited (service/limits.py); the audit hash chain is verified at start and a broken
chain stops the start unless ``TRACERISK_ALLOW_BROKEN_AUDIT=true``.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from service import dashboard
from service.core import Service
from service.fast_path import EntityReadFastPath, TraceriskAPI
from service.handlers import add_exception_handlers
from service.limits import GuardMiddleware
from service.logs import RequestIdMiddleware
from service.logs import configure as configure_logging
from service.metrics import MetricsMiddleware, start_metrics_listener
from service.routes import (
    audit,
    docs,
    drift,
    entities,
    indicators,
    models,
    operations,
    outcomes,
    portfolios,
    worklists,
)
from service.settings import Settings

log = logging.getLogger("tracerisk.service")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """At start: logging, the audit chain checked (AuditChainBroken stops the start), anchors and the metrics
    listener started; at the end, pending audit entries flushed, a last anchor taken and the store let go."""
    service: Service = app.state.service
    configure_logging()
    for warning in service.settings.development_warnings():
        log.warning(warning)
    service.check_audit_chain()
    service.anchors.start()
    metrics_listener = start_metrics_listener(service.settings, service.metrics.registry)
    # Everything built so far (modules, the app, pydantic schemas) lives as long as the process: frozen out of the
    # collector, a full collection no longer walks it (those collections were the reads' latency tail).
    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()
    service.audit_writer.close()
    service.anchors.stop()  # the last anchor covers every entry written
    if metrics_listener is not None:
        metrics_listener.shutdown()
        metrics_listener.server_close()
    service.store.reset()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = (settings or Settings()).check()
    service = Service(settings)
    app = TraceriskAPI(
        lifespan=lifespan,
        debug=False,
        docs_url=None,  # service/routes/docs.py serves it with local assets
        redoc_url=None,
        openapi_url=docs.OPENAPI_URL if settings.docs_enabled else None,
        title="tracerisk",
        version="1",
        description="Scores, reasons and worklists for organisations and official desks; never for individuals.",
    )
    app.state.service = service
    app.entity_fast_path = EntityReadFastPath(service)
    add_exception_handlers(app)
    add_middleware(app, service)
    routers = [docs.router] if settings.docs_enabled else []
    routers.append(operations.router)
    if settings.metrics_access != "off":  # off: no route (404), Prometheus scrapes the metrics_port listener
        routers.append(operations.metrics_router)
    nouns = (entities, worklists, outcomes, indicators, models, audit, dashboard, portfolios, drift)
    routers += [noun.router for noun in nouns]
    if settings.docs_enabled:
        docs.mount_assets(app)
    for router in routers:
        add_routes(app, router)
    return app


def add_routes(app: FastAPI, router: APIRouter) -> None:
    """``router``'s routes on the app's own route list, in order (``include_router`` would list them behind one
    nested entry, not in ``app.routes``)."""
    app.router.routes.extend(router.routes)


def add_middleware(app: FastAPI, service: Service) -> None:
    """The stack, innermost first: metrics, CORS (when origins are listed), the guard, the request id."""
    settings = service.settings
    app.add_middleware(MetricsMiddleware, metrics=service.metrics)
    if settings.cors_origins:  # closed by default: no CORS headers at all, so browsers refuse cross-origin reads
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(
        GuardMiddleware, max_body_bytes=settings.max_body_bytes, hsts=settings.cookie_secure, docs=settings.docs_enabled
    )
    app.add_middleware(RequestIdMiddleware)  # outermost: every answer, the guard's 413 included, has an id
