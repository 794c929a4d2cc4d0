"""How the dashboard's pages are rendered: the templates with the layout's context (navigation, language, CSRF
token), the labels the pages show and the HTML error pages.

Strings shown on a page are English msgids, translated in the templates with ``_()``; those defined here are
marked with ``N_`` so that Babel's extraction finds them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markdown_it import MarkdownIt
from markupsafe import Markup

from data_contracts.contracts import ILO_INDICATORS
from service import i18n, portfolios
from service.auth import User, csrf_token
from service.core import COOKIE
from service.i18n import N_
from service.outcomes import CONTRACT as OUTCOME_CONTRACT

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
i18n.install(TEMPLATES.env)
_MD = MarkdownIt("commonmark", {"html": False}).enable("table")

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
# what the entity page's outcome form offers (its template's names): the kinds and ILO indicators, and their labels
OUTCOME_FORM_CHOICES = {
    "outcome_kinds": OUTCOME_KINDS,
    "kind_labels": KIND_LABELS,
    "ilo_labels": ILO_LABELS,
    "outcome_labels": OUTCOME_LABELS,
    "ilo_indicators": ILO_INDICATORS,
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


def session_cookie(request: Request) -> str:
    """The dashboard session id the request signs in with; '' when it carries a bearer token instead (then no
    cookie is used) or no session."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token:
        return ""
    return request.cookies.get(COOKIE, "")


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
