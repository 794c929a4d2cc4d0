"""The features flow: point-in-time indicator features for every entity type, as of one date."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from data_contracts.home import Home
from data_contracts.lake import Lake
from features.build import FeatureTable, build_features, write_features
from features.partitions import LakeSnapshot, build_partition, entity_groups, merge_partitions, snapshot
from features.registry import ENTITY_TYPES, EntityType
from features.stored import features_dir, home_lake_state
from flows.declare import flow_named, task_named


@task_named("build-features", retry_delays=[2])
def build_task(
    home: Path, as_of: date, entities: tuple[EntityType, ...], event_time: bool = False
) -> dict[EntityType, FeatureTable]:
    lake = Lake(home)
    try:
        network_out = features_dir(home, as_of) / "network_edges.parquet"
        return build_features(lake, as_of, entities, network_out=network_out, event_time=event_time)
    finally:
        lake.close()


@task_named("build-features-partition", retry_delays=[2])
def build_partition_task(
    lake: LakeSnapshot,
    as_of: date,
    entities: tuple[EntityType, ...],
    network_out: Path | None,
    event_time: bool = False,
) -> dict[EntityType, FeatureTable]:
    return build_partition(lake, as_of, entities, network_out, event_time)


def build_partitioned(
    home: Path, as_of: date, entities: tuple[EntityType, ...], partitions: int, event_time: bool = False
) -> dict[EntityType, FeatureTable]:
    """Features of ``entities`` built by one task per group of entity types, on the flow's task runner.

    Every group builds the shared views itself (entity resolution, network), each in its own scratch folder;
    only the first writes the network table."""
    lake = Lake(home)
    try:
        snap = snapshot(lake)
    finally:
        lake.close()  # tasks never open the catalogue
    futures = [
        build_partition_task.submit(
            snap.scratch(Home(home).tmp / f"features-part-{i}"),
            as_of,
            group,
            features_dir(home, as_of) / "network_edges.parquet" if i == 0 else None,
            event_time,
        )
        for i, group in enumerate(entity_groups(entities, partitions))
    ]
    return merge_partitions([f.result() for f in futures], entities)


@task_named("write-features", retry_delays=[2])
def write_task(tables: dict[EntityType, FeatureTable], out_dir: Path, as_of: date, state: str) -> list[Path]:
    return write_features(tables, out_dir, as_of, state, network_written=True)


@flow_named("features")
def features_flow(
    home: Path, as_of: date, partitions: int = 1, event_time: bool = False
) -> dict[EntityType, FeatureTable]:
    """Features of every entity type as of ``as_of`` from the records known before it (``event_time``: by event
    dates alone, whenever known); with ``partitions`` > 1, groups of entity types built by parallel tasks (run the
    flow with a Dask task runner to spread them over workers: flows/runners.py)."""
    state = home_lake_state(home)
    tables = (
        build_task(home, as_of, ENTITY_TYPES, event_time)
        if partitions <= 1
        else build_partitioned(home, as_of, ENTITY_TYPES, partitions, event_time)
    )
    # Event-time features are not what a known-time reader of the folder expects: they record no state.
    write_task(tables, features_dir(home, as_of), as_of, "event-time" if event_time else state)
    return tables
