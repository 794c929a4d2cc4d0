"""Train, score and backtest on the US DOL H-2A / H-2B records (issue 7), point in time.

``score_as_of(data, as_of, entity)`` uses only what was knowable before ``as_of``: filings decided before it,
outcomes (debarments) starting before it. The model is fitted on stacked yearly origins t (features from
filings before t, labels = debarments starting in [t, min(t + 2 years, as_of, end of label coverage)), at
least one year of labels after t), then every employer (or agent) with a filing before ``as_of`` is scored
with features as of ``as_of``. ``backtest`` does that as of a date and judges the ranking on the debarments
that started after it (to the end of the lists, 2014-12-31), against the issue's rule (labour contractors
first, then size), the red-flag count and random.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from data_contracts.sources.country_tables import CountryContext
from data_contracts.sources.us_dol import LABELS_COVER_UNTIL, DolData
from features.us_dol import (
    DolEntity,
    Resolution,
    agent_features,
    before,
    employer_features,
    foreign_recruiter_features,
    indicators,
    linked_outcomes,
    reason_detail,
    red_flags,
    resolve,
    rule_score,
)
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
TOP_REASONS = 3
BOOTSTRAP_SAMPLES = 1000
BOOTSTRAP_SEED = 7
GAIN_POINTS = 50


@dataclass
class ScoreRun:
    entity: DolEntity
    as_of: date
    scores: pd.DataFrame  # index entity id: employer_name, employer_state, score, rank, reasons, red_flags, rule
    features: pd.DataFrame
    resolution: Resolution
    origins: list[tuple[date, date, int, int]] = field(default_factory=list)  # origin, label end, rows, positives


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


def _matrix(features: pd.DataFrame, entity: DolEntity) -> np.ndarray:
    return np.asarray(features[[i.id for i in indicators(entity)]].to_numpy(dtype=float), dtype=float)


def score_as_of(data: DolData, as_of: date, entity: DolEntity = "employer") -> ScoreRun:
    """Train on what was knowable before ``as_of`` and score every entity with a filing before it."""
    filings = before(data.filings, as_of)
    outcomes = data.outcomes[data.outcomes["decided_on"] < pd.Timestamp(as_of)]
    resolution = resolve(filings, outcomes, data.flc_register)
    linked = linked_outcomes(outcomes, resolution)
    xs, ys, origins = [], [], []
    for t, end in origins_for(as_of):
        feats = features_as_of(data, filings, linked, entity, t)
        positives = _label_entities(linked, filings[filings["decided_on"] < pd.Timestamp(t)], entity, t, end)
        y = feats.index.isin(list(positives)).astype(int)
        xs.append(_matrix(feats, entity))
        ys.append(y)
        origins.append((t, end, len(y), int(y.sum())))
    current = features_as_of(data, filings, linked, entity, as_of)
    inds = indicators(entity)
    flags = red_flags(current, entity)
    rule = rule_score(current, entity)
    x_now = _matrix(current, entity)
    y_all = np.concatenate(ys) if ys else np.zeros(0, dtype=int)
    if len(y_all) and 0 < y_all.sum() < len(y_all):
        model = lgb.LGBMClassifier(**PARAMS, monotone_constraints=[i.direction for i in inds])
        model.fit(np.vstack(xs), y_all)
        score = np.asarray(model.predict_proba(x_now), dtype=float)[:, 1]
        contrib = np.asarray(model.booster_.predict(x_now, pred_contrib=True), dtype=float)[:, :-1]
    else:  # no labels before as_of: the red-flag count, reasons = the flags
        score = flags.to_numpy(dtype=float) + rule.rank(pct=True).to_numpy() * 0.5
        contrib = np.column_stack(
            [(current[i.id].fillna(-np.inf) > (i.threshold if i.threshold is not None else np.inf)) for i in inds]
        ).astype(float)
    reasons = []
    for r, row in enumerate(current.itertuples(index=False)):
        series = pd.Series(row._asdict())
        # Controls (direction 0: size, activity) shape the score but are never given as a reason.
        ranked = [j for j in np.argsort(-contrib[r]) if contrib[r, j] > 0 and inds[j].direction != 0]
        top = ranked[:TOP_REASONS]
        reasons.append("; ".join(f"{inds[j].title}: {reason_detail(inds[j], series)}" for j in top))
    scores = pd.DataFrame(
        {
            "employer_name": current["employer_name"],
            "employer_state": current["employer_state"],
            "score": score,
            "reasons": reasons,
            "red_flags": flags,
            "rule": rule,
        },
        index=current.index,
    )
    order = np.lexsort((scores.index.to_numpy(dtype=str), -scores["score"].to_numpy()))
    scores = scores.iloc[order]
    scores.insert(3, "rank", np.arange(1, len(scores) + 1))
    return ScoreRun(entity, as_of, scores, current, resolution, origins)


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
    feats = foreign_recruiter_features(
        data.recruiters_appendix_c, filings, _debarred_before(linked, as_of), data.flc_register, as_of
    )
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
    run.scores[["employer_name", "employer_state", "score", "rank", "reasons"]].to_csv(
        path, index=False, float_format="%.6f"
    )


# ------------------------------------------------------------------------------------------- backtest
def _metrics(score: np.ndarray, labels: np.ndarray, ks: tuple[int, ...], seed: int = 11) -> dict[str, float]:
    out: dict[str, float] = {"average_precision": safe_ap(score, labels), "roc_auc": safe_auc(score, labels)}
    for k in ks:
        out[f"precision_at_{k}"] = precision_at_k(score, labels, k, np.random.default_rng(seed))
        out[f"lift_at_{k}"] = lift_at_k(score, labels, k, np.random.default_rng(seed))
    return out


def with_intervals(
    rankings: dict[str, np.ndarray],
    labels: np.ndarray,
    metrics: dict[str, dict[str, Any]],
    ks: tuple[int, ...],
    samples: int = BOOTSTRAP_SAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> dict[str, Any]:
    """Adds ``<metric>_ci95`` (percentile interval over ``samples`` resamples of the entities) to each ranking's
    ``metrics``, random included, and returns the paired comparisons of the model with every other ranking."""
    draws = bootstrap_rankings(rankings, labels, ks, samples=samples, seed=seed)
    for name, per_metric in draws.items():
        for key, values in per_metric.items():
            metrics[name][f"{key}_ci95"] = percentile_interval(values)
    paired: dict[str, Any] = {}
    for other in (name for name in rankings if name != "model"):
        paired[f"model_vs_{other}"] = {
            key: {
                "model_higher_share": float(np.mean(values > draws[other][key])),
                "model_lower_share": float(np.mean(values < draws[other][key])),
                "difference_ci95": percentile_interval(values - draws[other][key]),
            }
            for key, values in draws["model"].items()
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
    """Score as of ``as_of`` and judge on debarments starting in [as_of, label_end] (linked to a filer before it).

    Every figure carries a 95% percentile interval from ``bootstrap_samples`` resamples of the scored entities
    (the same resamples for every ranking; random draws a fresh ranking in each), and ``paired`` says in what
    share of the resamples the model beats each other ranking.
    """
    run = score_as_of(data, as_of, entity)
    filings = before(data.filings, as_of)
    later = data.outcomes[
        (data.outcomes["decided_on"] >= pd.Timestamp(as_of)) & (data.outcomes["decided_on"] <= pd.Timestamp(label_end))
    ]
    later_res = resolve(filings, later, data.flc_register)
    linked = linked_outcomes(later, later_res)
    positives = _label_entities(linked, filings, entity, as_of, label_end + pd.Timedelta(days=1))
    scores = run.scores
    labels = scores.index.isin(list(positives)).astype(int)
    rankings = {
        "model": scores["score"].to_numpy(dtype=float),
        "rule_contractor_then_size": scores["rule"].to_numpy(dtype=float),
        "red_flag_count": scores["red_flags"].to_numpy(dtype=float),
    }
    result: dict[str, Any] = {
        "entity": entity,
        "as_of": as_of.isoformat(),
        "labels_from": as_of.isoformat(),
        "labels_to": label_end.isoformat(),
        "entities_scored": len(scores),
        "positives": int(labels.sum()),
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
    rng = np.random.default_rng(5)
    draws = [_metrics(rng.random(len(labels)), labels, ks) for _ in range(random_draws)]
    result["rankings"]["random"] = (
        {key: float(np.nanmean([d[key] for d in draws])) for key in draws[0]} if draws else {}
    )
    base = labels.mean() if len(labels) else math.nan
    result["base_rate"] = float(base)
    if bootstrap_samples and len(labels):
        result["paired"] = with_intervals(rankings, labels, result["rankings"], ks, samples=bootstrap_samples)
        result["bootstrap"] = {
            "resamples": bootstrap_samples,
            "seed": BOOTSTRAP_SEED,
            "level": BOOTSTRAP_LEVEL,
            "unit": f"{entity} (scored entities drawn with replacement; the same draws for every ranking)",
            "random": "a fresh random ranking in each resample; its point figures are the mean of "
            f"{random_draws} random rankings",
        }
    result["gain"] = {name: gain_curve(s, labels) for name, s in rankings.items()}
    return result


def backtest_markdown(result: dict[str, Any]) -> str:
    ks = us_dol_ks(result)
    head = ["ranking", "average precision", "ROC-AUC"] + [f"precision@{k}" for k in ks] + [f"lift@{k}" for k in ks]
    boot = result.get("bootstrap")
    lines = [
        f"Backtest ({result['entity']}): as of {result['as_of']}, judged on debarments starting "
        f"{result['labels_from']} to {result['labels_to']}: {result['entities_scored']:,} scored, "
        f"{result['positives']} positives (base rate {result['base_rate']:.4f})."
        + (
            f" In brackets: {boot['level']:.0%} percentile interval over {boot['resamples']} resamples of the "
            f"scored entities (seed {boot['seed']})."
            if boot
            else ""
        ),
        "",
        "| " + " | ".join(head) + " |",
        "| " + " | ".join(["---"] + ["---:"] * (len(head) - 1)) + " |",
    ]
    for name, m in result["rankings"].items():
        keys = ["average_precision", "roc_auc"] + [f"precision_at_{k}" for k in ks] + [f"lift_at_{k}" for k in ks]
        lines.append("| " + " | ".join([name] + [md_ci(m, key) for key in keys]) + " |")
    for pair, per_metric in result.get("paired", {}).items():
        shares = ", ".join(
            f"{key} {v['model_higher_share']:.0%}"
            for key, v in per_metric.items()
            if key in ("average_precision", "roc_auc") or key.startswith("precision_at")
        )
        lines += ["", f"{pair.replace('_', ' ')}: share of resamples where the model is higher: {shares}."]
    return "\n".join(lines) + "\n"
