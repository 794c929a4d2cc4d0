"""Supply-chain roll-up on a hand-made graph: the figures and paths are pinned in a golden file
(tests/models/golden/rollup.json; regenerate with TRACERISK_UPDATE_GOLDEN=1 after checking the diff)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from models.reasons import Reason, docs_link, encode_reasons
from models.rollup import paths_of, rollup, scored_rows, supply_graph, supply_scope

GOLDEN = Path(__file__).with_name("golden") / "rollup.json"


def _edges() -> list[dict[str, Any]]:
    def e(st: str, s: str, dt: str, d: str, kind: str, w: float) -> dict[str, Any]:
        return {"src_type": st, "src_id": s, "dst_type": dt, "dst_id": d, "kind": kind, "weight": w}

    return [
        # Buyer B1: tier-1 S1 (two tier-2 suppliers) and S2; buyer B2: tier-1 S3 alone.
        e("employer", "S1", "buyer", "B1", "supplies", 100),
        e("employer", "S2", "buyer", "B1", "supplies", 50),
        e("employer", "S3", "buyer", "B2", "supplies", 10),
        e("employer", "T1", "employer", "S1", "supplies", 40),
        e("employer", "T2", "employer", "S1", "supplies", 20),
        e("employer", "T9", "employer", "T1", "supplies", 5),  # tier 3: beyond two tiers, cut
        e("recruiter", "R1", "employer", "S1", "placed_with", 10),
        e("recruiter", "R2", "employer", "T1", "placed_with", 8),
        e("recruiter", "R2", "employer", "S2", "contracts_at", 2),  # R2 serves both suppliers of B1
        e("recruiter", "R3", "employer", "T2", "contracts_at", 3),
        e("recruiter", "R9", "employer", "S1", "applies_at", 99),  # not a recruiter link: ignored
    ]


def _scores() -> list[dict[str, Any]]:
    def s(t: str, i: str, name: str, p: float, band: str, detail: str | None) -> dict[str, Any]:
        reasons = [Reason("E01", "t", None, f"{detail}; peers 1.0%", 1.0, docs_link("E01"))] if detail else []
        return {
            "entity_type": t,
            "entity_id": i,
            "name": name,
            "probability": p,
            "band": band,
            "reasons": encode_reasons(reasons),
        }

    return [
        s("employer", "S1", "Alpha Garments", 0.05, "low", None),
        s("employer", "S2", "Beta Foods", 0.30, "elevated", "2 of 6 inspections found excessive overtime"),
        s("employer", "S3", "Gamma Farms", 0.60, "high", "1 of 2 inspections found debt bondage"),
        s("employer", "T1", "Delta Stitching", 0.70, "high", "3 of 5 inspections found identity documents retained"),
        s("employer", "T2", "Epsilon Dyeing", 0.10, "low", None),
        s("employer", "T9", "Zeta Buttons", 0.99, "high", "deep in the chain"),
        s("recruiter", "R1", "Kappa Agency", 0.20, "low", None),
        s("recruiter", "R2", "Lambda Brokers", 0.90, "high", "licence revoked 2023-04-01"),
        # R3 has no published score: its path is left out.
        s("visa_desk", "D1", "desk", 0.99, "high", "ignored"),
    ]


def test_rollup_on_a_hand_made_graph_matches_the_golden_file() -> None:
    rows = rollup(supply_graph(_edges()), scored_rows(_scores()))
    out = {
        "rows": [{**r, "paths": json.loads(r["paths"])} for r in rows],
        "scope": supply_scope(supply_graph(_edges())),
    }
    if os.environ.get("TRACERISK_UPDATE_GOLDEN"):
        GOLDEN.write_text(json.dumps(out, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    assert out == json.loads(GOLDEN.read_text(encoding="utf-8"))


def test_rollup_figures_by_hand() -> None:
    rows = {(r["buyer_id"], r["supplier_id"]): r for r in rollup(supply_graph(_edges()), scored_rows(_scores()))}
    s1 = rows[("B1", "S1")]
    # Highest within two tiers of S1: recruiter R2 of tier-2 T1 (0.9), never T9 (tier 3).
    assert s1["rollup_max"] == 0.9
    assert s1["top_path"] == (
        "recruiter Lambda Brokers, via tier-2 supplier Delta Stitching, via tier-1 supplier Alpha Garments: "
        "licence revoked 2023-04-01"
    )
    # Volume-weighted over S1 (100), R1 (10), T1 (40), R2 via T1 (8), T2 (20); R3 unscored.
    expected = (100 * 0.05 + 10 * 0.2 + 40 * 0.7 + 8 * 0.9 + 20 * 0.1) / 178
    assert abs(s1["rollup_weighted"] - round(expected, 6)) < 1e-9
    assert s1["high_risk"] == 2  # T1 and R2
    # S1 and S2 tie on rolled-up risk (both reach R2); S2 ranks first on its own risk.
    assert s1["own_probability"] == 0.05 and s1["rank"] == 2
    paths = json.loads(s1["paths"])
    assert [p["entity_id"] for p in paths] == ["R2", "T1"]
    assert paths[1]["text"] == (
        "tier-2 supplier Delta Stitching, via tier-1 supplier Alpha Garments: "
        "3 of 5 inspections found identity documents retained"
    )
    # The portfolio counts R2 once although two of its suppliers use it.
    assert rows[("B1", "")]["high_risk"] == 2
    assert rows[("B1", "S2")]["rollup_max"] == 0.9 and rows[("B1", "S2")]["rank"] == 1
    assert rows[("B2", "S3")]["rollup_max"] == 0.6 and rows[("B2", "")]["high_risk"] == 1


def test_paths_stay_within_two_tiers() -> None:
    graph = supply_graph(_edges())
    ends = {p.hops[-1].entity_id for p in paths_of(graph, "S1")}
    assert ends == {"S1", "R1", "T1", "R2", "T2", "R3"}
    assert "T9" not in {h.entity_id for s in graph.buyer_of for p in paths_of(graph, s) for h in p.hops}


def test_scope_keys_give_auditors_their_buyers_chains() -> None:
    scope = supply_scope(supply_graph(_edges()))
    b1 = {(r["entity_type"], r["entity_id"]) for r in scope if r["value"] == "B1"}
    assert b1 == {("employer", e) for e in ("S1", "S2", "T1", "T2")} | {("recruiter", r) for r in ("R1", "R2", "R3")}
    assert all(r["kind"] == "employer" for r in scope)
