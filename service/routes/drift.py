"""Drift of the published score runs against their champions' training windows."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request

from service.deps import CurrentUser, service_of
from service.problems import ERROR_STATUSES
from service.schemas import DriftOut
from store.tables import model_drift, published

router = APIRouter()


@router.get("/v1/drift", response_model=list[DriftOut], tags=["models"], responses=ERROR_STATUSES)
def drift(user: CurrentUser, request: Request) -> list[dict[str, Any]]:
    """Drift of the published score runs against their champions' training windows (PSI per indicator and per
    score band, models/drift_run.py): a flagged model is due for retraining. Public to every user, like the model
    cards."""
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
