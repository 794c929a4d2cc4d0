"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from service.deps import ServiceDep
from service.metrics import metrics_token_matches
from service.problems import Problem, documented

router = APIRouter(tags=["operations"])
metrics_router = APIRouter(tags=["operations"])  # included unless TRACERISK_METRICS=off


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: documented(Problem)})
def readyz(service: ServiceDep) -> dict[str, Any]:
    """Readiness: the store answers (503 with Retry-After while it does not)."""
    with service.store.connect() as conn:
        published = [r.entity_type for r in conn.execute(sa.text("SELECT entity_type FROM published"))]
    service.metrics.store_up.set(1)
    return {"status": "ready", "published": sorted(published)}


@metrics_router.get("/metrics", response_class=PlainTextResponse)
def metrics(request: Request, service: ServiceDep) -> Response:
    """Prometheus metrics (TRACERISK_METRICS=token: with the bearer token TRACERISK_METRICS_TOKEN)."""
    settings = service.settings
    if settings.metrics_access == "token" and not metrics_token_matches(settings, request):
        raise HTTPException(401, "a valid metrics token is required", headers={"WWW-Authenticate": "Bearer"})
    return Response(generate_latest(service.metrics.registry), media_type=CONTENT_TYPE_LATEST)
