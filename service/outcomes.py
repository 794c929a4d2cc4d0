"""Outcomes recorded by inspectors and auditors: validated by the enforcement_outcome contract, kept in the store
and written to the CSV landing zone ($TRACERISK_HOME/landing/outcomes/) that ``tracerisk ingest --format csv``
reads for the next training run."""

from __future__ import annotations

import csv
import io
import json
import re
import secrets
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.engine import Connection

from data_contracts.atomic import write_text_atomically
from data_contracts.contracts import CONTRACTS, ILO_INDICATORS
from store.tables import issued_worklists, now_iso, outcomes, worklist_items

CONTRACT = CONTRACTS["enforcement_outcome"]
SOURCE = "tracerisk-service"


def _allowed(name: str, value: str) -> str:
    values = CONTRACT.field(name).values
    if values is not None and value not in values:
        raise ValueError(f"must be one of: {', '.join(values)}")
    return value


def _max_length(name: str) -> int:
    return CONTRACT.field(name).max_length or 300


# C0 and C1 control characters and DEL. Free text may keep tab and line breaks (the landing CSV quotes them);
# identifiers keep none. NUL makes a landing file unreadable as text.
_CONTROL_IN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_CONTROL_IN_ID = re.compile("[\x00-\x1f\x7f-\x9f]")


def _no_control(value: str | None, pattern: re.Pattern[str]) -> str | None:
    if value is not None and pattern.search(value):
        raise ValueError("must not contain control characters")
    return value


class OutcomeIn(BaseModel):
    """What a visit or audit found. Field rules come from the enforcement_outcome contract."""

    model_config = ConfigDict(extra="forbid")

    entity_type: str = Field(
        description="employer, recruiter, visa_desk, border_post or inspector",
        json_schema_extra={"enum": list(CONTRACT.field("entity_type").values or ())},
    )
    entity_id: str = Field(min_length=1, max_length=_max_length("entity_ref"), description="the scored entity's id")
    decided_on: date = Field(description="date of the visit's finding or decision (not in the future)")
    kind: str = Field(
        description="outcome kind, as in the enforcement_outcome contract",
        json_schema_extra={"enum": list(CONTRACT.field("kind").values or ())},
    )
    indicators_observed: list[str] = Field(
        default_factory=list,
        description="ILO forced-labour indicators observed",
        json_schema_extra={"items": {"type": "string", "enum": list(ILO_INDICATORS)}},
    )
    issuing_body: str | None = Field(default=None, max_length=_max_length("issuing_body"))
    worklist_id: str | None = Field(default=None, max_length=64, description="the worklist the visit came from")

    @field_validator("entity_type")
    @classmethod
    def _entity_type(cls, value: str) -> str:
        return _allowed("entity_type", value)

    @field_validator("entity_id", "worklist_id")
    @classmethod
    def _identifier(cls, value: str | None) -> str | None:
        return _no_control(value, _CONTROL_IN_ID)

    @field_validator("issuing_body")
    @classmethod
    def _text(cls, value: str | None) -> str | None:
        return _no_control(value, _CONTROL_IN_TEXT)

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        return _allowed("kind", value)

    @field_validator("decided_on")
    @classmethod
    def _not_future(cls, value: date) -> date:
        if CONTRACT.field("decided_on").not_in_future and value > datetime.now(UTC).date():
            raise ValueError("must not be in the future")
        return value

    @field_validator("indicators_observed")
    @classmethod
    def _indicators(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(ILO_INDICATORS))
        if unknown:
            raise ValueError(f"{len(unknown)} unknown indicator(s); allowed: {', '.join(ILO_INDICATORS)}")
        return sorted(set(value))


def contract_row(outcome_id: str, body: OutcomeIn, entity_name: str | None, exploration: bool) -> dict[str, str]:
    """The landing-zone row: every contract column plus the contract's plain extras (kept as they are by ingest in
    extra_fields), checked against the contract."""
    row = {
        "record_id": outcome_id,
        "source": SOURCE,
        "batch_id": f"service-{datetime.now(UTC):%Y%m%d}",
        "outcome_id": outcome_id,
        "entity_type": body.entity_type,
        "entity_ref": body.entity_id,
        # the name comes from the lake, not the request: a control character would spoil the landing file
        "entity_name": _CONTROL_IN_TEXT.sub(" ", entity_name or "")[: _max_length("entity_name")],
        "decided_on": body.decided_on.isoformat(),
        "kind": body.kind,
        "issuing_body": body.issuing_body or "",
        "indicators_observed": ";".join(body.indicators_observed),
        "exploration": "true" if exploration else "false",
        "worklist_id": body.worklist_id or "",
    }
    for f in CONTRACT.fields:
        value = row.get(f.name, "")
        if f.required and not value:
            raise ValueError(f"{f.name} is required by the enforcement_outcome contract")
        if f.max_length is not None and len(value) > f.max_length:
            raise ValueError(f"{f.name} is longer than {f.max_length}")
    return row


def write_landing(landing: Path, row: dict[str, str]) -> Path:
    """One CSV file per outcome, written atomically (temp file + rename) so ingest never reads half a file.
    Lines end in CRLF (RFC 4180), so a field holding a carriage return or a line feed is quoted whole."""
    landing.mkdir(parents=True, exist_ok=True)
    name = f"enforcement_outcome-{datetime.now(UTC):%Y%m%dT%H%M%S}-{row['outcome_id']}.csv"
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[*CONTRACT.columns, *CONTRACT.plain_extras], lineterminator="\r\n")
    writer.writeheader()
    writer.writerow(row)
    return write_text_atomically(landing / name, buffer.getvalue())  # written as bytes: CRLF stays CRLF


def was_exploration(conn: Connection, body: OutcomeIn) -> tuple[bool, str | None]:
    """Whether the visit was an exploration pick: of the given worklist, else of the latest worklist that listed
    the entity. Returns (flag, worklist id)."""
    query = (
        sa.select(worklist_items.c.exploration, worklist_items.c.worklist_id)
        .join(issued_worklists, issued_worklists.c.worklist_id == worklist_items.c.worklist_id)
        .where(worklist_items.c.entity_type == body.entity_type, worklist_items.c.entity_id == body.entity_id)
    )
    if body.worklist_id:
        query = query.where(worklist_items.c.worklist_id == body.worklist_id)
    row = conn.execute(query.order_by(issued_worklists.c.issued_at.desc()).limit(1)).first()
    if row is None:
        return False, body.worklist_id
    return bool(row.exploration), str(row.worklist_id)


def record(
    conn: Connection, landing: Path, body: OutcomeIn, entity_name: str | None, recorded_by: str
) -> dict[str, Any]:
    outcome_id = f"svc-{secrets.token_hex(8)}"
    exploration, worklist_id = was_exploration(conn, body)
    body = body.model_copy(update={"worklist_id": worklist_id})
    row = contract_row(outcome_id, body, entity_name, exploration)
    path = write_landing(landing, row)
    conn.execute(
        sa.insert(outcomes).values(
            outcome_id=outcome_id,
            entity_type=body.entity_type,
            entity_id=body.entity_id,
            decided_on=body.decided_on.isoformat(),
            kind=body.kind,
            indicators_observed=json.dumps(body.indicators_observed),
            issuing_body=body.issuing_body,
            exploration=exploration,
            worklist_id=worklist_id,
            recorded_by=recorded_by,
            recorded_at=now_iso(),
            landing_file=path.name,
        )
    )
    return {
        "outcome_id": outcome_id,
        "entity_type": body.entity_type,
        "entity_id": body.entity_id,
        "decided_on": body.decided_on.isoformat(),
        "kind": body.kind,
        "indicators_observed": body.indicators_observed,
        "exploration": exploration,
        "worklist_id": worklist_id,
    }
