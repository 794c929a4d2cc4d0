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

from prefect.artifacts import create_link_artifact

from data_contracts.home import Home
from features.registry import ENTITY_TYPES
from flows.declare import flow_named, task_named
from flows.features import features_flow
from flows.ingest import PREFETCH, ingest_flow
from flows.models import evaluate_flow, score_flow, train_flow
from models.datasets import HORIZON_DAYS
from models.evaluation_run import write_rolling_backtest
from models.train import DEFAULT_EVIDENCE, Evidence
from models.training_run import TrainResult
from simulator.config import load_config
from store.engine import store_url

ROLLING_STEP_DAYS = 180  # the rolling-origin backtest also evaluates this many days before the backtest date
PAIRED_RESAMPLES = 1_000  # resamples of the evaluated entities for a real source's paired comparisons


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
    ingested_rows: int  # rows accepted from the files ingested this run (a file already in the lake adds none)
    quarantined_rows: int
    evaluation: dict[str, Any]
    rolling: dict[str, dict[str, Any]]  # origin (ISO date) -> evaluation, oldest first; the last is ``evaluation``
    serving_models: dict[str, TrainResult]
    run_id: str
    published_rows: int
    evaluation_path: Path
    report_path: Path
    files_already_ingested: int = 0


@task_named("simulate-world", retry_delays=[5])
def simulate_task(scale: str, seed: int, out: Path) -> Path:
    from simulator.world import simulate_world

    manifest = out / "manifest.json"
    if manifest.is_file():
        meta = json.loads(manifest.read_text(encoding="utf-8"))
        if meta.get("scale") == scale and meta.get("seed") == seed:
            return out  # the same seed gives byte-identical files: nothing to redo
    simulate_world(scale, seed, out, load_config(None), fmt="parquet", workers=2)
    return out


@flow_named("pipeline")
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
    world = simulate_task(scale, seed, Home(home).world)
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
    features(home, dates.backtest, partitions)
    evaluation = rolling[dates.backtest.isoformat()]
    write_rolling_backtest(home, rolling)
    serving = train_flow(home, dates.serving, ENTITY_TYPES, evidence=evidence)
    features(home, dates.serving, partitions)
    run = score(home, dates.serving, partitions)
    report = Home(home).model_report
    create_link_artifact(key="pipeline-report", link=f"file://{report.resolve()}", description="Model report")
    ingested = [r for r in reports if r.status == "committed"]
    return PipelineResult(
        world,
        dates,
        sum(r.accepted for r in ingested),
        sum(r.quarantined for r in ingested),
        evaluation,
        rolling,
        serving,
        run.run_id,
        run.entities,
        Home(home).evaluation_report,
        report,
        sum(1 for r in reports if r.status == "already_ingested"),
    )


@dataclass(frozen=True)
class SourcePipelineResult:
    """What ``source_pipeline_flow`` did: the ingest (rows new to the lake this run; files already there), the
    rolling backtest on observed later sanctions, the serving models, and the published run."""

    source_dir: Path
    source_format: str
    dates: PipelineDates  # backtest == serving: the given day; earlier: the rolling origins before it
    read_rows: int  # rows of the files read this run (files already ingested are not read again)
    ingested_rows: int  # record versions new to the lake
    quarantined_rows: int
    files_already_ingested: int
    unusable_files: list[str]  # "file: reason", one line each
    run_id: str
    published_rows: int
    store: str  # the serving store's URL
    serving_models: dict[str, TrainResult]
    rolling: dict[str, dict[str, Any]]  # origin (ISO date) -> evaluation, oldest first; the last served
    evaluation_path: Path
    report_path: Path

    @property
    def evaluation(self) -> dict[str, Any]:
        """The evaluation of the served models (the last origin, the day they were trained and scored)."""
        return self.rolling[self.dates.serving.isoformat()]


def source_dates(as_of: date, origins: int = 2) -> PipelineDates:
    """``as_of`` serves and is the last backtest origin; ``origins`` - 1 earlier ones, ROLLING_STEP_DAYS apart."""
    earlier = tuple(as_of - timedelta(days=ROLLING_STEP_DAYS * i) for i in range(origins - 1, 0, -1))
    return PipelineDates(as_of, as_of, earlier)


@flow_named("pipeline-source")
def source_pipeline_flow(
    home: Path,
    source_dir: Path,
    source_format: str,
    as_of: date,
    evidence: Evidence = DEFAULT_EVIDENCE,
    gx_sample_rows: int = 0,
    paired_resamples: int = PAIRED_RESAMPLES,
) -> SourcePipelineResult:
    """Ingest ``source_dir`` (idempotent: files already in the lake add nothing), then at each rolling origin
    train through the gate and evaluate on the sanctions recorded after it (new positives only, with bootstrap
    intervals and paired comparisons against the red-flag count), then score as of ``as_of`` with what the last
    training chose and publish to the serving store. The last origin is ``as_of`` itself: the models it trains
    are the ones served, and its evaluation judges them on sanctions the lake records after that day."""
    dates = source_dates(as_of)
    reports, _docs = ingest_flow(source_dir, source_format, home, None, gx_sample_rows, None, PREFETCH)
    rolling: dict[str, dict[str, Any]] = {}
    serving: dict[str, TrainResult] = {}
    for origin in (*dates.earlier, dates.backtest):
        serving = train_flow(home, origin, ENTITY_TYPES, evidence=evidence)
        rolling[origin.isoformat()] = evaluate_flow(
            home, origin, None, ENTITY_TYPES, evidence=evidence, paired_resamples=paired_resamples
        )
    write_rolling_backtest(home, rolling)
    # The last training kept the features as of the serving day, network included, on the lake as it stands:
    # scoring reads them (features.stored.features_as_of) instead of building them again.
    run = score_flow(home, dates.serving)
    committed = [r for r in reports if r.status == "committed"]  # the others report what an earlier run stored
    return SourcePipelineResult(
        source_dir,
        source_format,
        dates,
        sum(r.read for r in committed),
        sum(r.new for r in committed),
        sum(r.quarantined for r in committed),
        sum(1 for r in reports if r.status == "already_ingested"),
        [f"{Path(r.file).name if r.file else '?'}: {r.error}" for r in reports if r.status == "unusable"],
        run.run_id,
        run.entities,
        store_url(home),
        serving,
        rolling,
        Home(home).evaluation_report,
        Home(home).model_report,
    )
