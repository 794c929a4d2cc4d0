"""The one review order: what scoring publishes, what worklists take, what the gate and evaluation measure.

Entities are reviewed by score, highest first; ties are broken by a stable key derived from the entity id (a
keyed-free SHA-256 of the id), never by chance and never by the id's own order, which may carry meaning (a
register number assigned in time). The same scores and ids always give the same order, in every process.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np


def tiebreak_keys(ids: Sequence[str]) -> np.ndarray:
    """A uint64 per entity id: the first 8 bytes of SHA-256(id). Lower keys come first among equal scores."""
    return np.fromiter(
        (int.from_bytes(hashlib.sha256(i.encode()).digest()[:8], "big") for i in ids), dtype=np.uint64, count=len(ids)
    )


def review_order(scores: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Indices of ``scores`` in review order: score descending (NaN last), then tie-break key ascending.

    ``keys``: ``tiebreak_keys(ids)`` of the same entities."""
    s = np.asarray(scores, dtype=float)
    s = np.where(np.isnan(s), -np.inf, s)
    return np.lexsort((keys, -s))


def ranks(scores: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """1-based rank of each entity in ``review_order``."""
    order = review_order(scores, keys)
    out = np.empty(len(order), dtype=np.int64)
    out[order] = np.arange(1, len(order) + 1)
    return out


def ranks_within(groups: Sequence[str | None], scores: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """1-based ranks in review order within each group (None is its own group)."""
    out = np.empty(len(scores), dtype=np.int64)
    labels = np.array(["" if g is None else g for g in groups], dtype=object)
    for g in np.unique(labels):
        idx = np.flatnonzero(labels == g)
        out[idx] = ranks(scores[idx], keys[idx])
    return out


def precision_at(scores: np.ndarray, labels: np.ndarray, k: int, keys: np.ndarray) -> float:
    """Share of positives among the first ``k`` entities in review order (NaN with no entities)."""
    if len(scores) == 0:
        return float("nan")
    return float(np.asarray(labels, dtype=float)[review_order(scores, keys)[:k]].mean())


def recall_at(scores: np.ndarray, labels: np.ndarray, k: int, keys: np.ndarray) -> float:
    """Share of all positives found in the first ``k`` entities in review order (NaN with no positives)."""
    y = np.asarray(labels, dtype=float)
    positives = y.sum()
    return float(y[review_order(scores, keys)[:k]].sum() / positives) if positives else float("nan")
