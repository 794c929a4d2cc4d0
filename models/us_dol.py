"""Views of the US DOL H-2A / H-2B records over the one pipeline: the published run as the ``us-dol score`` CSV,
the generic evaluation (models.evaluate) as the ``us-dol backtest`` figures and tables, and the foreign recruiter
listing of ``us-dol recruiters`` from Appendix C as the lake holds it (a red-flag count: no debarment list
overlaps FY2020-2022, so no labels and no model).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from data_contracts.names import name_key, sponsor_id
from data_contracts.sources.country_tables import CountryContext
from features.us_dol import (
    foreign_recruiter_features,
    indicators,
    reason_detail,
    red_flags,
)
from models.gate import SERVED_COUNT
from models.report import md_ci, us_dol_ks
from models.scoring import RULE_BASELINE

HORIZON_DAYS = 730  # days of labels after each backtest origin, at most the --labels-to day
GATE_K = 100  # the backtest's capacity: precision at the first 100 in review order
BOOTSTRAP_SAMPLES = 1000  # resamples of the judged entities for the backtest's paired comparisons


@dataclass
class RecruiterList:
    """Foreign recruiter organisations named on H-2B applications known before ``as_of``, ranked by the
    red-flag count (no model: no debarment list overlaps FY2020-2022), with country context beside each."""

    as_of: date
    recruiters: pd.DataFrame  # index recruiter_id: recruiter_name, country, red_flags, rank, reasons, context, ...
    countries: pd.DataFrame  # per country of registration: organisations, applications, context figures


RECRUITER_COLUMNS = ("recruiter_name", "country", "red_flags", "rank", "reasons", "context")
RECRUITER_FIGURES = (*(i.id for i in indicators("foreign_recruiter")), "us_agent", "flc_registered")


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
    """Every foreign recruiter organisation of Appendix C known before ``as_of`` with its indicators, its red flags
    (indicators past their threshold, the reasons) and, apart from them, its country's context figures public
    before ``as_of`` (never part of the ranking). Inputs: Appendix C rows, the (agent_id, employer_id) pairs of
    the filings before ``as_of``, the employers debarred before it, the labour contractor register."""
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
