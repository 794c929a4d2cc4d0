"""Column builders shared by the record generators: null masks, two-valued labels, scattered values."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from simulator import text


def where(mask: pa.Array, values: pa.Array) -> pa.Array:
    """values where mask, null elsewhere."""
    return text.with_nulls(values, ~mask.to_numpy(zero_copy_only=False))


def label(labels: tuple[str, str], flag: np.ndarray) -> pa.Array:
    """labels[1] where flag, labels[0] elsewhere."""
    return text.category(text.strings(labels), flag.astype(np.int64))


def scatter(n: int, *parts: tuple[np.ndarray, pa.Array]) -> pa.Array:
    """A string array of length n: each part's values at its (disjoint) mask's rows, null elsewhere."""
    index = np.full(n, -1, dtype=np.int64)
    pools: list[pa.Array] = []
    offset = 0
    for mask, values in parts:
        rows = np.flatnonzero(mask)
        index[rows] = offset + np.arange(len(rows))
        offset += len(rows)
        pools.append(values.cast(pa.string()))
    pool = pa.concat_arrays(pools) if pools else pa.array([], type=pa.string())
    return pool.take(pa.array(index, mask=index < 0))


def nullable_flag(code: np.ndarray) -> pa.Array:
    """-1 -> null, 0 -> False, 1 -> True."""
    return pc.if_else(pa.array(code >= 0), pa.array(code == 1), pa.scalar(None, type=pa.bool_()))


def choice_rows(rng: np.random.Generator, p: np.ndarray, n: int) -> np.ndarray:
    """n draws from a categorical distribution p (vectorised inverse CDF)."""
    return np.minimum(np.searchsorted(np.cumsum(p), rng.random(n), side="right"), len(p) - 1)
