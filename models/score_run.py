"""A score run as the score flow publishes it: every entity type scored by what serves it, the model registry's
entries (bundles with their status, gate decision and card; the red-flag count where it serves) and a summary
per type."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np

from data_contracts.home import Home
from features.build import FeatureTable
from features.registry import EntityType
from models.bundle import (
    BundleIntegrityError,
    LoadedModel,
    latest_bundle,
    load_bundle,
    read_registry,
    served_rule_calibration,
    verified_bundle,
)
from models.gate import SERVED_COUNT
from models.report import model_card
from models.report_format import counts_text, window_text
from models.scoring import RULE_BASELINE, ScoredType, score_type
from store.publish import ModelEntry, ScoreRun

log = logging.getLogger("tracerisk.flows")

BACKTEST_METRICS = ("served_ranking", "model", "rule", "random")  # an evaluation's rankings a model entry lists


def rule_calibration(home: Path, entity: EntityType, as_of: date, model: LoadedModel | None) -> Any:
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


def score_entity(
    home: Path, as_of: date, table: FeatureTable, entity: EntityType, model: LoadedModel | None
) -> ScoredType:
    """Every entity of ``table`` scored by ``model``, or by the calibrated red-flag count when it is None."""
    return score_type(table, as_of.isoformat(), model, rule_calibration(home, entity, as_of, model))


def score_run(home: Path, as_of: date, entities: tuple[EntityType, ...], scored: Sequence[ScoredType]) -> ScoreRun:
    """The run to publish: the scored types' rows and scope keys under a new run id, with the model entries of
    ``entities``."""
    run_id = f"{as_of.isoformat()}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
    rows = [row for s in scored for row in s.rows]
    scope = [row for s in scored for row in s.scope]
    model_ids = {s.entity_type: s.model_id for s in scored}
    return ScoreRun(run_id, as_of.isoformat(), model_ids, rows, scope, model_entries(home, entities))


def model_entries(home: Path, entities: tuple[EntityType, ...]) -> list[ModelEntry]:
    """Every bundle of the scored entity types, with its registry status, gate decision and card."""
    registry = read_registry(home)
    evaluation_path = Home(home).evaluation_report
    evaluation = json.loads(evaluation_path.read_text(encoding="utf-8")) if evaluation_path.is_file() else {}
    entries = []
    for entity in entities:
        champion = registry.get(entity, {}).get("champion")
        for meta_file in sorted(Home(home).models.glob(f"{entity}-*/bundle.json")):
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
                    metrics={k: backtest[k] for k in BACKTEST_METRICS} if backtest else meta["metrics"],
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
        "",
        f"- Trained as of: {last.get('trained_as_of', '–')}",
        f"- Training labels: {window_text((last.get('windows') or {}).get('train_labels'))}; "
        f"held-out fold labels: {window_text((last.get('windows') or {}).get('fold_labels'))}",
        f"- Observed positives: {counts_text(last.get('positives'))}",
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


@dataclass(frozen=True)
class ScoreSummary:
    """What the score flow returns: the published run's id and, per entity type, its model, entity count, high-band
    count and mean probability (the rows stay in the store: a flow's return value is walked by Prefect)."""

    run_id: str
    as_of: str
    per_type: list[dict[str, Any]]

    @property
    def entities(self) -> int:
        return sum(int(t["entities"]) for t in self.per_type)


def summarise(run: ScoreRun, entities: tuple[EntityType, ...]) -> ScoreSummary:
    """Per entity type of ``run``: its model, entity count, high-band count and mean probability."""
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
    return ScoreSummary(run.run_id, run.as_of, table)
