"""Drift under displacement: the simulator's displacement knob raises the drift flag of a scoring run,
and entity resolution ties the re-registered employers back to their past.

Two small worlds from the same seed and config, one without displacement and one where, from a month after the
champion's fitting origin t0, every sanctioned actor re-registers under a new name and every abusive recruiter
goes on as an unlicensed broker under a new name (simulator/config.py Realism). A champion is trained for the
recruiters as the pipeline trains it (models.train.train_entity, serving date = end of the window) and the
scoring run's drift is computed by models/drift_run.py (the code every scoring run uses) against the declared
threshold, models.drift.PSI_THRESHOLD = 0.25, the usual "significant shift" level.

Both worlds run five years, so that the reference's three-year window (t0 = as_of - 450 days) is full: in a
three-year world it would start before the first record, and the counts that fill up with time (E11, E19, R11,
R12 ...) drift by that alone.

Half the recruiters are abusive in both worlds ([prevalence] abusive_recruiter = 0.5, default 0.1): the
population-wide PSI sees displacement only when the displaced operators are a large part of the population, and
it grows with their share. The employer model's indicators move much less: the displaced employers are a few
dozen of 4,000.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from data_contracts.ingest import ingest_file
from data_contracts.lake import Lake
from data_contracts.pseudonymise import PseudonymKey
from data_contracts.sources import load_source
from features.build import build_features, red_flag_matrix, write_features
from features.registry import EntityType
from features.stored import features_dir
from features.views import create_views
from models.bundle import record_decision, save_bundle
from models.datasets import feature_frame, training_days, training_windows
from models.drift import PSI_THRESHOLD
from models.drift_run import drift_records, retraining_due
from models.train import Evidence, train_entity
from simulator.config import load_config
from simulator.truth import load_truth
from simulator.world import simulate_world
from store.publish import ScoreRun

KEY = PseudonymKey(b"drift-key-" + b"d" * 40, "test")
START = date(2020, 1, 1)
AS_OF = date(2025, 1, 1)  # the day after the five-year window: the serving date of the pipeline
NOW = datetime(2025, 3, 1, 12, 0, 0)
ENTITY: EntityType = "recruiter"
# A month after the day the champion's drift reference is taken (its held-out fold).
DISPLACEMENT_START = (training_windows(AS_OF).fold_as_of - START).days + 30


@dataclass(frozen=True)
class Run:
    world: Path
    home: Path
    drift: dict[str, Any]


def _config(folder: Path, displaced: bool) -> Path:
    realism = (
        f"displacement_share = 1.0\nunlicensed_shift_share = 1.0\ndisplacement_start_day = {DISPLACEMENT_START}\n"
        if displaced
        else "displacement_share = 0.0\nunlicensed_shift_share = 0.0\n"
    )
    path = folder / "world.toml"
    path.write_text(
        f'[world]\nstart_date = "{START.isoformat()}"\nyears = 5\n\n[prevalence]\nabusive_recruiter = 0.5\n\n'
        f"[realism]\n{realism}",
        encoding="utf-8",
    )
    return path


def _run(folder: Path, displaced: bool) -> Run:
    """Simulate, ingest, train the recruiter champion as of AS_OF, score and compute the run's drift."""
    world, home = folder / "world", folder / "home"
    simulate_world("small", 5, world, load_config(_config(folder, displaced)), workers=2)
    lake = Lake(home)
    try:
        source = load_source("synthetic", world)
        for f in source.files(world):
            ingest_file(lake, f, source, NOW, KEY)
        days = training_days(AS_OF)
        tables = {day: build_features(lake, day, (ENTITY,)) for day in days}
        for day, table in tables.items():  # where scoring finds them (models/drift_run.py reads them back)
            write_features(table, features_dir(home, day), day)
        # Any positive lets a model be fitted: this test is about drift of a champion, not about evidence.
        model = train_entity(lake, ENTITY, AS_OF, features_at=lambda d: tables[d][ENTITY], evidence=Evidence(1, 1))
    finally:
        lake.close()
    model_id = save_bundle(model, home, {}, "test")
    record_decision(home, ENTITY, model_id, {"promote": True, "reason": "the test's champion"})
    now = tables[AS_OF][ENTITY].table
    flags = red_flag_matrix(tables[AS_OF][ENTITY], model.features)
    probability = model.probability(feature_frame(now, model.features), flags)
    run = ScoreRun(
        "run-drift",
        AS_OF.isoformat(),
        {ENTITY: model_id},
        [{"entity_type": ENTITY, "probability": float(p)} for p in probability],
        [],
    )
    (record,) = drift_records(home, AS_OF, run)
    return Run(world, home, record)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Run]]:
    yield {
        name: _run(tmp_path_factory.mktemp(f"drift_{name}"), name == "displaced") for name in ("without", "displaced")
    }


def test_displacement_flags_the_model_and_its_absence_does_not(runs: dict[str, Run]) -> None:
    for name, run in runs.items():
        d = run.drift
        print(f"{name}: max PSI {d['max_psi']:.3f}, score PSI {d['score_psi']:.3f}, detail {d['detail']}")
        assert d["threshold"] == PSI_THRESHOLD == 0.25
    quiet, displaced = runs["without"].drift, runs["displaced"].drift
    assert not quiet["flagged"] and float(quiet["max_psi"]) <= PSI_THRESHOLD
    assert retraining_due(runs["without"].home) == {}
    assert displaced["flagged"] and displaced["retraining_due"]
    assert float(displaced["max_psi"]) > PSI_THRESHOLD
    assert retraining_due(runs["displaced"].home)[ENTITY]["model_id"] == displaced["model_id"]


UNREGISTERED = "SELECT count(DISTINCT recruiter_id) FROM va WHERE starts_with(recruiter_id, 'unregistered:')"


def _query(home: Path, sql: str) -> list[tuple[Any, ...]]:
    """``sql`` over the point-in-time views of the lake at ``home`` as of AS_OF."""
    lake, con = Lake(home), duckdb.connect()
    try:
        create_views(con, lake, AS_OF, 1_095, resolve=False)
        return con.execute(sql).fetchall()
    finally:
        con.close()
        lake.close()


def test_new_unlicensed_names_appear_and_re_registered_employers_are_linked_back(runs: dict[str, Run]) -> None:
    """The displaced world's records carry the operators' new names (unregistered recruiters) and entity resolution
    (org_links: shared director, phone or address) ties at least half of the re-registered employers to their
    predecessor."""
    run = runs["displaced"]
    recruiters = load_truth(run.world, "recruiters").to_pandas()
    shifted = recruiters[recruiters["unlicensed_from_day"].notna()]
    assert len(shifted) == int(recruiters["abusive"].sum()) > 0
    successors = {
        (r["registration_no"], r["successor_of"])
        for r in load_truth(run.world, "employers").to_pylist()
        if r["successor_of"]
    }
    links = set(_query(run.home, "SELECT registration_no, other_id FROM org_links"))
    (unregistered,), (unregistered_before,) = (_query(r.home, UNREGISTERED)[0] for r in (run, runs["without"]))
    linked = sum(pair in links for pair in successors)
    print(
        f"operators gone unlicensed under a new name: {len(shifted)}; unregistered recruiters on applications: "
        f"{unregistered_before} without displacement, {unregistered} with; re-registered employers linked to "
        f"their predecessor: {linked} of {len(successors)}"
    )
    assert unregistered > unregistered_before + 0.5 * len(shifted)
    assert len(successors) >= 5  # displacement runs from a month after the drift reference to AS_OF
    assert linked >= 0.5 * len(successors)
