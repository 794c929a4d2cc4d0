"""Training and evaluation flows: wire models/ (pure functions) into Prefect tasks."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from data_contracts.lake import Lake
from data_contracts.pseudonymise import load_key
from features.build import build_features
from features.registry import ENTITY_TYPES, EntityType
from models.bundle import latest_bundle, load_bundle, save_bundle
from models.evaluate import evaluate_entity
from models.train import train_entity


def _lake_fingerprint(lake: Lake) -> str:
    entries = lake.ledger()
    return f"{len(entries)} batches, last {entries[-1].batch_id[:12]}" if entries else "empty lake"


@task(name="train-model", retries=1, retry_delay_seconds=[2], cache_policy=NO_CACHE)
def train_task(home: Path, entity: EntityType, as_of: date, truth_dir: Path | None) -> str:
    lake = Lake(home)
    try:
        truth = None
        if truth_dir is not None:
            from models.truth_evaluation import truth_positives

            truth = truth_positives(truth_dir, entity, load_key(home))
        model = train_entity(lake, entity, as_of, truth)
        return save_bundle(model, home, {"strategy_comparison": model.comparison}, _lake_fingerprint(lake))
    finally:
        lake.close()


@flow(name="train", log_prints=False, validate_parameters=False)
def train_flow(
    home: Path, as_of: date, truth_dir: Path | None = None, entities: tuple[EntityType, ...] = ENTITY_TYPES
) -> dict[str, str]:
    return {entity: train_task(home, entity, as_of, truth_dir) for entity in entities}


@task(name="evaluate-model", cache_policy=NO_CACHE)
def evaluate_task(home: Path, as_of: date, truth_dir: Path | None, entities: tuple[EntityType, ...]) -> dict[str, Any]:
    lake = Lake(home)
    try:
        tables = build_features(lake, as_of, entities)
        key = load_key(home)
        out: dict[str, Any] = {}
        for entity in entities:
            model_id = latest_bundle(home, entity, as_of)
            if model_id is None:
                out[entity] = {"error": f"no {entity} model trained on or before {as_of}: run tracerisk train"}
                continue
            truth = None
            if truth_dir is not None:
                from models.truth_evaluation import truth_positives

                truth = truth_positives(truth_dir, entity, key)
            out[entity] = evaluate_entity(lake, load_bundle(home, model_id), tables[entity], as_of, truth)
        return out
    finally:
        lake.close()


@flow(name="evaluate", log_prints=False, validate_parameters=False)
def evaluate_flow(
    home: Path, as_of: date, truth_dir: Path | None = None, entities: tuple[EntityType, ...] = ENTITY_TYPES
) -> dict[str, Any]:
    return evaluate_task(home, as_of, truth_dir, entities)
