"""`train --distributed`: LightGBM data-parallel on a local Dask cluster (lightgbm.dask) learns what the
single-machine fit learns, within tolerance, with the same monotone constraints."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from features.registry import BY_ID, feature_columns, indicator_of
from models.datasets import Dataset
from models.distributed import DaskBoosterFit
from models.train import fit_booster

ENTITY = "employer"


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, memory_limit="1GiB"
        ) as c,
        Client(c) as cl,
    ):
        yield cl


def _dataset(n: int, seed: int) -> Dataset:
    """Rows whose label rises with the first three indicators of increasing risk (their declared direction)."""
    rng = np.random.default_rng(seed)
    features = feature_columns(ENTITY)
    x = rng.random((n, len(features)))
    rising = [j for j, f in enumerate(features) if BY_ID[indicator_of(f)].direction > 0][:3]
    logit = -4.0 + 3.0 * x[:, rising].sum(axis=1)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(float)
    ids = [f"E{i:05d}" for i in range(n)]
    matrix = np.zeros_like(x)
    matrix[:, rising] = x[:, rising].round()
    return Dataset(ENTITY, date(2024, 1, 1), ids, x, y, matrix.sum(axis=1), matrix, np.ones(n, dtype=bool), features)


def test_distributed_training_matches_single_machine_within_tolerance(client: Any) -> None:
    train, test = _dataset(4_000, 1), _dataset(2_000, 2)
    local = fit_booster(train, "unlabelled_negative")
    dist = DaskBoosterFit(client)(train, "unlabelled_negative")
    assert dist.booster_.num_trees() == local.booster_.num_trees()
    scores = {name: m.predict(test.x, raw_score=True) for name, m in (("local", local), ("dask", dist))}
    auc = {k: roc_auc_score(test.y, s) for k, s in scores.items()}
    ap = {k: average_precision_score(test.y, s) for k, s in scores.items()}
    assert auc["local"] > 0.7
    assert abs(auc["dask"] - auc["local"]) < 0.02, auc
    assert abs(ap["dask"] - ap["local"]) < 0.03, ap
    # The monotone constraints hold on the cluster too: raising a rising indicator never lowers the score.
    j = next(i for i, f in enumerate(train.features) if BY_ID[indicator_of(f)].direction > 0)
    higher = test.x.copy()
    higher[:, j] = np.minimum(higher[:, j] + 0.3, 1.0)
    assert np.all(dist.predict(higher, raw_score=True) >= scores["dask"] - 1e-9)
