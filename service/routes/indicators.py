"""The indicator registry: every indicator a reason can name, with its page."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path

from features.registry import BY_ID, INDICATORS
from service.deps import CurrentUser
from service.problems import ERROR_RESPONSES
from service.schemas import IndicatorOut, IndicatorPage, indicator_out, indicator_page_markdown

router = APIRouter(tags=["indicators"], responses=ERROR_RESPONSES)


@router.get("/v1/indicators", response_model=list[IndicatorOut])
def indicators(user: CurrentUser) -> list[dict[str, Any]]:
    """The indicator registry: every indicator a reason can name."""
    return [indicator_out(i) for i in INDICATORS]


@router.get("/v1/indicators/{indicator_id}", response_model=IndicatorPage)
def indicator(user: CurrentUser, indicator_id: Annotated[str, Path(max_length=20)]) -> dict[str, Any]:
    """One indicator's page: why it is a red flag, what it is based on, exclusions."""
    ind = BY_ID.get(indicator_id)
    if ind is None:
        raise HTTPException(404, "not found")
    return {**indicator_out(ind), "why": ind.why, "page": indicator_page_markdown(ind)}
