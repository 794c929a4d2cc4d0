"""Models: point-in-time training, calibrated probabilities, TreeSHAP reasons, bundles, evaluation schema."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pytest
import shap

from data_contracts.ingest import ingest_file
from data_contracts.lake import Lake
from data_contracts.pseudonymise import PseudonymKey
from data_contracts.sources import load_source
from features.build import build_features
from models import treeshap
from models.bundle import latest_bundle, load_bundle, save_bundle
from models.evaluate import evaluate_entity
from models.explain import MIN_CONTRIBUTION
from models.metrics import expected_calibration_error, lift_at_k, precision_at_k, recall_at_k
from models.scoring import score_type
from models.train import Dataset, fit_booster, train_entity
from models.truth_evaluation import truth_positives

KEY = PseudonymKey(b"models-key-" + b"z" * 40, "test")
NOW = datetime(2026, 11, 1, 12, 0, 0)
AS_OF = date(2024, 6, 30)
METRIC_KEYS = {
    "precision_at_k",
    "lift_at_k",
    "truth_precision_at_k",
    "truth_lift_at_k",
    "truth_recall_at_k",
    "average_precision",
    "roc_auc",
    "brier",
    "ece",
    "k",
    "n",
}


def _ingest(home: Path, world: Path, fmt: str = "synthetic") -> Lake:
    lake = Lake(home)
    source = load_source(fmt, world)
    for f in source.files(world):
        ingest_file(lake, f, source, NOW, KEY)
    return lake


@pytest.fixture(scope="module")
def tiny_lake(tiny_world: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lake]:
    lake = _ingest(tmp_path_factory.mktemp("models_home"), tiny_world)
    yield lake
    lake.close()


def test_metrics_on_known_rankings() -> None:
    rng = np.random.default_rng(0)
    scores = np.array([0.9, 0.8, 0.7, 0.1, 0.05, 0.0])
    labels = np.array([1.0, 0.0, 1.0, 0.0, 0.0, 1.0])
    assert precision_at_k(scores, labels, 2, rng) == 0.5
    assert recall_at_k(scores, labels, 3, rng) == pytest.approx(2 / 3)
    assert lift_at_k(scores, labels, 2, rng) == pytest.approx(1.0)
    assert expected_calibration_error(np.array([0.0, 0.0, 1.0, 1.0]), np.array([0.0, 0.0, 1.0, 1.0])) == 0.0


def test_treeshap_contributions_equal_shap_and_sum_to_the_raw_score() -> None:
    rng = np.random.default_rng(1)
    x = rng.random((400, 7))
    x[rng.random(x.shape) < 0.1] = np.nan
    y = (np.nan_to_num(x[:, 0]) + np.nan_to_num(x[:, 3]) + rng.normal(0, 0.3, 400) > 1.0).astype(float)
    ds = Dataset(
        "inspector",
        AS_OF,
        [str(i) for i in range(400)],
        x[:, :3],
        y,
        np.zeros(400),
        np.ones(400, bool),
        ["I01_w1095", "I02_w1095", "I03_w1095"],
    )
    booster = fit_booster(ds, "unlabelled_negative")
    ours = treeshap.contributions(booster.booster_, ds.x)  # what scoring uses
    theirs = shap.TreeExplainer(booster.booster_).shap_values(ds.x)
    theirs = theirs[1] if isinstance(theirs, list) else theirs
    assert np.max(np.abs(ours[:, :-1] - theirs)) < 1e-6
    raw = booster.predict(ds.x, raw_score=True)
    assert np.max(np.abs(ours.sum(axis=1) - raw)) < 1e-6


def test_monotone_constraints_hold_for_every_feature(tiny_lake: Lake) -> None:
    model = train_entity(tiny_lake, "employer", AS_OF)
    features = build_features(tiny_lake, AS_OF, ("employer",))["employer"].table
    x = np.column_stack([features.column(c).to_numpy(zero_copy_only=False).astype(float) for c in model.features])
    base = np.nan_to_num(x[:50])
    for j in range(base.shape[1]):
        low, high = base.copy(), base.copy()
        low[:, j], high[:, j] = 0.0, 1e6
        assert np.all(model.raw_score(high) >= model.raw_score(low) - 1e-9), model.features[j]


def test_training_uses_only_what_was_known_on_the_as_of_date(tiny_world: Path, tmp_path: Path) -> None:
    first = _ingest(tmp_path / "a", tiny_world)
    before = train_entity(first, "employer", AS_OF)
    # Outcomes decided after the as-of date (labels of the future) for every employer: nothing may change.
    extra = tmp_path / "late"
    extra.mkdir()
    ids = build_features(first, AS_OF, ("employer",))["employer"].table.column("entity_id").to_pylist()
    first.close()
    with open(extra / "enforcement_outcome.csv", "w", newline="") as handle:
        w = csv.writer(handle)
        w.writerow(["record_id", "source", "outcome_id", "entity_type", "entity_ref", "decided_on", "kind"])
        for i, entity_id in enumerate(ids[:60]):
            w.writerow([f"LATE{i}", "court", f"LATE{i}", "employer", entity_id, "2024-07-15", "conviction"])
    second = _ingest(tmp_path / "b", tiny_world)
    report = ingest_file(second, load_source("csv", extra).files(extra)[0], load_source("csv", extra), NOW, KEY)
    assert report.accepted == 60
    after = train_entity(second, "employer", AS_OF)
    second.close()
    assert before.booster.booster_.model_to_string() == after.booster.booster_.model_to_string()


def test_bundle_round_trip_reasons_and_evaluation_schema(tiny_lake: Lake, tiny_world: Path) -> None:
    model = train_entity(tiny_lake, "employer", AS_OF, truth_positives(tiny_world, "employer", KEY))
    assert set(model.comparison) == {"unlabelled_negative", "inspected_only", "ipw"}
    home = tiny_lake.home
    model_id = save_bundle(model, home, {}, "test")
    assert latest_bundle(home, "employer", AS_OF) == model_id
    assert not list((home / "models").glob(".*.tmp"))
    loaded = load_bundle(home, model_id)
    ft = build_features(tiny_lake, AS_OF, ("employer",))["employer"]
    x = np.column_stack([ft.table.column(c).to_numpy(zero_copy_only=False).astype(float) for c in loaded.features])
    assert np.allclose(loaded.probability(x), model.probability(x))
    assert np.all((loaded.probability(x) >= 0) & (loaded.probability(x) <= 1))
    contrib = loaded.contributions(x)
    top = int(np.argmax(contrib[:, :-1].max(axis=1)))  # the entity with the largest single contribution
    scored = score_type(ft, AS_OF.isoformat(), loaded)
    reasons = json.loads(scored.rows[top]["reasons"])
    assert scored.rows[top]["entity_id"] == ft.table.column("entity_id")[top].as_py()
    assert reasons and all(r["contribution"] >= MIN_CONTRIBUTION for r in reasons)
    assert reasons[0]["contribution"] == pytest.approx(float(contrib[top, :-1].max()), abs=1e-6)
    assert all(r["link"].endswith(f"{r['indicator_id']}.md") and r["title"] and "{" not in r["detail"] for r in reasons)
    result = evaluate_entity(tiny_lake, loaded, ft, AS_OF, truth_positives(tiny_world, "employer", KEY))
    for ranking in ("model", "rule", "random"):
        assert set(result[ranking]) >= METRIC_KEYS, ranking
    with pytest.raises(ValueError, match="after the evaluation date"):
        evaluate_entity(tiny_lake, loaded, ft, date(2023, 1, 1))
