"""Empirical-Bayes shrinkage of shares: a beta prior fitted on the peers (every entity of the type as of the same
day) and each entity's rate as its posterior mean, so that 1 of 1 does not outrank 30 of 100.

Pure functions; features.build fits one prior per shrunk indicator and writes it to cutoffs.json.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


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
    """Beta-binomial prior of the rates ``x / n`` over the peers with ``n > 0``, by the method of moments.

    Mean: the pooled rate. Spread between entities: the variance of the raw rates (weighted by ``n``) less
    the binomial variance they would show if every entity had the pooled rate; strength = mean (1 - mean) /
    spread - 1, clipped to [MIN_PRIOR_STRENGTH, MAX_PRIOR_STRENGTH]. With no peer evidence: a uniform prior.
    """
    seen = (n > 0) & x.notna() & n.notna()
    xs, ns = x[seen].to_numpy(dtype=float), n[seen].to_numpy(dtype=float)
    if not len(ns) or ns.sum() <= 0:
        return BetaPrior(1.0, 1.0)
    mean = float(np.clip(xs.sum() / ns.sum(), 1e-6, 1 - 1e-6))
    rates = np.clip(xs / ns, 0.0, 1.0)
    weights = ns / ns.sum()
    observed = float(np.sum(weights * (rates - mean) ** 2))
    sampling = float(np.sum(weights * mean * (1 - mean) / ns))
    spread = observed - sampling
    strength = mean * (1 - mean) / spread - 1 if spread > 0 else MAX_PRIOR_STRENGTH
    strength = float(np.clip(strength, MIN_PRIOR_STRENGTH, MAX_PRIOR_STRENGTH))
    return BetaPrior(mean * strength, (1 - mean) * strength)


def shrunk_rate(raw: np.ndarray, num: np.ndarray, den: np.ndarray, prior: BetaPrior) -> np.ndarray:
    """The posterior mean rate ``(num + alpha) / (den + alpha + beta)`` under the peers' beta prior: the raw
    rate pulled toward the peers' rate, the more the fewer cases it rests on; NaN where the raw rate is
    undefined (no cases, or fewer than the indicator's minimum)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        posterior = (num + prior.alpha) / (den + prior.alpha + prior.beta)
    return np.where(np.isnan(raw), np.nan, posterior)
