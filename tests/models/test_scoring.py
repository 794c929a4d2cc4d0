"""Scoring: ranks, bands and top reasons from TreeSHAP (or the rule baseline), and the atomic publish."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pytest

from data_contracts.ingest import ingest_file
from data_contracts.lake import Lake
from data_contracts.pseudonymise import PseudonymKey
from data_contracts.sources import load_source
from features.build import FeatureTable, build_features, red_flag_matrix
from models.bundle import load_bundle, save_bundle
from models.datasets import feature_frame
from models.reasons import MIN_CONTRIBUTION
from models.scoring import BANDS, RULE_BASELINE, TOP_REASONS, ScoredType, score_type
from models.train import Evidence, train_entity
from store.engine import connect
from store.publish import ScoreRun, publish, published_runs, published_scores
from tests.models.labelled import add_labels

KEY = PseudonymKey(b"scoring-key-" + b"s" * 40, "test")
AS_OF = date(2024, 6, 30)


@pytest.fixture(scope="module")
def lake(tiny_world: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lake]:
    lake = Lake(tmp_path_factory.mktemp("scoring_home"))
    source = load_source("synthetic", tiny_world)
    for f in source.files(tiny_world):
        ingest_file(lake, f, source, datetime(2026, 11, 1), KEY)
    add_labels(lake, tmp_path_factory.mktemp("labels"), AS_OF, KEY, datetime(2026, 11, 1))
    yield lake
    lake.close()


@pytest.fixture(scope="module")
def employer_table(lake: Lake) -> FeatureTable:
    return build_features(lake, AS_OF, ("employer",))["employer"]


def _check_ranks_and_bands(scored: ScoredType) -> None:
    n = len(scored.rows)
    assert sorted(r["rank"] for r in scored.rows) == list(range(1, n + 1))
    by_rank = sorted(scored.rows, key=lambda r: r["rank"])
    served = [r["raw_score"] for r in by_rank]  # the review order: served score descending
    assert all(a >= b for a, b in itertools.pairwise(served))
    high = sum(r["band"] == "high" for r in scored.rows)
    assert high == int(np.floor(BANDS[0][1] * n + 1e-9)) or high == int(np.ceil(BANDS[0][1] * n))
    for region in {r["region"] or r["country"] for r in scored.rows}:
        mine = [r["rank_in_region"] for r in scored.rows if (r["region"] or r["country"]) == region]
        assert sorted(mine) == list(range(1, len(mine) + 1))


def test_model_scores_carry_treeshap_reasons(lake: Lake, employer_table: FeatureTable, tmp_path: Path) -> None:
    model = train_entity(lake, "employer", AS_OF, evidence=Evidence(1, 1))
    loaded = load_bundle(tmp_path, save_bundle(model, tmp_path, {}, "test"))
    scored = score_type(employer_table, AS_OF.isoformat(), loaded)
    assert scored.model_id == loaded.model_id and len(scored.rows) == employer_table.table.num_rows
    _check_ranks_and_bands(scored)
    x = feature_frame(employer_table.table, loaded.features)
    flags = red_flag_matrix(employer_table, loaded.features)
    contrib = loaded.blend.contributions(loaded.contributions(x), flags)
    ids = [str(v) for v in employer_table.table.column("entity_id").to_pylist()]
    served = loaded.served_score(x, flags)
    np.testing.assert_allclose([r["raw_score"] for r in scored.rows], served, atol=1e-9)
    np.testing.assert_allclose(contrib.sum(axis=1), served, atol=1e-6)  # the reasons add up to the served score
    np.testing.assert_allclose([r["probability"] for r in scored.rows], loaded.probability(x, flags), atol=1e-12)
    with_reasons = 0
    for i, row in enumerate(scored.rows):
        assert row["entity_id"] == ids[i]
        reasons = json.loads(row["reasons"])
        assert len(reasons) <= TOP_REASONS
        positive = sorted((c for c in contrib[i, :-1] if c >= MIN_CONTRIBUTION), reverse=True)[:TOP_REASONS]
        np.testing.assert_allclose([r["contribution"] for r in reasons], positive, atol=1e-6)
        for reason in reasons:
            assert reason["link"] == f"docs/indicators/{reason['indicator_id']}.md" and reason["detail"]
        with_reasons += bool(reasons)
    assert with_reasons > 0
    assert {r["name"] for r in scored.rows} != {None}
    assert {s["kind"] for s in scored.scope} >= {"employer", "region"}


def test_rule_baseline_when_no_champion(employer_table: FeatureTable) -> None:
    scored = score_type(employer_table, AS_OF.isoformat(), None)
    assert scored.model_id == RULE_BASELINE
    _check_ranks_and_bands(scored)
    flags = {r["entity_id"]: r["red_flags"] for r in scored.rows}
    for row in scored.rows:
        reasons = json.loads(row["reasons"])
        assert len(reasons) == min(TOP_REASONS, flags[row["entity_id"]])
        assert all(r["contribution"] == 1.0 for r in reasons)
    top = min(scored.rows, key=lambda r: r["rank"])
    assert top["red_flags"] == max(flags.values())


def test_scored_rows_and_the_published_store_carry_the_profile_address(
    employer_table: FeatureTable, tmp_path: Path
) -> None:
    assert employer_table.profile is not None
    profile = {r["entity_id"]: r["address"] for r in employer_table.profile.to_pylist()}
    assert any(profile.values())  # the simulated register gives its organisations addresses
    scored = score_type(employer_table, AS_OF.isoformat(), None)
    assert {r["entity_id"]: r["address"] for r in scored.rows} == profile
    engine = connect(f"sqlite:///{tmp_path / 'serving.db'}")
    publish(engine, ScoreRun("run-a", AS_OF.isoformat(), {"employer": scored.model_id}, scored.rows, scored.scope))
    assert {r["entity_id"]: r["address"] for r in published_scores(engine, "employer")} == profile
    engine.dispose()
    # a feature table whose profile predates the column: no address, the rest as before
    older = replace(employer_table, profile=employer_table.profile.drop_columns(["address"]))
    again = score_type(older, AS_OF.isoformat(), None)
    assert {r["address"] for r in again.rows} == {None}
    assert [{**r, "address": None} for r in scored.rows] == again.rows


def _run(run_id: str, value: float) -> ScoreRun:
    rows = [
        {
            "entity_type": "employer",
            "entity_id": f"RN{i}",
            "name": f"Org {i}",
            "country": "Corvia",
            "region": "Corvia-R1",
            "sector": "construction",
            "probability": value / (i + 1),
            "band": "high" if i == 0 else "low",
            "rank": i + 1,
            "rank_in_region": i + 1,
            "red_flags": 1,
            "model_id": "m",
            "as_of": "2025-01-01",
            "reasons": "[]",
            "base_value": 0.0,
            "raw_score": 0.0,
        }
        for i in range(30)
    ]
    scope = [{"entity_type": "employer", "entity_id": "RN0", "kind": "region", "value": "Corvia-R1"}]
    return ScoreRun(run_id, "2025-01-01", {"employer": "m"}, rows, scope)


def test_publish_is_all_or_nothing(tmp_path: Path) -> None:
    engine = connect(f"sqlite:///{tmp_path / 'serving.db'}")
    publish(engine, _run("run-a", 0.5))
    assert published_runs(engine) == {"employer": "run-a"}

    def crash() -> None:
        raise RuntimeError("killed half-way")

    with pytest.raises(RuntimeError, match="half-way"):
        publish(engine, _run("run-b", 0.9), before_commit=crash)
    served = published_scores(engine, "employer")
    assert published_runs(engine) == {"employer": "run-a"}
    assert {r["run_id"] for r in served} == {"run-a"} and served[0]["probability"] == 0.5
    with engine.connect() as conn:  # nothing of the failed run was left behind
        assert conn.exec_driver_sql("SELECT count(*) FROM scores WHERE run_id = 'run-b'").scalar() == 0
        assert conn.exec_driver_sql("SELECT count(*) FROM score_runs WHERE run_id = 'run-b'").scalar() == 0
    publish(engine, _run("run-b", 0.9))
    assert published_scores(engine, "employer")[0]["probability"] == 0.9
    engine.dispose()
