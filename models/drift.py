"""Drift: the population stability index (PSI) of each indicator and of the score bands, between the champion's
training window (the reference) and a score run.

PSI = sum over bins of (a - e) * ln(a / e), with e the reference share and a the current share of a bin (both
floored at ``EPS``). Indicator bins are the reference's deciles (distinct edges only, so zero-inflated indicators
get fewer bins) plus one bin for missing values.

No edge sits at the reference's maximum: with right-closed bins it would leave the open top bin empty in the
reference, and a group at the maximum that moves up at all would read as a wholly new category (floored share:
ln(a / EPS) ~ 9): a count that many entities share at its maximum would be flagged whenever that count grows,
with nothing displaced. Values above the reference's maximum
therefore fall in its top bin; a tree model trained on the reference cannot split above its largest value and
scores them like it anyway. A constant reference keeps its value as the edge, so that an indicator no entity
showed in the training window coming alive still reads as drift.

Score bands are fixed by rank share in every run (models/scoring.py BANDS), so their PSI is taken on the
*reference probability cut-offs*: the share of the current entities whose probability reaches the reference's
"high" and "elevated" cut-offs.

Above ``PSI_THRESHOLD`` (0.25, the usual "significant shift" level) on any indicator or on the score bands, the
run flags the model and marks its retraining due.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

PSI_THRESHOLD = 0.25
EPS = 1e-4
QUANTILES = np.linspace(0.1, 0.9, 9)


def bin_edges(reference: np.ndarray) -> list[float]:
    """Inner bin edges from the reference's deciles (finite values only; duplicates dropped; none at the maximum
    unless the reference is constant)."""
    finite = reference[np.isfinite(reference)]
    if len(finite) == 0:
        return []
    edges = sorted({float(v) for v in np.quantile(finite, QUANTILES)})
    top = float(finite.max())
    if edges[-1] >= top and float(finite.min()) < top:
        edges.pop()
    return edges


def shares(values: np.ndarray, edges: list[float]) -> np.ndarray:
    """Share per bin: len(edges) + 1 value bins (right-closed) and a last bin for missing values."""
    values = np.asarray(values, dtype=float)
    missing = ~np.isfinite(values)
    idx = np.searchsorted(np.asarray(edges, dtype=float), values[~missing], side="left")
    counts = np.bincount(idx, minlength=len(edges) + 1).astype(float)
    counts = np.append(counts, float(missing.sum()))
    return counts / max(len(values), 1)


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    e = np.maximum(np.asarray(expected, dtype=float), EPS)
    a = np.maximum(np.asarray(actual, dtype=float), EPS)
    return float(np.sum((a - e) * np.log(a / e)))


@dataclass(frozen=True)
class Reference:
    """What a score run is compared with: bins and shares per feature, the band cut-offs and band shares."""

    model_id: str
    as_of: str
    edges: dict[str, list[float]]
    expected: dict[str, list[float]]
    band_cutoffs: list[float]  # probability at which "high", then "elevated" starts
    band_expected: list[float]

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def band_shares(probability: np.ndarray, cutoffs: list[float]) -> np.ndarray:
    """Shares of entities at or above cutoffs[0] (high), in [cutoffs[1], cutoffs[0]) (elevated), below (low)."""
    p = np.asarray(probability, dtype=float)
    n = max(len(p), 1)
    high = float((p >= cutoffs[0]).sum())
    elevated = float(((p >= cutoffs[1]) & (p < cutoffs[0])).sum())
    return np.array([high, elevated, len(p) - high - elevated]) / n


def reference_of(
    model_id: str, as_of: str, features: dict[str, np.ndarray], probability: np.ndarray, bands: tuple[float, float]
) -> Reference:
    """The reference from the training window's feature columns and the champion's probabilities on them;
    ``bands`` are the rank shares of the high and elevated bands (0.05, 0.20)."""
    edges = {f: bin_edges(v) for f, v in features.items()}
    expected = {f: shares(v, edges[f]).tolist() for f, v in features.items()}
    p = np.asarray(probability, dtype=float)
    cutoffs = [float(np.quantile(p, 1 - bands[0])), float(np.quantile(p, 1 - bands[1]))] if len(p) else [1.0, 1.0]
    return Reference(model_id, as_of, edges, expected, cutoffs, band_shares(p, cutoffs).tolist())


@dataclass(frozen=True)
class Drift:
    indicators: dict[str, float]  # feature -> PSI
    bands: float  # PSI of the score bands
    threshold: float

    @property
    def max_psi(self) -> float:
        return max(self.indicators.values(), default=0.0)

    @property
    def flagged(self) -> bool:
        return self.max_psi > self.threshold or self.bands > self.threshold

    @property
    def drifted(self) -> list[str]:
        return sorted((f for f, v in self.indicators.items() if v > self.threshold), key=lambda f: -self.indicators[f])


def drift(
    reference: Reference, features: dict[str, np.ndarray], probability: np.ndarray, threshold: float = PSI_THRESHOLD
) -> Drift:
    """PSI of every reference feature present in ``features`` and of the score bands."""
    per = {
        f: round(psi(np.asarray(reference.expected[f]), shares(features[f], reference.edges[f])), 6)
        for f in reference.edges
        if f in features
    }
    bands = psi(np.asarray(reference.band_expected), band_shares(probability, reference.band_cutoffs))
    return Drift(per, round(bands, 6), threshold)
