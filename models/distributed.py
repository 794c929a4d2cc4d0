"""Training on a Dask cluster with ``lightgbm.dask`` (``tracerisk train --distributed``).

The same recipe as ``models.train.fit_booster`` (parameters, monotone constraints, strategy masks and weights),
fitted data-parallel: the rows are split into one chunk per worker and LightGBM's workers build each tree
together over the network. The fitted model comes back as a plain ``LGBMClassifier`` (``to_local``), so
calibration, the gate, bundles and scoring do not change. Bagging draws rows per worker, so the trees are not
identical to a single-machine fit; tests/models/test_distributed.py checks the fold metrics stay within
tolerance.
"""

from __future__ import annotations

import warnings
from typing import Any

import lightgbm as lgb

from models.datasets import Dataset
from models.train import LGB_PARAMS, MONOTONE_METHOD, directions, strategy_weights


class DaskBoosterFit:
    """``fit(ds, strategy)`` for ``train_entity(..., fit=...)``, on the cluster of a ``distributed.Client``."""

    def __init__(self, client: Any, chunks: int | None = None) -> None:
        self.client = client
        self.chunks = chunks  # row chunks; None = one per worker

    def __call__(self, ds: Dataset, strategy: str) -> lgb.LGBMClassifier:
        import dask.array as da
        from lightgbm.dask import DaskLGBMClassifier

        if strategy == "rank_xendcg":
            raise ValueError("strategy rank_xendcg: ranking objectives are fitted in-process only")
        mask, weights = strategy_weights(ds, strategy)
        x, y, w = ds.x[mask], ds.y[mask], weights[mask]
        if y.sum() == 0 or y.sum() == len(y):  # as fit_booster: no contrast, the strategy is skipped
            raise ValueError(f"strategy {strategy}: its {len(y)} rows hold one label only")
        workers = max(1, len(self.client.scheduler_info(n_workers=-1).get("workers", {})))
        n_chunks = max(1, min(self.chunks or workers, len(y)))
        rows = -(-len(y) // n_chunks)
        params = {k: v for k, v in LGB_PARAMS.items() if k != "n_jobs"}  # threads: one per worker core
        model = DaskLGBMClassifier(
            objective="binary",
            **params,
            client=self.client,
            monotone_constraints=directions(ds.features),
            monotone_constraints_method=MONOTONE_METHOD,
        )
        from_array: Any = da.from_array  # untyped in dask
        # lightgbm.dask looks the client up as the current one in places; "n_jobs will be ignored": each worker
        # uses its own cores.
        with self.client.as_current(), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Parameter n_jobs will be ignored", category=UserWarning)
            model.fit(
                from_array(x, chunks=(rows, x.shape[1])),
                from_array(y, chunks=(rows,)),
                sample_weight=from_array(w, chunks=(rows,)),
            )
        return model.to_local()
