"""The ``tracerisk us-dol`` commands (US Department of Labor H-2A / H-2B source): registered by flows/cli.py."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the ``us-dol`` command group to ``app`` (the US DOL issue builds it)."""
    del app
