"""Scoring split into partitions by a hash of the entity id, for a distributed task runner (``--runner dask``).

Each partition scores its rows with ``score_type`` (probability, TreeSHAP contributions and reasons are
computed row by row, so they do not depend on the partition); ``merge_scored`` then puts the rows back in the
feature table's order and ranks and bands them over the whole type, as ``score_type`` does in one piece. The
result equals ``score_type`` on the whole table (tests/flows/test_dask_runner.py checks it).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from features.build import FeatureTable
from models.blend import RuleCalibration
from models.bundle import LoadedModel
from models.ranking import ranks, ranks_within, tiebreak_keys
from models.scoring import RULE_BASELINE, ScoredType, band_of, score_type


def partition_of(entity_id: str, partitions: int) -> int:
    """A stable partition number in [0, partitions) for ``entity_id`` (the same on every machine and run)."""
    digest = hashlib.blake2b(entity_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % partitions


def partition_rows(ft: FeatureTable, part: int, partitions: int) -> np.ndarray:
    """Row positions of ``ft`` whose entity id hashes to ``part``, ascending."""
    ids = [str(v) for v in ft.table.column("entity_id").to_pylist()]
    return np.array([i for i, e in enumerate(ids) if partition_of(e, partitions) == part], dtype=np.int64)


@dataclass(frozen=True)
class ScoredPartition:
    entity_type: str
    model_id: str
    positions: list[int]  # row positions in the whole feature table
    rows: list[dict[str, Any]]  # score_type rows of those positions; ranks and bands are not final


def score_partition(
    ft: FeatureTable,
    part: int,
    partitions: int,
    as_of: str,
    model: LoadedModel | None,
    rule_calibration: RuleCalibration | None = None,
) -> ScoredPartition:
    """Score the rows of ``ft`` in partition ``part`` of ``partitions`` (ranks and bands still partial)."""
    positions = partition_rows(ft, part, partitions)
    model_id = model.model_id if model is not None else RULE_BASELINE
    if len(positions) == 0:
        return ScoredPartition(ft.entity, model_id, [], [])
    subset = replace(ft, table=ft.table.take(positions), scope=None)  # profile rows are matched by entity id
    scored = score_type(subset, as_of, model, rule_calibration)
    return ScoredPartition(ft.entity, scored.model_id, positions.tolist(), scored.rows)


def merge_scored(ft: FeatureTable, parts: list[ScoredPartition]) -> ScoredType:
    """The partitions of one entity type as one ``ScoredType``: rows in table order, ranked over the type."""
    n = ft.table.num_rows
    rows: list[dict[str, Any] | None] = [None] * n
    model_ids = {p.model_id for p in parts}
    if len(model_ids) != 1:
        raise ValueError(f"partitions of {ft.entity} were scored with different models: {sorted(model_ids)}")
    for p in parts:
        for position, row in zip(p.positions, p.rows, strict=True):
            rows[position] = row
    if any(r is None for r in rows):
        raise ValueError(f"partitions of {ft.entity} do not cover its {n} rows")
    whole = [r for r in rows if r is not None]
    if whole:
        # The same review order as score_type (models.ranking): the served score, then the tie-break key; rank
        # shares give the bands.
        keys = tiebreak_keys([str(r["entity_id"]) for r in whole])
        raw = np.array([r["raw_score"] for r in whole], dtype=float)
        rank = ranks(raw, keys)
        rank_region = ranks_within([r["region"] or r["country"] for r in whole], raw, keys)
        bands = band_of(rank / max(n, 1))
        for r, rk, rr, band in zip(whole, rank.tolist(), rank_region.tolist(), bands.tolist(), strict=True):
            r["rank"], r["rank_in_region"], r["band"] = rk, rr, band
    scope = [{"entity_type": ft.entity, **r} for r in ft.scope.to_pylist()] if ft.scope is not None else []
    return ScoredType(ft.entity, model_ids.pop(), whole, scope)
