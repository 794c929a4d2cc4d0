"""The model report (HTML with inline SVG charts) and the model card (Markdown), both generated from the
evaluation results and the bundle metadata — nothing in them is written by hand per run.
"""

from __future__ import annotations

import math
from html import escape
from typing import TYPE_CHECKING, Any

from features.registry import BY_ID, sensitive_indicators
from models import plots
from models.train import LATENT_STRATEGY

if TYPE_CHECKING:
    from models.us_dol import RecruiterList

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
        cells = "".join(f"<td>{_num(m.get(key))}{_ci(m, key)}</td>" for key, _ in HEADLINE)
        rows.append(f"<tr><th>{escape(label)}</th>{cells}</tr>")
    k, n = result["rule"]["k"], result["rule"]["n"]
    return (
        f"<p>k = {k} of {n} entities not sanctioned before the evaluation date (top 5%); random is the expectation "
        f"(exact for precision@k, {result['random'].get('random_draws')} draws for AP).</p>"
        f"<table><tr><th>ranking</th>{head}</tr>{''.join(rows)}</table>"
    )


def _protocol(result: dict[str, Any]) -> str:
    """What serves, why, the label windows and the positives behind every figure."""
    positives = result.get("positives") or {}
    known = result.get("known_positives") or {}
    world = result.get("world") or {}
    return (
        f"<p>Served: <strong>{escape(str(result.get('served')))}</strong>"
        f"{' (' + escape(str(result.get('served_model_id'))) + ')' if result.get('served_model_id') else ''}. "
        f"{escape(str(result.get('served_reason') or ''))}</p>"
        f"<p>Training labels {escape(str(result.get('train_labels')))}, held-out fold labels "
        f"{escape(str(result.get('fold_labels')))}, evaluation labels in the {result.get('horizon_days')} days after "
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
        + "".join(f"<td>{_num(m.get(k))}</td>" for k in fold_keys)
        + "".join(f"<td>{_num(later.get(s, {}).get(k))}</td>" for k in later_keys)
        + "</tr>"
        for s, m in comparison.items()
    )
    rule = result.get("rule", {})
    body += (
        "<tr><td>red-flag count</td><td>–</td><td>–</td>"
        + "".join(f"<td>{_num(rule.get(k))}</td>" for k in later_keys)
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
        gate_text = (
            f"{'promoted to champion' if gate.get('promote') else 'kept as challenger'}: {gate.get('reason', '')}"
            if gate
            else "no gate decision recorded"
        )
        sections.append(
            f"<section><h2>{escape(entity)}</h2>"
            f"<p>model <code>{escape(str(result.get('model_id') or 'none'))}</code>, evaluated as of "
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
    return _page(
        title,
        "Every ranking is compared on the same entities with the rule-based red-flag "
        "count (what inspectorates use today) and a random ranking. Labels are positive-unlabelled and "
        "selection-biased: observed precision understates what an inspection finds and favours what inspectors "
        f"already look at. Sensitive indicators (reported below with and without them): {sensitive}.",
        "".join(sections),
    )


def _page(title: str, intro: str, body: str) -> str:
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title><style>body{{font-family:sans-serif;max-width:1150px;margin:2em auto}}"
        "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 6px;font-size:13px}"
        ".ci{color:#777;font-size:11px}.charts{display:flex;gap:1em;flex-wrap:wrap}</style></head><body>"
        f"<h1>{escape(title)}</h1><p>{escape(intro)}</p>{body}</body></html>"
    )


# ------------------------------------------------------------------------- US DOL H-2A / H-2B backtest
US_DOL_RANKINGS = {
    "model": "model",
    "rule_contractor_then_size": "rule: labour contractors first, then size",
    "red_flag_count": "red-flag count",
    "random": "random",
}
US_DOL_ENTITIES = {"employer": "employers (H-2 filers)", "recruiter": "agents, attorneys and law firms (recruiter)"}
US_DOL_INTRO = (
    "US Department of Labor H-2A / H-2B public records: scored with what was known before the as-of day "
    "(filings decided, debarments started before it) and judged on the debarments that started after it, "
    "linked to a filer by entity resolution. Debarments are few and follow where the Department looked: read "
    "small counts at k = 50 / 100 as direction, not precision. Intervals: percentiles over resamples of the "
    "scored entities (the same resamples for every ranking; random draws a fresh ranking in each)."
)


def us_dol_ks(result: dict[str, Any]) -> list[int]:
    """The capacities k a US DOL backtest reports precision@k at."""
    keys = {k for m in result["rankings"].values() for k in m if k.startswith("precision_at_")}
    return sorted({int(k.split("_")[2]) for k in keys})


def _us_dol_table(result: dict[str, Any]) -> str:
    ks = us_dol_ks(result)
    columns = [("average_precision", "average precision"), ("roc_auc", "ROC-AUC")]
    columns += [(f"precision_at_{k}", f"precision@{k}") for k in ks] + [(f"lift_at_{k}", f"lift@{k}") for k in ks]
    head = "".join(f"<th>{escape(label)}</th>" for _, label in columns)
    rows = "".join(
        f"<tr><th>{escape(US_DOL_RANKINGS.get(name, name))}</th>"
        + "".join(f"<td>{_num(m.get(key))}{_ci(m, key)}</td>" for key, _ in columns)
        + "</tr>"
        for name, m in result["rankings"].items()
    )
    return f"<table><tr><th>ranking</th>{head}</tr>{rows}</table>"


def _us_dol_paired(result: dict[str, Any]) -> str:
    items = []
    for pair, per_metric in result.get("paired", {}).items():
        other = US_DOL_RANKINGS.get(pair.removeprefix("model_vs_"), pair)
        parts = [
            f"{key.replace('_', ' ')}: higher in {v['model_higher_share']:.0%}, lower in {v['model_lower_share']:.0%} "
            f"(difference {v['difference_ci95'][0]:.3f} to {v['difference_ci95'][1]:.3f})"
            for key, v in per_metric.items()
            if not key.startswith("lift_at_")
        ]
        items.append(f"<li>model against {escape(other)}: {escape('; '.join(parts))}</li>")
    return f"<p>Share of resamples in which the model is higher or lower:</p><ul>{''.join(items)}</ul>" if items else ""


def us_dol_section(results: list[dict[str, Any]]) -> str:
    """The US DOL backtest (``tracerisk us-dol backtest``) as a report section: per entity, model against the
    rule, the red-flag count and random with intervals, paired comparisons and the gain curve."""
    parts = [f"<section><h2>US DOL H-2A / H-2B backtest</h2><p>{escape(US_DOL_INTRO)}</p>"]
    for r in results:
        boot = r.get("bootstrap") or {}
        interval = (
            f" Intervals: {boot['level']:.0%}, {boot['resamples']} resamples (seed {boot['seed']})." if boot else ""
        )
        origins = "; ".join(
            f"{o['origin']}: "
            + (f"{o['rows']:,} rows, " if "rows" in o else "")
            + f"{o['positives']} debarred to {o['labels_to']}"
            for o in r.get("training_origins", [])
        )
        gain = plots.line_chart(
            "gain curve (debarments after the as-of day)",
            {US_DOL_RANKINGS.get(name, name): [tuple(p) for p in points] for name, points in r.get("gain", {}).items()},
            "share of entities reviewed",
            "share of later debarments found",
            diagonal=True,
        )
        heading = US_DOL_ENTITIES.get(r["entity"], r["entity"])
        parts.append(
            f"<h3>{escape(heading)}</h3><p>As of {escape(r['as_of'])}, judged on debarments starting "
            f"{escape(r['labels_from'])} to {escape(r['labels_to'])}: {r['entities_scored']:,} scored, "
            f"{r['positives']} positives (base rate {r['base_rate']:.4f}); {r['later_debarments']} debarments in "
            f"the window, {r['later_debarments_linked_to_a_filer']} linked to an employer filing before the as-of "
            f"day.{escape(interval)}</p>{_us_dol_table(r)}{_us_dol_paired(r)}"
            f"<p>Training origins (features as of each, labels after it, all before the as-of day): "
            f"{escape(origins or 'none: ranked by the red-flag count')}.</p><div class='charts'>{gain}</div>"
        )
    parts.append("</section>")
    return "".join(parts)


def render_us_dol_report(results: list[dict[str, Any]], title: str = "tracerisk US DOL model report") -> str:
    """The US DOL backtest on its own page (``tracerisk us-dol backtest`` writes it beside its JSON)."""
    return _page(
        title, "Model against the rule-based baselines and random, with bootstrap intervals.", us_dol_section(results)
    )


US_DOL_RECRUITERS_INTRO = (
    "Foreign recruiter organisations named on H-2B applications (Appendix C, FY2020 to the second quarter of "
    "FY2022), as known before the date: a file's rows count from the day after the period it covers. Appendix C "
    "names no employer and none of its case numbers is in the FY2018-2019 H-2B files here, so an employer's own "
    "foreign recruiters cannot be told; organisations are matched by exact name key. No debarment list overlaps "
    "these years, so there is no model: organisations are ordered by their red flags, then applications. The "
    "country figures describe where an organisation is registered: context shown beside it, never part of the "
    "ranking, and never a worker's nationality."
)
CONTEXT_COLUMNS = (
    ("tip_tier", "US TIP tier"),
    ("cpi", "TI CPI (0-10)"),
    ("wgi_control_of_corruption", "WGI control of corruption"),
    ("ilab_goods", "US DOL goods list"),
)


def render_us_dol_recruiters(listing: RecruiterList, top: int = 25) -> str:
    """The foreign recruiter listing (``tracerisk us-dol recruiters``): countries with their context figures,
    then the organisations with the most red flags."""
    countries = listing.countries
    head = "".join(f"<th>{escape(label)}</th>" for _, label in CONTEXT_COLUMNS)
    rows = []
    for name, row in countries.iterrows():
        cells = []
        for key, _ in CONTEXT_COLUMNS:
            label, year = row.get(f"{key}_label"), row.get(f"{key}_year")
            cells.append(f"<td>{escape(f'{label} ({int(year)})') if isinstance(label, str) else '–'}</td>")
        rows.append(
            f"<tr><td>{escape(str(name))}</td><td>{int(row['organisations'])}</td>"
            f"<td>{int(row['applications']):,}</td>{''.join(cells)}</tr>"
        )
    recruiters = "".join(
        f"<tr><td>{int(r['rank'])}</td><td>{escape(str(r['recruiter_name']))}</td><td>{escape(str(r['country']))}</td>"
        f"<td>{int(r['cases'])}</td><td>{int(r['red_flags'])}</td><td>{escape(str(r['reasons']))}</td></tr>"
        for _, r in listing.recruiters.head(top).iterrows()
    )
    body = (
        f"<section><h2>Foreign recruiters as of {listing.as_of}</h2><p>{escape(US_DOL_RECRUITERS_INTRO)}</p>"
        f"<h3>Countries of registration (context)</h3><table><tr><th>country</th><th>organisations</th>"
        f"<th>applications naming them</th>{head}</tr>{''.join(rows)}</table>"
        f"<h3>Organisations with the most red flags (top {top} of {len(listing.recruiters):,})</h3><table><tr>"
        "<th>rank</th><th>organisation</th><th>country</th><th>applications</th><th>red flags</th><th>reasons</th>"
        f"</tr>{recruiters}</table></section>"
    )
    return _page("tracerisk US DOL foreign recruiters", "Context, not a score: see below.", body)


def us_dol_model_card(results: list[dict[str, Any]]) -> str:
    """The model card (Markdown) of the US DOL H-2A / H-2B models, with their latest backtest."""
    from features.catalogue import us_dol_computed
    from features.registry import INDICATORS, for_entity

    lines = [
        "# Model card: US DOL H-2A / H-2B employers and agents",
        "",
        "- Entities scored: H-2 filers (employers) and their agents / attorneys / law firms; never a worker",
        "- LightGBM, depth-capped trees (3), monotone in each indicator's declared direction; refitted at every "
        "scoring date on yearly origins before it (features as of each origin, labels = debarments in the two "
        "years after it, cut at the scoring date)",
        "- Labels: US DOL OFLC debarments 2010-2014 linked to filers by entity resolution; the back-wage list is "
        "reported, never a label (it has no dates within the period)",
        "",
        "## Intended use",
        "Prioritising which H-2 employers or agents to review first; a person decides after looking. Every score "
        "carries its reasons.",
        "",
        "## Out of scope",
        "Any decision about a worker. Worker nationality is never a feature; country tables are context about "
        "where a recruiter organisation operates, shown beside a score, never part of it.",
        "",
        "## Features",
    ]
    for entity in ("employer", "recruiter"):
        names = ", ".join(f"{i.title} ({i.id})" for i in for_entity(entity) if us_dol_computed(i))
        lines.append(f"- {entity}: {names}")
    unsupported = sorted(i.id for i in INDICATORS if not us_dol_computed(i))
    lines += [
        "",
        f"Not supported by public DOL data: {', '.join(unsupported)} (see the indicator pages).",
        "",
    ]
    for r in results:
        ks = us_dol_ks(r)
        boot = r.get("bootstrap") or {}
        lines += [
            f"## Backtest: {US_DOL_ENTITIES.get(r['entity'], r['entity'])}",
            f"As of {r['as_of']}, debarments starting {r['labels_from']} to {r['labels_to']}: "
            f"{r['entities_scored']:,} scored, {r['positives']} positives."
            + (f" 95% intervals over {boot['resamples']} resamples of the entities." if boot else ""),
            "",
            "| ranking | average precision | ROC-AUC | " + " | ".join(f"precision@{k}" for k in ks) + " |",
            "|---|---|---|" + "---|" * len(ks),
        ]
        for name, m in r["rankings"].items():
            cells = [md_ci(m, key) for key in ["average_precision", "roc_auc", *[f"precision_at_{k}" for k in ks]]]
            lines.append(f"| {US_DOL_RANKINGS.get(name, name)} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += [
        "## Known limitations of the labels",
        "Debarments are rare (about 140 in five years) and follow where the Department investigated; most "
        "abusive employers are never debarred. Unlabelled is not clean, and small counts at k = 50 / 100 are "
        "direction, not precision.",
    ]
    return "\n".join(lines) + "\n"


def md_ci(m: dict[str, Any], key: str) -> str:
    """A figure with its interval in brackets, as Markdown text."""
    ci = m.get(f"{key}_ci95")
    text = _num(m.get(key))
    if ci and not any(isinstance(c, float) and math.isnan(c) for c in ci):
        text += f" [{ci[0]:.3f}, {ci[1]:.3f}]"
    return text


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
    weights = (meta.get("blend") or {}).get("flag_weights") or []
    if weights:
        named = sorted(zip(meta["indicator_ids"], weights, strict=True), key=lambda p: -p[1])
        lines += [
            "## Weighted red flags",
            "Each red flag adds its weight to the score, learned without labels from which flags fire together "
            "(a latent class model of the flags as of the training day); weight 0: the flag says nothing here.",
            "",
            "| indicator | weight |",
            "|---|---|",
            *(f"| {i} {BY_ID[i].title if i in BY_ID else ''} | {w:.2f} |" for i, w in named),
            "",
        ]
    windows = meta.get("windows") or {}
    if windows:
        lines += [
            "## Windows",
            f"- Fitting origins {', '.join(windows.get('fit_origins', []))}; training labels "
            f"{windows.get('train_labels')}; held-out fold labels {windows.get('fold_labels')} (disjoint)",
            f"- Observed positives: {meta.get('positives', {})}",
            "",
        ]
    if evaluation is not None and "rule" in evaluation:
        lines += [
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
                f"| {label} | {_num(m.get('precision_at_k'))} | {_num(m.get('truth_precision_at_k'))} | "
                f"{_num(m.get('average_precision'))} | {_num(m.get('ece'))} |"
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
    lines += [
        "## Known limitations of the labels",
        "Labels exist only where someone inspected or investigated; most exploitation is never identified and "
        "cases are often charged as lesser offences. Unlabelled is not clean. Observed precision therefore "
        "understates findings and is biased towards what inspectors already target; a share of every worklist "
        "is random exploration so that future labels stay unbiased.",
    ]
    return "\n".join(lines) + "\n"
