"""``tracerisk schedule``: the nightly and monthly Prefect deployments."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from flows.commands.common import console, fail


def schedule(
    landing: Annotated[Path, typer.Option(help="Landing-zone folder the nightly run ingests new files from.")],
    file_format: Annotated[str, typer.Option("--format", help="Landing-zone format: csv or synthetic.")] = "csv",
) -> None:
    """Serve the Prefect deployments: nightly ingest + features + scoring, monthly retraining through the gate."""
    from data_contracts.home import Home

    if file_format not in ("csv", "synthetic"):
        raise fail(f"unknown format {file_format!r}; choose csv or synthetic")
    if not landing.is_dir():
        raise fail(f"--landing {landing} is not a folder")
    from flows.schedule import MONTHLY_CRON, NIGHTLY_CRON, serve_schedules

    home = Home.from_env().root
    console.print(
        f"serving tracerisk-nightly ({NIGHTLY_CRON}) and tracerisk-monthly-retrain ({MONTHLY_CRON}) over {home}; "
        "runs show in the Prefect UI (`prefect server start`); Ctrl-C stops"
    )
    serve_schedules(home, landing, file_format)


COMMANDS = (schedule,)  # in the order ``tracerisk --help`` lists them
