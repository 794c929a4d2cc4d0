"""Supply-chain portfolios: a buyer's tier-1 suppliers ranked by their own and their rolled-up risk
(models/rollup.py), with the paths that produce it; JSON, CSV, XLSX and a dashboard page.

Who sees a portfolio: admins every one; supply-chain auditors the buyers named in their portfolio (any other
buyer answers 404, exactly like a missing one); every other role 403. Every read is audited."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from service.auth import User
from service.core import Service
from service.deps import CurrentUser, service_of
from service.exports import XLSX, cell, table_csv, table_xlsx
from service.store import model_drift, published, score_runs, supply_rollup

router = APIRouter()
AUDITOR = "supply_chain_auditor"
BuyerId = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9_:.\-]+$")]
SortBy = Annotated[Literal["rollup", "own"], Query(description="rank by rolled-up risk (default) or own risk")]


class PathOut(BaseModel):
    entity_type: str
    entity_id: str
    name: str | None
    probability: float
    band: str
    text: str
    hops: list[dict[str, str]]


class SupplierOut(BaseModel):
    rank: int
    supplier_id: str
    name: str | None
    own_probability: float | None
    own_band: str | None
    rollup_max: float | None
    rollup_weighted: float | None
    high_risk: int
    tier2_suppliers: int
    top_path: str | None
    paths: list[PathOut]


class PortfolioOut(BaseModel):
    buyer_id: str
    run_id: str
    as_of: str
    suppliers_count: int
    rollup_max: float | None
    rollup_weighted: float | None
    high_risk: int
    top_path: str | None
    paths: list[PathOut]
    suppliers: list[SupplierOut]


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


def _attachment(buyer_id: str, ext: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="portfolio-{buyer_id}.{ext}"'}


ERRORS: dict[int | str, dict[str, Any]] = {401: {}, 403: {}, 404: {}, 422: {}}


@router.get("/v1/portfolios", response_model=list[str], tags=["portfolios"], responses=ERRORS)
def portfolios(user: CurrentUser, request: Request) -> list[str]:
    """The buyer portfolios the user may open (auditors: theirs; admins: all)."""
    return list_buyers(service_of(request), user)


@router.get(
    "/v1/portfolios/{buyer_id}.csv",
    tags=["portfolios"],
    response_class=Response,
    responses={**ERRORS, 200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
def portfolio_csv(user: CurrentUser, request: Request, buyer_id: BuyerId, sort: SortBy = "rollup") -> Response:
    """The portfolio's suppliers with their paths, CSV."""
    found = load_portfolio(service_of(request), user, buyer_id, sort)
    return Response(to_csv(found), media_type="text/csv; charset=utf-8", headers=_attachment(buyer_id, "csv"))


@router.get(
    "/v1/portfolios/{buyer_id}.xlsx",
    tags=["portfolios"],
    response_class=Response,
    responses={**ERRORS, 200: {"content": {XLSX: {"schema": {"type": "string", "format": "binary"}}}}},
)
def portfolio_xlsx(user: CurrentUser, request: Request, buyer_id: BuyerId, sort: SortBy = "rollup") -> Response:
    """The portfolio's suppliers with their paths, Excel."""
    found = load_portfolio(service_of(request), user, buyer_id, sort)
    return Response(to_xlsx(found), media_type=XLSX, headers=_attachment(buyer_id, "xlsx"))


@router.get("/v1/portfolios/{buyer_id}", response_model=PortfolioOut, tags=["portfolios"], responses=ERRORS)
def portfolio(user: CurrentUser, request: Request, buyer_id: BuyerId, sort: SortBy = "rollup") -> dict[str, Any]:
    """A buyer's portfolio: exposure of the whole portfolio and each tier-1 supplier ranked by rolled-up (or own)
    risk: highest and volume-weighted risk within two tiers, high-risk entities, each with its path."""
    return load_portfolio(service_of(request), user, buyer_id, sort)


@router.get("/portfolios", response_class=HTMLResponse, include_in_schema=False)
def portfolios_page(user: CurrentUser, request: Request) -> HTMLResponse:
    service = service_of(request)
    buyers = list_buyers(service, user)
    return _page(request, user, buyers=buyers, p=None, sort="rollup")


@router.get("/portfolios/{buyer_id}", response_class=HTMLResponse, include_in_schema=False)
def portfolio_page(user: CurrentUser, request: Request, buyer_id: BuyerId, sort: SortBy = "rollup") -> HTMLResponse:
    found = load_portfolio(service_of(request), user, buyer_id, sort)
    return _page(request, user, buyers=None, p=found, sort=sort)


def _page(request: Request, user: User, **context: Any) -> HTMLResponse:
    from service.pages import render

    return render(request, "portfolio.html", user, **context)


class DriftOut(BaseModel):
    entity_type: str
    model_id: str
    run_id: str
    as_of: str
    reference_as_of: str | None
    max_psi: float | None
    score_psi: float | None
    threshold: float
    flagged: bool
    retraining_due: bool
    detail: dict[str, Any]


@router.get("/v1/drift", response_model=list[DriftOut], tags=["models"], responses=ERRORS)
def drift(user: CurrentUser, request: Request) -> list[dict[str, Any]]:
    """Drift of the published score runs against their champions' training windows (PSI per indicator and per
    score band, flows/drift.py): a flagged model is due for retraining. Public to every user, like the model cards."""
    with service_of(request).store.connect() as conn:
        rows = conn.execute(
            sa.select(model_drift).join(
                published,
                (published.c.run_id == model_drift.c.run_id) & (published.c.entity_type == model_drift.c.entity_type),
            )
        ).all()
    return [
        {**{k: v for k, v in r._asdict().items() if k != "created_at"}, "detail": json.loads(r.detail)}
        for r in sorted(rows, key=lambda r: r.entity_type)
    ]
