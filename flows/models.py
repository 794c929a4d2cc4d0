"""Training, evaluation and scoring flows: wire models/ (pure functions) into Prefect tasks with retries and
artifacts (metric tables, links to reports)."""

from __future__ import annotations

from datetime import date
from functools import partial
from pathlib import Path
from typing import Any, cast

from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.utilities.annotations import quote

from data_contracts.lake import Lake
from features.build import FeatureTable, read_features
from features.registry import ENTITY_TYPES, EntityType
from features.stored import features_as_of, features_dir, lake_features
from flows.declare import flow_named, task_named
from flows.features import build_partitioned
from flows.supply import enrich_task
from flows.us_dol import read_backtest
from models.champion import NoUsableModel, scoring_model
from models.datasets import HORIZON_DAYS, training_days
from models.evaluation_run import evaluate_trained, evaluation_rows, write_evaluation
from models.partitions import ScoredPartition, merge_scored, score_partition
from models.score_run import ScoreSummary, rule_calibration, score_entity, score_run, summarise
from models.scoring import RULE_BASELINE
from models.train import DEFAULT_EVIDENCE, Evidence, train_entity
from models.training_run import FeatureCache, TrainResult, gate_and_record, lake_fingerprint
from store.engine import connect, store_url
from store.publish import ScoreRun, publish


class PublishFailed(RuntimeError):
    """A score run could not be published after its retries; nothing of it is served."""


@task_named("train-model", retry_delays=[5])
def train_task(
    home: Path,
    entity: EntityType,
    as_of: date,
    cache: FeatureCache,
    dask_address: str | None = None,
    evidence: Evidence = DEFAULT_EVIDENCE,
) -> TrainResult:
    def features_at(day: date) -> FeatureTable:
        return cache.get(day, entity)

    if dask_address is None:
        model = train_entity(cache.lake, entity, as_of, features_at=features_at, evidence=evidence)
    else:  # LightGBM data-parallel on the Dask cluster (models/distributed.py)
        from distributed import Client

        from models.distributed import DaskBoosterFit

        with Client(dask_address, set_as_default=False) as client:  # type: ignore[no-untyped-call]
            model = train_entity(
                cache.lake,
                entity,
                as_of,
                features_at=features_at,
                fit_model=DaskBoosterFit(client),
                evidence=evidence,
            )
    return gate_and_record(home, entity, model, lake_fingerprint(cache.lake))


@flow_named("train")
def train_flow(
    home: Path,
    as_of: date,
    entities: tuple[EntityType, ...] = ENTITY_TYPES,
    dask_address: str | None = None,
    evidence: Evidence = DEFAULT_EVIDENCE,
) -> dict[str, TrainResult]:
    """One model per entity type through the gate; with ``dask_address``, LightGBM trains on that Dask cluster.
    Reads the lake only: no simulator truth can reach a training decision."""
    lake = Lake(home)
    try:
        cache = FeatureCache(lake, entities, home, network_day=as_of)
        for day in training_days(as_of):  # every origin built once for every entity type
            cache.get(day, entities[0])
        out: dict[str, TrainResult] = {e: train_task(home, e, as_of, cache, dask_address, evidence) for e in entities}
    finally:
        lake.close()
    create_table_artifact(
        key="train-gate",
        table=[
            {"entity": e, "model": r.model_id, "promoted": r.promoted, "served": r.served, "reason": r.reason}
            for e, r in out.items()
        ],
        description=f"Models trained as of {as_of} and the champion/challenger decisions",
    )
    return out


@task_named("evaluate-model", retry_delays=[5])
def evaluate_task(
    home: Path,
    as_of: date,
    truth_dir: Path | None,
    entities: tuple[EntityType, ...],
    evidence: Evidence = DEFAULT_EVIDENCE,
    paired_resamples: int = 0,
    horizon: int = HORIZON_DAYS,
    capacity_k: int | None = None,
) -> dict[str, Any]:
    """Evaluation of ``entities`` as of ``as_of`` (models.evaluation_run.evaluate_trained) on labels of the
    ``horizon`` days after it; writes nothing (evaluate_flow writes the reports)."""
    lake = Lake(home)
    try:
        tables = lake_features(home, lake, as_of, entities)
        return {
            entity: evaluate_trained(
                home, lake, entity, tables[entity], as_of, truth_dir, evidence, paired_resamples, horizon, capacity_k
            )
            for entity in entities
        }
    finally:
        lake.close()


@flow_named("evaluate")
def evaluate_flow(
    home: Path,
    as_of: date,
    truth_dir: Path | None = None,
    entities: tuple[EntityType, ...] = ENTITY_TYPES,
    evidence: Evidence = DEFAULT_EVIDENCE,
    paired_resamples: int = 0,
) -> dict[str, Any]:
    """Backtest as of ``as_of``; writes reports/evaluation.json, reports/model-report.html and model cards. The
    simulator's truth (``truth_dir``) is read here only, to measure; ``paired_resamples``: see
    models.evaluate.paired_comparison (0: none)."""
    result = evaluate_task(home, as_of, truth_dir, entities, evidence, paired_resamples)
    report = write_evaluation(home, as_of, result, read_backtest(home))
    create_table_artifact(key="evaluation", table=evaluation_rows(result), description=f"Backtest as of {as_of}")
    create_markdown_artifact(key="model-report", markdown=f"Model report: [{report}](file://{report.resolve()})")
    return result


@task_named("score", retry_delays=[5])
def score_task(
    home: Path, as_of: date, entities: tuple[EntityType, ...], allow_rule_baseline: bool = False
) -> ScoreRun:
    models = {entity: scoring_model(home, entity, allow_rule_baseline) for entity in entities}
    tables = features_as_of(home, as_of, entities)
    scored = [score_entity(home, as_of, tables[entity], entity, models[entity]) for entity in entities]
    return score_run(home, as_of, entities, scored)


@task_named("score-partition", retry_delays=[5])
def score_partition_task(
    home: Path, as_of: date, entity: EntityType, part: int, partitions: int, allow_rule_baseline: bool = False
) -> ScoredPartition:
    tables = read_features(features_dir(home, as_of), (entity,))
    if tables is None:
        raise FileNotFoundError(f"no {entity} features as of {as_of} under {features_dir(home, as_of)}")
    model = scoring_model(home, entity, allow_rule_baseline)
    calibration = rule_calibration(home, entity, as_of, model)
    return score_partition(tables[entity], part, partitions, as_of.isoformat(), model, calibration)


def score_partitioned(
    home: Path, as_of: date, entities: tuple[EntityType, ...], partitions: int, allow_rule_baseline: bool = False
) -> ScoreRun:
    """``score_task`` as (entity type, entity-id hash) partitions on the flow's task runner; the same run."""
    tables = features_as_of(home, as_of, entities, partial(build_partitioned, home, as_of, entities, partitions))
    futures = {
        entity: [
            score_partition_task.submit(home, as_of, entity, part, partitions, allow_rule_baseline)
            for part in range(partitions)
        ]
        for entity in entities
    }
    scored = [merge_scored(tables[e], [f.result() for f in futures[e]]) for e in entities]
    return score_run(home, as_of, entities, scored)


@task_named("publish-scores", retry_delays=[2, 10])
def publish_task(home: Path, run: ScoreRun) -> str:
    """One transaction (store.publish.publish): a failed attempt leaves nothing, the previous run stays served."""
    try:
        engine = connect(store_url(home))
        try:
            publish(engine, run)
        finally:
            engine.dispose()
    except Exception as exc:
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        raise PublishFailed(
            f"score run {run.run_id} was not published ({type(exc).__name__}: {first}); "
            "nothing of it is served and the previous scores stay published"
        ) from exc
    return run.run_id


@flow_named("score")
def score_flow(home: Path, as_of: date, partitions: int = 1, allow_rule_baseline: bool = False) -> ScoreSummary:
    """Score every entity of every type with its type's champion (or the rule baseline) and publish, all-or-nothing;
    with ``partitions`` > 1, each type in that many entity-id hash partitions by parallel tasks (flows/runners.py).
    Raises NoUsableModel, before any task, when a type's model should serve and none loads (scoring_model)."""
    entities = ENTITY_TYPES  # one run publishes every type, all-or-nothing
    for entity in entities:  # fail fast, not after a task's retries
        scoring_model(home, entity, allow_rule_baseline)
    run = (
        score_task(home, as_of, entities, allow_rule_baseline)
        if partitions <= 1
        else score_partitioned(home, as_of, entities, partitions, allow_rule_baseline)
    )
    # quote(): Prefect would otherwise walk every row of the run looking for futures, once per task call.
    unwalked = cast(ScoreRun, quote(run))  # the task gets the run itself (Prefect unwraps quote)
    run = enrich_task(home, as_of, unwalked)  # supply-chain roll-up and drift, published with the run
    publish_task(home, cast(ScoreRun, quote(run)))
    summary = summarise(run, entities)
    create_table_artifact(key="score-run", table=summary.per_type, description=f"Score run {run.run_id} published")
    return summary


__all__ = ["RULE_BASELINE", "NoUsableModel", "ScoreSummary", "evaluate_flow", "score_flow", "train_flow"]
