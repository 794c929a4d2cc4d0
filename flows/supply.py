"""The task that completes a score run before it is published: its supply-chain roll-up (models/supply_run.py) and
its drift records (models/drift_run.py), published with the run, in its transaction (store.publish.publish)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

from flows.declare import task_named
from models.drift_run import drift_records
from models.supply_run import supply_rollup
from store.publish import ScoreRun


@task_named("supply-rollup-and-drift", retry_delays=[5])
def enrich_task(home: Path, as_of: date, run: ScoreRun) -> ScoreRun:
    """The run with its supply-chain roll-up (and the scope keys that give auditors their buyers' chains) and its
    drift records; published with the run, in one transaction."""
    supply, scope = supply_rollup(home, as_of, list(run.rows))
    drift = drift_records(home, as_of, run)
    return replace(run, supply=supply, scope=[*run.scope, *scope], drift=drift)
