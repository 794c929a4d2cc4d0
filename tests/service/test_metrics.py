"""service/metrics.py: one observed request counts once under its method, route template and status."""

from __future__ import annotations

from prometheus_client import generate_latest

from service.metrics import Metrics


def test_observe_counts_the_request_and_its_latency_by_route_template() -> None:
    metrics = Metrics()
    metrics.observe("GET", "/v1/entities/{entity_type}/{entity_id}", 200, 0.004)
    metrics.observe("GET", "/v1/entities/{entity_type}/{entity_id}", 200, 0.2)
    text = generate_latest(metrics.registry).decode()
    route = 'route="/v1/entities/{entity_type}/{entity_id}"'
    assert f'tracerisk_http_requests_total{{method="GET",{route},status="200"}} 2.0' in text
    assert f'tracerisk_http_request_seconds_bucket{{le="0.005",{route}}} 1.0' in text
    assert f"tracerisk_http_request_seconds_count{{{route}}} 2.0" in text


def test_each_app_has_its_own_registry() -> None:
    first, second = Metrics(), Metrics()
    first.observe("GET", "/healthz", 200, 0.001)
    assert "tracerisk_http_requests_total{" not in generate_latest(second.registry).decode()
