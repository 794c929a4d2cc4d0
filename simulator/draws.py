"""Random draw helpers shared by the generators: side streams, planted actors' intensities, habits, and
picks within groups."""

from __future__ import annotations

import numpy as np


def side_stream(rng: np.random.Generator, key: int) -> np.random.Generator:
    """A stream spawned off ``rng``'s seed (consuming none of its draws): new draws that leave the others as
    they were."""
    seq = rng.bit_generator.seed_seq
    assert isinstance(seq, np.random.SeedSequence)
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seq.entropy, spawn_key=(*seq.spawn_key, key))))


def intensity(rng: np.random.Generator, planted: np.ndarray, mean: float, concentration: float) -> np.ndarray:
    """How openly each actor acts (config markers): 0 for clean actors, for planted ones a draw in [0, 1] with
    ``mean`` (Beta with that concentration)."""
    if mean <= 0 or mean >= 1:
        return np.where(planted, float(mean >= 1), 0.0)
    u = rng.beta(concentration * mean, concentration * (1 - mean), len(planted))
    out: np.ndarray = np.where(planted, u, 0.0)
    return out


def toward(clean: np.ndarray | float, planted: np.ndarray | float, u: np.ndarray) -> np.ndarray:
    """The rate ``u`` of the way from the clean rate to the planted one."""
    out: np.ndarray = clean + u * (np.asarray(planted) - clean)
    return out


def habits(rng: np.random.Generator, n: int, sigma: float) -> np.ndarray:
    """Per official multiplicative factor of base rates (lognormal, median 1)."""
    out: np.ndarray = rng.lognormal(0.0, sigma, n) if sigma > 0 else np.ones(n)
    return out


def group_index(groups: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(members sorted by group, start offset per group, count per group)."""
    order = np.argsort(groups, kind="stable")
    counts = np.bincount(groups, minlength=n_groups)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return order, starts, counts


def pick_in_group(
    rng: np.random.Generator, csr: tuple[np.ndarray, np.ndarray, np.ndarray], group: np.ndarray
) -> np.ndarray:
    """A uniformly random member of each row's group; -1 where the group is empty."""
    members, starts, counts = csr
    c = counts[group]
    offset = (rng.random(len(group)) * np.maximum(c, 1)).astype(np.int64)
    out = np.full(len(group), -1, dtype=np.int64)
    ok = c > 0
    out[ok] = members[starts[group[ok]] + offset[ok]]
    return out


def pick_member(rng: np.random.Generator, members: np.ndarray, n: int) -> np.ndarray:
    """n random picks from ``members`` (-1 each when it is empty)."""
    if len(members) == 0:
        return np.full(n, -1, dtype=np.int64)
    return members[rng.integers(0, len(members), n)]


def distinct(rng: np.random.Generator, population: int, n: int) -> np.ndarray:
    """n distinct integers from [0, population), in random order."""
    return rng.choice(population, size=n, replace=False, shuffle=True)
