"""Supply-chain roll-up inside a score run: read the supply graph the features step wrote (network_edges.parquet
in the features folder of the as-of date) and roll the run's employer and recruiter scores up along it
(models/rollup.py). The rows are published with the run, in its transaction (store.publish.publish)."""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
from prefect import task
from prefect.cache_policies import NO_CACHE

from data_contracts.lake import Lake
from features.network import build_network
from features.registry import INDICATORS
from features.views import create_views
from flows.features import features_dir
from models.rollup import rollup, scored_rows, supply_graph, supply_scope
from store.publish import ScoreRun

log = logging.getLogger("tracerisk.flows")
EDGE_KINDS = ("supplies", "placed_with", "contracts_at")


def supply_edges(home: Path, as_of: date) -> list[dict[str, Any]]:
    """The supply and recruiter edges as of ``as_of``: from the features folder, else built from the lake."""
    path = features_dir(home, as_of) / "network_edges.parquet"
    # Only the kinds the roll-up reads leave Arrow: the large world's edges are 18.3M rows, 0.6M of these kinds
    # (shared directors alone are 11.5M), and a dict per row of all of them would take gigabytes.
    if path.is_file():
        table = pq.read_table(path, filters=[("kind", "in", list(EDGE_KINDS))])
    else:
        lake = Lake(home)
        con = duckdb.connect()
        try:
            create_views(con, lake, as_of, INDICATORS[0].window_days)
            build_network(con)
            kinds = ", ".join(f"'{k}'" for k in EDGE_KINDS)
            table = con.sql(f"SELECT * FROM network_edges WHERE kind IN ({kinds})").to_arrow_table()
        finally:
            con.close()
            lake.close()
    rows: list[dict[str, Any]] = table.to_pylist()
    return rows


def supply_rollup(
    home: Path, as_of: date, rows: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(supply_rollup rows, extra scope keys) for a score run's ``rows``; empty when no supply chain is mapped."""
    if not any(r["entity_type"] == "employer" for r in rows):
        return [], []
    start = time.perf_counter()
    graph = supply_graph(supply_edges(home, as_of))
    out = rollup(graph, scored_rows(rows))
    log.info(
        "supply roll-up: %d portfolios, %d tier-1 suppliers in %.2f s",
        len(graph.buyers),
        len(graph.buyer_of),
        time.perf_counter() - start,
    )
    return out, supply_scope(graph)


@task(name="supply-rollup-and-drift", retries=1, retry_delay_seconds=[5], cache_policy=NO_CACHE)
def enrich_task(home: Path, as_of: date, run: ScoreRun) -> ScoreRun:
    """The run with its supply-chain roll-up (and the scope keys that give auditors their buyers' chains) and,
    where flows/drift.py is present, its drift records; published with the run, in one transaction."""
    supply, scope = supply_rollup(home, as_of, list(run.rows))
    drift: list[dict[str, Any]] = []
    try:
        from flows.drift import drift_records
    except ImportError:  # drift is optional
        pass
    else:
        drift = drift_records(home, as_of, run)
    return replace(run, supply=supply, scope=[*run.scope, *scope], drift=drift)
