"""Paired comparisons of the evaluation (a ranking against the red-flag count on the same resamples), the
ceiling and the SHAP summary."""

from __future__ import annotations

import numpy as np

from models.evaluate import CEILING_FOLDS, ceiling, paired_comparison, shap_summary
from models.ranking import tiebreak_keys


def test_a_ranking_that_finds_the_positives_first_beats_the_count_in_every_resample() -> None:
    n = 400
    y = np.zeros(n)
    y[:8] = 1.0
    keys = tiebreak_keys([f"e{i}" for i in range(n)])
    finds = -np.arange(n, dtype=float)  # positives first
    misses = np.arange(n, dtype=float)  # positives last
    out = paired_comparison({"rule": misses, "served": finds, "model": misses.copy()}, y, 20, keys, 200)
    assert out["resamples"] == 200 and out["k"] == 20
    for metric in ("precision_at_k", "average_precision", "roc_auc"):
        served = out["served_vs_rule"][metric]
        assert served["higher_share"] == 1.0 and served["lower_share"] == 0.0
        assert served["difference_ci95"][0] > 0
        same = out["model_vs_rule"][metric]  # the same scores as the count: never higher, never lower
        assert same["higher_share"] == 0.0 and same["lower_share"] == 0.0
    assert "rule_vs_rule" not in out


def test_no_positive_gives_no_comparison() -> None:
    keys = tiebreak_keys(["a", "b", "c"])
    assert paired_comparison({"rule": np.ones(3), "served": np.arange(3.0)}, np.zeros(3), 1, keys, 50) == {}


def test_the_shap_summary_names_indicators_largest_mean_contribution_first() -> None:
    contrib = np.array([[0.1, -0.5, 0.0, 2.0], [-0.3, 0.5, 0.0, 2.0]])  # last column: the base value
    summary = shap_summary(["E01_w1095", "R14_w365", "L03_w1095"], contrib, top=2)
    assert summary == [("R14", 0.5), ("E01", 0.2)]


def test_the_ceiling_finds_what_the_features_carry_and_nothing_where_they_carry_nothing() -> None:
    rng = np.random.default_rng(3)
    n = 2000
    truth = (rng.random(n) < 0.1).astype(float)
    keys = tiebreak_keys([f"e{i}" for i in range(n)])
    telling = np.column_stack([truth + rng.normal(0, 0.3, n), rng.normal(size=n)])
    telling[rng.random(n) < 0.2, 0] = np.nan  # not measured for some entities
    mute = rng.normal(size=(n, 2))
    found = ceiling(telling, truth, 100, keys)
    blind = ceiling(mute, truth, 100, keys)
    assert found is not None and blind is not None and found["folds"] == CEILING_FOLDS
    assert found["precision_at_k"] >= 0.9 and found["roc_auc"] > 0.85 and found["average_precision"] > 0.8
    assert blind["precision_at_k"] <= 0.25 and abs(blind["roc_auc"] - 0.5) < 0.1


def test_no_ceiling_with_fewer_planted_entities_than_folds() -> None:
    truth = np.zeros(50)
    truth[: CEILING_FOLDS - 1] = 1.0
    x = np.arange(50, dtype=float).reshape(-1, 1)
    assert ceiling(x, truth, 5, tiebreak_keys([f"e{i}" for i in range(50)])) is None
