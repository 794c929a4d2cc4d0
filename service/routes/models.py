"""Registered models: backtest metrics, champion/challenger decisions and model cards."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Response

from service import queries
from service.deps import CurrentUser, ServiceDep
from service.problems import ERROR_RESPONSES
from service.schemas import ModelOut

router = APIRouter(tags=["models"])


@router.get("/v1/models", response_model=list[ModelOut], responses=ERROR_RESPONSES)
def model_list(user: CurrentUser, service: ServiceDep) -> list[dict[str, Any]]:
    """Every registered model with its backtest metrics and champion/challenger decision."""
    with service.store.connect() as conn:
        return queries.model_list(conn)


@router.get(
    "/v1/models/{model_id}/card",
    response_class=Response,
    responses={
        **ERROR_RESPONSES,
        200: {"description": "the model card, Markdown", "content": {"text/markdown": {"schema": {"type": "string"}}}},
    },
)
def model_card(user: CurrentUser, service: ServiceDep, model_id: Annotated[str, Path(max_length=120)]) -> Response:
    """The model card (Markdown), public to every user."""
    with service.store.connect() as conn:
        found = queries.model(conn, model_id)
    if found is None:
        raise HTTPException(404, "not found")
    return Response(found["card"], media_type="text/markdown; charset=utf-8")
