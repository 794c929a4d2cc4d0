"""A score run's model entries where the red-flag count serves, and the per-type summary of a run."""

from __future__ import annotations

from models.gate import SERVED_COUNT
from models.score_run import count_entry, summarise
from models.scoring import RULE_BASELINE
from store.publish import ScoreRun

REGISTRY_ENTRY = {
    "served": SERVED_COUNT,
    "served_reason": "no candidate beat the red-flag count on the held-out fold",
    "decisions": [
        {"trained_as_of": "2023-01-01"},
        {
            "trained_as_of": "2024-01-01",
            "windows": {"train_labels": ["2022-01-09", "2023-04-06"], "fold_labels": ["2023-04-06", "2024-01-01"]},
            "positives": {"train": 40, "fold": 9},
        },
    ],
}


def test_the_count_entry_serves_as_champion_and_says_why_no_model_does() -> None:
    entry = count_entry("recruiter", REGISTRY_ENTRY, None)
    assert entry.model_id == f"{RULE_BASELINE}-recruiter" and entry.status == "champion"
    assert entry.strategy == SERVED_COUNT and entry.trained_as_of == "2024-01-01" and entry.metrics == {}
    positives = {"train": 40, "fold": 9}
    assert entry.gate == {"served": SERVED_COUNT, "reason": REGISTRY_ENTRY["served_reason"], "positives": positives}
    assert entry.card.startswith("# The red-flag count serves recruiter\n")
    assert "no candidate beat the red-flag count" in entry.card
    assert "- Training labels: (2022-01-09, 2023-04-06]; held-out fold labels: (2023-04-06, 2024-01-01]" in entry.card
    assert "- Observed positives: train 40, fold 9" in entry.card and "fold.\n\n- Trained as of" in entry.card


def test_the_count_entry_carries_the_backtest_of_the_count_only() -> None:
    ranking = {"precision_at_k": 0.3}
    evaluated = {
        "served": SERVED_COUNT,
        "as_of": "2024-06-01",
        "served_ranking": ranking,
        "rule": ranking,
        "random": {"precision_at_k": 0.1},
        "positives": {"eval_new": 7},
    }
    entry = count_entry("recruiter", REGISTRY_ENTRY, evaluated)
    assert set(entry.metrics) == {"served_ranking", "rule", "random"}
    assert "Backtest as of 2024-06-01: precision@k 0.3, new positives 7" in entry.card
    assert count_entry("recruiter", REGISTRY_ENTRY, {**evaluated, "served": "model"}).metrics == {}
    assert count_entry("recruiter", {}, None).card.count("no model cleared the gate") == 1


def test_the_summary_counts_each_scored_type() -> None:
    rows = [
        {"entity_type": "employer", "band": "high", "probability": 0.8},
        {"entity_type": "employer", "band": "low", "probability": 0.1},
        {"entity_type": "recruiter", "band": "elevated", "probability": 0.4},
    ]
    run = ScoreRun("run-1", "2024-01-01", {"employer": "employer-m1", "recruiter": RULE_BASELINE}, rows, [])
    summary = summarise(run, ("employer", "recruiter"))
    assert (summary.run_id, summary.as_of, summary.entities) == ("run-1", "2024-01-01", 3)
    assert summary.per_type == [
        {"entity": "employer", "model": "employer-m1", "entities": 2, "high band": 1, "mean probability": 0.45},
        {"entity": "recruiter", "model": RULE_BASELINE, "entities": 1, "high band": 0, "mean probability": 0.4},
    ]
