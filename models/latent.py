"""Weights for the red flags learned without labels: a two-class latent model of the flags.

The red-flag count treats every flag as equally telling. Flags that fire together on the same entities more
often than chance say more than flags that fire alone; a latent class model (two classes, flags independent
within a class, fitted by expectation-maximisation on the flags of every entity of a type) measures that. Each
flag's weight is its log likelihood ratio between the risk class and the rest, so the score is a weighted
red-flag count: every part of it is one flag times its weight, as readable as the count itself.

Nothing here reads a label or the simulator's truth. Every flag is declared as raising risk, so the risk class
is the one in which each flag fires at least as often (a flag that would say otherwise gets weight 0); the
fit starts from the count's top share and is deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EM_ITERATIONS = 300
START_SHARE = 0.10  # the fit starts with the count's top 10% in the risk class
PRIOR_ROWS = 1.0  # pseudo-rows at the overall flag rate in each class (keeps rates off 0 and 1)
RATE_BOUNDS = (1e-4, 1 - 1e-4)


@dataclass(frozen=True)
class LatentFlagWeights:
    weights: tuple[float, ...]  # per flag column, >= 0: log likelihood ratio of the flag firing
    prevalence: float  # estimated share of entities in the risk class
    rate_risk: tuple[float, ...]  # per flag column: firing rate in the risk class
    rate_rest: tuple[float, ...]  # per flag column: firing rate in the other class

    def score(self, flags: np.ndarray) -> np.ndarray:
        """Weighted red-flag count of each row of ``flags`` ([n, columns] 0/1)."""
        return np.asarray(flags @ np.asarray(self.weights), dtype=float)


def fit_latent_flag_weights(flags: np.ndarray, measured: np.ndarray | None = None) -> LatentFlagWeights:
    """The latent class model of ``flags`` ([entities, flag columns] 0/1); columns that never fire get 0.

    ``measured`` ([entities, flag columns] bool, default all True): whether the indicator was measured for the
    entity at all (an employer never inspected has no inspection findings). An unmeasured indicator is missing,
    not silent: it leaves the entity's class likelihood as it is instead of counting as evidence that the flag
    does not fire. The score is the same weighted count of firing flags either way."""
    f = np.asarray(flags, dtype=float)
    n, m = f.shape
    if n == 0 or m == 0:
        return LatentFlagWeights((0.0,) * m, 0.0, (0.0,) * m, (0.0,) * m)
    seen = np.ones_like(f) if measured is None else np.asarray(measured, dtype=float)
    if seen.shape != f.shape:
        raise ValueError(f"measured has shape {seen.shape}, flags {f.shape}")
    f = f * seen  # a flag fires only where its indicator was measured
    unseen = seen.sum(axis=0) == 0
    overall = f.sum(axis=0) / np.maximum(seen.sum(axis=0), 1.0)  # firing rate among the measured
    count = f.sum(axis=1)
    start = count >= np.quantile(count, 1 - START_SHARE)
    risk = np.where(start, 0.9, 0.1)  # responsibility of the risk class per entity
    lo, hi = RATE_BOUNDS
    rate_risk = rate_rest = overall
    prevalence = float(risk.mean())
    for _ in range(EM_ITERATIONS):
        prevalence = float(np.clip(risk.mean(), lo, hi))
        rate_risk = (risk @ f + PRIOR_ROWS * overall) / (risk @ seen + PRIOR_ROWS)
        rate_rest = ((1 - risk) @ f + PRIOR_ROWS * overall) / ((1 - risk) @ seen + PRIOR_ROWS)
        against = rate_risk < rate_rest  # a flag declared as raising risk may not mark the other class
        rate_risk = np.clip(np.where(against, overall, rate_risk), lo, hi)
        rate_rest = np.clip(np.where(against, overall, rate_rest), lo, hi)
        silent = seen - f  # measured and not firing
        log_risk = np.log(prevalence) + f @ np.log(rate_risk) + silent @ np.log(1 - rate_risk)
        log_rest = np.log(1 - prevalence) + f @ np.log(rate_rest) + silent @ np.log(1 - rate_rest)
        risk = 1.0 / (1.0 + np.exp(np.clip(log_rest - log_risk, -50, 50)))
    # Firing moves the log odds by log(r1/r0) - log((1-r1)/(1-r0)) >= 0 when r1 >= r0; silence is the baseline.
    weights = np.log(rate_risk / rate_rest) - np.log((1 - rate_risk) / (1 - rate_rest))
    weights = np.where((overall > 0) & ~unseen, np.maximum(weights, 0.0), 0.0)
    return LatentFlagWeights(
        tuple(float(w) for w in weights),
        prevalence,
        tuple(float(r) for r in rate_risk),
        tuple(float(r) for r in rate_rest),
    )
