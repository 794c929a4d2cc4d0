"""Ranking and calibration metrics at an inspection capacity, with bootstrap intervals.

Every function takes scores (higher = reviewed first) and 0/1 labels over the same entities.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from scipy.stats import hypergeom
from sklearn.metrics import average_precision_score, roc_auc_score

from models.ranking import precision_at, recall_at, review_order

DEFAULT_CAPACITY_SHARE = 0.05  # k = top 5% of the entities of a type
BOOTSTRAP_SAMPLES = 200


def capacity(n: int, share: float = DEFAULT_CAPACITY_SHARE) -> int:
    return max(1, math.ceil(n * share))


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


def bootstrap_ap_auc(
    scores: np.ndarray, labels: np.ndarray, seed: int = 7, samples: int = BOOTSTRAP_SAMPLES, chunk: int = 25
) -> tuple[tuple[float, float], tuple[float, float]]:
    """95% intervals of ``safe_ap`` and ``safe_auc`` over the resamples that ``bootstrap`` draws with the same
    ``seed`` and ``samples`` (the same entities, as often): each resample's figures from its draw counts over one
    descending-score order (``weighted_ap_auc``) instead of sorting every resample. ``chunk``: resamples per
    block (about n x chunk floats at a time)."""
    scores, labels = np.asarray(scores, dtype=np.float64), np.asarray(labels, dtype=np.float64)
    n = len(scores)
    if n == 0:
        return (math.nan, math.nan), (math.nan, math.nan)
    by_score = np.argsort(-scores, kind="stable")
    positives = np.flatnonzero(labels[by_score] > 0)
    runs = tie_runs(scores[by_score], positives)
    rng = np.random.default_rng(seed)
    aps, aucs = [], []
    for first in range(0, samples, chunk):  # resample_counts draws as bootstrap does: n integers per resample
        ap, auc = weighted_ap_auc(resample_counts(n, min(chunk, samples - first), rng)[:, by_score], positives, runs)
        aps.append(ap)
        aucs.append(auc)
    ap_ci, auc_ci = percentile_interval(np.concatenate(aps)), percentile_interval(np.concatenate(aucs))
    return (ap_ci[0], ap_ci[1]), (auc_ci[0], auc_ci[1])


def ranking_metrics(
    scores: np.ndarray,
    labels: np.ndarray,
    truth: np.ndarray | None,
    probabilities: np.ndarray | None,
    k: int,
    keys: np.ndarray,
) -> dict[str, object]:
    """The metric set of ``tracerisk evaluate`` for one ranking (model, served or rule), in review order
    (``models.ranking.review_order``: score, then the entities' tie-break ``keys``)."""
    n = len(scores)
    out: dict[str, object] = {"k": int(k), "n": int(n), "positives": int(labels.sum())}

    def with_ci(name: str, fn: Callable[[np.ndarray, np.ndarray, np.ndarray], float], target: np.ndarray) -> None:
        out[name] = fn(scores, target, keys)
        out[f"{name}_ci95"] = list(bootstrap(lambda idx: fn(scores[idx], target[idx], keys[idx]), n))

    def lift(s: np.ndarray, y: np.ndarray, kk: np.ndarray) -> float:
        base = y.mean() if len(y) else 0.0
        return precision_at(s, y, k, kk) / base if base else float("nan")

    with_ci("precision_at_k", lambda s, y, kk: precision_at(s, y, k, kk), labels)
    with_ci("lift_at_k", lift, labels)
    ap_ci, auc_ci = bootstrap_ap_auc(scores, labels)
    out["average_precision"], out["average_precision_ci95"] = safe_ap(scores, labels), list(ap_ci)
    out["roc_auc"], out["roc_auc_ci95"] = safe_auc(scores, labels), list(auc_ci)
    if truth is not None:
        out["truth_positives"] = int(truth.sum())
        with_ci("truth_precision_at_k", lambda s, y, kk: precision_at(s, y, k, kk), truth)
        with_ci("truth_lift_at_k", lift, truth)
        with_ci("truth_recall_at_k", lambda s, y, kk: recall_at(s, y, k, kk), truth)
        out["truth_roc_auc"], out["truth_roc_auc_ci95"] = (
            safe_auc(scores, truth),
            list(bootstrap_ap_auc(scores, truth)[1]),
        )
    else:
        out.update({"truth_precision_at_k": None, "truth_lift_at_k": None, "truth_recall_at_k": None})
    if probabilities is not None:
        out["brier"] = brier(probabilities, labels)
        out["brier_ci95"] = list(bootstrap(lambda idx: brier(probabilities[idx], labels[idx]), n))
        out["ece"] = expected_calibration_error(probabilities, labels)
        out["ece_ci95"] = list(bootstrap(lambda idx: expected_calibration_error(probabilities[idx], labels[idx]), n))
    else:
        out.update({"brier": None, "ece": None})
    return out


RANDOM_DRAWS = 200  # random rankings averaged for the metrics that have no closed form (AP, ROC-AUC)


def random_expectation(
    labels: np.ndarray, truth: np.ndarray | None, k: int, draws: int = RANDOM_DRAWS, seed: int = 2024
) -> dict[str, object]:
    """What a uniformly random ranking gives, as an expectation with its 95% interval (not one draw).

    Precision@k is exact: the hits in k random picks follow the hypergeometric law (mean = positive share).
    Average precision and ROC-AUC: mean and 2.5-97.5 percentiles over ``draws`` random rankings."""
    n = len(labels)
    out: dict[str, object] = {"k": int(k), "n": int(n), "positives": int(labels.sum()), "random_draws": draws}

    def exact_at_k(y: np.ndarray, prefix: str) -> None:
        positives = int(y.sum())
        if n == 0:
            out[f"{prefix}precision_at_k"], out[f"{prefix}precision_at_k_ci95"] = float("nan"), [float("nan")] * 2
            return
        law = hypergeom(n, positives, min(k, n))
        out[f"{prefix}precision_at_k"] = positives / n
        out[f"{prefix}precision_at_k_ci95"] = [float(law.ppf(0.025)) / k, float(law.ppf(0.975)) / k]
        out[f"{prefix}lift_at_k"] = 1.0 if positives else float("nan")

    exact_at_k(labels, "")
    rng = np.random.default_rng(seed)
    aps = random_ap(labels, draws, rng) if n else np.array([])
    out["average_precision"] = float(np.nanmean(aps)) if len(aps) and np.isfinite(aps).any() else float("nan")
    out["average_precision_ci95"] = percentile_interval(aps)
    out["roc_auc"] = 0.5 if 0 < labels.sum() < n else float("nan")
    if truth is not None:
        out["truth_positives"] = int(truth.sum())
        exact_at_k(truth, "truth_")
        out["truth_recall_at_k"] = min(k, n) / n if n and truth.sum() else float("nan")
        out["truth_roc_auc"] = 0.5
    else:
        out.update({"truth_precision_at_k": None, "truth_lift_at_k": None, "truth_recall_at_k": None})
    out.update({"brier": None, "ece": None})
    return out


def random_ap(labels: np.ndarray, draws: int, rng: np.random.Generator, chunk: int = 25) -> np.ndarray:
    """``safe_ap`` of ``draws`` random rankings of ``labels``, each the order of ``rng.random(n)`` (the draws a
    loop of ``safe_ap(rng.random(n), labels)`` makes), from the positives' places in each order (``weighted_ap_auc``
    with every entity once; uniform doubles do not tie)."""
    y = np.asarray(labels, dtype=np.float64) > 0
    n = len(y)
    out = []
    for first in range(0, draws, chunk):
        size = min(chunk, draws - first)
        places = [np.flatnonzero(y[np.argsort(-rng.random(n), kind="stable")]) for _ in range(size)]
        out.append(weighted_ap_auc(np.ones((size, n)), np.stack(places))[0])
    return np.concatenate(out) if out else np.array([])


# ----------------------------------------------------------------------- vectorised entity bootstrap
BOOTSTRAP_LEVEL = 0.95


def resample_counts(n: int, samples: int, rng: np.random.Generator) -> np.ndarray:
    """``samples`` bootstrap resamples of n entities as a (samples, n) matrix of how often each entity is drawn."""
    draws = rng.integers(0, n, (samples, n)) + np.arange(samples)[:, None] * n
    return np.bincount(draws.ravel(), minlength=samples * n).reshape(samples, n).astype(np.float64)


def tie_runs(sorted_scores: np.ndarray, columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last column of the run of equal scores holding each of ``columns`` (scores sorted)."""
    starts = np.flatnonzero(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]])
    ends = np.r_[starts[1:] - 1, len(sorted_scores) - 1]
    run = np.searchsorted(starts, columns, side="right") - 1
    return starts[run], ends[run]


def weighted_ap_auc(
    weights: np.ndarray, positives: np.ndarray, runs: tuple[np.ndarray, np.ndarray] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Average precision and ROC-AUC of each row of ``weights`` (how often each entity is drawn; columns in
    descending score order), with each entity counted as often as drawn.

    ``positives``: the columns of the positive entities, ascending (one vector for every row, or one row of
    columns per weight row). ``runs``: first and last column of the run of tied scores holding each positive
    (one vector; None: no ties). The step-wise definitions of scikit-learn's average_precision_score and
    roc_auc_score (ties count half). Only the cumulative weights at the positives are read, so the cost is
    one cumulative sum over the matrix.
    """
    total = weights.cumsum(axis=1)
    rows = np.arange(len(weights))[:, None]
    cols = np.broadcast_to(positives, (len(weights), positives.shape[-1]))
    drawn = weights[rows, cols]
    tp = drawn.cumsum(axis=1)  # positive draws up to and including each positive's column
    if runs is None:
        tp_end, tp_before = tp, tp - drawn
        total_end, total_before = total[rows, cols], total[rows, cols] - drawn
    else:
        first, last = runs
        end_i = np.searchsorted(positives, last, side="right") - 1
        before_i = np.searchsorted(positives, first, side="left") - 1
        tp_end = tp[:, end_i]
        tp_before = np.where(before_i >= 0, tp[:, np.maximum(before_i, 0)], 0.0)
        total_end = total[:, last]
        total_before = np.where(first > 0, total[:, np.maximum(first - 1, 0)], 0.0)
    p_total = tp[:, -1] if tp.shape[1] else np.zeros(len(weights))
    n_total = total[:, -1] - p_total
    neg_end, neg_before = total_end - tp_end, total_before - tp_before
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(total_end > 0, tp_end / total_end, 0.0)
        ap = (drawn * precision).sum(axis=1) / p_total
        below = n_total[:, None] - neg_end + 0.5 * (neg_end - neg_before)
        auc = (drawn * below).sum(axis=1) / (p_total * n_total)
    valid = (p_total > 0) & (n_total > 0)
    return np.where(valid, ap, np.nan), np.where(valid, auc, np.nan)


def weighted_precision_at_k(weights: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Precision@k of each row of ``weights`` (columns in review order): the first k draws, duplicates included.

    ``weights`` may be the first columns only, as long as every row's draws there reach k (or are all of them).
    """
    taken_before = weights.cumsum(axis=1) - weights
    take = np.clip(k - taken_before, 0, weights)
    hits = (take * labels).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(take.sum(axis=1) > 0, hits / take.sum(axis=1), np.nan)


def _at_k(weights: np.ndarray, labels: np.ndarray, review: np.ndarray, k: int) -> np.ndarray:
    """Precision@k over the review order, reading only as many leading columns as the draws need."""
    width = min(len(review), 4 * k + 200)
    if width < len(review) and weights[:, review[:width]].sum(axis=1).min() < k:
        width = len(review)
    head = review[:width]
    return weighted_precision_at_k(weights[:, head], labels[..., head], k)


def bootstrap_rankings(
    rankings: dict[str, np.ndarray],
    labels: np.ndarray,
    ks: Sequence[int],
    keys: np.ndarray,
    samples: int = 1000,
    seed: int = 7,
    random_name: str | None = "random",
    chunk: int = 100,
) -> dict[str, dict[str, np.ndarray]]:
    """Each ranking's metrics on ``samples`` resamples of the entities (the same resamples for every ranking).

    Returns ranking -> metric (average_precision, roc_auc, precision_at_k, lift_at_k) -> one value per resample.
    ``keys``: the entities' tie-break keys (``models.ranking.tiebreak_keys``): precision@k follows the served
    review order (``models.ranking.review_order``), so a resample of every entity once gives the point estimates
    of ``models.ranking.precision_at`` / ``safe_ap`` / ``safe_auc``.
    ``random_name``: also a random ranking, drawn afresh in each resample (its interval is what chance gives).
    Vectorised over blocks of ``chunk`` resamples (about n x chunk floats at a time).
    """
    labels = np.asarray(labels, dtype=np.float64)
    n = len(labels)
    prepared = {}
    for name, scores in rankings.items():
        scores = np.asarray(scores, dtype=np.float64)
        review = review_order(scores, keys)
        by_score = np.argsort(-scores, kind="stable")
        positives = np.flatnonzero(labels[by_score] > 0)
        prepared[name] = (by_score, review, positives, tie_runs(scores[by_score], positives))
    names = [*rankings, *([random_name] if random_name else [])]
    positives_n = int(labels.sum())
    metrics = ["average_precision", "roc_auc", *[f"{m}_at_{k}" for k in ks for m in ("precision", "lift")]]
    out: dict[str, dict[str, list[np.ndarray]]] = {name: {m: [] for m in metrics} for name in names}
    rng = np.random.default_rng(seed)
    for first in range(0, samples, chunk):
        size = min(chunk, samples - first)
        weights = resample_counts(n, size, rng)
        drawn_base = (weights * labels).sum(axis=1) / n
        for name in names:
            got, base = out[name], drawn_base
            if name == random_name:
                # Resample counts are exchangeable across entities, so the columns as they stand, with the
                # positives put on random columns, are a random ranking of this resample.
                cols = np.sort(np.stack([rng.choice(n, positives_n, replace=False) for _ in range(size)]), axis=1)
                ap, auc = weighted_ap_auc(weights, cols)
                shuffled_labels = np.zeros((size, n))
                np.put_along_axis(shuffled_labels, cols, 1.0, axis=1)
                base = (weights * shuffled_labels).sum(axis=1) / n
                at_k = {k: _at_k(weights, shuffled_labels, np.arange(n), k) for k in ks}
            else:
                by_score, review, positives, runs = prepared[name]
                ap, auc = weighted_ap_auc(weights[:, by_score], positives, runs)
                at_k = {k: _at_k(weights, labels, review, k) for k in ks}
            got["average_precision"].append(ap)
            got["roc_auc"].append(auc)
            for k, p in at_k.items():
                got[f"precision_at_{k}"].append(p)
                with np.errstate(invalid="ignore", divide="ignore"):
                    got[f"lift_at_{k}"].append(np.where(base > 0, p / base, np.nan))
    return {name: {m: np.concatenate(v) for m, v in got.items()} for name, got in out.items()}


def percentile_interval(values: np.ndarray, level: float = BOOTSTRAP_LEVEL) -> list[float]:
    """The central ``level`` percentile interval of the finite values (NaN, NaN when there are none)."""
    finite = values[np.isfinite(values)]
    if not len(finite):
        return [float("nan"), float("nan")]
    tail = (1 - level) / 2 * 100
    return [float(np.percentile(finite, tail)), float(np.percentile(finite, 100 - tail))]
