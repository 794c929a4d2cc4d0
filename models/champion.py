"""Which model serves a type: the champion whose bundle loads, and the gate's decision on what training offers.

A bundle is used only after models.bundle.load_bundle has checked it against its integrity record; a champion that
no longer loads falls back to the last promoted model that does. The gate (models/gate.py) judges a challenger on
its held-out windows against the red-flag count and the champion, in the one review order. Nothing here reads the
simulator's truth.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from features.registry import EntityType
from models.bundle import LoadedModel, load_bundle, model_id_of, read_registry
from models.datasets import Dataset, feature_frame
from models.gate import SERVED_COUNT, Window, clears_bar, decide, pooled_gate_metrics, pooled_win_share
from models.train import LATENT_STRATEGY, TrainedModel

log = logging.getLogger("tracerisk.models")


def check_bundle(home: Path, model_id: str) -> LoadedModel:
    """Load ``model_id``'s bundle, raising BundleIntegrityError when it is missing, unreadable or not as written:
    models.bundle.load_bundle checks bundle.json and model.txt against the bundle's integrity.json and the hash in
    the model id before LightGBM reads a byte (a truncated model.txt would otherwise abort the process)."""
    return load_bundle(home, model_id)


def usable_champion(home: Path, entity: EntityType) -> LoadedModel | None:
    """The champion of ``entity`` if its bundle passes check_bundle, else the most recent earlier promoted model whose
    bundle does: a corrupt or missing bundle is never scored with, and the last good champion keeps serving. None
    when the gate handed the type to the red-flag count, or when no promoted bundle loads (the count scores)."""
    entry = read_registry(home).get(entity, {})
    if entry.get("served") == SERVED_COUNT:
        return None
    promoted = [d.get("model_id") for d in reversed(entry.get("decisions", [])) if d.get("promote")]
    seen: set[str] = set()
    for model_id in [entry.get("champion"), *promoted]:
        if not model_id or model_id in seen:
            continue
        seen.add(str(model_id))
        try:
            return check_bundle(home, str(model_id))
        except Exception as exc:  # any unreadable bundle: fall back, say why
            log.warning("model bundle %s cannot be loaded (%s); trying the previous champion", model_id, exc)
    return None


class NoUsableModel(RuntimeError):
    """A type whose registry says a model serves has no promoted bundle that loads; str(exc) is one line."""


def scoring_model(home: Path, entity: EntityType, allow_rule_baseline: bool = False) -> LoadedModel | None:
    """What scores ``entity``: usable_champion's model; None (the red-flag count) when the gate handed the type
    to the count or no model was ever promoted. When a model should serve and none loads, raise NoUsableModel
    unless ``allow_rule_baseline``: the count never replaces a model without the operator asking."""
    model = usable_champion(home, entity)
    if model is not None or allow_rule_baseline:
        return model
    entry = read_registry(home).get(entity, {})
    promoted = [str(d["model_id"]) for d in entry.get("decisions", []) if d.get("promote") and d.get("model_id")]
    if entry.get("served") == SERVED_COUNT or not (entry.get("champion") or promoted):
        return None
    champion = entry.get("champion") or promoted[-1]
    raise NoUsableModel(
        f"no {entity} model loads: the champion {champion} and every earlier promoted bundle are missing or fail "
        "their integrity check; nothing was published. Restore the bundle, retrain (tracerisk train), or score "
        "with --allow-rule-baseline to publish the red-flag count for it"
    )


def _judged_on(
    scores: list[np.ndarray], windows: list[Dataset], against: list[np.ndarray] | None = None
) -> dict[str, float]:
    """A ranking's gate metrics over held-out windows, with its paired win share against ``against`` (the scores
    of another ranking on each window; default the red-flag count)."""
    judged: list[Window] = [(s, w.y, w.keys) for s, w in zip(scores, windows, strict=True)]
    return {
        **pooled_gate_metrics(judged),
        "paired_win_share": pooled_win_share(judged, [w.red_flags for w in windows] if against is None else against),
    }


def _champion_scores(loaded: LoadedModel, window: Dataset) -> np.ndarray | None:
    """The champion's served score on a held-out window; None when the window lacks one of its features."""
    if window.table is None or any(f not in window.table.column_names for f in loaded.features):
        return None
    index = {f: j for j, f in enumerate(window.features)}  # its red flags by column name (none outside the window's)
    flags = np.column_stack(
        [window.flags[:, index[f]] if f in index else np.zeros(len(window.ids)) for f in loaded.features]
    )
    return loaded.served_score(feature_frame(window.table, loaded.features), flags)


def gate_model(home: Path, model: TrainedModel) -> dict[str, Any]:
    """The gate's decision for ``model`` on its held-out fold (see models/gate.py), with the training windows,
    the positives and the red-flag count's calibration on the fold. A challenger that reads no label (the weighted
    red flags) is also judged on the window before the fold, and so are the count and the champion."""
    windows = [model.fold, *(w for w, _ in model.evidence_windows)]
    rule = _judged_on([w.red_flags for w in windows], windows)
    challenger = None
    if model.has_model:
        challenged = [model.fold_score(), *(b.score(np.zeros(len(w.ids)), w.flags) for w, b in model.evidence_windows)]
        challenger = _judged_on(challenged, windows)
    loaded = usable_champion(home, model.entity)
    current = loaded.model_id if loaded is not None else None
    champion = None
    if model.has_model and current == model_id_of(model):
        loaded, current = None, None  # the same model: judged once, as the challenger
    if loaded is not None:
        scores = [_champion_scores(loaded, w) for w in windows]
        if all(s is not None for s in scores):
            champion = _judged_on([s for s in scores if s is not None], windows)
    decision = decide(challenger, rule, champion, current, model.no_model_reason).as_dict()
    return {
        **decision,
        "trained_as_of": model.trained_as_of.isoformat(),
        "windows": model.windows.as_dict(),
        "positives": model.positives,
        "rule_calibration": model.rule_calibration.as_dict(),
    }


def trees_beat_label_free(model: TrainedModel) -> tuple[bool, str]:
    """Whether ``model``'s trees beat its weighted red flags (``model.label_free``) on the fold by the bar a model
    must clear against the red-flag count (``models.gate.clears_bar``). The trees are the best of many candidates
    on this fold, fitted on labels that follow where inspectors went; the weighted red flags read no label and
    were not chosen on it."""
    assert model.label_free is not None
    fold, flags = model.fold, model.label_free.fold_score()
    trees = _judged_on([model.fold_score()], [fold], against=[flags])
    return clears_bar(trees, pooled_gate_metrics([(flags, fold.y, fold.keys)]), "the weighted red flags")


def gate_challengers(home: Path, model: TrainedModel) -> tuple[TrainedModel, dict[str, Any]]:
    """The gate's decision on what training offers, and the model it concerns.

    Where trees won the fold, the weighted red flags (``model.label_free``) are judged first. When they clear the
    bar, the trees are offered instead only if they beat them on the fold as clearly as any model must beat the
    red-flag count (``trees_beat_label_free``) and then clear the gate themselves; when they do not, the trees
    are judged alone. ``other_challenger`` in the decision names the challenger that does not serve and why."""
    label_free = model.label_free
    if label_free is None:
        return model, gate_model(home, model)
    first = gate_model(home, label_free)
    flags_judged = {"strategy": LATENT_STRATEGY, "reason": first["reason"], "challenger": first["challenger"]}
    if not first["promote"]:
        return model, {**gate_model(home, model), "other_challenger": flags_judged}
    beaten, why = trees_beat_label_free(model)
    if beaten:
        decision = gate_model(home, model)
        if decision["promote"]:
            return model, {
                **decision,
                "reason": f"{decision['reason']}; {model.strategy} {why}",
                "other_challenger": flags_judged,
            }
        why = f"{why}, but {decision['reason']}"
    trees = {"strategy": model.strategy, "reason": f"{model.strategy} {why}"}
    return label_free, {**first, "reason": f"{first['reason']}; {model.strategy} {why}", "other_challenger": trees}
