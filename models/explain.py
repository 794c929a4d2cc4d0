"""Reasons for a score: LightGBM TreeSHAP contributions rendered through the indicator registry, so each reason is
an indicator a person can look up and contest. ``models/scoring.py`` renders them (``_ReasonRenderer``); each
reason is ``{"indicator_id", "title", "value", "detail", "contribution", "link"}`` (``service.schemas.ReasonOut``).
"""

from __future__ import annotations

MIN_CONTRIBUTION = 0.01  # |SHAP contribution| in log-odds below which a reason is left out
DOCS_BASE = "docs/indicators"
