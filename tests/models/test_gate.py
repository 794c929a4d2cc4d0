"""The gate: a model serves a type only if it beats the red-flag count on the fold (paired resamples at capacity
and average precision) and, to replace a champion that also clears that bar, beats the champion."""

from __future__ import annotations

import math

import numpy as np
import pytest

from models.gate import (
    MIN_PAIRED_WIN_SHARE,
    SERVED_COUNT,
    SERVED_MODEL,
    clears_bar,
    decide,
    gate_metrics,
    paired_win_share,
    pooled_gate_metrics,
    pooled_win_share,
)
from models.ranking import review_order, tiebreak_keys


def m(ap: float, pk: float, share: float = 1.0) -> dict[str, float]:
    return {"average_precision": ap, "precision_at_k": pk, "k": 10.0, "positives": 5.0, "paired_win_share": share}


def fold(n: int = 400, positives: int = 40, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = np.zeros(n)
    labels[rng.choice(n, positives, replace=False)] = 1.0
    return labels, tiebreak_keys([f"e{i}" for i in range(n)])


def test_a_model_that_clears_the_count_serves_and_one_that_does_not_hands_the_type_to_the_count() -> None:
    served = decide(m(0.4, 0.5, 0.95), m(0.3, 0.4), None, None)
    assert served.promote and served.served == SERVED_MODEL
    lost = decide(m(0.4, 0.5, MIN_PAIRED_WIN_SHARE - 0.01), m(0.3, 0.4), None, None)
    assert not lost.promote and lost.served == SERVED_COUNT and "paired resamples" in lost.reason
    lower_ap = decide(m(0.3, 0.5, 0.95), m(0.4, 0.4), None, None)
    assert lower_ap.served == SERVED_COUNT and "average precision 0.300" in lower_ap.reason


def test_a_champion_that_clears_the_bar_keeps_serving_unless_the_challenger_beats_it() -> None:
    kept = decide(m(0.5, 0.5), m(0.3, 0.4), m(0.6, 0.5), "employer-old")
    assert not kept.promote and kept.keep_champion and kept.served == SERVED_MODEL and "employer-old" in kept.reason
    promoted = decide(m(0.7, 0.6), m(0.3, 0.4), m(0.6, 0.5), "employer-old")
    assert promoted.promote and promoted.champion_id == "employer-old"
    # A champion that no longer clears the bar is replaced by a challenger that does, or by the count.
    assert decide(m(0.5, 0.5), m(0.3, 0.4), m(0.2, 0.5, 0.3), "employer-old").promote
    assert decide(m(0.2, 0.5, 0.3), m(0.3, 0.4), m(0.2, 0.5, 0.3), "employer-old").served == SERVED_COUNT


def test_no_model_or_no_positives_means_the_count_serves() -> None:
    none = decide(None, m(0.3, 0.4), None, None, "3 observed positives in the training labels")
    assert none.served == SERVED_COUNT and "3 observed positives" in none.reason
    empty = decide(m(math.nan, math.nan, math.nan), m(math.nan, math.nan), None, None)
    assert empty.served == SERVED_COUNT and "no new positives" in empty.reason


def test_paired_win_share_separates_a_better_ranking_from_the_count_itself() -> None:
    labels, keys = fold()
    rng = np.random.default_rng(2)
    count = labels * rng.integers(0, 2, len(labels)) + rng.integers(0, 3, len(labels))  # weakly informative, ties
    perfect = labels + rng.random(len(labels)) * 0.1
    assert paired_win_share(perfect, count, labels, keys) >= 0.99
    assert paired_win_share(count, count, labels, keys) == 0.5  # identical rankings tie in every resample
    assert paired_win_share(-perfect, count, labels, keys) <= 0.01
    better = {**gate_metrics(perfect, labels, keys), "paired_win_share": paired_win_share(perfect, count, labels, keys)}
    ok, why = clears_bar(better, gate_metrics(count, labels, keys))
    assert ok, why


def test_gate_metrics_follow_the_review_order() -> None:
    labels, keys = fold(40, 4)
    perfect = gate_metrics(labels.copy(), labels, keys)
    assert perfect["average_precision"] == 1.0 and perfect["precision_at_k"] == 1.0
    flat = gate_metrics(np.zeros(40), labels, keys)  # all tied: the tie-break keys alone decide
    assert flat["precision_at_k"] == labels[review_order(np.zeros(40), keys)[:2]].mean()
    reversed_rows = gate_metrics(np.zeros(40), labels[::-1], keys[::-1])  # the same entities listed backwards
    assert reversed_rows == flat


def test_pooled_windows_add_evidence_and_one_window_is_the_fold() -> None:
    rng = np.random.default_rng(12)
    windows, counts = [], []
    for n in (400, 380):
        labels = (rng.random(n) < 0.05).astype(float)
        count = labels * 1.0 + rng.normal(0, 1.0, n)  # a noisy ranking
        better = labels * 1.6 + rng.normal(0, 1.0, n)  # a somewhat better one
        keys = tiebreak_keys([f"w{n}-{i}" for i in range(n)])
        windows.append((better, labels, keys))
        counts.append(count)
    one = pooled_win_share(windows[:1], counts[:1])
    assert one == paired_win_share(*windows[0][:1], counts[0], *windows[0][1:])
    both = pooled_win_share(windows, counts)
    assert both > min(one, pooled_win_share(windows[1:], counts[1:]))  # two windows: more of the same evidence
    pooled = pooled_gate_metrics(windows)
    singles = [gate_metrics(*w) for w in windows]
    assert pooled["k"] == sum(m["k"] for m in singles) and pooled["windows"] == 2.0
    found = sum(m["precision_at_k"] * m["k"] for m in singles)
    assert pooled["precision_at_k"] == pytest.approx(found / pooled["k"])
    assert np.isnan(pooled_win_share([(windows[0][0], np.zeros(400), windows[0][2])], [counts[0]]))


def test_gate_precision_breaks_ties_by_the_stable_key_not_the_row_order() -> None:
    keys = tiebreak_keys([f"e{i}" for i in range(100)])
    labels = np.zeros(100)
    labels[:5] = 1.0  # the first rows: what row order would review first among equal scores
    got = gate_metrics(np.zeros(100), labels, keys)
    assert got["k"] == 5.0
    assert got["precision_at_k"] == labels[review_order(np.zeros(100), keys)[:5]].mean() < 1.0
