"""Shared fixtures for the US DOL tests: the real public data in place (never copied into the repo)."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA_DIR = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def require_data() -> Path:
    if not (DATA_DIR / "oflc_h2_disclosure").is_dir():
        pytest.skip(f"the US DOL public data is not at {DATA_DIR} (../shared/data beside the checkout)")
    return DATA_DIR


def hand_made_backtest(entity: str) -> dict[str, object]:
    """A hand-made backtest result (the shape ``backtest`` returns), figures invented."""
    ranking = {
        "average_precision": 0.25,
        "average_precision_ci95": [0.125, 0.375],
        "roc_auc": 0.75,
        "roc_auc_ci95": [0.625, 0.875],
        "precision_at_50": 0.5,
        "precision_at_50_ci95": [0.25, 0.75],
        "lift_at_50": 5.0,
        "lift_at_50_ci95": [2.5, 7.5],
    }
    count = dict(ranking, average_precision=0.0625, precision_at_100_expected=0.01)
    return {
        "entity": entity,
        "as_of": "2013-01-01",
        "labels_from": "2013-01-01",
        "labels_to": "2014-12-31",
        "served": "model",
        "served_reason": "on the fold the model's precision@100 is above the count's in 90% of 1000 resamples",
        "entities_scored": 1000,
        "entities_judged": 998,
        "positives": 10,
        "positives_new": 10,
        "positives_known": 2,
        "base_rate": 0.01,
        "later_debarments": 12,
        "later_debarments_linked_to_a_filer": 9,
        "training_origins": [{"origin": "2012-01-01", "labels_to": "2013-01-01", "rows": 900, "positives": 4}],
        "rankings": {
            "served": dict(ranking, precision_at_100_expected=0.04),
            "model": dict(ranking, precision_at_100_expected=0.04),
            "rule_contractor_then_size": dict(ranking, roc_auc=0.625),
            "red_flag_count": count,
            "random": dict(ranking, average_precision=0.01, precision_at_100_expected=0.01),
        },
        "paired": {
            "model_vs_rule_contractor_then_size": {
                "roc_auc": {"model_higher_share": 0.875, "model_lower_share": 0.125, "difference_ci95": [-0.5, 0.25]}
            }
        },
        "bootstrap": {"resamples": 1000, "seed": 7, "level": 0.95},
        "gain": {"model": [[0.0, 0.0], [0.5, 0.75], [1.0, 1.0]]},
    }
