"""Worklists: the top of the ranking for a capacity k, with a share of random exploration picks.

Labels arise only where someone looked (DESIGN principle 3). If every visit went to the model's top picks,
future labels would only confirm the model; reserving a share of the capacity for uniformly random picks among
the rest keeps an unbiased sample of outcomes flowing back (exploration picks are flagged, and outcomes
recorded on them are marked as such). Expected findings = the sum of calibrated probabilities of the picks.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

DEFAULT_EXPLORATION_SHARE = 0.10
MIN_EXPLORATION_SHARE = 0.05  # the service's default floor for a requested share
MAX_EXPLORATION_SHARE = 0.5


@dataclass(frozen=True)
class Worklist:
    items: list[dict[str, Any]]  # the picked score rows, each with "exploration": bool, model picks first
    expected_findings: float  # sum of the picks' calibrated probabilities
    expected_findings_ranked: float  # of the model picks only
    expected_findings_exploration: float  # of the exploration picks only
    capacity: int
    exploration_share: float


def exploration_count(capacity: int, share: float) -> int:
    """Exploration picks in a list of ``capacity``: round(share x capacity), at least one when share > 0 and
    the list has two or more places, never the whole list."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"exploration share must be within [0, 1], got {share}")
    if capacity <= 1 or share == 0.0:
        return 0
    return min(capacity - 1, max(1, math.floor(share * capacity + 0.5)))


def seed_for(*parts: str) -> int:
    """A stable seed from text parts (e.g. run id, entity type, scope), so the same request gives the same list."""
    return int.from_bytes(hashlib.sha256("\x1f".join(parts).encode()).digest()[:8], "big")


def build_worklist(
    ranked: Sequence[dict[str, Any]], capacity: int, exploration_share: float = DEFAULT_EXPLORATION_SHARE, seed: int = 0
) -> Worklist:
    """``ranked``: score rows, best rank first, each with a "probability". Returns ``capacity`` picks (fewer if
    there are fewer rows): the top ``capacity - e`` rows, then ``e`` uniformly random rows from the remainder."""
    if capacity < 1:
        raise ValueError(f"capacity must be at least 1, got {capacity}")
    k = min(capacity, len(ranked))
    explore = exploration_count(k, exploration_share)
    top = k - explore
    rest = len(ranked) - top  # >= explore since len(ranked) >= k
    picks: list[int] = (
        [int(i) + top for i in np.random.default_rng(seed).choice(rest, size=explore, replace=False)] if explore else []
    )
    items = [{**r, "exploration": False} for r in ranked[:top]]
    items += [{**ranked[int(i)], "exploration": True} for i in sorted(picks)]
    ranked_sum = float(sum(float(r["probability"]) for r in items if not r["exploration"]))
    explore_sum = float(sum(float(r["probability"]) for r in items if r["exploration"]))
    return Worklist(items, ranked_sum + explore_sum, ranked_sum, explore_sum, capacity, exploration_share)
