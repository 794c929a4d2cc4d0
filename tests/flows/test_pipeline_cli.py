"""`tracerisk pipeline` and `tracerisk score` as a user runs them: the whole chain on a tiny synthetic world."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from prefect.testing.utilities import prefect_test_harness
from typer.testing import CliRunner

from data_contracts.ingest import ingest_file
from data_contracts.lake import Lake
from data_contracts.sources import load_source
from features.registry import ENTITY_TYPES
from flows.cli import app
from store.engine import connect, store_url
from store.publish import published_runs, published_scores
from tests.ingestion import NOW
from tests.models.labelled import add_labels
from tests.models.test_models import AS_OF, KEY, METRIC_KEYS

runner = CliRunner()


@pytest.fixture(scope="module", autouse=True)
def prefect_server() -> Iterator[None]:
    with prefect_test_harness(server_startup_timeout=120):
        yield


def test_pipeline_runs_the_chain_and_publishes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("TRACERISK_HOME", str(home))
    monkeypatch.delenv("TRACERISK_STORE_URL", raising=False)
    result = runner.invoke(app, ["pipeline", "--scale", "tiny", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "published" in result.output and "rolling-origin backtest" in result.output
    rolling = json.loads((home / "reports" / "rolling-backtest.json").read_text())
    assert len(rolling) == 2 and all(set(by_entity) == set(ENTITY_TYPES) for by_entity in rolling.values())
    for origin in rolling:
        assert (home / "reports" / f"evaluation-{origin}.json").is_file()
    evaluation = json.loads((home / "reports" / "evaluation.json").read_text())
    assert set(evaluation) == set(ENTITY_TYPES)
    for res in evaluation.values():
        for ranking in ("served_ranking", "rule", "random"):
            assert set(res[ranking]) >= METRIC_KEYS
        assert res["served_ranking"]["truth_precision_at_k"] is not None  # the pipeline evaluates on the truth
        assert res["served"] in ("model", "red_flag_count") and (res["model"] is None) == (res["model_id"] is None)
        assert set(res["positives"]) >= {"train", "fold", "eval_new", "eval_known"}
        assert res["train_labels"][1] <= res["fold_labels"][0]  # no label of the fold was fitted on
    report = (home / "reports" / "model-report.html").read_text()
    assert "<svg" in report and "Fairness" in report and "rule" in report
    registry = json.loads((home / "models" / "registry.json").read_text())
    assert set(registry) == set(ENTITY_TYPES)
    for entity, entry in registry.items():
        assert entry["decisions"] and all(d["reason"] for d in entry["decisions"]), entity
        assert entry["served"] in ("model", "red_flag_count") and entry["served_reason"], entity
    counted = {e for e, entry in registry.items() if entry["served"] == "red_flag_count"}
    assert counted, "a tiny world has too few labels for a model on some type"
    engine = connect(store_url(home))
    with engine.connect() as conn:  # /v1/models lists the count as what serves, with the reason
        rows = conn.execute(sa.text("SELECT model_id, entity_type, status, strategy, gate FROM models")).all()
    engine.dispose()
    shown = {r.entity_type: r for r in rows if r.strategy == "red_flag_count"}
    assert set(shown) == counted
    for entity, r in shown.items():
        assert r.model_id == f"rule-baseline-{entity}" and r.status == "champion"
        assert json.loads(r.gate)["reason"] == registry[entity]["served_reason"]
    engine = connect(store_url(home))
    runs = published_runs(engine)
    assert set(runs) == set(ENTITY_TYPES) and len(set(runs.values())) == 1
    employers = published_scores(engine, "employer")
    assert employers and employers[0]["rank"] == 1
    assert all(r["band"] in ("high", "elevated", "low") for r in employers)
    engine.dispose()

    # A second scoring run publishes a new run; the first stays in the history.
    again = runner.invoke(app, ["score", "--as-of", "2025-01-01"])
    assert again.exit_code == 0, again.output
    engine = connect(store_url(home))
    assert set(published_runs(engine).values()) != set(runs.values())
    engine.dispose()


def test_training_never_reads_the_truth(tiny_world: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same lake trains the same models whether or not the simulator's truth folder exists."""
    blind = tmp_path / "world-without-truth"
    shutil.copytree(tiny_world, blind, ignore=shutil.ignore_patterns("truth"))
    assert (tiny_world / "truth").is_dir() and not (blind / "truth").exists()
    registries = []
    for name, world in (("with", tiny_world), ("without", blind)):
        home = tmp_path / name
        lake = Lake(home)
        source = load_source("synthetic", world)
        for f in source.files(world):
            ingest_file(lake, f, source, NOW, KEY)
        add_labels(lake, tmp_path / f"labels-{name}", AS_OF, KEY, NOW)
        lake.close()
        monkeypatch.setenv("TRACERISK_HOME", str(home))
        args = ["train", "--as-of", AS_OF.isoformat(), "--min-train-positives", "1", "--min-fold-positives", "1"]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        registries.append(json.loads((home / "models" / "registry.json").read_text()))
    assert registries[0] == registries[1]
    assert registries[0]["employer"]["decisions"][-1]["model_id"]  # a model was trained, not only the count


def test_score_needs_a_lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACERISK_HOME", str(tmp_path / "empty"))
    result = runner.invoke(app, ["score", "--as-of", "2025-01-01"])
    assert result.exit_code == 2 and "run `tracerisk ingest` first" in result.output
    bad = runner.invoke(app, ["pipeline", "--scale", "huge"])
    assert bad.exit_code == 2 and "unknown scale" in bad.output
