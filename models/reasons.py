"""Reasons for a score: the indicators that raise it, each a value a person can look up and contest.

A model's reasons are its TreeSHAP contributions rendered through the indicator registry; the red-flag count's
reasons are the indicators past their thresholds. Scoring stores a score's reasons as JSON text with
``encode_reasons``; ``decode_reasons`` reads them back (the service parses the same text into its API model,
``service.reasons``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import NamedTuple

MIN_CONTRIBUTION = 0.01  # |SHAP contribution| in log-odds below which a reason is left out
DOCS_BASE = "docs/indicators"


class Reason(NamedTuple):
    """One indicator behind a score, most contributing first in a score's list (immutable; a named tuple because
    scoring builds up to five for every entity of the world)."""

    indicator_id: str
    title: str
    value: float | None  # the indicator's value, rounded for display; None where not measured
    detail: str  # the filled-in detail ("3 of 12 inspections found passports retained; peers (all employers) 0.8%")
    contribution: float  # finite: log-odds (model) or one red flag's share of the count (rule baseline)
    link: str  # where the indicator is explained


def docs_link(indicator_id: str) -> str:
    """The indicator's page in the documentation (the link scoring stores)."""
    return f"{DOCS_BASE}/{indicator_id}.md"


class _Quoted(dict[str, str]):
    """JSON string literals of titles, details and links, kept while there are fewer than ``limit`` (scoring
    repeats a few hundred of them over every entity)."""

    limit = 1 << 16

    def __missing__(self, text: str) -> str:
        if len(self) >= self.limit:
            self.clear()
        quoted = self[text] = json.dumps(text)
        return quoted


_quoted = _Quoted()


def encode_reasons(reasons: Iterable[Reason]) -> str:
    """The stored text of a score's reasons: a JSON list of objects with the fields of ``Reason`` in its order,
    no whitespace; numbers as ``repr`` of a Python float."""
    q = _quoted
    return (
        "["
        + ",".join(
            f'{{"indicator_id":{q[i]},"title":{q[t]},"value":{"null" if v is None else repr(v)},"detail":{q[d]},'
            f'"contribution":{c!r},"link":{q[link]}}}'
            for i, t, v, d, c, link in reasons
        )
        + "]"
    )


def reasons_text(reasons: Iterable[Reason]) -> str:
    """Reasons on one line, as the CSV exports give them: ``title: detail``, most contributing first, '; ' between."""
    return "; ".join(f"{r.title}: {r.detail}" for r in reasons)


def decode_reasons(text: str, top: int | None = None) -> list[Reason]:
    """The reasons of stored ``text`` (only the first ``top`` when given)."""
    return [
        Reason(
            r["indicator_id"],
            r["title"],
            None if r["value"] is None else float(r["value"]),
            r["detail"],
            float(r["contribution"]),
            r["link"],
        )
        for r in json.loads(text)[:top]
    ]
