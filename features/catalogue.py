"""The indicator catalogue, generated from the registry: one page per indicator (Methodology, Why is this a
red flag?, Based on, Exclusions), an index, and the fairness note listing the sensitive indicators.

``python -m features.catalogue docs/indicators`` regenerates the committed pages.
"""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path

from data_contracts.sources import load_source
from features.registry import ENTITY_TYPES, INDICATORS, Indicator, sensitive_indicators

ENTITY_TITLES = {
    "employer": "Employers, worksites and suppliers",
    "recruiter": "Recruiters, labour contractors and intermediaries",
    "visa_desk": "Visa desks",
    "border_post": "Border posts (post and officer)",
    "inspector": "Labour inspectors",
}


def _direction(ind: Indicator) -> str:
    return {
        1: "+1 (a higher value raises risk)",
        -1: "-1 (a higher value lowers risk)",
        0: "0 (never used as evidence either way)",
    }[ind.direction]


def render_indicator_page(ind: Indicator) -> str:
    texts = ind.texts
    based_on = texts.get("based_on", [])
    lines = [
        f"# {ind.id} {ind.title}",
        "",
        f"Entity: {ind.entity}. Unit: {ind.unit}. Direction: {_direction(ind)}."
        + (
            " **Sensitive**: listed in the fairness note; models are also evaluated without it."
            if ind.sensitive
            else ""
        ),
        "",
        "## Methodology",
        "",
    ]
    if ind.sql is None:
        lines += [f"Not computed. {ind.not_computable}", ""]
    else:
        threshold = (
            (
                f"above the {ind.threshold[1:]}th percentile of its peers in the same run (the cut-off is "
                "written to cutoffs.json)"
            )
            if isinstance(ind.threshold, str)
            else f"above {ind.threshold:g}"
        )
        lines += [
            f"Computed from {', '.join(ind.data)} records dated in the {ind.window_days} days before the as-of "
            f"date (feature column `{ind.feature}`, kind `{ind.kind}`"
            + (f", defined from {ind.min_den} observation(s)" if ind.kind == "share" else "")
            + ").",
            f"Counts as a red flag in the rule-based baseline when the value is {threshold}.",
            *(
                [
                    "The feature value the models read is the share shrunk toward its peers' rate (empirical Bayes: "
                    "(num + a) / (den + a + b), with a beta prior fitted by maximum likelihood on every entity of "
                    f"the type in the same run, written to cutoffs.json as `priors`; column `{ind.feature}`), so "
                    "that 1 of 1 does not outrank 30 of 100 where peers differ little; the red flag and the reason's "
                    f"'num of den' read the raw share (column `{ind.feature}__raw`)."
                ]
                if ind.shrunk
                else []
            ),
            f"Reason shown with a score (filled in for the entity and its peers): `{ind.detail}`.",
            "",
            "```sql",
            " ".join(ind.sql.split()),
            "```",
            "",
        ]
    lines += ["## Why is this a red flag?", "", ind.why, "", "## Based on", ""]
    lines += [f"- {b}" for b in based_on] if isinstance(based_on, list) else [f"- {based_on}"]
    lines += ["", "## Exclusions", "", str(texts.get("exclusions", "")).strip(), ""]
    lines += ["## US Department of Labor data", "", us_dol_support(ind), ""]
    return "\n".join(lines)


def us_dol_missing(ind: Indicator) -> list[str]:
    """The record types ``ind`` is computed from that the public US DOL H-2A / H-2B files do not supply (the us-dol
    source declaration, data_contracts/sources/us-dol.toml); empty: the DOL records support it."""
    return [t for t in ind.data if t not in us_dol_record_types()]


@cache
def us_dol_record_types() -> frozenset[str]:
    return frozenset(d.record_type for d in load_source("us-dol").declared)


def us_dol_support(ind: Indicator) -> str:
    """Whether the public US DOL records support this indicator, as the page's last section says it: the
    indicator's own ``us_dol`` text where the record types it reads do not tell (indicator_texts.toml)."""
    if "us_dol" in ind.texts:
        return str(ind.texts["us_dol"]).strip()
    if ind.sql is None:
        return "Not computed from any records."
    missing = us_dol_missing(ind)
    if missing:
        return f"Not computed from the public DOL files: they hold no {', '.join(missing)} records."
    return (
        f"Computed from the public DOL files' {', '.join(ind.data)} records once they are in the lake "
        "(`tracerisk ingest --format us-dol`), by the same feature build as every other source's."
    )


def us_dol_computed(ind: Indicator) -> bool:
    """Whether the public US DOL records support this indicator: its section says 'Computed' (every other one
    begins 'Not computed')."""
    return us_dol_support(ind).startswith("Computed")


def render_index() -> str:
    lines = [
        "# Indicator catalogue",
        "",
        "Generated from `features/registry.py` and `features/indicator_texts.toml`; do not edit by hand.",
        "Indicators are evidence for a model and a reviewer, never a verdict on their own.",
        "",
    ]
    for entity in ENTITY_TYPES:
        lines += [
            f"## {ENTITY_TITLES[entity]}",
            "",
            "| id | indicator | unit | direction |",
            "| --- | --- | --- | --- |",
        ]
        for ind in INDICATORS:
            if ind.entity == entity:
                lines.append(f"| [{ind.id}]({ind.id}.md) | {ind.title} | {ind.unit} | {ind.direction:+d} |")
        lines.append("")
    return "\n".join(lines)


def render_fairness_note() -> str:
    lines = [
        "# Fairness note",
        "",
        "Applicant nationality, ethnicity, religion and sex are never model features (DESIGN principle 2); "
        "a test fails if any registry computation reads them. They are kept in the lake only to audit the "
        "scores for disparities.",
        "",
        "Sensitive indicators aggregate a person attribute to an organisation. Every model report shows its "
        "metrics with and without each of them:",
        "",
    ]
    for ind in sensitive_indicators():
        lines.append(f"- [{ind.id}]({ind.id}.md) {ind.title}: {ind.unit}.")
    lines.append("")
    return "\n".join(lines)


def write_catalogue(out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for ind in INDICATORS:
        path = out_dir / f"{ind.id}.md"
        path.write_text(render_indicator_page(ind), encoding="utf-8")
        written.append(path)
    for name, text in (("index.md", render_index()), ("fairness.md", render_fairness_note())):
        (out_dir / name).write_text(text, encoding="utf-8")
        written.append(out_dir / name)
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/indicators")
    for p in write_catalogue(target):
        print(p)
