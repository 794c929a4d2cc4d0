"""`--runner dask`: the tiny world through the in-process runner and a local Dask cluster of two worker processes
gives the same lake contents, byte-identical feature files and identical published scores; partitioned scoring
equals one-piece scoring with a trained model too."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from prefect.testing.utilities import prefect_test_harness
from typer.testing import CliRunner

from data_contracts.contracts import CONTRACTS
from data_contracts.lake import Lake
from features.build import read_features
from features.partitions import entity_groups, merge_partitions, snapshot
from features.registry import ENTITY_TYPES
from flows.cli import app
from models.bundle import LoadedModel
from models.partitions import merge_scored, partition_of, score_partition
from models.scoring import score_type
from models.train import Evidence, train_entity
from store.engine import connect, store_url
from store.publish import published_scores

AS_OF = "2025-01-01"
KEY = "k" * 40  # the same pseudonym key in both homes: pseudonyms, hence features, comparable
runner = CliRunner()


@pytest.fixture(scope="module")
def dask_address() -> Iterator[str]:
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, memory_limit="2GiB"
    ) as cluster:
        yield str(cluster.scheduler_address)


@pytest.fixture(scope="module", autouse=True)
def prefect_server() -> Iterator[None]:
    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="module")
def homes(tiny_world: Path, dask_address: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(local home, dask home), each with the tiny world ingested by its runner and features as of AS_OF."""
    base = tmp_path_factory.mktemp("runners")
    mp = pytest.MonkeyPatch()
    mp.setenv("TRACERISK_PSEUDONYM_KEY", KEY)
    mp.delenv("TRACERISK_STORE_URL", raising=False)
    dask = ["--runner", "dask", "--dask-address", dask_address]
    try:
        for name, options in (("local", []), ("dask", dask)):
            mp.setenv("TRACERISK_HOME", str(base / name))
            ingested = runner.invoke(app, ["ingest", "--source", str(tiny_world), "--gx-sample-rows", "0", *options])
            assert ingested.exit_code == 0, ingested.output
            built = runner.invoke(app, ["features", "--as-of", AS_OF, *options])
            assert built.exit_code == 0, built.output
    finally:
        mp.undo()
    return base / "local", base / "dask"


def _current(home: Path, record_type: str) -> pa.Table:
    lake = Lake(home)
    try:
        t = lake.current(record_type)
    finally:
        lake.close()
    keep = [c for c in t.column_names if not c.startswith("_")]  # lineage (_batch, _ingest_seq) names the run
    return t.select(keep).sort_by([("source", "ascending"), ("record_id", "ascending")])


def test_ingest_on_dask_stores_the_same_records(homes: tuple[Path, Path], tiny_world: Path) -> None:
    local, dask = homes
    exported = {p.name for p in (tiny_world / "export").iterdir()}  # the record types the synthetic world writes
    assert exported and exported <= set(CONTRACTS)
    for record_type in CONTRACTS:
        a, b = _current(local, record_type), _current(dask, record_type)
        assert a.equals(b), record_type
        assert (a.num_rows > 0) == (record_type in exported), record_type


def test_features_on_dask_are_byte_identical(homes: tuple[Path, Path]) -> None:
    a_dir, b_dir = (h / "features" / f"as_of={AS_OF}" for h in homes)
    names = sorted(p.name for p in a_dir.iterdir())
    assert names == sorted(p.name for p in b_dir.iterdir()) and "cutoffs.json" in names
    for name in names:
        if name == "network_edges.parquet":  # written without an order: the same rows
            a, b = pq.read_table(a_dir / name), pq.read_table(b_dir / name)
            assert sorted(map(str, a.to_pylist())) == sorted(map(str, b.to_pylist()))
            continue
        assert (a_dir / name).read_bytes() == (b_dir / name).read_bytes(), name


def test_scores_on_dask_are_identical(homes: tuple[Path, Path], dask_address: str) -> None:
    mp = pytest.MonkeyPatch()
    published = []
    try:
        for home, options in zip(homes, ([], ["--runner", "dask", "--dask-address", dask_address]), strict=True):
            mp.setenv("TRACERISK_HOME", str(home))
            scored = runner.invoke(app, ["score", "--as-of", AS_OF, *options])
            assert scored.exit_code == 0, scored.output
            engine = connect(store_url(home))
            published.append(
                {
                    e: [{k: v for k, v in r.items() if k != "run_id"} for r in published_scores(engine, e)]
                    for e in ENTITY_TYPES
                }
            )
            engine.dispose()
    finally:
        mp.undo()
    assert all(published[0][e] for e in ENTITY_TYPES)
    assert published[0] == published[1]


def test_train_distributed_on_the_cluster(homes: tuple[Path, Path], dask_address: str) -> None:
    mp = pytest.MonkeyPatch()
    try:
        mp.setenv("TRACERISK_HOME", str(homes[1]))
        trained = runner.invoke(app, ["train", "--as-of", AS_OF, "--distributed", "--dask-address", dask_address])
    finally:
        mp.undo()
    assert trained.exit_code == 0, trained.output
    registry = json.loads((homes[1] / "models" / "registry.json").read_text())
    assert set(registry) == set(ENTITY_TYPES)
    alone = runner.invoke(app, ["train", "--as-of", AS_OF, "--dask-address", dask_address])
    assert alone.exit_code == 2


def test_partitioned_scoring_with_a_model_equals_one_piece(homes: tuple[Path, Path]) -> None:
    home = homes[0]
    tables = read_features(home / "features" / f"as_of={AS_OF}", ENTITY_TYPES)
    assert tables is not None
    lake = Lake(home)
    try:
        trained = train_entity(lake, "border_post", date.fromisoformat(AS_OF), evidence=Evidence(1, 1))
    finally:
        lake.close()
    model = LoadedModel(
        "border_post-test", "border_post", trained.booster.booster_, trained.calibrator, trained.features, {}
    )
    ft = tables["border_post"]
    whole = score_type(ft, AS_OF, model)
    for partitions in (2, 3):
        parts = [score_partition(ft, p, partitions, AS_OF, model) for p in range(partitions)]
        assert all(p.rows for p in parts)  # every partition has rows: the split is real
        merged = merge_scored(ft, parts)
        assert merged == whole


def test_partition_helpers() -> None:
    assert entity_groups(ENTITY_TYPES, 2) == [ENTITY_TYPES[0::2], ENTITY_TYPES[1::2]]
    assert entity_groups(ENTITY_TYPES, 9) == [(e,) for e in ENTITY_TYPES]
    assert partition_of("RN00003251", 4) == 1 and {partition_of(f"E{i}", 3) for i in range(50)} == {0, 1, 2}
    with pytest.raises(ValueError, match="no partition built"):
        merge_partitions([], ENTITY_TYPES)


def test_lake_snapshot_pickles_and_reads_like_the_lake(homes: tuple[Path, Path]) -> None:
    import pickle

    lake = Lake(homes[0])
    try:
        snap = pickle.loads(pickle.dumps(snapshot(lake)))
        assert all(snap.current_sql(t) == lake.current_sql(t) for t in CONTRACTS)
    finally:
        lake.close()


def test_runner_options_are_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACERISK_HOME", str(tmp_path))
    bad = runner.invoke(app, ["ingest", "--source", str(tmp_path), "--runner", "spark"])
    assert bad.exit_code == 2 and "unknown runner" in bad.output
    alone = runner.invoke(app, ["ingest", "--source", str(tmp_path), "--dask-address", "tcp://127.0.0.1:1"])
    assert alone.exit_code == 2 and "--dask-address needs --runner dask" in alone.output
