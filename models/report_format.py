"""Formatting shared by the model reports and cards: a figure, its interval, the HTML page around a report."""

from __future__ import annotations

import math
from html import escape
from typing import Any


def figure_text(v: object, decimals: int = 3) -> str:
    """A number with ``decimals`` decimals, ``–`` for a missing or NaN one; anything else as escaped text."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if isinstance(v, float | int):
        return f"{float(v):.{decimals}f}"
    return escape(str(v))


def window_text(window: object) -> str:
    """A label window ``[from, to]`` as "(from, to]": labels decided after the first day, up to the second; ``–``
    when missing."""
    if isinstance(window, list | tuple) and len(window) == 2:
        return f"({window[0]}, {window[1]}]"
    return "–" if window is None else escape(str(window))


def counts_text(counts: object) -> str:
    """Positives per window, ``{"train": 184, "fold": 109}``, as "train 184, fold 109"; ``–`` when none."""
    if not isinstance(counts, dict) or not counts:
        return "–"
    return ", ".join(f"{name} {n}" for name, n in counts.items())


def interval_html(m: dict[str, Any], key: str) -> str:
    """The 95% interval of ``m[key]`` as a small HTML span; empty when there is none."""
    ci = m.get(f"{key}_ci95")
    if not ci or any(c is None or (isinstance(c, float) and math.isnan(c)) for c in ci):
        return ""
    return f' <span class="ci">[{ci[0]:.3f}, {ci[1]:.3f}]</span>'


def md_ci(m: dict[str, Any], key: str) -> str:
    """A figure with its interval in brackets, as Markdown text."""
    ci = m.get(f"{key}_ci95")
    text = figure_text(m.get(key))
    if ci and not any(isinstance(c, float) and math.isnan(c) for c in ci):
        text += f" [{ci[0]:.3f}, {ci[1]:.3f}]"
    return text


def html_page(title: str, intro: str, body: str) -> str:
    """A standalone HTML page: ``title``, the ``intro`` paragraph, then ``body`` (HTML)."""
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title><style>body{{font-family:sans-serif;max-width:1150px;margin:2em auto}}"
        "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 6px;font-size:13px}"
        ".ci{color:#777;font-size:11px}.charts{display:flex;gap:1em;flex-wrap:wrap}</style></head><body>"
        f"<h1>{escape(title)}</h1><p>{escape(intro)}</p>{body}</body></html>"
    )
