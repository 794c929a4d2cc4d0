"""Displacement to unlicensed operators (config realism.unlicensed_shift_share, displacement_start_day): after the
start, abusive recruiters recruit under a new name without a licence number and their registered licence lapses;
re-registered employers recruit through them; off (the default), the world is what it was without it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

from simulator.config import Realism, SimulationConfig, WorldShape
from simulator.text import N_VARIANTS
from simulator.truth import load_truth
from simulator.world import simulate_world

START_DAY = 400
CFG = SimulationConfig(
    world=WorldShape(employers_per_chunk=60),  # several chunks: one operator's new name is the same in each
    realism=Realism(
        unlicensed_shift_share=1.0, displacement_share=1.0, detection_probability=0.8, displacement_start_day=START_DAY
    ),
)


def _export(world: Path, record_type: str) -> str:
    return f"read_parquet('{world}/export/{record_type}/*.parquet', union_by_name=true)"


def test_operators_go_on_under_a_new_unlicensed_name_after_the_start(tmp_path: Path) -> None:
    world = tmp_path / "world"
    simulate_world("tiny", 2, world, CFG, workers=1)
    start = date.fromisoformat(CFG.world.start_date)
    recruiters = load_truth(world, "recruiters").to_pandas()
    shifted = recruiters[recruiters["unlicensed_from_day"].notna()]
    assert (shifted["abusive"]).all() and len(shifted) == int(recruiters["abusive"].sum()) > 0
    assert shifted["unlicensed_from_day"].between(START_DAY, START_DAY + 89).all()
    assert not shifted["successor_ref"].notna().any()  # they do not also re-register with a licence

    con = duckdb.connect()
    con.register("names", load_truth(world, "recruiter_names"))
    con.register("shift", shifted[["recruiter_ref", "unlicensed_from_day"]])
    # Applications under a new name: none before the operator's day, none with a licence number.
    new_name = con.sql(
        f"""SELECT v.recruiter_licence_id,
                   datediff('day', DATE '{start.isoformat()}', TRY_CAST(v.submitted_at AS DATE)) AS day,
                   s.unlicensed_from_day
            FROM {_export(world, "visa_application")} v
            JOIN names n ON n.name_variant = v.recruiter_name AND n.variant >= {N_VARIANTS}
            JOIN shift s USING (recruiter_ref) WHERE TRY_CAST(v.submitted_at AS DATE) IS NOT NULL"""
    ).fetchall()
    print(f"applications under a new name: {len(new_name)}")
    assert len(new_name) > 20
    assert all(lic is None and day >= first for lic, day, first in new_name)
    # Applications under an operator's registered name after its day: none (the renamed are every abusive one).
    old_name_after = con.sql(
        f"""SELECT count(*) FROM {_export(world, "visa_application")} v
            JOIN names n ON n.name_variant = v.recruiter_name AND n.variant < {N_VARIANTS}
            JOIN shift s USING (recruiter_ref)
            WHERE datediff('day', DATE '{start.isoformat()}', TRY_CAST(v.submitted_at AS DATE))
                  >= s.unlicensed_from_day"""
    ).fetchall()[0][0]
    assert old_name_after == 0
    # Their registered licences lapse on the day they go unlicensed: the register's latest version says so.
    lapsed = con.sql(
        f"""SELECT count(*), count_if(datediff('day', DATE '{start.isoformat()}', TRY_CAST(r.licence_valid_to AS DATE))
                                      > s.unlicensed_from_day)
            FROM (SELECT * FROM {_export(world, "recruiter")}
                  QUALIFY row_number() OVER (PARTITION BY recruiter_ref ORDER BY status_since DESC) = 1) r
            JOIN shift s USING (recruiter_ref)
            WHERE TRY_CAST(r.licence_valid_to AS DATE) IS NOT NULL"""
    ).fetchall()[0]
    print(f"registered licences of renamed operators: {lapsed[0]}, running past their day: {lapsed[1]}")
    assert lapsed[0] > 0 and lapsed[1] == 0
    # Employers re-register only from the start on.
    employers = load_truth(world, "employers").to_pandas()
    successors = employers[employers["successor_of"].notna()]
    assert len(successors) > 0 and (successors["active_from_day"] >= START_DAY).all()
