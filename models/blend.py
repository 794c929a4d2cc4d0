"""The served score of a trained type: a monotone blend of the trees' raw score and the (weighted) red-flag
count, its calibration to a probability, and the red-flag count's own calibration for when the count serves."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from models.latent import fit_latent_flag_weights


def weighted_count(flags: np.ndarray, flag_weights: tuple[float, ...] = ()) -> np.ndarray:
    """Each row's red flags ([n, features] 0/1) added up, each by its weight (none given: each counts 1)."""
    if flag_weights:
        return np.asarray(flags @ np.asarray(flag_weights), dtype=float)
    return np.asarray(flags.sum(axis=1), dtype=float)


@dataclass(frozen=True)
class Blend:
    """The served score: ``weight`` x standardised model raw score + (1 - weight) x standardised red-flag count.

    The count is weighted when ``flag_weights`` is set (one weight per feature column, from
    ``models.latent``), plain otherwise. Monotone in both; centres and scales come from the fitting set. Its
    additive decomposition over indicators (``contributions``) keeps every score explainable: the count's part
    is spread over the red flags, each by its weight."""

    weight: float
    raw_center: float
    raw_scale: float
    count_center: float
    count_scale: float
    flag_weights: tuple[float, ...] = ()  # per feature column; empty: every red flag counts 1

    def count(self, flags: np.ndarray) -> np.ndarray:
        """The (weighted) red-flag count of each row of ``flags`` ([n, features] 0/1)."""
        return weighted_count(flags, self.flag_weights)

    @staticmethod
    def fit(weight: float, raw: np.ndarray, flags: np.ndarray, flag_weights: tuple[float, ...] = ()) -> Blend:
        count = weighted_count(flags, flag_weights)
        return Blend(
            weight,
            float(np.mean(raw)),
            float(np.std(raw)) or 1.0,
            float(np.mean(count)),
            float(np.std(count)) or 1.0,
            flag_weights,
        )

    def score(self, raw: np.ndarray, flags: np.ndarray) -> np.ndarray:
        """The served score from the model's raw score and the [n, features] red-flag matrix."""
        w = self.weight
        count = self.count(flags)
        if w == 0.0:
            return np.asarray((count - self.count_center) / self.count_scale, dtype=float)
        return np.asarray(
            w * (raw - self.raw_center) / self.raw_scale + (1 - w) * (count - self.count_center) / self.count_scale,
            dtype=float,
        )

    def contributions(self, contrib: np.ndarray, flag_matrix: np.ndarray) -> np.ndarray:
        """[n, f + 1] contributions to ``score``: TreeSHAP contributions ``contrib`` (last column the base value)
        scaled, plus (1 - weight) x flag weight / count scale per red flag (``flag_matrix``: 0/1 per column)."""
        w = self.weight
        out = contrib * (w / self.raw_scale)
        per_flag = np.asarray(self.flag_weights) if self.flag_weights else 1.0
        out[:, :-1] += flag_matrix * per_flag * ((1 - w) / self.count_scale)
        out[:, -1] += -w * self.raw_center / self.raw_scale - (1 - w) * self.count_center / self.count_scale
        return out

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_dict(spec: dict[str, Any]) -> Blend:
        return Blend(**{**spec, "flag_weights": tuple(spec.get("flag_weights") or ())})


IDENTITY_BLEND = Blend(1.0, 0.0, 1.0, 0.0, 1.0)


class Calibrator:
    """Isotonic regression on the time-held-out fold (Platt scaling when it has under 20 positives)."""

    def __init__(self) -> None:
        self.kind_ = "identity"
        self.model_: IsotonicRegression | LogisticRegression | None = None

    def fit(self, raw: np.ndarray, y: np.ndarray) -> Calibrator:
        if 0 < y.sum() < len(y):
            if y.sum() >= 20:
                self.model_ = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw, y)
                self.kind_ = "isotonic"
            else:
                self.model_ = LogisticRegression().fit(raw.reshape(-1, 1), y)
                self.kind_ = "platt"
        return self

    def predict(self, raw: np.ndarray) -> np.ndarray:
        if isinstance(self.model_, IsotonicRegression):
            return np.asarray(self.model_.predict(raw), dtype=float)
        if isinstance(self.model_, LogisticRegression):
            return np.asarray(self.model_.predict_proba(raw.reshape(-1, 1))[:, 1], dtype=float)
        return np.asarray(1.0 / (1.0 + np.exp(-raw)), dtype=float)


@dataclass(frozen=True)
class RuleCalibration:
    """Red-flag count -> probability: the observed label rate per count on the held-out fold, made monotone
    (isotonic). Used to give the rule baseline probabilities when it is what gets served."""

    flags: tuple[float, ...]  # knots (red-flag counts), increasing
    rates: tuple[float, ...]  # probability at each knot, non-decreasing

    @staticmethod
    def fit(red_flags: np.ndarray, y: np.ndarray) -> RuleCalibration:
        if len(y) == 0:
            return RuleCalibration.uninformed()
        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(red_flags, y)
        return RuleCalibration(tuple(map(float, iso.X_thresholds_)), tuple(map(float, iso.y_thresholds_)))

    @staticmethod
    def uninformed() -> RuleCalibration:
        return RuleCalibration((0.0,), (0.0,))

    def predict(self, red_flags: np.ndarray) -> np.ndarray:
        return np.asarray(np.interp(red_flags, np.asarray(self.flags), np.asarray(self.rates)), dtype=float)

    def as_dict(self) -> dict[str, list[float]]:
        return {"flags": list(self.flags), "rates": list(self.rates)}

    @staticmethod
    def from_dict(spec: dict[str, list[float]]) -> RuleCalibration:
        return RuleCalibration(tuple(spec["flags"]), tuple(spec["rates"]))


def latent_blend(flags: np.ndarray, x: np.ndarray) -> Blend:
    """The weighted red flags (``models.latent``) fitted on the entities of ``flags``, as a blend without trees;
    ``x``: the same entities' features (NaN: not measured, so the flag is missing rather than silent)."""
    return Blend.fit(0.0, np.zeros(len(flags)), flags, fit_latent_flag_weights(flags, ~np.isnan(x)).weights)
