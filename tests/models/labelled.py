"""Test labels for the tiny world: it has too few outcomes for a model, so tests add convictions by hand."""

from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path

from data_contracts.ingest import ingest_file
from data_contracts.lake import Lake
from data_contracts.pseudonymise import PseudonymKey
from data_contracts.sources import load_source
from features.build import build_features

FIRST_LABEL, LAST_LABEL = date(2022, 7, 20), date(2024, 6, 20)  # spans the windows of a model trained 2024-06-30


def add_labels(lake: Lake, folder: Path, as_of: date, key: PseudonymKey, now: datetime, every: int = 8) -> int:
    """Convictions for every ``every``-th employer (by id) known as of ``as_of``, decided (and known) on days
    spread evenly from FIRST_LABEL to LAST_LABEL. Returns how many were ingested."""
    ids = sorted(build_features(lake, as_of, ("employer",))["employer"].table.column("entity_id").to_pylist())
    chosen = ids[::every]
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "enforcement_outcome.csv", "w", newline="") as handle:
        w = csv.writer(handle)
        w.writerow(["record_id", "source", "outcome_id", "entity_type", "entity_ref", "decided_on", "kind", "known_on"])
        for i, entity_id in enumerate(chosen):
            day = (FIRST_LABEL + (LAST_LABEL - FIRST_LABEL) * i / max(len(chosen) - 1, 1)).isoformat()
            w.writerow([f"TEST{i}", "court", f"TEST{i}", "employer", entity_id, day, "conviction", day])
    source = load_source("csv", folder)
    return ingest_file(lake, source.files(folder)[0], source, now, key).accepted
