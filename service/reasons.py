"""A score's reasons as the service shows them: the stored text of ``models.reasons.encode_reasons`` parsed straight
into the API's reason model, each linking to the service's indicator page."""

from __future__ import annotations

from pydantic import BaseModel, TypeAdapter


class ReasonOut(BaseModel):
    """A ``models.reasons.Reason`` as the API shows it, linking to the service's indicator page."""

    indicator_id: str
    title: str
    value: float | None
    detail: str
    contribution: float
    link: str


_STORED_REASONS = TypeAdapter(list[ReasonOut])


def indicator_link(indicator_id: str) -> str:
    """The service's page of an indicator (the link a reason shows)."""
    return f"/v1/indicators/{indicator_id}"


def public_reasons(stored: str) -> list[ReasonOut]:
    """A score's stored reasons in their stored order (most contributing first), each linking to the service's
    indicator page instead of the catalogue page it was published with. One JSON parse into the model, not a
    ``models.reasons.Reason`` converted again: this runs for every entity read."""
    reasons = _STORED_REASONS.validate_json(stored)
    for reason in reasons:
        reason.link = indicator_link(reason.indicator_id)
    return reasons
