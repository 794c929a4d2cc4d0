"""Weights for the red flags learned without labels: a two-class latent model of the flags.

The red-flag count treats every flag as equally telling. Flags that fire together on the same entities more
often than chance say more than flags that fire alone; a latent class model (two classes, flags independent
within a class, fitted by expectation-maximisation on the flags of every entity of a type) measures that. Each
flag's weight is its log likelihood ratio between the risk class and the rest, so the score is a weighted
red-flag count: every part of it is one flag times its weight, as readable as the count itself.

Nothing here reads a label or the simulator's truth. Every flag is declared as raising risk, so the risk class
is the one in which each flag fires at least as often (a flag that would say otherwise gets weight 0).

Expectation-maximisation finds a local optimum of the likelihood, and which one depends on where it starts: flags
that fire together because an entity is large (many placements, many links) can hold a fit started from the
count's top share. As is usual for latent class models, the fit is run from several starts (the count's top
shares, then the entities each flag fires on) and the one with the highest log likelihood is kept; ties keep the
earlier start. Beyond ``SCREEN_ROWS`` entities the starts are compared on that many evenly spaced rows and the
likeliest is fitted on every row. Every start is deterministic, so the fit is too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EM_ITERATIONS = 300  # at most, per start
EM_TOLERANCE = 1e-7  # a start has converged once no entity's risk-class probability moves more than this
START_SHARES = (0.10, 0.05, 0.20, 0.30)  # starts with the count's top share in the risk class, then one per flag
SCREEN_ROWS = 4000  # rows every start is tried on; the likeliest start is then fitted on every row
PRIOR_ROWS = 1.0  # pseudo-rows at the overall flag rate in each class (keeps rates off 0 and 1)
RATE_BOUNDS = (1e-4, 1 - 1e-4)


@dataclass(frozen=True)
class LatentFlagWeights:
    weights: tuple[float, ...]  # per flag column, >= 0: log likelihood ratio of the flag firing
    prevalence: float  # estimated share of entities in the risk class
    rate_risk: tuple[float, ...]  # per flag column: firing rate in the risk class
    rate_rest: tuple[float, ...]  # per flag column: firing rate in the other class
    log_likelihood: float = 0.0  # of the flags under the fit (nats); the highest of the starts tried

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
    overall = f.sum(axis=0) / np.maximum(seen.sum(axis=0), 1.0)  # firing rate among the measured
    # Every start is tried on at most SCREEN_ROWS evenly spaced rows; the likeliest is then fitted on all rows.
    screen = np.unique(np.linspace(0, n - 1, min(n, SCREEN_ROWS)).astype(np.int64))
    screened = len(screen) < n
    best: _Fit | None = None
    best_start = START_SHARES_KEY
    for start in _starts(f[screen]):
        fit = _expectation_maximisation(f[screen], seen[screen], overall, _start_risk(f[screen], start))
        if best is None or fit.log_likelihood > best.log_likelihood:
            best, best_start = fit, start
    if best is None or screened:
        best = _expectation_maximisation(f, seen, overall, _start_risk(f, best_start))
    # Firing moves the log odds by log(r1/r0) - log((1-r1)/(1-r0)) >= 0 when r1 >= r0; silence is the baseline.
    weights = np.log(best.rate_risk / best.rate_rest) - np.log((1 - best.rate_risk) / (1 - best.rate_rest))
    weights = np.where((overall > 0) & (seen.sum(axis=0) > 0), np.maximum(weights, 0.0), 0.0)
    return LatentFlagWeights(
        tuple(float(w) for w in weights),
        best.prevalence,
        tuple(float(r) for r in best.rate_risk),
        tuple(float(r) for r in best.rate_rest),
        best.log_likelihood,
    )


@dataclass(frozen=True)
class _Fit:
    prevalence: float
    rate_risk: np.ndarray
    rate_rest: np.ndarray
    log_likelihood: float


Start = tuple[str, float]  # ("share", top share of the count) or ("flag", column): the entities put in the risk class
START_SHARES_KEY: Start = ("share", START_SHARES[0])


def _start_risk(f: np.ndarray, start: Start) -> np.ndarray:
    """Initial risk-class probabilities of ``start`` on the rows of ``f``."""
    kind, value = start
    if kind == "share":
        count = f.sum(axis=1)
        chosen = count >= np.quantile(count, 1 - value)
    else:
        chosen = f[:, int(value)] > 0
    return np.where(chosen, 0.9, 0.1)


def _starts(f: np.ndarray) -> list[Start]:
    """The starts that put a distinct, non-empty, non-total set of the rows of ``f`` in the risk class, in order:
    the count's top shares, then each flag's firing entities."""
    candidates: list[Start] = [("share", share) for share in START_SHARES]
    candidates += [("flag", float(j)) for j in range(f.shape[1])]
    starts: list[Start] = []
    chosen: list[np.ndarray] = []
    for key in candidates:
        c = _start_risk(f, key) > 0.5
        if 0 < c.sum() < len(c) and not any(np.array_equal(c, s) for s in chosen):
            starts.append(key)
            chosen.append(c)
    return starts


def _expectation_maximisation(f: np.ndarray, seen: np.ndarray, overall: np.ndarray, risk: np.ndarray) -> _Fit:
    """Two-class EM from the risk-class probabilities ``risk``; flags that would mark the other class are held
    at the overall rate in both classes."""
    lo, hi = RATE_BOUNDS
    silent = seen - f  # measured and not firing
    prevalence, rate_risk, rate_rest = float(risk.mean()), overall, overall
    log_risk = log_rest = np.zeros(len(f))
    for _ in range(EM_ITERATIONS):
        prevalence = float(np.clip(risk.mean(), lo, hi))
        rate_risk = (risk @ f + PRIOR_ROWS * overall) / (risk @ seen + PRIOR_ROWS)
        rate_rest = ((1 - risk) @ f + PRIOR_ROWS * overall) / ((1 - risk) @ seen + PRIOR_ROWS)
        against = rate_risk < rate_rest  # a flag declared as raising risk may not mark the other class
        rate_risk = np.clip(np.where(against, overall, rate_risk), lo, hi)
        rate_rest = np.clip(np.where(against, overall, rate_rest), lo, hi)
        log_risk = np.log(prevalence) + f @ np.log(rate_risk) + silent @ np.log(1 - rate_risk)
        log_rest = np.log(1 - prevalence) + f @ np.log(rate_rest) + silent @ np.log(1 - rate_rest)
        updated = 1.0 / (1.0 + np.exp(np.clip(log_rest - log_risk, -50, 50)))
        converged = float(np.max(np.abs(updated - risk))) < EM_TOLERANCE
        risk = updated
        if converged:
            break
    return _Fit(prevalence, rate_risk, rate_rest, float(np.logaddexp(log_risk, log_rest).sum()))
