"""The ranked worklist of an entity type in the user's scope, as JSON, CSV or Excel."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request, Response

from service import exports
from service.deps import CurrentUser, ServiceDep, WorklistParams
from service.exports import XLSX
from service.problems import ERROR_RESPONSES
from service.routes.links import WORKLIST_LINKS
from service.schemas import EntityType, WorklistOut

router = APIRouter(tags=["worklists"])
TEXT = {"schema": {"type": "string"}}
BINARY = {"schema": {"type": "string", "format": "binary"}}


def csv_response(wl: dict[str, Any]) -> Response:
    return Response(
        exports.to_csv(wl["items"]),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="worklist-{wl["entity_type"]}.csv"'},
    )


def xlsx_response(wl: dict[str, Any]) -> Response:
    return Response(
        exports.to_xlsx(wl["items"], f"worklist {wl['entity_type']}"),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="worklist-{wl["entity_type"]}.xlsx"'},
    )


def _file_route(suffix: str, media: str, respond: Callable[[dict[str, Any]], Response], doc: str, kind: str) -> None:
    """``GET /v1/worklists/{entity_type}.<suffix>``: the worklist as one file, route name ``worklist_<suffix>``."""

    def route(user: CurrentUser, service: ServiceDep, entity_type: EntityType, params: WorklistParams) -> Response:
        return respond(service.worklist(user, entity_type.value, *params))

    route.__name__ = route.__qualname__ = f"worklist_{suffix}"
    route.__doc__ = doc
    content = {media: TEXT if media == "text/csv" else BINARY}
    responses = {**ERROR_RESPONSES, 200: {"description": f"the worklist, {kind}", "content": content}}
    router.get(f"/v1/worklists/{{entity_type}}.{suffix}", response_class=Response, responses=responses)(route)


# The .csv and .xlsx paths are declared before the plain one, which would otherwise take "employer.csv" as a type.
_file_route("csv", "text/csv", csv_response, "The worklist as CSV.", "CSV")
_file_route("xlsx", XLSX, xlsx_response, "The worklist as an Excel workbook.", "Excel")


@router.get(
    "/v1/worklists/{entity_type}",
    response_model=WorklistOut,
    responses={**ERROR_RESPONSES, 200: {"content": {"text/csv": TEXT, XLSX: BINARY}, "links": WORKLIST_LINKS}},
)
def worklist(
    user: CurrentUser, request: Request, service: ServiceDep, entity_type: EntityType, params: WorklistParams
) -> Any:
    """The ranked worklist in the user's scope, exploration picks flagged, with expected findings.
    ``Accept: text/csv`` or the XLSX media type give the spreadsheet exports."""
    wl = service.worklist(user, entity_type.value, *params)
    accept = request.headers.get("accept", "")
    if "text/csv" in accept:
        return csv_response(wl)
    if XLSX in accept:
        return xlsx_response(wl)
    return wl
