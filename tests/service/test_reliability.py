"""Red-team probes: what the service answers 201 to reaches the lake intact, and ordinary use never answers 500."""

from __future__ import annotations

import io
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from data_contracts.ingest import ingest_file
from data_contracts.lake import Lake
from data_contracts.pseudonymise import PseudonymKey
from data_contracts.sources import load_source
from service import audit
from service.api import create_app
from service.outcomes import OutcomeIn, contract_row, write_landing
from store.engine import connect, service_database
from store.publish import publish
from store.tables import audit_log, issued_worklists, worklist_items
from tests.service.conftest import Env, auth, build_env, make_world, score_run

KEY = PseudonymKey(b"reliability-key-" + b"x" * 40, "test")

# Field values a browser form or a script can send: line breaks of every platform, quotes, a formula.
AWKWARD_TEXT = [
    "\r=1+1",
    "line one\nline two",
    "a\r\nb",
    'say "no", twice',
    "tab\tseparated",
    "trailing\r",
    "\ufeffmarked\u2028separated\u2029paragraph",
]


def _outcome(entity_id: str, issuing_body: str) -> dict[str, object]:
    return {
        "entity_type": "employer",
        "entity_id": entity_id,
        "decided_on": "2024-05-02",
        "kind": "complaint",
        "issuing_body": issuing_body,
    }


def test_an_accepted_outcome_reaches_the_lake_intact(env: Env, tmp_path: Path) -> None:
    h = auth(env.tokens["admin"])
    posted: dict[str, str] = {}
    for text in AWKWARD_TEXT:
        r = env.client.post("/v1/outcomes", json=_outcome("E1", text), headers=h)
        assert r.status_code == 201, r.text
        posted[r.json()["outcome_id"]] = text
    landing = env.home / "landing" / "outcomes"
    lake = Lake(tmp_path / "lake-home")
    try:
        source = load_source("csv", landing)
        files = [f for f in source.files(landing) if any(oid in f.path.name for oid in posted)]
        assert len(files) == len(posted)
        reports = [ingest_file(lake, f, source, datetime(2026, 11, 1, 12), KEY) for f in files]
        assert [(r.status, r.read, r.accepted, r.quarantined) for r in reports] == [("committed", 1, 1, 0)] * len(
            files
        ), [r.as_json() for r in reports]
        table = lake.current("enforcement_outcome").to_pylist()
    finally:
        lake.close()
    landed = {row["outcome_id"]: row["issuing_body"] for row in table}
    assert landed == posted


def test_a_published_name_with_control_characters_does_not_spoil_the_landing_file(tmp_path: Path) -> None:
    """The entity's name comes from the lake, not from the request: its control characters become spaces."""
    body = OutcomeIn.model_validate(_outcome("E1", "ministry"))
    row = contract_row("svc-0123456789abcdef", body, "Acme\x00Farms\x1bLtd\r\nBranch", exploration=False)
    landing = tmp_path / "landing"
    write_landing(landing, row)
    lake = Lake(tmp_path / "lake-home")
    try:
        source = load_source("csv", landing)
        reports = [ingest_file(lake, f, source, datetime(2026, 11, 1, 12), KEY) for f in source.files(landing)]
        assert [(r.status, r.accepted) for r in reports] == [("committed", 1)], [r.as_json() for r in reports]
        names = lake.current("enforcement_outcome").column("entity_name").to_pylist()
    finally:
        lake.close()
    assert names == ["Acme Farms Ltd\r\nBranch"]


@pytest.mark.parametrize("bad", ["nul\x00byte", "bell\x07", "escape\x1b[31m", "delete\x7f", "c1\x85control"])
@pytest.mark.parametrize("field", ["issuing_body", "entity_id", "worklist_id"])
def test_control_characters_are_refused_with_422(env: Env, field: str, bad: str) -> None:
    h = auth(env.tokens["admin"])
    landing = env.home / "landing" / "outcomes"
    before = set(landing.glob("*.csv")) if landing.exists() else set()
    body = {**_outcome("E1", "ministry"), field: bad}
    r = env.client.post("/v1/outcomes", json=body, headers=h)
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == [f"body.{field}"]
    assert (set(landing.glob("*.csv")) if landing.exists() else set()) == before


def test_a_lone_surrogate_is_refused_not_a_server_error(env: Env) -> None:
    h = {**auth(env.tokens["admin"]), "Content-Type": "application/json"}
    body = b'{"entity_type": "employer", "entity_id": "E1", "decided_on": "2024-05-02", "kind": "complaint", '
    r = env.client.post("/v1/outcomes", content=body + b'"issuing_body": "half \\ud800 pair"}', headers=h)
    assert r.status_code == 422, r.text


def test_concurrent_identical_worklist_requests_all_answer_200(env: Env) -> None:
    """Simultaneous requests for one new worklist (same user, same parameters, so the same worklist id) all
    answer it; it is recorded once."""
    h = auth(env.tokens["labour_inspectorate"])
    threads = 8
    for capacity in range(1, 6):  # a new worklist id each round
        start = threading.Barrier(threads)

        def fetch(_: int, capacity: int = capacity, start: threading.Barrier = start) -> tuple[int, str | None, int]:
            start.wait()
            r = env.client.get(f"/v1/worklists/employer?capacity={capacity}&explore=0", headers=h)
            body = r.json() if r.status_code == 200 else {}
            return r.status_code, body.get("worklist_id"), len(body.get("items", []))

        with ThreadPoolExecutor(threads) as pool:
            answers = list(pool.map(fetch, range(threads)))
        assert {status for status, _, _ in answers} == {200}, answers
        assert len(set(answers)) == 1 and answers[0][1] is not None, answers
        engine = connect(env.url)
        try:
            with engine.connect() as conn:
                wid, listed_items = answers[0][1], answers[0][2]
                listed = conn.execute(sa.select(sa.func.count()).where(issued_worklists.c.worklist_id == wid))
                items = conn.execute(sa.select(sa.func.count()).where(worklist_items.c.worklist_id == wid))
                assert (listed.scalar_one(), items.scalar_one()) == (1, listed_items), capacity
        finally:
            engine.dispose()


def test_reads_do_not_wait_for_a_publish_holding_the_stores_write_lock(tmp_path: Path) -> None:
    """SQLite: while a publish holds the store's write lock (rows written, the pointers not yet committed), an audited
    entity read, a worklist's issuance and an outcome answer at once (their writes go to the service database), each
    audited before it answers; the publish then commits, and the chain verifies."""
    env = build_env("sqlite", tmp_path)
    settings = env.settings.model_copy(update={"store_busy_timeout_ms": 5_000})
    h = auth(env.tokens["admin"])
    holding, release = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def hold() -> None:
        holding.set()
        if not release.wait(30):
            raise TimeoutError("the reads never finished")

    def publishing() -> None:
        engine = connect(env.url)
        try:
            publish(engine, score_run(make_world(), "run-held", "2024-07-01", 0.02), before_commit=hold)
        except BaseException as exc:  # reported below
            failures.append(exc)
        finally:
            engine.dispose()

    with TestClient(create_app(settings)) as client:
        assert client.get("/v1/entities/employer/E1", headers=h).status_code == 200
        entries = _audit_entries(env.url)
        publisher = threading.Thread(target=publishing)
        publisher.start()
        try:
            assert holding.wait(30), failures
            answers = []
            for method, path, body in (
                ("GET", "/v1/entities/employer/E2", None),
                ("GET", "/v1/worklists/employer?capacity=3&explore=0", None),
                ("POST", "/v1/outcomes", _outcome("E1", "held")),
            ):
                started = time.monotonic()
                r = client.request(method, path, headers=h, json=body)
                answers.append((path, r.status_code, round(time.monotonic() - started, 3)))
            assert _audit_entries(env.url) == entries + 3  # committed while the lock is still held
        finally:
            release.set()
            publisher.join(30)
        assert not failures, failures
        assert [(path, status) for path, status, _ in answers] == [
            ("/v1/entities/employer/E2", 200),
            ("/v1/worklists/employer?capacity=3&explore=0", 200),
            ("/v1/outcomes", 201),
        ], answers
        assert max(took for _, _, took in answers) < 1.0, answers
        assert client.get("/v1/entities/employer/E2", headers=h).json()["as_of"] == "2024-07-01"  # the held run
    engine = connect(env.url)
    try:
        assert audit.verify(engine, settings.secret).ok
    finally:
        engine.dispose()
    env.client.close()


def test_reads_fail_fast_with_503_while_another_process_holds_the_service_database(tmp_path: Path) -> None:
    """SQLite: while another process holds the service database's write lock, an audited read cannot commit its
    entry. It answers 503 with Retry-After once the store's busy timeout has passed (not after waiting for the lock
    twice), records nothing, and the next read after the lock is released answers 200; a lock held for less than the
    busy timeout only delays the read."""
    env = build_env("sqlite", tmp_path)
    settings = env.settings.model_copy(update={"store_busy_timeout_ms": 400, "retry_after_s": 3})
    h = auth(env.tokens["admin"])
    database = service_database(env.url.removeprefix("sqlite:///"))
    with TestClient(create_app(settings)) as client:
        assert client.get("/v1/entities/employer/E1", headers=h).status_code == 200
        entries = _audit_entries(env.url)
        holder = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
        holder.execute("BEGIN IMMEDIATE")  # the service database's write lock
        try:
            for path in ("/v1/entities/employer/E2", "/v1/worklists/employer?capacity=3"):
                started = time.monotonic()
                r = client.get(path, headers=h)
                took = time.monotonic() - started
                assert r.status_code == 503 and r.headers["retry-after"] == "3", (path, r.status_code, r.text)
                assert took < 2.0, (path, took)
            started = time.monotonic()
            r = client.post("/v1/outcomes", json=_outcome("E1", "held"), headers=h)
            assert r.status_code == 503 and time.monotonic() - started < 2.0
            assert client.get("/readyz").status_code == 200  # reads that write nothing are not held up
        finally:
            holder.execute("ROLLBACK")
        assert _audit_entries(env.url) == entries  # the refused reads left no entry: no score left the service
        holder.execute("BEGIN IMMEDIATE")
        release = threading.Timer(0.15, lambda: holder.execute("ROLLBACK"))
        release.start()
        try:
            started = time.monotonic()
            assert client.get("/v1/entities/employer/E3", headers=h).status_code == 200  # a short hold: only slower
        finally:
            release.join()
            holder.close()
        assert client.get("/v1/entities/employer/E2", headers=h).status_code == 200
        assert _audit_entries(env.url) == entries + 2
    env.client.close()


def _audit_entries(url: str) -> int:
    engine = connect(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar_one())
    finally:
        engine.dispose()


def test_worklist_exports_hold_published_names_with_control_characters(tmp_path: Path) -> None:
    """The lake may hold anything a source sent before the ingestion rule existed: the XLSX export (openpyxl refuses
    C0 control characters) and the CSV export answer 200 with the names cleaned."""
    env = build_env("sqlite", tmp_path)
    world = make_world()
    world.names[("employer", "E1")] = "Bell\x07 Farms\x00"
    world.names[("employer", "E2")] = "\x1b[2J=cmd"
    engine = connect(env.url)
    try:
        publish(engine, score_run(world, "run-control", "2024-07-01", 0.0))
    finally:
        engine.dispose()
    h = auth(env.tokens["admin"])
    xlsx = env.client.get("/v1/worklists/employer.xlsx?capacity=8&explore=0", headers=h)
    assert xlsx.status_code == 200, xlsx.text
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    names = {str(r[3]) for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert {"Bell  Farms ", " [2J=cmd"} <= names, names
    exported = env.client.get("/v1/worklists/employer.csv?capacity=8&explore=0", headers=h)
    assert exported.status_code == 200 and "Bell  Farms " in exported.text and "\x07" not in exported.text
    env.client.close()
