"""Inline SVG charts for the dashboard: an entity's score history and the SHAP waterfall of its reasons.

Everything is computed here and escaped; templates insert the markup as is. Words come through ``gettext``
(the page's language, service/i18n.py); the plots read left to right in every language.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from html import escape
from typing import Any

from markupsafe import Markup

from service.reasons import ReasonOut

Translate = Callable[[str], str]


def _same(message: str) -> str:
    return message


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def history_svg(
    history: list[dict[str, Any]], width: int = 560, height: int = 180, gettext: Translate = _same
) -> Markup:
    """Probability per score run (as-of date on x), a line with points."""
    pad_l, pad_r, pad_t, pad_b = 44, 16, 12, 34
    if not history:
        return Markup('<p class="muted">%s</p>') % gettext("No score history.")
    n = len(history)
    top = max(0.05, max(float(h["probability"]) for h in history)) * 1.1
    top = min(1.0, top)

    def x(i: int) -> float:
        return pad_l + (width - pad_l - pad_r) * (0.5 if n == 1 else i / (n - 1))

    def y(p: float) -> float:
        return pad_t + (height - pad_t - pad_b) * (1 - p / top)

    pts = [(x(i), y(float(h["probability"]))) for i, h in enumerate(history)]
    name = gettext("Score history")
    title = gettext("Score history: probability per score run, %(runs)d run(s)") % {"runs": n}
    parts = [
        f'<svg class="chart history" role="img" aria-label="{escape(name)}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{pad_l}" y1="{y(0):.1f}" x2="{width - pad_r}" y2="{y(0):.1f}" stroke="#767676"/>',
        f'<line x1="{pad_l}" y1="{pad_t}" x2="{pad_l}" y2="{y(0):.1f}" stroke="#767676"/>',
        f'<text x="{pad_l - 6}" y="{y(top) + 4:.1f}" font-size="11" text-anchor="end">{top:.0%}</text>',
        f'<text x="{pad_l - 6}" y="{y(0) + 4:.1f}" font-size="11" text-anchor="end">0%</text>',
    ]
    if n > 1:
        path = " ".join(f"{px:.1f},{py:.1f}" for px, py in pts)
        parts.append(f'<polyline points="{path}" fill="none" stroke="#1f5fa8" stroke-width="2"/>')
    for (px, py), h in zip(pts, history, strict=True):
        label = escape(
            gettext("%(date)s: %(probability)s (rank %(rank)s, %(band)s)")
            % {
                "date": h["as_of"],
                "probability": f"{float(h['probability']):.1%}",
                "rank": h["rank"],
                "band": gettext(str(h["band"])),
            }
        )
        parts.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="4" fill="#1f5fa8"><title>{label}</title></circle>')
    for i in sorted({0, n - 1}):
        anchor = "middle" if n == 1 else ("start" if i == 0 else "end")
        parts.append(
            f'<text x="{x(i):.1f}" y="{height - 12}" font-size="11" text-anchor="{anchor}">'
            f"{escape(str(history[i]['as_of']))}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def waterfall_steps(
    base_value: float, raw_score: float, reasons: list[ReasonOut], gettext: Translate = _same
) -> list[dict[str, Any]]:
    """The waterfall's rows: one per reason, then the rest of the indicators together when they move the score.
    ``contribution`` and ``running`` (the score after the step) are log-odds; ``running`` of the last row is
    ``raw_score``."""
    steps: list[tuple[str, float]] = [(f"{r.indicator_id} {r.title}", r.contribution) for r in reasons]
    rest = float(raw_score) - float(base_value) - sum(c for _, c in steps)
    if abs(rest) > 1e-9:
        steps.append((gettext("all other indicators"), rest))
    rows: list[dict[str, Any]] = []
    running = float(base_value)
    for label, c in steps:
        start, running = running, running + c
        rows.append({"label": label, "contribution": c, "start": start, "running": running})
    return rows


def probability(log_odds: float) -> float:
    """The probability of a raw score in log-odds (before calibration)."""
    return _sigmoid(log_odds)


def waterfall_svg(
    base_value: float | None,
    raw_score: float | None,
    reasons: list[ReasonOut],
    width: int = 640,
    gettext: Translate = _same,
) -> Markup:
    """SHAP waterfall in log-odds: the base value, one bar per reason (its contribution), the rest of the
    indicators together, ending at the entity's raw score; probabilities on the start and end labels."""
    if base_value is None or raw_score is None:
        return Markup('<p class="muted">%s</p>') % gettext("No SHAP values for this score (rule-based baseline).")
    rows = waterfall_steps(base_value, raw_score, reasons, gettext)
    row_h, label_w, pad = 26, 260, 12
    height = pad * 2 + row_h * (len(rows) + 2)
    running = [float(base_value), *(float(r["running"]) for r in rows)]
    lo, hi = min(running), max(running)
    span = (hi - lo) or 1.0
    lo, hi = lo - 0.08 * span, hi + 0.08 * span
    plot_w = width - label_w - pad * 2 - 60
    name = gettext("SHAP waterfall")
    title = gettext("How each reason moves the score from the base value (log-odds)")

    def sx(v: float) -> float:
        return label_w + pad + plot_w * (v - lo) / (hi - lo)

    parts = [
        f'<svg class="chart waterfall" role="img" aria-label="{escape(name)}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    y0 = pad
    base_label = gettext("base value (%(probability)s)") % {"probability": f"{_sigmoid(float(base_value)):.1%}"}
    parts.append(
        f'<text x="{label_w}" y="{y0 + 17}" font-size="12" text-anchor="end">{escape(base_label)}</text>'
        f'<line x1="{sx(float(base_value)):.1f}" y1="{y0 + 4}" x2="{sx(float(base_value)):.1f}" '
        f'y2="{height - pad}" stroke="#767676" stroke-dasharray="3,3"/>'
    )
    for i, row in enumerate(rows):
        label, c = row["label"], row["contribution"]
        y = pad + row_h * (i + 1)
        left, right = sx(min(row["start"], row["running"])), sx(max(row["start"], row["running"]))
        colour = "#c0392b" if c > 0 else "#1f5fa8"
        text = escape(label if len(label) <= 40 else label[:39] + "…")
        parts.append(
            f'<g class="step"><text x="{label_w}" y="{y + 17}" font-size="12" text-anchor="end">{text}</text>'
            f'<rect x="{left:.1f}" y="{y + 5}" width="{max(1.0, right - left):.1f}" height="{row_h - 10}" '
            f'fill="{colour}"><title>{escape(label)}: {c:+.3f}</title></rect>'
            f'<text x="{right + 4:.1f}" y="{y + 17}" font-size="11">{c:+.2f}</text></g>'
        )
    y = pad + row_h * (len(rows) + 1)
    parts.append(
        f'<text x="{label_w}" y="{y + 17}" font-size="12" font-weight="bold" text-anchor="end">'
        + escape(
            gettext("score (%(probability)s before calibration)") % {"probability": f"{_sigmoid(float(raw_score)):.1%}"}
        )
        + "</text>"
        f'<circle cx="{sx(float(raw_score)):.1f}" cy="{y + 13}" r="5" fill="#333"/>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))
