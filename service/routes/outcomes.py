"""Outcomes of visits and audits, recorded for the next training run."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from service import outcomes
from service.deps import CurrentUser, ServiceDep
from service.problems import ERROR_RESPONSES, Problem, documented
from service.routes.links import OUTCOME_LINKS
from service.schemas import OutcomeOut

router = APIRouter(tags=["outcomes"])


@router.post(
    "/v1/outcomes",
    response_model=OutcomeOut,
    status_code=201,
    responses={
        **ERROR_RESPONSES,
        201: {"links": OUTCOME_LINKS},
        400: documented(Problem, "the body cannot be read (not UTF-8 JSON)"),
        413: documented(Problem, "request body too large"),
    },
)
def post_outcome(user: CurrentUser, service: ServiceDep, body: outcomes.OutcomeIn) -> dict[str, Any]:
    """Record what a visit or audit found; validated by the enforcement_outcome contract, stored, and written
    to the landing zone for the next training run. An outcome on an exploration pick is marked as such."""
    return service.record_outcome(user, body)
