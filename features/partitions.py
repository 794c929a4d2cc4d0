"""Feature builds split into partitions of entity types, for a distributed task runner (``--runner dask``).

A partition is a group of entity types built by one task: it creates the point-in-time views (entity resolution
and network included) and computes its entity types, exactly as ``build_features`` does for all of them, so the
merged tables equal a single build. Tasks may run in other processes or on other machines: they get a
``LakeSnapshot`` (the lake's SQL over its committed Parquet files, picklable, no DuckDB catalogue held open),
never a ``Lake``, whose catalogue only one process may open.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from data_contracts.contracts import CONTRACTS
from data_contracts.lake import Lake
from features.build import FeatureTable, build_features
from features.registry import EntityType


class LakeSnapshot(Lake):
    """A read-only view of a lake as of its last commit: ``current_sql``, ``versions_sql`` and ``superseded`` per
    record type, nothing else.

    ``home`` is the scratch folder of the task that reads it (``build_features`` spills under ``home/tmp``),
    so that two DuckDB processes never share temporary files. The Parquet files it names are immutable;
    a commit made after the snapshot is not seen.
    """

    def __init__(
        self,
        home: Path,
        current: dict[str, str | None],
        versions: dict[str, str | None],
        superseded: dict[str, bool],
    ) -> None:  # no catalogue connection
        self.home = home
        self.sql_by_type = current
        self.versions_by_type = versions
        self.superseded_by_type = superseded

    def current_sql(self, record_type: str) -> str | None:
        return self.sql_by_type.get(record_type)

    def versions_sql(self, record_type: str) -> str | None:
        return self.versions_by_type.get(record_type)

    def superseded(self, record_type: str) -> bool:
        return self.superseded_by_type.get(record_type, True)

    def close(self) -> None:
        pass

    def scratch(self, folder: Path) -> LakeSnapshot:
        """The same snapshot with its own scratch folder."""
        return LakeSnapshot(folder, self.sql_by_type, self.versions_by_type, self.superseded_by_type)


def snapshot(lake: Lake) -> LakeSnapshot:
    """What ``lake`` holds now, for tasks that must not open its catalogue."""
    return LakeSnapshot(
        lake.home,
        {record_type: lake.current_sql(record_type) for record_type in CONTRACTS},
        {record_type: lake.versions_sql(record_type) for record_type in CONTRACTS},
        {record_type: lake.superseded(record_type) for record_type in CONTRACTS},
    )


def entity_groups(entities: tuple[EntityType, ...], partitions: int) -> list[tuple[EntityType, ...]]:
    """``entities`` dealt round-robin into at most ``partitions`` non-empty groups (order kept within a group)."""
    n = max(1, min(partitions, len(entities)))
    return [entities[i::n] for i in range(n) if entities[i::n]]


def build_partition(
    lake: Lake,
    as_of: date,
    entities: tuple[EntityType, ...],
    network_out: Path | None = None,
    event_time: bool = False,
) -> dict[EntityType, FeatureTable]:
    """Features of one partition of entity types (``build_features`` on ``lake``, which may be a snapshot)."""
    return build_features(lake, as_of, entities, network_out=network_out, event_time=event_time)


def merge_partitions(
    parts: list[dict[EntityType, FeatureTable]], entities: tuple[EntityType, ...]
) -> dict[EntityType, FeatureTable]:
    """The partitions' tables in the order of ``entities`` (the order a single build returns)."""
    found: dict[EntityType, FeatureTable] = {}
    for part in parts:
        found.update(part)
    missing = [e for e in entities if e not in found]
    if missing:
        raise ValueError(f"no partition built {', '.join(missing)}")
    return {e: found[e] for e in entities}
