"""The model report (HTML with inline SVG charts) and the model card (Markdown), both generated from the
evaluation results and the bundle metadata — nothing in them is written by hand per run.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

from features.registry import BY_ID, sensitive_indicators
from models import plots
from models.datasets import FINDING_LABELS
from models.evaluate import CEILING_ON_PLANTED
from models.report_format import counts_text, figure_text, html_page, interval_html, md_ci, window_text
from models.train import LATENT_STRATEGY
from models.us_dol_report import (
    render_us_dol_recruiters,
    render_us_dol_report,
    us_dol_ks,
    us_dol_model_card,
    us_dol_section,
)

# The US DOL pages are declared in models.us_dol_report; the US DOL flows and models import them from here.
__all__ = [
    "ECE_TARGET",
    "HEADLINE",
    "RANKINGS",
    "TARGETS",
    "md_ci",
    "model_card",
    "render_report",
    "render_us_dol_recruiters",
    "render_us_dol_report",
    "target_checks",
    "us_dol_ks",
    "us_dol_model_card",
]

# Targets on the simulator's truth: the served ranking's truth precision@k against the red-flag count ("rule")
# and random, as factors.
TARGETS: dict[str, dict[str, float]] = {
    "employer": {"rule": 1.15, "random": 5.0},
    "recruiter": {"rule": 1.15, "random": 5.0},
    "visa_desk": {"rule": 1.0, "random": 5.0},
    "border_post": {"rule": 1.0, "random": 5.0},
    "inspector": {"rule": 1.0, "random": 5.0},
}
RANKINGS = (("served_ranking", "served"), ("model", "latest model"), ("rule", "red-flag count"), ("random", "random"))
ECE_TARGET = 0.03
HEADLINE = (
    ("precision_at_k", "precision@k"),
    ("lift_at_k", "lift@k"),
    ("truth_precision_at_k", "truth precision@k"),
    ("truth_lift_at_k", "truth lift@k"),
    ("truth_recall_at_k", "truth recall@k"),
    ("average_precision", "average precision"),
    ("roc_auc", "ROC-AUC"),
    ("brier", "Brier"),
    ("ece", "ECE"),
)


def target_checks(entity: str, result: dict[str, Any]) -> list[str]:
    """Plain-language verdicts of the targets for the served ranking (met or missed, by how much), truth only."""
    model = (result.get("served_ranking") or {}).get("truth_precision_at_k")
    out = []
    if model is None:
        return ["no truth given: the truth targets cannot be checked"]
    for baseline, factor in TARGETS.get(entity, {}).items():
        base = result[baseline].get("truth_precision_at_k")
        if base is None or (isinstance(base, float) and math.isnan(base)):
            continue
        need = factor * base
        ratio = model / base if base else math.inf
        verdict = (
            "met" if model >= need - 1e-12 else f"missed by {need - model:.3f} ({ratio:.2f}x instead of {factor}x)"
        )
        if need > 1.0 and model < need:
            verdict += (
                f"; unattainable on this world: the {baseline} ranking's precision {base:.3f} is above 1/{factor}, "
                "so no ranking can reach the target"
            )
        out.append(f"served truth precision@k {model:.3f} vs {baseline} {base:.3f}: target {factor}x — {verdict}")
    ceiling = result.get("ceiling") or {}
    if ceiling.get("fitted_on") == CEILING_ON_PLANTED:
        out.append(
            f"ceiling {ceiling['precision_at_k']:.3f}: trees fitted on the truth itself reach it, each entity scored "
            f"by trees that never saw it ({ceiling.get('folds')}-fold); no ranking of these features learnt without "
            "the truth can be expected above it"
        )
    ece = (result.get("served_ranking") or {}).get("ece")
    if ece is not None and not math.isnan(ece):
        verdict = "met" if ece <= ECE_TARGET else f"missed by {ece - ECE_TARGET:.3f}"
        out.append(f"ECE {ece:.3f} against observed labels: target at most {ECE_TARGET} — {verdict}")
    return out


def _metrics_table(result: dict[str, Any]) -> str:
    head = "".join(f"<th>{escape(label)}</th>" for _, label in HEADLINE)
    rows = []
    for ranking, label in RANKINGS:
        m = result.get(ranking)
        if not m:
            continue
        cells = "".join(f"<td>{figure_text(m.get(key))}{interval_html(m, key)}</td>" for key, _ in HEADLINE)
        rows.append(f"<tr><th>{escape(label)}</th>{cells}</tr>")
    k, n = result["rule"]["k"], result["rule"]["n"]
    return (
        f"<p>k = {k} of {n} entities not sanctioned before the evaluation date (top 5%); random is the expectation "
        f"(exact for precision@k, {result['random'].get('random_draws')} draws for AP).</p>"
        f"<table><tr><th>ranking</th>{head}</tr>{''.join(rows)}</table>"
    )


def _gate_verdict(gate: dict[str, Any]) -> str:
    """What the gate did with the type's challenger, in a few words."""
    if gate.get("promote"):
        return "promoted to champion"
    return "kept as challenger" if gate.get("challenger") is not None else "no challenger"


def _protocol(result: dict[str, Any]) -> str:
    """What serves, why, the label windows and the positives behind every figure."""
    positives = result.get("positives") or {}
    known = result.get("known_positives") or {}
    world = result.get("world") or {}
    return (
        f"<p>Served: <strong>{escape(str(result.get('served')))}</strong>"
        f"{' (' + escape(str(result.get('served_model_id'))) + ')' if result.get('served_model_id') else ''}. "
        f"{escape(str(result.get('served_reason') or ''))}</p>"
        f"<p>Training labels {window_text(result.get('train_labels'))}, held-out fold labels "
        f"{window_text(result.get('fold_labels'))}, evaluation labels in the {result.get('horizon_days')} days after "
        f"{escape(str(result.get('as_of')))}. Observed positives: training {positives.get('train', '–')}, fold "
        f"{positives.get('fold', '–')}, evaluation new {positives.get('eval_new', '–')}, evaluation among entities "
        f"sanctioned before ({known.get('entities_sanctioned_before', '–')}, left out of the headline) "
        f"{positives.get('eval_known', '–')}.</p>"
        + (
            f"<p>Simulated world: scale {escape(str(world.get('scale')))}, seed {escape(str(world.get('seed')))} "
            "(figures over several seeds: <code>python -m benchmarks run --only evaluation</code>).</p>"
            if world
            else ""
        )
    )


def _fairness(result: dict[str, Any]) -> str:
    parts = []
    for attribute, rows in result.get("fairness", {}).items():
        body = "".join(
            f"<tr><td>{escape(r['group'])}</td><td>{r['n']}</td><td>{figure_text(r['mean_probability'])}</td>"
            f"<td>{figure_text(r['share_in_top_k'])}</td><td>{figure_text(r['precision_at_k'])}</td>"
            f"<td>{figure_text(r['truth_precision_at_k'])}</td><td>{figure_text(r['truth_prevalence'])}</td></tr>"
            for r in rows
        )
        parts.append(
            f"<h4>by {escape(attribute)}</h4><table><tr><th>group</th><th>entities</th><th>mean probability</th>"
            f"<th>share in overall top k</th><th>precision@k in group</th><th>truth precision@k in group</th>"
            f"<th>truth prevalence</th></tr>{body}</table>"
        )
    removed = result.get("sensitive_removed", {})
    if removed:
        body = "".join(
            f"<tr><td>{escape(i)} {escape(BY_ID[i].title)}</td><td>{figure_text(m.get('precision_at_k'))}</td>"
            f"<td>{figure_text(m.get('truth_precision_at_k'))}</td><td>{figure_text(m.get('average_precision'))}</td></tr>"
            for i, m in removed.items()
        )
        parts.append(
            "<h4>with each sensitive indicator removed (retrained without it, same backtest)</h4><table><tr>"
            "<th>removed</th><th>precision@k</th><th>truth precision@k</th><th>average precision</th></tr>"
            f"{body}</table>"
        )
    return "".join(parts) or "<p>No groups of 20 or more entities to compare.</p>"


def _strategies(result: dict[str, Any]) -> str:
    """Every candidate (strategy x blend with the count): the fold metrics that chose among them (observed labels
    only), then each on the evaluation's later labels and, on a simulated world, its truth: reported, not used."""
    comparison = result.get("strategy_comparison", {})
    later = result.get("candidates", {})
    fold_keys = ("fold_average_precision", "fold_precision_at_k")
    later_keys = ("precision_at_k", "average_precision", "truth_precision_at_k", "truth_roc_auc")
    head = "".join(f"<th>{escape(k.replace('_', ' '))}</th>" for k in fold_keys)
    head += "".join(f"<th>later {escape(k.replace('_', ' '))}</th>" for k in later_keys)
    body = "".join(
        f"<tr><td>{escape(s)}{' (kept)' if s == result.get('strategy') else ''}</td>"
        + "".join(f"<td>{figure_text(m.get(k))}</td>" for k in fold_keys)
        + "".join(f"<td>{figure_text(later.get(s, {}).get(k))}</td>" for k in later_keys)
        + "</tr>"
        for s, m in comparison.items()
    )
    rule = result.get("rule", {})
    body += (
        "<tr><td>red-flag count</td><td>–</td><td>–</td>"
        + "".join(f"<td>{figure_text(rule.get(k))}</td>" for k in later_keys)
        + "</tr>"
    )
    return f"<table><tr><th>candidate</th>{head}</tr>{body}</table>"


def render_report(
    evaluation: dict[str, Any], title: str = "tracerisk model report", us_dol: list[dict[str, Any]] | None = None
) -> str:
    """The HTML report of ``tracerisk evaluate``: per entity type, metrics with intervals, target verdicts,
    lift (gain) and calibration curves, SHAP summary, strategy comparison, gate decision and fairness; with
    ``us_dol`` (the results of ``tracerisk us-dol backtest``), the US DOL backtest as a last section."""
    sections = []
    for entity, result in evaluation.items():
        if not isinstance(result, dict) or "rule" not in result:
            sections.append(f"<h2>{escape(entity)}</h2><p>{escape(str(result))}</p>")
            continue
        curves = result.get("curves", {})
        gain = plots.line_chart(
            f"gain curve ({curves.get('gain_on', '')})",
            curves.get("gain", {}),
            "share of entities reviewed",
            f"share of positives found ({curves.get('gain_on', '')})",
            diagonal=True,
        )
        calibration = curves.get("calibration", [])
        top = max([p for c in calibration for p in c] + [0.05])
        calib = plots.line_chart(
            "calibration (observed labels)",
            {"model": [(x / top, y) for x, y in calibration]},
            f"mean predicted probability (x {top:.2g})",
            "observed rate",
            y_max=top,
            diagonal=True,
        )
        shap = plots.bar_chart(
            "SHAP summary",
            [(f"{i} {BY_ID[i].title}" if i in BY_ID else i, v) for i, v in result.get("shap_summary", [])],
            "mean |contribution| (log-odds)",
        )
        checks = "".join(f"<li>{escape(c)}</li>" for c in target_checks(entity, result))
        gate = result.get("gate") or {}
        gate_text = f"{_gate_verdict(gate)}: {gate.get('reason', '')}" if gate else "no gate decision recorded"
        lead = (
            f"model <code>{escape(str(result['model_id']))}</code>"
            if result.get("model_id")
            else "no model for this type (the red-flag count ranks it)"
        )
        sections.append(
            f"<section><h2>{escape(entity)}</h2><p>{lead}, evaluated as of "
            f"{escape(result['as_of'])} on labels decided in the {result['horizon_days']} days after it (never seen "
            f"in training).</p>{_protocol(result)}"
            f"<h3>Ranking at capacity</h3>{_metrics_table(result)}<ul>{checks}</ul>"
            f'<div class="charts">{gain}{calib}</div><h3>What drives the scores</h3>{shap}'
            "<h3>Rankings compared (positive-unlabelled, selection-biased labels): chosen on the fold's observed "
            f"labels, reported on later labels and truth</h3>{_strategies(result)}"
            f"<h3>Champion / challenger</h3><p>{escape(gate_text)}</p>"
            f"<h3>Fairness</h3>{_fairness(result)}</section>"
        )
    sensitive = ", ".join(f"{i.id} ({i.title})" for i in sensitive_indicators())
    if us_dol:
        sections.append(us_dol_section(us_dol))
    return html_page(
        title,
        "Every ranking is compared on the same entities with the rule-based red-flag "
        "count (what inspectorates use today) and a random ranking. Labels are positive-unlabelled and "
        "selection-biased: observed precision understates what an inspection finds and favours what inspectors "
        f"already look at. Sensitive indicators (reported below with and without them): {sensitive}.",
        "".join(sections),
    )


def _model_kind(meta: dict[str, Any]) -> str:
    calibrated = f"probabilities calibrated ({meta['calibration']['kind']})"
    if meta.get("strategy") == LATENT_STRATEGY:
        return f"- No trees: the red flags, each weighted by what a latent class model of them gives; {calibrated}"
    return f"- LightGBM, depth-capped trees (4), monotone in each indicator's declared direction; {calibrated}"


def model_card(meta: dict[str, Any], evaluation: dict[str, Any] | None = None) -> str:
    """The model card (Markdown) of one bundle, with the latest backtest when given."""
    entity = meta["entity"]
    lines = [
        f"# Model card: {meta['model_id']}",
        "",
        f"- Entity type scored: **{entity}** (an organisation or an official desk, never a person)",
        f"- Trained with what was known on {meta['trained_as_of']}; trees fitted on features as of "
        f"{meta['fit_as_of']}, calibration and strategy choice on the fold as of {meta['fold_as_of']}",
        f"- Training strategy for positive-unlabelled labels: {meta['strategy']}",
        _model_kind(meta),
        f"- Code version {meta['code_version']}; data: {meta['data_fingerprint']}",
        "",
        "## Intended use",
        "Prioritising reviews, inspections and audits of organisations and official desks by people, who decide "
        "what to do after looking. Every score carries its reasons; each reason links to the indicator page "
        "that says why it is a red flag and which source supports it.",
        "",
        "## Out of scope",
        "Any decision about an individual migrant, applicant, traveller or worker (visa refusal, detention, "
        "removal, or any other measure). Applicant nationality, ethnicity, religion and sex are never features. "
        "A score is not evidence of wrongdoing.",
        "",
        "## Features",
        ", ".join(f"{i} ({BY_ID[i].title})" for i in meta["indicator_ids"] if i in BY_ID),
        "",
        "## Champion / challenger",
        str(meta.get("gate", {}).get("reason", "no decision recorded")),
        "",
    ]
    lines += _card_flag_weights(meta)
    lines += _card_windows(meta)
    if evaluation is not None and "rule" in evaluation:
        lines += _card_backtest(entity, evaluation)
    lines += [
        "## Known limitations of the labels",
        "Labels exist only where someone inspected or investigated; most exploitation is never identified and "
        "cases are often charged as lesser offences. Unlabelled is not clean. Observed precision therefore "
        "understates findings and is biased towards what inspectors already target; a share of every worklist "
        "is random exploration so that future labels stay unbiased.",
    ]
    if entity in FINDING_LABELS:
        lines.append(
            "Besides sanctions, an inspection that found at least one ILO forced-labour indicator labels the employer "
            "visited: findings are many more and come sooner than sanctions, but an indicator can be found at an "
            "employer that is not exploiting anyone."
        )
    return "\n".join(lines) + "\n"


def _card_flag_weights(meta: dict[str, Any]) -> list[str]:
    """The card's weighted red flags, heaviest first; none for a bundle without flag weights."""
    weights = (meta.get("blend") or {}).get("flag_weights") or []
    if not weights:
        return []
    named = sorted(zip(meta["indicator_ids"], weights, strict=True), key=lambda p: -p[1])
    return [
        "## Weighted red flags",
        "Each red flag adds its weight to the score, learned without labels from which flags fire together "
        "(a latent class model of the flags as of the training day); weight 0: the flag says nothing here.",
        "",
        "| indicator | weight |",
        "|---|---|",
        *(f"| {i} {BY_ID[i].title if i in BY_ID else ''} | {w:.2f} |" for i, w in named),
        "",
    ]


def _card_windows(meta: dict[str, Any]) -> list[str]:
    windows = meta.get("windows") or {}
    if not windows:
        return []
    return [
        "## Windows",
        f"- Fitting origins {', '.join(windows.get('fit_origins', []))}; training labels "
        f"{window_text(windows.get('train_labels'))}; held-out fold labels {window_text(windows.get('fold_labels'))} "
        "(disjoint)",
        f"- Observed positives: {counts_text(meta.get('positives'))}",
        "",
    ]


def _card_backtest(entity: str, evaluation: dict[str, Any]) -> list[str]:
    """The card's backtest table, target verdicts and fairness spread."""
    lines = [
        "## Backtest",
        f"As of {evaluation['as_of']}, new positives only (labels never seen in training). Served: "
        f"{evaluation.get('served')}.",
        "",
    ]
    lines += ["| ranking | precision@k | truth precision@k | average precision | ECE |", "|---|---|---|---|---|"]
    for ranking, label in RANKINGS:
        m = evaluation.get(ranking)
        if not m:
            continue
        lines.append(
            f"| {label} | {figure_text(m.get('precision_at_k'))} | {figure_text(m.get('truth_precision_at_k'))} | "
            f"{figure_text(m.get('average_precision'))} | {figure_text(m.get('ece'))} |"
        )
    lines += ["", *[f"- {c}" for c in target_checks(entity, evaluation)], ""]
    fairness = evaluation.get("fairness", {})
    if fairness:
        lines += ["## Fairness", "Precision@k and mean score by group are in the model report."]
        for attribute, rows in fairness.items():
            spread = [r["mean_probability"] for r in rows if r["mean_probability"] is not None]
            if spread:
                lines.append(f"- by {attribute}: mean probability from {min(spread):.3f} to {max(spread):.3f}")
        lines.append("")
    return lines
