"""Supply-chain portfolios: a buyer's tier-1 suppliers ranked by their own and their rolled-up risk
(models/rollup.py), with the paths that produce it, and their CSV and XLSX exports (routes in
service/routes/portfolios.py).

Who sees a portfolio: admins every one; supply-chain auditors the buyers named in their portfolio (any other
buyer answers 404, exactly like a missing one); every other role 403. Every read is audited."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from fastapi import HTTPException

from service.auth import User
from service.core import Service
from service.exports import cell, table_csv, table_xlsx
from store.tables import published, score_runs, supply_rollup

AUDITOR = "supply_chain_auditor"


def visible_buyers(user: User) -> tuple[str, ...] | None:
    """The buyers ``user`` may see (None: all); 403 for roles without portfolios."""
    if user.role == "admin":
        return None
    if user.role != AUDITOR:
        raise HTTPException(403, f"role {user.role} has no supply-chain portfolios")
    return user.portfolio


def _supplier(r: Any, rank: int) -> dict[str, Any]:
    return {
        "rank": rank,
        "supplier_id": r.supplier_id,
        "name": r.supplier_name,
        "own_probability": r.own_probability,
        "own_band": r.own_band,
        "rollup_max": r.rollup_max,
        "rollup_weighted": r.rollup_weighted,
        "high_risk": r.high_risk,
        "tier2_suppliers": r.tier2_suppliers,
        "top_path": r.top_path,
        "paths": json.loads(r.paths),
    }


def load_portfolio(service: Service, user: User, buyer_id: str, sort: str = "rollup") -> dict[str, Any]:
    """The published portfolio of ``buyer_id`` as ``user`` may see it (404 when out of scope or missing)."""
    allowed = visible_buyers(user)
    if allowed is not None and buyer_id not in allowed:
        service.audit(user, "portfolio.not_found", None, buyer_id)
        raise HTTPException(404, "not found")
    with service.store.connect() as conn:
        run = conn.execute(
            sa.select(published.c.run_id, score_runs.c.as_of)
            .join(score_runs, score_runs.c.run_id == published.c.run_id)
            .where(published.c.entity_type == "employer")
        ).first()
        rows = (
            []
            if run is None
            else conn.execute(
                sa.select(supply_rollup).where(
                    supply_rollup.c.run_id == run.run_id, supply_rollup.c.buyer_id == buyer_id
                )
            ).all()
        )
    whole = next((r for r in rows if r.supplier_id == ""), None)
    if run is None or whole is None:
        service.audit(user, "portfolio.not_found", None, buyer_id)
        raise HTTPException(404, "not found")
    suppliers = sorted((r for r in rows if r.supplier_id != ""), key=lambda r: r.rank)
    if sort == "own":
        suppliers.sort(key=lambda r: (-(r.own_probability or 0.0), -(r.rollup_max or 0.0), r.supplier_id))
    service.audit(user, "portfolio.read", None, buyer_id, run_id=run.run_id, suppliers=len(suppliers))
    return {
        "buyer_id": buyer_id,
        "run_id": run.run_id,
        "as_of": run.as_of,
        "suppliers_count": len(suppliers),
        "rollup_max": whole.rollup_max,
        "rollup_weighted": whole.rollup_weighted,
        "high_risk": whole.high_risk,
        "top_path": whole.top_path,
        "paths": json.loads(whole.paths),
        "suppliers": [_supplier(r, i) for i, r in enumerate(suppliers, start=1)],
    }


def list_buyers(service: Service, user: User) -> list[str]:
    allowed = visible_buyers(user)
    with service.store.connect() as conn:
        run_id = conn.execute(sa.select(published.c.run_id).where(published.c.entity_type == "employer")).scalar()
        if run_id is None:
            return []
        found = conn.execute(
            sa.select(supply_rollup.c.buyer_id)
            .where(supply_rollup.c.run_id == run_id, supply_rollup.c.supplier_id == "")
            .order_by(supply_rollup.c.buyer_id)
        ).scalars()
        return [b for b in found if allowed is None or b in allowed]


EXPORT_COLUMNS = (
    "rank",
    "supplier_id",
    "name",
    "own_probability",
    "own_band",
    "rollup_max",
    "rollup_weighted",
    "high_risk_within_two_tiers",
    "tier2_suppliers",
    "paths",
)


def export_rows(portfolio: dict[str, Any]) -> list[list[Any]]:
    return [
        [
            cell(v)
            for v in (
                s["rank"],
                s["supplier_id"],
                s["name"],
                s["own_probability"],
                s["own_band"],
                s["rollup_max"],
                s["rollup_weighted"],
                s["high_risk"],
                s["tier2_suppliers"],
                " | ".join(p["text"] for p in s["paths"]),
            )
        ]
        for s in portfolio["suppliers"]
    ]


def to_csv(portfolio: dict[str, Any]) -> str:
    return table_csv(EXPORT_COLUMNS, export_rows(portfolio))


def to_xlsx(portfolio: dict[str, Any]) -> bytes:
    return table_xlsx(EXPORT_COLUMNS, export_rows(portfolio), f"portfolio {portfolio['buyer_id']}")
