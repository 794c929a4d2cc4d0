"""The whole chain on the synthetic default: simulate, ingest, features, train, evaluate (on the simulator's
truth), train the serving models through the champion/challenger gate, score, publish.

Two as-of dates, both derived from the simulated window: the *backtest* date (models trained with what was
known then, evaluated on labels decided in the horizon after it, which they never saw) and the *serving* date
(the end of the window: models retrained with everything known, gated, and used to publish scores).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_link_artifact
from prefect.cache_policies import NO_CACHE

from features.registry import ENTITY_TYPES
from flows.features import features_flow
from flows.ingest import PREFETCH, ingest_flow
from flows.models import TrainResult, evaluate_flow, score_flow, train_flow, write_whole
from models.train import DEFAULT_EVIDENCE, HORIZON_DAYS, Evidence
from simulator.config import load_config

ROLLING_STEP_DAYS = 180  # the rolling-origin backtest also evaluates this many days before the backtest date


@dataclass(frozen=True)
class PipelineDates:
    backtest: date  # train and evaluate as of this day; labels (backtest, backtest + horizon] judge the model
    serving: date  # the day after the simulated window: train, gate and score with everything known
    earlier: tuple[date, ...] = ()  # earlier origins of the rolling backtest, oldest first


def pipeline_dates(start: date, years: int, horizon: int = HORIZON_DAYS) -> PipelineDates:
    """Dates inside a simulated window of ``years`` from ``start`` (the backtest leaves a full label horizon)."""
    end = date(start.year + years, start.month, start.day)
    backtest = end - timedelta(days=horizon + 35)
    return PipelineDates(backtest, end, (backtest - timedelta(days=ROLLING_STEP_DAYS),))


@dataclass(frozen=True)
class PipelineResult:
    world: Path
    dates: PipelineDates
    ingested_rows: int
    quarantined_rows: int
    evaluation: dict[str, Any]
    rolling: dict[str, dict[str, Any]]  # origin (ISO date) -> evaluation, oldest first; the last is ``evaluation``
    serving_models: dict[str, TrainResult]
    run_id: str
    published_rows: int
    evaluation_path: Path
    report_path: Path


@task(name="simulate-world", retries=1, retry_delay_seconds=[5], cache_policy=NO_CACHE)
def simulate_task(scale: str, seed: int, out: Path) -> Path:
    from simulator.world import simulate_world

    manifest = out / "manifest.json"
    if manifest.is_file():
        meta = json.loads(manifest.read_text(encoding="utf-8"))
        if meta.get("scale") == scale and meta.get("seed") == seed:
            return out  # the same seed gives byte-identical files: nothing to redo
    simulate_world(scale, seed, out, load_config(None), fmt="parquet", workers=2)
    return out


@flow(name="pipeline", log_prints=False, validate_parameters=False)
def pipeline_flow(
    home: Path,
    scale: str = "small",
    seed: int = 0,
    task_runner: Any = None,
    workers: int = 1,
    evidence: Evidence = DEFAULT_EVIDENCE,
) -> PipelineResult:
    """The chain; with ``task_runner`` (a Dask runner, flows/runners.py) ingest, features and scoring run their
    partitioned tasks on it (``workers`` partitions), training and evaluation stay in this process."""
    cfg = load_config(None)
    dates = pipeline_dates(date.fromisoformat(cfg.world.start_date), cfg.world.years)
    world = simulate_task(scale, seed, home / "world")
    ingest, features, score = ingest_flow, features_flow, score_flow
    partitions = 1
    if task_runner is not None:
        ingest = ingest_flow.with_options(task_runner=task_runner)
        features = features_flow.with_options(task_runner=task_runner)
        score = score_flow.with_options(task_runner=task_runner)
        partitions = max(2, workers)
    reports, _docs = ingest(world, "synthetic", home, None, 2_000, None, max(PREFETCH, workers))
    # Rolling-origin backtest: at each origin, train with what was known then (through the gate, so the
    # champion evolves as it would have) and evaluate on the labels of the following horizon, never seen.
    rolling: dict[str, dict[str, Any]] = {}
    for origin in (*dates.earlier, dates.backtest):
        train_flow(home, origin, ENTITY_TYPES, evidence=evidence)  # the lake only: truth never reaches training
        rolling[origin.isoformat()] = evaluate_flow(home, origin, world, evidence=evidence)  # truth measures only
    features(home, dates.backtest, ENTITY_TYPES, partitions)
    evaluation = rolling[dates.backtest.isoformat()]
    _write_rolling(home, rolling)
    serving = train_flow(home, dates.serving, ENTITY_TYPES, evidence=evidence)
    features(home, dates.serving, ENTITY_TYPES, partitions)
    run = score(home, dates.serving, ENTITY_TYPES, partitions)
    report = home / "reports" / "model-report.html"
    create_link_artifact(key="pipeline-report", link=f"file://{report.resolve()}", description="Model report")
    return PipelineResult(
        world,
        dates,
        sum(r.accepted for r in reports),
        sum(r.quarantined for r in reports),
        evaluation,
        rolling,
        serving,
        run.run_id,
        run.entities,
        home / "reports" / "evaluation.json",
        report,
    )


def _write_rolling(home: Path, rolling: dict[str, dict[str, Any]]) -> None:
    """reports/rolling-backtest.json: per origin and entity type, truth and observed precision@k of the model,
    the rule and random (the full metrics are in reports/evaluation-<origin>.json)."""
    keys = ("precision_at_k", "truth_precision_at_k", "average_precision", "ece")
    summary = {
        origin: {
            entity: {
                "served": res.get("served"),
                **{
                    ranking: {k: res[ranking].get(k) for k in keys} if res.get(ranking) else None
                    for ranking in ("served_ranking", "model", "rule", "random")
                },
            }
            for entity, res in result.items()
            if "rule" in res
        }
        for origin, result in rolling.items()
    }
    write_whole(home / "reports" / "rolling-backtest.json", json.dumps(summary, indent=2, default=str) + "\n")
