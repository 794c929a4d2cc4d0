"""Small, dependency-free SVG charts for the model report and the dashboard (lines, bars, waterfall).

Every function returns a standalone ``<svg>`` string; coordinates are in SVG user units (pixels).
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

COLOURS = ("#1f5fa8", "#c0392b", "#7f8c8d", "#27ae60", "#8e44ad")
W, H, PAD = 520, 320, 48  # chart size and margin, pixels


def _axes(x_label: str, y_label: str, y_max: float) -> list[str]:
    parts = [
        f'<line x1="{PAD}" y1="{H - PAD}" x2="{W - 12}" y2="{H - PAD}" stroke="#333"/>',
        f'<line x1="{PAD}" y1="12" x2="{PAD}" y2="{H - PAD}" stroke="#333"/>',
        f'<text x="{(W + PAD) / 2:.0f}" y="{H - 10}" text-anchor="middle" font-size="12">{escape(x_label)}</text>',
        f'<text x="14" y="{(H - PAD) / 2:.0f}" text-anchor="middle" font-size="12" '
        f'transform="rotate(-90 14 {(H - PAD) / 2:.0f})">{escape(y_label)}</text>',
    ]
    for i in range(5):
        frac = i / 4
        y = H - PAD - frac * (H - PAD - 12)
        parts.append(f'<text x="{PAD - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="10">{frac * y_max:.2g}</text>')
        x = PAD + frac * (W - 12 - PAD)
        parts.append(f'<text x="{x:.1f}" y="{H - PAD + 14}" text-anchor="middle" font-size="10">{frac:.2g}</text>')
    return parts


def _label(x: float, y: float, text: str) -> str:
    """A right-aligned row label (cut at 40 characters)."""
    return f'<text x="{x}" y="{y}" text-anchor="end" font-size="11">{escape(text[:40])}</text>'


def line_chart(
    title: str,
    series: dict[str, Sequence[tuple[float, float]]],
    x_label: str,
    y_label: str,
    y_max: float = 1.0,
    diagonal: bool = False,
) -> str:
    """Lines of (x, y) points with x in [0, 1] and y in [0, y_max]; a legend names each series."""
    y_max = y_max if y_max > 0 else 1.0
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        *_axes(x_label, y_label, y_max),
    ]

    def xy(x: float, y: float) -> str:
        return f"{PAD + x * (W - 12 - PAD):.1f},{H - PAD - min(y, y_max) / y_max * (H - PAD - 12):.1f}"

    if diagonal:
        parts.append(f'<polyline points="{xy(0, 0)} {xy(1, y_max)}" fill="none" stroke="#bbb" stroke-dasharray="4"/>')
    for n, (name, points) in enumerate(series.items()):
        colour = COLOURS[n % len(COLOURS)]
        path = " ".join(xy(x, y) for x, y in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        parts.append(f'<rect x="{PAD + 10}" y="{16 + 16 * n}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{PAD + 26}" y="{25 + 16 * n}" font-size="11">{escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(title: str, bars: Sequence[tuple[str, float]], x_label: str) -> str:
    """Horizontal bars (label, value >= 0), largest first as given."""
    height = 30 + 20 * len(bars)
    top = max((v for _, v in bars), default=1.0) or 1.0
    label_w = 230
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W + 120}" height="{height + 20}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for i, (label, value) in enumerate(bars):
        y = 10 + 20 * i
        width = value / top * (W - label_w)
        parts.append(_label(label_w - 6, y + 12, label))
        parts.append(f'<rect x="{label_w}" y="{y}" width="{width:.1f}" height="14" fill="{COLOURS[0]}"/>')
        parts.append(f'<text x="{label_w + width + 4:.1f}" y="{y + 12}" font-size="10">{value:.3g}</text>')
    parts.append(
        f'<text x="{label_w}" y="{height + 12}" font-size="11">{escape(x_label)}</text></svg>',
    )
    return "".join(parts)


def waterfall(title: str, base: float, steps: Sequence[tuple[str, float]], total_label: str = "score") -> str:
    """SHAP waterfall: from the base value, each (label, contribution) step, to the final raw score."""
    values = [base]
    for _, c in steps:
        values.append(values[-1] + c)
    lo, hi = min(*values, 0.0), max(*values, 0.0)
    span = (hi - lo) or 1.0
    label_w, width = 230, W - 230
    height = 40 + 22 * (len(steps) + 2)

    def x(v: float) -> float:
        return label_w + (v - lo) / span * width

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W + 80}" height="{height}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>',
        f'<text x="{label_w - 6}" y="22" text-anchor="end" font-size="11">base value</text>',
        f'<line x1="{x(base):.1f}" y1="12" x2="{x(base):.1f}" y2="{height - 10}" stroke="#999" stroke-dasharray="3"/>',
    ]
    for i, (label, c) in enumerate(steps):
        y = 34 + 22 * i
        start, end = values[i], values[i + 1]
        colour = COLOURS[1] if c > 0 else COLOURS[0]
        parts.append(_label(label_w - 6, y + 12, label))
        parts.append(
            f'<rect x="{min(x(start), x(end)):.1f}" y="{y}" width="{max(abs(x(end) - x(start)), 1):.1f}" '
            f'height="16" fill="{colour}"/>'
        )
        parts.append(f'<text x="{max(x(start), x(end)) + 4:.1f}" y="{y + 12}" font-size="10">{c:+.3f}</text>')
    y = 34 + 22 * len(steps)
    parts.append(f'<text x="{label_w - 6}" y="{y + 12}" text-anchor="end" font-size="11">{escape(total_label)}</text>')
    parts.append(f'<text x="{x(values[-1]) + 4:.1f}" y="{y + 12}" font-size="10">{values[-1]:.3f}</text>')
    parts.append("</svg>")
    return "".join(parts)
