"""The vectorised entity bootstrap: each resample's figures equal scikit-learn's on the resampled rows."""

from __future__ import annotations

import numpy as np
import pytest

from models.metrics import (
    bootstrap,
    bootstrap_ap_auc,
    bootstrap_rankings,
    percentile_interval,
    random_ap,
    resample_counts,
    safe_ap,
    safe_auc,
    tie_runs,
    weighted_ap_auc,
    weighted_precision_at_k,
)
from models.ranking import precision_at, tiebreak_keys

# Six hand-made entities: scores with a tie across a positive and a negative, two positives.
SCORES = np.array([0.9, 0.7, 0.7, 0.5, 0.3, 0.1])
LABELS = np.array([0.0, 1.0, 0.0, 1.0, 0.0, 0.0])


def _ap_auc(weights: np.ndarray, scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(-scores, kind="stable")
    positives = np.flatnonzero(labels[order] > 0)
    return weighted_ap_auc(weights[:, order], positives, tie_runs(scores[order], positives))


def test_hand_made_rows_with_a_tie() -> None:
    ap, auc = _ap_auc(np.ones((1, 6)), SCORES, LABELS)
    # Thresholds 0.9 (0/1), 0.7 (1/3), 0.5 (2/4): AP = 1/2 * 1/3 + 1/2 * 2/4 = 0.41667.
    assert ap[0] == pytest.approx(5 / 12)
    # Pairs positive above negative: (0.7 vs 0.7 tie = 1/2, 0.3, 0.1) + (0.5 vs 0.3, 0.1) = 2.5 + 2 of 8.
    assert auc[0] == pytest.approx(4.5 / 8)
    assert ap[0] == pytest.approx(safe_ap(SCORES, LABELS)) and auc[0] == pytest.approx(safe_auc(SCORES, LABELS))
    # Entity 1 drawn twice, entity 0 never: the same as scoring the rows [1, 1, 2, 3, 4, 5].
    rows = np.array([1, 1, 2, 3, 4, 5])
    ap, auc = _ap_auc(np.array([[0.0, 2, 1, 1, 1, 1]]), SCORES, LABELS)
    assert ap[0] == pytest.approx(safe_ap(SCORES[rows], LABELS[rows]))
    assert auc[0] == pytest.approx(safe_auc(SCORES[rows], LABELS[rows]))
    # Precision@2 in review order: the first two draws are entity 1 twice.
    assert weighted_precision_at_k(np.array([[0.0, 2, 1, 1, 1, 1]]), LABELS, 2)[0] == 1.0


@pytest.mark.parametrize("tied", [True, False])
def test_each_resample_equals_scikit_learn_on_the_resampled_rows(tied: bool) -> None:
    rng = np.random.default_rng(3)
    n = 600
    labels = (rng.random(n) < 0.06).astype(float)
    scores = rng.integers(0, 6, n) + labels * rng.integers(0, 2, n) if tied else rng.random(n) + 0.3 * labels
    draws = rng.integers(0, n, (8, n))
    weights = np.stack([np.bincount(d, minlength=n) for d in draws]).astype(float)
    ap, auc = _ap_auc(weights, scores.astype(float), labels)
    order = np.argsort(-scores, kind="stable")
    at_10 = weighted_precision_at_k(weights[:, order], labels[order], 10)
    for b, rows in enumerate(draws):
        assert ap[b] == pytest.approx(safe_ap(scores[rows], labels[rows]), abs=1e-12)
        assert auc[b] == pytest.approx(safe_auc(scores[rows], labels[rows]), abs=1e-12)
        if not tied:
            assert at_10[b] == pytest.approx(labels[rows][np.argsort(-scores[rows])[:10]].mean())


def test_resample_counts_draw_n_entities_each() -> None:
    counts = resample_counts(50, 20, np.random.default_rng(0))
    assert counts.shape == (20, 50) and (counts.sum(axis=1) == 50).all()


def test_bootstrap_rankings_intervals() -> None:
    rng = np.random.default_rng(1)
    n = 5_000
    labels = (rng.random(n) < 0.01).astype(float)
    good = rng.random(n) + labels
    coarse = np.round(good * 2)  # many ties
    keys = tiebreak_keys([f"E{i}" for i in range(n)])
    draws = bootstrap_rankings({"good": good, "coarse": coarse}, labels, (50,), keys, samples=300, seed=7)
    again = bootstrap_rankings({"good": good, "coarse": coarse}, labels, (50,), keys, samples=300, seed=7)
    assert set(draws) == {"good", "coarse", "random"}
    for name in draws:
        for key, values in draws[name].items():
            assert values.shape == (300,)
            np.testing.assert_array_equal(values, again[name][key])  # a fixed seed gives the same intervals
    lo, hi = percentile_interval(draws["good"]["roc_auc"])
    assert lo <= safe_auc(good, labels) <= hi and lo > 0.9
    lo, hi = percentile_interval(draws["random"]["roc_auc"])
    assert lo < 0.5 < hi
    point = precision_at(coarse, labels, 50, keys)
    lo, hi = percentile_interval(draws["coarse"]["precision_at_50"])
    assert lo <= point <= hi


def test_no_positives_give_nan_intervals() -> None:
    keys = tiebreak_keys(list("abcdefghij"))
    draws = bootstrap_rankings({"m": np.arange(10.0)}, np.zeros(10), (5,), keys, samples=20)
    assert np.isnan(draws["m"]["average_precision"]).all()
    assert all(np.isnan(v) for v in percentile_interval(draws["m"]["roc_auc"]))


@pytest.mark.parametrize("tied", [True, False])
def test_ap_and_auc_intervals_are_those_of_the_resample_loop(tied: bool) -> None:
    rng = np.random.default_rng(5)
    n = 400
    labels = (rng.random(n) < 0.08).astype(float)
    scores = (rng.integers(0, 4, n) + labels * rng.integers(0, 2, n)).astype(float) if tied else rng.random(n)
    ap_ci, auc_ci = bootstrap_ap_auc(scores, labels, seed=7, samples=60, chunk=7)
    assert ap_ci == pytest.approx(bootstrap(lambda i: safe_ap(scores[i], labels[i]), n, 7, 60), abs=1e-12)
    assert auc_ci == pytest.approx(bootstrap(lambda i: safe_auc(scores[i], labels[i]), n, 7, 60), abs=1e-12)
    nan = bootstrap_ap_auc(scores, np.zeros(n), samples=10)
    assert all(np.isnan(v) for ci in nan for v in ci)


def test_random_ap_draws_what_the_loop_of_random_scores_draws() -> None:
    labels = (np.random.default_rng(8).random(300) < 0.1).astype(float)
    loop_rng, vector_rng = np.random.default_rng(4), np.random.default_rng(4)
    expected = [safe_ap(loop_rng.random(300), labels) for _ in range(30)]
    assert random_ap(labels, 30, vector_rng, chunk=8) == pytest.approx(expected, abs=1e-12)
    assert vector_rng.random() == loop_rng.random()  # the generator is left where the loop leaves it
    assert np.isnan(random_ap(np.zeros(20), 3, vector_rng)).all()
