"""Model bundles: the LightGBM model, its calibration, the feature list with registry ids, the training
window and metrics, written atomically under ``$TRACERISK_HOME/models/<model_id>/``.

``integrity.json``, written with the bundle, holds the SHA-256 of bundle.json's canonical content (sorted keys,
no whitespace) and of every model text; a bundle that does not match it, or has none, is never loaded."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass
from datetime import date
from importlib import metadata
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from data_contracts.atomic import write_text_atomically
from data_contracts.home import Home
from features.registry import EntityType, indicator_of
from models import treeshap
from models.blend import IDENTITY_BLEND, Blend, Calibrator, RuleCalibration
from models.train import LATENT_STRATEGY, TrainedModel

INTEGRITY_FILE = "integrity.json"


class BundleIntegrityError(ValueError):
    """A bundle that is missing, unreadable or not as it was written; str(exc) is one line for a person."""


@dataclass
class LoadedModel:
    model_id: str
    entity: EntityType
    booster: lgb.Booster | None  # None: the weighted red flags (no trees; the blend's weight is 0)
    calibrator: Calibrator
    features: list[str]
    meta: dict[str, Any]

    @property
    def rule_calibration(self) -> RuleCalibration:
        spec = self.meta.get("rule_calibration")
        if not spec:
            return RuleCalibration.uninformed()
        return RuleCalibration.from_dict(spec)

    @property
    def blend(self) -> Blend:
        spec = self.meta.get("blend")
        return Blend.from_dict(spec) if spec else IDENTITY_BLEND

    def raw_score(self, x: np.ndarray) -> np.ndarray:
        """The trees' raw score (log-odds for a binary objective); zeros without trees."""
        if self.booster is None:
            return np.zeros(len(x))
        return np.asarray(self.booster.predict(x, raw_score=True), dtype=float)

    def served_score(self, x: np.ndarray, flags: np.ndarray) -> np.ndarray:
        """The score the served ranking orders by: the trees blended with the (weighted) red-flag count;
        ``flags``: [n, features] 0/1 (features.build.red_flag_matrix over ``self.features``)."""
        return self.blend.score(self.raw_score(x), flags)

    def probability(self, x: np.ndarray, flags: np.ndarray) -> np.ndarray:
        return self.calibrator.predict(self.served_score(x, flags))

    def contributions(self, x: np.ndarray) -> np.ndarray:
        """[n, features + 1] TreeSHAP contributions (LightGBM pred_contrib per decision pattern, exact); zeros
        without trees (the blend adds each red flag's part)."""
        if self.booster is None:
            return np.zeros((len(x), len(self.features) + 1))
        return treeshap.contributions(self.booster, x)


def _calibrator_json(c: Calibrator) -> dict[str, Any]:
    if isinstance(c.model_, IsotonicRegression):
        return {"kind": "isotonic", "x": c.model_.X_thresholds_.tolist(), "y": c.model_.y_thresholds_.tolist()}
    if isinstance(c.model_, LogisticRegression):
        return {"kind": "platt", "coef": float(c.model_.coef_[0][0]), "intercept": float(c.model_.intercept_[0])}
    return {"kind": "identity"}


class _JsonCalibrator(Calibrator):
    def __init__(self, spec: dict[str, Any]) -> None:
        super().__init__()
        self.spec = spec
        self.kind_ = spec["kind"]

    def predict(self, raw: np.ndarray) -> np.ndarray:
        if self.kind_ == "isotonic":
            out = np.interp(raw, np.asarray(self.spec["x"]), np.asarray(self.spec["y"]))
        elif self.kind_ == "platt":
            out = 1.0 / (1.0 + np.exp(-(self.spec["coef"] * raw + self.spec["intercept"])))
        else:
            out = 1.0 / (1.0 + np.exp(-raw))
        return np.asarray(out, dtype=float)


def save_bundle(
    model: TrainedModel,
    home: Path,
    metrics: dict[str, Any],
    data_fingerprint: str,
    gate: dict[str, Any] | None = None,
) -> str:
    if not model.has_model:
        raise ValueError(f"no {model.entity} model to save: {model.no_model_reason}")
    text = model_text(model)
    model_id = _model_id(model, text)
    final = Home(home).model(model_id)
    tmp = Home(home).models / f".{model_id}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    (tmp / "model.txt").write_text(text, encoding="utf-8")
    if model.candidate_boosters:  # every candidate's trees, for evaluation to report each on later labels
        (tmp / "candidates").mkdir()
        for strategy, candidate in model.candidate_boosters.items():
            (tmp / "candidates" / f"{strategy}.txt").write_text(candidate.booster_.model_to_string(), encoding="utf-8")
    meta = {
        "model_id": model_id,
        "entity": model.entity,
        "strategy": model.strategy,
        "features": model.features,
        "indicator_ids": [indicator_of(f) for f in model.features],
        "fit_as_of": model.fit_as_of.isoformat(),
        "fold_as_of": model.fold_as_of.isoformat(),
        "trained_as_of": model.trained_as_of.isoformat(),
        "windows": model.windows.as_dict(),
        "positives": model.positives,
        "blend": model.blend.as_dict(),
        "fold_blend": model.fold_blend.as_dict() if model.fold_blend is not None else None,
        "candidates": {key: {"strategy": st, "blend": b.as_dict()} for key, (st, b) in model.candidates.items()},
        "calibration": _calibrator_json(model.calibrator),
        "strategy_comparison": model.comparison,
        "metrics": metrics,
        "rule_calibration": model.rule_calibration.as_dict(),
        "gate": gate or {},
        "data_fingerprint": data_fingerprint,
        "code_version": metadata.version("tracerisk"),
    }
    (tmp / "bundle.json").write_text(json.dumps(meta, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
    seal_bundle(tmp)
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)  # the bundle appears whole or not at all
    return model_id


def canonical_json_hash(meta: Any) -> str:
    """SHA-256 of ``meta`` as canonical JSON (sorted keys, no whitespace): the same for any formatting of it."""
    text = json.dumps(meta, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def seal_bundle(folder: Path) -> None:
    """Write ``folder``'s integrity.json from its bundle.json, model.txt and candidates/*.txt as they are now."""
    meta = json.loads((folder / "bundle.json").read_text(encoding="utf-8"))
    texts = [folder / "model.txt", *sorted((folder / "candidates").glob("*.txt"))]
    record = {
        "bundle.json": canonical_json_hash(meta),
        "files": {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in texts},
    }
    (folder / INTEGRITY_FILE).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _integrity_record(folder: Path) -> dict[str, Any]:
    if not folder.is_dir():
        raise BundleIntegrityError(f"{folder.name}: the bundle's folder is missing")
    try:
        record = json.loads((folder / INTEGRITY_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise BundleIntegrityError(f"{folder.name}: no {INTEGRITY_FILE} (a bundle is only loaded as written)") from exc
    except (OSError, ValueError) as exc:
        raise BundleIntegrityError(f"{folder.name}: {INTEGRITY_FILE} is unreadable ({exc})") from exc
    if not isinstance(record, dict) or not isinstance(record.get("files"), dict):
        raise BundleIntegrityError(f"{folder.name}: {INTEGRITY_FILE} is malformed")
    return record


def verified_bundle(home: Path, model_id: str) -> tuple[dict[str, Any], str]:
    """(bundle.json's content, model.txt's text) of ``model_id``, raising BundleIntegrityError when the bundle is
    missing, unreadable, or differs from its integrity.json (an edited calibration or feature list, a truncated
    model.txt), or when model.txt is not the model its id names (the id ends with models.bundle.model_text_hash)."""
    folder = Home(home).model(model_id)
    record = _integrity_record(folder)
    try:
        meta = json.loads((folder / "bundle.json").read_text(encoding="utf-8"))
        data = (folder / "model.txt").read_bytes()
    except (OSError, ValueError) as exc:
        raise BundleIntegrityError(f"{model_id}: unreadable bundle ({exc})") from exc
    if record.get("bundle.json") != canonical_json_hash(meta):
        raise BundleIntegrityError(f"{model_id}: bundle.json differs from the bundle as written (edited)")
    if record["files"].get("model.txt") != hashlib.sha256(data).hexdigest():
        raise BundleIntegrityError(f"{model_id}: model.txt differs from the bundle as written (edited or truncated)")
    text = data.decode("utf-8")
    suffix = model_id.rsplit("-", 1)[-1]
    if re.fullmatch(r"[0-9a-f]{10}", suffix) and model_text_hash(text) != suffix:
        raise BundleIntegrityError(f"{model_id}: model.txt does not match the hash in its model id")
    if not isinstance(meta, dict) or meta.get("model_id") != model_id:
        raise BundleIntegrityError(f"{model_id}: bundle.json names another model")
    return meta, text


def load_bundle(home: Path, model_id: str) -> LoadedModel:
    """The bundle of ``model_id``, only once verified_bundle accepts it (LightGBM parses the verified text)."""
    meta, text = verified_bundle(home, model_id)
    try:
        booster = None if meta.get("strategy") == LATENT_STRATEGY else lgb.Booster(model_str=text)
        calibrator = _JsonCalibrator(meta["calibration"])
        return LoadedModel(model_id, meta["entity"], booster, calibrator, meta["features"], meta)
    except (lgb.basic.LightGBMError, KeyError, TypeError) as exc:
        raise BundleIntegrityError(f"{model_id}: bundle cannot be loaded ({exc})") from exc


def candidate_scores(home: Path, model: LoadedModel, x: np.ndarray, flags: np.ndarray) -> dict[str, np.ndarray]:
    """Served scores of every candidate (strategy x blend) the bundle's training compared on its fold, for
    reporting them on later labels (empty for a bundle saved without its candidates)."""
    folder = Home(home).model(model.model_id)
    sealed = _integrity_record(folder)["files"]
    trees: dict[str, lgb.Booster] = {}
    out: dict[str, np.ndarray] = {}
    for key, spec in (model.meta.get("candidates") or {}).items():
        if spec["strategy"] == LATENT_STRATEGY:
            out[key] = Blend.from_dict(spec["blend"]).score(np.zeros(len(x)), flags)
            continue
        name = f"candidates/{spec['strategy']}.txt"
        path = folder / name
        if not path.is_file():
            continue
        if spec["strategy"] not in trees:
            data = path.read_bytes()
            if sealed.get(name) != hashlib.sha256(data).hexdigest():
                continue  # not the trees training wrote: not reported
            trees[spec["strategy"]] = lgb.Booster(model_str=data.decode("utf-8"))
        raw = np.asarray(trees[spec["strategy"]].predict(x, raw_score=True), dtype=float)
        out[key] = Blend.from_dict(spec["blend"]).score(raw, flags)
    return out


def latest_bundle(home: Path, entity: EntityType, as_of: date | None = None) -> str | None:
    """The most recently trained bundle of ``entity`` trained on or before ``as_of``."""
    best: tuple[str, str] | None = None
    for meta_file in sorted(Home(home).models.glob(f"{entity}-*/bundle.json")):
        try:
            meta = json.loads(meta_file.read_text(encoding="utf-8"))
            trained = str(meta["trained_as_of"])
        except (OSError, ValueError, KeyError, TypeError):
            continue  # unreadable: load_bundle refuses it anyway
        if as_of is not None and trained > as_of.isoformat():
            continue
        if best is None or trained >= best[0]:
            best = (trained, meta["model_id"])
    return best[1] if best else None


def model_text_hash(text: str) -> str:
    """The last part of a model id: the first 10 hex digits of the SHA-256 of the model's text (model.txt)."""
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def _model_id(model: TrainedModel, text: str) -> str:
    return f"{model.entity}-{model.trained_as_of.isoformat()}-{model_text_hash(text)}"


def model_text(model: TrainedModel) -> str:
    """What model.txt holds: the trees as LightGBM writes them, or the weighted red flags as canonical JSON."""
    if model.booster is not None:
        return model.booster.booster_.model_to_string()
    spec = {"strategy": model.strategy, "features": model.features, "blend": model.blend.as_dict()}
    return json.dumps(spec, sort_keys=True, separators=(",", ":")) + "\n"


def model_id_of(model: TrainedModel) -> str:
    """The id ``save_bundle`` gives ``model`` (entity, training date and a hash of model.txt)."""
    if not model.has_model:
        raise ValueError(f"no {model.entity} model: {model.no_model_reason}")
    return _model_id(model, model_text(model))


def _registry_path(home: Path) -> Path:
    return Home(home).registry


def read_registry(home: Path) -> dict[str, Any]:
    """``{entity: {"champion": model id or None, "decisions": [...]}}``; empty when nothing was trained."""
    path = _registry_path(home)
    if not path.exists():
        return {}
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def champion_id(home: Path, entity: EntityType) -> str | None:
    """The current champion of ``entity`` if its bundle is whole and loadable, else None."""
    model_id = read_registry(home).get(entity, {}).get("champion")
    if model_id is None:
        return None
    folder = Home(home).model(str(model_id))
    if not (folder / "bundle.json").is_file() or not (folder / "model.txt").is_file():
        return None
    return str(model_id)


def record_decision(home: Path, entity: EntityType, model_id: str | None, decision: dict[str, Any]) -> None:
    """Append the gate decision (``model_id`` None: training produced no model) and what now serves the type
    (atomic file replace).

    The entry keeps ``champion`` (the model that serves, or None), ``served`` ("model" or "red_flag_count"), the
    reason, and ``rule_calibration`` (the red-flag count's probabilities from the latest fold) for when the count
    serves. A decision that hands the type to the count clears the champion: no earlier model serves behind it."""
    registry = read_registry(home)
    entry = registry.setdefault(entity, {"champion": None, "decisions": []})
    entry["decisions"].append({"model_id": model_id, **decision})
    if decision.get("promote"):
        entry["champion"] = model_id
    served = decision.get("served", "model" if entry.get("champion") else "red_flag_count")
    if served == "red_flag_count":
        entry["champion"] = None
    entry["served"] = served
    entry["served_reason"] = decision.get("reason")
    if "rule_calibration" in decision:
        entry["rule_calibration"] = decision["rule_calibration"]
    write_text_atomically(_registry_path(home), json.dumps(registry, indent=2, sort_keys=True, default=str) + "\n")


def served_rule_calibration(home: Path, entity: EntityType) -> RuleCalibration | None:
    """The red-flag count's probabilities recorded by the latest training of ``entity`` (None if none)."""
    spec = read_registry(home).get(entity, {}).get("rule_calibration")
    return RuleCalibration.from_dict(spec) if spec else None


def decision_as_of(home: Path, entity: EntityType, as_of: date) -> dict[str, Any] | None:
    """The latest recorded decision of ``entity`` for a training on or before ``as_of`` (None if none)."""
    best: dict[str, Any] | None = None
    for d in read_registry(home).get(entity, {}).get("decisions", []):
        trained = d.get("trained_as_of")
        if trained is None or trained > as_of.isoformat():
            continue
        if best is None or trained >= best["trained_as_of"]:
            best = d
    return best
