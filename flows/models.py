"""Training, evaluation and scoring flows: wire models/ (pure functions) into Prefect tasks with retries and
artifacts (metric tables, links to reports)."""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import Any, cast

import numpy as np
from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.utilities.annotations import quote

from data_contracts.lake import Lake
from data_contracts.pseudonymise import load_key
from features.build import FeatureTable, build_features, read_features
from features.registry import ENTITY_TYPES, EntityType, for_entity
from flows.features import build_partitioned, features_as_of, features_dir, lake_features
from flows.supply import enrich_task
from flows.us_dol import read_backtest
from models.bundle import (
    BundleIntegrityError,
    LoadedModel,
    candidate_scores,
    decision_as_of,
    latest_bundle,
    load_bundle,
    read_registry,
    record_decision,
    save_bundle,
    served_rule_calibration,
    verified_bundle,
)
from models.champion import NoUsableModel, check_bundle, gate_challengers, scoring_model
from models.datasets import HORIZON_DAYS, training_days
from models.evaluate import evaluate_entity
from models.gate import SERVED_COUNT, SERVED_MODEL
from models.partitions import ScoredPartition, merge_scored, score_partition
from models.report import model_card, render_report
from models.scoring import RULE_BASELINE, ScoredType, score_type
from models.train import DEFAULT_EVIDENCE, Evidence, train_entity
from store.engine import connect, store_url
from store.publish import ModelEntry, ScoreRun, publish

log = logging.getLogger("tracerisk.flows")


class PublishFailed(RuntimeError):
    """A score run could not be published after its retries; nothing of it is served."""


def _lake_fingerprint(lake: Lake) -> str:
    entries = lake.ledger()
    return f"{len(entries)} batches, last {entries[-1].batch_id[:12]}" if entries else "empty lake"


def _world_facts(truth_dir: Path | None) -> dict[str, Any] | None:
    """Scale and seed of the simulated world evaluation measured on (its manifest), for the report."""
    manifest = truth_dir / "manifest.json" if truth_dir is not None else None
    if manifest is None or not manifest.is_file():
        return None
    meta = json.loads(manifest.read_text(encoding="utf-8"))
    return {"scale": meta.get("scale"), "seed": meta.get("seed")}


def _truth(truth_dir: Path | None, home: Path, entity: EntityType) -> set[str] | None:
    if truth_dir is None:
        return None
    from models.truth_evaluation import truth_positives

    return truth_positives(truth_dir, entity, load_key(home))


class FeatureCache:
    """Feature tables per as-of day, built once for every entity type of a run; with ``home``, read from and kept
    in its features folders (``flows.features.lake_features``: reused while the lake and indicators are unchanged),
    the network table with the tables of ``network_day``."""

    def __init__(
        self,
        lake: Lake,
        entities: tuple[EntityType, ...],
        home: Path | None = None,
        network_day: date | None = None,
    ) -> None:
        self.lake, self.entities, self.home, self.network_day = lake, entities, home, network_day
        self.days: dict[date, dict[EntityType, FeatureTable]] = {}

    def get(self, day: date, entity: EntityType) -> FeatureTable:
        if day not in self.days:
            self.days[day] = (
                build_features(self.lake, day, self.entities)
                if self.home is None
                else lake_features(self.home, self.lake, day, self.entities, network=day == self.network_day)
            )
        return self.days[day][entity]


@dataclass(frozen=True)
class TrainResult:
    model_id: str | None  # None: training produced no model (too little evidence)
    promoted: bool
    served: str  # "model" or "red_flag_count": what ranks the type after this training
    reason: str


@task(name="train-model", retries=1, retry_delay_seconds=[5], cache_policy=NO_CACHE)
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
    model, decision = gate_challengers(home, model)
    model_id = None
    if model.has_model:
        metrics = {"strategy_comparison": model.comparison, "gate": decision}
        model_id = save_bundle(model, home, metrics, _lake_fingerprint(cache.lake), gate=decision)
        try:  # a bundle that does not load back as written is never promoted
            check_bundle(home, model_id)
        except Exception as exc:
            served = SERVED_MODEL if decision.get("keep_champion") else SERVED_COUNT
            decision = {
                **decision,
                "promote": False,
                "served": served,
                "reason": f"the saved bundle does not load ({exc})",
            }
    served_id = (
        model_id if decision["promote"] else (decision["champion_id"] if decision.get("keep_champion") else None)
    )
    decision["served_model_id"] = served_id
    record_decision(home, entity, model_id, decision)
    return TrainResult(model_id, bool(decision["promote"]), str(decision["served"]), str(decision["reason"]))


@flow(name="train", log_prints=False, validate_parameters=False)
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


def sensitive_removed(
    lake: Lake,
    model_meta: dict[str, Any],
    entity: EntityType,
    as_of: date,
    table: FeatureTable,
    truth: set[str] | None,
    evidence: Evidence = DEFAULT_EVIDENCE,
) -> dict[str, Any]:
    """For every sensitive indicator of ``entity``: the same recipe retrained without it, evaluated alike."""
    out: dict[str, Any] = {}
    trained_as_of = date.fromisoformat(model_meta["trained_as_of"])
    cache = FeatureCache(lake, (entity,))
    for ind in for_entity(entity):
        if not ind.sensitive:
            continue
        model = train_entity(
            lake,
            entity,
            trained_as_of,
            exclude=(ind.id,),
            features_at=lambda d: cache.get(d, entity),
            evidence=evidence,
        )
        if not model.has_model:
            out[ind.id] = {"error": f"no model without {ind.id}: {model.no_model_reason}"}
            continue
        loaded = LoadedModel(
            f"{model_meta['model_id']}-without-{ind.id}",
            entity,
            model.booster.booster_ if model.booster is not None else None,
            model.calibrator,
            model.features,
            {
                **model_meta,
                "strategy": model.strategy,
                "strategy_comparison": model.comparison,
                "blend": model.blend.as_dict(),
            },
        )
        result = evaluate_entity(lake, entity, table, as_of, truth, model=loaded)
        keys = ("precision_at_k", "truth_precision_at_k", "average_precision")
        out[ind.id] = {k: result["model"].get(k) for k in keys}
    return out


@task(name="evaluate-model", retries=1, retry_delay_seconds=[5], cache_policy=NO_CACHE)
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
    """Evaluation of ``entities`` as of ``as_of`` (models.evaluate.evaluate_entity) on labels of the ``horizon``
    days after it; writes nothing (evaluate_flow writes the reports)."""
    lake = Lake(home)
    try:
        tables = lake_features(home, lake, as_of, entities)
        out: dict[str, Any] = {}
        for entity in entities:
            decision = decision_as_of(home, entity, as_of)
            model_id = latest_bundle(home, entity, as_of)
            if decision is None and model_id is None:
                out[entity] = {"error": f"no {entity} training on or before {as_of}: run tracerisk train"}
                continue
            truth = _truth(truth_dir, home, entity)
            model = load_bundle(home, model_id) if model_id is not None else None
            served_id = (decision or {}).get("served_model_id")
            if decision is None:  # a registry from before served rankings were recorded: the champion serves
                served_id = read_registry(home).get(entity, {}).get("champion")
            served = model if model is not None and served_id == model.model_id else None
            if served is None and served_id:
                served = load_bundle(home, served_id)
            candidates = partial(candidate_scores, home, model) if model is not None else None
            out[entity] = evaluate_entity(
                lake,
                entity,
                tables[entity],
                as_of,
                truth,
                model,
                served,
                decision,
                candidates=candidates,
                paired_resamples=paired_resamples,
                horizon=horizon,
                capacity_k=capacity_k,
            )
            out[entity]["world"] = _world_facts(truth_dir)
            if model is not None:
                out[entity]["sensitive_removed"] = sensitive_removed(
                    lake, model.meta, entity, as_of, tables[entity], truth, evidence
                )
        return out
    finally:
        lake.close()


@flow(name="evaluate", log_prints=False, validate_parameters=False)
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
    reports = home / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, indent=2, default=_json_default) + "\n"
    write_whole(reports / f"evaluation-{as_of.isoformat()}.json", text)  # one per origin of a rolling backtest
    write_whole(reports / "evaluation.json", text)  # the latest evaluation
    write_whole(
        reports / "model-report.html",
        render_report(result, f"tracerisk model report, as of {as_of}", us_dol=read_backtest(home)),
    )
    for res in result.values():
        if res.get("model_id"):
            meta = load_bundle(home, res["model_id"]).meta
            write_whole(home / "models" / res["model_id"] / "model-card.md", model_card(meta, res))
    rows = []
    for entity, res in result.items():
        for ranking in ("served_ranking", "model", "rule", "random"):
            if res.get(ranking):
                m = res[ranking]
                rows.append(
                    {
                        "entity": entity,
                        "ranking": ranking,
                        **{k: m.get(k) for k in ("precision_at_k", "truth_precision_at_k", "average_precision")},
                    }
                )
    create_table_artifact(key="evaluation", table=rows, description=f"Backtest as of {as_of}")
    create_markdown_artifact(
        key="model-report",
        markdown=f"Model report: [{reports / 'model-report.html'}](file://{(reports / 'model-report.html').resolve()})",
    )
    return result


def _json_default(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def write_whole(path: Path, text: str) -> None:
    """Write ``text`` whole or not at all (temp file + rename)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _model_entries(home: Path, entities: tuple[EntityType, ...]) -> list[ModelEntry]:
    """Every bundle of the scored entity types, with its registry status, gate decision and card."""
    registry = read_registry(home)
    evaluation_path = home / "reports" / "evaluation.json"
    evaluation = json.loads(evaluation_path.read_text(encoding="utf-8")) if evaluation_path.is_file() else {}
    entries = []
    for entity in entities:
        champion = registry.get(entity, {}).get("champion")
        for meta_file in sorted((home / "models").glob(f"{entity}-*/bundle.json")):
            try:
                meta = verified_bundle(home, meta_file.parent.name)[0]
            except BundleIntegrityError as exc:  # never listed as if it could serve
                log.warning("model bundle %s is not listed (%s)", meta_file.parent.name, exc)
                continue
            evaluated = evaluation.get(entity, {})
            backtest = evaluated if evaluated.get("model_id") == meta["model_id"] else None
            entries.append(
                ModelEntry(
                    model_id=meta["model_id"],
                    entity_type=entity,
                    status="champion" if meta["model_id"] == champion else "challenger",
                    trained_as_of=meta["trained_as_of"],
                    strategy=meta["strategy"],
                    metrics={k: backtest[k] for k in ("served_ranking", "model", "rule", "random")}
                    if backtest
                    else meta["metrics"],
                    gate=meta.get("gate", {}),
                    card=model_card(meta, backtest),
                )
            )
        entry = registry.get(entity, {})
        if entry.get("served") == SERVED_COUNT:
            entries.append(count_entry(entity, entry, evaluation.get(entity)))
    return entries


def count_entry(entity: EntityType, registry_entry: dict[str, Any], evaluated: dict[str, Any] | None) -> ModelEntry:
    """The red-flag count as what serves ``entity`` (status champion, so /v1/models and the dashboard show it
    in place of a model), with the gate's reason and a card that says why no model serves."""
    decisions = registry_entry.get("decisions") or [{}]
    last = decisions[-1]
    reason = str(registry_entry.get("served_reason") or "no model cleared the gate")
    backtest = evaluated if evaluated and evaluated.get("served") == SERVED_COUNT else None
    lines = [
        f"# The red-flag count serves {entity}",
        "",
        f"No model ranks {entity} entities: {reason}.",
        "",
        "The ranking is the number of indicators past their red-flag thresholds (the rule inspectorates use), "
        "with ties in a fixed order; probabilities are the observed label rate per count on the held-out fold.",
        f"- Trained as of: {last.get('trained_as_of', '–')}",
        f"- Training labels: {(last.get('windows') or {}).get('train_labels', '–')}; "
        f"held-out fold labels: {(last.get('windows') or {}).get('fold_labels', '–')}",
        f"- Observed positives: {last.get('positives', {})}",
    ]
    if backtest:
        served = backtest.get("served_ranking") or {}
        lines.append(
            f"- Backtest as of {backtest.get('as_of')}: precision@k {served.get('precision_at_k')}, "
            f"new positives {backtest.get('positives', {}).get('eval_new')}"
        )
    return ModelEntry(
        model_id=f"{RULE_BASELINE}-{entity}",
        entity_type=entity,
        status="champion",
        trained_as_of=str(last.get("trained_as_of", "")),
        strategy=SERVED_COUNT,
        metrics={k: backtest[k] for k in ("served_ranking", "rule", "random")} if backtest else {},
        gate={"served": SERVED_COUNT, "reason": reason, "positives": last.get("positives", {})},
        card="\n".join(lines) + "\n",
    )


@task(name="score", retries=1, retry_delay_seconds=[5], cache_policy=NO_CACHE)
def score_task(
    home: Path, as_of: date, entities: tuple[EntityType, ...], allow_rule_baseline: bool = False
) -> ScoreRun:
    models = {entity: scoring_model(home, entity, allow_rule_baseline) for entity in entities}
    tables = features_as_of(home, as_of, entities)
    rows: list[dict[str, Any]] = []
    scope: list[dict[str, Any]] = []
    model_ids: dict[str, str] = {}
    for entity in entities:
        model = models[entity]
        scored = score_type(tables[entity], as_of.isoformat(), model, _rule_calibration(home, entity, as_of, model))
        rows += scored.rows
        scope += scored.scope
        model_ids[entity] = scored.model_id
    run_id = f"{as_of.isoformat()}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
    return ScoreRun(run_id, as_of.isoformat(), model_ids, rows, scope, _model_entries(home, entities))


def _rule_calibration(home: Path, entity: EntityType, as_of: date, model: LoadedModel | None) -> Any:
    """The red-flag count's probabilities when it serves: from the registry (the latest training's fold), else
    from the latest bundle trained on or before ``as_of``."""
    if model is not None:
        return None
    recorded = served_rule_calibration(home, entity)
    if recorded is not None:
        return recorded
    latest = latest_bundle(home, entity, as_of)
    if latest is None:
        return None
    try:
        return load_bundle(home, latest).rule_calibration
    except BundleIntegrityError as exc:
        log.warning("no red-flag count calibration from %s (%s); the count serves uninformed", latest, exc)
        return None


@task(name="score-partition", retries=1, retry_delay_seconds=[5], cache_policy=NO_CACHE)
def score_partition_task(
    home: Path, as_of: date, entity: EntityType, part: int, partitions: int, allow_rule_baseline: bool = False
) -> ScoredPartition:
    tables = read_features(features_dir(home, as_of), (entity,))
    if tables is None:
        raise FileNotFoundError(f"no {entity} features as of {as_of} under {features_dir(home, as_of)}")
    model = scoring_model(home, entity, allow_rule_baseline)
    rule_calibration = _rule_calibration(home, entity, as_of, model)
    return score_partition(tables[entity], part, partitions, as_of.isoformat(), model, rule_calibration)


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
    scored: list[ScoredType] = [merge_scored(tables[e], [f.result() for f in futures[e]]) for e in entities]
    rows = [row for s in scored for row in s.rows]
    scope = [row for s in scored for row in s.scope]
    model_ids = {s.entity_type: s.model_id for s in scored}
    run_id = f"{as_of.isoformat()}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
    return ScoreRun(run_id, as_of.isoformat(), model_ids, rows, scope, _model_entries(home, entities))


@task(name="publish-scores", retries=2, retry_delay_seconds=[2, 10], cache_policy=NO_CACHE)
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


@dataclass(frozen=True)
class ScoreSummary:
    """What ``score_flow`` returns: the published run's id and, per entity type, its model, entity count, high-band
    count and mean probability (the rows stay in the store: a flow's return value is walked by Prefect)."""

    run_id: str
    as_of: str
    per_type: list[dict[str, Any]]

    @property
    def entities(self) -> int:
        return sum(int(t["entities"]) for t in self.per_type)


@flow(name="score", log_prints=False, validate_parameters=False)
def score_flow(
    home: Path,
    as_of: date,
    entities: tuple[EntityType, ...] = ENTITY_TYPES,
    partitions: int = 1,
    allow_rule_baseline: bool = False,
) -> ScoreSummary:
    """Score every entity with its type's champion (or the rule baseline) and publish, all-or-nothing; with
    ``partitions`` > 1, each type in that many entity-id hash partitions by parallel tasks (flows/runners.py).
    Raises NoUsableModel, before any task, when a type's model should serve and none loads (scoring_model)."""
    for entity in entities:  # fail fast, not after a task's retries
        scoring_model(home, entity, allow_rule_baseline)
    run = (
        score_task(home, as_of, entities, allow_rule_baseline)
        if partitions <= 1
        else score_partitioned(home, as_of, entities, partitions, allow_rule_baseline)
    )
    # quote(): Prefect would otherwise walk every row of the run looking for futures, once per task call
    # (measured: about 30 minutes for the large world's 509,073 rows, against 25 s of scoring).
    unwalked = cast(ScoreRun, quote(run))  # the task gets the run itself (Prefect unwraps quote)
    run = enrich_task(home, as_of, unwalked)  # supply-chain roll-up and drift, published with the run
    publish_task(home, cast(ScoreRun, quote(run)))
    table = []
    for entity in entities:
        mine = [r for r in run.rows if r["entity_type"] == entity]
        table.append(
            {
                "entity": entity,
                "model": run.model_ids[entity],
                "entities": len(mine),
                "high band": sum(r["band"] == "high" for r in mine),
                "mean probability": round(float(np.mean([r["probability"] for r in mine])), 4) if mine else None,
            }
        )
    create_table_artifact(key="score-run", table=table, description=f"Score run {run.run_id} published")
    return ScoreSummary(run.run_id, run.as_of, table)


__all__ = ["RULE_BASELINE", "NoUsableModel", "ScoreSummary", "evaluate_flow", "score_flow", "train_flow"]
