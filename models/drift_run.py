"""Drift inside a score run (models/drift.py): each entity type scored by a champion model is compared with that
champion's training window; the records are published with the run (store.tables.model_drift), and a flagged
type is marked due for retraining in ``$TRACERISK_HOME/drift/retraining_due.json`` (read by the monthly
retraining in flows/schedule.py, which retrains every type anyway, and by whoever wants to retrain earlier).

The reference (bins and shares per indicator, band cut-offs) is computed once per champion, from the features as
of its held-out fold (models.datasets.training_windows: the day its probabilities were calibrated on, the latest data
it was built with), and cached in ``$TRACERISK_HOME/drift/<model_id>.json``."""

from __future__ import annotations

import json
import logging
import time
from datetime import date
from pathlib import Path
from typing import Any, cast

import numpy as np

from data_contracts.atomic import write_text_atomically
from data_contracts.home import Home
from features.build import FeatureTable, red_flag_matrix, threshold_column
from features.registry import BY_ID, EntityType, indicator_of
from features.stored import features_as_of
from models.bundle import LoadedModel
from models.champion import usable_champion
from models.datasets import feature_frame, training_windows
from models.drift import PSI_THRESHOLD, Reference, drift, reference_of
from models.scoring import BANDS, RULE_BASELINE
from store.publish import ScoreRun

log = logging.getLogger("tracerisk.flows")


def _columns(ft: FeatureTable, features: list[str]) -> dict[str, np.ndarray]:
    """Each feature's values as the data shows them: a shrunk share's raw rate (its shrunk value moves with the
    prior fitted on each day's peers, which is not a change in the data)."""
    out = {}
    for f in features:
        ind = BY_ID.get(indicator_of(f))
        column = threshold_column(ind) if ind is not None else f
        if column not in ft.table.column_names:
            column = f
        if column in ft.table.column_names:
            out[f] = np.asarray(ft.table.column(column).to_numpy(zero_copy_only=False), dtype=float)
    return out


def _reference_path(home: Path, model: LoadedModel) -> Path:
    return Home(home).drift_reference(model.model_id)


def _origin(model: LoadedModel) -> date:
    return training_windows(date.fromisoformat(model.meta["trained_as_of"])).fold_as_of


def reference_for(home: Path, model: LoadedModel, features: FeatureTable | None = None) -> Reference:
    """The cached reference of champion ``model`` (a models.bundle.LoadedModel), computed on first use from
    ``features`` (its type's features as of its fitting origin) or, without them, from the lake."""
    path = _reference_path(home, model)
    if path.is_file():
        return Reference(**json.loads(path.read_text(encoding="utf-8")))
    t0 = _origin(model)
    ft = features if features is not None else features_as_of(home, t0, (model.entity,), keep=False)[model.entity]
    probability = model.probability(feature_frame(ft.table, model.features), red_flag_matrix(ft, model.features))
    ref = reference_of(
        model.model_id, t0.isoformat(), _columns(ft, model.features), probability, (BANDS[0][1], BANDS[1][1])
    )
    write_text_atomically(path, json.dumps(ref.as_dict(), sort_keys=True) + "\n")
    return ref


def drift_records(home: Path, as_of: date, run: ScoreRun, threshold: float = PSI_THRESHOLD) -> list[dict[str, Any]]:
    """One model_drift row per entity type scored by a model; marks flagged types due for retraining."""
    start = time.perf_counter()
    out: list[dict[str, Any]] = []
    due: dict[str, Any] = {}
    models: dict[EntityType, LoadedModel] = {}
    for name, model_id in sorted(run.model_ids.items()):
        entity = cast(EntityType, name)
        model = usable_champion(home, entity) if model_id != RULE_BASELINE else None
        if model is not None and model.model_id == model_id:
            models[entity] = model
    # References not cached yet (the first run after a retraining): one feature build per fitting origin for all
    # the types that need it, not one per type (the build is the costly step).
    origins: dict[date, list[LoadedModel]] = {}
    for model in models.values():
        if not _reference_path(home, model).is_file():
            origins.setdefault(_origin(model), []).append(model)
    for t0, needing in origins.items():
        tables = features_as_of(home, t0, tuple(m.entity for m in needing), keep=False)
        for model in needing:
            reference_for(home, model, tables[model.entity])
    current = features_as_of(home, as_of, tuple(models), keep=False) if models else {}
    for entity, model in models.items():
        ref = reference_for(home, model)
        ft = current[entity]
        probability = np.array([r["probability"] for r in run.rows if r["entity_type"] == entity], dtype=float)
        d = drift(ref, _columns(ft, model.features), probability, threshold)
        out.append(
            {
                "entity_type": entity,
                "model_id": model.model_id,
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
            due[entity] = {
                "model_id": model.model_id,
                "as_of": as_of.isoformat(),
                "max_psi": d.max_psi,
                "score_psi": d.bands,
            }
    mark_retraining_due(home, due)
    log.info("drift: %d types compared in %.2f s; flagged: %s", len(out), time.perf_counter() - start, sorted(due))
    return out


def mark_retraining_due(home: Path, due: dict[str, Any]) -> None:
    path = Home(home).retraining_due
    current = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    current.update(due)
    if current:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def retraining_due(home: Path) -> dict[str, Any]:
    path = Home(home).retraining_due
    return dict(json.loads(path.read_text(encoding="utf-8"))) if path.is_file() else {}


def clear_retraining_due(home: Path) -> None:
    Home(home).retraining_due.unlink(missing_ok=True)
