"""Scoring: every entity of a type gets a calibrated probability, a risk band, its rank (within the type and
within its region), and its top reasons rendered through the indicator registry.

When no model is champion for a type (the gate kept every model as challenger because none beat the rule
baseline), the type is ranked by the rule-based red-flag count instead, with probabilities from the count's
own calibration on the held-out fold, and the reasons are the indicators past their thresholds. The model id
then reads ``RULE_BASELINE`` so nobody mistakes the ranking for a model's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from features.build import FeatureTable, red_flag_matrix
from features.registry import BY_ID, for_entity, indicator_of
from models.blend import RuleCalibration
from models.bundle import LoadedModel
from models.datasets import feature_frame
from models.ranking import ranks, ranks_within, tiebreak_keys
from models.reasons import MIN_CONTRIBUTION, Reason, docs_link, encode_reasons

RULE_BASELINE = "rule-baseline"
# Risk bands by rank share within the type: (band, upper bound of the rank share). The "high" band is the
# default inspection capacity (top 5%), the next 15% are "elevated".
BANDS: tuple[tuple[str, float], ...] = (("high", 0.05), ("elevated", 0.20), ("low", 1.0))
TOP_REASONS = 5


def band_of(rank_share: np.ndarray) -> np.ndarray:
    """Band names for ranks expressed as shares in (0, 1] (rank / n)."""
    out = np.full(len(rank_share), BANDS[-1][0], dtype=object)
    for name, upper in reversed(BANDS):
        out[rank_share <= upper] = name
    return out


@dataclass(frozen=True)
class ScoredType:
    entity_type: str
    model_id: str
    rows: list[dict[str, Any]]  # columns of store.tables.scores (without run_id)
    scope: list[dict[str, Any]]  # columns of store.tables.score_scope (without run_id)


def _column(table: pa.Table, name: str) -> np.ndarray:
    return np.asarray(table.column(name).to_numpy(zero_copy_only=False), dtype=float)


class _ReasonBuilder:
    """Typed reasons through the registry; the detail text of a repeated (indicator, value, num, den) is formatted
    once (scoring builds up to five reasons for every entity of the world)."""

    def __init__(self, indicator_ids: list[str], peers: dict[str, float]) -> None:
        self.indicators = [BY_ID[i] for i in indicator_ids]
        self.titles = [ind.title for ind in self.indicators]
        self.peers = [peers.get(i, 0.0) for i in indicator_ids]
        self.links = [docs_link(i) for i in indicator_ids]
        self.ids = indicator_ids
        self.details: dict[tuple[int, float | None, float | None, float | None], str] = {}

    def detail(self, j: int, v: float | None, num: float | None, den: float | None) -> str:
        key = (j, v, num, den)
        text = self.details.get(key)
        if text is None:
            text = self.indicators[j].detail.format(num=num or 0.0, den=den or 0.0, value=v or 0.0, peer=self.peers[j])
            self.details[key] = text
        return text

    def reasons(
        self,
        keep: int,
        idx: list[int],
        contrib: list[float],
        value: list[float | None],
        shown: list[float | None],
        num: list[float | None],
        den: list[float | None],
    ) -> list[Reason]:
        """The first ``keep`` reasons of one entity; ``value`` raw (cache key), ``shown`` rounded for display,
        None where not measured; ``contrib`` already rounded."""
        ids, titles, links, detail = self.ids, self.titles, self.links, self.detail
        return [
            Reason(ids[j], titles[j], sv, detail(j, v, n, d), c, links[j])
            for j, c, v, sv, n, d in zip(
                idx[:keep], contrib[:keep], value[:keep], shown[:keep], num[:keep], den[:keep], strict=True
            )
        ]


@dataclass(frozen=True)
class _Served:
    """What serves a type's ranking and the per-indicator weights its reasons are picked by."""

    model_id: str
    features: list[str]
    probability: np.ndarray  # [n] calibrated
    raw: np.ndarray  # [n] the served score (what evaluation and the gate rank by)
    base: np.ndarray  # [n] the score's base value (log-odds; 0 for the red-flag count)
    reason_weights: np.ndarray  # [n, len(features)]


def _served(ft: FeatureTable, model: LoadedModel | None, rule_calibration: RuleCalibration | None) -> _Served:
    flags = _column(ft.table, "red_flags")
    if model is None:
        features = [ind.feature for ind in for_entity(ft.entity)]
        # Rule reasons: each indicator past its threshold in its risk direction counts one red flag.
        return _Served(
            RULE_BASELINE,
            features,
            (rule_calibration or RuleCalibration.uninformed()).predict(flags),
            flags.copy(),
            np.zeros(ft.table.num_rows),
            red_flag_matrix(ft, features),
        )
    x = feature_frame(ft.table, model.features)
    # [n, f + 1]: the served score's additive parts (TreeSHAP log-odds scaled by the blend, plus the count's
    # share per red flag); last column = base value. They sum to the served score.
    matrix = red_flag_matrix(ft, model.features)
    contrib = model.blend.contributions(model.contributions(x), matrix)
    raw = model.served_score(x, matrix)  # what evaluation and the gate rank by, bit for bit
    return _Served(model.model_id, model.features, model.calibrator.predict(raw), raw, contrib[:, -1], contrib[:, :-1])


def _top_reasons(ft: FeatureTable, features: list[str], reason_weights: np.ndarray) -> list[str]:
    """Per entity, the stored text of its reasons: the ``TOP_REASONS`` largest weights of at least
    ``MIN_CONTRIBUTION``, largest first."""
    t = ft.table
    n = t.num_rows
    values = np.column_stack([_column(t, f) for f in features]) if features else np.zeros((n, 0))
    nums = np.column_stack([_column(t, f + "__num") for f in features]) if features else np.zeros((n, 0))
    dens = np.column_stack([_column(t, f + "__den") for f in features]) if features else np.zeros((n, 0))
    k = min(TOP_REASONS, len(features))
    # Top-k contributions per row without a full sort: partition, then order the k survivors.
    part = np.argpartition(-reason_weights, k - 1, axis=1)[:, :k] if k else np.zeros((n, 0), dtype=np.int64)
    part_vals = np.take_along_axis(reason_weights, part, axis=1)
    order = np.argsort(-part_vals, axis=1, kind="stable")
    top_idx = np.take_along_axis(part, order, axis=1)
    top_contrib = np.take_along_axis(part_vals, order, axis=1)

    def gathered(a: np.ndarray, digits: int | None = None) -> list[list[float | None]]:
        """Top-k values per row as lists, NaN as None (optionally rounded for display)."""
        top = np.take_along_axis(a, top_idx, axis=1)
        if digits is not None:
            top = np.round(top, digits)
        boxed = top.astype(object)
        boxed[np.isnan(top)] = None
        out: list[list[float | None]] = boxed.tolist()
        return out

    builder = _ReasonBuilder([indicator_of(f) for f in features], ft.peers)
    keep = (top_contrib >= MIN_CONTRIBUTION).sum(axis=1).tolist()  # sorted descending: a prefix is kept
    return [
        encode_reasons(builder.reasons(*row))
        for row in zip(
            keep,
            top_idx.tolist(),
            np.round(top_contrib, 6).tolist(),
            gathered(values),
            gathered(values, 6),
            gathered(nums),
            gathered(dens),
            strict=True,
        )
    ]


def score_type(
    ft: FeatureTable, as_of: str, model: LoadedModel | None, rule_calibration: RuleCalibration | None = None
) -> ScoredType:
    """Scores, bands, ranks and top reasons of every entity in ``ft`` (see the module docstring)."""
    ids = [str(v) for v in ft.table.column("entity_id").to_pylist()]
    served = _served(ft, model, rule_calibration)
    reasons = _top_reasons(ft, served.features, served.reason_weights)
    profile = _profile(ft, ids)
    # The one review order (models.ranking): the served score, then the entity's tie-break key.
    keys = tiebreak_keys(ids)
    rank = ranks(served.raw, keys)
    rank_region = ranks_within([p["region"] or p["country"] for p in profile], served.raw, keys)
    bands = band_of(rank / max(len(ids), 1))
    columns = zip(
        ids,
        profile,
        served.probability.tolist(),
        bands.tolist(),
        rank.tolist(),
        rank_region.tolist(),
        _column(ft.table, "red_flags").astype(np.int64).tolist(),
        reasons,
        served.base.tolist(),
        served.raw.tolist(),
        strict=True,
    )
    rows = [
        {
            "entity_type": ft.entity,
            "entity_id": entity_id,
            **where,
            "probability": p,
            "band": band,
            "rank": r,
            "rank_in_region": rr,
            "red_flags": f,
            "model_id": served.model_id,
            "as_of": as_of,
            "reasons": why,
            "base_value": b,
            "raw_score": score,
        }
        for entity_id, where, p, band, r, rr, f, why, b, score in columns
    ]
    scope = [{"entity_type": ft.entity, **r} for r in ft.scope.to_pylist()] if ft.scope is not None else []
    return ScoredType(ft.entity, served.model_id, rows, scope)


PROFILE_COLUMNS = ("name", "country", "region", "sector", "address")


def _profile(ft: FeatureTable, ids: list[str]) -> list[dict[str, str | None]]:
    """Profile columns per entity, in the order of ``ids`` (missing profile rows give None, and so does a column a
    profile lacks: feature files written before it existed)."""
    if ft.profile is None:
        return [dict.fromkeys(PROFILE_COLUMNS) for _ in ids]
    profile = ft.profile
    profile_ids = profile.column("entity_id").to_pylist()
    columns = [
        profile.column(c).to_pylist() if c in profile.column_names else [None] * profile.num_rows
        for c in PROFILE_COLUMNS
    ]
    if profile_ids != ids:  # both are ordered by entity id when written by build_features; re-align otherwise
        position = {e: i for i, e in enumerate(profile_ids)}
        columns = [[col[position[e]] if e in position else None for e in ids] for col in columns]
    return [dict(zip(PROFILE_COLUMNS, values, strict=True)) for values in zip(*columns, strict=True)]
