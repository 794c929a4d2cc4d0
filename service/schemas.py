"""The API's response models (its OpenAPI schemas) and the helpers that build their bodies."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, TypeAdapter
from pydantic.dataclasses import dataclass

from features.catalogue import render_indicator_page
from features.registry import ENTITY_TYPES, Indicator
from service.reasons import ReasonOut, indicator_link
from service.records import fields_of
from store.publish import ModelRecord


class EntityType(StrEnum):
    employer = "employer"
    recruiter = "recruiter"
    visa_desk = "visa_desk"
    border_post = "border_post"
    inspector = "inspector"


assert tuple(EntityType) == ENTITY_TYPES


class HistoryPoint(BaseModel):
    run_id: str
    as_of: str
    probability: float
    band: str
    rank: int
    model_id: str


class EntityOut(BaseModel):
    entity_type: str
    entity_id: str
    name: str | None
    country: str | None
    region: str | None
    sector: str | None
    address: str | None = None  # the organisation's own address as of the score's date; None for official desks
    probability: float
    band: str
    rank: int
    rank_in_region: int
    red_flags: int
    model_id: str
    as_of: str
    reasons: list[ReasonOut]
    base_value: float | None
    raw_score: float | None
    history: list[HistoryPoint]


class WorklistItem(BaseModel):
    entity_id: str
    entity_type: str
    name: str | None
    region: str | None
    address: str | None = None  # as EntityOut.address
    score: float
    band: str
    rank: int
    exploration: bool
    reasons: list[ReasonOut]


class WorklistOut(BaseModel):
    worklist_id: str | None
    entity_type: str
    capacity: int
    in_scope: int
    exploration_share: float
    items: list[WorklistItem]
    expected_findings: float
    expected_findings_ranked: float
    expected_findings_exploration: float
    model_id: str | None
    as_of: str | None


class OutcomeOut(BaseModel):
    outcome_id: str
    entity_type: str
    entity_id: str
    decided_on: str
    kind: str
    indicators_observed: list[str]
    exploration: bool
    worklist_id: str | None


class IndicatorOut(BaseModel):
    id: str
    entity: str
    title: str
    unit: str
    direction: int
    sensitive: bool
    sources: list[str]
    link: str


class IndicatorPage(IndicatorOut):
    why: str
    page: str = Field(description="the registry page, Markdown")


@dataclass(frozen=True)
class ModelOut(ModelRecord):
    updated_at: str
    drift: dict[str, Any] | None = None  # latest score run's PSI against the training window; flagged above threshold


class AuditEntry(BaseModel):
    seq: int
    at: str
    actor: str
    role: str
    action: str
    entity_type: str | None
    entity_id: str | None
    detail: dict[str, Any]
    hash: str


class AuditVerification(BaseModel):
    ok: bool
    entries: int
    problems: list[str]
    anchors: int = Field(description="anchors of the anchor file checked")
    warnings: list[str] = Field(description="what this verification cannot detect")


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


ENTITY_JSON = TypeAdapter(EntityOut)  # the entity route's response model: the fast path's body is its bytes


def indicator_out(ind: Indicator) -> dict[str, Any]:
    return {
        **fields_of(ind, ("id", "entity", "title", "unit", "direction", "sensitive")),
        "sources": list(ind.sources),
        "link": indicator_link(ind.id),
    }


def indicator_page_markdown(ind: Indicator) -> str:
    """The registry page without its SQL block (no SQL in any response; the catalogue in docs/ has it)."""
    out: list[str] = []
    in_sql = False
    for line in render_indicator_page(ind).splitlines():
        if line.startswith("```sql"):
            in_sql = True
            out.append("(The computation is published in the indicator catalogue.)")
            continue
        if in_sql:
            in_sql = not line.startswith("```")
            continue
        out.append(line)
    return "\n".join(out)
