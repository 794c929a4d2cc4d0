"""The shape of ``python -m benchmarks run --json FILE``, checked by ``python -m benchmarks check FILE`` (CI's smoke
test): ``{"rows": [{"name", "figure", "unit", "compared_with", "comparison_figure", "ratio", "scale", "machine",
"versions", "benchmark"}], "machine", "versions"}``, every benchmark asked for present with its declared
rows. Timings are never checked: only that each figure is a finite number.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

ROW_TEXT = ("name", "unit", "compared_with", "scale", "machine", "versions", "benchmark")
ROW_NUMBERS = ("figure", "comparison_figure", "ratio")
MACHINE = ("cpus", "memory_bytes", "platform", "python")

# Words some row of each benchmark must carry in its name (the benchmark list); a benchmark not named here needs one
# row at least.
EXPECTED: dict[str, tuple[str, ...]] = {
    "simulate": ("records/s", "peak memory"),
    "ingest": ("records/s", "peak memory"),
    "features": ("entities/s", "peak memory"),
    "models": ("score", "train"),
    "api": ("requests/s", "p50", "p99"),
    "entity_resolution": (
        "records/s",
        "employer names, pairwise precision",
        "employer names, pairwise recall",
        "recruiter names, pairwise precision",
        "recruiter names, pairwise recall",
    ),
    "dask": ("features", "score"),
    "evaluation": ("served truth precision@k", "served minus red-flag count"),
}


def problems(doc: Any, scale: str | None = None, benchmarks: Iterable[str] = ()) -> list[str]:
    """What is wrong with ``doc`` (empty when nothing is): its shape, and a missing benchmark or row."""
    if not isinstance(doc, dict):
        return ["the document is not a JSON object"]
    found = [f"top-level key {k!r} missing" for k in ("rows", "machine", "versions") if k not in doc]
    rows = doc.get("rows")
    if not isinstance(rows, list) or not rows:
        return [*found, "'rows' is not a non-empty list"]
    machine, versions = doc.get("machine"), doc.get("versions")
    if not isinstance(machine, dict) or any(k not in machine for k in MACHINE):
        found.append(f"'machine' must give {', '.join(MACHINE)}")
    if not isinstance(versions, dict) or not versions or not all(isinstance(v, str) for v in versions.values()):
        found.append("'versions' must map each library to its version")
    names: dict[str, list[str]] = {}
    for i, r in enumerate(rows):
        where = f"row {i} ({r.get('name', '?') if isinstance(r, dict) else '?'})"
        if not isinstance(r, dict):
            found.append(f"{where}: not an object")
            continue
        found += [f"{where}: {k!r} missing or empty" for k in ROW_TEXT if not isinstance(r.get(k), str) or not r[k]]
        for k in ROW_NUMBERS:
            v = r.get(k)
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                found.append(f"{where}: {k!r} is not a finite number ({v!r})")
        if scale is not None and r.get("scale") != scale:
            found.append(f"{where}: scale {r.get('scale')!r}, expected {scale!r}")
        names.setdefault(str(r.get("benchmark")), []).append(str(r.get("name", "")))
    for benchmark in benchmarks:
        if benchmark not in names:
            found.append(f"benchmark {benchmark!r}: no rows")
            continue
        for words in EXPECTED.get(benchmark, ()):
            if not any(words in n for n in names[benchmark]):
                found.append(f"benchmark {benchmark!r}: no row with {words!r} in its name")
    return found
