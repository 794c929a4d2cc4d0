"""Features kept in the features folders: read back while the lake is unchanged, built again once it gains a
batch, the network table only beside the build that wrote it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import features.stored as stored_features
from data_contracts.lake import Lake
from features.build import NETWORK_EDGES, lake_state
from features.stored import features_as_of, features_dir, lake_features
from tests.features.test_build import GOLDEN, ingest_folder

DAY = date(2027, 1, 1)  # after the golden records became known (ingested at NOW)
ENTITIES = ("employer", "recruiter")


@pytest.fixture()
def home(tmp_path: Path) -> Iterator[Path]:
    landing = tmp_path / "landing"
    landing.mkdir()
    shutil.copy(GOLDEN / "basic" / "organisation.csv", landing)
    ingest_folder(tmp_path / "home", landing).close()
    yield tmp_path / "home"


def _counting_builds(monkeypatch: pytest.MonkeyPatch) -> list[date]:
    """Every build_features call features.stored makes, by day (the builds still run)."""
    builds: list[date] = []
    real = stored_features.build_features

    def counted(lake: Lake, as_of: date, *args: Any, **kwargs: Any) -> Any:
        builds.append(as_of)
        return real(lake, as_of, *args, **kwargs)

    monkeypatch.setattr(stored_features, "build_features", counted)
    return builds


def _add_a_batch(home: Path, tmp_path: Path) -> None:
    landing = tmp_path / "later"
    landing.mkdir()
    shutil.copy(GOLDEN / "basic" / "recruiter.csv", landing)
    ingest_folder(home, landing).close()


def test_kept_features_are_read_back_until_the_lake_changes(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    builds = _counting_builds(monkeypatch)
    lake = Lake(home)
    try:
        first = lake_features(home, lake, DAY, ENTITIES, network=True)
        again = lake_features(home, lake, DAY, ENTITIES)
        state = lake_state(lake)
    finally:
        lake.close()
    assert builds == [DAY]  # the second read is the folder's
    assert again["employer"].table.equals(first["employer"].table)
    assert (features_dir(home, DAY) / NETWORK_EDGES).is_file()
    assert features_as_of(home, DAY, ENTITIES)["recruiter"].table.equals(first["recruiter"].table)
    assert builds == [DAY]

    _add_a_batch(home, tmp_path)
    lake = Lake(home)
    try:
        assert lake_state(lake) != state
        rebuilt = lake_features(home, lake, DAY, ENTITIES)  # without the network: the old table goes
    finally:
        lake.close()
    assert builds == [DAY, DAY]
    assert rebuilt["recruiter"].table.num_rows > first["recruiter"].table.num_rows  # the register's recruiters
    assert not (features_dir(home, DAY) / NETWORK_EDGES).exists()
    features_as_of(home, DAY, ENTITIES)
    assert builds == [DAY, DAY]


def test_features_of_another_lake_state_are_built_again(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    builds = _counting_builds(monkeypatch)
    features_as_of(home, DAY, ENTITIES)
    meta = features_dir(home, DAY) / "cutoffs.json"
    meta.write_text(meta.read_text(encoding="utf-8").replace('"state": "', '"state": "another '), encoding="utf-8")
    features_as_of(home, DAY, ENTITIES)
    assert builds == [DAY, DAY]
    features_as_of(home, DAY, ENTITIES)  # kept with the lake's state again
    assert builds == [DAY, DAY]


def test_features_kept_before_the_build_code_changed_are_built_again(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    builds = _counting_builds(monkeypatch)
    module = tmp_path / "views.py"
    module.write_text("one way of attaching records to entities\n", encoding="utf-8")
    monkeypatch.setattr("features.build.BUILD_MODULES", (module,))
    features_as_of(home, DAY, ENTITIES)
    features_as_of(home, DAY, ENTITIES)
    assert builds == [DAY]
    module.write_text("another way of attaching records to entities\n", encoding="utf-8")
    features_as_of(home, DAY, ENTITIES)
    assert builds == [DAY, DAY]


def test_kept_network_edges_are_read_only_beside_the_lake_state_they_were_built_on(home: Path) -> None:
    lake = Lake(home)
    try:
        lake_features(home, lake, DAY, ENTITIES, network=True)
    finally:
        lake.close()
    kept = features_dir(home, DAY) / NETWORK_EDGES
    pq.write_table(pa.table({"kind": ["kept_only"], "source": ["a"], "target": ["b"]}), kept)
    assert stored_features.network_edges(home, DAY, ("kept_only",)) == [
        {"kind": "kept_only", "source": "a", "target": "b"}
    ]
    meta = features_dir(home, DAY) / "cutoffs.json"
    meta.write_text(meta.read_text(encoding="utf-8").replace('"state": "', '"state": "another '), encoding="utf-8")
    assert stored_features.network_edges(home, DAY, ("kept_only",)) == []  # built from the lake as it stands
