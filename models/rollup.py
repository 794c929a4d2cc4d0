"""Supply-chain risk roll-up: what a buyer's portfolio and each of its tier-1 suppliers are exposed to through
their sub-suppliers and recruiters, with the path that produces each figure.

Pure functions over the supply graph (``supplies`` edges: supplier -> buyer or tier-1 supplier, weighted by the
supplier's declared employees), the recruiter links (``placed_with`` / ``contracts_at`` edges: recruiter ->
employer, weighted by placements or inspections that saw the contractor) and one score run's published rows.

Per tier-1 supplier S of buyer B, the entities within two tiers are S itself, S's recruiters, the tier-2
suppliers T that supply S, and T's recruiters; each is reached along one path (S; S -> R; S -> T; S -> T -> R).
For S and for B (all its tier-1 suppliers together):

- ``rollup_max``: the highest calibrated probability among those entities, with its path;
- ``rollup_weighted``: the volume-weighted mean probability (weights: employees of a supplier, placements of a
  recruiter at the supplier it serves), i.e. the risk an average worker in the chain is exposed to;
- ``high_risk``: the number of distinct entities in the "high" band, each listed with its path.

A path reads from the risky entity up to the buyer's supplier, followed by the entity's top published reason:
"recruiter Y, via tier-2 supplier X, via tier-1 supplier Z: 3 of 5 inspections found identity documents retained".
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from data_contracts.contracts import ORGANISATION_TYPES
from models.reasons import decode_reasons

HIGH_BAND = "high"
MAX_PATHS = 10  # paths kept per supplier / portfolio (highest probability first)
RECRUITER_EDGES = ("placed_with", "contracts_at")


@dataclass(frozen=True)
class Scored:
    """One published score: what the roll-up needs of a ``scores`` row."""

    entity_type: str
    entity_id: str
    name: str | None
    probability: float
    band: str
    reason: str | None  # the top reason's detail, if any


@dataclass(frozen=True)
class Hop:
    entity_type: str  # employer | recruiter
    entity_id: str
    role: str  # "tier-1 supplier", "tier-2 supplier", "recruiter"


@dataclass(frozen=True)
class Path:
    hops: tuple[Hop, ...]  # from the buyer's tier-1 supplier down to the risky entity
    weight: float  # volume flowing along the path (workers)


@dataclass
class SupplyGraph:
    buyer_of: dict[str, str]  # tier-1 supplier -> buyer id
    tier2_of: dict[str, list[tuple[str, float]]]  # tier-1 supplier -> [(tier-2 supplier, employees)]
    employees: dict[str, float]  # supplier -> declared employees (>= 1)
    recruiters_of: dict[str, list[tuple[str, float]]]  # employer -> [(recruiter, placements)]

    @property
    def buyers(self) -> list[str]:
        return sorted(set(self.buyer_of.values()))

    def suppliers_of(self, buyer: str) -> list[str]:
        return self.portfolios().get(buyer, [])

    def portfolios(self) -> dict[str, list[str]]:
        """Buyer -> its tier-1 suppliers (sorted), grouped in one pass (a scan per buyer took 1,050 x 42,093 steps
        on the large world)."""
        out: dict[str, list[str]] = defaultdict(list)
        for s, b in self.buyer_of.items():
            out[b].append(s)
        return {b: sorted(v) for b, v in out.items()}


def supply_graph(edges: Iterable[Mapping[str, Any]]) -> SupplyGraph:
    """The graph from network-edge rows (src_type, src_id, dst_type, dst_id, kind, weight); other kinds ignored."""
    buyer_of: dict[str, str] = {}
    sub: dict[str, list[tuple[str, float]]] = defaultdict(list)
    employees: dict[str, float] = {}
    recruiters: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for e in edges:
        kind = e["kind"]
        if kind == "supplies":
            src, dst, w = str(e["src_id"]), str(e["dst_id"]), max(float(e["weight"] or 1), 1.0)
            employees[src] = w
            if e["dst_type"] == "buyer":
                buyer_of[src] = dst
            else:
                sub[dst].append((src, w))
        elif kind in RECRUITER_EDGES and e["src_type"] == "recruiter" and e["dst_type"] == "employer":
            recruiters[str(e["dst_id"])][str(e["src_id"])] += float(e["weight"] or 1)
    return SupplyGraph(
        buyer_of=buyer_of,
        # Only tier-2 suppliers of a buyer's tier-1 supplier count (a chain deeper than two tiers is cut there).
        tier2_of={s: sorted(v) for s, v in sub.items() if s in buyer_of},
        employees=employees,
        recruiters_of={e: sorted(r.items()) for e, r in recruiters.items()},
    )


def paths_of(graph: SupplyGraph, supplier: str) -> list[Path]:
    """Every path from tier-1 ``supplier`` to an entity within two tiers (the supplier itself first)."""
    s_hop = Hop("employer", supplier, "tier-1 supplier")
    s_weight = graph.employees.get(supplier, 1.0)
    out = [Path((s_hop,), s_weight)]
    out += [Path((s_hop, Hop("recruiter", r, "recruiter")), w) for r, w in graph.recruiters_of.get(supplier, [])]
    for t, t_weight in graph.tier2_of.get(supplier, []):
        t_hop = Hop("employer", t, "tier-2 supplier")
        out.append(Path((s_hop, t_hop), t_weight))
        out += [Path((s_hop, t_hop, Hop("recruiter", r, "recruiter")), w) for r, w in graph.recruiters_of.get(t, [])]
    return out


def scored_rows(rows: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], Scored]:
    """Published score rows (``reasons`` as stored text) keyed by (entity type, entity id)."""
    out: dict[tuple[str, str], Scored] = {}
    for r in rows:
        if r["entity_type"] not in ORGANISATION_TYPES:
            continue
        reasons = decode_reasons(r["reasons"], top=1)
        reason = reasons[0].detail.split("; peers", 1)[0] if reasons else None
        key = (str(r["entity_type"]), str(r["entity_id"]))
        out[key] = Scored(key[0], key[1], r.get("name"), float(r["probability"]), str(r["band"]), reason)
    return out


def _label(hop: Hop, scores: Mapping[tuple[str, str], Scored]) -> str:
    found = scores.get((hop.entity_type, hop.entity_id))
    name = found.name if found is not None and found.name else hop.entity_id
    return f"{hop.role} {name}"


def path_text(path: Path, scores: Mapping[tuple[str, str], Scored]) -> str:
    """The path in words, risky entity first, with its top published reason."""
    words = ", via ".join(_label(h, scores) for h in reversed(path.hops))
    end = scores.get((path.hops[-1].entity_type, path.hops[-1].entity_id))
    reason = end.reason if end is not None and end.reason else "no reason published"
    return f"{words}: {reason}"


def _path_out(path: Path, end: Scored, scores: Mapping[tuple[str, str], Scored]) -> dict[str, Any]:
    return {
        "entity_type": end.entity_type,
        "entity_id": end.entity_id,
        "name": end.name,
        "probability": round(end.probability, 6),
        "band": end.band,
        "text": path_text(path, scores),
        "hops": [{"entity_type": h.entity_type, "entity_id": h.entity_id, "role": h.role} for h in path.hops],
    }


@dataclass(frozen=True)
class Exposure:
    rollup_max: float | None
    rollup_weighted: float | None
    high_risk: int
    paths: list[dict[str, Any]]  # the top path first (highest probability), then the other high-risk paths


def exposure(paths: Sequence[Path], scores: Mapping[tuple[str, str], Scored], max_paths: int = MAX_PATHS) -> Exposure:
    """Highest and volume-weighted risk over ``paths`` and the distinct high-band entities they reach."""
    found = [(p, scores.get((p.hops[-1].entity_type, p.hops[-1].entity_id))) for p in paths]
    scored = [(p, s) for p, s in found if s is not None]
    if not scored:
        return Exposure(None, None, 0, [])
    total = sum(p.weight for p, _ in scored)
    weighted = sum(p.weight * s.probability for p, s in scored) / total if total > 0 else None
    # Highest probability first; ties: shorter path, then ids (deterministic).
    ordered = sorted(scored, key=lambda ps: (-ps[1].probability, len(ps[0].hops), [h.entity_id for h in ps[0].hops]))
    best_by_entity: dict[tuple[str, str], tuple[Path, Scored]] = {}
    for p, s in ordered:
        best_by_entity.setdefault((s.entity_type, s.entity_id), (p, s))
    high = [(p, s) for p, s in best_by_entity.values() if s.band == HIGH_BAND]
    top = ordered[0]
    listed = [top] + [ps for ps in high if ps[1] is not top[1]]
    return Exposure(
        rollup_max=round(top[1].probability, 6),
        rollup_weighted=None if weighted is None else round(weighted, 6),
        high_risk=len(high),
        paths=[_path_out(p, s, scores) for p, s in listed[:max_paths]],
    )


def _known(paths: Iterable[Path], scores: Mapping[tuple[str, str], Scored]) -> list[Path]:
    return [p for p in paths if (p.hops[-1].entity_type, p.hops[-1].entity_id) in scores]


def rollup(graph: SupplyGraph, scores: Mapping[tuple[str, str], Scored]) -> list[dict[str, Any]]:
    """One row per buyer portfolio (``supplier_id`` "") and per tier-1 supplier of it (columns of
    store.tables.supply_rollup without run_id). Suppliers are ranked within the portfolio by rolled-up risk,
    then own risk, then id; paths are JSON text."""
    out: list[dict[str, Any]] = []
    portfolios = graph.portfolios()
    for buyer in graph.buyers:
        supplier_rows: list[dict[str, Any]] = []
        all_paths: list[Path] = []
        for s in portfolios[buyer]:
            paths = _known(paths_of(graph, s), scores)
            all_paths += paths
            ex = exposure(paths, scores)
            own = scores.get(("employer", s))
            supplier_rows.append(
                {
                    "buyer_id": buyer,
                    "supplier_id": s,
                    "supplier_name": own.name if own else None,
                    "own_probability": round(own.probability, 6) if own else None,
                    "own_band": own.band if own else None,
                    "rollup_max": ex.rollup_max,
                    "rollup_weighted": ex.rollup_weighted,
                    "high_risk": ex.high_risk,
                    "tier2_suppliers": len(graph.tier2_of.get(s, [])),
                    "top_path": ex.paths[0]["text"] if ex.paths else None,
                    "paths": ex.paths,
                }
            )
        supplier_rows.sort(key=lambda r: (-(r["rollup_max"] or 0.0), -(r["own_probability"] or 0.0), r["supplier_id"]))
        # The portfolio: distinct entities over all its suppliers (an entity two suppliers share counts once).
        ex = exposure(all_paths, scores)
        out.append(
            {
                "buyer_id": buyer,
                "supplier_id": "",
                "supplier_name": None,
                "own_probability": None,
                "own_band": None,
                "rollup_max": ex.rollup_max,
                "rollup_weighted": ex.rollup_weighted,
                "high_risk": ex.high_risk,
                "tier2_suppliers": sum(len(graph.tier2_of.get(s, [])) for s in portfolios[buyer]),
                "top_path": ex.paths[0]["text"] if ex.paths else None,
                "paths": ex.paths,
                "rank": 0,
            }
        )
        out += [{**r, "rank": i} for i, r in enumerate(supplier_rows, start=1)]
    return [{**r, "paths": json.dumps(r["paths"], sort_keys=True)} for r in out]


def supply_scope(graph: SupplyGraph) -> list[dict[str, Any]]:
    """Scope keys that put a buyer's suppliers (both tiers) and their recruiters in the scope of an auditor whose
    portfolio names the buyer (kind 'employer', value the buyer id: service/roles.py's portfolio rule)."""
    keys: set[tuple[str, str, str]] = set()
    for s, buyer in graph.buyer_of.items():
        employers = [s] + [t for t, _ in graph.tier2_of.get(s, [])]
        for e in employers:
            keys.add(("employer", e, buyer))
            keys.update(("recruiter", r, buyer) for r, _ in graph.recruiters_of.get(e, []))
    return [{"entity_type": t, "entity_id": e, "kind": "employer", "value": b} for t, e, b in sorted(keys)]
