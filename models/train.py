"""Point-in-time training: features as of several fitting origins with the labels that followed each, and a
later time-held-out fold that alone chooses the strategy, fits the calibration and feeds the gate.

Labels are positive-unlabelled and selection-biased (DESIGN principle 3): an entity without an outcome is
unlabelled, not clean, and outcomes exist mostly where someone inspected. Several ways of treating them are
compared on the fold (``STRATEGIES``), each also blended with the red-flag count (``BLEND_WEIGHTS``), and so is
a ranking that reads no label at all: the red flags weighted by a latent class model (``LATENT_STRATEGY``).

The windows (fitting origins, then the fold whose labels start where the fitted ones end) are
``models.datasets.training_windows``.
Nothing here reads the simulator's truth: the same lake always gives the same models.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import lightgbm as lgb
import numpy as np

from data_contracts.lake import Lake
from features.build import FeatureTable, build_features, red_flag_matrix
from features.registry import BY_ID, EntityType, indicator_of
from models.blend import IDENTITY_BLEND, Blend, Calibrator, RuleCalibration, latent_blend
from models.datasets import (
    HORIZON_DAYS,
    LOTTERY_TRIGGERS,
    Dataset,
    TrainingWindows,
    dataset,
    feature_frame,
    pooled,
    training_windows,
)
from models.metrics import capacity, safe_ap
from models.ranking import precision_at

MIN_TRAIN_POSITIVES = 20  # distinct entities with a fitted label; fewer: no model, the red-flag count serves
MIN_FOLD_POSITIVES = 5  # new positives on the fold; fewer: nothing can be shown, the red-flag count serves
# How LightGBM keeps every tree monotone in each indicator's declared direction: "basic" bounds each leaf by its
# siblings, so predictions are monotone by construction; the looser "advanced" method let a fitted employer model
# fall as a constrained feature rose.
MONOTONE_METHOD = "basic"
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


@dataclass(frozen=True)
class Evidence:
    """The minimum observed positives a type needs before a model may serve it."""

    min_train_positives: int = MIN_TRAIN_POSITIVES
    min_fold_positives: int = MIN_FOLD_POSITIVES

    def __post_init__(self) -> None:
        if self.min_train_positives < 1 or self.min_fold_positives < 1:
            raise ValueError("minimum positives must be at least 1")


DEFAULT_EVIDENCE = Evidence()


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


MAX_QUERY_ROWS = 10_000  # LightGBM's limit on the rows of one ranking query


def query_sizes(origin_rows: np.ndarray) -> np.ndarray:
    """The ranking queries of consecutive rows: each fitting origin's rows (``origin_rows``, in order; empty
    origins left out) as one query, split into as few nearly equal consecutive queries as LightGBM's limit
    (``MAX_QUERY_ROWS``) allows."""
    sizes: list[int] = []
    for rows in (int(r) for r in origin_rows if r > 0):
        parts = -(-rows // MAX_QUERY_ROWS)
        sizes += [rows // parts + 1] * (rows % parts) + [rows // parts] * (parts - rows % parts)
    return np.array(sizes, dtype=np.int64)


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
        "monotone_constraints_method": MONOTONE_METHOD,
    }
    if strategy == "rank_xendcg":
        groups = ds.group[mask] if ds.group is not None else np.zeros(int(mask.sum()), dtype=int)
        order = np.argsort(groups, kind="stable")
        sizes = query_sizes(np.bincount(groups[order]))
        ranker = lgb.LGBMRanker(objective="rank_xendcg", **LGB_PARAMS, **constraints)
        ranker.fit(ds.x[mask][order], y[order], group=sizes, sample_weight=weights[mask][order])
        return ranker
    model = lgb.LGBMClassifier(objective="binary", **LGB_PARAMS, **constraints)
    model.fit(ds.x[mask], y, sample_weight=weights[mask])
    return model


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
    # where trees won the fold: the weighted red flags as a model of their own, which the gate judges first (on
    # more held-out windows than the trees); the trees serve only if they beat them clearly on the fold
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


def _evidence_shortfall(train_positives: int, fold_positives: int, evidence: Evidence) -> tuple[str | None, str | None]:
    """(why there can be no model, why no trees can be fitted); None where the evidence suffices."""
    no_model = no_trees = None
    if fold_positives < evidence.min_fold_positives:
        no_model = (
            f"{fold_positives} new positive{'' if fold_positives == 1 else 's'} in the held-out fold, fewer than the "
            f"{evidence.min_fold_positives} needed to show a model ranks better than the red-flag count"
        )
    if train_positives < evidence.min_train_positives:
        no_trees = (
            f"{train_positives} observed positive{'' if train_positives == 1 else 's'} in the training labels, "
            f"fewer than the {evidence.min_train_positives} a model needs"
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


@dataclass
class _Training:
    """One type's training as of a day: its windows, fitting set and fold, and the candidates compared on it."""

    lake: Lake
    entity: EntityType
    windows: TrainingWindows
    table: Callable[[date], FeatureTable]
    exclude: tuple[str, ...]
    fit: Dataset
    fold: Dataset
    positives: dict[str, int]
    rule: RuleCalibration
    compared: _FoldComparison | None = None

    def without_model(self, why: str) -> TrainedModel:
        comparison = self.compared.comparison if self.compared is not None else {}
        return TrainedModel(
            self.entity,
            None,
            None,
            Calibrator(),
            self.fit.features,
            self.windows,
            comparison,
            self.rule,
            self.fold,
            self.positives,
            no_model_reason=why,
        )

    def kept(
        self, key: str, booster: Booster | None, blend: Blend, judged_scores: np.ndarray, **more: Any
    ) -> TrainedModel:
        """The candidate ``key`` as the trained model, calibrated on the fold scores it was judged by."""
        assert self.compared is not None
        return TrainedModel(
            self.entity,
            key,
            booster,
            Calibrator().fit(judged_scores, self.fold.y),
            self.fit.features,
            self.windows,
            self.compared.comparison,
            self.rule,
            self.fold,
            self.positives,
            blend,
            candidates=self.compared.candidates,
            candidate_boosters=self.compared.boosters,
            **more,
        )

    def weighted_red_flags(self, judged: Blend, served: Blend) -> TrainedModel:
        """The weighted red flags as the model: judged as fitted on each held-out window (the fold and, its labels
        held out too for a ranking that reads none, the window before it, (F - H, F]), served as refitted today."""
        before, fold = self.windows.fit_origins[-1], self.fold
        earlier = dataset(
            self.lake,
            self.entity,
            before,
            self.windows.fold_as_of,
            self.table(before),
            self.exclude,
            known_by=self.windows.trained_as_of,
            drop_known=True,
        )
        evidence = [(earlier, latent_blend(earlier.flags, earlier.x))] if earlier.ids else []
        judged_scores = judged.score(np.zeros(len(fold.ids)), fold.flags)
        return self.kept(LATENT_STRATEGY, None, served, judged_scores, fold_blend=judged, evidence_windows=evidence)


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
    run = _Training(
        lake, entity, windows, table, exclude, fit, fold, positives, RuleCalibration.fit(fold.red_flags, fold.y)
    )
    no_model, no_trees = _evidence_shortfall(positives["train"], positives["fold"], evidence)
    if no_model is not None:
        return run.without_model("; ".join(r for r in (no_model, no_trees) if r))
    compared = run.compared = _FoldComparison(fold)
    if no_trees is None:
        compared.trees(fit, fit_model or fit_booster)
    else:
        compared.comparison["trees"] = {"fold_average_precision": float("nan"), "error": no_trees}
    # The weighted red flags read no label: fitted on the fold's own entities (as of F) and judged on the
    # fold's labels; what serves is the same fit on every entity as of the training day.
    judged = latent_blend(fold.flags, fold.x)
    compared.consider(LATENT_STRATEGY, LATENT_STRATEGY, None, judged, np.zeros(len(fold.ids)))
    today = table(as_of)
    served_latent = latent_blend(red_flag_matrix(today, fit.features), feature_frame(today.table, fit.features))
    compared.candidates[LATENT_STRATEGY] = (LATENT_STRATEGY, served_latent)
    if compared.best is None:
        errors = "; ".join(str(m.get("error")) for m in compared.comparison.values())
        return run.without_model(f"no strategy could be fitted: {errors}")
    _, key, booster, blend = compared.best
    if booster is None:
        return run.weighted_red_flags(judged, served_latent)
    raw = np.asarray(booster.predict(fold.x, raw_score=True), dtype=float)
    label_free = run.weighted_red_flags(judged, served_latent)
    return run.kept(key, booster, blend, blend.score(raw, fold.flags), label_free=label_free)
