"""Features as the pipeline keeps them under ``$TRACERISK_HOME/features/as_of=<day>/``: read from there when the
folder holds them built on the lake as it stands, else built from the lake (and, for the indicator tables, written
there for the next reader)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq

from data_contracts.home import Home
from data_contracts.lake import Lake
from features.build import (
    NETWORK_EDGES,
    FeatureTable,
    build_features,
    kept_state,
    lake_state,
    read_features,
    write_features,
)
from features.network import build_network
from features.registry import INDICATORS, EntityType
from features.views import create_views


def features_dir(home: Path, as_of: date) -> Path:
    return Home(home).features_as_of(as_of)


Build = Callable[[], dict[EntityType, FeatureTable]]


def _kept(folder: Path, entities: tuple[EntityType, ...], state: str) -> dict[EntityType, FeatureTable] | None:
    tables = read_features(folder, entities, state)
    return tables if tables is not None and all(t.profile is not None for t in tables.values()) else None


def lake_features(
    home: Path, lake: Lake, as_of: date, entities: tuple[EntityType, ...], network: bool = False
) -> dict[EntityType, FeatureTable]:
    """The features of ``entities`` as of ``as_of`` on ``lake`` as it stands: the features folder's when they were
    built on the same lake and indicators (``lake_state``), else built and kept there for the next reader (with
    the network table, ``network``; without it, one an earlier build left is removed)."""
    folder, state = features_dir(home, as_of), lake_state(lake)
    tables = _kept(folder, entities, state)
    if tables is None:
        tables = build_features(lake, as_of, entities, network_out=folder / NETWORK_EDGES if network else None)
        write_features(tables, folder, as_of, state, network_written=network)
    return tables


def home_lake_state(home: Path) -> str:
    """``lake_state`` of the lake under ``home``."""
    lake = Lake(home)
    try:
        return lake_state(lake)
    finally:
        lake.close()


def _built(home: Path, as_of: date, entities: tuple[EntityType, ...]) -> dict[EntityType, FeatureTable]:
    lake = Lake(home)
    try:
        return build_features(lake, as_of, entities)
    finally:
        lake.close()


def features_as_of(
    home: Path, as_of: date, entities: tuple[EntityType, ...], build: Build | None = None, keep: bool = True
) -> dict[EntityType, FeatureTable]:
    """The features of ``entities`` as of ``as_of``: the features folder's when it holds them all with their
    profiles, built on the lake as it stands (``lake_state``), else built (``build``; default: from the lake in one
    pass) and, with ``keep``, written to the folder for the next reader."""
    folder, state = features_dir(home, as_of), home_lake_state(home)
    tables = _kept(folder, entities, state)
    if tables is not None:
        return tables
    tables = build() if build is not None else _built(home, as_of, entities)
    if keep:
        write_features(tables, folder, as_of, state, network_written=False)
    return tables


def network_edges(home: Path, as_of: date, kinds: tuple[str, ...]) -> list[dict[str, Any]]:
    """The network edges of ``kinds`` as of ``as_of``: from the features folder when the build that wrote them was
    on the lake as it stands (``lake_state``), else built from the lake. Only those kinds leave Arrow (a dict per
    row of every edge kind would take gigabytes on a large world)."""
    folder = features_dir(home, as_of)
    path = folder / NETWORK_EDGES
    if path.is_file() and kept_state(folder) == home_lake_state(home):
        table = pq.read_table(path, filters=[("kind", "in", list(kinds))])
    else:
        lake = Lake(home)
        con = duckdb.connect()
        try:
            create_views(con, lake, as_of, INDICATORS[0].window_days)
            build_network(con)
            listed = ", ".join(f"'{k}'" for k in kinds)
            table = con.sql(f"SELECT * FROM network_edges WHERE kind IN ({listed})").to_arrow_table()
        finally:
            con.close()
            lake.close()
    rows: list[dict[str, Any]] = table.to_pylist()
    return rows
