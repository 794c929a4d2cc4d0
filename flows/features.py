"""The features flow: point-in-time indicator features for every entity type, as of one date."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from data_contracts.lake import Lake
from features.build import FeatureTable, build_features, write_features
from features.registry import ENTITY_TYPES, EntityType


@task(name="build-features", retries=1, retry_delay_seconds=[2], cache_policy=NO_CACHE)
def build_task(home: Path, as_of: date, entities: tuple[EntityType, ...]) -> dict[EntityType, FeatureTable]:
    lake = Lake(home)
    try:
        return build_features(lake, as_of, entities, network_out=features_dir(home, as_of) / "network_edges.parquet")
    finally:
        lake.close()


@task(name="write-features", retries=1, retry_delay_seconds=[2], cache_policy=NO_CACHE)
def write_task(tables: dict[EntityType, FeatureTable], out_dir: Path, as_of: date) -> list[Path]:
    return write_features(tables, out_dir, as_of)


def features_dir(home: Path, as_of: date) -> Path:
    return home / "features" / f"as_of={as_of.isoformat()}"


@flow(name="features", log_prints=False, validate_parameters=False)
def features_flow(
    home: Path, as_of: date, entities: tuple[EntityType, ...] = ENTITY_TYPES
) -> dict[EntityType, FeatureTable]:
    tables = build_task(home, as_of, entities)
    write_task(tables, features_dir(home, as_of), as_of)
    return tables
