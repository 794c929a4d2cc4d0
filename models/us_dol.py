"""Views of the US DOL H-2A / H-2B records over the one pipeline: the published run as the ``us-dol score`` CSV,
the generic evaluation (models.evaluate) as the ``us-dol backtest`` figures and tables, and the foreign recruiter
listing of ``us-dol recruiters``: the recruiting organisations abroad of the feature build, ranked by their red-flag
count (no debarment list overlaps FY2020-2022, so no labels and no model).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from data_contracts.names import FOREIGN_RECRUITER_ID_PREFIX, name_key
from data_contracts.sources.country_tables import CountryContext
from features.build import FeatureTable, reason_detail, threshold_column
from features.registry import BY_ID, for_entity
from features.shrinkage import fit_beta_prior, shrunk_rate
from features.views import NO_NAME_KEYS
from models.gate import SERVED_COUNT
from models.reasons import Reason, docs_link, reasons_text
from models.report import md_ci, us_dol_ks
from models.report_format import figure_text
from models.scoring import RULE_BASELINE

HORIZON_DAYS = 730  # days of labels after each backtest origin, at most the --labels-to day
GATE_K = 100  # the backtest's capacity: precision at the first 100 in review order
BOOTSTRAP_SAMPLES = 1000  # resamples of the judged entities for the backtest's paired comparisons


@dataclass
class RecruiterList:
    """Recruiting organisations abroad named on petitions known before ``as_of`` (the recruiter entities
    'abroad:' + name key of the feature build), ranked by the red-flag count (no model: no debarment list overlaps
    FY2020-2022), with country context beside each."""

    as_of: date
    recruiters: pd.DataFrame  # index recruiter_id: recruiter_name, country, red_flags, rank, reasons, context, ...
    countries: pd.DataFrame  # per country of registration: organisations, applications, context figures


RECRUITER_COLUMNS = ("recruiter_name", "country", "red_flags", "rank", "reasons", "context")
# cases, named_staff, chain_share, us_agent, flc_registered: figures beside the ranking; shared_staff_orgs and
# clients_debarred: the values of the registry's indicators L15 and L16.
RECRUITER_FIGURES = (
    "cases",
    "named_staff",
    "chain_share",
    "shared_staff_orgs",
    "clients_debarred",
    "us_agent",
    "flc_registered",
)
SHARED_STAFF, CLIENTS_SANCTIONED = BY_ID["L15"], BY_ID["L16"]


def appendix_c_rows(petition_recruiters: list[dict[str, Any]]) -> pd.DataFrame:
    """The lake's petition_recruiter records as Appendix C rows: the organisation, its country (upper case) and
    region, the case and when it became known."""
    rows = [r for r in petition_recruiters if r.get("programme") == "H-2B"]

    def region(value: str | None) -> str | None:
        return None if value is None or value.strip().lower() in ("n/a", "na", "none", "") else value

    return pd.DataFrame(
        {
            "application_id": [r["application_id"] for r in rows],
            "name": pd.Series([r.get("recruiter_name") for r in rows], dtype=object),
            "country": [(r.get("recruiter_country") or "").upper() or None for r in rows],
            "region": [region(r.get("recruiter_region")) for r in rows],
            "known_on": pd.to_datetime([r["known_on"] for r in rows]),
        }
    )


def contractor_register(register: list[dict[str, Any]]) -> pd.DataFrame:
    """The lake's labour contractor certificates (recruiter records) with the day each licence starts."""
    rows = [r for r in register if r.get("agency_type") == "labour_contractor"]
    return pd.DataFrame(
        {
            "name": [r.get("name") for r in rows],
            "licence_valid_from": pd.to_datetime([r.get("licence_valid_from") for r in rows]),
        }
    )


def mode(frame: pd.DataFrame, key: str, column: str) -> pd.Series:
    """The most frequent non-empty ``column`` value per ``key`` (ties: the first in sort order)."""
    counts = frame.dropna(subset=[column]).groupby([key, column]).size().rename("n").reset_index()
    counts = counts.sort_values([key, "n", column], ascending=[True, False, True], kind="stable")
    return counts.drop_duplicates(key).set_index(key)[column]


def appendix_c_figures(appendix: pd.DataFrame, as_of: date, window_days: int) -> pd.DataFrame:
    """Per organisation of the Appendix C rows known in the ``window_days`` before ``as_of`` (index: its entity id,
    'abroad:' + name key, as the feature build names it): its most frequent name, country and region, the
    applications naming it (cases) and the share of them that name other organisations too (chain_share, shrunk
    toward the peers' share). Figures shown beside the ranking, never part of it."""
    start, end = pd.Timestamp(as_of - timedelta(days=window_days)), pd.Timestamp(as_of)
    rows = appendix[(appendix["known_on"] >= start) & (appendix["known_on"] < end)].dropna(subset=["name"]).copy()
    keys = rows["name"].map(name_key)
    named = (keys != "") & ~keys.isin(NO_NAME_KEYS)
    rows = rows[named].assign(entity_id=FOREIGN_RECRUITER_ID_PREFIX + keys[named])
    index = pd.Index(sorted(rows["entity_id"].unique()), name="recruiter_id", dtype=object)
    out = pd.DataFrame(index=index)
    out["cases"] = rows.groupby("entity_id")["application_id"].nunique().reindex(index).astype(float)
    case_orgs = rows[["entity_id", "application_id"]].drop_duplicates()
    orgs_per_case = case_orgs.groupby("application_id")["entity_id"].nunique()
    chained = case_orgs["application_id"].map(orgs_per_case).gt(1).astype(float).groupby(case_orgs["entity_id"]).sum()
    num, den = chained.reindex(index).to_numpy(dtype=float), out["cases"].to_numpy(dtype=float)
    prior = fit_beta_prior(pd.Series(num), pd.Series(den))
    with np.errstate(invalid="ignore", divide="ignore"):
        out["chain_share"] = shrunk_rate(num / den, num, den, prior)
    for column in ("name", "country", "region"):
        out[column] = mode(rows, "entity_id", column).reindex(index)
    return out


def foreign_recruiters(
    features: FeatureTable,
    appendix: pd.DataFrame,
    register: pd.DataFrame | None,
    as_of: date,
    countries: CountryContext | None = None,
) -> RecruiterList:
    """Every recruiting organisation abroad among the recruiter ``features`` as of ``as_of`` (features.build:
    'abroad:' entities), with its red-flag count and reasons from the feature table (the registry's indicators
    past their cut-offs), the Appendix C figures beside it (``appendix_c_figures``), whether the contractor
    ``register`` lists its name before ``as_of``, and apart from them its country's context figures public before
    ``as_of`` (never part of the ranking)."""
    table = features.table.to_pandas().set_index("entity_id")
    mine = table[table.index.str.startswith(FOREIGN_RECRUITER_ID_PREFIX)]
    figures = appendix_c_figures(appendix, as_of, SHARED_STAFF.window_days).reindex(mine.index)
    flagged = [i for i in for_entity("recruiter") if i.direction > 0 and i.id in features.cutoffs]

    def reasons(row: pd.Series) -> str:
        values = {k: (None if pd.isna(v) else float(v)) for k, v in row.items() if isinstance(v, int | float)}
        return reasons_text(
            Reason(
                i.id,
                i.title,
                values.get(i.feature),
                reason_detail(i, values, features.peers[i.id]),
                1.0,
                docs_link(i.id),
            )
            for i in flagged
            if (values.get(threshold_column(i)) or 0.0) > features.cutoffs[i.id]
        )

    out = pd.DataFrame(index=pd.Index(mine.index, name="recruiter_id"))
    out["recruiter_name"] = figures["name"]
    out["country"] = figures["country"]
    out["region"] = figures["region"].fillna("")
    out["red_flags"] = mine["red_flags"].astype("int64")
    out["reasons"] = [reasons(row) for _, row in mine.iterrows()]
    out["cases"] = figures["cases"].fillna(0.0)
    out["named_staff"] = mine[f"{SHARED_STAFF.feature}__den"].fillna(0.0)
    out["chain_share"] = figures["chain_share"]
    out["shared_staff_orgs"] = mine[SHARED_STAFF.feature]
    out["clients_debarred"] = mine[CLIENTS_SANCTIONED.feature]
    out["us_agent"] = mine[f"{CLIENTS_SANCTIONED.feature}__den"].fillna(0.0) > 0
    registered: set[str] = set()
    if register is not None and len(register):
        names = register.loc[register["licence_valid_from"] < pd.Timestamp(as_of), "name"].dropna()
        registered = {FOREIGN_RECRUITER_ID_PREFIX + name_key(n) for n in names}
    out["flc_registered"] = out.index.isin(list(registered))
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


def origin_label_end(origin: date, labels_to: date, horizon_years: int = HORIZON_DAYS // 365) -> date:
    """The last day of an origin's label window: ``horizon_years`` after it less a day, at most ``labels_to``."""
    return min(date(origin.year + horizon_years, origin.month, origin.day) - timedelta(days=1), labels_to)


SUMMARY_RANKINGS = ("served", "model", "red_flag_count", "random")


def origin_summary(result: dict[str, Any], k: int = GATE_K) -> dict[str, Any]:
    """One backtest's line of the table over origins: served, new positives, P@k and AP of each ranking, and
    whether the served ranking meets the targets against the red-flag count (P@k at least the count's,
    average precision at least twice the count's); with the ceiling's average precision against the count's
    (NaN where the backtest has no ceiling)."""
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
    # How far the features could go: trees fitted on these very debarments, cross-validated (never served).
    ceiling_ap = (result.get("ceiling") or {}).get("average_precision", math.nan)
    row["ceiling_average_precision"] = ceiling_ap
    row["ceiling_ap_over_count"] = ceiling_ap / count_ap if count_ap else math.nan
    row["meets_precision_target"] = bool(row[f"served_precision_at_{k}"] >= row[f"red_flag_count_precision_at_{k}"])
    row["meets_ap_target"] = bool(row["served_ap_over_count"] >= 2)
    return row


def origins_markdown(rows: list[dict[str, Any]], k: int = GATE_K) -> str:
    """The table over origins (rows of ``origin_summary``)."""
    head = (
        f"| entity | as of | labels to | new positives | served | P@{k} served | P@{k} model | P@{k} count | "
        f"P@{k} random | AP served | AP model | AP count | AP random | AP served / count | AP ceiling / count |"
    )
    lines = [head, "|" + " --- |" * 3 + " ---: |" + " --- |" + " ---: |" * 10]
    for r in rows:
        cells = [r["entity"], r["as_of"], r["labels_to"], str(r["positives_new"]), r["served"]]
        # a figure with none to show (no new positive to judge on, no ceiling) reads "–"
        cells += [figure_text(r[f"{n}_precision_at_{k}"], 3) for n in SUMMARY_RANKINGS]
        cells += [figure_text(r[f"{n}_average_precision"], 4) for n in SUMMARY_RANKINGS]
        cells += [figure_text(r["served_ap_over_count"], 2), figure_text(r["ceiling_ap_over_count"], 2)]
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
# The `us-dol score` CSV's columns per entity type: the name and US state columns say whose they are.
SCORE_CSV_COLUMNS: dict[str, tuple[str, ...]] = {
    entity: (f"{entity}_name", f"{entity}_state", "score", "rank", "reasons", "served") for entity in DOL_ENTITY_PREFIX
}


def served_scores_csv(rows: list[dict[str, Any]], entity_type: str) -> pd.DataFrame:
    """The published score rows of ``entity_type`` (best rank first) that the DOL records name, as the
    ``us-dol score`` CSV: name, US state, the served ranking's score, rank among them (1..n), the reasons
    (``title: detail``, most contributing first, '; ' between) and what served (model or red_flag_count)."""
    prefix = DOL_ENTITY_PREFIX[entity_type]
    mine = sorted((r for r in rows if str(r["entity_id"]).startswith(prefix)), key=lambda r: int(r["rank"]))
    columns = SCORE_CSV_COLUMNS[entity_type]
    return pd.DataFrame(
        {
            columns[0]: [r["name"] for r in mine],
            columns[1]: [r["region"] for r in mine],
            "score": [float(r["raw_score"]) if r["raw_score"] is not None else math.nan for r in mine],
            "rank": list(range(1, len(mine) + 1)),
            "reasons": ["; ".join(f"{x['title']}: {x['detail']}" for x in r["reasons"]) for r in mine],
            "served": [SERVED_COUNT if str(r["model_id"]).startswith(RULE_BASELINE) else "model" for r in mine],
        },
        columns=list(columns),
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
        # trees fitted on these very debarments, each entity scored by trees that never saw it: what the features
        # could find at best (models.evaluate.ceiling); never served
        "ceiling": evaluation.get("ceiling"),
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
