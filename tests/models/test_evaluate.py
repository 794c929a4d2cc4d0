"""Paired comparisons of the evaluation (a ranking against the red-flag count on the same resamples) and the SHAP
summary."""

from __future__ import annotations

import numpy as np

from models.evaluate import paired_comparison, shap_summary
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
