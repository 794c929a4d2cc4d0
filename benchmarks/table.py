"""The README's benchmark table, from a file written by ``python -m benchmarks run --json``: every row with its
figure, what it was compared with in the same run, the ratio, and, where the comparison is a
target, whether the target is met or missed.

A row is judged when its comparison is a target (``compared_with`` starts with "target"), or a ratio target
(``RATIO_TARGETS``). Units in ``HIGHER_IS_BETTER`` meet their target at or above it; every other unit (seconds,
milliseconds, MiB) at or below it. Rows about the comparison itself (the bare endpoint's own latency) and
informational rows (p50 next to a p99 target) are not judged."""

from __future__ import annotations

import re
from typing import Any

HIGHER_IS_BETTER = frozenset({"records/s", "entities/s", "req/s", "rows/s", "precision", "recall"})
# Targets on the ratio to a comparison measured in the same run, by ``compared_with``.
RATIO_TARGETS = {"bare endpoint": 0.5}  # at least half the bare FastAPI endpoint's requests/s
NOT_JUDGED_PREFIXES = ("bare ",)  # rows that measure the comparison, not tracerisk


def verdict(row: dict[str, Any]) -> str:
    """ "met", "missed (...)" or "" (no target) for one result row."""
    compared = str(row["compared_with"])
    if str(row["name"]).startswith(NOT_JUDGED_PREFIXES):
        return ""
    if compared in RATIO_TARGETS:
        target = RATIO_TARGETS[compared]
        return "met" if row["ratio"] >= target else f"missed (target ratio {target:g})"
    stated = re.search(r"\(target ratio ([0-9.]+)\)", compared)  # a ratio target written into the comparison
    if stated:
        target = float(stated.group(1))
        return "met" if row["ratio"] >= target - 1e-9 else f"missed (target ratio {target:g})"
    if not compared.startswith("target"):
        return ""
    if row["unit"] in HIGHER_IS_BETTER:
        return "met" if row["figure"] >= row["comparison_figure"] else "missed"
    return "met" if row["figure"] <= row["comparison_figure"] else "missed"


def number(value: float, unit: str) -> str:
    """A figure as the README prints it: precision and recall to 3 places, small values to 2, else whole."""
    if unit in ("precision", "recall"):
        return f"{value:.3f}"
    if abs(value) < 10:
        return f"{value:,.2f}"
    if abs(value) < 1000:
        return f"{value:,.1f}"
    return f"{value:,.0f}"


def markdown(doc: dict[str, Any]) -> str:
    """The Markdown table of a result file, one line per row, in the file's order."""
    lines = [
        "| benchmark | figure | compared with (same run) | ratio | target |",
        "| --- | ---: | --- | ---: | --- |",
    ]
    for r in doc["rows"]:
        unit = str(r["unit"])
        suffix = "" if unit in ("precision", "recall") else f" {unit}"
        comparison = f"{r['compared_with']}: {number(float(r['comparison_figure']), unit)}{suffix}"
        lines.append(
            f"| {r['name']} | {number(float(r['figure']), unit)}{suffix} | {comparison} | {r['ratio']:.2f} |"
            f" {verdict(r)} |"
        )
    return "\n".join(lines) + "\n"
