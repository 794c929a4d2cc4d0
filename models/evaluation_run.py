"""An evaluation as the evaluate flow runs it: each entity type's latest training and served ranking evaluated on
the labels after the as-of date (the simulator's truth only measures), and the reports and model cards written."""

from __future__ import annotations

import json
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from data_contracts.atomic import write_text_atomically
from data_contracts.home import Home
from data_contracts.lake import Lake
from data_contracts.pseudonymise import load_key
from features.build import FeatureTable
from features.registry import EntityType
from models.bundle import (
    candidate_scores,
    decision_as_of,
    latest_bundle,
    load_bundle,
    read_registry,
)
from models.datasets import HORIZON_DAYS
from models.evaluate import evaluate_entity
from models.report import model_card, render_report
from models.train import DEFAULT_EVIDENCE, Evidence
from models.training_run import sensitive_removed

RANKINGS = ("served_ranking", "model", "rule", "random")  # the rankings an evaluation compares, as it names them
HEADLINE = ("precision_at_k", "truth_precision_at_k", "average_precision")  # the metrics of the artifact table


def world_facts(truth_dir: Path | None) -> dict[str, Any] | None:
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


def evaluate_trained(
    home: Path,
    lake: Lake,
    entity: EntityType,
    table: FeatureTable,
    as_of: date,
    truth_dir: Path | None,
    evidence: Evidence = DEFAULT_EVIDENCE,
    paired_resamples: int = 0,
    horizon: int = HORIZON_DAYS,
    capacity_k: int | None = None,
) -> dict[str, Any]:
    """Evaluation of ``entity``'s latest training on or before ``as_of`` and of the ranking that served after it
    (models.evaluate.evaluate_entity), with the sensitive-indicator retraining; an ``error`` when none trained."""
    decision = decision_as_of(home, entity, as_of)
    model_id = latest_bundle(home, entity, as_of)
    if decision is None and model_id is None:
        return {"error": f"no {entity} training on or before {as_of}: run tracerisk train"}
    truth = _truth(truth_dir, home, entity)
    model = load_bundle(home, model_id) if model_id is not None else None
    served_id = (decision or {}).get("served_model_id")
    if decision is None:  # a registry from before served rankings were recorded: the champion serves
        served_id = read_registry(home).get(entity, {}).get("champion")
    served = model if model is not None and served_id == model.model_id else None
    if served is None and served_id:
        served = load_bundle(home, served_id)
    candidates = partial(candidate_scores, home, model) if model is not None else None
    out = evaluate_entity(
        lake,
        entity,
        table,
        as_of,
        truth,
        model,
        served,
        decision,
        candidates=candidates,
        paired_resamples=paired_resamples,
        horizon=horizon,
        capacity_k=capacity_k,
        with_ceiling=True,
    )
    out["world"] = world_facts(truth_dir)
    if model is not None:
        out["sensitive_removed"] = sensitive_removed(lake, model.meta, entity, as_of, table, truth, evidence)
    return out


def _json_default(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def write_evaluation(home: Path, as_of: date, result: dict[str, Any], us_dol: list[dict[str, Any]] | None) -> Path:
    """reports/evaluation-<as_of>.json (one per origin of a rolling backtest), reports/evaluation.json (the latest),
    reports/model-report.html (with the US DOL backtest ``us_dol`` when there is one) and each evaluated model's
    card; the report's path."""
    layout = Home(home)
    layout.reports.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, indent=2, default=_json_default) + "\n"
    write_text_atomically(layout.evaluation_report_as_of(as_of), text)
    write_text_atomically(layout.evaluation_report, text)
    report = write_text_atomically(
        layout.model_report, render_report(result, f"tracerisk model report, as of {as_of}", us_dol=us_dol)
    )
    for res in result.values():
        if res.get("model_id"):
            meta = load_bundle(home, res["model_id"]).meta
            write_text_atomically(layout.model_card(res["model_id"]), model_card(meta, res))
    return report


def evaluation_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per entity type and ranking it has, with the headline metrics."""
    return [
        {"entity": entity, "ranking": ranking, **{k: res[ranking].get(k) for k in HEADLINE}}
        for entity, res in result.items()
        for ranking in RANKINGS
        if res.get(ranking)
    ]


def write_rolling_backtest(home: Path, rolling: dict[str, dict[str, Any]]) -> Path:
    """reports/rolling-backtest.json: per origin (ISO date) and entity type of ``rolling``, truth and observed
    precision@k of the model, the rule and random (the full metrics are in reports/evaluation-<origin>.json)."""
    keys = ("precision_at_k", "truth_precision_at_k", "average_precision", "ece")
    summary = {
        origin: {
            entity: {
                "served": res.get("served"),
                **{
                    ranking: {k: res[ranking].get(k) for k in keys} if res.get(ranking) else None
                    for ranking in RANKINGS
                },
            }
            for entity, res in result.items()
            if "rule" in res
        }
        for origin, result in rolling.items()
    }
    return write_text_atomically(Home(home).rolling_backtest_report, json.dumps(summary, indent=2, default=str) + "\n")
