"""The one reader of a simulated world's hidden truth.

Only evaluation against the simulator's truth (``tracerisk evaluate --truth DIR``) and the simulator's
own tests may call this; no feature, contract, training or serving code may read ``truth/`` (enforced
by tests/simulator/test_truth_isolation.py).
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds

from simulator.world import TRUTH_DIR

TRUTH_TABLES = (
    "employers",
    "employer_names",
    "visa_applications",
    "recruiters",
    "recruiter_names",
    "visa_desks",
    "border_officers",
    "inspectors",
    "malformed",
    "duplicates",
)


def truth_path(world: Path, name: str) -> Path:
    if name not in TRUTH_TABLES:
        raise KeyError(f"unknown truth table {name!r}; known: {', '.join(TRUTH_TABLES)}")
    folder = world / TRUTH_DIR / name
    return folder if folder.is_dir() else folder.with_suffix(".parquet")


def load_truth(world: Path, name: str) -> pa.Table:
    """One truth table of the world at ``world`` (a folder written by ``tracerisk simulate``)."""
    path = truth_path(world, name)
    if not path.exists():
        if name in ("malformed", "duplicates"):
            return pa.table({"record_id": pa.array([], type=pa.string())})
        raise FileNotFoundError(f"{path} not found: is {world} a world written by `tracerisk simulate`?")
    if name in ("malformed", "duplicates"):
        # Partitioned by record type: truth/malformed/<record_type>/part-*.parquet
        dataset = ds.dataset(
            path, format="parquet", partitioning=ds.partitioning(pa.schema([("record_type", pa.string())]))
        )
        return dataset.to_table()
    return ds.dataset(path, format="parquet").to_table()
