"""Models: point-in-time training, calibrated probabilities, TreeSHAP reasons, bundles, evaluation schema."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import date, timedelta
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import shap

from data_contracts.ingest import ingest_file
from data_contracts.lake import Lake
from data_contracts.sources import load_source
from features.build import build_features, red_flag_matrix
from models import treeshap
from models.blend import Blend, Calibrator
from models.bundle import candidate_scores, latest_bundle, load_bundle, model_text, save_bundle
from models.datasets import HORIZON_DAYS, Dataset, dataset, labelled_by, labels_between, training_windows
from models.evaluate import evaluate_entity
from models.metrics import expected_calibration_error, random_expectation, safe_ap
from models.ranking import precision_at, recall_at, review_order, tiebreak_keys
from models.reasons import MIN_CONTRIBUTION
from models.scoring import score_type
from models.train import LATENT_STRATEGY, Booster, Evidence, fit_booster, train_entity
from models.truth_evaluation import truth_positives
from tests.ingestion import NOW, pseudonym_key
from tests.models.labelled import add_labels

KEY = pseudonym_key("models", "z")
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
    add_labels(lake, tmp_path_factory.mktemp("labels"), AS_OF, KEY, NOW)
    yield lake
    lake.close()


EVIDENCE_FOR_TINY = Evidence(1, 1)  # the tiny world has a handful of labels: enough to exercise the code


def test_metrics_on_known_rankings() -> None:
    scores = np.array([0.9, 0.8, 0.7, 0.1, 0.05, 0.0])
    labels = np.array([1.0, 0.0, 1.0, 0.0, 0.0, 1.0])
    keys = tiebreak_keys([str(i) for i in range(6)])
    assert precision_at(scores, labels, 2, keys) == 0.5
    assert recall_at(scores, labels, 3, keys) == pytest.approx(2 / 3)
    assert expected_calibration_error(np.array([0.0, 0.0, 1.0, 1.0]), np.array([0.0, 0.0, 1.0, 1.0])) == 0.0


def test_random_is_an_exact_expectation_with_its_interval() -> None:
    labels = np.zeros(1000)
    labels[:50] = 1.0
    got = random_expectation(labels, labels, 50)
    assert got["precision_at_k"] == pytest.approx(0.05) and got["truth_precision_at_k"] == pytest.approx(0.05)
    low, high = got["precision_at_k_ci95"]  # type: ignore[misc]
    assert 0.0 <= low < 0.05 < high <= 0.2
    assert got["random_draws"] >= 200 and 0.03 < float(got["average_precision"]) < 0.08  # type: ignore[arg-type]


def test_random_average_precision_is_a_mean_over_draws_not_one_draw() -> None:
    labels = np.zeros(1000)
    labels[:50] = 1.0
    got = random_expectation(labels, None, 50)
    low, high = got["average_precision_ci95"]  # type: ignore[misc]
    assert low < float(got["average_precision"]) < high  # type: ignore[arg-type]  # one draw is its own interval


def test_the_trees_fit_no_label_of_the_fold_and_the_fold_holds_no_known_entity(tiny_lake: Lake) -> None:
    w = training_windows(AS_OF)
    fitted: list[Dataset] = []

    def no_trees(fit: Dataset, strategy: str) -> Booster:
        fitted.append(fit)
        raise ValueError("no trees needed here")

    model = train_entity(tiny_lake, "employer", AS_OF, fit_model=no_trees, evidence=EVIDENCE_FOR_TINY)
    fit = fitted[0]
    assert fit.group is not None
    for j, origin in enumerate(w.fit_origins):  # each origin's labels end where the fold's begin
        positives = {i for i, y, g in zip(fit.ids, fit.y, fit.group, strict=True) if y and g == j}
        assert positives <= labels_between(tiny_lake, "employer", origin, w.fold_as_of), origin
    in_fold = labels_between(tiny_lake, "employer", w.fold_as_of, AS_OF)
    assert in_fold - labels_between(tiny_lake, "employer", w.fit_origins[-1], w.fold_as_of)  # a leak would show
    # The fold: features as of F, the new positives of (F, D], no entity sanctioned by F.
    known = labelled_by(tiny_lake, "employer", w.fold_as_of)
    fold = model.fold
    assert fold.as_of == w.fold_as_of and known and not known & set(fold.ids)
    new = {i for i, y in zip(fold.ids, fold.y, strict=True) if y}
    assert new and new == (in_fold & set(fold.ids)) - known


def test_ties_follow_the_stable_key_never_the_id_order() -> None:
    ids = [f"EMP{i:05d}" for i in range(200)]
    keys = tiebreak_keys(ids)
    order = review_order(np.zeros(200), keys)
    assert list(order) == list(review_order(np.zeros(200), tiebreak_keys(ids)))  # the same every time
    assert list(order) != list(range(200))  # not the register order
    assert list(review_order(np.arange(200.0), keys)) == list(range(199, -1, -1))  # scores first


def test_training_labels_end_where_the_fold_labels_begin() -> None:
    for as_of in (date(2024, 6, 30), date(2025, 1, 1), date(2023, 3, 3)):
        for horizon in (90, 270, 365):
            w = training_windows(as_of, horizon)
            assert w.train_labels[1] <= w.fold_labels[0] == w.fold_as_of
            assert w.fold_labels[1] == as_of and list(w.fit_origins) == sorted(w.fit_origins)


def test_the_headline_leaves_out_entities_sanctioned_before_the_evaluation_date(tiny_lake: Lake) -> None:
    day = date(2023, 6, 30)  # labels of the tiny lake fall on both sides of it
    ft = build_features(tiny_lake, day, ("employer",))["employer"]
    ids = {str(i) for i in ft.table.column("entity_id").to_pylist()}
    known = labelled_by(tiny_lake, "employer", day, ft.aliases) & ids
    new = labels_between(tiny_lake, "employer", day, day + timedelta(days=HORIZON_DAYS), aliases=ft.aliases) & ids
    result = evaluate_entity(tiny_lake, "employer", ft, day)
    assert known and new - known
    assert result["known_positives"]["entities_sanctioned_before"] == len(known)
    assert result["rule"]["n"] == len(ids) - len(known)
    assert result["rule"]["positives"] == result["positives"]["eval_new"] == len(new - known)


def test_blend_contributions_sum_to_the_served_score() -> None:
    rng = np.random.default_rng(4)
    contrib = rng.normal(size=(50, 4))
    flags = (rng.random((50, 3)) > 0.6).astype(float)
    for weight, flag_weights in ((0.5, ()), (0.5, (2.0, 0.0, 0.7)), (0.0, (2.0, 0.0, 0.7))):
        blend = Blend.fit(weight, contrib.sum(axis=1), flags, flag_weights)
        parts = blend.contributions(contrib if weight else np.zeros_like(contrib), flags)
        np.testing.assert_allclose(parts.sum(axis=1), blend.score(contrib.sum(axis=1), flags), atol=1e-9)
        if flag_weights and not weight:  # without trees, a red flag of weight 0 is no reason
            assert not parts[:, 1].any()
    plain = Blend.fit(0.0, np.zeros(50), flags)  # without weights the count's part is the red-flag count
    np.testing.assert_allclose(plain.score(np.zeros(50), flags) * plain.count_scale + plain.count_center, flags.sum(1))
    weighted = Blend.fit(0.0, np.zeros(50), flags, (1.0, 2.0, 3.0))
    assert Blend.from_dict(weighted.as_dict()).flag_weights == (1.0, 2.0, 3.0)


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
        np.zeros((400, 3)),
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
    model = train_entity(tiny_lake, "employer", AS_OF, evidence=EVIDENCE_FOR_TINY)
    features = build_features(tiny_lake, AS_OF, ("employer",))["employer"].table
    x = np.column_stack([features.column(c).to_numpy(zero_copy_only=False).astype(float) for c in model.features])
    base = np.nan_to_num(x[:50])
    for j in range(base.shape[1]):
        low, high = base.copy(), base.copy()
        low[:, j], high[:, j] = 0.0, 1e6
        assert np.all(model.raw_score(high) >= model.raw_score(low) - 1e-9), model.features[j]


def test_training_uses_only_what_was_known_on_the_as_of_date(tiny_world: Path, tmp_path: Path) -> None:
    first = _ingest(tmp_path / "a", tiny_world)
    add_labels(first, tmp_path / "labels", AS_OF, KEY, NOW)
    before = train_entity(first, "employer", AS_OF, evidence=EVIDENCE_FOR_TINY)
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
    add_labels(second, tmp_path / "labels", AS_OF, KEY, NOW)
    report = ingest_file(second, load_source("csv", extra).files(extra)[0], load_source("csv", extra), NOW, KEY)
    assert report.accepted == 60
    after = train_entity(second, "employer", AS_OF, evidence=EVIDENCE_FOR_TINY)
    second.close()
    assert before.has_model and after.has_model
    assert model_text(before) == model_text(after)
    assert set(before.candidate_boosters) == set(after.candidate_boosters)
    for strategy, trees in before.candidate_boosters.items():
        assert trees.booster_.model_to_string() == after.candidate_boosters[strategy].booster_.model_to_string()


def test_trees_that_win_the_fold_come_with_the_weighted_red_flags_as_a_challenger(tiny_lake: Lake) -> None:
    # Trees fitted on the fold's own labels (a leak, only to make trees win the fold here).
    w = training_windows(AS_OF)
    fold = dataset(tiny_lake, "employer", w.fold_as_of, AS_OF, known_by=AS_OF, drop_known=True)
    model = train_entity(
        tiny_lake,
        "employer",
        AS_OF,
        fit_model=lambda _, strategy: fit_booster(fold, strategy),
        evidence=EVIDENCE_FOR_TINY,
    )
    assert model.booster is not None and model.strategy != LATENT_STRATEGY
    # Calibrated on the fold alone: the scores the fold judged, against the fold's labels.
    judged_by_fold = model.fold_score()
    on_fold = Calibrator().fit(judged_by_fold, model.fold.y)
    assert model.calibrator.kind_ == on_fold.kind_ != "identity"
    np.testing.assert_allclose(model.calibrator.predict(judged_by_fold), on_fold.predict(judged_by_fold))
    second = model.label_free
    assert second is not None and second.has_model and second.label_free is None
    assert second.strategy == LATENT_STRATEGY and second.booster is None
    assert second.windows == model.windows and second.positives == model.positives
    # Judged as fitted on the fold's entities and on the window before the fold; served as fitted today.
    assert second.fold_blend is not None and second.fold_blend.flag_weights != second.blend.flag_weights
    assert [w.as_of for w, _ in second.evidence_windows] == [model.fit_as_of]
    judged = second.fold_blend.score(np.zeros(len(model.fold.ids)), model.fold.flags)
    assert np.array_equal(second.fold_score(), judged)
    assert model.comparison[LATENT_STRATEGY]["fold_average_precision"] == pytest.approx(safe_ap(judged, model.fold.y))


def test_too_little_evidence_gives_no_model_and_says_why(tiny_lake: Lake) -> None:
    # Too few training positives: no trees; only the weighted red flags, which read no label, compete.
    model = train_entity(tiny_lake, "employer", AS_OF, evidence=Evidence(10_000, 1))
    assert model.booster is None and not model.candidate_boosters
    assert "fewer than the 10000" in model.comparison["trees"]["error"]
    assert set(model.candidates) == {LATENT_STRATEGY}
    assert model.positives["train"] < 10_000
    # Too few new positives on the fold: nothing can be shown, no model at all.
    model = train_entity(tiny_lake, "employer", AS_OF, evidence=Evidence(1, 10_000))
    assert not model.has_model and model.strategy is None
    assert model.no_model_reason is not None and "fewer than the 10000" in model.no_model_reason


def test_bundle_round_trip_reasons_and_evaluation_schema(tiny_lake: Lake, tiny_world: Path) -> None:
    model = train_entity(tiny_lake, "employer", AS_OF, evidence=EVIDENCE_FOR_TINY)
    assert {"unlabelled_negative", "inspected_only", "ipw", "lottery", "rank_xendcg"} <= set(model.comparison)
    home = tiny_lake.home
    model_id = save_bundle(model, home, {}, "test")
    assert latest_bundle(home, "employer", AS_OF) == model_id
    assert not list((home / "models").glob(".*.tmp"))
    loaded = load_bundle(home, model_id)
    ft = build_features(tiny_lake, AS_OF, ("employer",))["employer"]
    x = np.column_stack([ft.table.column(c).to_numpy(zero_copy_only=False).astype(float) for c in loaded.features])
    flags = red_flag_matrix(ft, loaded.features)
    assert np.array_equal(flags.sum(axis=1), ft.table.column("red_flags").to_numpy())  # the count's terms
    assert np.allclose(loaded.probability(x, flags), model.probability(x, flags))
    assert np.all((loaded.probability(x, flags) >= 0) & (loaded.probability(x, flags) <= 1))
    contrib = loaded.blend.contributions(loaded.contributions(x), flags)
    top = int(np.argmax(contrib[:, :-1].max(axis=1)))  # the entity with the largest single contribution
    scored = score_type(ft, AS_OF.isoformat(), loaded)
    reasons = json.loads(scored.rows[top]["reasons"])
    assert scored.rows[top]["entity_id"] == ft.table.column("entity_id")[top].as_py()
    assert reasons and all(r["contribution"] >= MIN_CONTRIBUTION for r in reasons)
    assert reasons[0]["contribution"] == pytest.approx(float(contrib[top, :-1].max()), abs=1e-6)
    # The published rank is the one review order the metrics use: served score, then the tie-break key.
    served = loaded.served_score(x, flags)
    ids = [str(r["entity_id"]) for r in scored.rows]
    order = review_order(served, tiebreak_keys(ids))
    assert [scored.rows[i]["rank"] for i in order] == list(range(1, len(ids) + 1))
    assert all(r["link"].endswith(f"{r['indicator_id']}.md") and r["title"] and "{" not in r["detail"] for r in reasons)
    truth = truth_positives(tiny_world, "employer", KEY)
    result = evaluate_entity(
        tiny_lake, "employer", ft, AS_OF, truth, loaded, loaded, candidates=partial(candidate_scores, home, loaded)
    )
    assert set(result["candidates"]) == {k for k, m in model.comparison.items() if "error" not in m}
    kept = result["candidates"][model.strategy]  # the kept candidate is the served model itself
    assert kept["truth_precision_at_k"] == result["model"]["truth_precision_at_k"]
    for ranking in ("served_ranking", "model", "rule", "random"):
        assert set(result[ranking]) >= METRIC_KEYS, ranking
    assert result["served"] == "model" and result["served_model_id"] == model_id
    assert set(result["positives"]) >= {"train", "fold", "eval_new", "eval_known"}
    # Entities sanctioned before the evaluation date are out of the headline ranking.
    assert result["rule"]["n"] + result["known_positives"]["entities_sanctioned_before"] == ft.table.num_rows
    counted = evaluate_entity(tiny_lake, "employer", ft, AS_OF, truth)
    assert counted["served"] == "red_flag_count" and counted["model"] is None
    assert counted["served_ranking"]["truth_precision_at_k"] == counted["rule"]["truth_precision_at_k"]
    with pytest.raises(ValueError, match="after the evaluation date"):
        evaluate_entity(tiny_lake, "employer", ft, date(2023, 1, 1), model=loaded)
