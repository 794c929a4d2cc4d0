"""The ranking strategy's queries: a fitting origin with more rows than LightGBM allows in one query is split; the
default minimum evidence a model needs."""

from __future__ import annotations

from datetime import date

import numpy as np

from features.registry import feature_columns
from models.datasets import Dataset
from models.train import DEFAULT_EVIDENCE, MAX_QUERY_ROWS, _evidence_shortfall, fit_booster, query_sizes


def test_query_sizes_split_an_origin_over_the_limit_into_nearly_equal_queries() -> None:
    sizes = query_sizes(np.array([10_270, 0, 300, 20_001]))
    assert sizes.tolist() == [5_135, 5_135, 300, 6_667, 6_667, 6_667]
    assert sizes.max() <= MAX_QUERY_ROWS


def test_the_ranker_fits_an_origin_with_more_rows_than_one_query_holds() -> None:
    rng = np.random.default_rng(3)
    rows = MAX_QUERY_ROWS + 270
    features = feature_columns("employer")[:3]
    x = rng.random((rows, len(features)))
    y = (rng.random(rows) < 0.01).astype(float)
    ds = Dataset(
        "employer",
        date(2013, 1, 1),
        [f"e{i}" for i in range(rows)],
        x,
        y,
        np.zeros(rows),
        np.zeros((rows, len(features))),
        np.ones(rows, dtype=bool),
        features,
        group=np.zeros(rows, dtype=int),
    )
    ranker = fit_booster(ds, "rank_xendcg")
    assert ranker.predict(x[:5]).shape == (5,)


def test_the_default_evidence_is_twenty_training_and_five_fold_positives() -> None:
    assert _evidence_shortfall(20, 5, DEFAULT_EVIDENCE) == (None, None)
    no_model, no_trees = _evidence_shortfall(19, 4, DEFAULT_EVIDENCE)
    assert no_model is not None and "4 new positives" in no_model and "fewer than the 5 " in no_model
    assert no_trees is not None and "19 observed positives" in no_trees and "fewer than the 20 " in no_trees
