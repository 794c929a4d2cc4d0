"""Supply-chain roll-up inside a score run: the supply graph the features step wrote (network_edges.parquet in the
features folder of the as-of date, else built from the lake) and the run's employer and recruiter scores rolled up
along it (models/rollup.py)."""

from __future__ import annotations

import logging
import time
from datetime import date
from pathlib import Path
from typing import Any

from features.stored import network_edges
from models.rollup import rollup, scored_rows, supply_graph, supply_scope

log = logging.getLogger("tracerisk.flows")
EDGE_KINDS = ("supplies", "placed_with", "contracts_at")  # the edge kinds the roll-up reads


def supply_edges(home: Path, as_of: date) -> list[dict[str, Any]]:
    """The supply and recruiter edges as of ``as_of``: from the features folder, else built from the lake."""
    return network_edges(home, as_of, EDGE_KINDS)


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
