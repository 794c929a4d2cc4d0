"""The label-free weights of the red flags (models/latent.py)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.latent import EM_ITERATIONS, SCREEN_ROWS, _expectation_maximisation, fit_latent_flag_weights
from models.ranking import precision_at, tiebreak_keys


def _world(seed: int, n: int = 4000) -> tuple[np.ndarray, np.ndarray]:
    """Flags of a population with a 6% risk class: flags 0-2 fire together in it, flag 3 fires at the same
    rate in both classes (noise), flag 4 fires less in the risk class, flag 5 never fires."""
    rng = np.random.default_rng(seed)
    risk = rng.random(n) < 0.06
    rates_risk = np.array([0.55, 0.5, 0.45, 0.3, 0.05, 0.0])
    rates_rest = np.array([0.04, 0.05, 0.06, 0.3, 0.2, 0.0])
    rates = np.where(risk[:, None], rates_risk, rates_rest)
    return (rng.random(rates.shape) < rates).astype(float), risk.astype(float)


def test_flags_that_fire_together_outweigh_noise_and_the_weighted_count_finds_more() -> None:
    flags, risk = _world(3)
    fit = fit_latent_flag_weights(flags)
    w = fit.weights
    assert min(w[:3]) > 3 * w[3]  # the telling flags count more than the noise flag
    assert w[4] == 0.0 and w[5] == 0.0  # one that marks the other class, one that never fires: no weight
    assert 0.02 < fit.prevalence < 0.15
    keys = tiebreak_keys([str(i) for i in range(len(risk))])
    k = 200
    assert precision_at(fit.score(flags), risk, k, keys) > precision_at(flags.sum(axis=1), risk, k, keys)


def test_the_fit_is_deterministic_and_reads_only_the_flags() -> None:
    flags, _ = _world(5)
    assert fit_latent_flag_weights(flags) == fit_latent_flag_weights(flags.copy())
    empty = fit_latent_flag_weights(np.zeros((0, 3)))
    assert empty.weights == (0.0, 0.0, 0.0)


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=1, max_value=8))
def test_weights_are_never_negative_and_a_silent_flag_weighs_nothing(seed: int, columns: int) -> None:
    rng = np.random.default_rng(seed)
    flags = (rng.random((300, columns)) < rng.random(columns) * 0.3).astype(float)
    flags[:, 0] = 0.0
    fit = fit_latent_flag_weights(flags)
    assert all(w >= 0 for w in fit.weights) and fit.weights[0] == 0.0
    assert len(fit.weights) == columns and 0.0 < fit.prevalence < 1.0
    # More red flags, never a lower score: the weighted count is monotone in every flag.
    more = flags.copy()
    more[:, -1] = 1.0
    assert np.all(fit.score(more) >= fit.score(flags))


def _inspected_world(seed: int, n: int = 6000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flags 0-2 come from inspections, which reach 30% of the population at random (unmeasured elsewhere: 0);
    flags 3-4 are measured for everyone and fire more in the 7% risk class. Returns (flags, measured, risk)."""
    rng = np.random.default_rng(seed)
    risk = rng.random(n) < 0.07
    rates = np.where(risk[:, None], [0.6, 0.5, 0.5, 0.35, 0.3], [0.03, 0.04, 0.05, 0.08, 0.1])
    measured = np.ones((n, 5), dtype=bool)
    measured[:, :3] = (rng.random(n) < 0.3)[:, None]
    flags = ((rng.random(rates.shape) < rates) & measured).astype(float)
    return flags, measured, risk.astype(float)


def test_an_unmeasured_indicator_is_missing_not_silent() -> None:
    found_missing = found_silent = 0.0
    for seed in range(4):
        flags, measured, risk = _inspected_world(seed)
        keys = tiebreak_keys([str(i) for i in range(len(risk))])
        k = int(0.05 * len(risk))
        missing = fit_latent_flag_weights(flags, measured)
        silent = fit_latent_flag_weights(flags)
        found_missing += precision_at(missing.score(flags), risk, k, keys)
        found_silent += precision_at(silent.score(flags), risk, k, keys)
        # Flags measured for everyone weigh more once the uninspected are no longer taken as clean.
        assert min(missing.weights[3:]) > min(silent.weights[3:])
    assert found_missing > found_silent
    # Every indicator measured: the same fit as without the mask.
    flags, measured, _ = _inspected_world(9)
    assert fit_latent_flag_weights(flags, np.ones_like(measured)) == fit_latent_flag_weights(flags)


def test_a_never_measured_indicator_weighs_nothing_and_shapes_must_match() -> None:
    flags, measured, _ = _inspected_world(2)
    measured[:, 1] = False
    fit = fit_latent_flag_weights(flags, measured)
    assert fit.weights[1] == 0.0 and all(w > 0 for j, w in enumerate(fit.weights) if j != 1)
    with pytest.raises(ValueError, match="shape"):
        fit_latent_flag_weights(flags, measured[:, :3])


def _sized_world(seed: int, n: int = 3000) -> tuple[np.ndarray, np.ndarray]:
    """Flags 0-2 fire together on the 25% large entities (more placements, more links: not a sign of abuse);
    flags 3-5 fire together in the 5% risk class. Returns (flags, risk)."""
    rng = np.random.default_rng(seed)
    large = rng.random(n) < 0.25
    risk = rng.random(n) < 0.05
    rates = np.zeros((n, 6))
    rates[:, :3] = np.where(large[:, None], 0.35, 0.04)
    rates[:, 3:] = np.where(risk[:, None], 0.6, 0.04)
    return (rng.random(rates.shape) < rates).astype(float), risk.astype(float)


def _fit_from_count_top_share(flags: np.ndarray) -> tuple[float, np.ndarray]:
    """(log likelihood, weights) of the one fit started from the count's top 10%."""
    count = flags.sum(axis=1)
    start = np.where(count >= np.quantile(count, 0.9), 0.9, 0.1)
    fit = _expectation_maximisation(flags, np.ones_like(flags), flags.mean(axis=0), start[:, None], EM_ITERATIONS)
    rate_risk, rate_rest = fit.rate_risk[0], fit.rate_rest[0]
    weights = np.log(rate_risk / rate_rest) - np.log((1 - rate_risk) / (1 - rate_rest))
    return float(fit.log_likelihood[0]), np.maximum(weights, 0.0)


# 9,000 rows: more than SCREEN_ROWS, so the starts are compared on a sample and the likeliest fitted on every row.
@pytest.mark.parametrize(("seed", "n"), [(1, 3000), (6, 3000), (2, 9000)])
def test_a_start_held_by_large_entities_gives_way_to_the_likelier_fit(seed: int, n: int) -> None:
    assert (n > SCREEN_ROWS) == (n == 9000)
    flags, risk = _sized_world(seed, n)
    keys = tiebreak_keys([str(i) for i in range(len(risk))])
    k = n // 20
    trapped_ll, trapped_weights = _fit_from_count_top_share(flags)
    fit = fit_latent_flag_weights(flags)
    assert fit.log_likelihood > trapped_ll
    assert precision_at(flags @ trapped_weights, risk, k, keys) < 0.1  # the size class, not the risk class
    assert precision_at(fit.score(flags), risk, k, keys) > precision_at(flags.sum(axis=1), risk, k, keys)


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=0, max_value=10_000))
def test_the_kept_fit_is_never_less_likely_than_the_count_start(seed: int) -> None:
    flags, _ = _sized_world(seed, n=400)
    assert fit_latent_flag_weights(flags).log_likelihood >= _fit_from_count_top_share(flags)[0] - 1e-6
