"""Backtest of a trained model on a later as-of date whose labels it never saw, ranked three ways on the
same entities: the model, the rule-based red-flag count, and random."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np

from data_contracts.lake import Lake
from features.build import FeatureTable
from models.bundle import LoadedModel
from models.metrics import capacity, ranking_metrics
from models.train import HORIZON_DAYS, feature_frame, labels_between


def evaluate_entity(
    lake: Lake,
    model: LoadedModel,
    table: FeatureTable,
    as_of: date,
    truth: set[str] | None = None,
    horizon: int = HORIZON_DAYS,
    capacity_share: float = 0.05,
) -> dict[str, Any]:
    """Metrics of the model, the red-flag count and a random ranking, on labels in (as_of, as_of + horizon]."""
    if model.meta["trained_as_of"] > as_of.isoformat():
        raise ValueError(
            f"model {model.model_id} was trained as of {model.meta['trained_as_of']}, after the "
            f"evaluation date {as_of}: it would have seen the labels it is judged on"
        )
    t = table.table
    ids = [str(v) for v in t.column("entity_id").to_pylist()]
    x = feature_frame(t, model.features)
    positives = labels_between(lake, model.entity, as_of, as_of + timedelta(days=horizon))
    y = np.array([i in positives for i in ids], dtype=float)
    truth_y = np.array([i in truth for i in ids], dtype=float) if truth is not None else None
    k = capacity(len(ids), capacity_share)
    probability = model.probability(x)
    rule = t.column("red_flags").to_numpy().astype(float)
    random = np.random.default_rng(2024).random(len(ids))
    return {
        "model": ranking_metrics(probability, y, truth_y, probability, k),
        "rule": ranking_metrics(rule, y, truth_y, None, k),
        "random": ranking_metrics(random, y, truth_y, None, k),
        "model_id": model.model_id,
        "as_of": as_of.isoformat(),
        "horizon_days": horizon,
        "strategy": model.meta["strategy"],
        "strategy_comparison": model.meta["strategy_comparison"],
    }
