"""The US DOL H-2A / H-2B pages: the backtest section and page, the foreign recruiter listing and the model
card, generated from the results of ``tracerisk us-dol backtest`` and ``tracerisk us-dol recruiters``."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

from models import plots
from models.report_format import figure_text, html_page, interval_html, md_ci

if TYPE_CHECKING:
    from models.us_dol import RecruiterList

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
        + "".join(f"<td>{figure_text(m.get(key))}{interval_html(m, key)}</td>" for key, _ in columns)
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
        ceiling = r.get("ceiling") or {}
        ceiling_text = (
            f" Ceiling: trees fitted on these very debarments, each entity scored by trees that never saw it "
            f"({ceiling.get('folds')}-fold), reach average precision {ceiling['average_precision']:.4f}; no ranking "
            "of these features learnt before the as-of day can be expected above it."
            if ceiling.get("average_precision") is not None
            else ""
        )
        parts.append(
            f"<h3>{escape(heading)}</h3><p>As of {escape(r['as_of'])}, judged on debarments starting "
            f"{escape(r['labels_from'])} to {escape(r['labels_to'])}: {r['entities_scored']:,} scored, "
            f"{r['positives']} positives (base rate {r['base_rate']:.4f}); {r['later_debarments']} debarments in "
            f"the window, {r['later_debarments_linked_to_a_filer']} linked to an employer filing before the as-of "
            f"day.{escape(interval)}{escape(ceiling_text)}</p>{_us_dol_table(r)}{_us_dol_paired(r)}"
            f"<p>Training origins (features as of each, labels after it, all before the as-of day): "
            f"{escape(origins or 'none: ranked by the red-flag count')}.</p><div class='charts'>{gain}</div>"
        )
    parts.append("</section>")
    return "".join(parts)


def render_us_dol_report(results: list[dict[str, Any]], title: str = "tracerisk US DOL model report") -> str:
    """The US DOL backtest on its own page (``tracerisk us-dol backtest`` writes it beside its JSON)."""
    return html_page(
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
    return html_page("tracerisk US DOL foreign recruiters", "Context, not a score: see below.", body)


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
