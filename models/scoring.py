"""Scoring: every entity of a type gets a calibrated probability, a risk band, its rank (within the type and
within its region), and its top reasons rendered through the indicator registry.

When no model is champion for a type (the gate kept every model as challenger because none beat the rule
baseline), the type is ranked by the rule-based red-flag count instead, with probabilities from the count's
own calibration on the held-out fold, and the reasons are the indicators past their thresholds. The model id
then reads ``RULE_BASELINE`` so nobody mistakes the ranking for a model's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from features.build import FeatureTable, red_flag_matrix
from features.registry import BY_ID, for_entity, indicator_of
from models.blend import RuleCalibration
from models.bundle import LoadedModel
from models.datasets import feature_frame
from models.explain import DOCS_BASE, MIN_CONTRIBUTION
from models.ranking import ranks, ranks_within, tiebreak_keys

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
    rows: list[dict[str, Any]]  # columns of service.store.scores (without run_id)
    scope: list[dict[str, Any]]  # columns of service.store.score_scope (without run_id)


def _column(table: pa.Table, name: str) -> np.ndarray:
    return np.asarray(table.column(name).to_numpy(zero_copy_only=False), dtype=float)


class _ReasonRenderer:
    """Reasons as JSON text, rendered through the registry; the detail text of a repeated (indicator, value,
    num, den) is formatted once (scoring renders up to five reasons for every entity of the world)."""

    def __init__(self, indicator_ids: list[str], peers: dict[str, float]) -> None:
        self.heads = []
        for i in indicator_ids:
            ind = BY_ID[i]
            self.heads.append(f'{{"indicator_id":{json.dumps(ind.id)},"title":{json.dumps(ind.title)},"value":')
        self.indicators = [BY_ID[i] for i in indicator_ids]
        self.peers = [peers.get(i, 0.0) for i in indicator_ids]
        self.links = [json.dumps(f"{DOCS_BASE}/{i}.md") for i in indicator_ids]
        self.details: dict[tuple[int, float | None, float | None, float | None], str] = {}

    def detail(self, j: int, v: float | None, num: float | None, den: float | None) -> str:
        key = (j, v, num, den)
        text = self.details.get(key)
        if text is None:
            text = json.dumps(
                self.indicators[j].detail.format(num=num or 0.0, den=den or 0.0, value=v or 0.0, peer=self.peers[j])
            )
            self.details[key] = text
        return text

    def render(
        self,
        keep: int,
        idx: list[int],
        contrib: list[float],
        value: list[float | None],
        shown: list[float | None],
        num: list[float | None],
        den: list[float | None],
    ) -> str:
        """The first ``keep`` reasons of one entity; ``value`` raw (cache key), ``shown`` rounded for display,
        None where not measured; ``contrib`` already rounded."""
        heads, links, detail = self.heads, self.links, self.detail
        return (
            "["
            + ",".join(
                f"{heads[j]}{'null' if sv is None else repr(sv)},"
                f'"detail":{detail(j, v, n, d)},"contribution":{c!r},"link":{links[j]}}}'
                for j, c, v, sv, n, d in zip(
                    idx[:keep], contrib[:keep], value[:keep], shown[:keep], num[:keep], den[:keep], strict=True
                )
            )
            + "]"
        )


def score_type(
    ft: FeatureTable, as_of: str, model: LoadedModel | None, rule_calibration: RuleCalibration | None = None
) -> ScoredType:
    """Scores, bands, ranks and top reasons of every entity in ``ft`` (see the module docstring)."""
    t = ft.table
    n = t.num_rows
    ids = [str(v) for v in t.column("entity_id").to_pylist()]
    flags = _column(t, "red_flags")
    if model is not None:
        features = model.features
        x = feature_frame(t, features)
        # [n, f + 1]: the served score's additive parts (TreeSHAP log-odds scaled by the blend, plus the count's
        # share per red flag); last column = base value. They sum to the served score.
        matrix = red_flag_matrix(ft, features)
        contrib = model.blend.contributions(model.contributions(x), matrix)
        raw = model.served_score(x, matrix)  # what evaluation and the gate rank by, bit for bit
        probability = model.calibrator.predict(raw)
        base = contrib[:, -1]
        reason_weights = contrib[:, :-1]
        model_id = model.model_id
    else:
        features = [ind.feature for ind in for_entity(ft.entity)]
        probability = (rule_calibration or RuleCalibration.uninformed()).predict(flags)
        raw = flags.copy()
        base = np.zeros(n)
        # Rule reasons: each indicator past its threshold in its risk direction counts one red flag.
        reason_weights = red_flag_matrix(ft, features)
        model_id = RULE_BASELINE
    indicator_ids = [indicator_of(f) for f in features]
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

    profile = _profile(ft, ids)
    # The one review order (models.ranking): the served score, then the entity's tie-break key.
    keys = tiebreak_keys(ids)
    rank = ranks(raw, keys)
    rank_region = ranks_within([p["region"] or p["country"] for p in profile], raw, keys)
    bands = band_of(rank / max(n, 1))
    renderer = _ReasonRenderer(indicator_ids, ft.peers)

    def gathered(a: np.ndarray, digits: int | None = None) -> list[list[float | None]]:
        """Top-k values per row as lists, NaN as None (optionally rounded for display)."""
        top = np.take_along_axis(a, top_idx, axis=1)
        if digits is not None:
            top = np.round(top, digits)
        boxed = top.astype(object)
        boxed[np.isnan(top)] = None
        out: list[list[float | None]] = boxed.tolist()
        return out

    keep = (top_contrib >= MIN_CONTRIBUTION).sum(axis=1).tolist()  # sorted descending: a prefix is kept
    reasons = [
        renderer.render(*row)
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
    columns = zip(
        ids,
        profile,
        probability.tolist(),
        bands.tolist(),
        rank.tolist(),
        rank_region.tolist(),
        flags.astype(np.int64).tolist(),
        reasons,
        base.tolist(),
        raw.tolist(),
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
            "model_id": model_id,
            "as_of": as_of,
            "reasons": why,
            "base_value": b,
            "raw_score": score,
        }
        for entity_id, where, p, band, r, rr, f, why, b, score in columns
    ]
    scope = [{"entity_type": ft.entity, **r} for r in ft.scope.to_pylist()] if ft.scope is not None else []
    return ScoredType(ft.entity, model_id, rows, scope)


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
