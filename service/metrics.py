"""The service's Prometheus metrics: the series, the middleware that counts every request by route template, the
separate listener and the bearer check of the /metrics route."""

from __future__ import annotations

import hmac
import logging
import time
from typing import Any
from wsgiref.simple_server import WSGIServer

from fastapi import Request
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from starlette.types import ASGIApp, Receive, Scope, Send

from service.asgi import HttpMiddleware, ObservedSend
from service.settings import Settings

log = logging.getLogger("tracerisk.service")

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)  # seconds


class Metrics:
    """The service's series, in a registry of their own (one per app)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "tracerisk_http_requests", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "tracerisk_http_request_seconds",
            "HTTP request latency",
            ["route"],
            registry=self.registry,
            buckets=LATENCY_BUCKETS,
        )
        self.store_up = Gauge("tracerisk_store_up", "1 when the serving store answered", registry=self.registry)
        self.audit_entries = Counter("tracerisk_audit_entries", "audit log entries written", registry=self.registry)
        self.rate_limited = Counter("tracerisk_rate_limited", "requests answered 429", registry=self.registry)
        # (method, route, status) -> its request counter and latency histogram: labels() resolved once per series
        self._series: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """One answered request: ``route`` is the route template (never the raw path, which carries entity ids)."""
        series = self._series.get((method, route, status))
        if series is None:
            series = (self.requests.labels(method, route, str(status)), self.latency.labels(route))
            self._series[(method, route, status)] = series
        series[0].inc()
        series[1].observe(seconds)


class MetricsMiddleware(HttpMiddleware):
    """Request count and latency per route template."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        super().__init__(app)
        self.metrics = metrics

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = time.perf_counter()
        send_with_status = ObservedSend(send)
        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.observe(scope["method"], route, send_with_status.status, time.perf_counter() - start)


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
