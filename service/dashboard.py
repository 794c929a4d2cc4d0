"""Server-rendered dashboard under ``/``: sign in with a token (exchanged for a server-side session), worklists
with filters, exports and a printable visit pack, entity pages with the score history, the SHAP waterfall of the
reasons and a form to record an inspection outcome, indicator pages, model cards and portfolios; in English,
French, Spanish or Arabic (service/i18n.py). Every page reads through the same scoped, audited calls as the API.

Strings shown on a page are English msgids, translated in the templates with ``_()``; those defined here are
marked with ``N_`` so that Babel's extraction finds them."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from itertools import groupby
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markdown_it import MarkdownIt
from markupsafe import Markup
from pydantic import ValidationError

from data_contracts.contracts import ILO_INDICATORS
from features.registry import BY_ID, INDICATORS
from models.worklist import DEFAULT_EXPLORATION_SHARE
from service import charts, i18n, portfolios, queries
from service.api import COOKIE, MAX_CAPACITY, EntityType, Service, indicator_out, indicator_page_markdown
from service.auth import SESSION_HOURS, User, authenticate, csrf_ok, csrf_token, end_session, start_session
from service.i18n import N_
from service.outcomes import CONTRACT as OUTCOME_CONTRACT
from service.outcomes import OutcomeIn

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
i18n.install(TEMPLATES.env)
_MD = MarkdownIt("commonmark", {"html": False}).enable("table")
Capacity = Annotated[int | None, Query(ge=1, le=MAX_CAPACITY)]
Region = Annotated[str | None, Query(max_length=100)]
Explore = Annotated[float, Query(ge=0.0, le=0.5)]
LOGIN_COOKIE = "tracerisk_login"  # the sign-in form's nonce: its CSRF token is bound to it
FORM_LIMIT = 16_384  # bytes: the largest dashboard form body read
OUTCOME_KINDS = tuple(OUTCOME_CONTRACT.field("kind").values or ())
OUTCOME_LABELS = {
    "entity_type": N_("Entity type"),
    "entity_id": N_("Entity"),
    "decided_on": N_("Date of the finding or decision"),
    "kind": N_("Outcome"),
    "indicators_observed": N_("ILO forced-labour indicators observed"),
    "issuing_body": N_("Issuing body"),
    "worklist_id": N_("Worklist id (of the visit)"),
}
# labels of the contract's values; a value without one is shown as it is, underscores as spaces
KIND_LABELS = {
    "substantiated_forced_labour": N_("substantiated forced labour"),
    "debarment": N_("debarment"),
    "licence_revocation": N_("licence revocation"),
    "integrity_case_substantiated": N_("integrity case substantiated"),
    "conviction": N_("conviction"),
    "complaint": N_("complaint"),
    "back_wages": N_("back wages"),
}
ILO_LABELS = {
    "abuse_of_vulnerability": N_("abuse of vulnerability"),
    "deception": N_("deception"),
    "restriction_of_movement": N_("restriction of movement"),
    "isolation": N_("isolation"),
    "physical_sexual_violence": N_("physical and sexual violence"),
    "intimidation_threats": N_("intimidation and threats"),
    "retention_of_identity_documents": N_("retention of identity documents"),
    "withholding_of_wages": N_("withholding of wages"),
    "debt_bondage": N_("debt bondage"),
    "abusive_working_living_conditions": N_("abusive working and living conditions"),
    "excessive_overtime": N_("excessive overtime"),
}
BANDS = {"high": N_("high"), "elevated": N_("elevated"), "low": N_("low")}  # models/scoring.py BANDS
MODEL_STATUSES = {"champion": N_("champion"), "challenger": N_("challenger"), "retired": N_("retired")}
NO_REGION = N_("no region")  # heading of the visit pack's group of entities without a region
TYPE_TITLES = {
    "employer": N_("Employers"),
    "recruiter": N_("Recruiters"),
    "visa_desk": N_("Visa desks"),
    "border_post": N_("Border posts"),
    "inspector": N_("Inspectors"),
}
# messages that reach the pages from HTTP errors and the sign-in form (translated where shown)
NOT_FOUND = N_("not found")
FORM_EXPIRED = N_("the form expired or came from another site; reload the page and try again")
SIGN_IN_EXPIRED = N_("The sign-in form expired. Please try again.")
TOKEN_INVALID = N_("That token is not valid.")


_TABLE_HEADER_CELL = re.compile(r"<th(?=[ >])")


def markdown(text: str) -> Markup:
    """Markdown as HTML; raw HTML in the source is escaped (html=False) and table header cells get their scope."""
    return Markup(_TABLE_HEADER_CELL.sub('<th scope="col"', _MD.render(text)))


def shows_portfolios(user: User) -> bool:
    """Whether the navigation links the supply-chain portfolios (the roles that may read one)."""
    return user.role in ("admin", portfolios.AUDITOR)  # as portfolios.visible_buyers


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


def session_cookie(request: Request) -> str:
    """The dashboard session id the request signs in with; '' when it carries a bearer token instead (then no
    cookie is used) or no session."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token:
        return ""
    return request.cookies.get(COOKIE, "")


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


def language(request: Request) -> str:
    """The page's language: the switch's cookie, else the browser's Accept-Language, else English."""
    return i18n.choose(request.cookies.get(i18n.LANGUAGE_COOKIE), request.headers.get("accept-language"))


def render(request: Request, name: str, user: User | None, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A dashboard page: the template with what the layout needs (navigation for ``user``) and ``context``."""
    types = list(user.role_def.types) if user else []
    lang = language(request)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    session_id = session_cookie(request)
    secret: bytes = request.app.state.service.settings.secret
    return TEMPLATES.TemplateResponse(
        request,
        name,
        {
            "user": user,
            "types": types,
            "type_titles": TYPE_TITLES,
            "show_portfolios": user is not None and shows_portfolios(user),
            "csrf": csrf_token(secret, session_id) if session_id else "",
            "lang": lang,
            "dir": i18n.direction(lang),
            "languages": i18n.LANGUAGES,
            "here": here,
            "bands": BANDS,
            "statuses": MODEL_STATUSES,
            "no_region": NO_REGION,
            **context,
        },
        status_code=status_code,
    )


def html_error(request: Request, status: int, detail: str) -> Response:
    if status == 401:
        return RedirectResponse("/login", status_code=303)
    # the language switch leads home: an error page never repeats its path, so a hidden entity's page and a
    # missing one's are byte-identical
    return render(request, "error.html", None, status_code=status, status=status, detail=detail, here="/")


def register_dashboard(app: FastAPI, service: Service) -> None:
    page = render
    secret = service.settings.secret

    def signed_in(request: Request) -> User:
        user = service.user_from(request)
        if user is None:
            raise HTTPException(401, "sign in")
        return user

    def login_page(request: Request, error: str | None, status_code: int = 200) -> HTMLResponse:
        """The sign-in form; its CSRF token is bound to a nonce kept in a cookie of the sign-in page."""
        nonce = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
        response = page(
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

    @app.get("/language/{code}", include_in_schema=False)
    def switch_language(code: str, next: Annotated[str, Query(max_length=2000)] = "/") -> Response:
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
            secure=service.settings.cookie_secure,
        )
        return redirect

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_form(request: Request) -> HTMLResponse:
        return login_page(request, None)

    @app.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
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

    @app.post("/logout", include_in_schema=False)
    async def logout(request: Request) -> Response:
        """Sign out: the session is revoked in the store (a copy of the cookie stops working), the cookie dropped."""
        fields = await form_fields(request)
        session_id = request.cookies.get(COOKIE, "")
        if session_id:
            check_form(request, fields, secret)
            with service.store.guard():
                await run_in_threadpool(end_session, service.store.engine(), secret, session_id)
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
        capacity: Capacity = None,
        region: Region = None,
        explore: Explore = DEFAULT_EXPLORATION_SHARE,
    ) -> HTMLResponse:
        user = signed_in(request)
        region = region or None
        wl = service.worklist(user, entity_type.value, capacity, region, explore)
        with service.store.connect() as conn:
            region_choices = queries.regions(conn, entity_type.value)
        return page(
            request,
            "worklist.html",
            user,
            wl=wl,
            entity_type=entity_type.value,
            region=region,
            regions=region_choices,
            explore=explore,
            query=worklist_query(wl["capacity"], region, explore),
        )

    def entity_view(
        request: Request,
        user: User,
        entity_type: str,
        entity_id: str,
        form: dict[str, Any] | None = None,
        errors: dict[str, str] | None = None,
        status_code: int = 200,
    ) -> HTMLResponse:
        found = service.entity(user, entity_type, entity_id)
        gettext = i18n.gettext_for(language(request))
        waterfall = (
            charts.waterfall_steps(found["base_value"], found["raw_score"], found["reasons"], gettext)
            if found["base_value"] is not None and found["raw_score"] is not None
            else []
        )
        today = datetime.now(UTC).date().isoformat()
        return page(
            request,
            "entity.html",
            user,
            status_code=status_code,
            e=found,
            history_svg=charts.history_svg(found["history"], gettext=gettext),
            waterfall_svg=charts.waterfall_svg(
                found["base_value"], found["raw_score"], found["reasons"], gettext=gettext
            ),
            waterfall=waterfall,
            probability=charts.probability,
            outcome_kinds=OUTCOME_KINDS,
            kind_labels=KIND_LABELS,
            ilo_labels=ILO_LABELS,
            outcome_labels=OUTCOME_LABELS,
            ilo_indicators=ILO_INDICATORS,
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

    @app.get("/entities/{entity_type}/{entity_id:path}", response_class=HTMLResponse, include_in_schema=False)
    def entity_page(request: Request, entity_type: EntityType, entity_id: str) -> HTMLResponse:
        return entity_view(request, signed_in(request), entity_type.value, entity_id)

    @app.post("/outcomes", include_in_schema=False)
    async def record_outcome(request: Request) -> Response:
        """The entity page's outcome form: validated as POST /v1/outcomes, recorded by the same call; back to the
        entity page, with the errors next to their fields when the form does not validate."""
        user = signed_in(request)
        fields = await form_fields(request)
        check_form(request, fields, service.settings.secret)
        entity_type, entity_id = first(fields, "entity_type"), first(fields, "entity_id")
        if entity_type not in TYPE_TITLES or not entity_id:
            raise HTTPException(404, NOT_FOUND)
        try:
            body = outcome_from_form(fields)
        except ValidationError as exc:
            form: dict[str, Any] = {n: first(fields, n) for n in ("decided_on", "kind", "issuing_body", "worklist_id")}
            form["indicators_observed"] = fields.get("indicators_observed", [])
            return await run_in_threadpool(
                entity_view, request, user, entity_type, entity_id, form, field_errors(exc), 422
            )
        out = await run_in_threadpool(service.record_outcome, user, body)
        target = f"/entities/{entity_type}/{quote(entity_id, safe='')}?{urlencode({'recorded': out['outcome_id']})}"
        return RedirectResponse(f"{target}#outcome", status_code=303)

    @app.get("/worklists/{entity_type}/visit-pack", response_class=HTMLResponse, include_in_schema=False)
    def visit_pack(
        request: Request,
        entity_type: EntityType,
        capacity: Capacity = None,
        region: Region = None,
        explore: Explore = DEFAULT_EXPLORATION_SHARE,
    ) -> HTMLResponse:
        """The worklist as a printable visit pack: entities grouped by region, every reason with its detail, room
        for notes; the same worklist (and worklist id) as the page with these filters."""
        user = signed_in(request)
        wl = service.worklist(user, entity_type.value, capacity, region or None, explore)
        return page(
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

    @app.get("/indicators", response_class=HTMLResponse, include_in_schema=False)
    def indicators_page(request: Request) -> HTMLResponse:
        user = signed_in(request)
        return page(request, "indicators.html", user, indicators=[indicator_out(i) for i in INDICATORS])

    @app.get("/indicators/{indicator_id}", response_class=HTMLResponse, include_in_schema=False)
    def indicator_page(request: Request, indicator_id: str) -> HTMLResponse:
        user = signed_in(request)
        ind = BY_ID.get(indicator_id)
        if ind is None:
            raise HTTPException(404, NOT_FOUND)
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
            raise HTTPException(404, NOT_FOUND)
        return page(request, "model.html", user, m=found, card=markdown(found["card"]))
