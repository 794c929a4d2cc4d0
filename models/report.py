"""The model report (HTML with inline SVG charts) and the model card (Markdown), both generated from the
evaluation results and the bundle metadata — nothing in them is written by hand per run.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

from features.registry import BY_ID, sensitive_indicators
from models import plots

# Issue targets on the simulator's truth: model truth precision@k against the rule baseline and random.
TARGETS: dict[str, dict[str, float]] = {
    "employer": {"rule": 1.3, "random": 5.0},
    "recruiter": {"rule": 1.3, "random": 5.0},
    "visa_desk": {"rule": 1.2},
    "border_post": {"rule": 1.2},
    "inspector": {"rule": 1.2},
}
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


def _num(v: object) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if isinstance(v, float | int):
        return f"{float(v):.3f}"
    return escape(str(v))


def _ci(m: dict[str, Any], key: str) -> str:
    ci = m.get(f"{key}_ci95")
    if not ci or any(c is None or (isinstance(c, float) and math.isnan(c)) for c in ci):
        return ""
    return f' <span class="ci">[{ci[0]:.3f}, {ci[1]:.3f}]</span>'


def target_checks(entity: str, result: dict[str, Any]) -> list[str]:
    """Plain-language verdicts of the issue targets (met or missed, by how much), truth metrics only."""
    model = result["model"].get("truth_precision_at_k")
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
        elif baseline == "rule" and model < need:
            verdict += (
                "; the labels the model learns from are sparse and follow where inspectors already looked, while "
                "the red-flag count sums every indicator the simulator plants"
            )
        out.append(f"truth precision@k {model:.3f} vs {baseline} {base:.3f}: target {factor}x — {verdict}")
    ece = result["model"].get("ece")
    if ece is not None and not math.isnan(ece):
        verdict = "met" if ece <= ECE_TARGET else f"missed by {ece - ECE_TARGET:.3f}"
        out.append(f"ECE {ece:.3f} against observed labels: target at most {ECE_TARGET} — {verdict}")
    return out


def _metrics_table(result: dict[str, Any]) -> str:
    head = "".join(f"<th>{escape(label)}</th>" for _, label in HEADLINE)
    rows = []
    for ranking in ("model", "rule", "random"):
        m = result[ranking]
        cells = "".join(f"<td>{_num(m.get(key))}{_ci(m, key)}</td>" for key, _ in HEADLINE)
        rows.append(f"<tr><th>{ranking}</th>{cells}</tr>")
    k, n = result["model"]["k"], result["model"]["n"]
    return f"<p>k = {k} of {n} entities (top 5%).</p><table><tr><th>ranking</th>{head}</tr>{''.join(rows)}</table>"


def _fairness(result: dict[str, Any]) -> str:
    parts = []
    for attribute, rows in result.get("fairness", {}).items():
        body = "".join(
            f"<tr><td>{escape(r['group'])}</td><td>{r['n']}</td><td>{_num(r['mean_probability'])}</td>"
            f"<td>{_num(r['share_in_top_k'])}</td><td>{_num(r['precision_at_k'])}</td>"
            f"<td>{_num(r['truth_precision_at_k'])}</td><td>{_num(r['truth_prevalence'])}</td></tr>"
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
            f"<tr><td>{escape(i)} {escape(BY_ID[i].title)}</td><td>{_num(m.get('precision_at_k'))}</td>"
            f"<td>{_num(m.get('truth_precision_at_k'))}</td><td>{_num(m.get('average_precision'))}</td></tr>"
            for i, m in removed.items()
        )
        parts.append(
            "<h4>with each sensitive indicator removed (retrained without it, same backtest)</h4><table><tr>"
            "<th>removed</th><th>precision@k</th><th>truth precision@k</th><th>average precision</th></tr>"
            f"{body}</table>"
        )
    return "".join(parts) or "<p>No groups of 20 or more entities to compare.</p>"


def _strategies(result: dict[str, Any]) -> str:
    comparison = result.get("strategy_comparison", {})
    keys = sorted({k for m in comparison.values() for k in m})
    head = "".join(f"<th>{escape(k)}</th>" for k in keys)
    body = "".join(
        f"<tr><td>{escape(s)}{' (kept)' if s == result.get('strategy') else ''}</td>"
        + "".join(f"<td>{_num(m.get(k))}</td>" for k in keys)
        + "</tr>"
        for s, m in comparison.items()
    )
    return f"<table><tr><th>strategy</th>{head}</tr>{body}</table>"


def render_report(evaluation: dict[str, Any], title: str = "tracerisk model report") -> str:
    """The HTML report of ``tracerisk evaluate``: per entity type, metrics with intervals, target verdicts,
    lift (gain) and calibration curves, SHAP summary, strategy comparison, gate decision and fairness."""
    sections = []
    for entity, result in evaluation.items():
        if not isinstance(result, dict) or "model" not in result:
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
        gate_text = (
            f"{'promoted to champion' if gate.get('promote') else 'kept as challenger'}: {gate.get('reason', '')}"
            if gate
            else "no gate decision recorded"
        )
        sections.append(
            f"<section><h2>{escape(entity)}</h2>"
            f"<p>model <code>{escape(result['model_id'])}</code>, evaluated as of {escape(result['as_of'])} on labels "
            f"decided in the {result['horizon_days']} days after it (never seen in training).</p>"
            f"<h3>Ranking at capacity</h3>{_metrics_table(result)}<ul>{checks}</ul>"
            f'<div class="charts">{gain}{calib}</div><h3>What drives the scores</h3>{shap}'
            f"<h3>Training strategy (positive-unlabelled, selection-biased labels)</h3>{_strategies(result)}"
            f"<h3>Champion / challenger</h3><p>{escape(gate_text)}</p>"
            f"<h3>Fairness</h3>{_fairness(result)}</section>"
        )
    sensitive = ", ".join(f"{i.id} ({i.title})" for i in sensitive_indicators())
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title><style>body{{font-family:sans-serif;max-width:1150px;margin:2em auto}}"
        "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 6px;font-size:13px}"
        ".ci{color:#777;font-size:11px}.charts{display:flex;gap:1em;flex-wrap:wrap}</style></head><body>"
        f"<h1>{escape(title)}</h1><p>Every ranking is compared on the same entities with the rule-based red-flag "
        "count (what inspectorates use today) and a random ranking. Labels are positive-unlabelled and "
        "selection-biased: observed precision understates what an inspection finds and favours what inspectors "
        f"already look at. Sensitive indicators (reported below with and without them): {escape(sensitive)}.</p>"
        f"{''.join(sections)}</body></html>"
    )


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
        "- LightGBM, depth-capped trees (4), monotone in each indicator's declared direction; "
        f"probabilities calibrated ({meta['calibration']['kind']})",
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
    if evaluation is not None and "model" in evaluation:
        lines += ["## Backtest", f"As of {evaluation['as_of']}, labels never seen in training.", ""]
        lines += ["| ranking | precision@k | truth precision@k | average precision | ECE |", "|---|---|---|---|---|"]
        for ranking in ("model", "rule", "random"):
            m = evaluation[ranking]
            lines.append(
                f"| {ranking} | {_num(m.get('precision_at_k'))} | {_num(m.get('truth_precision_at_k'))} | "
                f"{_num(m.get('average_precision'))} | {_num(m.get('ece'))} |"
            )
        lines += ["", *[f"- {c}" for c in target_checks(entity, evaluation)], ""]
        fairness = evaluation.get("fairness", {})
        if fairness:
            lines += ["## Fairness", "Precision@k and mean score by group are in the model report."]
            for attribute, rows in fairness.items():
                spread = [r["mean_probability"] for r in rows]
                lines.append(f"- by {attribute}: mean probability from {min(spread):.3f} to {max(spread):.3f}")
            lines.append("")
    lines += [
        "## Known limitations of the labels",
        "Labels exist only where someone inspected or investigated; most exploitation is never identified and "
        "cases are often charged as lesser offences. Unlabelled is not clean. Observed precision therefore "
        "understates findings and is biased towards what inspectors already target; a share of every worklist "
        "is random exploration so that future labels stay unbiased.",
    ]
    return "\n".join(lines) + "\n"
