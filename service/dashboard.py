"""Server-rendered dashboard under ``/``: sign in with a token (kept in an HttpOnly cookie), worklists with
filters and exports, entity pages with the score history and the SHAP waterfall of the reasons, indicator pages
and model cards. Every page reads through the same scoped, audited calls as the API."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, urlencode

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markdown_it import MarkdownIt
from markupsafe import Markup

from features.registry import BY_ID, INDICATORS
from models.worklist import DEFAULT_EXPLORATION_SHARE
from service import charts, portfolios, queries
from service.api import COOKIE, MAX_CAPACITY, EntityType, Service, indicator_out, indicator_page_markdown
from service.auth import User, authenticate

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
_MD = MarkdownIt("commonmark", {"html": False}).enable("table")
TYPE_TITLES = {
    "employer": "Employers",
    "recruiter": "Recruiters",
    "visa_desk": "Visa desks",
    "border_post": "Border posts",
    "inspector": "Inspectors",
}


_TABLE_HEADER_CELL = re.compile(r"<th(?=[ >])")


def markdown(text: str) -> Markup:
    """Markdown as HTML; raw HTML in the source is escaped (html=False) and table header cells get their scope."""
    return Markup(_TABLE_HEADER_CELL.sub('<th scope="col"', _MD.render(text)))


def shows_portfolios(user: User) -> bool:
    """Whether the navigation links the supply-chain portfolios (the roles that may read one)."""
    return user.role in ("admin", portfolios.AUDITOR)  # as portfolios.visible_buyers


def render(
    request: Request, name: str, user: User | None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """A dashboard page: the template with what the layout needs (navigation for ``user``) and ``context``."""
    types = list(user.role_def.types) if user else []
    return TEMPLATES.TemplateResponse(
        request,
        name,
        {
            "user": user,
            "types": types,
            "type_titles": TYPE_TITLES,
            "show_portfolios": user is not None and shows_portfolios(user),
            **context,
        },
        status_code=status_code,
    )


def html_error(request: Request, status: int, detail: str) -> Response:
    if status == 401:
        return RedirectResponse("/login", status_code=303)
    return render(request, "error.html", None, status_code=status, status=status, detail=detail)


def register_dashboard(app: FastAPI, service: Service) -> None:
    page = render

    def signed_in(request: Request) -> User:
        user = service.user_from(request)
        if user is None:
            raise HTTPException(401, "sign in")
        return user

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_form(request: Request) -> HTMLResponse:
        return page(request, "login.html", None, error=None)

    @app.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        body = (await request.body())[:4096].decode("utf-8", "replace")
        token = (parse_qs(body).get("token") or [""])[0].strip()
        wait = service.limiter.check(f"login:{request.client.host if request.client else '-'}")
        if wait is not None:
            raise HTTPException(429, "too many sign-in attempts; retry later", headers={"Retry-After": str(wait)})
        user = None
        if token:
            with service.store.guard():
                user = authenticate(service.store.engine(), service.settings.secret, token)
        if user is None:
            response = page(request, "login.html", None, error="That token is not valid.")
            response.status_code = 401
            return response
        redirect = RedirectResponse("/", status_code=303)
        redirect.set_cookie(
            COOKIE,
            token,
            httponly=True,
            samesite="strict",
            secure=service.settings.cookie_secure,
            max_age=12 * 3600,
        )
        return redirect

    @app.post("/logout", include_in_schema=False)
    def logout() -> Response:
        redirect = RedirectResponse("/login", status_code=303)
        redirect.delete_cookie(COOKIE)
        return redirect

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home(request: Request) -> Response:
        user = service.user_from(request)
        if user is None:
            return RedirectResponse("/login", status_code=303)
        return page(request, "home.html", user)

    @app.get("/worklists/{entity_type}", response_class=HTMLResponse, include_in_schema=False)
    def worklist_page(
        request: Request,
        entity_type: EntityType,
        capacity: Annotated[int | None, Query(ge=1, le=MAX_CAPACITY)] = None,
        region: Annotated[str | None, Query(max_length=100)] = None,
        explore: Annotated[float, Query(ge=0.0, le=0.5)] = DEFAULT_EXPLORATION_SHARE,
    ) -> HTMLResponse:
        user = signed_in(request)
        region = region or None
        wl = service.worklist(user, entity_type.value, capacity, region, explore)
        with service.store.connect() as conn:
            region_choices = queries.regions(conn, entity_type.value)
        params = {"capacity": wl["capacity"], "explore": explore, **({"region": region} if region else {})}
        return page(
            request,
            "worklist.html",
            user,
            wl=wl,
            entity_type=entity_type.value,
            region=region,
            regions=region_choices,
            explore=explore,
            query=urlencode(params),
        )

    @app.get("/entities/{entity_type}/{entity_id:path}", response_class=HTMLResponse, include_in_schema=False)
    def entity_page(request: Request, entity_type: EntityType, entity_id: str) -> HTMLResponse:
        user = signed_in(request)
        found = service.entity(user, entity_type.value, entity_id)
        waterfall = (
            charts.waterfall_steps(found["base_value"], found["raw_score"], found["reasons"])
            if found["base_value"] is not None and found["raw_score"] is not None
            else []
        )
        return page(
            request,
            "entity.html",
            user,
            e=found,
            history_svg=charts.history_svg(found["history"]),
            waterfall_svg=charts.waterfall_svg(found["base_value"], found["raw_score"], found["reasons"]),
            waterfall=waterfall,
            probability=charts.probability,
        )

    @app.get("/indicators", response_class=HTMLResponse, include_in_schema=False)
    def indicators_page(request: Request) -> HTMLResponse:
        user = signed_in(request)
        return page(request, "indicators.html", user, indicators=[indicator_out(i) for i in INDICATORS])

    @app.get("/indicators/{indicator_id}", response_class=HTMLResponse, include_in_schema=False)
    def indicator_page(request: Request, indicator_id: str) -> HTMLResponse:
        user = signed_in(request)
        ind = BY_ID.get(indicator_id)
        if ind is None:
            raise HTTPException(404, "not found")
        return page(
            request, "indicator.html", user, ind=indicator_out(ind), body=markdown(indicator_page_markdown(ind))
        )

    @app.get("/models", response_class=HTMLResponse, include_in_schema=False)
    def models_page(request: Request) -> HTMLResponse:
        user = signed_in(request)
        with service.store.connect() as conn:
            found = queries.model_list(conn)
        return page(request, "models.html", user, models=found)

    @app.get("/models/{model_id}", response_class=HTMLResponse, include_in_schema=False)
    def model_page(request: Request, model_id: str) -> HTMLResponse:
        user = signed_in(request)
        with service.store.connect() as conn:
            found = queries.model(conn, model_id)
        if found is None:
            raise HTTPException(404, "not found")
        return page(request, "model.html", user, m=found, card=markdown(found["card"]))
