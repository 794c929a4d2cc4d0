"""ASGI entry point for multi-worker uvicorn: ``uvicorn service.main:app`` (settings from the environment)."""

from __future__ import annotations

from service.api import create_app

app = create_app()
