"""PSI per indicator and per score band (models/drift.py): no drift on the same population, the flag above the
threshold when an indicator's distribution or the score mix shifts."""

from __future__ import annotations

import numpy as np

from models.drift import PSI_THRESHOLD, bin_edges, drift, psi, reference_of, shares


def _population(rng: np.random.Generator, n: int, shift: float = 0.0) -> tuple[dict[str, np.ndarray], np.ndarray]:
    share = np.where(rng.random(n) < 0.7 - shift, 0.0, rng.beta(2, 5, n) + shift)  # zero-inflated share
    count = rng.poisson(3 + 10 * shift, n).astype(float)
    count[rng.random(n) < 0.1] = np.nan  # missing values have their own bin
    probability = 1 / (1 + np.exp(-(rng.normal(-2, 1, n) + 3 * shift)))
    return {"E01_w1095": share, "E05_w1095": count}, probability


def test_same_population_does_not_drift() -> None:
    rng = np.random.default_rng(1)
    features, p = _population(rng, 5_000)
    ref = reference_of("m", "2024-01-01", features, p, (0.05, 0.20))
    again, p2 = _population(rng, 5_000)
    d = drift(ref, again, p2)
    assert not d.flagged and d.max_psi < 0.05 and d.bands < 0.05


def test_shifted_population_flags_the_model_and_names_the_indicators() -> None:
    rng = np.random.default_rng(2)
    features, p = _population(rng, 5_000)
    ref = reference_of("m", "2024-01-01", features, p, (0.05, 0.20))
    shifted, p2 = _population(rng, 5_000, shift=0.3)
    d = drift(ref, shifted, p2)
    assert d.flagged and d.max_psi > PSI_THRESHOLD and d.bands > PSI_THRESHOLD
    assert set(d.drifted) == {"E01_w1095", "E05_w1095"}


def test_bins_and_psi_basics() -> None:
    values = np.array([0, 0, 0, 0, 1, 2, 3, np.nan])
    edges = bin_edges(values)
    s = shares(values, edges)
    assert abs(s.sum() - 1) < 1e-12 and s[-1] == 1 / 8
    assert psi(s, s) == 0.0
    assert psi(np.array([0.5, 0.5]), np.array([0.9, 0.1])) > PSI_THRESHOLD


def test_a_group_at_the_maximum_moving_up_is_not_a_new_category() -> None:
    """Most entities share the reference's largest value (say, a count over a network that joins most of them)
    and the group's value grows: the same bin, no drift. A constant reference (an indicator
    no entity showed in training) coming alive still drifts."""
    rng = np.random.default_rng(4)
    reference = np.where(rng.random(4_000) < 0.85, 105.0, rng.integers(0, 3, 4_000).astype(float))
    current = np.where(reference == 105.0, 135.0, reference)
    edges = bin_edges(reference)
    assert max(edges) < 105.0
    assert psi(shares(reference, edges), shares(current, edges)) < 0.01
    never = np.zeros(4_000)
    alive = np.where(rng.random(4_000) < 0.1, 1.0, 0.0)
    edges = bin_edges(never)
    assert edges == [0.0] and psi(shares(never, edges), shares(alive, edges)) > PSI_THRESHOLD
