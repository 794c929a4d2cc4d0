"""One training of an entity type as the train flow runs it: the trained model through the gate, its bundle saved,
checked by loading it back and recorded with the decision; and, for the report, the same recipe retrained without
each sensitive indicator."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from data_contracts.lake import Lake
from features.build import FeatureTable, build_features
from features.registry import EntityType, for_entity
from features.stored import lake_features
from models.bundle import LoadedModel, record_decision, save_bundle
from models.champion import check_bundle, gate_challengers
from models.evaluate import evaluate_entity
from models.gate import SERVED_COUNT, SERVED_MODEL
from models.train import DEFAULT_EVIDENCE, Evidence, TrainedModel, train_entity


class FeatureCache:
    """Feature tables per as-of day, built once for every entity type of a run; with ``home``, read from and kept
    in its features folders (``features.stored.lake_features``: reused while the lake and indicators are unchanged),
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


def lake_fingerprint(lake: Lake) -> str:
    """The lake a bundle was trained on, as its card names it: batch count and the last batch."""
    entries = lake.ledger()
    return f"{len(entries)} batches, last {entries[-1].batch_id[:12]}" if entries else "empty lake"


def gate_and_record(home: Path, entity: EntityType, model: TrainedModel, fingerprint: str) -> TrainResult:
    """``model`` through the champion/challenger gate; a model is saved as a bundle, and one that does not load
    back as written is never promoted; the decision, with the model id that serves after it, is recorded."""
    model, decision = gate_challengers(home, model)
    model_id = None
    if model.has_model:
        metrics = {"strategy_comparison": model.comparison, "gate": decision}
        model_id = save_bundle(model, home, metrics, fingerprint, gate=decision)
        try:
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
