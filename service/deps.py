"""The routes' dependencies, as typed aliases: the service, the signed-in user and the worklist parameters."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from models.worklist import DEFAULT_EXPLORATION_SHARE, MAX_EXPLORATION_SHARE
from service.auth import User
from service.core import MAX_CAPACITY, Service

BEARER = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    bearerFormat="opaque token",
    description="A token printed once by `tracerisk users add` (or `tracerisk users demo`).",
)


def service_of(request: Request) -> Service:
    """The app's ``Service`` (``create_app`` keeps it in ``app.state``)."""
    service: Service = request.app.state.service
    return service


async def get_service(request: Request) -> Service:
    """``service_of`` as a dependency (async: resolved on the loop, no thread hop)."""
    return service_of(request)


ServiceDep = Annotated[Service, Depends(get_service)]


async def current_user(
    request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)] = None
) -> User:
    """The user holding the request's bearer token (or dashboard cookie); 401 otherwise. The Security dependency
    declares the bearer scheme in OpenAPI (Swagger's Authorize); the token itself is read by ``user_from``."""
    user: User | None = service_of(request).user_from(request)
    if user is None:
        raise HTTPException(401, "a valid bearer token is required", headers={"WWW-Authenticate": "Bearer"})
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def worklist_params(
    request: Request,
    capacity: Annotated[int | None, Query(ge=1, le=MAX_CAPACITY, description="list size; default top 5%")] = None,
    region: Annotated[str | None, Query(max_length=100, description="only entities in this region")] = None,
    explore: Annotated[
        float,
        Query(
            ge=0.0,
            le=MAX_EXPLORATION_SHARE,
            description="share of random exploration picks; at least the deployment's TRACERISK_MIN_EXPLORATION_SHARE",
        ),
    ] = DEFAULT_EXPLORATION_SHARE,
) -> tuple[int | None, str | None, float]:
    floor = service_of(request).settings.min_exploration_share
    if explore < floor:
        why = f"at least {floor:g}: random picks in every worklist keep future findings from following the ranking"
        raise RequestValidationError([{"loc": ("query", "explore"), "msg": why, "type": "greater_than_equal"}])
    return capacity, region, explore


WorklistParams = Annotated[tuple[int | None, str | None, float], Depends(worklist_params)]
