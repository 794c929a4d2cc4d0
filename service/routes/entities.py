"""One entity's published score."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request

from service.core import STORE_BUSY
from service.database import StoreBusy
from service.deps import CurrentUser, ServiceDep
from service.problems import ERROR_RESPONSES
from service.routes.links import ENTITY_LINKS
from service.schemas import EntityOut, EntityType

# ``:path``: an id may hold "/" (an official desk is "POST:OFFICER", and a post is named as its source gives it),
# sent percent-encoded or not
ENTITY_PATH = "/v1/entities/{entity_type}/{entity_id:path}"
MAX_ENTITY_ID = 200  # characters

router = APIRouter(tags=["scores"])


@router.get(ENTITY_PATH, response_model=EntityOut, responses={**ERROR_RESPONSES, 200: {"links": ENTITY_LINKS}})
async def get_entity(
    user: CurrentUser,
    request: Request,
    service: ServiceDep,
    entity_type: EntityType,
    entity_id: Annotated[str, Path(max_length=MAX_ENTITY_ID)],
) -> dict[str, Any]:
    """One entity's published score: probability, band, rank, model, as-of, top reasons and score history.
    Out of scope answers 404 exactly like a missing entity; a type the role may not see answers 403."""
    if request.scope.get(STORE_BUSY):
        raise StoreBusy("the serving store is busy")
    return await service.entity_async(user, entity_type.value, entity_id)
