"""Shares shrunk toward the peer rate (empirical Bayes, features/shrinkage.py): the feature value is the posterior
mean under a beta prior fitted on the peers, the red flag and the reason's "x of n" read the raw share."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from features.build import build_features, reason_detail, threshold_column
from features.registry import BY_ID, ENTITY_TYPES, for_entity
from features.shrinkage import MAX_PRIOR_STRENGTH, MIN_PRIOR_STRENGTH, BetaPrior, fit_beta_prior, shrunk_rate
from tests.features.test_build import GOLDEN, ingest_folder


def _peers(rng: np.random.Generator, n: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Peers with rates spread around 10% and between 5 and 60 cases each."""
    den = rng.integers(5, 60, n).astype(float)
    rate = rng.beta(4, 36, n)
    return rng.binomial(den.astype(int), rate).astype(float), den


def test_one_of_one_does_not_outrank_thirty_of_a_hundred() -> None:
    num, den = _peers(np.random.default_rng(7))
    num, den = np.append(num, [1.0, 30.0]), np.append(den, [1.0, 100.0])
    prior = fit_beta_prior(pd.Series(num), pd.Series(den))
    shrunk = shrunk_rate(num / den, num, den, prior)
    one_of_one, thirty_of_hundred = shrunk[-2], shrunk[-1]
    assert one_of_one < thirty_of_hundred
    assert num[-2] / den[-2] > num[-1] / den[-1]  # the raw shares rank them the other way
    assert 0.05 < prior.mean < 0.2 and one_of_one < 0.5


@pytest.mark.parametrize("x, n", [(0.0, 1.0), (1.0, 1.0), (3.0, 10.0), (30.0, 100.0), (900.0, 1000.0)])
def test_the_shrunk_rate_lies_between_the_raw_rate_and_the_peers_and_nears_the_raw_with_more_cases(
    x: float, n: float
) -> None:
    prior = BetaPrior(2.0, 18.0)
    raw = x / n
    (one,) = shrunk_rate(np.array([raw]), np.array([x]), np.array([n]), prior)
    (more,) = shrunk_rate(np.array([raw]), np.array([10 * x]), np.array([10 * n]), prior)
    low, high = sorted((raw, prior.mean))
    assert low <= one <= high
    assert abs(more - raw) <= abs(one - raw)


def _rate(x: float, n: float, prior: BetaPrior) -> float:
    return float(shrunk_rate(np.array([x / n if n else np.nan]), np.array([x]), np.array([n]), prior)[0])


@given(
    alpha=st.floats(0.05, 50),
    beta=st.floats(0.05, 500),
    successes=st.integers(0, 20),
    extra=st.integers(0, 20),
    scale=st.integers(2, 50),
)
def test_more_evidence_at_the_same_raw_rate_lies_further_from_the_prior(
    alpha: float, beta: float, successes: int, extra: int, scale: int
) -> None:
    prior = BetaPrior(alpha, beta)
    x, n = successes, successes + extra + 1
    small, large = _rate(x, n, prior), _rate(x * scale, n * scale, prior)
    raw = x / n
    # Both between the prior mean and the raw rate; the larger sample nearer the raw rate.
    assert abs(large - raw) <= abs(small - raw) + 1e-12
    assert abs(large - prior.mean) >= abs(small - prior.mean) - 1e-12
    assert min(raw, prior.mean) - 1e-12 <= small <= max(raw, prior.mean) + 1e-12


def test_one_of_one_stays_near_the_prior_when_the_peer_rate_is_low() -> None:
    # 2,000 peers at about 1%, with some spread between them; two entities: 1 of 1 and 30 of 100.
    n = np.array([100.0] * 1000 + [20.0] * 1000 + [1.0, 100.0])
    x = np.array([1.0] * 900 + [3.0] * 100 + [0.0] * 950 + [2.0] * 50 + [1.0, 30.0])
    prior = fit_beta_prior(pd.Series(x), pd.Series(n))
    assert 0.005 < prior.mean < 0.02
    rates = shrunk_rate(x / n, x, n, prior)
    one_of_one, thirty_of_hundred = rates[-2], rates[-1]
    assert one_of_one < thirty_of_hundred
    assert one_of_one - prior.mean < (thirty_of_hundred - prior.mean) / 2  # 1 of 1 pulled much nearer the prior
    assert rates.argmax() == len(rates) - 1


def test_the_prior_is_the_pooled_rate_and_its_strength_is_bounded() -> None:
    same = fit_beta_prior(pd.Series([5.0] * 50), pd.Series([100.0] * 50))  # no spread beyond sampling
    assert abs(same.mean - 0.05) < 1e-9 and same.alpha + same.beta == 1_000.0
    spread = fit_beta_prior(pd.Series([0.0, 10.0] * 50), pd.Series([10.0] * 100))  # all or nothing
    assert abs(spread.mean - 0.5) < 1e-9 and spread.alpha + spread.beta == 1.0
    assert fit_beta_prior(pd.Series([0.0]), pd.Series([0.0])) == BetaPrior(1.0, 1.0)
    assert math.isnan(_rate(0, 0, same))  # no evidence, no rate


def test_no_cases_no_rate() -> None:
    got = shrunk_rate(np.array([np.nan, 0.5]), np.array([0.0, 1.0]), np.array([0.0, 2.0]), BetaPrior(1.0, 1.0))
    assert math.isnan(got[0]) and got[1] == pytest.approx(0.5)


def test_feature_tables_hold_the_shrunk_share_and_the_raw_one(tmp_path: Path) -> None:
    lake = ingest_folder(tmp_path / "home", GOLDEN / "basic")
    try:
        tables = build_features(lake, date(2024, 6, 30), event_time=True)
    finally:
        lake.close()
    shares = 0
    for entity in ENTITY_TYPES:
        ft = tables[entity]
        for ind in for_entity(entity):
            if not ind.shrunk:
                assert f"{ind.feature}__raw" not in ft.table.column_names
                continue
            alpha, beta = ft.priors[ind.id]
            for row in ft.table.to_pylist():
                num, den, raw = row[f"{ind.feature}__num"], row[f"{ind.feature}__den"], row[f"{ind.feature}__raw"]
                if raw is None:
                    assert row[ind.feature] is None
                    continue
                assert raw == pytest.approx(num / den)
                assert row[ind.feature] == pytest.approx((num + alpha) / (den + alpha + beta))
                shares += 1
        # The red-flag count reads the raw values against the cut-offs.
        for row in ft.table.to_pylist():
            flags = sum(
                1
                for ind in for_entity(entity)
                if ind.direction > 0
                and row[threshold_column(ind)] is not None
                and not math.isnan(row[threshold_column(ind)])
                and row[threshold_column(ind)] > ft.cutoffs[ind.id]
            )
            assert row["red_flags"] == flags
    assert shares > 10


def test_the_reason_keeps_x_of_n_and_says_the_shrunk_rate() -> None:
    ind = BY_ID["E01"]
    row: dict[str, float | None] = {
        ind.feature: 0.0734,
        f"{ind.feature}__num": 1.0,
        f"{ind.feature}__den": 1.0,
        f"{ind.feature}__raw": 1.0,
    }
    text = reason_detail(ind, row, 0.05)
    assert text == (
        "1 of 1 inspections found identity documents retained; peers (all employers) 5.0%; "
        "adjusted toward the peers for its number of cases: 7.3%"
    )


def test_the_shrunk_rate_has_as_many_decimals_as_the_peers_rate_beside_it() -> None:
    ind = BY_ID["B04"]  # peers' rate to two decimals (border officers admit few fraudulent documents)
    row: dict[str, float | None] = {ind.feature: 0.00224, f"{ind.feature}__num": 1.0, f"{ind.feature}__den": 16.0}
    text = reason_detail(ind, row, 0.0015)
    assert text.endswith("peers (all border officers) 0.15%; adjusted toward the peers for its number of cases: 0.22%")


def test_the_prior_recovers_a_known_spread_when_most_peers_rest_on_one_case() -> None:
    # Written here: rates drawn from Beta(0.1, 2.9) (mean 3.3%, strength 3); 70% of peers seen once. The counts
    # alone cannot tell that spread from sampling noise; how often the same peer is found again can.
    rng = np.random.default_rng(11)
    den = rng.choice([1.0, 2.0, 5.0], size=3_000, p=[0.7, 0.2, 0.1])
    num = rng.binomial(den.astype(int), rng.beta(0.1, 2.9, den.size)).astype(float)
    prior = fit_beta_prior(pd.Series(num), pd.Series(den))
    assert 1.5 < prior.alpha + prior.beta < 6.0
    assert abs(prior.mean - num.sum() / den.sum()) < 1e-9
    (two_of_two,) = shrunk_rate(np.array([1.0]), np.array([2.0]), np.array([2.0]), prior)
    assert two_of_two > 10 * prior.mean  # two findings in two visits stay telling


@given(
    cases=st.lists(st.tuples(st.integers(0, 30), st.integers(1, 30)), min_size=1, max_size=60),
)
def test_the_prior_keeps_the_pooled_rate_and_a_strength_within_its_bounds(cases: list[tuple[int, int]]) -> None:
    hits = pd.Series([float(min(h, n)) for h, n in cases])
    seen = pd.Series([float(n) for _, n in cases])
    prior = fit_beta_prior(hits, seen)
    strength = prior.alpha + prior.beta
    assert MIN_PRIOR_STRENGTH - 1e-9 <= strength <= MAX_PRIOR_STRENGTH + 1e-9
    pooled = float(np.clip(hits.sum() / seen.sum(), 1e-6, 1 - 1e-6))
    assert prior.mean == pytest.approx(pooled, rel=1e-9, abs=1e-12)
