"""Supply-chain portfolios (service/portfolios.py): an auditor sees the buyers of their portfolio and nothing else
(404, like a missing one), admins see every buyer, other roles get 403; JSON, CSV, XLSX and the dashboard page
rank suppliers by rolled-up or own risk with their paths; every read is audited."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa

from models.rollup import rollup, scored_rows, supply_graph, supply_scope
from service.auth import add_user
from service.demo import create_demo_users
from service.roles import ROLES
from store.engine import connect, make_engine
from store.publish import ModelEntry, publish
from store.tables import audit_log
from tests.service.conftest import Env, auth, build_env, score_run

# Buyer BUY-A: tier-1 E1 (tier-2 E3, recruited by REC-3) and E2; buyer BUY-B: tier-1 E5.
EDGES = [
    {"src_type": "employer", "src_id": s, "dst_type": dt, "dst_id": d, "kind": "supplies", "weight": w}
    for s, dt, d, w in (("E1", "buyer", "BUY-A", 50), ("E2", "buyer", "BUY-A", 30), ("E3", "employer", "E1", 20))
] + [
    {"src_type": "employer", "src_id": "E5", "dst_type": "buyer", "dst_id": "BUY-B", "kind": "supplies", "weight": 9},
    {
        "src_type": "recruiter",
        "src_id": "REC-3",
        "dst_type": "employer",
        "dst_id": "E3",
        "kind": "placed_with",
        "weight": 4,
    },
]


@pytest.fixture(scope="module")
def penv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Env, str]]:
    env = build_env("sqlite", tmp_path_factory.mktemp("portfolios"))
    run = score_run(env.world, "run-2024-05-01", "2024-05-01", 0.0)
    graph = supply_graph(EDGES)
    run = replace(run, supply=rollup(graph, scored_rows(run.rows)), scope=[*run.scope, *supply_scope(graph)])
    engine = connect(env.url)
    publish(engine, run)
    token = add_user(engine, env.settings.secret, "auditor-a", "supply_chain_auditor", (), ("BUY-A",))
    engine.dispose()
    yield env, token
    env.client.close()


def test_auditor_sees_their_portfolio_ranked_with_paths(penv: tuple[Env, str]) -> None:
    env, token = penv
    r = env.client.get("/v1/portfolios/BUY-A", headers=auth(token))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["run_id"] == "run-2024-05-01" and body["suppliers_count"] == 2
    ranked = [s["supplier_id"] for s in body["suppliers"]]
    assert ranked == sorted(
        ranked, key=lambda i: -next(s["rollup_max"] for s in body["suppliers"] if s["supplier_id"] == i)
    )
    e1 = next(s for s in body["suppliers"] if s["supplier_id"] == "E1")
    assert e1["tier2_suppliers"] == 1
    assert e1["paths"][0]["text"].startswith("tier-1 supplier Employer 1 Ltd: ")
    assert all(": " in p["text"] for s in body["suppliers"] for p in s["paths"])
    by_own = env.client.get("/v1/portfolios/BUY-A?sort=own", headers=auth(token)).json()["suppliers"]
    owns = [s["own_probability"] for s in by_own]
    assert owns == sorted(owns, reverse=True)
    assert env.client.get("/v1/portfolios", headers=auth(token)).json() == ["BUY-A"]


def test_auditor_cannot_see_another_buyer(penv: tuple[Env, str]) -> None:
    env, token = penv
    other = env.client.get("/v1/portfolios/BUY-B", headers=auth(token))
    missing = env.client.get("/v1/portfolios/BUY-NONE", headers=auth(token))
    assert other.status_code == missing.status_code == 404
    assert other.json() == missing.json()
    assert env.client.get("/v1/portfolios/BUY-B.csv", headers=auth(token)).status_code == 404


@pytest.mark.parametrize("role", sorted(ROLES))
def test_roles(penv: tuple[Env, str], role: str) -> None:
    env, _ = penv
    r = env.client.get("/v1/portfolios/BUY-B", headers=auth(env.tokens[role]))
    expected = {"admin": 200, "supply_chain_auditor": 404}.get(role, 403)  # the fixture's auditor has no buyer
    assert r.status_code == expected, (role, r.text)
    assert env.client.get("/v1/portfolios/BUY-B").status_code == 401


def test_auditor_reaches_the_entities_of_their_chain(penv: tuple[Env, str]) -> None:
    env, token = penv
    assert env.client.get("/v1/entities/employer/E3", headers=auth(token)).status_code == 200  # tier 2 of BUY-A
    assert env.client.get("/v1/entities/recruiter/REC-3", headers=auth(token)).status_code == 200
    assert env.client.get("/v1/entities/employer/E5", headers=auth(token)).status_code == 404  # BUY-B's


def test_exports_and_dashboard_page(penv: tuple[Env, str]) -> None:
    env, token = penv
    r = env.client.get("/v1/portfolios/BUY-A.csv", headers=auth(token))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0][:3] == ["rank", "supplier_id", "name"] and len(rows) == 3
    x = env.client.get("/v1/portfolios/BUY-A.xlsx", headers=auth(token))
    assert x.status_code == 200 and zipfile.ZipFile(io.BytesIO(x.content)).namelist()
    page = env.client.get("/portfolios/BUY-A", headers={**auth(token), "Accept": "text/html"})
    assert page.status_code == 200 and "Portfolio BUY-A" in page.text and "tier-1 supplier" in page.text
    index = env.client.get("/portfolios", headers={**auth(token), "Accept": "text/html"})
    assert "/portfolios/BUY-A" in index.text and "BUY-B" not in index.text


def test_reads_are_audited(penv: tuple[Env, str]) -> None:
    env, token = penv
    env.client.get("/v1/portfolios/BUY-A", headers=auth(token))
    env.client.get("/v1/portfolios/BUY-B", headers=auth(token))
    engine = make_engine(env.url)  # on SQLite with the service database attached: the audit log is there
    with engine.connect() as conn:
        actions = conn.execute(
            sa.select(audit_log.c.action, audit_log.c.entity_id).where(audit_log.c.actor == "auditor-a")
        ).all()
    engine.dispose()
    assert ("portfolio.read", "BUY-A") in actions and ("portfolio.not_found", "BUY-B") in actions


def test_store_is_at_the_new_migration(penv: tuple[Env, str]) -> None:
    env, _ = penv
    engine = sa.create_engine(env.url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM supply_rollup")).scalar_one() == 5
    engine.dispose()
    assert Path(env.url.removeprefix("sqlite:///")).is_file()


def test_drift_of_the_published_runs_is_served(tmp_path: Path) -> None:
    env = build_env("sqlite", tmp_path)
    run = score_run(env.world, "run-drift", "2024-06-01", 0.0)
    record = {
        "entity_type": "employer",
        "model_id": run.model_ids["employer"],
        "as_of": "2024-06-01",
        "reference_as_of": "2023-01-01",
        "max_psi": 0.61,
        "score_psi": 0.3,
        "threshold": 0.25,
        "flagged": True,
        "retraining_due": True,
        "detail": '{"drifted": ["E09_w1095"], "indicators": {"E09_w1095": 0.61}}',
    }
    entry = ModelEntry(run.model_ids["employer"], "employer", "champion", "2023-01-01", "ipw", {}, {}, "# card")
    engine = connect(env.url)
    publish(engine, replace(run, drift=[record], model_entries=[entry]))
    engine.dispose()
    for role, token in env.tokens.items():
        body = env.client.get("/v1/drift", headers=auth(token)).json()
        assert [(d["entity_type"], d["flagged"], d["detail"]["drifted"]) for d in body] == [
            ("employer", True, ["E09_w1095"])
        ], role
        # the model registry shows the flag on the model itself (API and dashboard)
        listed = {m["model_id"]: m for m in env.client.get("/v1/models", headers=auth(token)).json()}
        drift = listed[entry.model_id]["drift"]
        assert drift["flagged"] and drift["retraining_due"] and drift["max_psi"] == 0.61, role
        page = env.client.get("/models", headers={**auth(token), "Accept": "text/html"})
        assert page.status_code == 200 and "retraining due" in page.text, role
    env.client.close()


def test_the_demo_auditor_sees_the_first_buyers_portfolio(penv: tuple[Env, str]) -> None:
    env, _ = penv
    engine = connect(env.url)
    made = {role: token for _, role, _, token in create_demo_users(engine, env.settings.secret, prefix="pdemo")}
    engine.dispose()
    h = auth(made["supply_chain_auditor"])
    assert env.client.get("/v1/portfolios", headers=h).json() == ["BUY-A"]
    assert env.client.get("/v1/portfolios/BUY-A", headers=h).json()["suppliers_count"] == 2
    seen = {it["entity_id"] for it in env.client.get("/v1/worklists/employer?capacity=50", headers=h).json()["items"]}
    assert seen == {"E1", "E2", "E3"}  # both tiers of the buyer's suppliers
