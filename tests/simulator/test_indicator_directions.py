"""Every indicator of ../shared/INDICATORS.md, computed from the agency export alone, points the way the
list says: planted entities (exploitative employers, abusive recruiters, corrupt desks, officers and
inspectors) score beyond clean ones by more than two standard errors.

The world is simulated with planted actors acting openly (every marker intensity of config ``markers`` at 1,
overloaded desks strongly exposed): this checks that each indicator reads a mechanism the simulator plants.
How far the default world's weaker, overlapping markers separate planted from clean is measured in
test_difficulty.py.

Truth is read only to split entities into planted and clean (and to resolve names on visa applications
and inspections to a recruiter or employer); every value is computed from ``export/`` with DuckDB,
ignoring malformed rows (TRY_CAST, category filters, negative amounts) and exact duplicates.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import duckdb
import pytest

from simulator.config import Markers, SimulationConfig
from simulator.world import simulate_world
from tests.simulator.indicator_queries import INDICATORS
from tests.simulator.world_views import setup_sql

Z_MIN = 2.0  # planted mean must be beyond the clean mean by this many (Welch) standard errors
MIN_PLANTED = 3  # fewer planted entities with a value than this cannot support a comparison
OPEN_MARKERS = SimulationConfig(
    markers=Markers(
        employer_intensity=1.0,
        recruiter_intensity=1.0,
        visa_desk_intensity=1.0,
        border_officer_intensity=1.0,
        inspector_intensity=1.0,
        desk_overload_exponent=1.5,
    )
)

# Indicators the generated world cannot separate; each reason says what the simulator would need.
XFAIL: dict[str, str] = {}  # indicator id -> diagnosis, for a signal the simulator does not plant


def _params() -> list[object]:
    return [
        pytest.param(
            *row, id=row[0], marks=[pytest.mark.xfail(strict=True, reason=XFAIL[row[0]])] if row[0] in XFAIL else []
        )
        for row in INDICATORS
    ]


@pytest.fixture(scope="module")
def world_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    out = tmp_path_factory.mktemp("world")
    simulate_world("small", 7, out, OPEN_MARKERS, workers=2)
    con = duckdb.connect()
    for statement in setup_sql(out):
        con.execute(statement)
    yield con
    con.close()


def split(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[list[float], list[float]]:
    """(planted values, clean values) of one indicator; entities without a value are left out."""
    rows = con.execute(sql).fetchall()
    planted = [float(v) for _, p, v in rows if p and v is not None]
    clean = [float(v) for _, p, v in rows if p is not None and not p and v is not None]
    return planted, clean


def welch(planted: list[float], clean: list[float]) -> tuple[float, float, float]:
    """(planted mean, clean mean, standard error of the difference)."""

    def mean_var(xs: list[float]) -> tuple[float, float]:
        m = sum(xs) / len(xs)
        return m, sum((x - m) ** 2 for x in xs) / max(len(xs) - 1, 1)

    mp, vp = mean_var(planted)
    mc, vc = mean_var(clean)
    return mp, mc, math.sqrt(vp / len(planted) + vc / len(clean))


@pytest.mark.parametrize(("indicator", "entity", "sql", "direction"), _params())
def test_indicator_separates_planted_from_clean(
    world_db: duckdb.DuckDBPyConnection, indicator: str, entity: str, sql: str, direction: int
) -> None:
    planted, clean = split(world_db, sql)
    assert len(planted) >= MIN_PLANTED and len(clean) >= MIN_PLANTED, (
        f"{indicator}: too few {entity}s with a value (planted {len(planted)}, clean {len(clean)})"
    )
    mp, mc, se = welch(planted, clean)
    gap = direction * (mp - mc)
    detail = (
        f"{indicator} ({entity}): planted mean {mp:.4g} (n={len(planted)}), clean mean {mc:.4g} "
        f"(n={len(clean)}), direction {direction:+d}, se {se:.3g}"
    )
    assert gap > 0, f"wrong direction: {detail}"
    assert gap > Z_MIN * se, f"difference within {Z_MIN} standard errors: {detail}"
