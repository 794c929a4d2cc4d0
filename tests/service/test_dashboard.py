"""Dashboard pages through the TestClient: the outcome form (the API's validation and recording), the printable
visit pack, the navigation's portfolio link, server-side sessions and the CSRF checks of every form."""

from __future__ import annotations

import csv
import re
from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa
from fastapi.testclient import TestClient

from service.auth import add_user, revoke_user
from service.core import COOKIE
from service.dashboard import by_region, local_path
from store.engine import connect
from store.tables import dashboard_sessions, outcomes
from tests.service.conftest import Env, auth, outcome_body, sign_in

HTML = {"Accept": "text/html"}


def _outcome_rows(env: Env, entity_id: str) -> list[sa.Row[tuple[object, ...]]]:
    engine = connect(env.url)
    with engine.connect() as conn:
        rows = list(conn.execute(sa.select(outcomes).where(outcomes.c.entity_id == entity_id)))
    engine.dispose()
    return rows


def test_outcome_form_records_like_the_api(env: Env) -> None:
    token = env.tokens["labour_inspectorate"]
    wl = env.client.get("/v1/worklists/employer?capacity=3", headers=auth(token)).json()
    entity_id = wl["items"][0]["entity_id"]
    page = env.client.get(f"/entities/employer/{entity_id}?worklist_id={wl['worklist_id']}", headers=auth(token))
    assert page.status_code == 200
    assert 'action="/outcomes"' in page.text and f'value="{wl["worklist_id"]}"' in page.text  # prefilled
    assert "Each reason counts the records of the 1,095 days before" in page.text  # the period a contest reads
    before = len(_outcome_rows(env, entity_id))
    form = outcome_body(
        entity_id,
        "conviction",
        ["withholding_of_wages", "debt_bondage"],
        wl["worklist_id"],
        issuing_body="Inspectorate North",
    )
    r = env.client.post("/outcomes", data=form, headers=auth(token), follow_redirects=False)
    assert r.status_code == 303, r.text
    target = urlsplit(r.headers["location"])
    assert target.path == f"/entities/employer/{entity_id}"
    outcome_id = parse_qs(target.query)["recorded"][0]
    rows = _outcome_rows(env, entity_id)
    assert len(rows) == before + 1
    row = next(r for r in rows if r.outcome_id == outcome_id)
    assert (row.kind, row.worklist_id, row.recorded_by) == ("conviction", wl["worklist_id"], "labour_inspectorate-user")
    assert row.indicators_observed == '["debt_bondage", "withholding_of_wages"]'
    landing = list((env.home / "landing" / "outcomes").glob(f"enforcement_outcome-*-{outcome_id}.csv"))
    with landing[0].open(encoding="utf-8", newline="") as handle:
        assert next(csv.DictReader(handle))["issuing_body"] == "Inspectorate North"
    entries = env.client.get("/v1/audit?limit=20", headers=auth(env.tokens["admin"])).json()
    assert any(e["action"] == "outcome.recorded" and e["detail"]["outcome_id"] == outcome_id for e in entries)
    shown = env.client.get(f"{target.path}?{target.query}", headers=auth(token))
    assert f"Outcome {outcome_id} recorded" in shown.text


def test_outcome_form_refuses_what_the_api_refuses(env: Env) -> None:
    token = env.tokens["labour_inspectorate"]
    bad = {
        "entity_type": "employer",
        "entity_id": "E2",
        "decided_on": "2999-01-01",
        "kind": "arrest",
        "indicators_observed": ["nationality"],
        "issuing_body": "\x00North",
    }
    api = env.client.post("/v1/outcomes", json=bad, headers=auth(token))
    assert api.status_code == 422
    problem = api.json()
    errors = problem["errors"] if "errors" in problem else problem["detail"]  # RFC 9457 problem or FastAPI's
    api_fields = {e["field"].removeprefix("body.") for e in errors}
    before = len(_outcome_rows(env, "E2"))
    r = env.client.post("/outcomes", data=bad, headers=auth(token), follow_redirects=False)
    assert r.status_code == 422
    shown = set(re.findall(r'<a href="#outcome-([a-z_]+)">', r.text))
    assert shown == api_fields == {"decided_on", "kind", "indicators_observed", "issuing_body"}
    assert 'id="outcome-kind"' in r.text and 'aria-invalid="true"' in r.text
    assert len(_outcome_rows(env, "E2")) == before


def test_outcome_form_out_of_scope_is_not_found(env: Env) -> None:
    token = env.tokens["labour_inspectorate"]  # regions R-NORTH only: E1 is in R-SOUTH
    form = {"entity_type": "employer", "entity_id": "E1", "decided_on": "2024-05-02", "kind": "conviction"}
    r = env.client.post("/outcomes", data=form, headers={**auth(token), **HTML}, follow_redirects=False)
    assert r.status_code == 404
    missing = env.client.post("/outcomes", data={**form, "entity_id": "E999"}, headers={**auth(token), **HTML})
    assert missing.status_code == 404 and missing.text == r.text
    assert _outcome_rows(env, "E1") == []
    assert env.client.post("/outcomes", data=form, headers=HTML, follow_redirects=False).status_code == 303  # sign in


def test_visit_pack_groups_the_worklist_by_region(env: Env) -> None:
    token = env.tokens["admin"]
    wl = env.client.get("/v1/worklists/employer?capacity=6&explore=0", headers=auth(token)).json()
    r = env.client.get("/worklists/employer/visit-pack?capacity=6&explore=0", headers=auth(token))
    assert r.status_code == 200
    assert wl["worklist_id"] in r.text  # the same worklist as the API's with these filters
    headings = re.findall(r"<h2>([^<]+?) <span", r.text)
    assert headings == sorted({it["region"] for it in wl["items"]})
    for it in wl["items"]:
        assert f"<code>{it['entity_id']}</code>" in r.text
        for reason in it["reasons"]:
            assert reason["detail"] in r.text
    assert "@media print" in r.text
    worklist_page = env.client.get("/worklists/employer?capacity=6&explore=0", headers=auth(token))
    assert "/worklists/employer/visit-pack?capacity=6" in worklist_page.text


def test_by_region_orders_regions_and_keeps_rank_order() -> None:
    items = [
        {"rank": 1, "region": "R-SOUTH"},
        {"rank": 2, "region": None},
        {"rank": 3, "region": "R-NORTH"},
        {"rank": 4, "region": "R-SOUTH"},
    ]
    groups = by_region(items)
    assert [(name, [it["rank"] for it in group]) for name, group in groups] == [
        ("R-NORTH", [3]),
        ("R-SOUTH", [1, 4]),
        ("no region", [2]),
    ]


def test_navigation_links_portfolios_for_the_roles_that_have_them(env: Env) -> None:
    for role, linked in (("admin", True), ("supply_chain_auditor", True), ("labour_inspectorate", False)):
        page = env.client.get("/indicators", headers=auth(env.tokens[role]))
        assert ('href="/portfolios"' in page.text) is linked, role
        assert 'class="skip" href="#main"' in page.text and '<main id="main"' in page.text
        assert '<a href="/indicators" aria-current="page">' in page.text


def test_local_path_keeps_only_paths_on_this_site() -> None:
    assert local_path("/worklists/employer?capacity=3") == "/worklists/employer?capacity=3"
    for target in ("https://example.org/", "//example.org/x", "/\\example.org", "worklists", "/a\r\nSet-Cookie: x"):
        assert local_path(target) is None, target


def _csrf(page_text: str) -> str:
    found = re.search(r'name="csrf_token" value="([0-9a-f]*)"', page_text)
    assert found is not None
    return found.group(1)


def _signed_in_client(env: Env, role: str) -> TestClient:
    client = TestClient(env.client.app)
    sign_in(client, env.tokens[role])
    return client


def test_session_cookie_holds_no_token_and_sign_out_revokes_it(env: Env) -> None:
    token = env.tokens["labour_inspectorate"]
    client = _signed_in_client(env, "labour_inspectorate")
    session_id = client.cookies[COOKIE]
    assert session_id != token and token not in str(dict(client.cookies))
    assert token.split(".")[1] not in session_id
    engine = connect(env.url)
    with engine.connect() as conn:
        stored = [r.session_hash for r in conn.execute(sa.select(dashboard_sessions))]
    assert session_id not in stored  # the store keeps its HMAC only
    assert client.get("/worklists/employer", headers=HTML).status_code == 200

    copy = TestClient(env.client.app)
    copy.cookies.set(COOKIE, session_id)
    assert copy.get("/worklists/employer", headers=HTML).status_code == 200
    home = client.get("/indicators", headers=HTML)
    refused = client.post("/logout", data={"csrf_token": "0" * 64}, follow_redirects=False)
    assert refused.status_code == 403  # sign-out is a form like any other
    assert copy.get("/worklists/employer", headers=HTML).status_code == 200
    out = client.post("/logout", data={"csrf_token": _csrf(home.text)}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    for c in (client, copy):
        c.cookies.set(COOKIE, session_id)
        r = c.get("/worklists/employer", headers=HTML, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login"
        assert c.get("/v1/models").status_code == 401
    engine.dispose()


def test_session_ends_with_its_user_and_its_expiry(env: Env) -> None:
    engine = connect(env.url)
    token = add_user(engine, env.settings.secret, "short-lived", "admin")
    client = TestClient(env.client.app)
    sign_in(client, token)
    assert client.get("/models", headers=HTML, follow_redirects=False).status_code == 200
    with engine.begin() as conn:
        conn.execute(sa.update(dashboard_sessions).values(expires_at="2000-01-01T00:00:00+00:00"))
    assert client.get("/models", headers=HTML, follow_redirects=False).status_code == 303
    sign_in(client, token)
    assert client.get("/models", headers=HTML, follow_redirects=False).status_code == 200
    revoke_user(engine, "short-lived")
    assert client.get("/models", headers=HTML, follow_redirects=False).status_code == 303
    engine.dispose()


def test_forms_posted_with_the_session_need_its_csrf_token(env: Env) -> None:
    client = _signed_in_client(env, "labour_inspectorate")
    other = _signed_in_client(env, "labour_inspectorate")
    page = client.get("/entities/employer/E2", headers=HTML)
    csrf = _csrf(page.text)
    assert csrf and csrf != _csrf(other.get("/entities/employer/E2", headers=HTML).text)
    form = {"entity_type": "employer", "entity_id": "E2", "decided_on": "2024-05-02", "kind": "complaint"}
    before = len(_outcome_rows(env, "E2"))
    refused = [
        client.post("/outcomes", data=form, headers=HTML, follow_redirects=False),
        client.post("/outcomes", data={**form, "csrf_token": "0" * 64}, headers=HTML, follow_redirects=False),
        client.post(
            "/outcomes",
            data={**form, "csrf_token": _csrf(other.get("/indicators", headers=HTML).text)},
            headers=HTML,
            follow_redirects=False,
        ),
        client.post(
            "/outcomes",
            data={**form, "csrf_token": csrf},
            headers={**HTML, "Sec-Fetch-Site": "cross-site"},
            follow_redirects=False,
        ),
        client.post(
            "/outcomes",
            data={**form, "csrf_token": csrf},
            headers={**HTML, "Origin": "https://elsewhere.example"},
            follow_redirects=False,
        ),
    ]
    assert [r.status_code for r in refused] == [403] * 5
    assert len(_outcome_rows(env, "E2")) == before
    headers = {**HTML, "Sec-Fetch-Site": "same-origin", "Origin": "null"}
    ok = client.post("/outcomes", data={**form, "csrf_token": csrf}, headers=headers, follow_redirects=False)
    assert ok.status_code == 303
    assert len(_outcome_rows(env, "E2")) == before + 1


def test_sign_in_form_needs_its_csrf_token(env: Env) -> None:
    token = env.tokens["admin"]
    client = TestClient(env.client.app)
    without = client.post("/login", data={"token": token}, follow_redirects=False)
    assert without.status_code == 403 and COOKIE not in without.headers.get("set-cookie", "")
    csrf = _csrf(client.get("/login").text)
    forged = TestClient(env.client.app)  # a token from someone else's sign-in form, without its nonce cookie
    assert forged.post("/login", data={"token": token, "csrf_token": csrf}).status_code == 403
    cross = client.post("/login", data={"token": token, "csrf_token": csrf}, headers={"Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403
    ok = client.post("/login", data={"token": token, "csrf_token": csrf}, follow_redirects=False)
    assert ok.status_code == 303 and client.cookies.get(COOKIE)


def test_page_language_from_the_browser_and_the_switch(env: Env) -> None:
    h = auth(env.tokens["admin"])
    french = env.client.get("/indicators", headers={**h, "Accept-Language": "fr-CA,fr;q=0.9,en;q=0.5"})
    assert '<html lang="fr" dir="ltr">' in french.text and "Se déconnecter" in french.text
    arabic = env.client.get("/login", headers={"Accept-Language": "ar"})
    assert '<html lang="ar" dir="rtl">' in arabic.text and "تسجيل الدخول" in arabic.text
    assert '<html lang="en" dir="ltr">' in env.client.get("/login", headers={"Accept-Language": "de"}).text

    client = TestClient(env.client.app)
    switched = client.get("/language/es?next=/login%3Ffrom%3Dswitch", follow_redirects=False)
    assert switched.status_code == 303 and switched.headers["location"] == "/login?from=switch"
    page = client.get("/login", headers={"Accept-Language": "fr"})  # the switch wins over the browser
    assert '<html lang="es" dir="ltr">' in page.text and "Iniciar sesión" in page.text
    assert 'href="/language/ar?next=/login"' in page.text
    for target in ("https://elsewhere.example/", "//elsewhere.example/x"):
        away = client.get(f"/language/fr?next={target}", follow_redirects=False)
        assert away.headers["location"] == "/"
    assert client.get("/language/xx", headers=HTML).status_code == 404
