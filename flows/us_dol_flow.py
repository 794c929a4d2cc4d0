"""Prefect flows of the US DOL source: parse (through the Parquet cache), score as of a date, backtest."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from data_contracts.sources.country_tables import load_country_context
from data_contracts.sources.us_dol import DolData, load
from features.registry import ENTITY_TYPES
from features.us_dol import DolEntity
from flows.ingest import PREFETCH, ingest_flow
from flows.models import score_flow, train_flow
from models.bundle import read_registry
from models.gate import SERVED_COUNT
from models.us_dol import (
    RecruiterList,
    ScoreRun,
    backtest,
    foreign_recruiters_as_of,
    origin_label_end,
    score_as_of,
)
from service.store import connect, published_runs, published_scores, store_url


@task(name="us-dol-parse", cache_policy=NO_CACHE)
def parse_task(data_dir: Path, home: Path, progress: Callable[[int, int, str], None] | None = None) -> DolData:
    return load(data_dir, home, progress=progress)


@task(name="us-dol-score", cache_policy=NO_CACHE)
def score_task(data: DolData, as_of: date, entity: DolEntity) -> ScoreRun:
    return score_as_of(data, as_of, entity)


@task(name="us-dol-backtest", cache_policy=NO_CACHE)
def backtest_task(data: DolData, as_of: date, labels_to: date, entity: DolEntity) -> dict[str, Any]:
    return backtest(data, as_of, labels_to, entity)


@dataclass(frozen=True)
class ServedView:
    """What ``us_dol_score_flow`` read: the published rows of one entity type as of the day, and how it got them."""

    rows: list[dict[str, Any]]  # the published score rows, best rank first
    run_id: str
    scored_now: bool  # False: a run published as of the day was read as it stands
    new_rows: int  # record versions the ingest added to the lake
    unusable_files: list[str]  # "file: reason"
    served: str  # what ranks the type: model or red_flag_count
    served_reason: str


def _published_as_of(home: Path, entity: DolEntity, as_of: date) -> tuple[str, list[dict[str, Any]]] | None:
    """The run the store serves for ``entity`` and its rows, when it was scored as of ``as_of``."""
    engine = connect(store_url(home))
    try:
        rows = published_scores(engine, entity)
        runs = published_runs(engine)
    finally:
        engine.dispose()
    if not rows or rows[0]["as_of"] != as_of.isoformat():
        return None
    return runs[entity], rows


@flow(name="us-dol-score", log_prints=False, validate_parameters=False)
def us_dol_score_flow(
    data_dir: Path,
    home: Path,
    as_of: date,
    entity: DolEntity = "employer",
    progress: Callable[[int, int, str], None] | None = None,
) -> ServedView:
    """The DOL files into the lake (files already there add nothing); then the run the store serves, when it was
    scored as of ``as_of`` and the lake gained nothing since; else train through the gate, score and publish as of
    ``as_of`` (what ``tracerisk train`` and ``tracerisk score`` do) and read that."""
    reports, _docs = ingest_flow(data_dir, "us-dol", home, None, 0, progress, PREFETCH)
    new_rows = sum(r.new for r in reports if r.status == "committed")
    published = None if new_rows else _published_as_of(home, entity, as_of)
    scored_now = published is None
    if published is None:
        train_flow(home, as_of, ENTITY_TYPES)
        score_flow(home, as_of, ENTITY_TYPES)
        published = _published_as_of(home, entity, as_of)
        if published is None:
            raise RuntimeError(f"the score run as of {as_of} was published but the store serves another")
    entry = read_registry(home).get(entity, {})
    return ServedView(
        published[1],
        published[0],
        scored_now,
        new_rows,
        [f"{Path(r.file).name if r.file else '?'}: {r.error}" for r in reports if r.status == "unusable"],
        str(entry.get("served", SERVED_COUNT)),
        str(entry.get("served_reason", "")),
    )


@flow(name="us-dol-backtest", log_prints=False, validate_parameters=False)
def us_dol_backtest_flow(
    data_dir: Path,
    home: Path,
    as_of: date,
    labels_to: date,
    entities: tuple[DolEntity, ...] = ("employer", "recruiter"),
    progress: Callable[[int, int, str], None] | None = None,
    origins: tuple[date, ...] = (),
) -> list[dict[str, Any]]:
    """One backtest per entity as of ``as_of`` judged to ``labels_to``; with ``origins``, one per origin and
    entity instead, each judged on the two years after its origin (at most to ``labels_to``)."""
    data = parse_task(data_dir, home, progress)
    if not origins:
        return [backtest_task(data, as_of, labels_to, e) for e in entities]
    return [backtest_task(data, o, origin_label_end(o, labels_to), e) for o in origins for e in entities]


@task(name="us-dol-foreign-recruiters", cache_policy=NO_CACHE)
def recruiters_task(data: DolData, data_dir: Path, as_of: date) -> RecruiterList:
    return foreign_recruiters_as_of(data, as_of, load_country_context(data_dir))


@flow(name="us-dol-foreign-recruiters", log_prints=False, validate_parameters=False)
def us_dol_recruiters_flow(
    data_dir: Path, home: Path, as_of: date, progress: Callable[[int, int, str], None] | None = None
) -> tuple[DolData, RecruiterList]:
    data = parse_task(data_dir, home, progress)
    return data, recruiters_task(data, data_dir, as_of)
