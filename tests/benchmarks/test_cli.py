"""``python -m benchmarks``: the result file's check (CI's smoke test) and ``run --profile`` at tiny scale."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from benchmarks.__main__ import cli
from benchmarks.check import problems
from benchmarks.table import markdown

runner = CliRunner()


def _doc() -> dict[str, Any]:
    stamp = {"scale": "small", "machine": "2 cores, 24 GiB, Python 3.11.7", "versions": "tracerisk 0.1.0"}
    rows = [
        {"name": "simulate small: records/s", "benchmark": "simulate", "unit": "records/s", "figure": 5.0},
        {"name": "simulate small: peak memory", "benchmark": "simulate", "unit": "MiB", "figure": 2.0},
        {"name": "dask features small", "benchmark": "dask", "unit": "s", "figure": 3.0},
        {"name": "dask score small", "benchmark": "dask", "unit": "s", "figure": 1.0},
    ]
    return {
        "rows": [{**r, "compared_with": "target", "comparison_figure": 2.0, "ratio": 1.5, **stamp} for r in rows],
        "machine": {"cpus": 2, "memory_bytes": 1, "platform": "Linux", "python": "3.11.7"},
        "versions": {"tracerisk": "0.1.0"},
    }


def test_check_accepts_a_complete_document_and_never_looks_at_timings() -> None:
    doc = _doc()
    doc["rows"][0]["ratio"] = 1e-9  # any finite figure passes: no timing assertions
    assert problems(doc, "small", ["simulate", "dask"]) == []


def test_check_names_a_missing_benchmark_a_missing_row_and_a_broken_row() -> None:
    doc = _doc()
    assert problems(doc, "small", ["simulate", "dask", "api"]) == ["benchmark 'api': no rows"]
    doc["rows"] = [r for r in doc["rows"] if "peak memory" not in r["name"]]
    assert problems(doc, "small", ["simulate"]) == ["benchmark 'simulate': no row with 'peak memory' in its name"]
    broken = copy.deepcopy(_doc())
    del broken["rows"][2]["machine"]
    broken["rows"][3]["figure"] = float("nan")
    del broken["versions"]
    found = problems(broken, "medium", ["dask"])
    assert "top-level key 'versions' missing" in found
    assert "row 2 (dask features small): 'machine' missing or empty" in found
    assert "row 3 (dask score small): 'figure' is not a finite number (nan)" in found
    assert sum("expected 'medium'" in p for p in found) == 4


def test_check_command_exits_1_on_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(_doc()))
    ok = runner.invoke(cli, ["check", str(path), "--scale", "small", "--only", "simulate", "--only", "dask"])
    assert ok.exit_code == 0, ok.output
    missing = runner.invoke(cli, ["check", str(path), "--scale", "small"])  # every registered benchmark
    assert missing.exit_code == 1
    assert "benchmark 'entity_resolution': no rows" in missing.output


def test_run_profile_writes_text_and_html_per_command_and_for_the_harness(tmp_path: Path) -> None:
    out, profiles = tmp_path / "bench.json", tmp_path / "profiles"
    result = runner.invoke(
        cli, ["run", "--scale", "tiny", "--only", "simulate", "--json", str(out), "--profile", str(profiles)]
    )
    assert result.exit_code == 0, result.output
    assert problems(json.loads(out.read_text()), "tiny", ["simulate"]) == []
    written = sorted(p.name for p in (profiles / "simulate").iterdir())
    assert written == [
        "01-flows.cli-simulate.html",
        "01-flows.cli-simulate.pyisession",
        "01-flows.cli-simulate.txt",
        "harness.html",
        "harness.txt",
    ]
    text = (profiles / "simulate" / "01-flows.cli-simulate.txt").read_text()
    assert "simulate_world" in text  # the command's own frames, not only the profiler's wrapper
    assert "<html" in (profiles / "simulate" / "01-flows.cli-simulate.html").read_text().lower()


def test_table_marks_targets_met_or_missed_by_the_units_direction() -> None:
    doc = _doc()
    doc["rows"] = [
        {**doc["rows"][0], "name": "fast", "unit": "records/s", "figure": 1_500_000.0, "comparison_figure": 1e6},
        {**doc["rows"][0], "name": "slow", "unit": "req/s", "figure": 700.0, "comparison_figure": 800.0},
        {**doc["rows"][0], "name": "p99", "unit": "ms", "figure": 13.5, "comparison_figure": 25.0},
        {**doc["rows"][0], "name": "wall", "unit": "s", "figure": 130.0, "comparison_figure": 120.0},
        {**doc["rows"][0], "name": "p50", "unit": "ms", "compared_with": "p99 target", "figure": 5.7},
        {**doc["rows"][0], "name": "vs bare", "unit": "req/s", "compared_with": "bare endpoint", "ratio": 0.31},
        {**doc["rows"][0], "name": "bare FastAPI endpoint: p99", "unit": "ms", "figure": 26.9},
        {**doc["rows"][0], "name": "er", "unit": "recall", "compared_with": "exact keys", "figure": 0.9456},
    ]
    lines = markdown(doc).splitlines()[2:]
    assert [line.rsplit("|", 2)[1].strip() for line in lines] == [
        "met",
        "missed",
        "met",
        "missed",
        "",
        "missed (target ratio 0.5)",
        "",
        "",
    ]
    assert "| 1,500,000 records/s |" in lines[0] and "| 0.946 |" in lines[7]


def test_table_command_prints_the_markdown_of_a_result_file(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text(json.dumps(_doc()))
    result = runner.invoke(cli, ["table", str(path)])
    assert result.exit_code == 0, result.output
    assert "| simulate small: records/s | 5.00 records/s | target: 2.00 records/s | 1.50 | met |" in result.output
    assert "| simulate small: peak memory | 2.00 MiB | target: 2.00 MiB | 1.50 | met |" in result.output
    as_a_user_runs_it = subprocess.run(
        [sys.executable, "-m", "benchmarks", "table", str(path)], capture_output=True, text=True, check=False
    )  # every command is registered before `python -m benchmarks` dispatches (the table command once was not)
    assert as_a_user_runs_it.returncode == 0, as_a_user_runs_it.stderr
    assert as_a_user_runs_it.stdout == result.output
    broken = _doc()
    del broken["rows"][0]["figure"]
    path.write_text(json.dumps(broken))
    assert runner.invoke(cli, ["table", str(path)]).exit_code == 1


def test_the_us_dol_benchmark_runs_only_when_named_and_says_where_the_records_are_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from benchmarks.suite import BENCHMARKS, ON_DEMAND

    assert "us_dol" in ON_DEMAND and "us_dol" not in BENCHMARKS  # not in the default run nor CI's check
    missing = tmp_path / "no-records"
    monkeypatch.setenv("TRACERISK_US_DOL_DATA", str(missing))
    result = runner.invoke(cli, ["run", "--only", "us_dol", "--workdir", str(tmp_path)])
    assert result.exit_code != 0
    assert isinstance(result.exception, FileNotFoundError) and str(missing) in str(result.exception)
    unknown = runner.invoke(cli, ["run", "--only", "nonesuch"])
    assert unknown.exit_code == 2 and "us_dol" in unknown.output


def test_the_evaluation_benchmark_runs_all_seeds_unless_told_fewer(monkeypatch: pytest.MonkeyPatch) -> None:
    from benchmarks.evaluation_bench import EVALUATION_SEEDS, evaluation_seeds

    monkeypatch.delenv("TRACERISK_EVALUATION_SEEDS", raising=False)
    assert evaluation_seeds() == EVALUATION_SEEDS
    monkeypatch.setenv("TRACERISK_EVALUATION_SEEDS", "2")
    assert evaluation_seeds() == EVALUATION_SEEDS[:2]
    for wrong in ("1", "9", "two"):
        monkeypatch.setenv("TRACERISK_EVALUATION_SEEDS", wrong)
        with pytest.raises(ValueError, match="TRACERISK_EVALUATION_SEEDS"):
            evaluation_seeds()


def test_the_evaluation_rows_report_the_truth_ceiling_beside_the_count() -> None:
    from benchmarks.evaluation_bench import summarise
    from models.evaluate import CEILING_ON_PLANTED

    def seed(served: float, count: float, ceiling: float) -> dict[str, Any]:
        return {
            "employer": {
                "served": "model",
                "served_ranking": {"truth_precision_at_k": served},
                "rule": {"truth_precision_at_k": count},
                "random": {"truth_precision_at_k": 0.07},
                "ceiling": {"fitted_on": CEILING_ON_PLANTED, "precision_at_k": ceiling, "folds": 5},
            }
        }

    rows = summarise("small", [seed(0.6, 0.5, 0.7), seed(0.62, 0.56, 0.66)])
    ceiling = [r for r in rows if "truth ceiling" in r["name"]]
    assert len(ceiling) == 1 and "mean of the 2 of 2 seeds" in ceiling[0]["name"]
    assert ceiling[0]["figure"] == 0.68 and ceiling[0]["comparison_figure"] == 0.53
    without = seed(0.6, 0.5, 0.7)
    del without["employer"]["ceiling"]  # a seed with too few planted entities for one
    assert not [r for r in summarise("small", [seed(0.6, 0.5, 0.7), without]) if "truth ceiling" in r["name"]]
