"""Error answers as RFC 9457 problem details (``application/problem+json``): ``type``, ``title``, ``status`` and
``detail``, plus ``errors`` (per field) on 422. ``type`` is ``about:blank`` and ``title`` the HTTP status phrase,
so the status says what kind of problem it is and ``detail`` says what happened. A body never carries the
request's input, a stack trace, SQL or a file path; equal problems are equal bytes (no per-request member), so a
hidden entity and a missing one answer alike."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

PROBLEM_JSON = "application/problem+json"


class Problem(BaseModel):
    type: str = Field(default="about:blank", description="always about:blank: the status says what kind of problem")
    title: str = Field(description="the HTTP status phrase")
    status: int
    detail: str = Field(description="what happened, for a person")


class FieldProblem(BaseModel):
    field: str = Field(description="where: path.x, query.x or body.x")
    message: str


class ValidationProblem(Problem):
    errors: list[FieldProblem]


def problem_document(status: int, detail: str, **extensions: Any) -> dict[str, Any]:
    """The problem document (members in a fixed order, so equal problems serialise to equal bytes)."""
    return {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status, "detail": detail, **extensions}


def problem_body(status: int, detail: str) -> bytes:
    """The document's bytes as ProblemResponse writes them, for answers sent below FastAPI (raw ASGI)."""
    return bytes(ProblemResponse(problem_document(status, detail)).body)


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_JSON


def problem(status: int, detail: str, headers: Mapping[str, str] | None = None, **extensions: Any) -> ProblemResponse:
    """An error answer: ``status`` with its problem document."""
    return ProblemResponse(problem_document(status, detail, **extensions), status_code=status, headers=headers)


def documented(model: type[Problem], description: str | None = None) -> dict[str, Any]:
    """A route's ``responses`` entry for an error answered with ``model`` as problem+json."""
    entry: dict[str, Any] = {
        "model": model,
        "content": {PROBLEM_JSON: {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}},
    }
    if description:
        entry["description"] = description
    return entry


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: documented(Problem),
    403: documented(Problem),
    404: documented(Problem),
    422: documented(ValidationProblem, "invalid parameters or body, per field"),
    429: documented(Problem, "rate limit; see Retry-After"),
    503: documented(Problem),
}  # the error answers of an authenticated /v1 route
ERROR_STATUSES: dict[int | str, dict[str, Any]] = {401: {}, 403: {}, 404: {}, 422: {}}  # listed without a schema
