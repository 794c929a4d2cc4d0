"""Point-in-time training: features as of several fitting origins with the labels that followed each, and a
later time-held-out fold that alone chooses the strategy, fits the calibration and feeds the gate.

Labels are positive-unlabelled and selection-biased (DESIGN principle 3): an entity without an outcome is
unlabelled, not clean, and outcomes exist mostly where someone inspected. Several ways of treating them are
compared on the fold (``STRATEGIES``), each also blended with the red-flag count (``BLEND_WEIGHTS``), and so is
a ranking that reads no label at all: the red flags weighted by a latent class model (``LATENT_STRATEGY``).

Windows of a model trained with what was known on day D (horizon H, ``training_windows``):
- fold: features as of F = D - H, labels decided in (F, D], entities labelled on or before F left out (they are
  known already; the fold measures finding new ones);
- fitting origins t_j = F - H - j x step, labels in (t_j, t_j + H]: every fitted label is decided on or before F,
  so the trees never see a label of the fold.
Nothing here reads the simulator's truth: the same lake always gives the same models.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any

import duckdb
import lightgbm as lgb
import numpy as np
import pyarrow as pa
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from data_contracts.lake import Lake
from features.build import FeatureTable, build_features, red_flag_matrix
from features.registry import BY_ID, EntityType, feature_columns, indicator_of
from models.latent import fit_latent_flag_weights
from models.metrics import capacity, safe_ap
from models.ranking import precision_at, tiebreak_keys

HORIZON_DAYS = 270
FIT_ORIGINS = 3  # fitting origins pooled into one training set
ORIGIN_STEP_DAYS = 90  # days between two fitting origins
MIN_TRAIN_POSITIVES = 20  # distinct entities with a fitted label; fewer: no model, the red-flag count serves
MIN_FOLD_POSITIVES = 5  # new positives on the fold; fewer: nothing can be shown, the red-flag count serves
# Outcome kinds that label an entity as found exploitative or corrupt (complaints are signals, not labels).
LABEL_KINDS: dict[EntityType, tuple[str, ...]] = {
    "employer": ("substantiated_forced_labour", "debarment", "conviction"),
    "recruiter": ("licence_revocation", "conviction", "substantiated_forced_labour", "debarment"),
    "visa_desk": ("integrity_case_substantiated", "conviction"),
    "border_post": ("integrity_case_substantiated", "conviction"),
    "inspector": ("integrity_case_substantiated", "conviction"),
}
LGB_PARAMS: dict[str, Any] = {
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
# unlabelled_negative: every entity, unlabelled = 0. inspected_only: employers seen by an inspector (where labels
# can arise), others as all. ipw: every entity, employers weighted by the inverse of their inspection share.
# lottery: employers that had a random or complaint inspection in the label window, each trigger weighted by the
# inverse of its share (random visits are the unbiased sample), others as all. rank_xendcg: every entity, a
# ranking objective (LightGBM rank_xendcg, one query per fitting origin) aimed at the top of the list.
STRATEGIES = ("unlabelled_negative", "inspected_only", "ipw", "lottery", "rank_xendcg")
# latent_red_flags: no trees and no label: the red flags weighted by a latent class model of the fold's flags
# (models/latent.py). It needs no training positive, only the fold's new positives to be judged on.
LATENT_STRATEGY = "latent_red_flags"
# Weight of the model in its monotone blend with the red-flag count (1.0 = the model alone); both are
# standardised on the fitting set first.
BLEND_WEIGHTS = (1.0, 0.75, 0.5, 0.25)
LOTTERY_TRIGGERS = ("random", "complaint")


@dataclass(frozen=True)
class Evidence:
    """The minimum observed positives a type needs before a model may serve it."""

    min_train_positives: int = MIN_TRAIN_POSITIVES
    min_fold_positives: int = MIN_FOLD_POSITIVES

    def __post_init__(self) -> None:
        if self.min_train_positives < 1 or self.min_fold_positives < 1:
            raise ValueError("minimum positives must be at least 1")


DEFAULT_EVIDENCE = Evidence()


@dataclass(frozen=True)
class TrainingWindows:
    fit_origins: tuple[date, ...]  # feature days of the pooled fitting sets, oldest first
    fold_as_of: date
    trained_as_of: date
    horizon: int

    @property
    def train_labels(self) -> tuple[date, date]:
        """(from, to]: every label the trees are fitted on is decided in this window."""
        return self.fit_origins[0], self.fit_origins[-1] + timedelta(days=self.horizon)

    @property
    def fold_labels(self) -> tuple[date, date]:
        """(from, to]: the labels of the fold; they start where the training labels end."""
        return self.fold_as_of, self.trained_as_of

    def as_dict(self) -> dict[str, Any]:
        return {
            "fit_origins": [d.isoformat() for d in self.fit_origins],
            "fold_as_of": self.fold_as_of.isoformat(),
            "train_labels": [d.isoformat() for d in self.train_labels],
            "fold_labels": [d.isoformat() for d in self.fold_labels],
            "horizon_days": self.horizon,
        }


def training_windows(
    as_of: date, horizon: int = HORIZON_DAYS, origins: int = FIT_ORIGINS, step: int = ORIGIN_STEP_DAYS
) -> TrainingWindows:
    """The windows of a model trained with what was known on ``as_of`` (see the module docstring)."""
    fold = as_of - timedelta(days=horizon)
    last = fold - timedelta(days=horizon)
    fit = tuple(last - timedelta(days=step * j) for j in reversed(range(origins)))
    return TrainingWindows(fit, fold, as_of, horizon)


def training_days(as_of: date, horizon: int = HORIZON_DAYS) -> tuple[date, ...]:
    """Every feature day a model trained as of ``as_of`` reads: the fitting origins (oldest first), the fold, then
    ``as_of`` itself (where the weighted red flags are fitted to serve)."""
    w = training_windows(as_of, horizon)
    return (*w.fit_origins, w.fold_as_of, as_of)


def _outcomes_sql(lake: Lake, entity: EntityType, known_by: date | None) -> str | None:
    sql = lake.current_sql("enforcement_outcome")
    if sql is None:
        return None
    kinds = ", ".join(f"'{k}'" for k in LABEL_KINDS[entity])
    where = f"entity_type = '{entity}' AND kind IN ({kinds})"
    if known_by is not None:
        con = duckdb.connect()
        try:
            columns = {row[0] for row in con.execute(f"DESCRIBE {sql}").fetchall()}
        finally:
            con.close()
        if "known_on" in columns:  # an outcome decided in the window but recorded later was not known yet
            where += f" AND (known_on IS NULL OR known_on <= DATE '{known_by}')"
    return f"SELECT entity_ref, decided_on FROM ({sql}) WHERE {where}"


def labels_between(lake: Lake, entity: EntityType, start: date, end: date, known_by: date | None = None) -> set[str]:
    """Entities with a labelling outcome decided in (start, end] (and, with ``known_by``, recorded by that day)."""
    sql = _outcomes_sql(lake, entity, known_by)
    if sql is None:
        return set()
    con = duckdb.connect()
    try:
        rows = con.execute(
            f"SELECT DISTINCT entity_ref FROM ({sql}) WHERE decided_on > DATE '{start}' AND decided_on <= DATE '{end}'"
        ).fetchall()
    finally:
        con.close()
    return {r[0] for r in rows}


def labelled_by(lake: Lake, entity: EntityType, day: date) -> set[str]:
    """Entities with a labelling outcome decided on or before ``day``: known positives at that day."""
    sql = _outcomes_sql(lake, entity, day)
    if sql is None:
        return set()
    con = duckdb.connect()
    try:
        rows = con.execute(f"SELECT DISTINCT entity_ref FROM ({sql}) WHERE decided_on <= DATE '{day}'").fetchall()
    finally:
        con.close()
    return {r[0] for r in rows}


def lottery_inspected(lake: Lake, start: date, end: date) -> dict[str, str]:
    """Employer id -> trigger of its first random or complaint inspection in (start, end] (random first)."""
    sql = lake.current_sql("labour_inspection")
    if sql is None:
        return {}
    triggers = ", ".join(f"'{t}'" for t in LOTTERY_TRIGGERS)
    con = duckdb.connect()
    try:
        rows = con.execute(
            f"SELECT organisation_registration_no, min(CASE trigger WHEN 'random' THEN 0 ELSE 1 END) FROM ({sql}) "
            f"WHERE trigger IN ({triggers}) AND inspected_on > DATE '{start}' AND inspected_on <= DATE '{end}' "
            "GROUP BY 1"
        ).fetchall()
    finally:
        con.close()
    return {str(r[0]): LOTTERY_TRIGGERS[int(r[1])] for r in rows}


def feature_frame(table: pa.Table, features: list[str]) -> np.ndarray:
    return np.column_stack([table.column(c).to_numpy(zero_copy_only=False).astype(float) for c in features])


@dataclass
class Dataset:
    entity: EntityType
    as_of: date
    ids: list[str]
    x: np.ndarray  # [n, features] float, NaN = not measured
    y: np.ndarray  # 0/1 observed labels in the window after as_of
    red_flags: np.ndarray
    flags: np.ndarray  # [n, features] 0/1: each column's indicator past its red-flag threshold (sums to red_flags)
    inspected: np.ndarray  # bool: employer had at least one inspection in the feature window (others: True)
    features: list[str] = field(default_factory=list)
    table: pa.Table | None = None  # the feature table the rows come from (other models' features too)
    lottery: np.ndarray | None = None  # trigger per row ("random", "complaint" or ""), employers only
    group: np.ndarray | None = None  # fitting origin index per row (one query each for ranking objectives)

    @property
    def keys(self) -> np.ndarray:
        return tiebreak_keys(self.ids)


def dataset(
    lake: Lake,
    entity: EntityType,
    as_of: date,
    label_end: date,
    table: FeatureTable | None = None,
    exclude: tuple[str, ...] = (),
    known_by: date | None = None,
    drop_known: bool = False,
) -> Dataset:
    """Features as of ``as_of`` (without the indicators in ``exclude``) and labels in (as_of, label_end] recorded
    by ``known_by``; with ``drop_known``, entities labelled on or before ``as_of`` are left out."""
    ft = table or build_features(lake, as_of, (entity,))[entity]
    cols = [c for c in feature_columns(entity) if indicator_of(c) not in exclude]
    t = ft.table
    if drop_known:
        known = labelled_by(lake, entity, as_of)
        ids_all = [str(v) for v in t.column("entity_id").to_pylist()]
        keep = np.array([i not in known for i in ids_all], dtype=bool)
        t = t.filter(pa.array(keep))
    x = feature_frame(t, cols) if t.num_rows else np.zeros((0, len(cols)))
    ids = [str(v) for v in t.column("entity_id").to_pylist()]
    positives = labels_between(lake, entity, as_of, label_end, known_by)
    y = np.array([i in positives for i in ids], dtype=float)
    if entity == "employer":
        inspected = ~np.isnan(t.column(BY_ID["E01"].feature).to_numpy(zero_copy_only=False).astype(float))
        triggers = lottery_inspected(lake, as_of, label_end)
        lottery = np.array([triggers.get(i, "") for i in ids], dtype=object)
    else:
        inspected = np.ones(len(ids), dtype=bool)
        lottery = None
    flags = t.column("red_flags").to_numpy().astype(float)
    matrix = red_flag_matrix(ft, cols)
    if drop_known:
        matrix = matrix[keep]
    return Dataset(entity, as_of, ids, x, y, flags, matrix, inspected, cols, t, lottery)


def pooled(parts: list[Dataset]) -> Dataset:
    """Datasets of several fitting origins as one (rows keep their origin in ``group``)."""
    first = parts[0]
    lottery = np.concatenate([p.lottery for p in parts if p.lottery is not None]) if first.lottery is not None else None
    return Dataset(
        first.entity,
        parts[-1].as_of,
        [i for p in parts for i in p.ids],
        np.vstack([p.x for p in parts]),
        np.concatenate([p.y for p in parts]),
        np.concatenate([p.red_flags for p in parts]),
        np.vstack([p.flags for p in parts]),
        np.concatenate([p.inspected for p in parts]),
        first.features,
        None,
        lottery,
        np.concatenate([np.full(len(p.ids), j) for j, p in enumerate(parts)]),
    )


def strategy_weights(ds: Dataset, strategy: str) -> tuple[np.ndarray, np.ndarray]:
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
    elif strategy == "lottery" and ds.lottery is not None:
        mask = ds.lottery != ""
        for trigger in LOTTERY_TRIGGERS:
            chosen = ds.lottery == trigger
            if chosen.any():
                weights[chosen] = 1.0 / chosen.mean()
        if mask.any():
            weights = weights / weights[mask].mean()
    return mask, weights


def directions(features: list[str]) -> list[int]:
    """Monotone constraints for feature columns, from each indicator's declared direction."""
    return [BY_ID[indicator_of(f)].direction for f in features]


Booster = lgb.LGBMClassifier | lgb.LGBMRanker


def fit_booster(ds: Dataset, strategy: str) -> Booster:
    """Fit one strategy's trees; raises ValueError when its rows hold no contrast (all one label)."""
    mask, weights = strategy_weights(ds, strategy)
    y = ds.y[mask]
    if y.sum() == 0 or y.sum() == len(y):
        raise ValueError(
            f"strategy {strategy}: its {len(y)} rows are all {'positive' if len(y) and y[0] else 'negative'}"
        )
    constraints: dict[str, Any] = {
        "monotone_constraints": directions(ds.features),
        "monotone_constraints_method": "advanced",
    }
    if strategy == "rank_xendcg":
        groups = ds.group[mask] if ds.group is not None else np.zeros(int(mask.sum()), dtype=int)
        order = np.argsort(groups, kind="stable")
        sizes = np.bincount(groups[order])
        ranker = lgb.LGBMRanker(objective="rank_xendcg", **LGB_PARAMS, **constraints)
        ranker.fit(ds.x[mask][order], y[order], group=sizes[sizes > 0], sample_weight=weights[mask][order])
        return ranker
    model = lgb.LGBMClassifier(objective="binary", **LGB_PARAMS, **constraints)
    model.fit(ds.x[mask], y, sample_weight=weights[mask])
    return model


def weighted_count(flags: np.ndarray, flag_weights: tuple[float, ...] = ()) -> np.ndarray:
    """Each row's red flags ([n, features] 0/1) added up, each by its weight (none given: each counts 1)."""
    if flag_weights:
        return np.asarray(flags @ np.asarray(flag_weights), dtype=float)
    return np.asarray(flags.sum(axis=1), dtype=float)


@dataclass(frozen=True)
class Blend:
    """The served score: ``weight`` x standardised model raw score + (1 - weight) x standardised red-flag count.

    The count is weighted when ``flag_weights`` is set (one weight per feature column, from
    ``models.latent``), plain otherwise. Monotone in both; centres and scales come from the fitting set. Its
    additive decomposition over indicators (``contributions``) keeps every score explainable: the count's part
    is spread over the red flags, each by its weight."""

    weight: float
    raw_center: float
    raw_scale: float
    count_center: float
    count_scale: float
    flag_weights: tuple[float, ...] = ()  # per feature column; empty: every red flag counts 1

    def count(self, flags: np.ndarray) -> np.ndarray:
        """The (weighted) red-flag count of each row of ``flags`` ([n, features] 0/1)."""
        return weighted_count(flags, self.flag_weights)

    @staticmethod
    def fit(weight: float, raw: np.ndarray, flags: np.ndarray, flag_weights: tuple[float, ...] = ()) -> Blend:
        count = weighted_count(flags, flag_weights)
        return Blend(
            weight,
            float(np.mean(raw)),
            float(np.std(raw)) or 1.0,
            float(np.mean(count)),
            float(np.std(count)) or 1.0,
            flag_weights,
        )

    def score(self, raw: np.ndarray, flags: np.ndarray) -> np.ndarray:
        """The served score from the model's raw score and the [n, features] red-flag matrix."""
        w = self.weight
        count = self.count(flags)
        if w == 0.0:
            return np.asarray((count - self.count_center) / self.count_scale, dtype=float)
        return np.asarray(
            w * (raw - self.raw_center) / self.raw_scale + (1 - w) * (count - self.count_center) / self.count_scale,
            dtype=float,
        )

    def contributions(self, contrib: np.ndarray, flag_matrix: np.ndarray) -> np.ndarray:
        """[n, f + 1] contributions to ``score``: TreeSHAP contributions ``contrib`` (last column the base value)
        scaled, plus (1 - weight) x flag weight / count scale per red flag (``flag_matrix``: 0/1 per column)."""
        w = self.weight
        out = contrib * (w / self.raw_scale)
        per_flag = np.asarray(self.flag_weights) if self.flag_weights else 1.0
        out[:, :-1] += flag_matrix * per_flag * ((1 - w) / self.count_scale)
        out[:, -1] += -w * self.raw_center / self.raw_scale - (1 - w) * self.count_center / self.count_scale
        return out

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_dict(spec: dict[str, Any]) -> Blend:
        return Blend(**{**spec, "flag_weights": tuple(spec.get("flag_weights") or ())})


IDENTITY_BLEND = Blend(1.0, 0.0, 1.0, 0.0, 1.0)


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

    def as_dict(self) -> dict[str, list[float]]:
        return {"flags": list(self.flags), "rates": list(self.rates)}

    @staticmethod
    def from_dict(spec: dict[str, list[float]]) -> RuleCalibration:
        return RuleCalibration(tuple(spec["flags"]), tuple(spec["rates"]))


@dataclass
class TrainedModel:
    """What training as of a day produced for one type: a model (``booster``) or, when the evidence is too thin,
    none (``no_model_reason`` says why; the red-flag count serves)."""

    entity: EntityType
    strategy: str | None
    booster: Booster | None
    calibrator: Calibrator
    features: list[str]
    windows: TrainingWindows
    comparison: dict[str, dict[str, Any]]  # candidate (strategy, blend weight) -> fold metrics
    rule_calibration: RuleCalibration  # red-flag count -> observed label rate on the same fold
    fold: Dataset  # the time-held-out fold: strategy choice, calibration and the gate
    positives: dict[str, int]  # "train" (distinct fitted positives), "fold" (new positives on the fold)
    blend: Blend = IDENTITY_BLEND
    no_model_reason: str | None = None
    # the blend the fold judged, where the served one was refitted since: the weighted red flags are fitted
    # on the fold's entities for the gate, then again on every entity as of the training day to serve
    fold_blend: Blend | None = None
    # further held-out windows the served candidate was judged on besides the fold, each with the blend judged
    # there: only for the weighted red flags, which read no label, so labels before F are held out for them too
    evidence_windows: list[tuple[Dataset, Blend]] = field(default_factory=list)
    # every fitted strategy's trees and its blends (candidate key -> (strategy, blend)), kept so that evaluation
    # can report each candidate on later labels; the fold alone chose among them
    candidates: dict[str, tuple[str, Blend]] = field(default_factory=dict)
    candidate_boosters: dict[str, Booster] = field(default_factory=dict)
    # where trees won the fold: the weighted red flags as a model of their own, the second challenger the gate
    # may judge (on more held-out windows than the trees) when the trees do not clear the bar
    label_free: TrainedModel | None = None

    @property
    def fit_as_of(self) -> date:
        return self.windows.fit_origins[-1]

    @property
    def fold_as_of(self) -> date:
        return self.windows.fold_as_of

    @property
    def trained_as_of(self) -> date:
        return self.windows.trained_as_of

    @property
    def has_model(self) -> bool:
        """Whether training produced a model (trees, or the label-free weighted red flags)."""
        return self.no_model_reason is None and (self.booster is not None or self.strategy == LATENT_STRATEGY)

    def raw_score(self, x: np.ndarray) -> np.ndarray:
        """The trees' raw score; zeros for the weighted red flags (no trees: the blend's weight is 0)."""
        if not self.has_model:
            raise ValueError(f"no {self.entity} model: {self.no_model_reason}")
        if self.booster is None:
            return np.zeros(len(x))
        return np.asarray(self.booster.predict(x, raw_score=True), dtype=float)

    def served_score(self, x: np.ndarray, flags: np.ndarray) -> np.ndarray:
        """The score the ranking orders by (the model blended with the red-flag count; ``flags`` [n, features])."""
        return self.blend.score(self.raw_score(x), flags)

    def probability(self, x: np.ndarray, flags: np.ndarray) -> np.ndarray:
        return self.calibrator.predict(self.served_score(x, flags))

    def fold_score(self) -> np.ndarray:
        """The score the fold judged (the gate's evidence): the served score, or the weighted red flags as fitted
        on the fold's own entities."""
        return (self.fold_blend or self.blend).score(self.raw_score(self.fold.x), self.fold.flags)


def fold_metrics(scores: np.ndarray, fold: Dataset) -> dict[str, float]:
    """Truth-free metrics of a ranking on the fold: average precision and precision at the type's capacity."""
    k = capacity(len(fold.ids))
    return {
        "fold_average_precision": safe_ap(scores, fold.y),
        "fold_precision_at_k": precision_at(scores, fold.y, k, fold.keys),
    }


def _candidate_key(strategy: str, weight: float) -> str:
    return strategy if weight == 1.0 else f"{strategy}+count {weight:.2f}"


def latent_blend(flags: np.ndarray, x: np.ndarray) -> Blend:
    """The weighted red flags (``models.latent``) fitted on the entities of ``flags``, as a blend without trees;
    ``x``: the same entities' features (NaN: not measured, so the flag is missing rather than silent)."""
    return Blend.fit(0.0, np.zeros(len(flags)), flags, fit_latent_flag_weights(flags, ~np.isnan(x)).weights)


def _evidence_shortfall(train_positives: int, fold_positives: int, evidence: Evidence) -> tuple[str | None, str | None]:
    """(why there can be no model, why no trees can be fitted); None where the evidence suffices."""
    no_model = no_trees = None
    if fold_positives < evidence.min_fold_positives:
        no_model = (
            f"{fold_positives} new positives in the held-out fold, fewer than the "
            f"{evidence.min_fold_positives} needed to show a model ranks better than the red-flag count"
        )
    if train_positives < evidence.min_train_positives:
        no_trees = (
            f"{train_positives} observed positives in the training labels, fewer than the "
            f"{evidence.min_train_positives} a model needs"
        )
    return no_model, no_trees


@dataclass
class _FoldComparison:
    """Every candidate's fold metrics and blend, the trees fitted, and the best candidate so far."""

    fold: Dataset
    comparison: dict[str, dict[str, Any]] = field(default_factory=dict)
    candidates: dict[str, tuple[str, Blend]] = field(default_factory=dict)
    boosters: dict[str, Booster] = field(default_factory=dict)
    best: tuple[float, str, Booster | None, Blend] | None = None

    def consider(self, key: str, strategy: str, booster: Booster | None, blend: Blend, raw_fold: np.ndarray) -> None:
        metrics = fold_metrics(blend.score(raw_fold, self.fold.flags), self.fold)
        self.comparison[key] = metrics
        self.candidates[key] = (strategy, blend)
        ap = metrics["fold_average_precision"]
        if ap == ap and (self.best is None or ap > self.best[0]):
            self.best = (ap, key, booster, blend)

    def trees(self, fit: Dataset, fit_model: Callable[[Dataset, str], Booster]) -> None:
        """Each strategy's trees on ``fit``, blended with the count at every weight."""
        for strategy in STRATEGIES:
            try:
                trees = fit_model(fit, strategy)
            except ValueError as exc:
                self.comparison[strategy] = {"fold_average_precision": float("nan"), "error": str(exc)}
                continue
            self.boosters[strategy] = trees
            raw_fit = np.asarray(trees.predict(fit.x, raw_score=True), dtype=float)
            raw_fold = np.asarray(trees.predict(self.fold.x, raw_score=True), dtype=float)
            for weight in BLEND_WEIGHTS:
                blend = Blend.fit(weight, raw_fit, fit.flags)
                self.consider(_candidate_key(strategy, weight), strategy, trees, blend, raw_fold)


def train_entity(
    lake: Lake,
    entity: EntityType,
    as_of: date,
    horizon: int = HORIZON_DAYS,
    exclude: tuple[str, ...] = (),
    features_at: Callable[[date], FeatureTable] | None = None,
    fit_model: Callable[[Dataset, str], Booster] | None = None,
    evidence: Evidence = DEFAULT_EVIDENCE,
) -> TrainedModel:
    """Train for ``entity`` with only what was known on ``as_of`` (labels included); see the module docstring.

    ``features_at(day)`` supplies the feature table of ``entity`` as of a day (a cache shared by the entity
    types of one run); without it the features are built here. ``fit_model(dataset, strategy)`` fits the trees
    (default ``fit_booster``; ``models.distributed.DaskBoosterFit`` fits on a Dask cluster).

    Every candidate (strategy x blend weight, and the label-free weighted red flags) is scored on the fold; the
    one with the highest average precision on the fold's new positives is kept (ties: the earlier candidate).
    Below ``evidence``'s fold positives there is no model; below its training positives no trees are fitted and
    only the weighted red flags compete.
    """
    windows = training_windows(as_of, horizon)

    def table(day: date) -> FeatureTable:
        return features_at(day) if features_at else build_features(lake, day, (entity,))[entity]

    parts = [
        dataset(lake, entity, t, t + timedelta(days=horizon), table(t), exclude, known_by=as_of)
        for t in windows.fit_origins
    ]
    fit = pooled(parts)
    fold = dataset(
        lake, entity, windows.fold_as_of, as_of, table(windows.fold_as_of), exclude, known_by=as_of, drop_known=True
    )
    positives = {"train": len({i for i, y in zip(fit.ids, fit.y, strict=True) if y}), "fold": int(fold.y.sum())}
    rule = RuleCalibration.fit(fold.red_flags, fold.y)
    no_model, no_trees = _evidence_shortfall(positives["train"], positives["fold"], evidence)

    def without_model(why: str, compared: dict[str, dict[str, Any]]) -> TrainedModel:
        return TrainedModel(
            entity,
            None,
            None,
            Calibrator(),
            fit.features,
            windows,
            compared,
            rule,
            fold,
            positives,
            no_model_reason=why,
        )

    if no_model is not None:
        return without_model("; ".join(r for r in (no_model, no_trees) if r), {})
    compared = _FoldComparison(fold)
    if no_trees is None:
        compared.trees(fit, fit_model or fit_booster)
    else:
        compared.comparison["trees"] = {"fold_average_precision": float("nan"), "error": no_trees}
    # The weighted red flags read no label: fitted on the fold's own entities (as of F) and judged on the
    # fold's labels; what serves is the same fit on every entity as of the training day.
    no_raw = np.zeros(len(fold.ids))
    judged = latent_blend(fold.flags, fold.x)
    compared.consider(LATENT_STRATEGY, LATENT_STRATEGY, None, judged, no_raw)
    today = table(as_of)
    served_latent = latent_blend(red_flag_matrix(today, fit.features), feature_frame(today.table, fit.features))
    compared.candidates[LATENT_STRATEGY] = (LATENT_STRATEGY, served_latent)
    if compared.best is None:
        errors = "; ".join(str(m.get("error")) for m in compared.comparison.values())
        return without_model(f"no strategy could be fitted: {errors}", compared.comparison)
    _, key, booster, blend = compared.best

    def kept(key: str, booster: Booster | None, blend: Blend, judged_scores: np.ndarray, **more: Any) -> TrainedModel:
        """The candidate ``key`` as the trained model, calibrated on the fold scores it was judged by."""
        return TrainedModel(
            entity,
            key,
            booster,
            Calibrator().fit(judged_scores, fold.y),
            fit.features,
            windows,
            compared.comparison,
            rule,
            fold,
            positives,
            blend,
            candidates=compared.candidates,
            candidate_boosters=compared.boosters,
            **more,
        )

    def weighted_red_flags() -> TrainedModel:
        """The weighted red flags as the model: judged as fitted on each held-out window (the fold and, its labels
        held out too for a ranking that reads none, the window before it, (F - H, F]), served as refitted today."""
        before = windows.fit_origins[-1]
        earlier = dataset(
            lake, entity, before, windows.fold_as_of, table(before), exclude, known_by=as_of, drop_known=True
        )
        evidence = [(earlier, latent_blend(earlier.flags, earlier.x))] if earlier.ids else []
        judged_scores = judged.score(no_raw, fold.flags)
        return kept(LATENT_STRATEGY, None, served_latent, judged_scores, fold_blend=judged, evidence_windows=evidence)

    if booster is None:
        return weighted_red_flags()
    raw = np.asarray(booster.predict(fold.x, raw_score=True), dtype=float)
    return kept(key, booster, blend, blend.score(raw, fold.flags), label_free=weighted_red_flags())
