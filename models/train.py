"""Point-in-time training: features as of t, labels from enforcement outcomes in (t, t + horizon].

Labels are positive-unlabelled and selection-biased (DESIGN principle 3): an entity without an outcome is
unlabelled, not clean, and outcomes exist mostly where someone inspected. Two ways of training are
compared on a time-held-out fold (``STRATEGIES``); the fold also fits the probability calibration.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import duckdb
import lightgbm as lgb
import numpy as np
import pyarrow as pa
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from data_contracts.lake import Lake
from features.build import FeatureTable, build_features
from features.registry import BY_ID, EntityType, feature_columns
from models.metrics import capacity, precision_at_k, safe_ap

HORIZON_DAYS = 270
FOLD_GAP_DAYS = 180  # the calibration / selection fold starts this many days after the fitting origin
# Outcome kinds that label an entity as found exploitative or corrupt (complaints are signals, not labels).
LABEL_KINDS: dict[EntityType, tuple[str, ...]] = {
    "employer": ("substantiated_forced_labour", "debarment", "conviction"),
    "recruiter": ("licence_revocation", "conviction", "substantiated_forced_labour", "debarment"),
    "visa_desk": ("integrity_case_substantiated", "conviction"),
    "border_post": ("integrity_case_substantiated", "conviction"),
    "inspector": ("integrity_case_substantiated", "conviction"),
}
LGB_PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 15,
    "max_depth": 4,
    "min_child_samples": 10,
    "n_estimators": 150,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.8,
    "reg_lambda": 1.0,
    "verbose": -1,
    "n_jobs": 2,
    "deterministic": True,
    "seed": 17,
}
# unlabelled_negative: every entity, unlabelled = 0. inspected_only: employers seen by an inspector (where
# labels can arise), others as all. ipw: every entity, employers weighted by the inverse of their
# inspection propensity (random-trigger share), so rarely inspected ones count more.
STRATEGIES = ("unlabelled_negative", "inspected_only", "ipw")


def labels_between(lake: Lake, entity: EntityType, start: date, end: date) -> set[str]:
    """Entities with a labelling outcome decided in (start, end]."""
    sql = lake.current_sql("enforcement_outcome")
    if sql is None:
        return set()
    kinds = ", ".join(f"'{k}'" for k in LABEL_KINDS[entity])
    con = duckdb.connect()
    try:
        rows = con.execute(
            f"SELECT DISTINCT entity_ref FROM ({sql}) WHERE entity_type = ? AND kind IN ({kinds}) "
            f"AND decided_on > DATE '{start}' AND decided_on <= DATE '{end}'",
            [entity],
        ).fetchall()
    finally:
        con.close()
    return {r[0] for r in rows}


@dataclass
class Dataset:
    entity: EntityType
    as_of: date
    ids: list[str]
    x: np.ndarray  # [n, features] float, NaN = not measured
    y: np.ndarray  # 0/1 observed labels in (as_of, as_of + horizon]
    red_flags: np.ndarray
    inspected: np.ndarray  # bool: employer had at least one inspection in the window (others: True)
    features: list[str] = field(default_factory=list)
    table: pa.Table | None = None  # the feature table the rows come from (other models' features too)


def dataset(
    lake: Lake,
    entity: EntityType,
    as_of: date,
    label_end: date,
    table: FeatureTable | None = None,
    exclude: tuple[str, ...] = (),
) -> Dataset:
    """Features as of ``as_of`` (without the indicators in ``exclude``) and labels in (as_of, label_end]."""
    ft = table or build_features(lake, as_of, (entity,))[entity]
    cols = [c for c in feature_columns(entity) if c.split("_w", 1)[0] not in exclude]
    t = ft.table
    x = np.column_stack([t.column(c).to_numpy(zero_copy_only=False).astype(float) for c in cols])
    ids = [str(v) for v in t.column("entity_id").to_pylist()]
    positives = labels_between(lake, entity, as_of, label_end)
    y = np.array([i in positives for i in ids], dtype=float)
    if entity == "employer":
        inspected = ~np.isnan(t.column("E01_w1095").to_numpy(zero_copy_only=False).astype(float))
    else:
        inspected = np.ones(len(ids), dtype=bool)
    flags = t.column("red_flags").to_numpy().astype(float)
    return Dataset(entity, as_of, ids, x, y, flags, inspected, cols, t)


def _weights(ds: Dataset, strategy: str) -> tuple[np.ndarray, np.ndarray]:
    """(row mask, sample weights) for a training strategy."""
    mask = np.ones(len(ds.ids), dtype=bool)
    weights = np.ones(len(ds.ids))
    if strategy == "inspected_only":
        mask = ds.inspected.copy()
    elif strategy == "ipw" and ds.entity == "employer":
        # Labels arise only where an inspector went: inspected rows stand for the uninspected ones too.
        share = max(ds.inspected.mean(), 1e-3)
        weights = np.where(ds.inspected, 1.0 / share, 1.0)
        weights = weights / weights.mean()
    return mask, weights


def directions(features: list[str]) -> list[int]:
    """Monotone constraints for feature columns, from each indicator's declared direction."""
    return [BY_ID[f.split("_w", 1)[0]].direction for f in features]


def fit_booster(ds: Dataset, strategy: str) -> lgb.LGBMClassifier:
    mask, weights = _weights(ds, strategy)
    model = lgb.LGBMClassifier(
        **LGB_PARAMS, monotone_constraints=directions(ds.features), monotone_constraints_method="advanced"
    )
    y = ds.y[mask]
    if y.sum() == 0 or y.sum() == len(y):
        # No contrast to learn from: a constant model (reported as such, never silently promoted).
        y = y.copy()
        y[np.argmax(ds.red_flags[mask])] = 1 - y[0]
    model.fit(ds.x[mask], y, sample_weight=weights[mask])
    return model


class Calibrator:
    """Isotonic regression on the time-held-out fold (Platt scaling when it has under 20 positives)."""

    def __init__(self) -> None:
        self.kind_ = "identity"
        self.model_: IsotonicRegression | LogisticRegression | None = None

    def fit(self, raw: np.ndarray, y: np.ndarray) -> Calibrator:
        if 0 < y.sum() < len(y):
            if y.sum() >= 20:
                self.model_ = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw, y)
                self.kind_ = "isotonic"
            else:
                self.model_ = LogisticRegression().fit(raw.reshape(-1, 1), y)
                self.kind_ = "platt"
        return self

    def predict(self, raw: np.ndarray) -> np.ndarray:
        if isinstance(self.model_, IsotonicRegression):
            return np.asarray(self.model_.predict(raw), dtype=float)
        if isinstance(self.model_, LogisticRegression):
            return np.asarray(self.model_.predict_proba(raw.reshape(-1, 1))[:, 1], dtype=float)
        return np.asarray(1.0 / (1.0 + np.exp(-raw)), dtype=float)


@dataclass(frozen=True)
class RuleCalibration:
    """Red-flag count -> probability: the observed label rate per count on the held-out fold, made monotone
    (isotonic). Used to give the rule baseline probabilities when it is what gets served."""

    flags: tuple[float, ...]  # knots (red-flag counts), increasing
    rates: tuple[float, ...]  # probability at each knot, non-decreasing

    @staticmethod
    def fit(red_flags: np.ndarray, y: np.ndarray) -> RuleCalibration:
        if len(y) == 0:
            return RuleCalibration.uninformed()
        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(red_flags, y)
        return RuleCalibration(tuple(map(float, iso.X_thresholds_)), tuple(map(float, iso.y_thresholds_)))

    @staticmethod
    def uninformed() -> RuleCalibration:
        return RuleCalibration((0.0,), (0.0,))

    def predict(self, red_flags: np.ndarray) -> np.ndarray:
        return np.asarray(np.interp(red_flags, np.asarray(self.flags), np.asarray(self.rates)), dtype=float)


@dataclass
class TrainedModel:
    entity: EntityType
    strategy: str
    booster: lgb.LGBMClassifier
    calibrator: Calibrator
    features: list[str]
    fit_as_of: date
    fold_as_of: date
    trained_as_of: date
    comparison: dict[str, dict[str, float]]  # strategy -> fold metrics
    rule_calibration: RuleCalibration  # red-flag count -> observed label rate on the same fold
    fold: Dataset  # the time-held-out fold: calibration, strategy choice and the champion/challenger gate

    def raw_score(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.booster.predict(x, raw_score=True), dtype=float)

    def probability(self, x: np.ndarray) -> np.ndarray:
        return self.calibrator.predict(self.raw_score(x))


def training_days(as_of: date, horizon: int = HORIZON_DAYS) -> tuple[date, date]:
    """(fitting origin t0, fold origin t1) of a model trained with what was known on ``as_of``."""
    t1 = as_of - timedelta(days=horizon)
    return t1 - timedelta(days=FOLD_GAP_DAYS), t1


def train_entity(
    lake: Lake,
    entity: EntityType,
    as_of: date,
    truth_labels: set[str] | None = None,
    horizon: int = HORIZON_DAYS,
    exclude: tuple[str, ...] = (),
    features_at: Callable[[date], FeatureTable] | None = None,
    fit_model: Callable[[Dataset, str], lgb.LGBMClassifier] | None = None,
) -> TrainedModel:
    """Train for ``entity`` with only what was known on ``as_of`` (labels included).

    ``features_at(day)`` supplies the feature table of ``entity`` as of a day (a cache shared by the entity
    types of one run); without it the features are built here.
    ``fit_model(dataset, strategy)`` fits a booster (default ``fit_booster``; ``models.distributed.DaskBoosterFit``
    fits on a Dask cluster).

    Fitting origin t0 = as_of - horizon - gap (labels (t0, t0 + horizon]); selection and calibration fold
    t1 = as_of - horizon (labels (t1, as_of]). Strategies are compared on the fold by truth precision@k when
    ``truth_labels`` (the simulator's truth, evaluation only) are given, else by observed average precision.
    """
    t0, t1 = training_days(as_of, horizon)
    fit_table = features_at(t0) if features_at else None
    fold_table = features_at(t1) if features_at else None
    fit = dataset(lake, entity, t0, t0 + timedelta(days=horizon), fit_table, exclude=exclude)
    fold = dataset(lake, entity, t1, as_of, fold_table, exclude=exclude)
    k = capacity(len(fold.ids))
    comparison: dict[str, dict[str, float]] = {}
    models = {}
    for strategy in STRATEGIES:
        booster = (fit_model or fit_booster)(fit, strategy)
        raw = np.asarray(booster.predict(fold.x, raw_score=True), dtype=float)
        rng = np.random.default_rng(3)
        metrics = {
            "fold_average_precision": safe_ap(raw, fold.y),
            "fold_precision_at_k": precision_at_k(raw, fold.y, k, rng),
        }
        if truth_labels is not None:
            truth = np.array([i in truth_labels for i in fold.ids], dtype=float)
            metrics["fold_truth_precision_at_k"] = precision_at_k(raw, truth, k, np.random.default_rng(3))
        comparison[strategy] = metrics
        models[strategy] = (booster, raw)
    key = "fold_truth_precision_at_k" if truth_labels is not None else "fold_average_precision"

    def rank(s: str) -> float:
        v = comparison[s][key]
        return -1.0 if v != v else v  # NaN last

    best = max(STRATEGIES, key=rank)
    booster, raw = models[best]
    calibrator = Calibrator().fit(raw, fold.y)
    rule = RuleCalibration.fit(fold.red_flags, fold.y)
    return TrainedModel(entity, best, booster, calibrator, fit.features, t0, t1, as_of, comparison, rule, fold)


def feature_frame(table: pa.Table, features: list[str]) -> np.ndarray:
    return np.column_stack([table.column(c).to_numpy(zero_copy_only=False).astype(float) for c in features])
