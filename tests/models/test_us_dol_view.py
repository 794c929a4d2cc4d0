"""The us-dol views: the generic evaluation as the backtest figures, the published rows as the score CSV, lake
records as the recruiter listing's Appendix C rows."""

from __future__ import annotations

from datetime import date
from typing import Any

from models.evaluate import CEILING_ON_LABELS
from models.us_dol import (
    appendix_c_rows,
    backtest_view,
    origin_summary,
    origins_markdown,
    served_scores_csv,
)


def ranking(p: float, ap: float, k: int = 100, n: int = 1000) -> dict[str, Any]:
    return {
        "k": k,
        "n": n,
        "precision_at_k": p,
        "precision_at_k_ci95": [p / 2, p * 2],
        "lift_at_k": p * 50,
        "average_precision": ap,
        "average_precision_ci95": [ap / 2, ap * 2],
        "roc_auc": 0.6,
    }


def evaluation(model: dict[str, Any] | None) -> dict[str, Any]:
    share = {"higher_share": 0.75, "lower_share": 0.125, "difference_ci95": [-0.01, 0.02]}
    paired = {"resamples": 1000, "seed": 7, "level": 0.95, "k": 100, "served_vs_rule": {"precision_at_k": share}}
    if model is not None:
        paired["model_vs_rule"] = {"average_precision": share}
    return {
        "entity": "employer",
        "as_of": "2013-01-01",
        "served": "red_flag_count",
        "served_reason": "the count serves",
        "served_ranking": ranking(0.03, 0.02),
        "model": model,
        "rule": ranking(0.02, 0.01),
        "random": ranking(0.02, 0.02),
        "positives": {"train": 19, "fold": 14, "eval_new": 20, "eval_known": 2},
        "known_positives": {"entities_sanctioned_before": 30},
        "train_labels": ["2011-01-12", "2012-04-06"],
        "gate": {"windows": {"fit_origins": ["2011-01-12", "2011-04-12"]}},
        "curves": {"gain": {"rule": [[0.0, 0.0], [1.0, 1.0]], "served": [[0.0, 0.0], [1.0, 1.0]]}},
        "paired": paired,
        "ceiling": {"fitted_on": CEILING_ON_LABELS, "precision_at_k": 0.06, "average_precision": 0.03, "folds": 5},
    }


def test_backtest_view_names_the_figures_as_the_backtest_does() -> None:
    row = backtest_view(evaluation(ranking(0.05, 0.04)), date(2014, 12, 31), 45)
    assert row["labels_to"] == "2014-12-31" and row["later_debarments"] == 45
    assert row["entities_judged"] == 1000 and row["entities_scored"] == 1030 and row["base_rate"] == 0.02
    assert row["later_debarments_linked_to_a_filer"] == 22 and row["positives_known"] == 2
    served = row["rankings"]["served"]
    assert served["precision_at_100"] == 0.03 and served["precision_at_100_ci95"] == [0.015, 0.06]
    assert row["rankings"]["model"]["average_precision"] == 0.04 and row["model_trained"]
    assert row["paired"]["model_vs_red_flag_count"]["average_precision"]["model_higher_share"] == 0.75
    assert row["paired_served"]["served_vs_red_flag_count"]["precision_at_100"]["model_lower_share"] == 0.125
    assert set(row["gain"]) == {"red_flag_count", "served"}
    assert row["training_origins"] == [{"origin": "2011-01-12, 2011-04-12", "labels_to": "2012-04-06", "positives": 19}]
    assert row["bootstrap"]["resamples"] == 1000
    summary = origin_summary(row)
    assert summary["served_precision_at_100"] == 0.03 and summary["served_ap_over_count"] == 2.0
    assert row["ceiling"]["average_precision"] == 0.03 and summary["ceiling_ap_over_count"] == 3.0
    table = origins_markdown([summary])
    assert "| employer | 2013-01-01 | 2014-12-31 | 20 | red_flag_count | 0.030 | 0.050 | 0.020 |" in table
    assert table.splitlines()[-1].endswith("| 2.00 | 3.00 |") and "AP ceiling / count" in table


def test_backtest_view_without_a_model_repeats_the_served_ranking() -> None:
    row = backtest_view(evaluation(None), date(2014, 12, 31), 45)
    assert row["rankings"]["model"] == row["rankings"]["served"] and not row["model_trained"] and row["model_note"]
    assert row["paired"] == {}


def test_served_scores_csv_keeps_the_dol_entities_in_published_order() -> None:
    def published(entity_id: str, rank: int, model_id: str = "rule-baseline") -> dict[str, Any]:
        reasons = [{"title": "Petitions denied", "detail": "1 of 2 denied"}, {"title": "Growth", "detail": "7.8x"}]
        return {
            "entity_id": entity_id,
            "rank": rank,
            "name": entity_id.upper(),
            "region": "KY",
            "raw_score": 10.0 - rank,
            "reasons": reasons,
            "model_id": model_id,
        }

    rows = [published("sponsor:b", 3), published("E17", 1), published("sponsor:a", 2)]
    csv = served_scores_csv(rows, "employer")
    assert csv["employer_name"].tolist() == ["SPONSOR:A", "SPONSOR:B"] and csv["rank"].tolist() == [1, 2]
    assert csv["reasons"].iloc[0] == "Petitions denied: 1 of 2 denied; Growth: 7.8x"
    assert csv["served"].tolist() == ["red_flag_count", "red_flag_count"]
    assert served_scores_csv([published("agent:x", 1, "recruiter-2013")], "recruiter")["served"].tolist() == ["model"]


def test_appendix_c_rows_from_lake_records() -> None:
    def named(case: str, region: str | None = "n/a", programme: str = "H-2B") -> dict[str, Any]:
        return {
            "application_id": case,
            "programme": programme,
            "recruiter_name": "Agencia Uno",
            "recruiter_country": "Mexico",
            "recruiter_region": region,
            "known_on": date(2020, 10, 1),
        }

    rows = appendix_c_rows([named("H-1"), named("H-2", "JALISCO"), named("H-3", programme="H-2A")])
    assert rows["application_id"].tolist() == ["H-1", "H-2"]
    assert rows["country"].tolist() == ["MEXICO", "MEXICO"] and rows["region"].isna().tolist() == [True, False]
