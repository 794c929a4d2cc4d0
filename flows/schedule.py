"""Scheduled operation: Prefect deployments served by one process (``serve_schedules``).

- ``nightly``: ingest the new files of the landing zone, then features and scoring as of today. A night with no
  new file (every file already in the lake's ledger) does nothing and says so, in its log and as an artifact.
- ``monthly-retrain``: train every entity type through the champion/challenger gate as of today, then clear the
  drift marks (models/drift_run.py) that made retraining due.

A failing run raises (Prefect marks it failed and retries it, ``retries`` below); scoring publishes in one
transaction (store.publish.publish), so a run that fails anywhere leaves the last published scores served.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import date
from pathlib import Path
from typing import Any

from prefect.artifacts import create_markdown_artifact

from flows.declare import flow_named

log = logging.getLogger("tracerisk.flows")

NIGHTLY_CRON = "30 2 * * *"  # 02:30 every night
MONTHLY_CRON = "0 4 1 * *"  # 04:00 on the first of every month


def _artifact(key: str, text: str) -> None:
    with contextlib.suppress(Exception):  # outside a flow run (tests call .fn): the log line is enough
        create_markdown_artifact(key=key, markdown=text, description=text)


@flow_named("nightly", retries=2, retry_delay_seconds=600)
def nightly_flow(home: Path, landing: Path, source_format: str = "csv", as_of: date | None = None) -> dict[str, Any]:
    """Ingest new landing-zone files, build features and score as of ``as_of`` (default today)."""
    from flows.features import features_flow
    from flows.ingest import ingest_flow
    from flows.models import score_flow

    as_of = as_of or date.today()
    reports, _ = ingest_flow(landing, source_format, home)
    committed = [r for r in reports if r.status == "committed"]
    if not committed:
        message = f"nightly {as_of}: no new data in {landing} ({len(reports)} files already ingested); nothing to do"
        log.info(message)
        _artifact("nightly", message)
        return {"new_files": 0, "run_id": None, "message": message}
    features_flow(home, as_of)
    run = score_flow(home, as_of)
    message = f"nightly {as_of}: {len(committed)} new files ingested; score run {run.run_id} published"
    log.info(message)
    _artifact("nightly", message)
    return {"new_files": len(committed), "run_id": run.run_id, "message": message}


@flow_named("monthly-retrain", retries=1, retry_delay_seconds=1800)
def monthly_retrain_flow(home: Path, as_of: date | None = None) -> dict[str, Any]:
    """Retrain every entity type through the gate as of ``as_of`` (default today); clears the drift marks."""
    from flows.models import train_flow
    from models.drift_run import clear_retraining_due, retraining_due

    as_of = as_of or date.today()
    due = retraining_due(home)
    results = train_flow(home, as_of)
    clear_retraining_due(home)
    message = f"monthly retraining {as_of}: " + ", ".join(
        f"{e} {'promoted' if r.promoted else 'kept champion'} ({r.reason})" for e, r in results.items()
    )
    _artifact("monthly-retrain", message + (f"; drift had flagged {sorted(due)}" if due else ""))
    return {"promoted": {e: r.promoted for e, r in results.items()}, "was_due": sorted(due)}


def serve_schedules(home: Path, landing: Path, source_format: str = "csv") -> None:
    """Serve both deployments from this process (blocks); runs show in the Prefect UI with their artifacts."""
    from prefect import serve

    nightly = nightly_flow.to_deployment(
        name="tracerisk-nightly",
        cron=NIGHTLY_CRON,
        parameters={"home": str(home), "landing": str(landing), "source_format": source_format},
    )
    monthly = monthly_retrain_flow.to_deployment(
        name="tracerisk-monthly-retrain", cron=MONTHLY_CRON, parameters={"home": str(home)}
    )
    serve(nightly, monthly)  # type: ignore[arg-type]
