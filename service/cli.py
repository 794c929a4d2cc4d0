"""Service commands of the ``tracerisk`` CLI (serve, users): registered on the main app by flows/cli.py."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the service's commands to ``app`` (the service issue adds ``serve`` and ``users``)."""
    del app
