"""What the evaluate flow writes from an evaluation: the artifact rows, the rolling-backtest summary, the world's
facts from its manifest."""

from __future__ import annotations

import json
from pathlib import Path

from models.evaluation_run import evaluation_rows, world_facts, write_rolling_backtest

METRICS = {"precision_at_k": 0.5, "truth_precision_at_k": 0.6, "average_precision": 0.4, "ece": 0.02, "k": 10}
RESULT = {
    "employer": {"served": "model", "served_ranking": METRICS, "model": METRICS, "rule": METRICS, "random": METRICS},
    "recruiter": {"served": "red_flag_count", "served_ranking": METRICS, "model": None, "rule": METRICS},
    "visa_desk": {"error": "no visa_desk training on or before 2024-01-01: run tracerisk train"},
}


def test_one_row_per_type_and_ranking_it_has_with_the_headline_metrics() -> None:
    rows = evaluation_rows(RESULT)
    assert [(r["entity"], r["ranking"]) for r in rows] == [
        ("employer", "served_ranking"),
        ("employer", "model"),
        ("employer", "rule"),
        ("employer", "random"),
        ("recruiter", "served_ranking"),
        ("recruiter", "rule"),
    ]
    assert set(rows[0]) == {"entity", "ranking", "precision_at_k", "truth_precision_at_k", "average_precision"}


def test_the_rolling_summary_lists_every_evaluated_type_per_origin(tmp_path: Path) -> None:
    path = write_rolling_backtest(tmp_path, {"2023-07-01": RESULT, "2024-01-01": {"employer": RESULT["employer"]}})
    assert path == tmp_path / "reports" / "rolling-backtest.json"
    summary = json.loads(path.read_text(encoding="utf-8"))
    assert list(summary) == ["2023-07-01", "2024-01-01"]
    assert set(summary["2023-07-01"]) == {"employer", "recruiter"}  # the type that was not evaluated is left out
    recruiter = summary["2023-07-01"]["recruiter"]
    assert recruiter["served"] == "red_flag_count" and recruiter["model"] is None and recruiter["random"] is None
    assert recruiter["rule"] == {
        k: METRICS[k] for k in ("precision_at_k", "truth_precision_at_k", "average_precision", "ece")
    }


def test_world_facts_come_from_the_manifest(tmp_path: Path) -> None:
    assert world_facts(None) is None and world_facts(tmp_path) is None
    (tmp_path / "manifest.json").write_text(json.dumps({"scale": "tiny", "seed": 11, "files": []}), encoding="utf-8")
    assert world_facts(tmp_path) == {"scale": "tiny", "seed": 11}
