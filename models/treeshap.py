"""Exact TreeSHAP contributions at scoring speed, still computed by LightGBM's native ``pred_contrib``.

Path-dependent TreeSHAP values of one tree depend on a row only through the direction the row takes at each
of the tree's internal nodes (its *decision pattern*; at most 2^15 patterns for depth-4 trees, and in
practice a few dozen). So, per tree, the rows are grouped by pattern, LightGBM's ``pred_contrib`` explains
one representative row per pattern for that tree alone (``start_iteration=i, num_iteration=1``), and the
result is scattered to every row of the pattern. The sum over trees equals
``booster.predict(x, pred_contrib=True)`` (a test checks it, and ``shap.TreeExplainer``, to 1e-6).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np

MAX_PATTERN_BITS = 20  # trees with more internal nodes are explained row by row instead
ZERO_THRESHOLD = 1e-35  # LightGBM's kZeroThreshold for missing_type "Zero"
CHUNK_ROWS = 250_000  # rows per chunk (bounded memory: chunk x features float64)


@dataclass(frozen=True)
class _Splits:
    """The internal nodes of one tree, in any fixed order (bit j of a pattern = node j goes left)."""

    feature: np.ndarray  # int feature index per node
    threshold: np.ndarray  # float64 per node: go left when value <= threshold
    default_left: np.ndarray  # bool per node: where missing values go
    missing: list[str]  # "None" (NaN read as 0), "Zero" (0 and NaN are missing) or "NaN" (NaN is missing)


def _splits(tree: dict[str, Any]) -> _Splits:
    nodes: list[dict[str, Any]] = []
    stack = [tree["tree_structure"]]
    while stack:
        node = stack.pop()
        if "split_feature" in node:
            if node.get("decision_type", "<=") != "<=":
                raise ValueError("categorical splits are not supported by the pattern explainer")
            nodes.append(node)
            stack += [node["left_child"], node["right_child"]]
    return _Splits(
        np.array([n["split_feature"] for n in nodes], dtype=np.int64),
        np.array([float(n["threshold"]) for n in nodes], dtype=np.float64),
        np.array([bool(n["default_left"]) for n in nodes], dtype=bool),
        [str(n.get("missing_type", "None")) for n in nodes],
    )


class _Directions:
    """Goes-left indicators per distinct split of a chunk of rows, computed once and shared by every tree that
    uses the same (feature, threshold, missing rule, default) split (LightGBM thresholds are bin boundaries,
    so trees share most of them)."""

    def __init__(self, part: np.ndarray) -> None:
        self.nan = np.isnan(part.T)  # [features, rows], contiguous per feature
        self.columns = np.where(self.nan, 0.0, part.T)  # NaN read as 0, as LightGBM does unless NaN is missing
        self.cache: dict[tuple[int, float, str, bool], np.ndarray] = {}

    def left(self, feature: int, threshold: float, missing: str, default_left: bool) -> np.ndarray:
        key = (feature, threshold, missing, default_left)
        hit = self.cache.get(key)
        if hit is None:
            left = self.columns[feature] <= threshold
            if missing == "NaN":
                left[self.nan[feature]] = default_left
            elif missing == "Zero":
                left[np.abs(self.columns[feature]) <= ZERO_THRESHOLD] = default_left
            hit = self.cache[key] = left.astype(np.int32)
        return hit

    def patterns(self, s: _Splits) -> np.ndarray:
        """Per row, the bit pattern of directions at every internal node of one tree."""
        out = np.zeros(self.columns.shape[1], dtype=np.int32)
        for j in range(len(s.feature)):
            left = self.left(int(s.feature[j]), float(s.threshold[j]), s.missing[j], bool(s.default_left[j]))
            out |= left << j
        return out


def contributions(booster: lgb.Booster, x: np.ndarray) -> np.ndarray:
    """[n, features + 1] TreeSHAP contributions in raw-score units; the last column is the base value."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    n, f = x.shape
    model = booster.dump_model()
    if model.get("num_tree_per_iteration", 1) != 1:
        return np.asarray(booster.predict(x, pred_contrib=True), dtype=float)
    trees = [_splits(t) for t in model["tree_info"]]
    out = np.zeros((n, f + 1), dtype=np.float64)
    for start in range(0, n, CHUNK_ROWS):
        part = x[start : start + CHUNK_ROWS]
        directions = _Directions(part)
        acc = np.zeros((f + 1, len(part)), dtype=np.float64)  # transposed: one contiguous row per feature
        for i, s in enumerate(trees):
            m = len(s.feature)
            if m > MAX_PATTERN_BITS:
                acc += np.asarray(booster.predict(part, pred_contrib=True, start_iteration=i, num_iteration=1)).T
                continue
            pattern = directions.patterns(s)
            present = np.zeros(1 << m, dtype=bool)
            present[pattern] = True
            unique = np.flatnonzero(present)
            position = np.zeros(1 << m, dtype=np.int64)
            position[unique] = np.arange(len(unique))
            representative = np.empty(1 << m, dtype=np.int64)
            representative[pattern] = np.arange(len(part))  # any row of the pattern will do
            per_pattern = np.asarray(
                booster.predict(part[representative[unique]], pred_contrib=True, start_iteration=i, num_iteration=1),
                dtype=np.float64,
            )
            row_of = position[pattern]
            for c in np.flatnonzero(np.any(per_pattern != 0.0, axis=0)):
                acc[c] += per_pattern[:, c][row_of]
        out[start : start + CHUNK_ROWS] = acc.T
    return out
