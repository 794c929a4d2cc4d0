"""The pattern-grouped TreeSHAP equals LightGBM's pred_contrib and shap.TreeExplainer, missing values included."""

from __future__ import annotations

import warnings

import lightgbm as lgb
import numpy as np
import pytest
import shap

from models.treeshap import contributions


def _data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8))
    x[:, 3] = rng.integers(0, 4, n)  # few distinct values: many rows share thresholds
    x[:, 5] = np.where(rng.random(n) < 0.3, 0.0, x[:, 5])  # zeros (missing under zero_as_missing)
    x[rng.random((n, 8)) < 0.2] = np.nan  # 20% missing everywhere
    logit = np.nan_to_num(x[:, 0]) + 0.8 * np.nan_to_num(x[:, 3]) - np.isnan(x[:, 1]) + 0.5 * np.nan_to_num(x[:, 5])
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(float)
    return x, y


@pytest.mark.parametrize(
    "params",
    [
        {"max_depth": 4, "num_leaves": 15},
        {"max_depth": 4, "num_leaves": 15, "zero_as_missing": True},
        {"max_depth": 3, "num_leaves": 8, "use_missing": False},
    ],
    ids=["nan-missing", "zero-missing", "no-missing"],
)
def test_equals_pred_contrib_and_shap(params: dict[str, object]) -> None:
    x, y = _data(3000, 1)
    model = lgb.LGBMClassifier(n_estimators=60, learning_rate=0.1, verbose=-1, **params).fit(x, y)  # type: ignore[arg-type]
    booster = model.booster_
    test_x, _ = _data(5000, 2)
    ours = contributions(booster, test_x)
    native = np.asarray(booster.predict(test_x, pred_contrib=True))
    np.testing.assert_allclose(ours, native, atol=1e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values = shap.TreeExplainer(booster).shap_values(test_x)
    values = values[1] if isinstance(values, list) else values
    np.testing.assert_allclose(ours[:, :-1], values, atol=1e-6)
    np.testing.assert_allclose(ours.sum(axis=1), booster.predict(test_x, raw_score=True), atol=1e-6)


def test_chunks_give_the_same_result(monkeypatch: pytest.MonkeyPatch) -> None:
    x, y = _data(2000, 3)
    booster = lgb.LGBMClassifier(n_estimators=30, max_depth=4, num_leaves=15, verbose=-1).fit(x, y).booster_
    whole = contributions(booster, x)
    monkeypatch.setattr("models.treeshap.CHUNK_ROWS", 333)
    np.testing.assert_allclose(contributions(booster, x), whole, atol=1e-12)
