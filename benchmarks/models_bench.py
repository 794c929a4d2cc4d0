"""Training and scoring benchmark over an ingested lake (run by benchmarks/suite.py as a measured subprocess).

``python -m benchmarks.models_bench --home DIR --as-of DATE --json FILE``: trains each entity type's model
(seconds each), then scores every entity of every type with top-5 reasons (entities/s) and, on the same model
and the same rows, explains with ``shap.TreeExplainer`` (rows/s; capped at SHAP_ROWS rows per type).
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from datetime import date
from functools import partial
from pathlib import Path

import shap

from data_contracts.lake import Lake
from features.build import FeatureTable, build_features
from features.registry import ENTITY_TYPES, EntityType
from models.bundle import LoadedModel
from models.datasets import feature_frame, training_days
from models.scoring import score_type
from models.train import Evidence, train_entity

SHAP_ROWS = 50_000  # rows per entity type explained by shap.TreeExplainer (its rate is what is compared)


def _cached(cache: dict[date, dict[EntityType, FeatureTable]], entity: EntityType, day: date) -> FeatureTable:
    return cache[day][entity]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--as-of", type=date.fromisoformat, required=True)
    parser.add_argument("--json", type=Path, required=True)
    args = parser.parse_args()
    lake = Lake(args.home)
    out: dict[str, dict[str, float]] = {}
    try:
        started = time.perf_counter()
        cache = {day: build_features(lake, day) for day in training_days(args.as_of)}
        scoring_tables = cache[args.as_of]  # training reads the features as of its own day too
        features_s = time.perf_counter() - started
        for entity in ENTITY_TYPES:
            t0 = time.perf_counter()
            # Speed only: any positive lets a model be fitted (a type with none is timed as the count serves it).
            model = train_entity(
                lake, entity, args.as_of, features_at=partial(_cached, cache, entity), evidence=Evidence(1, 1)
            )
            train_s = time.perf_counter() - t0
            table = scoring_tables[entity]
            if model.booster is None:  # no trees (too few labels, or the weighted red flags): time scoring alone
                t0 = time.perf_counter()
                scored = score_type(table, args.as_of.isoformat(), None, model.rule_calibration)
                out[entity] = {
                    "train_seconds": train_s,  # every candidate was fitted; the weighted red flags or the count won
                    "entities": float(len(scored.rows)),
                    "score_seconds": time.perf_counter() - t0,
                    "shap_rows": 0.0,
                    "shap_seconds": 0.0,
                }
                continue
            booster = model.booster.booster_
            loaded = LoadedModel(f"bench-{entity}", entity, booster, model.calibrator, model.features, {})
            t0 = time.perf_counter()
            scored = score_type(table, args.as_of.isoformat(), loaded)
            score_s = time.perf_counter() - t0
            x = feature_frame(table.table, loaded.features)[:SHAP_ROWS]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                explainer = shap.TreeExplainer(loaded.booster)
                t0 = time.perf_counter()
                explainer.shap_values(x)
                shap_s = time.perf_counter() - t0
            out[entity] = {
                "train_seconds": train_s,
                "entities": float(len(scored.rows)),
                "score_seconds": score_s,
                "shap_rows": float(len(x)),
                "shap_seconds": shap_s,
            }
        out["_features"] = {"seconds_for_three_dates": features_s}
    finally:
        lake.close()
    args.json.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
