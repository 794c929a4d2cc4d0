"""Reasons for a score: LightGBM's native TreeSHAP contributions (``pred_contrib``) rendered through the
indicator registry, so each reason is an indicator a person can look up and contest.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import lightgbm as lgb
import numpy as np

from features.build import reason_detail
from features.registry import BY_ID, Indicator

MIN_CONTRIBUTION = 0.01  # |SHAP contribution| in log-odds below which a reason is left out
DOCS_BASE = "docs/indicators"


@dataclass(frozen=True)
class Reason:
    indicator_id: str
    title: str
    value: float | None
    detail: str
    contribution: float  # SHAP contribution to the raw score (log-odds)
    link: str

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def contributions(booster: lgb.LGBMClassifier, x: np.ndarray) -> np.ndarray:
    """[n, features + 1] TreeSHAP contributions; the last column is the base value (raw-score units)."""
    return np.asarray(booster.predict(x, pred_contrib=True), dtype=float)


def indicator_of(feature: str) -> Indicator:
    return BY_ID[feature.split("_w", 1)[0]]


def reasons_for(
    features: list[str],
    contrib_row: np.ndarray,
    feature_row: dict[str, float | None],
    peers: dict[str, float],
    top: int = 5,
) -> list[Reason]:
    """The ``top`` contributions that raise the score (largest first), as registry reasons."""
    order = np.argsort(-contrib_row[: len(features)])
    out: list[Reason] = []
    for j in order:
        c = float(contrib_row[j])
        if c < MIN_CONTRIBUTION or len(out) >= top:
            break
        ind = indicator_of(features[j])
        value = feature_row.get(features[j])
        out.append(
            Reason(
                ind.id,
                ind.title,
                None if value is None or value != value else float(value),
                reason_detail(ind, feature_row, peers.get(ind.id, 0.0)),
                round(c, 6),
                f"{DOCS_BASE}/{ind.id}.md",
            )
        )
    return out
