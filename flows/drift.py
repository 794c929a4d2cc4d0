"""Drift inside a score run (models/drift.py): each entity type scored by a champion model is compared with that
champion's training window; the records are published with the run (service.store.model_drift), and a flagged
type is marked due for retraining in ``$TRACERISK_HOME/drift/retraining_due.json`` (read by the monthly
retraining in flows/schedule.py, which retrains every type anyway, and by whoever wants to retrain earlier).

The reference (bins and shares per indicator, band cut-offs) is computed once per champion, from the features as
of its fitting origin (models.train.training_days), and cached in ``$TRACERISK_HOME/drift/<model_id>.json``."""

from __future__ import annotations

import json
import logging
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from data_contracts.lake import Lake
from features.build import FeatureTable, build_features, read_features
from features.registry import EntityType
from flows.features import features_dir
from models.drift import PSI_THRESHOLD, Reference, drift, reference_of
from models.scoring import BANDS, RULE_BASELINE
from models.train import feature_frame, training_days
from service.store import ScoreRun

log = logging.getLogger("tracerisk.flows")


def drift_dir(home: Path) -> Path:
    return home / "drift"


def _columns(ft: FeatureTable, features: list[str]) -> dict[str, np.ndarray]:
    return {
        f: np.asarray(ft.table.column(f).to_numpy(zero_copy_only=False), dtype=float)
        for f in features
        if f in ft.table.column_names
    }


def _features(home: Path, day: date, entity: EntityType) -> FeatureTable:
    tables = read_features(features_dir(home, day), (entity,))
    if tables is not None:
        return tables[entity]
    lake = Lake(home)
    try:
        return build_features(lake, day, (entity,))[entity]
    finally:
        lake.close()


def reference_for(home: Path, model: Any) -> Reference:
    """The cached reference of champion ``model`` (a models.bundle.LoadedModel), computed on first use."""
    path = drift_dir(home) / f"{model.model_id}.json"
    if path.is_file():
        return Reference(**json.loads(path.read_text(encoding="utf-8")))
    t0, _ = training_days(date.fromisoformat(model.meta["trained_as_of"]))
    ft = _features(home, t0, model.entity)
    probability = model.probability(feature_frame(ft.table, model.features))
    ref = reference_of(
        model.model_id, t0.isoformat(), _columns(ft, model.features), probability, (BANDS[0][1], BANDS[1][1])
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(ref.as_dict(), sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)
    return ref


def drift_records(home: Path, as_of: date, run: ScoreRun, threshold: float = PSI_THRESHOLD) -> list[dict[str, Any]]:
    """One model_drift row per entity type scored by a model; marks flagged types due for retraining."""
    from flows.models import usable_champion

    start = time.perf_counter()
    out: list[dict[str, Any]] = []
    due: dict[str, Any] = {}
    for entity, model_id in sorted(run.model_ids.items()):
        if model_id == RULE_BASELINE:
            continue
        model = usable_champion(home, entity)  # type: ignore[arg-type]
        if model is None or model.model_id != model_id:
            continue
        ref = reference_for(home, model)
        ft = _features(home, as_of, entity)  # type: ignore[arg-type]
        probability = np.array([r["probability"] for r in run.rows if r["entity_type"] == entity], dtype=float)
        d = drift(ref, _columns(ft, model.features), probability, threshold)
        out.append(
            {
                "entity_type": entity,
                "model_id": model_id,
                "as_of": as_of.isoformat(),
                "reference_as_of": ref.as_of,
                "max_psi": d.max_psi,
                "score_psi": d.bands,
                "threshold": threshold,
                "flagged": d.flagged,
                "retraining_due": d.flagged,
                "detail": json.dumps({"indicators": d.indicators, "drifted": d.drifted}, sort_keys=True),
            }
        )
        if d.flagged:
            due[entity] = {"model_id": model_id, "as_of": as_of.isoformat(), "max_psi": d.max_psi, "score_psi": d.bands}
    mark_retraining_due(home, due)
    log.info("drift: %d types compared in %.2f s; flagged: %s", len(out), time.perf_counter() - start, sorted(due))
    return out


def mark_retraining_due(home: Path, due: dict[str, Any]) -> None:
    path = drift_dir(home) / "retraining_due.json"
    current = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    current.update(due)
    if current:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def retraining_due(home: Path) -> dict[str, Any]:
    path = drift_dir(home) / "retraining_due.json"
    return dict(json.loads(path.read_text(encoding="utf-8"))) if path.is_file() else {}


def clear_retraining_due(home: Path) -> None:
    (drift_dir(home) / "retraining_due.json").unlink(missing_ok=True)
