"""US DOL ratio indicators shrunk toward the peer rate (beta-binomial prior fitted on the peers)."""

from __future__ import annotations

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from features.us_dol import BetaPrior, fit_beta_prior, shrink


def _rate(x: float, n: float, prior: BetaPrior) -> float:
    return float(shrink(pd.Series([x]), pd.Series([n]), prior).iloc[0])


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


def test_one_of_one_does_not_outrank_thirty_of_a_hundred_when_the_peer_rate_is_low() -> None:
    # 2,000 peers at about 1%, with some spread between them; two entities: 1 of 1 and 30 of 100.
    n = pd.Series([100.0] * 1000 + [20.0] * 1000 + [1.0, 100.0])
    x = pd.Series([1.0] * 900 + [3.0] * 100 + [0.0] * 950 + [2.0] * 50 + [1.0, 30.0])
    prior = fit_beta_prior(x, n)
    assert 0.005 < prior.mean < 0.02
    rates = shrink(x, n, prior)
    one_of_one, thirty_of_hundred = rates.iloc[-2], rates.iloc[-1]
    assert one_of_one < thirty_of_hundred
    assert one_of_one - prior.mean < (thirty_of_hundred - prior.mean) / 2  # 1 of 1 pulled much nearer the prior
    assert rates.rank(ascending=False).iloc[-1] == 1


def test_the_prior_is_the_pooled_rate_and_its_strength_is_bounded() -> None:
    same = fit_beta_prior(pd.Series([5.0] * 50), pd.Series([100.0] * 50))  # no spread beyond sampling
    assert abs(same.mean - 0.05) < 1e-9 and same.alpha + same.beta == 1_000.0
    spread = fit_beta_prior(pd.Series([0.0, 10.0] * 50), pd.Series([10.0] * 100))  # all or nothing
    assert abs(spread.mean - 0.5) < 1e-9 and spread.alpha + spread.beta == 1.0
    assert fit_beta_prior(pd.Series([0.0]), pd.Series([0.0])) == BetaPrior(1.0, 1.0)
    assert pd.isna(_rate(0, 0, same))  # no evidence, no rate
