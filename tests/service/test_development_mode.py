"""Development mode is the default and says so at every start: what it leaves open, and what its built-in secret
gives away."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from service.api import create_app
from service.settings import Settings
from tests.service.conftest import SECRET


def test_the_warnings_name_what_is_open(tmp_path: Path) -> None:
    default = Settings(home=tmp_path)
    assert default.mode == "development"
    first, secret = default.development_warnings()
    assert first.startswith("DEVELOPMENT MODE") and "the API documents" in first and "/metrics without a token" in first
    assert "re-hash an edited audit log" in secret and "TRACERISK_SECRET_KEY" in secret
    own = Settings(home=tmp_path, secret_key=SECRET, docs=False, metrics="off")
    assert own.development_warnings() == [
        "DEVELOPMENT MODE (TRACERISK_MODE=development, the default): not for real data; set TRACERISK_MODE=production "
        "for real use"
    ]
    assert Settings(home=tmp_path, secret_key=SECRET, mode="production").development_warnings() == []


def test_the_app_logs_them_at_start(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="tracerisk.service"), TestClient(create_app(Settings(home=tmp_path))):
        pass
    assert any("DEVELOPMENT MODE" in r.getMessage() for r in caplog.records)


def test_serve_prints_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    from flows.cli import app as cli

    served: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: served.append(args))
    result = CliRunner().invoke(cli, ["serve", "--port", "1"], env={"TRACERISK_HOME": str(tmp_path)})
    assert result.exit_code == 0 and served
    assert "WARNING: DEVELOPMENT MODE" in result.output and "built-in development secret" in result.output
    production = {"TRACERISK_HOME": str(tmp_path), "TRACERISK_SECRET_KEY": SECRET, "TRACERISK_MODE": "production"}
    quiet = CliRunner().invoke(cli, ["serve", "--port", "1"], env=production)
    assert quiet.exit_code == 0 and "DEVELOPMENT" not in quiet.output


def test_serve_without_a_home_says_what_to_run_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    from flows.cli import app as cli

    served: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: served.append(args))
    result = CliRunner().invoke(cli, ["serve", "--port", "1"], env={"TRACERISK_HOME": str(tmp_path / "absent")})
    assert result.exit_code == 2 and not served
    assert "no home at" in result.output and "tracerisk pipeline" in result.output
    assert not (tmp_path / "absent").exists()
