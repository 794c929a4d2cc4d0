"""Prefect flows of the US DOL source: parse (through the Parquet cache), score as of a date, backtest."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from data_contracts.sources.country_tables import load_country_context
from data_contracts.sources.us_dol import DolData, load
from features.us_dol import DolEntity
from models.us_dol import (
    RecruiterList,
    ScoreRun,
    backtest,
    foreign_recruiters_as_of,
    origin_label_end,
    score_as_of,
)


@task(name="us-dol-parse", cache_policy=NO_CACHE)
def parse_task(data_dir: Path, home: Path, progress: Callable[[int, int, str], None] | None = None) -> DolData:
    return load(data_dir, home, progress=progress)


@task(name="us-dol-score", cache_policy=NO_CACHE)
def score_task(data: DolData, as_of: date, entity: DolEntity) -> ScoreRun:
    return score_as_of(data, as_of, entity)


@task(name="us-dol-backtest", cache_policy=NO_CACHE)
def backtest_task(data: DolData, as_of: date, labels_to: date, entity: DolEntity) -> dict[str, Any]:
    return backtest(data, as_of, labels_to, entity)


@flow(name="us-dol-score", log_prints=False, validate_parameters=False)
def us_dol_score_flow(
    data_dir: Path,
    home: Path,
    as_of: date,
    entity: DolEntity = "employer",
    progress: Callable[[int, int, str], None] | None = None,
) -> tuple[DolData, ScoreRun]:
    data = parse_task(data_dir, home, progress)
    return data, score_task(data, as_of, entity)


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
