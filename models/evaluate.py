"""Backtest of a trained model on a later as-of date whose labels it never saw, ranked three ways on the
same entities: the model, the rule-based red-flag count, and random."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np

from data_contracts.lake import Lake
from features.build import FeatureTable
from models.bundle import LoadedModel
from models.metrics import capacity, precision_at_k, ranking_metrics
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
    rankings = {"model": probability, "rule": rule, "random": random}
    target = truth_y if truth_y is not None else y
    contrib = model.contributions(x)
    return {
        "model": ranking_metrics(probability, y, truth_y, probability, k),
        "rule": ranking_metrics(rule, y, truth_y, None, k),
        "random": ranking_metrics(random, y, truth_y, None, k),
        "model_id": model.model_id,
        "as_of": as_of.isoformat(),
        "horizon_days": horizon,
        "strategy": model.meta["strategy"],
        "strategy_comparison": model.meta["strategy_comparison"],
        "gate": model.meta.get("gate", {}),
        "fairness": group_metrics(table, probability, y, truth_y, k / max(len(ids), 1)),
        "curves": {
            "gain_on": "planted risk (simulator)" if truth_y is not None else "observed labels",
            "gain": {name: gain_curve(scores, target) for name, scores in rankings.items()},
            "calibration": calibration_curve(probability, y),
        },
        "shap_summary": shap_summary(model.features, contrib),
    }


def gain_curve(scores: np.ndarray, labels: np.ndarray, points: int = 40) -> list[tuple[float, float]]:
    """(share of entities reviewed, share of positives found) when reviewing in score order."""
    n, positives = len(scores), labels.sum()
    if n == 0 or positives == 0:
        return [(0.0, 0.0), (1.0, 1.0)]
    jitter = np.random.default_rng(5).random(n) * 1e-9
    found = np.cumsum(labels[np.argsort(-(scores + jitter), kind="stable")]) / positives
    cuts = np.unique(np.linspace(1, n, points).astype(int))
    return [(0.0, 0.0)] + [(round(float(c / n), 4), round(float(found[c - 1]), 4)) for c in cuts]


def calibration_curve(probability: np.ndarray, labels: np.ndarray, bins: int = 10) -> list[tuple[float, float]]:
    """(mean predicted, observed rate) over equal-count bins of the predicted probability."""
    order = np.argsort(probability)
    return [
        (round(float(probability[c].mean()), 5), round(float(labels[c].mean()), 5))
        for c in np.array_split(order, min(bins, len(order)))
        if len(c)
    ]


def shap_summary(features: list[str], contrib: np.ndarray, top: int = 15) -> list[tuple[str, float]]:
    """Mean |TreeSHAP contribution| (log-odds) per indicator, largest first."""
    mean_abs = np.abs(contrib[:, : len(features)]).mean(axis=0) if len(contrib) else np.zeros(len(features))
    order = np.argsort(-mean_abs)[:top]
    return [(features[j].split("_w", 1)[0], round(float(mean_abs[j]), 5)) for j in order]


def group_metrics(
    table: FeatureTable,
    probability: np.ndarray,
    y: np.ndarray,
    truth_y: np.ndarray | None,
    capacity_share: float,
    min_group: int = 20,
) -> dict[str, list[dict[str, Any]]]:
    """Per region / country / sector (from the entity profile): entities, mean probability, share ranked in the
    top k overall, precision@k within the group (k = the same capacity share) on observed labels and truth."""
    if table.profile is None:
        return {}
    profile = {r["entity_id"]: r for r in table.profile.to_pylist()}
    ids = [str(v) for v in table.table.column("entity_id").to_pylist()]
    overall_top = np.zeros(len(ids), dtype=bool)
    overall_top[np.argsort(-probability, kind="stable")[: capacity(len(ids), capacity_share)]] = True
    out: dict[str, list[dict[str, Any]]] = {}
    for attribute in ("region", "country", "sector"):
        values = np.array([profile.get(i, {}).get(attribute) or "unknown" for i in ids], dtype=object)
        rows = []
        for group in sorted(set(values)):
            idx = np.flatnonzero(values == group)
            if len(idx) < min_group:
                continue
            kg = capacity(len(idx), capacity_share)
            rng = np.random.default_rng(11)
            rows.append(
                {
                    "group": str(group),
                    "n": len(idx),
                    "mean_probability": round(float(probability[idx].mean()), 5),
                    "share_in_top_k": round(float(overall_top[idx].mean()), 5),
                    "precision_at_k": precision_at_k(probability[idx], y[idx], kg, rng),
                    "truth_precision_at_k": None
                    if truth_y is None
                    else precision_at_k(probability[idx], truth_y[idx], kg, np.random.default_rng(11)),
                    "truth_prevalence": None if truth_y is None else round(float(truth_y[idx].mean()), 5),
                }
            )
        if len(rows) > 1:
            out[attribute] = rows
    return out
