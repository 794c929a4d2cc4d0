"""The US DOL records through the one pipeline, timed as an operator runs them (each a ``tracerisk`` process, its
temporary Prefect server included):

1. ``tracerisk pipeline --source us-dol --data-dir DIR --as-of 2013-01-01`` in a new home (raw files: ingest,
   features, training through the gate at two origins, evaluation, scoring, publishing);
2. the same command again on that home (the lake already holds every file);
3. ``tracerisk us-dol score`` as of that day (the run is published: the CSV from the store);
4. ``tracerisk us-dol score`` as of 2015-01-01 on the same lake (nothing published for that day: it trains through the
   gate, scores and publishes first).

The records are the public files in ``../shared/data`` (``TRACERISK_US_DOL_DATA`` overrides); the scale argument is
not used, as the records are what they are. Not part of the default run (it reads about 270,000 rows four times):
``python -m benchmarks run --only us_dol``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from benchmarks.measure import run_measured
from benchmarks.suite import Row, row
from data_contracts.home import Home

PIPELINE_TARGET_S = 180.0  # the whole pipeline from raw files
PIPELINE_INGESTED_TARGET_S = 60.0  # the same from an already-ingested lake
SCORE_TARGET_S = 30.0  # tracerisk us-dol score from an ingested lake
AS_OF = "2013-01-01"
LATER = "2015-01-01"


def data_dir() -> Path:
    """The US DOL records: ``TRACERISK_US_DOL_DATA``, else ``../shared/data`` beside the checkout."""
    configured = os.environ.get("TRACERISK_US_DOL_DATA")
    path = Path(configured) if configured else Path(__file__).resolve().parents[2] / "shared" / "data"
    if not path.is_dir():
        raise FileNotFoundError(f"no US DOL records at {path} (set TRACERISK_US_DOL_DATA to their folder)")
    return path


def _timed(args: list[str], env: dict[str, str]) -> float:
    m = run_measured([sys.executable, "-m", "flows.cli", *args], env=env)
    if m.returncode != 0:
        raise RuntimeError(f"tracerisk {' '.join(args[:2])} failed:\n{m.output[-3000:]}")
    return m.seconds


def us_dol(scale: str, scratch: Path) -> list[Row]:
    """Wall times of the four commands above against their targets."""
    data = str(data_dir())
    home = scratch / "us-dol"
    prefect_home = Home(home).prefect
    prefect_home.mkdir(parents=True)  # Prefect makes its home folder but not the folders above it
    env = {**os.environ, "TRACERISK_HOME": str(home), "PREFECT_HOME": str(prefect_home)}
    pipeline = ["pipeline", "--source", "us-dol", "--data-dir", data, "--as-of", AS_OF]
    raw = _timed(pipeline, env)
    ingested = _timed(pipeline, env)
    published = _timed(["us-dol", "score", "--data-dir", data, "--as-of", AS_OF, "--out", str(scratch / "a.csv")], env)
    trained = _timed(["us-dol", "score", "--data-dir", data, "--as-of", LATER, "--out", str(scratch / "b.csv")], env)
    target = "target"
    return [
        row(f"us-dol pipeline --as-of {AS_OF}: wall time from the raw files", raw, "s", target, PIPELINE_TARGET_S),
        row(
            f"us-dol pipeline --as-of {AS_OF}: wall time from the ingested lake",
            ingested,
            "s",
            target,
            PIPELINE_INGESTED_TARGET_S,
        ),
        row(f"us-dol score --as-of {AS_OF}: wall time, run published", published, "s", target, SCORE_TARGET_S),
        row(
            f"us-dol score --as-of {LATER}: wall time, trained, scored and published first",
            trained,
            "s",
            target,
            SCORE_TARGET_S,
        ),
    ]
