"""Empirical-Bayes shrinkage of shares: a beta prior fitted on the peers (every entity of the type as of the same
day) and each entity's rate as its posterior mean, so that 1 of 1 does not outrank 30 of 100.

Pure functions; features.build fits one prior per shrunk indicator and writes it to cutoffs.json.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar
from scipy.special import betaln


@dataclass(frozen=True)
class BetaPrior:
    """A beta prior on a rate, fitted on the peers: mean ``alpha / (alpha + beta)``, strength ``alpha + beta``
    (the number of pseudo-observations a rate of one entity is pulled toward the mean with)."""

    alpha: float
    beta: float

    @property
    def mean(self) -> float:
        return self.alpha / (self.alpha + self.beta)


MIN_PRIOR_STRENGTH = 1.0  # pseudo-observations: the prior never weighs less than one observation
MAX_PRIOR_STRENGTH = 1_000.0  # nor more than 1,000 (peers all at one rate: no spread between entities)


def fit_beta_prior(x: pd.Series, n: pd.Series) -> BetaPrior:
    """Beta-binomial prior of the rates ``x / n`` over the peers with ``n > 0``.

    Mean: the pooled rate. Strength: the one in [MIN_PRIOR_STRENGTH, MAX_PRIOR_STRENGTH] under which the peers'
    counts are likeliest (the beta-binomial marginal likelihood, maximised over log strength). Most peers rest on
    one or two cases, where the method of moments cannot tell the spread between entities from sampling noise;
    the likelihood also reads how often the same entity is found again. With no peer evidence: a uniform prior.
    """
    seen = (n > 0) & x.notna() & n.notna()
    ns = n[seen].to_numpy(dtype=float)
    xs = np.clip(x[seen].to_numpy(dtype=float), 0.0, ns)
    if not len(ns) or ns.sum() <= 0:
        return BetaPrior(1.0, 1.0)
    mean = float(np.clip(xs.sum() / ns.sum(), 1e-6, 1 - 1e-6))
    # Peers share few distinct (x, n) pairs: the likelihood sums over those, each times its peers.
    pairs = pd.DataFrame({"hits": xs, "cases": ns}).value_counts()  # hashed: no sort of every row
    hits = pairs.index.get_level_values("hits").to_numpy(dtype=float)
    misses = pairs.index.get_level_values("cases").to_numpy(dtype=float) - hits
    peers = pairs.to_numpy(dtype=float)

    def negative_log_likelihood(strength: float) -> float:
        a, b = mean * strength, (1 - mean) * strength
        return -float(np.sum(peers * (betaln(hits + a, misses + b) - betaln(a, b))))

    fitted = minimize_scalar(
        lambda log_strength: negative_log_likelihood(float(np.exp(log_strength))),
        bounds=(np.log(MIN_PRIOR_STRENGTH), np.log(MAX_PRIOR_STRENGTH)),
        method="bounded",
        options={"xatol": 1e-4},
    )
    inside = float(np.clip(np.exp(fitted.x), MIN_PRIOR_STRENGTH, MAX_PRIOR_STRENGTH))
    strength = min((inside, MIN_PRIOR_STRENGTH, MAX_PRIOR_STRENGTH), key=negative_log_likelihood)
    return BetaPrior(mean * strength, (1 - mean) * strength)


def shrunk_rate(raw: np.ndarray, num: np.ndarray, den: np.ndarray, prior: BetaPrior) -> np.ndarray:
    """The posterior mean rate ``(num + alpha) / (den + alpha + beta)`` under the peers' beta prior: the raw
    rate pulled toward the peers' rate, the more the fewer cases it rests on; NaN where the raw rate is
    undefined (no cases, or fewer than the indicator's minimum)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        posterior = (num + prior.alpha) / (den + prior.alpha + prior.beta)
    return np.where(np.isnan(raw), np.nan, posterior)
