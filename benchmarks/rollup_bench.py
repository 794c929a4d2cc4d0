"""Supply-chain roll-up and drift over an ingested lake (run by benchmarks/suite.py as a measured subprocess).

``python -m benchmarks.rollup_bench --home DIR --as-of DATE [--world DIR] --json FILE``:

1. employer and recruiter features as of DATE (the features folder if it holds them, else built and written;
   not timed);
2. their champions: the lake's, else trained here (models.train.train_entity) and promoted (not timed);
3. the score run's rows for both types with top-5 reasons (models.scoring.score_type; timed, for comparison);
4. the supply and recruiter edges (models.supply_run.supply_edges; timed). A lake ingested before
   organisation.supplies_to existed gets, with ``--world``, the supply relations the current simulator draws for
   that world (seed and config from its manifest; the same employers: supply links come from a stream of their
   own), as flows/supply.py would read them (not timed);
5. the roll-up over the scored rows: models.rollup.supply_graph + rollup (timed), what a score run adds;
6. drift (models.drift_run.drift_records) twice: first computing each champion's reference (its fitting origin's
   features built from the lake, as on the first score run after a retraining), then with the cached references
   (every other run).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.measure import run_measured
from benchmarks.suite import MODELS_AS_OF, Row, _ingested, _world, row
from data_contracts.home import Home
from data_contracts.lake import Lake
from features.build import FeatureTable, build_features, read_features, write_features
from features.registry import EntityType
from features.stored import features_dir
from models.bundle import LoadedModel, record_decision, save_bundle
from models.champion import usable_champion
from models.drift_run import drift_records
from models.rollup import rollup, scored_rows, supply_graph
from models.scoring import score_type
from models.supply_run import EDGE_KINDS, supply_edges
from models.train import Evidence, train_entity
from store.publish import ScoreRun

ENTITIES: tuple[EntityType, ...] = ("employer", "recruiter")


def rollup_and_drift(scale: str, scratch: Path) -> list[Row]:
    """This module on the ingested world at ``scale`` as of the serving date, as a measured subprocess: the
    roll-up against scoring the same entities, drift per run against the first run after a retraining."""
    home = _ingested(scale, scratch)
    out = scratch / f"rollup-{scale}.json"
    command = [sys.executable, "-m", "benchmarks.rollup_bench", "--home", str(home), "--as-of", MODELS_AS_OF]
    m = run_measured([*command, "--world", str(_world(scale, scratch)), "--json", str(out)])
    if m.returncode != 0:
        raise RuntimeError(f"roll-up benchmark failed:\n{m.output[-3000:]}")
    r = json.loads(out.read_text())
    chains = f"{r['portfolios']:,} portfolios, {r['tier1_suppliers']:,} tier-1 and {r['tier2_suppliers']:,} tier-2"
    scored = f"scoring its {sum(r['entities'].values()):,} employers and recruiters with top-5 reasons"
    return [
        row(
            f"supply roll-up {scale} ({chains} suppliers): wall time",
            r["rollup_seconds"],
            "s",
            scored,
            r["score_seconds"],
        ),
        row(f"supply roll-up {scale}: reading its edges", r["edges_read_seconds"], "s", scored, r["score_seconds"]),
        row(
            f"drift {scale}: per score run (employer and recruiter models, cached references)",
            r["drift_cached_seconds"],
            "s",
            "first run after a retraining (references built from the lake)",
            r["drift_first_run_seconds"],
        ),
        row(
            f"roll-up and drift {scale}: peak memory",
            m.peak_rss_bytes / 1024**2,
            "MiB",
            "the features step's memory target",
            6 * 1024,
        ),
    ]


def simulated_supply_edges(world: Path) -> list[dict[str, Any]]:
    """``supplies`` edges (supplier -> buyer or tier-1 supplier, weight: employees) of the organisation register
    the current simulator writes for ``world`` (scale, seed and config from its manifest), before the export's
    mess (which blanks a few percent of the values)."""
    from simulator import text
    from simulator.actors import build_actors
    from simulator.chunk import ChunkBuilder
    from simulator.config import EMPLOYERS_PER_SCALE, SimulationConfig
    from simulator.world import _stream

    manifest = json.loads((world / "manifest.json").read_text(encoding="utf-8"))
    cfg = SimulationConfig.model_validate(manifest["config"])
    seed, n_emp, per = int(manifest["seed"]), EMPLOYERS_PER_SCALE[manifest["scale"]], cfg.world.employers_per_chunk
    actors = build_actors(cfg, manifest["scale"], _stream(seed, 0))
    calendar = text.Calendar(cfg.world.start_date, cfg.world.years * 365)
    edges: list[dict[str, Any]] = []
    for chunk in range(-(-n_emp // per)):
        first = chunk * per
        builder = ChunkBuilder(cfg, actors, chunk, first, min(per, n_emp - first), _stream(seed, 1, chunk), calendar)
        emp = builder.employers()
        _, outcomes = builder.inspections_and_outcomes(emp)
        emp = builder.displace(emp, outcomes)
        reg_no = text.padded_ids("RN", emp.gid, 8)
        tier, supplies_to = builder.supply_chains(emp, reg_no)
        for i, dst in enumerate(supplies_to.to_pylist()):
            if dst is not None:
                edges.append(
                    {
                        "src_type": "employer",
                        "src_id": reg_no[i].as_py(),
                        "dst_type": "buyer" if tier[i] == 1 else "employer",
                        "dst_id": dst,
                        "kind": "supplies",
                        "weight": max(int(emp.size[i]), 1),
                    }
                )
    return edges


def _features(lake: Lake, day: date) -> dict[EntityType, FeatureTable]:
    """The features folder of ``day``, written first if need be (as the features step of a run does)."""
    tables = read_features(features_dir(lake.home, day), ENTITIES)
    if tables is None:
        out = features_dir(lake.home, day)
        tables = build_features(lake, day, ENTITIES, network_out=out / "network_edges.parquet")
        write_features(tables, out, day)
    return tables


def _champions(lake: Lake, as_of: date) -> dict[EntityType, LoadedModel]:
    """Each type's usable champion; where there is none, one trained as of ``as_of`` and promoted."""
    out: dict[EntityType, LoadedModel] = {}
    cache: dict[date, dict[EntityType, FeatureTable]] = {}
    for entity in ENTITIES:
        champion = usable_champion(lake.home, entity)
        if champion is None:

            def features_at(day: date, entity: EntityType = entity) -> FeatureTable:
                if day not in cache:
                    cache[day] = build_features(lake, day, ENTITIES)
                return cache[day][entity]

            # Timing only: any positive lets a model be fitted, so every type has a champion to roll up.
            model = train_entity(lake, entity, as_of, features_at=features_at, evidence=Evidence(1, 1))
            model_id = save_bundle(model, lake.home, {}, "benchmarks.rollup_bench")
            record_decision(lake.home, entity, model_id, {"promote": True, "reason": "benchmark champion"})
            champion = usable_champion(lake.home, entity)
            assert champion is not None
        out[entity] = champion
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--as-of", type=date.fromisoformat, required=True)
    parser.add_argument("--world", type=Path, help="the world the lake was ingested from (supplies_to fallback)")
    parser.add_argument("--json", type=Path, required=True)
    args = parser.parse_args()
    home, as_of = args.home, args.as_of
    lake = Lake(home)
    try:
        champions = _champions(lake, as_of)
        tables = _features(lake, as_of)
    finally:
        lake.close()
    t0 = time.perf_counter()
    scored = {e: score_type(tables[e], as_of.isoformat(), champions[e]) for e in ENTITIES}
    score_s = time.perf_counter() - t0
    rows = [r for e in ENTITIES for r in scored[e].rows]

    t0 = time.perf_counter()
    edges = supply_edges(home, as_of)
    edges_s = time.perf_counter() - t0
    simulated = not any(e["kind"] == "supplies" for e in edges)
    if simulated:
        if args.world is None:
            raise SystemExit("the lake has no supply relations (organisation.supplies_to): give --world")
        edges += simulated_supply_edges(args.world)
    t0 = time.perf_counter()
    graph = supply_graph(edges)
    graph_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    rolled = rollup(graph, scored_rows(rows))
    rollup_s = time.perf_counter() - t0

    run = ScoreRun("bench", as_of.isoformat(), {e: champions[e].model_id for e in ENTITIES}, rows, [])
    for e in ENTITIES:  # the first run after a retraining computes the reference
        Home(home).drift_reference(champions[e].model_id).unlink(missing_ok=True)
    timings = []
    for _ in range(2):
        t0 = time.perf_counter()
        records = drift_records(home, as_of, run)
        timings.append(time.perf_counter() - t0)
    tier1 = len(graph.buyer_of)
    result = {
        "as_of": as_of.isoformat(),
        "entities": {e: len(scored[e].rows) for e in ENTITIES},
        "score_seconds": score_s,
        "supply_relations_simulated": simulated,
        "edges": {k: sum(e["kind"] == k for e in edges) for k in EDGE_KINDS},
        "edges_read_seconds": edges_s,
        "portfolios": len(graph.buyers),
        "tier1_suppliers": tier1,
        "tier2_suppliers": sum(len(v) for v in graph.tier2_of.values()),
        "tier2_per_tier1": {
            "mean": sum(len(v) for v in graph.tier2_of.values()) / max(tier1, 1),
            "max": max((len(v) for v in graph.tier2_of.values()), default=0),
        },
        "rollup_rows": len(rolled),
        "paths_listed": sum(len(json.loads(r["paths"])) for r in rolled),
        "graph_seconds": graph_s,
        "rollup_seconds": rollup_s,
        "drift_first_run_seconds": timings[0],
        "drift_cached_seconds": timings[1],
        "drift": [
            {k: r[k] for k in ("entity_type", "model_id", "max_psi", "score_psi", "flagged")}
            | {"drifted": json.loads(r["detail"])["drifted"]}
            for r in records
        ],
        "probability_mean": {e: float(np.mean([r["probability"] for r in scored[e].rows])) for e in ENTITIES},
    }
    args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
