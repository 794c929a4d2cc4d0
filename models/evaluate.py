"""Backtest of what was served on a date, on labels decided after it that no training saw: the served ranking
(the gate's choice: a model, or the red-flag count), the latest model, the red-flag count and random, on the
same entities in the one review order (``models.ranking``).

The headline counts *new* positives: entities labelled in (as_of, as_of + horizon] that had no label on or
before as_of; entities already sanctioned are left out of the headline ranking and reported apart (a ranking
that reads "previously sanctioned" would otherwise be flattered by finding what was known).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import lightgbm as lgb
import numpy as np
import pyarrow as pa
from sklearn.model_selection import StratifiedKFold

from data_contracts.lake import Lake
from features.build import FeatureTable, red_flag_matrix
from features.registry import EntityType, feature_columns, indicator_of
from models.bundle import LoadedModel
from models.datasets import HORIZON_DAYS, feature_frame, labelled_by, labels_between
from models.metrics import (
    BOOTSTRAP_LEVEL,
    bootstrap_rankings,
    capacity,
    percentile_interval,
    random_expectation,
    ranking_metrics,
    safe_ap,
    safe_auc,
)
from models.ranking import precision_at, review_order, tiebreak_keys
from models.train import LGB_PARAMS

SERVED_MODEL, SERVED_COUNT = "model", "red_flag_count"
CEILING_FOLDS = 5  # cross-validation folds of the ceiling (each entity scored by trees that never saw it)
CEILING_SEED = 0
# What a ceiling was fitted on (``ceiling``'s ``fitted_on``): the simulator's planted risk, else the labels judged.
CEILING_ON_PLANTED = "planted risk (simulator)"
CEILING_ON_LABELS = "evaluation labels"


def _check_trained_before(model: LoadedModel | None, as_of: date) -> None:
    if model is not None and model.meta["trained_as_of"] > as_of.isoformat():
        raise ValueError(
            f"model {model.model_id} was trained as of {model.meta['trained_as_of']}, after the "
            f"evaluation date {as_of}: it would have seen the labels it is judged on"
        )


@dataclass
class _Evaluated:
    """The rows a backtest ranks (entities with no label on or before the evaluation date), their labels, k, and
    what is computed once per feature list or model."""

    table: FeatureTable  # every entity, the evaluated rows among them
    is_new: np.ndarray  # bool per row of ``table``: evaluated
    rows: pa.Table  # the evaluated rows of ``table``
    keys: np.ndarray  # review-order tie-break keys of ``rows``
    y: np.ndarray  # 1.0: labelled in the window
    truth_y: np.ndarray | None  # 1.0: planted risk (simulator only)
    k: int
    rule: np.ndarray  # red-flag count
    flag_matrices: dict[tuple[str, ...], np.ndarray] = field(default_factory=dict)
    scored: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=dict)

    def flags_for(self, features: list[str]) -> np.ndarray:
        """The red-flag matrix of the evaluated rows over ``features``, computed once per feature list."""
        key = tuple(features)
        if key not in self.flag_matrices:
            self.flag_matrices[key] = np.asarray(red_flag_matrix(self.table, features)[self.is_new], dtype=float)
        return self.flag_matrices[key]

    def scores_of(self, m: LoadedModel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(features, served score, probability) of ``m`` on the evaluated rows, computed once per model."""
        if m.model_id not in self.scored:
            x = feature_frame(self.rows, m.features)
            score = m.served_score(x, self.flags_for(m.features))
            self.scored[m.model_id] = (x, score, m.calibrator.predict(score))
        return self.scored[m.model_id]


def evaluate_entity(
    lake: Lake,
    entity: EntityType,
    table: FeatureTable,
    as_of: date,
    truth: set[str] | None = None,
    model: LoadedModel | None = None,
    served: LoadedModel | None = None,
    decision: dict[str, Any] | None = None,
    horizon: int = HORIZON_DAYS,
    capacity_share: float = 0.05,
    candidates: Callable[[np.ndarray, np.ndarray], dict[str, np.ndarray]] | None = None,
    paired_resamples: int = 0,
    capacity_k: int | None = None,
    with_ceiling: bool = False,
) -> dict[str, Any]:
    """Metrics of the served ranking (``served``; None: the red-flag count), the latest ``model``, the red-flag
    count and random, on the new positives of (as_of, as_of + horizon]; ``decision``: the gate's record;
    ``candidates(x, flags)``: the served scores of every candidate the model's training compared (reported on
    these later labels too, never used to choose); ``paired_resamples`` > 0: also ``paired``, the served ranking
    and the model against the red-flag count on that many resamples of the evaluated entities
    (``paired_comparison``); ``capacity_k``: k itself instead of ``capacity_share`` of the entities;
    ``with_ceiling``: also ``ceiling`` (``ceiling``, fitted on the truth where given, else on these labels), how
    far a ranking of the type's features could go."""
    for m in (model, served):
        _check_trained_before(m, as_of)
    all_ids = [str(v) for v in table.table.column("entity_id").to_pylist()]
    known = labelled_by(lake, entity, as_of, table.aliases)
    is_new = np.array([i not in known for i in all_ids], dtype=bool)
    labelled = labels_between(lake, entity, as_of, as_of + timedelta(days=horizon), aliases=table.aliases)
    t = table.table.filter(pa.array(is_new))
    ids = [str(v) for v in t.column("entity_id").to_pylist()]
    ev = _Evaluated(
        table,
        is_new,
        t,
        tiebreak_keys(ids),
        np.array([i in labelled for i in ids], dtype=float),
        np.array([i in truth for i in ids], dtype=float) if truth is not None else None,
        min(capacity_k, max(len(ids), 1)) if capacity_k is not None else capacity(len(ids), capacity_share),
        t.column("red_flags").to_numpy().astype(float),
    )
    out: dict[str, Any] = {"as_of": as_of.isoformat(), "horizon_days": horizon, "entity": entity}
    metrics, rankings = _ranking_metrics(ev, model, served, candidates)
    out.update(metrics)
    if paired_resamples > 0:
        out["paired"] = paired_comparison(rankings, ev.y, ev.k, ev.keys, paired_resamples)
    if with_ceiling:
        target, fitted_on = (ev.y, CEILING_ON_LABELS) if ev.truth_y is None else (ev.truth_y, CEILING_ON_PLANTED)
        found = ceiling(feature_frame(ev.rows, feature_columns(entity)), target, ev.k, ev.keys)
        if found is not None:
            out["ceiling"] = {"fitted_on": fitted_on, **found}
    known_in_window = sum(1 for i in all_ids if i in known and i in labelled)
    windows = (decision or {}).get("windows") or (model.meta.get("windows") if model is not None else None) or {}
    positives = dict((decision or {}).get("positives") or (model.meta.get("positives") if model else None) or {})
    positives.update({"eval_new": int(ev.y.sum()), "eval_known": int(known_in_window)})
    out.update(
        {
            "served": SERVED_MODEL if served is not None else SERVED_COUNT,
            "served_model_id": served.model_id if served is not None else None,
            "served_reason": (decision or {}).get("reason"),
            "train_labels": windows.get("train_labels"),
            "fold_labels": windows.get("fold_labels"),
            "positives": positives,
            "known_positives": {
                "entities_sanctioned_before": int((~is_new).sum()),
                "labelled_in_window": int(known_in_window),
                "left_out_of_headline": True,
            },
        }
    )
    out.update(_curves_and_reasons(ev, rankings, served if served is not None else model, decision, capacity_share))
    return out


def _ranking_metrics(
    ev: _Evaluated,
    model: LoadedModel | None,
    served: LoadedModel | None,
    candidates: Callable[[np.ndarray, np.ndarray], dict[str, np.ndarray]] | None,
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(metrics of the latest model, its candidates, the served ranking, the red-flag count and random; the scores
    of the rule, the model and the served ranking in that order)."""
    out: dict[str, Any] = {}
    rankings: dict[str, np.ndarray] = {"rule": ev.rule}
    if model is not None:
        model_x, model_score, model_probability = ev.scores_of(model)
        out["model"] = ranking_metrics(model_score, ev.y, ev.truth_y, model_probability, ev.k, ev.keys)
        rankings["model"] = model_score
        if candidates is not None:
            out["candidates"] = {
                key: candidate_metrics(scores, ev.y, ev.truth_y, ev.k, ev.keys)
                for key, scores in candidates(model_x, ev.flags_for(model.features)).items()
            }
    else:
        out["model"] = None
    if served is not None:
        _, served_score, served_probability = ev.scores_of(served)
        out["served_ranking"] = ranking_metrics(served_score, ev.y, ev.truth_y, served_probability, ev.k, ev.keys)
    else:
        served_score = ev.rule
        out["served_ranking"] = ranking_metrics(ev.rule, ev.y, ev.truth_y, None, ev.k, ev.keys)
    rankings["served"] = served_score
    out["rule"] = ranking_metrics(ev.rule, ev.y, ev.truth_y, None, ev.k, ev.keys)
    out["random"] = random_expectation(ev.y, ev.truth_y, ev.k)
    return out, rankings


def _curves_and_reasons(
    ev: _Evaluated,
    rankings: dict[str, np.ndarray],
    ref: LoadedModel | None,
    decision: dict[str, Any] | None,
    capacity_share: float,
) -> dict[str, Any]:
    """Gain curves of every ranking; for ``ref`` (the served model, else the latest), its calibration curve, SHAP
    summary, fairness by group and training record; without one, fairness of the red-flag count."""
    target = ev.truth_y if ev.truth_y is not None else ev.y
    curves: dict[str, Any] = {
        "gain_on": "planted risk (simulator)" if ev.truth_y is not None else "observed labels",
        "gain": {name: gain_curve(scores, target, ev.keys) for name, scores in rankings.items()},
    }
    if ref is None:
        return {
            "curves": curves,
            "fairness": group_metrics(ev.table, ev.rows, ev.rule, None, ev.y, ev.truth_y, capacity_share),
            "model_id": None,
            "strategy": None,
            "strategy_comparison": {},
            "gate": decision or {},
        }
    x, score, probability = ev.scores_of(ref)
    curves["calibration"] = calibration_curve(probability, ev.y)
    return {
        "curves": curves,
        "shap_summary": shap_summary(ref.features, ref.contributions(x)),
        "fairness": group_metrics(ev.table, ev.rows, score, probability, ev.y, ev.truth_y, capacity_share),
        "model_id": ref.model_id,
        "strategy": ref.meta["strategy"],
        "strategy_comparison": ref.meta["strategy_comparison"],
        "gate": ref.meta.get("gate", {}),
    }


PAIRED_METRICS = ("precision_at_k", "average_precision", "roc_auc")


def paired_comparison(
    rankings: dict[str, np.ndarray], y: np.ndarray, k: int, keys: np.ndarray, samples: int, seed: int = 7
) -> dict[str, Any]:
    """Each ranking other than ``rule`` against the red-flag count (``rule``) on the same ``samples`` resamples of
    the entities (drawn with replacement), in review order: per metric, the share of resamples in which it is
    higher, the share in which it is lower, and the percentile interval of the difference. No positive: {}."""
    if not len(y) or not y.sum():
        return {}
    draws = bootstrap_rankings(rankings, y, (k,), keys, samples=samples, seed=seed, random_name=None)
    names = {"precision_at_k": f"precision_at_{k}", "average_precision": "average_precision", "roc_auc": "roc_auc"}
    out: dict[str, Any] = {"resamples": samples, "seed": seed, "level": BOOTSTRAP_LEVEL, "k": int(k)}
    for name in rankings:
        if name == "rule":
            continue
        out[f"{name}_vs_rule"] = {
            metric: {
                "higher_share": float(np.mean(draws[name][key] > draws["rule"][key])),
                "lower_share": float(np.mean(draws[name][key] < draws["rule"][key])),
                "difference_ci95": percentile_interval(draws[name][key] - draws["rule"][key]),
            }
            for metric, key in names.items()
        }
    return out


def ceiling(x: np.ndarray, target: np.ndarray, k: int, keys: np.ndarray) -> dict[str, Any] | None:
    """How far a ranking of these features could go on ``target`` (the simulator's truth, else the evaluation's own
    labels): trees with the served trees' parameters (``models.train.LGB_PARAMS``, no monotone constraint) fitted
    on ``target`` itself, every entity scored by the trees of the ``CEILING_FOLDS`` stratified folds that left it
    out. It reads what it is judged on, so it measures the features and never ranks anything that is served. None
    when ``target`` has fewer positives or negatives than folds.

    ``x``: [entities, feature columns] of the evaluated entities (NaN: not measured); ``target``: 1.0 positive."""
    positives = int(target.sum())
    if min(positives, len(target) - positives) < CEILING_FOLDS:
        return None
    scores = np.zeros(len(target))
    folds = StratifiedKFold(CEILING_FOLDS, shuffle=True, random_state=CEILING_SEED)
    for fitted, scored in folds.split(x, target):
        trees = lgb.LGBMClassifier(objective="binary", **LGB_PARAMS).fit(x[fitted], target[fitted])
        scores[scored] = np.asarray(trees.predict(x[scored], raw_score=True), dtype=float)
    return {
        "precision_at_k": precision_at(scores, target, k, keys),
        "average_precision": safe_ap(scores, target),
        "roc_auc": safe_auc(scores, target),
        "folds": CEILING_FOLDS,
    }


def candidate_metrics(
    scores: np.ndarray, y: np.ndarray, truth_y: np.ndarray | None, k: int, keys: np.ndarray
) -> dict[str, float | None]:
    """Point metrics of one candidate ranking on the evaluation labels (and truth), in review order."""
    return {
        "precision_at_k": precision_at(scores, y, k, keys),
        "average_precision": safe_ap(scores, y),
        "truth_precision_at_k": None if truth_y is None else precision_at(scores, truth_y, k, keys),
        "truth_roc_auc": None if truth_y is None else safe_auc(scores, truth_y),
    }


def gain_curve(scores: np.ndarray, labels: np.ndarray, keys: np.ndarray, points: int = 40) -> list[tuple[float, float]]:
    """(share of entities reviewed, share of positives found) when reviewing in review order."""
    n, positives = len(scores), labels.sum()
    if n == 0 or positives == 0:
        return [(0.0, 0.0), (1.0, 1.0)]
    found = np.cumsum(labels[review_order(scores, keys)]) / positives
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
    return [(indicator_of(features[j]), round(float(mean_abs[j]), 5)) for j in order]


def group_metrics(
    table: FeatureTable,
    rows: pa.Table,
    scores: np.ndarray,
    probability: np.ndarray | None,
    y: np.ndarray,
    truth_y: np.ndarray | None,
    capacity_share: float,
    min_group: int = 20,
) -> dict[str, list[dict[str, Any]]]:
    """Per region / country / sector (from the entity profile of ``table``) over the evaluated ``rows``: entities,
    mean probability, share ranked in the top k overall, precision@k within the group (k = the same capacity
    share) on observed labels and truth, all in review order."""
    if table.profile is None:
        return {}
    profile = {r["entity_id"]: r for r in table.profile.to_pylist()}
    ids = [str(v) for v in rows.column("entity_id").to_pylist()]
    keys = tiebreak_keys(ids)
    overall_top = np.zeros(len(ids), dtype=bool)
    overall_top[review_order(scores, keys)[: capacity(len(ids), capacity_share)]] = True
    out: dict[str, list[dict[str, Any]]] = {}
    for attribute in ("region", "country", "sector"):
        values = np.array([profile.get(i, {}).get(attribute) or "unknown" for i in ids], dtype=object)
        groups = []
        for group in sorted(set(values)):
            idx = np.flatnonzero(values == group)
            if len(idx) < min_group:
                continue
            kg = capacity(len(idx), capacity_share)
            groups.append(
                {
                    "group": str(group),
                    "n": len(idx),
                    "mean_probability": None if probability is None else round(float(probability[idx].mean()), 5),
                    "share_in_top_k": round(float(overall_top[idx].mean()), 5),
                    "precision_at_k": precision_at(scores[idx], y[idx], kg, keys[idx]),
                    "truth_precision_at_k": None
                    if truth_y is None
                    else precision_at(scores[idx], truth_y[idx], kg, keys[idx]),
                    "truth_prevalence": None if truth_y is None else round(float(truth_y[idx].mean()), 5),
                }
            )
        if len(groups) > 1:
            out[attribute] = groups
    return out
