"""Train, score and backtest on the US DOL H-2A / H-2B records, point in time.

``score_as_of(data, as_of, entity)`` uses only what was knowable before ``as_of``: filings decided before it,
outcomes (debarments) starting before it. The model is fitted on stacked yearly origins t (features from
filings before t, labels = new debarments starting in [t, min(t + 2 years, as_of, end of label coverage)),
entities debarred before t left out, at least one year of labels after t), once per candidate setting of
MODEL_CANDIDATES. What is served is chosen without any label on or after ``as_of``: the same procedure is run
a year earlier (features as of the fold's day, training labels ending there, the fold's labels = new
debarments from then to ``as_of``, or to the end of the lists' coverage for a later day: ``fold_window``); the
candidate with the higher average precision on the fold is the model, and it is served only if on that fold it
beats the red-flag count as served (ties broken by the rule: labour contractors first, then workers certified)
at precision@GATE_K in at least GATE_SHARE of paired bootstrap resamples and on average precision; otherwise
the count serves, and the run says why.
``backtest`` judges the served ranking, the model, the rule, the red-flag count and random on the new
debarments that started after ``as_of`` (entities debarred before it are left out and counted apart).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

import lightgbm as lgb
import numpy as np
import pandas as pd

from data_contracts.sources.country_tables import CountryContext
from data_contracts.sources.us_dol import LABELS_COVER_UNTIL, DolData
from features.names import name_key, sponsor_id
from features.us_dol import (
    DolEntity,
    Resolution,
    agent_features,
    before,
    employer_features,
    flags_of,
    foreign_recruiter_features,
    indicators,
    linked_outcomes,
    reason_detail,
    red_flags,
    resolve,
    rule_score,
)
from models.gate import SERVED_COUNT
from models.metrics import (
    BOOTSTRAP_LEVEL,
    bootstrap_rankings,
    lift_at_k,
    percentile_interval,
    precision_at_k,
    safe_ap,
    safe_auc,
)
from models.report import md_ci, us_dol_ks
from models.scoring import RULE_BASELINE

HORIZON_DAYS = 730
MIN_LABEL_DAYS = 365
FIRST_ORIGIN = date(2010, 1, 1)  # the debarment lists start in 2010
LABEL_KINDS = ("debarment",)  # the back-wage list has no dates within 2010-2014: reported, never a label
PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.03,
    "n_estimators": 200,
    "num_leaves": 7,
    "max_depth": 3,
    "min_child_samples": 20,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.8,
    "reg_lambda": 5.0,
    "verbose": -1,
    "n_jobs": 2,
    "deterministic": True,
    "seed": 17,
}
# The model's candidate settings; at each scoring day the one with the highest average precision on the fold
# before it (ties: the first) is the model, then gated against the red-flag count on that fold.
MODEL_CANDIDATES: dict[str, dict[str, Any]] = {
    "standard": PARAMS,
    "regularised": {
        **PARAMS,
        "n_estimators": 100,
        "num_leaves": 3,
        "max_depth": 2,
        "min_child_samples": 200,
        "reg_lambda": 20.0,
    },
}
TOP_REASONS = 3
# The gate: a fold of FOLD_YEARS before the scoring day; the model serves only if its precision@GATE_K beats the
# red-flag count's in at least GATE_SHARE of GATE_SAMPLES paired resamples of the fold, and its average
# precision is higher, on a fold with at least MIN_FOLD_POSITIVES new debarments.
FOLD_YEARS = 1
GATE_K = 100
GATE_SHARE = 0.8
GATE_SAMPLES = 1000
MIN_FOLD_POSITIVES = 5
BOOTSTRAP_SAMPLES = 1000
BOOTSTRAP_SEED = 7
GAIN_POINTS = 50


Served = Literal["model", "red_flag_count"]


@dataclass
class Gate:
    """Which ranking serves as of a day, decided on a fold before it (no label on or after the day is read)."""

    served: Served
    reason: str
    candidate: str = next(iter(MODEL_CANDIDATES))  # the model's settings, chosen on the fold
    candidate_ap: dict[str, float] = field(default_factory=dict)  # each candidate's average precision on the fold
    fold_as_of: date | None = None  # the fold's features are as of this day; its labels run to the scoring day
    fold_labels: tuple[date, date] | None = None  # [from, to): new debarments in it are the fold's positives
    fold_entities: int = 0
    fold_positives: int = 0
    model: dict[str, float] = field(default_factory=dict)  # on the fold: average_precision, precision_at_k
    red_flag_count: dict[str, float] = field(default_factory=dict)
    model_higher_share: dict[str, float] = field(default_factory=dict)  # share of resamples, per metric

    def as_dict(self) -> dict[str, Any]:
        return {
            "served": self.served,
            "reason": self.reason,
            "candidate": self.candidate,
            "candidate_ap": self.candidate_ap,
            "fold_as_of": self.fold_as_of.isoformat() if self.fold_as_of else None,
            "fold_labels": [d.isoformat() for d in self.fold_labels] if self.fold_labels else None,
            "fold_entities": self.fold_entities,
            "fold_positives": self.fold_positives,
            "model": self.model,
            "red_flag_count": self.red_flag_count,
            "model_higher_share": self.model_higher_share,
        }


@dataclass
class ScoreRun:
    entity: DolEntity
    as_of: date
    # index entity id: employer_name, employer_state, score (the served ranking's), rank, reasons, red_flags,
    # rule, model_score (NaN without a model), count_score (the red-flag count with the rule's tie-break)
    scores: pd.DataFrame
    features: pd.DataFrame
    resolution: Resolution
    origins: list[tuple[date, date, int, int]] = field(default_factory=list)  # origin, label end, rows, positives
    gate: Gate = field(default_factory=lambda: Gate("red_flag_count", "not gated"))


def _label_entities(linked: pd.DataFrame, filings: pd.DataFrame, entity: DolEntity, start: date, end: date) -> set[str]:
    """Entities with a labelling outcome starting in [start, end): for agents, also their debarred clients."""
    window = linked[
        linked["kind"].isin(LABEL_KINDS)
        & (linked["decided_on"] >= pd.Timestamp(start))
        & (linked["decided_on"] < pd.Timestamp(end))
    ]
    own = set(window.loc[window["entity_type"] == entity, "entity_id"])
    if entity == "employer":
        return own
    employers = set(window.loc[window["entity_type"] == "employer", "entity_id"])
    pairs = filings.dropna(subset=["agent_id"])
    return own | set(pairs.loc[pairs["employer_id"].isin(employers), "agent_id"])


def known_positives(linked: pd.DataFrame, filings: pd.DataFrame, entity: DolEntity, t: date) -> set[str]:
    """Entities already positive before ``t`` (debarred, or for an agent a client debarred): never new."""
    return _label_entities(linked, filings[filings["decided_on"] < pd.Timestamp(t)], entity, date.min, t)


def _debarred_before(linked: pd.DataFrame, as_of: date) -> set[str]:
    rows = linked[linked["kind"].isin(LABEL_KINDS) & (linked["decided_on"] < pd.Timestamp(as_of))]
    return set(rows.loc[rows["entity_type"] == "employer", "entity_id"])


def features_as_of(
    data: DolData, filings: pd.DataFrame, linked: pd.DataFrame, entity: DolEntity, t: date
) -> pd.DataFrame:
    """Features of every entity with a filing before ``t`` (``filings`` already cut at the scoring date)."""
    cut = filings[filings["decided_on"] < pd.Timestamp(t)]
    debarred = _debarred_before(linked, t)
    if entity == "employer":
        return employer_features(cut, debarred, data.flc_register, t)
    return agent_features(cut, debarred, t)


def origins_for(as_of: date) -> list[tuple[date, date]]:
    """Yearly training origins and the end of their label windows (all before ``as_of``)."""
    cover_end = min(as_of, date(LABELS_COVER_UNTIL.year + 1, 1, 1))
    out = []
    for year in range(FIRST_ORIGIN.year, as_of.year):
        t = date(year, 1, 1)
        end = min(date(year + HORIZON_DAYS // 365, 1, 1), cover_end)
        if (end - t).days >= MIN_LABEL_DAYS:
            out.append((t, end))
    return out


def feature_columns(entity: DolEntity) -> list[str]:
    """The model's inputs: every indicator of the entity, then the red-flag count."""
    return [*(i.id for i in indicators(entity)), "red_flag_count"]


def _matrix(features: pd.DataFrame, entity: DolEntity) -> np.ndarray:
    frame = features.assign(red_flag_count=red_flags(features, entity))
    return np.asarray(frame[feature_columns(entity)].to_numpy(dtype=float), dtype=float)


@dataclass
class Fitted:
    """The model fitted on what was knowable before ``as_of``, with the current features it scored."""

    features: pd.DataFrame
    linked: pd.DataFrame  # outcomes before as_of, linked to filers
    filings: pd.DataFrame
    resolution: Resolution
    origins: list[tuple[date, date, int, int]]
    scores: dict[str, np.ndarray]  # per candidate; empty: no origin with both classes
    contribs: dict[str, np.ndarray]  # per candidate: per-feature contributions (columns of feature_columns)


def fit_as_of(
    data: DolData, as_of: date, entity: DolEntity, candidates: tuple[str, ...] = tuple(MODEL_CANDIDATES)
) -> Fitted:
    """Fit each candidate of MODEL_CANDIDATES on the origins before ``as_of`` (new debarments only) and score
    every entity with a filing before it."""
    filings = before(data.filings, as_of)
    outcomes = data.outcomes[data.outcomes["decided_on"] < pd.Timestamp(as_of)]
    resolution = resolve(filings, outcomes, data.flc_register)
    linked = linked_outcomes(outcomes, resolution)
    xs, ys, origins = [], [], []
    for t, end in origins_for(as_of):
        feats = features_as_of(data, filings, linked, entity, t)
        cut = filings[filings["decided_on"] < pd.Timestamp(t)]
        feats = feats[~feats.index.isin(list(known_positives(linked, cut, entity, t)))]
        positives = _label_entities(linked, cut, entity, t, end)
        y = feats.index.isin(list(positives)).astype(int)
        xs.append(_matrix(feats, entity))
        ys.append(y)
        origins.append((t, end, len(y), int(y.sum())))
    current = features_as_of(data, filings, linked, entity, as_of)
    y_all = np.concatenate(ys) if ys else np.zeros(0, dtype=int)
    scores: dict[str, np.ndarray] = {}
    contribs: dict[str, np.ndarray] = {}
    if len(y_all) and 0 < y_all.sum() < len(y_all):
        directions = [i.direction for i in indicators(entity)] + [+1]
        x_now = _matrix(current, entity)
        for name in candidates:
            model = lgb.LGBMClassifier(**MODEL_CANDIDATES[name], monotone_constraints=directions)
            model.fit(np.vstack(xs), y_all)
            scores[name] = np.asarray(model.predict_proba(x_now), dtype=float)[:, 1]
            contribs[name] = np.asarray(model.booster_.predict(x_now, pred_contrib=True), dtype=float)[:, :-1]
    return Fitted(current, linked, filings, resolution, origins, scores, contribs)


def count_score(features: pd.DataFrame, entity: DolEntity) -> np.ndarray:
    """The red-flag count as served: the count, ties broken by the rule (its percentile, below 0.5 so that
    it never crosses a whole flag)."""
    flags = red_flags(features, entity).to_numpy(dtype=float)
    tie_break = rule_score(features, entity).rank(pct=True).to_numpy(dtype=float)
    return np.asarray(flags + tie_break * 0.5, dtype=float)


def gate_decision(
    model: np.ndarray | None,
    count: np.ndarray,
    labels: np.ndarray,
    k: int = GATE_K,
    share: float = GATE_SHARE,
    min_positives: int = MIN_FOLD_POSITIVES,
    samples: int = GATE_SAMPLES,
) -> Gate:
    """The gate on one fold: the model serves only if, on ``samples`` paired resamples of the fold's entities,
    its precision@k is above the red-flag count's in at least ``share`` of them and its average precision on
    the fold is above the count's; a fold with fewer than ``min_positives`` positives, or no model, serves the
    count. Returns a Gate without the fold's dates (the caller's)."""
    positives = int(labels.sum())
    if model is None:
        return Gate("red_flag_count", "no model: no debarment before the fold to train on", fold_positives=positives)
    if positives < min_positives:
        return Gate(
            "red_flag_count",
            f"the fold has {positives} new debarments, fewer than {min_positives}: too few to tell",
            fold_positives=positives,
        )
    draws = bootstrap_rankings(
        {"model": model, "red_flag_count": count}, labels, (k,), samples=samples, seed=BOOTSTRAP_SEED, random_name=None
    )
    at_k = f"precision_at_{k}"
    point = {
        name: {"average_precision": safe_ap(s, labels), at_k: precision_at_k(s, labels, k, np.random.default_rng(11))}
        for name, s in (("model", model), ("red_flag_count", count))
    }
    higher = {
        key: float(np.mean(draws["model"][key] > draws["red_flag_count"][key])) for key in ("average_precision", at_k)
    }
    wins_k = higher[at_k] >= share
    wins_ap = point["model"]["average_precision"] > point["red_flag_count"]["average_precision"]
    summary = (
        f"on the fold the model's precision@{k} is above the count's in {higher[at_k]:.0%} of {samples} resamples "
        f"(needed {share:.0%}); average precision {point['model']['average_precision']:.4f} against "
        f"{point['red_flag_count']['average_precision']:.4f}"
    )
    served: Served = "model" if wins_k and wins_ap else "red_flag_count"
    return Gate(
        served,
        summary,
        fold_positives=positives,
        model=point["model"],
        red_flag_count=point["red_flag_count"],
        model_higher_share=higher,
    )


def fold_start(as_of: date, years: int = FOLD_YEARS) -> date:
    """The fold's day: ``years`` before ``as_of`` on the calendar (29 February: the 28th)."""
    day = min(as_of.day, 28) if as_of.month == 2 else as_of.day
    return date(as_of.year - years, as_of.month, day)


def fold_window(as_of: date) -> tuple[date, date]:
    """The fold's label window [from, to): the year before ``as_of``, or before the end of the debarment lists'
    coverage when ``as_of`` is later (a later day is gated on the last year with labels)."""
    end = min(as_of, LABELS_COVER_UNTIL + timedelta(days=1))
    return fold_start(end), end


def fold_gate(data: DolData, as_of: date, entity: DolEntity) -> Gate:
    """Runs the whole procedure as of the fold's day and gates on the new debarments of the fold
    (``fold_window``): every label read ends before ``as_of``."""
    fold_day, fold_end = fold_window(as_of)
    fitted = fit_as_of(data, fold_day, entity)
    known = known_positives(fitted.linked, fitted.filings, entity, fold_day)
    feats = fitted.features[~fitted.features.index.isin(list(known))]
    window = data.outcomes[
        (data.outcomes["decided_on"] >= pd.Timestamp(fold_day)) & (data.outcomes["decided_on"] < pd.Timestamp(fold_end))
    ]
    linked = linked_outcomes(window, resolve(fitted.filings, window, data.flc_register))
    labels = feats.index.isin(list(_label_entities(linked, fitted.filings, entity, fold_day, fold_end))).astype(int)
    keep = fitted.features.index.isin(list(feats.index))
    candidate_ap = {name: safe_ap(score[keep], labels) for name, score in fitted.scores.items()}
    finite = {name: ap for name, ap in candidate_ap.items() if np.isfinite(ap)}
    candidate = max(finite, key=lambda name: finite[name]) if finite else next(iter(MODEL_CANDIDATES))
    model = fitted.scores[candidate][keep] if candidate in fitted.scores else None
    gate = gate_decision(model, count_score(feats, entity), labels)
    gate.fold_as_of, gate.fold_labels, gate.fold_entities = fold_day, (fold_day, fold_end), len(labels)
    gate.candidate, gate.candidate_ap = candidate, candidate_ap
    if model is not None:
        gate.reason = f"model settings '{candidate}' (highest average precision on the fold); {gate.reason}"
    return gate


def score_as_of(data: DolData, as_of: date, entity: DolEntity = "employer") -> ScoreRun:
    """Train on what was knowable before ``as_of``, gate on the fold before it and score every entity with a
    filing before it with the served ranking."""
    gate = fold_gate(data, as_of, entity)
    fitted = fit_as_of(data, as_of, entity, (gate.candidate,))
    current = fitted.features
    model_score, model_contrib = fitted.scores.get(gate.candidate), fitted.contribs.get(gate.candidate)
    if model_score is None and gate.served == "model":
        gate = Gate("red_flag_count", "no model as of the day: no debarment to train on", gate.candidate)
    inds = indicators(entity)
    flags = red_flags(current, entity)
    rule = rule_score(current, entity)
    counted = count_score(current, entity)
    if gate.served == "model" and model_score is not None and model_contrib is not None:
        score, contrib = model_score, model_contrib[:, : len(inds)]
    else:  # the red-flag count serves: reasons = the flags
        score = counted
        flagged = flags_of(current, entity)
        contrib = np.column_stack(
            [flagged[i.id].to_numpy(dtype=float) if i.id in flagged else np.zeros(len(current)) for i in inds]
        )
    reasons = []
    for r, row in enumerate(current.itertuples(index=False)):
        series = pd.Series(row._asdict())
        # Controls (direction 0: size, activity) shape the score but are never given as a reason.
        ranked = [j for j in np.argsort(-contrib[r], kind="stable") if contrib[r, j] > 0 and inds[j].direction != 0]
        top = ranked[:TOP_REASONS] if gate.served == "model" else ranked  # the count: every flag counted
        reasons.append("; ".join(f"{inds[j].title}: {reason_detail(inds[j], series)}" for j in top))
    scores = pd.DataFrame(
        {
            "employer_name": current["employer_name"],
            "employer_state": current["employer_state"],
            "score": score,
            "reasons": reasons,
            "red_flags": flags,
            "rule": rule,
            "model_score": model_score if model_score is not None else np.full(len(current), np.nan),
            "count_score": counted,
        },
        index=current.index,
    )
    order = np.lexsort((scores.index.to_numpy(dtype=str), -scores["score"].to_numpy()))
    scores = scores.iloc[order]
    scores.insert(3, "rank", np.arange(1, len(scores) + 1))
    return ScoreRun(entity, as_of, scores, current, fitted.resolution, fitted.origins, gate)


@dataclass
class RecruiterList:
    """Foreign recruiter organisations named on H-2B applications known before ``as_of``, ranked by the
    red-flag count (no model: no debarment list overlaps FY2020-2022), with country context beside each."""

    as_of: date
    recruiters: pd.DataFrame  # index recruiter_id: recruiter_name, country, red_flags, rank, reasons, context, ...
    countries: pd.DataFrame  # per country of registration: organisations, applications, context figures


RECRUITER_COLUMNS = ("recruiter_name", "country", "red_flags", "rank", "reasons", "context")
RECRUITER_FIGURES = (*(i.id for i in indicators("foreign_recruiter")), "us_agent", "flc_registered")


def foreign_recruiters_as_of(data: DolData, as_of: date, countries: CountryContext | None = None) -> RecruiterList:
    """Every foreign recruiter organisation of Appendix C known before ``as_of`` with its indicators, its red
    flags (indicators past their threshold, the reasons) and, apart from them, its country's context figures
    public before ``as_of`` (never part of the ranking)."""
    filings = before(data.filings, as_of)
    outcomes = data.outcomes[data.outcomes["decided_on"] < pd.Timestamp(as_of)]
    linked = linked_outcomes(outcomes, resolve(filings, outcomes, data.flc_register))
    return foreign_recruiters(
        data.recruiters_appendix_c, filings, _debarred_before(linked, as_of), data.flc_register, as_of, countries
    )


def appendix_c_rows(petition_recruiters: list[dict[str, Any]]) -> pd.DataFrame:
    """The lake's petition_recruiter records as Appendix C rows (foreign_recruiter_features): the organisation,
    its country (upper case) and region, the case, when it became known, and ``staff_key``: the named recruiter's
    pseudonymised name parts, in any order (never the name)."""
    rows = [r for r in petition_recruiters if r.get("programme") == "H-2B"]

    def staff(r: dict[str, Any]) -> str | None:
        parts = sorted(p for p in (r.get("staff_last_name"), r.get("staff_first_name")) if p)
        return " ".join(parts) or None

    def region(value: str | None) -> str | None:
        return None if value is None or value.strip().lower() in ("n/a", "na", "none", "") else value

    return pd.DataFrame(
        {
            "application_id": [r["application_id"] for r in rows],
            "name": pd.Series([r.get("recruiter_name") for r in rows], dtype=object),
            "country": [(r.get("recruiter_country") or "").upper() or None for r in rows],
            "region": [region(r.get("recruiter_region")) for r in rows],
            "staff_key": pd.Series([staff(r) for r in rows], dtype=object),
            "known_on": pd.to_datetime([r["known_on"] for r in rows]),
        }
    )


def agent_client_pairs(certifications: list[dict[str, Any]], as_of: date) -> pd.DataFrame:
    """(agent_id, employer_id) of the petitions known before ``as_of``: the agent as the name key of its law firm,
    else of the agent (the name an Appendix C organisation is matched on), the employer as its sponsor id."""
    pairs = {
        (name_key(r.get("law_firm_name") or r.get("agent_name") or ""), sponsor_id(r.get("sponsor_name") or ""))
        for r in certifications
        if r["known_on"] < as_of
    }
    kept = sorted((a, e) for a, e in pairs if a and e)
    return pd.DataFrame(kept, columns=["agent_id", "employer_id"])


def contractor_register(register: list[dict[str, Any]]) -> pd.DataFrame:
    """The lake's labour contractor certificates (recruiter records) with the day each licence starts."""
    rows = [r for r in register if r.get("agency_type") == "labour_contractor"]
    return pd.DataFrame(
        {
            "name": [r.get("name") for r in rows],
            "licence_valid_from": pd.to_datetime([r.get("licence_valid_from") for r in rows]),
        }
    )


def foreign_recruiters(
    appendix: pd.DataFrame,
    filings: pd.DataFrame,
    debarred_before: set[str],
    register: pd.DataFrame | None,
    as_of: date,
    countries: CountryContext | None = None,
) -> RecruiterList:
    """The foreign recruiter listing of ``foreign_recruiters_as_of`` from its inputs: Appendix C rows, the
    (agent_id, employer_id) pairs of the filings before ``as_of``, the employers debarred before it, the
    labour contractor register."""
    feats = foreign_recruiter_features(appendix, filings, debarred_before, register, as_of)
    inds = indicators("foreign_recruiter")
    flags = red_flags(feats, "foreign_recruiter")
    reasons = [
        "; ".join(
            f"{i.title}: {reason_detail(i, row)}"
            for i in inds
            if i.threshold is not None and pd.notna(row[i.id]) and row[i.id] > i.threshold
        )
        for _, row in feats.iterrows()
    ]
    out = feats.rename(columns={"employer_name": "recruiter_name", "employer_state": "region"})
    out["red_flags"] = flags
    out["reasons"] = reasons
    context = countries.for_names(out["country"].fillna(""), as_of) if countries is not None else None
    out["context"] = context["context"] if context is not None else ""
    order = np.lexsort((out.index.to_numpy(dtype=str), -out["cases"].to_numpy(), -out["red_flags"].to_numpy()))
    out = out.iloc[order]
    out["rank"] = np.arange(1, len(out) + 1)
    by_country = out.groupby(out["country"].fillna("unknown"))
    summary = pd.DataFrame({"organisations": by_country.size(), "applications": by_country["cases"].sum()})
    summary = summary.sort_values(["applications", "organisations"], ascending=False)
    if countries is not None:
        summary = summary.join(countries.for_names(summary.index.to_series(), as_of))
    return RecruiterList(as_of, out, summary)


def write_csv(run: ScoreRun, path: Any) -> None:
    """The served ranking: employer_name, employer_state, score, rank, reasons, served (model or
    red_flag_count: which ranking the score is)."""
    out = run.scores[["employer_name", "employer_state", "score", "rank", "reasons"]].assign(served=run.gate.served)
    out.to_csv(path, index=False, float_format="%.6f")


# ------------------------------------------------------------------------------------------- backtest
def expected_precision_at_k(scores: np.ndarray, labels: np.ndarray, k: int) -> float:
    """Precision among the ``k`` highest scores, in expectation over every order of the tied scores (exact):
    the scores above the k-th count whole, the tie group at the k-th shares its remaining places."""
    if not len(scores):
        return float("nan")
    k = min(k, len(scores))
    kth = np.sort(scores)[::-1][k - 1]
    above, tied = scores > kth, scores == kth
    places = k - int(above.sum())
    hits = labels[above].sum() + places * labels[tied].sum() / tied.sum()
    return float(hits / k)


def _metrics(score: np.ndarray, labels: np.ndarray, ks: tuple[int, ...], seed: int = 11) -> dict[str, float]:
    out: dict[str, float] = {"average_precision": safe_ap(score, labels), "roc_auc": safe_auc(score, labels)}
    for k in ks:
        out[f"precision_at_{k}"] = precision_at_k(score, labels, k, np.random.default_rng(seed))
        out[f"precision_at_{k}_expected"] = expected_precision_at_k(score, labels, k)
        out[f"lift_at_{k}"] = lift_at_k(score, labels, k, np.random.default_rng(seed))
    return out


def with_intervals(
    rankings: dict[str, np.ndarray],
    labels: np.ndarray,
    metrics: dict[str, dict[str, Any]],
    ks: tuple[int, ...],
    samples: int = BOOTSTRAP_SAMPLES,
    seed: int = BOOTSTRAP_SEED,
    challengers: tuple[str, ...] = ("model",),
) -> dict[str, Any]:
    """Adds ``<metric>_ci95`` (percentile interval over ``samples`` resamples of the entities) to each ranking's
    ``metrics``, random included, and returns the paired comparisons of each challenger with every other
    ranking (``<challenger>_vs_<other>``; ``model_higher_share`` is the challenger's share)."""
    draws = bootstrap_rankings(rankings, labels, ks, samples=samples, seed=seed)
    for name, per_metric in draws.items():
        for key, values in per_metric.items():
            metrics[name][f"{key}_ci95"] = percentile_interval(values)
    paired: dict[str, Any] = {}
    for challenger in challengers:
        for other in (name for name in rankings if name not in challengers):
            paired[f"{challenger}_vs_{other}"] = {
                key: {
                    "model_higher_share": float(np.mean(values > draws[other][key])),
                    "model_lower_share": float(np.mean(values < draws[other][key])),
                    "difference_ci95": percentile_interval(values - draws[other][key]),
                }
                for key, values in draws[challenger].items()
            }
    return paired


def gain_curve(score: np.ndarray, labels: np.ndarray, points: int = GAIN_POINTS) -> list[tuple[float, float]]:
    """Share of positives found against the share of entities reviewed, highest scores first."""
    if not len(labels) or not labels.sum():
        return []
    found = np.cumsum(labels[np.argsort(-score, kind="stable")]) / labels.sum()
    at = np.unique(np.linspace(0, len(labels), points + 1).astype(int))
    return [(float(i / len(labels)), float(found[i - 1]) if i else 0.0) for i in at]


def backtest(
    data: DolData,
    as_of: date,
    label_end: date = LABELS_COVER_UNTIL,
    entity: DolEntity = "employer",
    ks: tuple[int, ...] = (50, 100),
    random_draws: int = 200,
    bootstrap_samples: int = BOOTSTRAP_SAMPLES,
) -> dict[str, Any]:
    """Score as of ``as_of`` and judge on the new debarments starting in [as_of, label_end] (linked to a filer
    before it; entities debarred before ``as_of`` are left out of the judged population and counted apart).

    ``served`` is the ranking ``score_as_of`` serves (model or red-flag count, chosen by the gate on the fold
    before ``as_of``); the model is reported whether served or not. Every figure carries a 95% percentile
    interval from ``bootstrap_samples`` resamples of the judged entities (the same resamples for every
    ranking; random draws a fresh ranking in each), and ``paired`` says in what share of the resamples the
    model and the served ranking beat each other ranking. Random's point figures: the mean of
    ``random_draws`` random rankings.
    """
    run = score_as_of(data, as_of, entity)
    filings = before(data.filings, as_of)
    later = data.outcomes[
        (data.outcomes["decided_on"] >= pd.Timestamp(as_of)) & (data.outcomes["decided_on"] <= pd.Timestamp(label_end))
    ]
    later_res = resolve(filings, later, data.flc_register)
    linked = linked_outcomes(later, later_res)
    positives = _label_entities(linked, filings, entity, as_of, label_end + pd.Timedelta(days=1))
    earlier = data.outcomes[data.outcomes["decided_on"] < pd.Timestamp(as_of)]
    known = known_positives(linked_outcomes(earlier, run.resolution), filings, entity, as_of)
    scores = run.scores[~run.scores.index.isin(list(known))]
    labels = scores.index.isin(list(positives)).astype(int)
    model = scores["model_score"].to_numpy(dtype=float)
    rankings = {
        "served": scores["score"].to_numpy(dtype=float),
        "model": model if np.isfinite(model).all() else scores["count_score"].to_numpy(dtype=float),
        "rule_contractor_then_size": scores["rule"].to_numpy(dtype=float),
        "red_flag_count": scores["red_flags"].to_numpy(dtype=float),
    }
    result: dict[str, Any] = {
        "entity": entity,
        "as_of": as_of.isoformat(),
        "labels_from": as_of.isoformat(),
        "labels_to": label_end.isoformat(),
        "label_rule": "new debarments only: entities debarred before the as-of day (for an agent: a client "
        "debarred) are left out and counted in positives_known",
        "served": run.gate.served,
        "served_reason": run.gate.reason,
        "gate": run.gate.as_dict(),
        "model_trained": bool(np.isfinite(model).all()),
        "entities_scored": len(run.scores),
        "entities_judged": len(scores),
        "positives": int(labels.sum()),
        "positives_new": int(labels.sum()),
        "positives_known": len(positives & known),
        "later_debarments": int((later["kind"] == "debarment").sum()),
        "later_debarments_linked_to_a_filer": int(
            ((linked["kind"] == "debarment") & (linked["entity_type"] == "employer")).sum()
        ),
        "training_origins": [
            {"origin": t.isoformat(), "labels_to": e.isoformat(), "rows": n, "positives": p}
            for t, e, n, p in run.origins
        ],
        "rankings": {name: _metrics(s, labels, ks) for name, s in rankings.items()},
    }
    if not result["model_trained"]:
        result["model_note"] = "no model as of the day (no debarment before it): the model row is the count served"
    rng = np.random.default_rng(5)
    draws = [_metrics(rng.random(len(labels)), labels, ks) for _ in range(random_draws)]
    result["rankings"]["random"] = (
        {key: float(np.nanmean([d[key] for d in draws])) for key in draws[0]} if draws else {}
    )
    result["random_draws"] = random_draws
    base = labels.mean() if len(labels) else math.nan
    result["base_rate"] = float(base)
    if bootstrap_samples and len(labels):
        pairs = with_intervals(
            rankings, labels, result["rankings"], ks, samples=bootstrap_samples, challengers=("model", "served")
        )
        # ``paired``: the model against each baseline (as before); ``paired_served``: the served ranking's.
        result["paired"] = {k: v for k, v in pairs.items() if k.startswith("model_vs_")}
        result["paired_served"] = {k: v for k, v in pairs.items() if k.startswith("served_vs_")}
        result["bootstrap"] = {
            "resamples": bootstrap_samples,
            "seed": BOOTSTRAP_SEED,
            "level": BOOTSTRAP_LEVEL,
            "unit": f"{entity} (judged entities drawn with replacement; the same draws for every ranking)",
            "random": "a fresh random ranking in each resample; its point figures are the mean of "
            f"{random_draws} random rankings",
        }
    result["gain"] = {name: gain_curve(s, labels) for name, s in rankings.items()}
    return result


def origin_label_end(origin: date, labels_to: date, horizon_years: int = HORIZON_DAYS // 365) -> date:
    """The last day of an origin's label window: ``horizon_years`` after it less a day, at most ``labels_to``."""
    return min(date(origin.year + horizon_years, origin.month, origin.day) - timedelta(days=1), labels_to)


SUMMARY_RANKINGS = ("served", "model", "red_flag_count", "random")


def origin_summary(result: dict[str, Any], k: int = GATE_K) -> dict[str, Any]:
    """One backtest's line of the table over origins: served, new positives, P@k and AP of each ranking, and
    whether the served ranking meets the targets against the red-flag count (P@k at least the count's,
    average precision at least twice the count's)."""
    rankings = result["rankings"]
    row: dict[str, Any] = {
        "entity": result["entity"],
        "as_of": result["as_of"],
        "labels_to": result["labels_to"],
        "served": result["served"],
        "served_reason": result["served_reason"],
        "positives_new": result["positives_new"],
        "positives_known": result["positives_known"],
    }
    for name in SUMMARY_RANKINGS:
        # Over every order of tied scores where the backtest has it (the red-flag count ties thousands; one draw
        # of their order is noise), else in the served review order.
        figures = rankings[name]
        row[f"{name}_precision_at_{k}"] = figures.get(
            f"precision_at_{k}_expected", figures.get(f"precision_at_{k}", math.nan)
        )
        row[f"{name}_average_precision"] = rankings[name]["average_precision"]
    count_ap = rankings["red_flag_count"]["average_precision"]
    row["served_ap_over_count"] = row["served_average_precision"] / count_ap if count_ap else math.nan
    row["meets_precision_target"] = bool(row[f"served_precision_at_{k}"] >= row[f"red_flag_count_precision_at_{k}"])
    row["meets_ap_target"] = bool(row["served_ap_over_count"] >= 2)
    return row


def origins_markdown(rows: list[dict[str, Any]], k: int = GATE_K) -> str:
    """The table over origins (rows of ``origin_summary``)."""
    head = (
        f"| entity | as of | labels to | new positives | served | P@{k} served | P@{k} model | P@{k} count | "
        f"P@{k} random | AP served | AP model | AP count | AP random | AP served / count |"
    )
    lines = [head, "|" + " --- |" * 3 + " ---: |" + " --- |" + " ---: |" * 9]
    for r in rows:
        cells = [r["entity"], r["as_of"], r["labels_to"], str(r["positives_new"]), r["served"]]
        cells += [f"{r[f'{n}_precision_at_{k}']:.3f}" for n in SUMMARY_RANKINGS]
        cells += [f"{r[f'{n}_average_precision']:.4f}" for n in SUMMARY_RANKINGS]
        cells.append(f"{r['served_ap_over_count']:.2f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def backtest_markdown(result: dict[str, Any]) -> str:
    ks = us_dol_ks(result)
    expected = [k for k in ks if any(f"precision_at_{k}_expected" in m for m in result["rankings"].values())]
    head = ["ranking", "average precision", "ROC-AUC"] + [f"precision@{k}" for k in ks]
    head += [f"precision@{k} over tie orders" for k in expected] + [f"lift@{k}" for k in ks]
    boot = result.get("bootstrap")
    judged = result.get("entities_judged", result["entities_scored"])
    lines = [
        f"Backtest ({result['entity']}): as of {result['as_of']}, judged on "
        + ("new " if "positives_new" in result else "")
        + f"debarments starting {result['labels_from']} to {result['labels_to']}: {result['entities_scored']:,} "
        f"scored, {result['positives']} positives among the {judged:,} judged (base rate {result['base_rate']:.4f})"
        + (
            f"; {result['entities_scored'] - judged:,} already positive before the day left out "
            f"({result['positives_known']} of them debarred again in the window)"
            if "positives_known" in result
            else ""
        )
        + "."
        + (f" Served: {result['served']} ({result['served_reason']})." if "served" in result else "")
        + (
            f" In brackets: {boot['level']:.0%} percentile interval over {boot['resamples']} resamples of the "
            f"judged entities (seed {boot['seed']})."
            if boot
            else ""
        ),
        "",
        "| " + " | ".join(head) + " |",
        "| " + " | ".join(["---"] + ["---:"] * (len(head) - 1)) + " |",
    ]
    for name, m in result["rankings"].items():
        keys = ["average_precision", "roc_auc"] + [f"precision_at_{k}" for k in ks]
        keys += [f"precision_at_{k}_expected" for k in expected] + [f"lift_at_{k}" for k in ks]
        lines.append("| " + " | ".join([name] + [md_ci(m, key) for key in keys]) + " |")
    for pair, per_metric in {**result.get("paired", {}), **result.get("paired_served", {})}.items():
        shares = ", ".join(
            f"{key} {v['model_higher_share']:.0%}"
            for key, v in per_metric.items()
            if key in ("average_precision", "roc_auc") or key.startswith("precision_at")
        )
        challenger = pair.split("_vs_")[0]
        lines += [
            "",
            f"{pair.replace('_', ' ')}: share of resamples where the {challenger} ranking is higher: {shares}.",
        ]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ the published run as the us-dol score CSV
DOL_ENTITY_PREFIX: dict[str, str] = {"employer": "sponsor:", "recruiter": "agent:"}  # ids the DOL records give
SCORE_CSV_COLUMNS = ("employer_name", "employer_state", "score", "rank", "reasons", "served")


def served_scores_csv(rows: list[dict[str, Any]], entity_type: str) -> pd.DataFrame:
    """The published score rows of ``entity_type`` (best rank first) that the DOL records name, as the
    ``us-dol score`` CSV: name, US state, the served ranking's score, rank among them (1..n), the reasons
    (``title: detail``, most contributing first, '; ' between) and what served (model or red_flag_count)."""
    prefix = DOL_ENTITY_PREFIX[entity_type]
    mine = sorted((r for r in rows if str(r["entity_id"]).startswith(prefix)), key=lambda r: int(r["rank"]))
    return pd.DataFrame(
        {
            "employer_name": [r["name"] for r in mine],
            "employer_state": [r["region"] for r in mine],
            "score": [float(r["raw_score"]) if r["raw_score"] is not None else math.nan for r in mine],
            "rank": list(range(1, len(mine) + 1)),
            "reasons": ["; ".join(f"{x['title']}: {x['detail']}" for x in r["reasons"]) for r in mine],
            "served": [SERVED_COUNT if str(r["model_id"]).startswith(RULE_BASELINE) else "model" for r in mine],
        },
        columns=list(SCORE_CSV_COLUMNS),
    )


# ------------------------------------------------------- the generic evaluation as the us-dol backtest figures
PAIRED_METRICS = {"average_precision": "average_precision", "roc_auc": "roc_auc"}


def _view_metrics(m: dict[str, Any], k: int) -> dict[str, Any]:
    """A ranking's evaluation metrics under the backtest's names (precision_at_k -> precision_at_<k>)."""
    names = {**PAIRED_METRICS, "precision_at_k": f"precision_at_{k}", "lift_at_k": f"lift_at_{k}"}
    out: dict[str, Any] = {}
    for key, name in names.items():
        if m.get(key) is not None:
            out[name] = m[key]
        if m.get(f"{key}_ci95") is not None:
            out[f"{name}_ci95"] = m[f"{key}_ci95"]
    return out


def _view_paired(pair: dict[str, Any], k: int) -> dict[str, Any]:
    names = {**PAIRED_METRICS, "precision_at_k": f"precision_at_{k}"}
    return {
        names[metric]: {
            "model_higher_share": v["higher_share"],
            "model_lower_share": v["lower_share"],
            "difference_ci95": v["difference_ci95"],
        }
        for metric, v in pair.items()
    }


def _paired_named(paired: dict[str, Any], challenger: str, k: int) -> dict[str, Any]:
    """``<challenger>_vs_red_flag_count`` from the evaluation's ``<challenger>_vs_rule``, if it was compared."""
    pair = paired.get(f"{challenger}_vs_rule")
    return {f"{challenger}_vs_red_flag_count": _view_paired(pair, k)} if pair else {}


def backtest_view(evaluation: dict[str, Any], labels_to: date, later_debarments: int) -> dict[str, Any]:
    """One entity type's evaluation (models.evaluate.evaluate_entity with a fixed capacity k, labels in
    (as_of, labels_to], paired comparisons) as a ``us-dol backtest`` result: the served ranking, the latest model
    (the served ranking when no model was trained), the red-flag count and random, on new positives only, with
    their intervals; ``later_debarments``: debarment records decided in the window, linked or not."""
    served = evaluation["served_ranking"]
    k = int(served["k"])
    model = evaluation.get("model")
    judged = int(served["n"])
    known = evaluation.get("known_positives") or {}
    positives = evaluation.get("positives") or {}
    windows = (evaluation.get("gate") or {}).get("windows") or {}
    fitted = windows.get("fit_origins") or []
    train_labels = evaluation.get("train_labels") or windows.get("train_labels")
    paired = evaluation.get("paired") or {}
    gain_names = {"served": "served", "model": "model", "rule": "red_flag_count"}
    result: dict[str, Any] = {
        "entity": evaluation["entity"],
        "as_of": evaluation["as_of"],
        "labels_from": evaluation["as_of"],
        "labels_to": labels_to.isoformat(),
        "label_rule": "new positives only: entities sanctioned on or before the as-of day are left out and counted "
        "in positives_known",
        "served": evaluation["served"],
        "served_reason": evaluation.get("served_reason") or "",
        "model_trained": model is not None,
        "entities_scored": judged + int(known.get("entities_sanctioned_before", 0)),
        "entities_judged": judged,
        "positives": int(positives.get("eval_new", 0)),
        "positives_new": int(positives.get("eval_new", 0)),
        "positives_known": int(positives.get("eval_known", 0)),
        "base_rate": int(positives.get("eval_new", 0)) / judged if judged else math.nan,
        "later_debarments": later_debarments,
        "later_debarments_linked_to_a_filer": int(positives.get("eval_new", 0)) + int(positives.get("eval_known", 0)),
        "training_origins": [
            {
                "origin": ", ".join(fitted),
                "labels_to": train_labels[1],
                "positives": int(positives.get("train", 0)),
            }
        ]
        if fitted and train_labels
        else [],
        "rankings": {
            "served": _view_metrics(served, k),
            "model": _view_metrics(model or served, k),
            "red_flag_count": _view_metrics(evaluation["rule"], k),
            "random": _view_metrics(evaluation["random"], k),
        },
        "paired": _paired_named(paired, "model", k),
        "paired_served": _paired_named(paired, "served", k),
        "gain": {
            gain_names[name]: points
            for name, points in (evaluation.get("curves") or {}).get("gain", {}).items()
            if name in gain_names
        },
        "evaluation": evaluation,
    }
    if paired:
        result["bootstrap"] = {
            "resamples": int(paired["resamples"]),
            "seed": int(paired["seed"]),
            "level": float(paired["level"]),
            "unit": f"{evaluation['entity']} (judged entities drawn with replacement; the same draws for every "
            "ranking) for the paired shares; each figure's own interval from models.metrics.bootstrap",
        }
    if model is None:
        result["model_note"] = "no model trained as of the day: the model row is the ranking served"
    return result
