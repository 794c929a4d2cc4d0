"""Ranking and calibration metrics at an inspection capacity, with bootstrap intervals.

Every function takes scores (higher = reviewed first) and 0/1 labels over the same entities.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

DEFAULT_CAPACITY_SHARE = 0.05  # k = top 5% of the entities of a type
BOOTSTRAP_SAMPLES = 200


def capacity(n: int, share: float = DEFAULT_CAPACITY_SHARE) -> int:
    return max(1, math.ceil(n * share))


def top_k(scores: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of the k highest scores; ties broken at random (so a coarse rule is not favoured by order)."""
    jitter = rng.random(len(scores)) * 1e-9
    return np.argsort(-(scores + jitter), kind="stable")[:k]


def precision_at_k(scores: np.ndarray, labels: np.ndarray, k: int, rng: np.random.Generator) -> float:
    return float(labels[top_k(scores, k, rng)].mean()) if len(scores) else float("nan")


def recall_at_k(scores: np.ndarray, labels: np.ndarray, k: int, rng: np.random.Generator) -> float:
    positives = labels.sum()
    return float(labels[top_k(scores, k, rng)].sum() / positives) if positives else float("nan")


def lift_at_k(scores: np.ndarray, labels: np.ndarray, k: int, rng: np.random.Generator) -> float:
    base = labels.mean() if len(labels) else 0.0
    return precision_at_k(scores, labels, k, rng) / base if base else float("nan")


def safe_ap(scores: np.ndarray, labels: np.ndarray) -> float:
    return float(average_precision_score(labels, scores)) if 0 < labels.sum() < len(labels) else float("nan")


def safe_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    return float(roc_auc_score(labels, scores)) if 0 < labels.sum() < len(labels) else float("nan")


def brier(probabilities: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean((probabilities - labels) ** 2)) if len(labels) else float("nan")


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = 10) -> float:
    """ECE over equal-count bins of the predicted probability."""
    if len(labels) == 0:
        return float("nan")
    order = np.argsort(probabilities)
    total = 0.0
    for chunk in np.array_split(order, min(bins, len(order))):
        if len(chunk):
            total += len(chunk) * abs(probabilities[chunk].mean() - labels[chunk].mean())
    return float(total / len(labels))


def bootstrap(
    metric: Callable[[np.ndarray], float], n: int, seed: int = 7, samples: int = BOOTSTRAP_SAMPLES
) -> tuple[float, float]:
    """95% interval of ``metric(indices)`` over resamples of the n entities."""
    rng = np.random.default_rng(seed)
    values = [metric(rng.integers(0, n, n)) for _ in range(samples)]
    finite = [v for v in values if not math.isnan(v)]
    if not finite:
        return (float("nan"), float("nan"))
    return (float(np.percentile(finite, 2.5)), float(np.percentile(finite, 97.5)))


def ranking_metrics(
    scores: np.ndarray,
    labels: np.ndarray,
    truth: np.ndarray | None,
    probabilities: np.ndarray | None,
    k: int,
    seed: int = 11,
) -> dict[str, object]:
    """The metric set of ``tracerisk evaluate`` for one ranking (model, rule or random)."""
    rng = np.random.default_rng(seed)
    n = len(scores)
    out: dict[str, object] = {"k": int(k), "n": int(n), "positives": int(labels.sum())}

    def with_ci(name: str, fn: Callable[[np.ndarray, np.ndarray], float], target: np.ndarray) -> None:
        out[name] = fn(scores, target)
        out[f"{name}_ci95"] = list(bootstrap(lambda idx: fn(scores[idx], target[idx]), n))

    with_ci("precision_at_k", lambda s, y: precision_at_k(s, y, k, np.random.default_rng(seed)), labels)
    with_ci("lift_at_k", lambda s, y: lift_at_k(s, y, k, np.random.default_rng(seed)), labels)
    with_ci("average_precision", safe_ap, labels)
    with_ci("roc_auc", safe_auc, labels)
    if truth is not None:
        out["truth_positives"] = int(truth.sum())
        with_ci("truth_precision_at_k", lambda s, y: precision_at_k(s, y, k, np.random.default_rng(seed)), truth)
        with_ci("truth_lift_at_k", lambda s, y: lift_at_k(s, y, k, np.random.default_rng(seed)), truth)
        with_ci("truth_recall_at_k", lambda s, y: recall_at_k(s, y, k, np.random.default_rng(seed)), truth)
    else:
        out.update({"truth_precision_at_k": None, "truth_lift_at_k": None, "truth_recall_at_k": None})
    if probabilities is not None:
        out["brier"] = brier(probabilities, labels)
        out["brier_ci95"] = list(bootstrap(lambda idx: brier(probabilities[idx], labels[idx]), n))
        out["ece"] = expected_calibration_error(probabilities, labels)
        out["ece_ci95"] = list(bootstrap(lambda idx: expected_calibration_error(probabilities[idx], labels[idx]), n))
    else:
        out.update({"brier": None, "ece": None})
    del rng
    return out
