"""Champion / challenger, with the red-flag count as the bar every model must clear.

On the time-held-out fold of the new model's training (the same entities and new positives for every ranking,
in the one review order of ``models.ranking``), a model may serve a type only if it beats the red-flag count:
at the type's capacity it finds more in at least ``MIN_PAIRED_WIN_SHARE`` of paired bootstrap resamples (ties
count half), and its average precision is higher. A challenger that clears the bar replaces a champion that
also clears it only if it beats that champion too (higher average precision, precision@k not lower). When no
model clears the bar, the red-flag count serves the type, visibly, and the reason is recorded. Where trees won the
fold, training offers two challengers, the label-free weighted red flags first (``models.champion.gate_challengers``).
Nothing here reads the simulator's truth.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from models.metrics import bootstrap_rankings, capacity, safe_ap
from models.ranking import precision_at

MIN_PAIRED_WIN_SHARE = 0.8  # share of paired resamples in which a model must beat the count at capacity
GATE_RESAMPLES = 1000
GATE_SEED = 7
SERVED_MODEL = "model"
SERVED_COUNT = "red_flag_count"


@dataclass(frozen=True)
class GateDecision:
    promote: bool  # the challenger becomes champion
    served: str  # SERVED_MODEL or SERVED_COUNT: what ranks the type after this decision
    reason: str
    challenger: dict[str, float] | None
    champion: dict[str, float] | None
    rule: dict[str, float]
    champion_id: str | None
    keep_champion: bool = False  # the existing champion keeps serving

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def gate_metrics(
    scores: np.ndarray, labels: np.ndarray, keys: np.ndarray, capacity_share: float = 0.05
) -> dict[str, float]:
    """Point metrics of one ranking on the fold, in review order."""
    k = capacity(len(scores), capacity_share)
    return {
        "precision_at_k": precision_at(scores, labels, k, keys),
        "average_precision": safe_ap(scores, labels),
        "k": float(k),
        "positives": float(labels.sum()),
    }


def paired_win_share(
    scores: np.ndarray, count: np.ndarray, labels: np.ndarray, keys: np.ndarray, capacity_share: float = 0.05
) -> float:
    """Share of paired bootstrap resamples of the fold in which ``scores`` finds more positives than the red-flag
    ``count`` among the first k (ties count half). NaN when the fold has no positives."""
    return pooled_win_share([(scores, labels, keys)], [count], capacity_share)


Window = tuple[np.ndarray, np.ndarray, np.ndarray]  # (scores, labels, tie-break keys) of one held-out window


def pooled_gate_metrics(windows: list[Window], capacity_share: float = 0.05) -> dict[str, float]:
    """``gate_metrics`` over several held-out windows, each reviewed at its own capacity: precision@k is the
    positives found in all the windows' first k over the sum of their k; average precision is the windows' mean
    weighted by their positives."""
    per = [gate_metrics(s, y, keys, capacity_share) for s, y, keys in windows]
    k = sum(m["k"] for m in per)
    positives = sum(m["positives"] for m in per)
    aps = [
        (m["average_precision"], m["positives"])
        for m in per
        if m["positives"] and not math.isnan(m["average_precision"])
    ]
    return {
        "precision_at_k": sum(m["precision_at_k"] * m["k"] for m in per if not math.isnan(m["precision_at_k"])) / k
        if k
        else float("nan"),
        "average_precision": sum(a * w for a, w in aps) / sum(w for _, w in aps) if aps else float("nan"),
        "k": float(k),
        "positives": float(positives),
        "windows": float(len(windows)),
    }


def pooled_win_share(model: list[Window], count: list[np.ndarray], capacity_share: float = 0.05) -> float:
    """``paired_win_share`` over several held-out windows: in each paired resample every window is resampled
    (the same draws for the model and the count) and the positives found in each window's first k are added up.
    ``count``: the red-flag count of each window's entities. NaN when no window has a positive."""
    found_model: np.ndarray | None = None
    found_count: np.ndarray | None = None
    for (scores, labels, keys), rule in zip(model, count, strict=True):
        if not labels.sum():
            continue
        k = capacity(len(scores), capacity_share)
        runs = bootstrap_rankings(
            {"model": scores, "count": rule}, labels, [k], keys, GATE_RESAMPLES, GATE_SEED, random_name=None
        )
        a = np.nan_to_num(runs["model"][f"precision_at_{k}"]) * k
        b = np.nan_to_num(runs["count"][f"precision_at_{k}"]) * k
        found_model = a if found_model is None else found_model + a
        found_count = b if found_count is None else found_count + b
    if found_model is None or found_count is None:
        return float("nan")
    return float(((found_model > found_count) + 0.5 * (found_model == found_count)).mean())


def clears_bar(
    metrics: dict[str, float], bar: dict[str, float], bar_name: str = "the red-flag count"
) -> tuple[bool, str]:
    """Whether a ranking's fold metrics (with its ``paired_win_share`` against the ranking ``bar`` measures, named
    ``bar_name``) clear that bar: ahead at capacity in ``MIN_PAIRED_WIN_SHARE`` of paired resamples and a higher
    average precision."""
    share, ap, ap_bar = metrics["paired_win_share"], metrics["average_precision"], bar["average_precision"]
    if math.isnan(ap) or math.isnan(share):
        return False, "no new positives on the held-out fold, so nothing can be shown to rank better"
    if share < MIN_PAIRED_WIN_SHARE:
        return False, (
            f"beats {bar_name} at capacity in {share:.0%} of paired resamples "
            f"(needs {MIN_PAIRED_WIN_SHARE:.0%}; precision@k {metrics['precision_at_k']:.3f} vs "
            f"{bar['precision_at_k']:.3f})"
        )
    if not math.isnan(ap_bar) and ap <= ap_bar:
        return False, f"average precision {ap:.3f} is not above {bar_name}'s {ap_bar:.3f}"
    return True, (
        f"beats {bar_name} in {share:.0%} of paired resamples, average precision {ap:.3f} vs {ap_bar:.3f}, "
        f"precision@k {metrics['precision_at_k']:.3f} vs {bar['precision_at_k']:.3f}"
    )


def _beats_champion(a: dict[str, float], b: dict[str, float]) -> tuple[bool, str]:
    ap_a, ap_b, pk_a, pk_b = a["average_precision"], b["average_precision"], a["precision_at_k"], b["precision_at_k"]
    if not math.isnan(ap_b) and ap_a <= ap_b:
        return False, f"average precision {ap_a:.3f} is not above {ap_b:.3f}"
    if not math.isnan(pk_b) and pk_a < pk_b:
        return False, f"precision@k {pk_a:.3f} is below {pk_b:.3f}"
    return True, f"average precision {ap_a:.3f} vs {ap_b:.3f}, precision@k {pk_a:.3f} vs {pk_b:.3f}"


def decide(
    challenger: dict[str, float] | None,
    rule: dict[str, float],
    champion: dict[str, float] | None,
    champion_id: str | None,
    no_model_reason: str | None = None,
) -> GateDecision:
    """What serves the type: the challenger, the current champion, or the red-flag count (see module docstring).

    ``challenger`` / ``champion``: ``gate_metrics`` plus ``paired_win_share``; ``challenger`` is None when
    training produced no model (``no_model_reason``)."""
    champion_ok, why_champion = clears_bar(champion, rule) if champion is not None else (False, "no champion")

    def verdict(promote: bool, served: str, reason: str, keep_champion: bool = False) -> GateDecision:
        return GateDecision(promote, served, reason, challenger, champion, rule, champion_id, keep_champion)

    if challenger is None:
        why = f"no model: {no_model_reason}"
        if champion_ok:
            return verdict(False, SERVED_MODEL, f"{why}; champion {champion_id} keeps serving ({why_champion})", True)
        return verdict(False, SERVED_COUNT, f"{why}; the red-flag count serves")
    ok, why = clears_bar(challenger, rule)
    if not ok:
        if champion_ok:
            return verdict(
                False, SERVED_MODEL, f"challenger {why}; champion {champion_id} keeps serving ({why_champion})", True
            )
        return verdict(False, SERVED_COUNT, f"the challenger {why}; the red-flag count serves")
    if champion is None or not champion_ok:
        lead = "no champion yet" if champion is None else f"champion {champion_id} no longer clears the bar"
        return verdict(True, SERVED_MODEL, f"{lead}; the challenger {why}")
    better, why_better = _beats_champion(challenger, champion)
    if not better:
        reason = f"does not beat champion {champion_id}: {why_better}; the champion keeps serving"
        return verdict(False, SERVED_MODEL, reason, True)
    return verdict(True, SERVED_MODEL, f"beats champion {champion_id} ({why_better}) and {why}")
