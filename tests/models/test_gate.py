"""Champion / challenger gate: promotion only when the challenger beats the rule baseline and the champion."""

from __future__ import annotations

import math

import numpy as np

from models.gate import decide, gate_metrics


def m(ap: float, pk: float) -> dict[str, float]:
    return {"average_precision": ap, "precision_at_k": pk, "k": 10.0, "positives": 5.0}


def test_first_model_is_promoted_only_if_it_beats_the_rule() -> None:
    assert decide(m(0.4, 0.5), m(0.3, 0.5), None, None).promote
    lost = decide(m(0.3, 0.5), m(0.4, 0.5), None, None)
    assert not lost.promote and "rule baseline" in lost.reason and "0.300" in lost.reason


def test_higher_average_precision_with_lower_precision_at_k_is_not_enough() -> None:
    decision = decide(m(0.5, 0.2), m(0.3, 0.4), None, None)
    assert not decision.promote and "precision@k 0.200 is below 0.400" in decision.reason


def test_challenger_must_also_beat_the_champion() -> None:
    kept = decide(m(0.5, 0.5), m(0.3, 0.4), m(0.6, 0.5), "employer-old")
    assert not kept.promote and "employer-old" in kept.reason
    promoted = decide(m(0.7, 0.6), m(0.3, 0.4), m(0.6, 0.5), "employer-old")
    assert promoted.promote and promoted.champion_id == "employer-old"


def test_no_observed_positives_never_promotes() -> None:
    decision = decide(m(math.nan, math.nan), m(math.nan, math.nan), None, None)
    assert not decision.promote and "no observed positives" in decision.reason


def test_gate_metrics_rank_the_same_labels() -> None:
    labels = np.array([1, 0, 0, 1] + [0] * 36, dtype=float)
    perfect = gate_metrics(labels.copy(), labels)
    reversed_ = gate_metrics(-labels, labels)
    assert perfect["average_precision"] == 1.0 and perfect["precision_at_k"] == 1.0
    assert decide(perfect, reversed_, None, None).promote
