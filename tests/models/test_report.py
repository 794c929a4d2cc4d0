"""The model card says what kind of model it is and, for the weighted red flags, each flag's weight; the target
verdicts name the truth ceiling."""

from __future__ import annotations

from typing import Any

from models.evaluate import CEILING_ON_LABELS, CEILING_ON_PLANTED
from models.report import model_card, render_report, target_checks
from models.train import LATENT_STRATEGY


def _meta(strategy: str, flag_weights: list[float]) -> dict[str, Any]:
    return {
        "model_id": "employer-2024-03-02-0123456789",
        "entity": "employer",
        "trained_as_of": "2024-03-02",
        "fit_as_of": "2022-09-09",
        "fold_as_of": "2023-06-06",
        "strategy": strategy,
        "calibration": {"kind": "platt"},
        "code_version": "0.1.0",
        "data_fingerprint": "test",
        "indicator_ids": ["E01", "E02", "E03"],
        "gate": {"reason": "the test's decision"},
        "blend": {"weight": 0.0 if flag_weights else 0.5, "flag_weights": flag_weights},
    }


def test_a_weighted_red_flags_card_lists_each_weight_heaviest_first() -> None:
    card = model_card(_meta(LATENT_STRATEGY, [0.5, 0.0, 2.25]))
    assert "No trees" in card and "LightGBM" not in card
    rows = [line for line in card.splitlines() if line.startswith("| E0")]
    assert [r.split()[1] for r in rows] == ["E03", "E01", "E02"]
    assert rows[0].endswith("| 2.25 |") and rows[-1].endswith("| 0.00 |")


def test_a_trees_card_has_no_weights_section() -> None:
    card = model_card(_meta("ipw+count 0.50", []))
    assert "LightGBM" in card and "## Weighted red flags" not in card


def test_the_card_says_findings_label_employers_and_no_other_type() -> None:
    employer = model_card(_meta("ipw", []))
    recruiter = model_card({**_meta("ipw", []), "entity": "recruiter", "indicator_ids": ["R01"]})
    assert "ILO forced-labour indicator labels the employer" in employer
    assert "forced-labour indicator labels" not in recruiter


def test_the_verdicts_name_the_truth_ceiling_when_evaluation_measured_one() -> None:
    result: dict[str, Any] = {
        "served_ranking": {"truth_precision_at_k": 0.6},
        "rule": {"truth_precision_at_k": 0.5},
        "random": {"truth_precision_at_k": 0.07},
    }
    assert not any("ceiling" in line for line in target_checks("employer", result))
    result["ceiling"] = {"fitted_on": CEILING_ON_LABELS, "precision_at_k": 0.2, "folds": 5}
    assert not any("ceiling" in line for line in target_checks("employer", result))
    result["ceiling"] = {"fitted_on": CEILING_ON_PLANTED, "precision_at_k": 0.64, "folds": 5}
    ceiling = [line for line in target_checks("employer", result) if line.startswith("ceiling")]
    assert ceiling == [
        "ceiling 0.640: trees fitted on the truth itself reach it, each entity scored by trees that never saw it "
        "(5-fold); no ranking of these features learnt without the truth can be expected above it"
    ]


def _no_model_result() -> dict[str, Any]:
    rule = {"k": 40, "n": 786, "positives": 4, "precision_at_k": 0.025, "truth_precision_at_k": 0.625}
    return {
        "as_of": "2024-03-02",
        "horizon_days": 270,
        "entity": "recruiter",
        "model_id": None,
        "served_ranking": rule,
        "rule": rule,
        "random": {"k": 40, "n": 786, "precision_at_k": 0.005, "truth_precision_at_k": 0.088},
        "served": "red_flag_count",
        "served_reason": "no model: 1 new positive in the held-out fold",
        "train_labels": ["2022-03-13", "2023-06-06"],
        "fold_labels": ["2023-06-06", "2024-03-02"],
        "positives": {"train": 6, "fold": 1, "eval_new": 4, "eval_known": 0},
        "gate": {"promote": False, "challenger": None, "reason": "no model: 1 new positive in the held-out fold"},
    }


def test_the_report_writes_windows_as_intervals_and_says_when_no_model_was_trained() -> None:
    page = render_report({"recruiter": _no_model_result()})
    assert "Training labels (2022-03-13, 2023-06-06], held-out fold labels (2023-06-06, 2024-03-02]" in page
    assert "['2022-03-13'" not in page and "&#x27;2022" not in page
    assert "no model for this type (the red-flag count ranks it)" in page and "<code>None</code>" not in page
    assert "no challenger: no model: 1 new positive in the held-out fold" in page
    assert "kept as challenger" not in page
