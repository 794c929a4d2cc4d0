"""End to end in a real browser: Playwright drives Debian's Chromium (apt-get install -y chromium; Playwright's own
browser downloads are never used) against the service on loopback: sign in, open a worklist, open an entity, find
its reasons, save a screenshot; then every dashboard page is checked by axe-core (installed from npm by .ci/run into
.ci/axe, or named by TRACERISK_AXE) with zero violations allowed."""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from tests.service.conftest import Env, build_env

CHROMIUM = os.environ.get("TRACERISK_CHROMIUM", "/usr/bin/chromium")
AXE_INSTALLED = Path(__file__).resolve().parents[2] / ".ci" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
AXE = Path(os.environ.get("TRACERISK_AXE", AXE_INSTALLED))
# WCAG 2.0 and 2.1, levels A and AA, and axe's best practices (landmarks, headings, skip link targets)
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Env]]:
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        pytest.skip(f"Chromium not found at {CHROMIUM}: apt-get install -y chromium (Debian package)")
    pytest.importorskip("playwright.sync_api", reason="pip install playwright (no browser download needed)")
    env = build_env("sqlite", tmp_path_factory.mktemp("browser"))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(env.client.app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}", env
    server.should_exit = True
    thread.join(timeout=10)


def test_sign_in_worklist_entity_reasons(live: tuple[str, Env], tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, env = live
    shots = Path(os.environ.get("TRACERISK_SCREENSHOT_DIR", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 1400})
            page.goto(f"{base}/")
            assert page.url.endswith("/login")
            page.fill("#token", "wrong.token")
            page.click("button[type=submit]")
            expect(page.get_by_role("alert")).to_contain_text("not valid")

            page.fill("#token", env.tokens["labour_inspectorate"])
            page.click("button[type=submit]")
            expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")

            page.get_by_role("link", name="Employers").first.click()
            expect(page.locator("#worklist")).to_be_visible()
            rows = page.locator("#worklist tbody tr")
            assert rows.count() >= 1
            page.select_option("select[name=region]", "R-NORTH")
            page.fill("input[name=capacity]", "10")
            page.click("form.filters button[type=submit]")
            assert "region=R-NORTH" in page.url
            expect(page.get_by_role("link", name="Export CSV")).to_be_visible()
            page.screenshot(path=str(shots / "worklist.png"), full_page=True)

            page.locator("a.entity-link").first.click()
            expect(page.locator("#reasons")).to_be_visible()
            reasons = page.locator("#reasons tr.reason")
            assert reasons.count() >= 1
            expect(reasons.first.locator("a")).to_have_attribute("href", re.compile(r"^/indicators/"))
            expect(page.locator("svg.waterfall")).to_be_visible()
            expect(page.locator("svg.history")).to_be_visible()
            page.screenshot(path=str(shots / "entity.png"), full_page=True)

            reasons.first.locator("a").click()
            expect(page.get_by_role("heading", level=2).first).to_be_visible()
            assert "Why is this a red flag?" in page.content()
        finally:
            browser.close()
    assert (shots / "entity.png").stat().st_size > 10_000


def axe_violations(page: Any) -> list[str]:
    """axe-core's violations on the page as it stands, one line each (rule, impact, first offending element).
    axe is evaluated through the DevTools protocol: the page's Content-Security-Policy (no scripts) stays on."""
    page.evaluate(f"() => {{ {AXE.read_text(encoding='utf-8')}\n; window.axe = axe; }}")
    found: list[dict[str, Any]] = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})"
        ".then(r => r.violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.html)})))",
        AXE_TAGS,
    )
    return [f"{v['id']} ({v['impact']}, {len(v['nodes'])} element(s)): {v['nodes'][0][:200]}" for v in found]


@pytest.fixture(scope="module")
def axe_script() -> Path:
    if not AXE.exists():
        message = f"axe-core not found at {AXE}: npm install --prefix .ci/axe axe-core (as .ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI installs it: a missing copy is a broken set-up, not a reason to skip
        pytest.skip(message)
    return AXE


def dashboard_pages(env: Env) -> list[tuple[str, str]]:
    """(role, path) for every kind of dashboard page, each as a user who may open it."""
    employer = env.world.ids("employer")[0]
    return [
        ("admin", "/"),
        ("admin", "/worklists/employer?capacity=8"),
        ("admin", "/worklists/employer/visit-pack?capacity=8"),
        ("admin", f"/entities/employer/{employer}"),
        ("admin", "/indicators"),
        ("admin", "/indicators/E01"),
        ("admin", "/models"),
        ("admin", "/models/employer-model-2024-04-01"),
        ("admin", "/portfolios"),
        ("supply_chain_auditor", "/portfolios"),
        ("admin", "/entities/employer/no-such-entity"),
    ]


def sign_in(page: Any, base: str, token: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def test_every_dashboard_page_passes_axe(live: tuple[str, Env], axe_script: Path, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, env = live
    shots = Path(os.environ.get("TRACERISK_SCREENSHOT_DIR", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    problems: dict[str, list[str]] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            page = browser.new_context(viewport={"width": 1200, "height": 1400}).new_page()
            page.goto(f"{base}/login")
            problems["/login"] = axe_violations(page)
            signed_in_as = None
            for role, path in dashboard_pages(env):
                if role != signed_in_as:
                    sign_in(page, base, env.tokens[role])
                    signed_in_as = role
                page.goto(f"{base}{path}")
                problems[f"{role} {path}"] = axe_violations(page)
                name = re.sub(r"[^a-z0-9]+", "-", f"{role} {path}".lower()).strip("-")
                page.screenshot(path=str(shots / f"axe-{name}.png"), full_page=True)
            employer = env.world.ids("employer")[0]
            page.goto(f"{base}/entities/employer/{employer}")
            page.eval_on_selector("#outcome-kind", "select => select.removeAttribute('required')")
            page.click("form.outcome button[type=submit]")  # no outcome chosen: refused next to the field
            expect(page.get_by_role("alert")).to_contain_text("not recorded")
            problems["outcome form refused"] = axe_violations(page)
            page.select_option("#outcome-kind", "conviction")
            page.check("input[value=debt_bondage]")
            page.fill("#outcome-issuing_body", "Inspectorate North")
            page.click("form.outcome button[type=submit]")
            expect(page.get_by_role("status")).to_contain_text("recorded")
            problems["outcome form recorded"] = axe_violations(page)
            page.screenshot(path=str(shots / "outcome-recorded.png"), full_page=True)
            page.emulate_media(media="print")
            page.goto(f"{base}/worklists/employer/visit-pack?capacity=8")
            expect(page.locator("header")).to_be_hidden()  # the print style leaves navigation off
            page.pdf(path=str(shots / "visit-pack.pdf"))
        finally:
            browser.close()
    assert len(problems) == len(dashboard_pages(env)) + 3
    assert (shots / "visit-pack.pdf").stat().st_size > 1_000
    failing = {page: found for page, found in problems.items() if found}
    assert not failing, f"axe-core violations: {failing}"


# fr and es reach the dashboard through the browser's language (Accept-Language), ar through the language switch
LANGUAGE_ROUTES = {"fr": "fr-CA", "es": "es-419", "ar": None}


@pytest.mark.parametrize("lang", sorted(LANGUAGE_ROUTES))
def test_each_language_renders_and_passes_axe(
    live: tuple[str, Env], axe_script: Path, tmp_path: Path, lang: str
) -> None:
    from playwright.sync_api import expect, sync_playwright

    from service.i18n import LANGUAGES, direction, gettext_for

    base, env = live
    translate = gettext_for(lang)
    shots = Path(os.environ.get("TRACERISK_SCREENSHOT_DIR", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    employer = env.world.ids("employer")[0]
    paths = ["/", "/worklists/employer?capacity=8", f"/entities/employer/{employer}", "/models", "/portfolios"]
    paths += ["/worklists/employer/visit-pack?capacity=8", "/entities/employer/no-such-entity"]  # the last: 404
    problems: dict[str, list[str]] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            context = browser.new_context(
                viewport={"width": 1200, "height": 1400}, locale=LANGUAGE_ROUTES[lang] or "en-US"
            )
            page = context.new_page()
            page.goto(f"{base}/login")
            if LANGUAGE_ROUTES[lang] is None:
                page.get_by_role("link", name=LANGUAGES[lang]).click()
                page.wait_for_url(f"{base}/login")
            expect(page.locator("html")).to_have_attribute("lang", lang)
            expect(page.locator("html")).to_have_attribute("dir", direction(lang))
            expect(page.get_by_role("heading", level=1)).to_have_text(translate("Sign in"))
            problems["/login"] = axe_violations(page)
            page.screenshot(path=str(shots / f"{lang}-login.png"), full_page=True)
            sign_in(page, base, env.tokens["admin"])
            for path in paths:
                page.goto(f"{base}{path}")
                expect(page.locator("html")).to_have_attribute("dir", direction(lang))
                if path != paths[-1]:
                    expect(page.get_by_role("button", name=translate("Sign out"))).to_be_visible()
                else:
                    expect(page.get_by_role("main")).to_contain_text(translate("not found"))
                problems[path] = axe_violations(page)
                name = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "home"
                page.screenshot(path=str(shots / f"{lang}-{name}.png"), full_page=True)
        finally:
            browser.close()
    assert len(problems) == len(paths) + 1
    for shot in shots.glob(f"{lang}-*.png"):
        assert shot.stat().st_size > 10_000, shot.name
    assert len(list(shots.glob(f"{lang}-*.png"))) == len(paths) + 1
    failing = {page: found for page, found in problems.items() if found}
    assert not failing, f"axe-core violations ({lang}): {failing}"
