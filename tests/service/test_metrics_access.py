"""Who may read /metrics: open in development, off the service's listener in production unless opened or guarded by
a token, and a separate loopback listener for Prometheus."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.api import create_app
from service.settings import InsecureSettings, Settings
from tests.service.conftest import SECRET

METRICS_TOKEN = "metrics-token-for-the-scraper-0123456789"


def _settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(home=tmp_path, secret_key=SECRET, mode="production", **values)  # type: ignore[arg-type]


def test_metrics_are_off_the_public_listener_in_production(tmp_path: Path) -> None:
    with TestClient(create_app(_settings(tmp_path))) as client:
        assert client.get("/metrics").status_code == 404
        assert client.get("/healthz").status_code == 200
    development = Settings(home=tmp_path, mode="development")
    assert development.metrics_access == "open"
    with TestClient(create_app(development)) as client:
        assert "tracerisk_http_requests_total" in client.get("/metrics").text


def test_metrics_behind_a_token(tmp_path: Path) -> None:
    with pytest.raises(InsecureSettings, match="TRACERISK_METRICS_TOKEN"):
        _settings(tmp_path, metrics="token").check()
    with pytest.raises(InsecureSettings, match="at least 32"):
        _settings(tmp_path, metrics="token", metrics_token="short").check()
    settings = _settings(tmp_path, metrics="token", metrics_token=METRICS_TOKEN)
    with TestClient(create_app(settings)) as client:
        refused = client.get("/metrics")
        assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        answered = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert answered.status_code == 200 and "tracerisk_store_up" in answered.text


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_metrics_on_their_own_loopback_listener(tmp_path: Path) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    with TestClient(create_app(_settings(tmp_path, metrics_port=port))) as client:
        client.get("/healthz")
        assert client.get("/metrics").status_code == 404  # not on the service's listener
        with urllib.request.urlopen(url, timeout=10) as answer:
            text = answer.read().decode()
        assert 'tracerisk_http_requests_total{method="GET",route="/healthz",status="200"} 1.0' in text
    with pytest.raises(urllib.error.URLError):  # stopped with the service
        urllib.request.urlopen(url, timeout=2)
