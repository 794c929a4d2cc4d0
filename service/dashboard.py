"""Server-rendered dashboard under ``/``: sign in with a token (exchanged for a server-side session), worklists
with filters, exports and a printable visit pack, entity pages with the score history, the SHAP waterfall of the
reasons and a form to record an inspection outcome, indicator pages, model cards and portfolios; in English,
French, Spanish or Arabic (service/i18n.py). Every page reads through the same scoped, audited calls as the API."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from itertools import groupby
from typing import Annotated, Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from features.registry import BY_ID, INDICATORS
from models.worklist import MAX_EXPLORATION_SHARE
from service import charts, i18n, queries
from service.auth import SESSION_HOURS, User, authenticate, csrf_ok, csrf_token, end_session, start_session
from service.core import COOKIE
from service.deps import WorklistParams, service_of
from service.outcomes import OutcomeIn
from service.pages import (
    FORM_EXPIRED,
    NO_REGION,
    NOT_FOUND,
    OUTCOME_FORM_CHOICES,
    SIGN_IN_EXPIRED,
    TOKEN_INVALID,
    TYPE_TITLES,
    language,
    markdown,
    render,
    session_cookie,
)
from service.schemas import EntityType, indicator_out, indicator_page_markdown

router = APIRouter(include_in_schema=False)
LOGIN_COOKIE = "tracerisk_login"  # the sign-in form's nonce: its CSRF token is bound to it
FORM_LIMIT = 16_384  # bytes: the largest dashboard form body read


async def form_fields(request: Request) -> dict[str, list[str]]:
    """The fields of an urlencoded form body (every value of a repeated field, blanks kept); 413 past FORM_LIMIT."""
    body = await request.body()
    if len(body) > FORM_LIMIT:
        raise HTTPException(413, "form too large")
    return parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=200)


def first(fields: dict[str, list[str]], name: str) -> str:
    return (fields.get(name) or [""])[0]


def outcome_from_form(fields: dict[str, list[str]]) -> OutcomeIn:
    """The outcome form as the API's body model (the same validation as POST /v1/outcomes); empty optional
    fields are absent. Raises pydantic's ValidationError."""
    optional = {name: first(fields, name).strip() for name in ("issuing_body", "worklist_id")}
    return OutcomeIn.model_validate(
        {
            "entity_type": first(fields, "entity_type"),
            "entity_id": first(fields, "entity_id"),
            "decided_on": first(fields, "decided_on").strip(),
            "kind": first(fields, "kind"),
            "indicators_observed": fields.get("indicators_observed", []),
            **{name: value for name, value in optional.items() if value},
        }
    )


def field_errors(error: ValidationError) -> dict[str, str]:
    """Pydantic's errors by form field (the first message of each)."""
    found: dict[str, str] = {}
    for e in error.errors():
        name = str(e["loc"][0]) if e["loc"] else "form"
        found.setdefault(name, str(e["msg"]).removeprefix("Value error, "))
    return found


def by_region(items: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """A worklist's items grouped by region (regions in name order, entities without one last), each group in
    worklist order."""
    ordered = sorted(items, key=lambda it: (it["region"] is None, it["region"] or "", it["rank"]))
    return [(region or NO_REGION, list(group)) for region, group in groupby(ordered, key=lambda it: it["region"])]


def worklist_query(capacity: int | None, region: str | None, explore: float) -> str:
    """The query string of a worklist's filters (for its exports, visit pack and page)."""
    return urlencode({"capacity": capacity, "explore": explore, **({"region": region} if region else {})})


def local_path(target: str) -> str | None:
    """``target`` when it is a path on this site (one leading slash, no scheme or host), else None."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target or any(c < " " for c in target):
        return None
    return target


def same_origin(request: Request) -> bool:
    """False when the browser says the request comes from another site: Sec-Fetch-Site other than same-origin, or
    else an Origin that is not this host. 'null' and absent headers say nothing (the pages send no referrer, so
    browsers post Origin: null); the CSRF token decides then."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site == "same-origin"
    origin = request.headers.get("origin", "null")
    return origin == "null" or urlsplit(origin).netloc == request.headers.get("host", "")


def check_form(request: Request, fields: dict[str, list[str]], secret: bytes) -> None:
    """403 unless a form posted with the session cookie comes from this site: Origin (when sent) is this host and
    its CSRF token is the session's. A request with a bearer token carries no ambient credential: not checked."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token:
        return
    if not same_origin(request) or not csrf_ok(secret, session_cookie(request), first(fields, "csrf_token")):
        raise HTTPException(403, FORM_EXPIRED)


def signed_in(request: Request) -> User:
    """The request's user; 401 (the sign-in page) without one."""
    user = service_of(request).user_from(request)
    if user is None:
        raise HTTPException(401, "sign in")
    return user


def login_page(request: Request, error: str | None, status_code: int = 200) -> HTMLResponse:
    """The sign-in form; its CSRF token is bound to a nonce kept in a cookie of the sign-in page."""
    service = service_of(request)
    secret = service.settings.secret
    nonce = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
    response = render(
        request, "login.html", None, status_code, error=error, login_csrf=csrf_token(secret, f"login:{nonce}")
    )
    response.set_cookie(
        LOGIN_COOKIE,
        nonce,
        path="/login",
        httponly=True,
        samesite="strict",
        secure=service.settings.cookie_secure,
        max_age=3600,
    )
    return response


@router.get("/language/{code}")
def switch_language(request: Request, code: str, next: Annotated[str, Query(max_length=2000)] = "/") -> Response:
    """The language switch: remembers the choice in a cookie (a year) and goes back to the page it came from
    (a path on this site only)."""
    if code not in i18n.LANGUAGES:
        raise HTTPException(404, NOT_FOUND)
    redirect = RedirectResponse(local_path(next) or "/", status_code=303)
    redirect.set_cookie(
        i18n.LANGUAGE_COOKIE,
        code,
        max_age=365 * 24 * 3600,
        httponly=True,
        samesite="lax",
        secure=service_of(request).settings.cookie_secure,
    )
    return redirect


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> HTMLResponse:
    return login_page(request, None)


@router.post("/login")
async def login(request: Request) -> Response:
    service = service_of(request)
    secret = service.settings.secret
    fields = await form_fields(request)
    token = first(fields, "token").strip()
    wait = service.limiter.check(f"login:{request.client.host if request.client else '-'}")
    if wait is not None:
        raise HTTPException(429, "too many sign-in attempts; retry later", headers={"Retry-After": str(wait)})
    nonce = request.cookies.get(LOGIN_COOKIE, "")
    bound_to = f"login:{nonce}" if nonce else ""  # no nonce cookie: no token passes
    if not same_origin(request) or not csrf_ok(secret, bound_to, first(fields, "csrf_token")):
        return login_page(request, SIGN_IN_EXPIRED, 403)
    user = None
    if token:
        with service.store.guard():
            user = authenticate(service.store.engine(), secret, token)
    if user is None:
        return login_page(request, TOKEN_INVALID, 401)
    with service.store.guard():
        session_id = await run_in_threadpool(start_session, service.store.engine(), secret, user)
    redirect = RedirectResponse("/", status_code=303)
    redirect.set_cookie(
        COOKIE,
        session_id,
        httponly=True,
        samesite="strict",
        secure=service.settings.cookie_secure,
        max_age=SESSION_HOURS * 3600,
    )
    redirect.delete_cookie(LOGIN_COOKIE, path="/login")
    return redirect


@router.post("/logout")
async def logout(request: Request) -> Response:
    """Sign out: the session is revoked in the store (a copy of the cookie stops working), the cookie dropped."""
    fields = await form_fields(request)
    session_id = request.cookies.get(COOKIE, "")
    if session_id:
        service = service_of(request)
        secret = service.settings.secret
        check_form(request, fields, secret)
        with service.store.guard():
            await run_in_threadpool(end_session, service.store.engine(), secret, session_id)
    redirect = RedirectResponse("/login", status_code=303)
    redirect.delete_cookie(COOKIE)
    return redirect


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> Response:
    user = service_of(request).user_from(request)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    return render(request, "home.html", user)


@router.get("/worklists/{entity_type}", response_class=HTMLResponse)
def worklist_page(request: Request, entity_type: EntityType, params: WorklistParams) -> HTMLResponse:
    capacity, region, explore = params
    user = signed_in(request)
    service = service_of(request)
    region = region or None
    wl = service.worklist(user, entity_type.value, capacity, region, explore)
    with service.store.connect() as conn:
        region_choices = queries.regions(conn, entity_type.value)
    return render(
        request,
        "worklist.html",
        user,
        wl=wl,
        entity_type=entity_type.value,
        region=region,
        regions=region_choices,
        explore=explore,
        min_explore=service.settings.min_exploration_share,
        max_explore=MAX_EXPLORATION_SHARE,
        query=worklist_query(wl["capacity"], region, explore),
    )


# Days of records before the scored day that a type's reasons count (the longest window of its indicators).
LOOKBACK_DAYS: dict[str, int] = {
    t: max(i.window_days for i in INDICATORS if i.entity == t) for t in {i.entity for i in INDICATORS}
}


def entity_view(
    request: Request,
    user: User,
    entity_type: str,
    entity_id: str,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    found = service_of(request).entity(user, entity_type, entity_id)
    gettext = i18n.gettext_for(language(request))
    waterfall = (
        charts.waterfall_steps(found["base_value"], found["raw_score"], found["reasons"], gettext)
        if found["base_value"] is not None and found["raw_score"] is not None
        else []
    )
    today = datetime.now(UTC).date().isoformat()
    return render(
        request,
        "entity.html",
        user,
        status_code=status_code,
        e=found,
        lookback_days=LOOKBACK_DAYS[entity_type],
        history_svg=charts.history_svg(found["history"], gettext=gettext),
        waterfall_svg=charts.waterfall_svg(found["base_value"], found["raw_score"], found["reasons"], gettext=gettext),
        waterfall=waterfall,
        probability=charts.probability,
        **OUTCOME_FORM_CHOICES,
        today=today,
        form=form
        or {
            "decided_on": today,
            "kind": "",
            "indicators_observed": [],
            "issuing_body": "",
            "worklist_id": request.query_params.get("worklist_id", "")[:64],
        },
        errors=errors or {},
        recorded=request.query_params.get("recorded", "")[:64],
    )


@router.get("/entities/{entity_type}/{entity_id:path}", response_class=HTMLResponse)
def entity_page(request: Request, entity_type: EntityType, entity_id: str) -> HTMLResponse:
    return entity_view(request, signed_in(request), entity_type.value, entity_id)


@router.post("/outcomes")
async def record_outcome(request: Request) -> Response:
    """The entity page's outcome form: validated as POST /v1/outcomes, recorded by the same call; back to the
    entity page, with the errors next to their fields when the form does not validate."""
    user = signed_in(request)
    fields = await form_fields(request)
    service = service_of(request)
    check_form(request, fields, service.settings.secret)
    entity_type, entity_id = first(fields, "entity_type"), first(fields, "entity_id")
    if entity_type not in TYPE_TITLES or not entity_id:
        raise HTTPException(404, NOT_FOUND)
    try:
        body = outcome_from_form(fields)
    except ValidationError as exc:
        form: dict[str, Any] = {n: first(fields, n) for n in ("decided_on", "kind", "issuing_body", "worklist_id")}
        form["indicators_observed"] = fields.get("indicators_observed", [])
        return await run_in_threadpool(entity_view, request, user, entity_type, entity_id, form, field_errors(exc), 422)
    out = await run_in_threadpool(service.record_outcome, user, body)
    target = f"/entities/{entity_type}/{quote(entity_id, safe='')}?{urlencode({'recorded': out['outcome_id']})}"
    return RedirectResponse(f"{target}#outcome", status_code=303)


@router.get("/worklists/{entity_type}/visit-pack", response_class=HTMLResponse)
def visit_pack(request: Request, entity_type: EntityType, params: WorklistParams) -> HTMLResponse:
    """The worklist as a printable visit pack: entities grouped by region, every reason with its detail, room
    for notes; the same worklist (and worklist id) as the page with these filters."""
    capacity, region, explore = params
    user = signed_in(request)
    wl = service_of(request).worklist(user, entity_type.value, capacity, region or None, explore)
    return render(
        request,
        "visit_pack.html",
        user,
        wl=wl,
        entity_type=entity_type.value,
        region=region or None,
        groups=by_region(wl["items"]),
        query=worklist_query(wl["capacity"], region, explore),
        printed=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )


@router.get("/indicators", response_class=HTMLResponse)
def indicators_page(request: Request) -> HTMLResponse:
    user = signed_in(request)
    return render(request, "indicators.html", user, rows=[indicator_out(i) for i in INDICATORS])


@router.get("/indicators/{indicator_id}", response_class=HTMLResponse)
def indicator_page(request: Request, indicator_id: str) -> HTMLResponse:
    user = signed_in(request)
    ind = BY_ID.get(indicator_id)
    if ind is None:
        raise HTTPException(404, NOT_FOUND)
    return render(request, "indicator.html", user, ind=indicator_out(ind), body=markdown(indicator_page_markdown(ind)))


@router.get("/models", response_class=HTMLResponse)
def models_page(request: Request) -> HTMLResponse:
    user = signed_in(request)
    with service_of(request).store.connect() as conn:
        found = queries.model_list(conn)
    return render(request, "models.html", user, rows=found)


@router.get("/models/{model_id}", response_class=HTMLResponse)
def model_page(request: Request, model_id: str) -> HTMLResponse:
    user = signed_in(request)
    with service_of(request).store.connect() as conn:
        found = queries.model(conn, model_id)
    if found is None:
        raise HTTPException(404, NOT_FOUND)
    return render(request, "model.html", user, m=found, card=markdown(found["card"]))
