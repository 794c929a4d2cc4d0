"""The hash-chained audit log and its verification (admins only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from service import audit
from service.auth import User
from service.deps import CurrentUser, ServiceDep
from service.problems import ERROR_RESPONSES
from service.schemas import AuditEntry, AuditVerification
from service.settings import BUILTIN_SECRET_WARNING

router = APIRouter(tags=["audit"], responses=ERROR_RESPONSES)


def require_audit_reader(user: User) -> None:
    if not user.role_def.may_read_audit:
        raise HTTPException(403, "only admins may read the audit log")


@router.get("/v1/audit", response_model=list[AuditEntry])
def audit_log(
    user: CurrentUser,
    service: ServiceDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> list[dict[str, Any]]:
    """The audit log, newest first (admin only)."""
    require_audit_reader(user)
    with service.store.guard():
        return audit.entries(service.store.engine(), limit, before)


@router.get("/v1/audit/verify", response_model=AuditVerification)
def audit_verify(user: CurrentUser, service: ServiceDep) -> dict[str, Any]:
    """Check the audit log's hash chain, its sealed head and the anchor file (admin only)."""
    require_audit_reader(user)
    settings = service.settings
    found, unreadable = audit.read_anchors(settings.audit_anchor_path)
    with service.store.guard():
        v = audit.verify(service.store.engine(), settings.secret, found)
    problems = unreadable + v.problems
    warnings = v.warnings + ([BUILTIN_SECRET_WARNING] if settings.builtin_secret else [])
    return {
        "ok": not problems,
        "entries": v.entries,
        "problems": problems,
        "anchors": len(found),
        "warnings": warnings,
    }
