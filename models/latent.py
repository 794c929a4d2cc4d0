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
count's top share. As is usual for latent class models, the fit is tried from several starts (the count's top
shares, then the entities each flag fires on) in short runs on at most ``SCREEN_ROWS`` evenly spaced entities;
the likeliest of them and the count's top share are run to convergence on every entity, and the one with the
higher log likelihood is kept (ties: the count's top share). Every start is deterministic, so the fit is too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EM_ITERATIONS = 300  # at most, per start
EM_TOLERANCE = 1e-7  # a start has converged once no entity's risk-class probability moves more than this
START_SHARES = (0.10, 0.05, 0.20, 0.30)  # starts with the count's top share in the risk class, then one per flag
SCREEN_ROWS = 4000  # rows every start is tried on; the likeliest and the count's top share then run on every row
SCREEN_ITERATIONS = 60  # EM iterations of each start before the starts are compared
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
    # Every start runs SCREEN_ITERATIONS on at most SCREEN_ROWS evenly spaced rows, all at once; the likeliest
    # of them and the count's top share are then run to convergence on every row, and the likelier kept.
    screen = np.unique(np.linspace(0, n - 1, min(n, SCREEN_ROWS)).astype(np.int64))
    f_screen = f[screen]
    starts = _starts(f_screen) or [(START_SHARES_KEY, _start_class(f_screen, START_SHARES_KEY))]
    screened = _expectation_maximisation(
        f_screen, seen[screen], overall, _responsibilities([c for _, c in starts]), SCREEN_ITERATIONS
    )
    likeliest = starts[int(np.argmax(screened.log_likelihood))][0]  # the first of equals: the earlier start
    finalists = [START_SHARES_KEY] if likeliest == START_SHARES_KEY else [START_SHARES_KEY, likeliest]
    risk = _responsibilities([_start_class(f, start) for start in finalists])
    fits = _expectation_maximisation(f, seen, overall, risk, EM_ITERATIONS)
    k = int(np.argmax(fits.log_likelihood))
    rate_risk, rate_rest = fits.rate_risk[k], fits.rate_rest[k]
    # Firing moves the log odds by log(r1/r0) - log((1-r1)/(1-r0)) >= 0 when r1 >= r0; silence is the baseline;
    # a flag that never fires where measured (overall rate 0) weighs nothing.
    weights = np.log(rate_risk / rate_rest) - np.log((1 - rate_risk) / (1 - rate_rest))
    weights = np.where(overall > 0, np.maximum(weights, 0.0), 0.0)
    return LatentFlagWeights(
        tuple(float(w) for w in weights),
        float(fits.prevalence[k]),
        tuple(float(r) for r in rate_risk),
        tuple(float(r) for r in rate_rest),
        float(fits.log_likelihood[k]),
    )


@dataclass(frozen=True)
class _Fits:
    """EM fits from several starts at once: per start, its prevalence, its rates per flag and log likelihood."""

    prevalence: np.ndarray  # [starts]
    rate_risk: np.ndarray  # [starts, flags]
    rate_rest: np.ndarray  # [starts, flags]
    log_likelihood: np.ndarray  # [starts], nats


Start = tuple[str, float]  # ("share", top share of the count) or ("flag", column): the entities put in the risk class
START_SHARES_KEY: Start = ("share", START_SHARES[0])


def _start_class(f: np.ndarray, start: Start) -> np.ndarray:
    """The rows of ``f`` that ``start`` puts in the risk class (bool)."""
    kind, value = start
    if kind == "share":
        count = f.sum(axis=1)
        return np.asarray(count >= np.quantile(count, 1 - value))
    return np.asarray(f[:, int(value)] > 0)


def _responsibilities(classes: list[np.ndarray]) -> np.ndarray:
    """Initial risk-class probabilities ([rows, starts]) of the starts' classes: 0.9 in the class, 0.1 out."""
    return np.where(np.stack(classes, axis=1), 0.9, 0.1)


def _starts(f: np.ndarray) -> list[tuple[Start, np.ndarray]]:
    """The starts, each with its class on the rows of ``f``, that put a distinct, non-empty, non-total set of rows
    in the risk class, in order: the count's top shares, then each flag's firing entities."""
    candidates: list[Start] = [("share", share) for share in START_SHARES]
    candidates += [("flag", j) for j in range(f.shape[1])]
    starts: list[tuple[Start, np.ndarray]] = []
    for key in candidates:
        chosen = _start_class(f, key)
        if 0 < chosen.sum() < len(chosen) and not any(np.array_equal(chosen, c) for _, c in starts):
            starts.append((key, chosen))
    return starts


def _expectation_maximisation(
    f: np.ndarray, seen: np.ndarray, overall: np.ndarray, risk: np.ndarray, iterations: int
) -> _Fits:
    """Two-class EM from each column of the risk-class probabilities ``risk`` ([rows, starts]), all starts at once,
    for at most ``iterations`` or until every one has converged; flags that would mark the other class are held
    at the overall rate in both classes."""
    lo, hi = RATE_BOUNDS
    silent = seen - f  # measured and not firing
    prevalence = risk.mean(axis=0)
    rate_risk = rate_rest = np.tile(overall, (risk.shape[1], 1))
    log_risk = log_rest = np.zeros_like(risk)
    for _ in range(iterations):
        prevalence = np.clip(risk.mean(axis=0), lo, hi)
        rate_risk = (risk.T @ f + PRIOR_ROWS * overall) / (risk.T @ seen + PRIOR_ROWS)
        rate_rest = ((1 - risk).T @ f + PRIOR_ROWS * overall) / ((1 - risk).T @ seen + PRIOR_ROWS)
        against = rate_risk < rate_rest  # a flag declared as raising risk may not mark the other class
        rate_risk = np.clip(np.where(against, overall, rate_risk), lo, hi)
        rate_rest = np.clip(np.where(against, overall, rate_rest), lo, hi)
        log_risk = np.log(prevalence) + f @ np.log(rate_risk).T + silent @ np.log(1 - rate_risk).T
        log_rest = np.log(1 - prevalence) + f @ np.log(rate_rest).T + silent @ np.log(1 - rate_rest).T
        updated = 1.0 / (1.0 + np.exp(np.clip(log_rest - log_risk, -50, 50)))
        converged = float(np.max(np.abs(updated - risk))) < EM_TOLERANCE
        risk = updated
        if converged:
            break
    return _Fits(prevalence, rate_risk, rate_rest, np.logaddexp(log_risk, log_rest).sum(axis=0))
