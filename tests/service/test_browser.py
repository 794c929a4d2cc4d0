"""End to end in a real browser: Playwright drives Debian's Chromium (apt-get install -y chromium; Playwright's own
browser downloads are never used) against the service on loopback: sign in, open a worklist, open an entity, find
its reasons, save a screenshot."""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from tests.service.conftest import Env, build_env

CHROMIUM = os.environ.get("TRACERISK_CHROMIUM", "/usr/bin/chromium")
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
