"""Organisations' addresses in the serving store: the migration that adds the column to a store of the previous
revision (every row kept), the API's entity read and the printable visit pack (escaped, "address not on record"
in the page's language when there is none)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa

from store.engine import connect, make_engine
from store.publish import publish, published_scores
from tests.service.conftest import Env, auth, build_env, make_world, score_run
from tests.store.test_migrations import _migrate_to

PREVIOUS_REVISION = "0006"
# Employers with an odd number have an address (markup in it, to be shown as text); the others and every desk none.
ADDRESSES = {f"E{i}": f"{i} <b>Harbour</b> Road & Sons, R-{i}" for i in range(1, 9, 2)}


def _columns(engine: sa.Engine) -> set[str]:
    return {c["name"] for c in sa.inspect(engine).get_columns("scores")}


def _rows(engine: sa.Engine) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return sorted(tuple(r) for r in conn.exec_driver_sql("SELECT run_id, entity_type, entity_id, name FROM scores"))


def test_a_store_of_the_previous_revision_gains_the_address_column_and_keeps_every_row(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'serving.db'}"
    world = make_world()
    engine = make_engine(url)
    _migrate_to(engine, PREVIOUS_REVISION)
    assert "address" not in _columns(engine)
    publish(engine, score_run(world, "run-old", "2024-01-01", 0.0))  # rows as scoring wrote them before
    before = _rows(engine)
    engine.dispose()

    engine = connect(url)
    assert "address" in _columns(engine) and _rows(engine) == before
    assert {r["address"] for r in published_scores(engine, "employer")} == {None}
    run = score_run(world, "run-new", "2024-04-01", 0.0)
    publish(engine, replace(run, rows=[{**r, "address": ADDRESSES.get(r["entity_id"])} for r in run.rows]))
    served = {r["entity_id"]: r["address"] for r in published_scores(engine, "employer")}
    assert served == {e: ADDRESSES.get(e) for e in served} and set(ADDRESSES) <= set(served)

    _migrate_to(engine, PREVIOUS_REVISION, down=True)
    assert "address" not in _columns(engine) and len(_rows(engine)) == len(before) * 2
    engine.dispose()


@pytest.fixture(scope="module")
def addressed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    """The service's test world with a newer run whose employers carry ADDRESSES."""
    env = build_env("sqlite", tmp_path_factory.mktemp("svc-address"))
    run = score_run(env.world, "run-2024-07-01", "2024-07-01", 0.0)
    engine = connect(env.url)
    publish(engine, replace(run, rows=[{**r, "address": ADDRESSES.get(r["entity_id"])} for r in run.rows]))
    engine.dispose()
    yield env
    env.client.close()


def test_the_entity_read_and_the_worklist_carry_the_address(addressed: Env) -> None:
    token = addressed.tokens["admin"]
    for entity_id in ("E1", "E2"):
        r = addressed.client.get(f"/v1/entities/employer/{entity_id}", headers=auth(token))
        assert r.status_code == 200 and r.json()["address"] == ADDRESSES.get(entity_id)
    wl = addressed.client.get("/v1/worklists/employer?capacity=8&explore=0", headers=auth(token)).json()
    assert {it["entity_id"]: it["address"] for it in wl["items"]} == {
        f"E{i}": ADDRESSES.get(f"E{i}") for i in range(1, 9)
    }
    desk = addressed.client.get("/v1/worklists/visa_desk?capacity=2", headers=auth(token)).json()["items"][0]
    assert desk["address"] is None
    scoped = addressed.tokens["supply_chain_auditor"]  # scope rules unchanged: its portfolio is E1 and E2
    assert addressed.client.get("/v1/entities/employer/E1", headers=auth(scoped)).json()["address"] == ADDRESSES["E1"]
    hidden = addressed.client.get("/v1/entities/employer/E3", headers=auth(scoped))
    missing = addressed.client.get("/v1/entities/employer/no-such-entity", headers=auth(scoped))
    assert hidden.status_code == missing.status_code == 404 and hidden.content == missing.content


def _visit_sections(page: str) -> dict[str, str]:
    """Each entity's article of a visit pack, by identifier."""
    articles = re.findall(r'<article class="visit">(.*?)</article>', page, flags=re.S)
    return {re.search(r"<code>([^<]+)</code>", a).group(1): a for a in articles}  # type: ignore[union-attr]


def test_the_visit_pack_shows_each_address_under_the_name_escaped(addressed: Env) -> None:
    token = addressed.tokens["admin"]
    r = addressed.client.get("/worklists/employer/visit-pack?capacity=8&explore=0", headers=auth(token))
    assert r.status_code == 200
    sections = _visit_sections(r.text)
    assert set(sections) == {f"E{i}" for i in range(1, 9)}
    for entity_id, section in sections.items():
        heading_end = section.index("</h3>")
        address = ADDRESSES.get(entity_id)
        shown = html.escape(address, quote=False) if address else "address not on record"
        assert shown in section[heading_end:] and section.index(shown) < section.index("<table>"), entity_id
    assert "<b>Harbour</b>" not in r.text
    french = addressed.client.get(
        "/worklists/employer/visit-pack?capacity=8&explore=0", headers={**auth(token), "Accept-Language": "fr"}
    )
    assert "adresse non enregistrée" in french.text and "address not on record" not in french.text


def test_the_entity_page_shows_the_address(addressed: Env) -> None:
    token = addressed.tokens["admin"]
    page = addressed.client.get("/entities/employer/E3", headers=auth(token))
    assert page.status_code == 200 and html.escape(ADDRESSES["E3"], quote=False) in page.text
    assert "address not on record" in addressed.client.get("/entities/employer/E4", headers=auth(token)).text
