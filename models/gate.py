"""Champion / challenger: a newly trained model is promoted only if, on the same backtest, it beats the current
champion and the rule-based red-flag count on truth-free metrics (precision@k on observed labels and average
precision). Otherwise it stays a challenger and the reason is recorded.

The backtest is the time-held-out fold of the new model's training (features as of ``as_of - horizon``, labels
in ``(as_of - horizon, as_of]``), which the new model used to choose its strategy and fit its calibration but
not to fit its trees. The champion and the rule are scored on exactly the same entities and labels.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from models.metrics import capacity, precision_at_k, safe_ap

GATE_METRICS = ("precision_at_k", "average_precision")
TIE_SEED = 3  # ties in precision@k are broken at random with this seed, identically for every ranking


@dataclass(frozen=True)
class GateDecision:
    promote: bool
    reason: str
    challenger: dict[str, float]
    champion: dict[str, float] | None
    rule: dict[str, float]
    champion_id: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def gate_metrics(scores: np.ndarray, labels: np.ndarray, capacity_share: float = 0.05) -> dict[str, float]:
    k = capacity(len(scores), capacity_share)
    return {
        "precision_at_k": precision_at_k(scores, labels, k, np.random.default_rng(TIE_SEED)),
        "average_precision": safe_ap(scores, labels),
        "k": float(k),
        "positives": float(labels.sum()),
    }


def _beats(a: dict[str, float], b: dict[str, float]) -> tuple[bool, str]:
    """a beats b: higher average precision and precision@k not lower. NaN (no positives) never beats."""
    ap_a, ap_b = a["average_precision"], b["average_precision"]
    pk_a, pk_b = a["precision_at_k"], b["precision_at_k"]
    if math.isnan(ap_a):
        return False, "no observed positives in the backtest labels, so nothing can be shown to rank better"
    if not math.isnan(ap_b) and ap_a <= ap_b:
        return False, f"average precision {ap_a:.3f} is not above {ap_b:.3f}"
    if not math.isnan(pk_b) and pk_a < pk_b:
        return False, f"precision@k {pk_a:.3f} is below {pk_b:.3f}"
    return True, f"average precision {ap_a:.3f} vs {ap_b:.3f}, precision@k {pk_a:.3f} vs {pk_b:.3f}"


def decide(
    challenger: dict[str, float],
    rule: dict[str, float],
    champion: dict[str, float] | None,
    champion_id: str | None,
) -> GateDecision:
    """Promote the challenger only if it beats the rule baseline and the champion (when there is one)."""
    ok_rule, why_rule = _beats(challenger, rule)
    if not ok_rule:
        why = f"does not beat the rule baseline: {why_rule}"
        return GateDecision(False, why, challenger, champion, rule, champion_id)
    if champion is None:
        return GateDecision(True, f"no champion yet; beats the rule baseline: {why_rule}", challenger, None, rule, None)
    ok_champ, why_champ = _beats(challenger, champion)
    if not ok_champ:
        return GateDecision(
            False, f"does not beat champion {champion_id}: {why_champ}", challenger, champion, rule, champion_id
        )
    why = f"beats champion {champion_id} ({why_champ}) and the rule baseline"
    return GateDecision(True, why, challenger, champion, rule, champion_id)
