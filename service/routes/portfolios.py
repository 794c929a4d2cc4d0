"""A buyer's supply-chain portfolio: JSON, CSV, XLSX and its dashboard pages."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import HTMLResponse

from service.auth import User
from service.deps import CurrentUser, service_of
from service.exports import XLSX
from service.pages import render
from service.portfolios import list_buyers, load_portfolio, to_csv, to_xlsx
from service.problems import ERROR_STATUSES
from service.schemas import PortfolioOut

router = APIRouter()
BuyerId = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9_:.\-]+$")]
SortBy = Annotated[Literal["rollup", "own"], Query(description="rank by rolled-up risk (default) or own risk")]


def _attachment(buyer_id: str, ext: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="portfolio-{buyer_id}.{ext}"'}


@router.get("/v1/portfolios", response_model=list[str], tags=["portfolios"], responses=ERROR_STATUSES)
def portfolios(user: CurrentUser, request: Request) -> list[str]:
    """The buyer portfolios the user may open (auditors: theirs; admins: all)."""
    return list_buyers(service_of(request), user)


@router.get(
    "/v1/portfolios/{buyer_id}.csv",
    tags=["portfolios"],
    response_class=Response,
    responses={**ERROR_STATUSES, 200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
def portfolio_csv(user: CurrentUser, request: Request, buyer_id: BuyerId, sort: SortBy = "rollup") -> Response:
    """The portfolio's suppliers with their paths, CSV."""
    found = load_portfolio(service_of(request), user, buyer_id, sort)
    return Response(to_csv(found), media_type="text/csv; charset=utf-8", headers=_attachment(buyer_id, "csv"))


@router.get(
    "/v1/portfolios/{buyer_id}.xlsx",
    tags=["portfolios"],
    response_class=Response,
    responses={**ERROR_STATUSES, 200: {"content": {XLSX: {"schema": {"type": "string", "format": "binary"}}}}},
)
def portfolio_xlsx(user: CurrentUser, request: Request, buyer_id: BuyerId, sort: SortBy = "rollup") -> Response:
    """The portfolio's suppliers with their paths, Excel."""
    found = load_portfolio(service_of(request), user, buyer_id, sort)
    return Response(to_xlsx(found), media_type=XLSX, headers=_attachment(buyer_id, "xlsx"))


@router.get("/v1/portfolios/{buyer_id}", response_model=PortfolioOut, tags=["portfolios"], responses=ERROR_STATUSES)
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
    return render(request, "portfolio.html", user, **context)
