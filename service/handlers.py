"""How errors are answered: RFC 9457 problem documents (HTML pages for the dashboard's 401, 403 and 404), 503 with
Retry-After while the store is down, never a stack trace, SQL or a file path."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.database import StoreUnavailable
from service.deps import service_of
from service.pages import html_error
from service.problems import ProblemResponse, problem

log = logging.getLogger("tracerisk.service")


async def store_unavailable(request: Request, exc: Exception) -> Response:
    service = service_of(request)
    service.metrics.store_up.set(0)
    log.warning("store unavailable: %s", exc.__cause__.__class__.__name__ if exc.__cause__ else "")
    return problem(
        503,
        "the score store is unavailable; retry shortly",
        headers={"Retry-After": str(service.settings.retry_after_s)},
    )


async def invalid_request(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = field_errors(exc)
    fields = ", ".join(dict.fromkeys(e["field"] for e in errors))
    detail = f"invalid {fields}" if fields else "invalid request"
    if is_dashboard(request) and wants_html(request):
        return html_error(request, 422, "; ".join(f"{e['field']}: {e['message']}" for e in errors) or detail)
    return problem(422, detail, errors=errors)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code in (401, 403, 404) and is_dashboard(request) and wants_html(request):
        return html_error(request, exc.status_code, str(exc.detail))
    return problem(exc.status_code, str(exc.detail), headers=exc.headers)


async def crash(request: Request, exc: Exception) -> ProblemResponse:
    log.exception("unhandled error on %s", request.url.path)
    return problem(500, "internal error")


def add_exception_handlers(app: FastAPI) -> None:
    app.add_exception_handler(StoreUnavailable, store_unavailable)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, crash)


def field_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    """Field-level messages without the submitted input (it could carry anything)."""
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        out.append({"field": ".".join(loc), "message": str(err.get("msg", "invalid value"))})
    return out


def is_dashboard(request: Request) -> bool:
    """A dashboard page's request (the API is under /v1)."""
    return request.url.path.split("/")[1:2] != ["v1"]


def wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")
