"""`tracerisk pipeline --source us-dol` on a slice of the real US DOL files (the public data in place, linked into
a folder, never copied), then the published employers read through the API as an inspectorate user would."""

from __future__ import annotations

import json
from collections.abc import Iterator
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote

import duckdb
import pandas as pd
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from prefect.testing.utilities import prefect_test_harness
from typer.testing import CliRunner

from data_contracts.names import sponsor_id
from flows.cli import app
from flows.us_dol import EXPORT_ACTION
from service.api import create_app
from service.auth import add_user
from service.settings import Settings
from store.engine import connect, store_url
from store.publish import published_runs, published_scores
from store.tables import audit_log
from tests.service.conftest import sign_in
from tests.us_dol_data import DEBARMENTS, require_data

runner = CliRunner()
SLICE = ("oflc_h2_disclosure/h2a/H-2A_FY2010.xlsx", "oflc_h2_disclosure/h2a/H-2A_FY2011.xlsx", DEBARMENTS)
DEBARRED = "R&K Doyle Harvesting Ltd."  # debarred from 2011-06-17 (debarments-2010-2014.csv)
AS_OF = "2012-01-01"
PRIOR_SANCTION = "prior violations, sanctions or complaints on record: 1"  # the debarred employer's E15 reason
SECRET = "us-dol-pipeline-test-secret-key-0123456789abcdef"


@pytest.fixture(scope="module", autouse=True)
def prefect_server() -> Iterator[None]:
    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(autouse=True)
def store_in_home(monkeypatch: pytest.MonkeyPatch) -> None:
    """The serving store is the one under each test's TRACERISK_HOME, and the commands key its audit log with the
    service's secret."""
    monkeypatch.delenv("TRACERISK_STORE_URL", raising=False)
    monkeypatch.setenv("TRACERISK_SECRET_KEY", SECRET)


@pytest.fixture(scope="module")
def data_slice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = require_data()
    root = tmp_path_factory.mktemp("us_dol_slice")
    for name in SLICE:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).symlink_to(data / name)
    return root


def served_now(home: Path) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """The runs the store serves per entity type and the published employer rows, best rank first."""
    engine = connect(store_url(home))
    try:
        return published_runs(engine), published_scores(engine, "employer")
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def published(data_slice: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A home after `tracerisk pipeline --source us-dol` on the slice, and the command's output."""
    home = tmp_path_factory.mktemp("us_dol_pipeline") / "home"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TRACERISK_HOME", str(home))
        patch.delenv("TRACERISK_STORE_URL", raising=False)
        result = runner.invoke(app, ["pipeline", "--source", "us-dol", "--data-dir", str(data_slice), "--as-of", AS_OF])
    assert result.exit_code == 0, result.output
    return home, result.output


def test_pipeline_publishes_dol_employers_with_reasons_the_api_serves(
    published: tuple[Path, str], data_slice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, output = published
    monkeypatch.setenv("TRACERISK_HOME", str(home))
    assert "published" in output and "no truth" in output
    assert "0 files already in the lake" in output

    # Evaluated on the debarments the lake records after each origin, new positives only, with intervals.
    rolling = json.loads((home / "reports" / "rolling-backtest.json").read_text(encoding="utf-8"))
    assert list(rolling) == ["2011-07-05", AS_OF]
    evaluation = json.loads((home / "reports" / "evaluation.json").read_text(encoding="utf-8"))
    employer = evaluation["employer"]
    assert employer["served_ranking"]["truth_precision_at_k"] is None  # no simulator behind real records
    assert len(employer["served_ranking"]["precision_at_k_ci95"]) == 2
    assert employer["known_positives"]["entities_sanctioned_before"] >= 1  # the 2011 debarment, left out
    if employer["positives"]["eval_new"]:
        assert employer["paired"]["resamples"] == 1_000 and "served_vs_rule" in employer["paired"]

    engine = connect(store_url(home))
    try:
        assert set(published_runs(engine).values()) == {output.split("(run ")[1].split(")")[0]}
        settings = Settings(
            home=home, store_url=store_url(home), secret_key=SECRET, mode="production", rate_limit_per_minute=0
        )
        admin = add_user(engine, settings.secret, "admin-user", "admin")
        client = TestClient(create_app(settings))
        entity_id = sponsor_id(DEBARRED)
        assert entity_id is not None
        path = f"/v1/entities/employer/{quote(entity_id)}"
        r = client.get(path, headers={"Authorization": f"Bearer {admin}"})
        assert r.status_code == 200, r.text
        page = r.json()
        assert page["entity_id"] == entity_id and page["as_of"] == AS_OF and page["name"]
        reasons = {reason["indicator_id"]: reason for reason in page["reasons"]}
        assert "E15" in reasons and reasons["E15"]["detail"].startswith(PRIOR_SANCTION)
        assert all(reason["detail"] and reason["link"] for reason in page["reasons"])

        # A labour inspectorate scoped to the employer's US state sees it; one scoped elsewhere does not.
        state = page["region"]
        assert state and len(state) == 2
        local = add_user(engine, settings.secret, "inspector-local", "labour_inspectorate", (state,))
        other = add_user(engine, settings.secret, "inspector-other", "labour_inspectorate", ("ZZ",))
        assert client.get(path, headers={"Authorization": f"Bearer {local}"}).status_code == 200
        assert client.get(path, headers={"Authorization": f"Bearer {other}"}).status_code in (403, 404)
        worklist = client.get("/v1/worklists/employer?capacity=20", headers={"Authorization": f"Bearer {local}"})
        assert worklist.status_code == 200, worklist.text
        items = worklist.json()["items"]
        assert items and all(item["region"] == state for item in items)
        assert all(item["entity_id"].startswith("sponsor:") for item in items)

        # The dashboard shows the inspectorate user the same employer with its reasons, and its state's worklist.
        browser = TestClient(client.app)
        sign_in(browser, local)
        html = browser.get(f"/entities/employer/{quote(entity_id)}")
        assert html.status_code == 200 and escape(page["name"]) in html.text
        assert PRIOR_SANCTION in html.text
        listed = browser.get("/worklists/employer")
        assert listed.status_code == 200 and escape(items[0]["name"]) in listed.text
    finally:
        engine.dispose()

    # The same folder again: every file is already in the lake and nothing is added.
    again = runner.invoke(app, ["ingest", "--format", "us-dol", "--source", str(data_slice), "--gx-sample-rows", "0"])
    assert again.exit_code == 0, again.output
    assert "0 new and 0 superseding" in again.output and f"{len(SLICE)} files were in the lake before" in again.output


def test_us_dol_score_is_the_published_run_as_a_csv(
    published: tuple[Path, str], data_slice: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, _ = published
    monkeypatch.setenv("TRACERISK_HOME", str(home))
    served_runs, employers = served_now(home)
    out = tmp_path / "scores.csv"
    args = ["us-dol", "score", "--data-dir", str(data_slice), "--as-of", AS_OF, "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert f"read the published run {served_runs['employer']}" in result.output and "served: " in result.output
    scores = pd.read_csv(out, keep_default_na=False)
    assert list(scores.columns) == ["employer_name", "employer_state", "score", "rank", "reasons", "served"]
    assert len(scores) == len(employers) > 5_000 and scores["rank"].tolist() == list(range(1, len(scores) + 1))
    assert scores["employer_name"].tolist() == [r["name"] for r in employers]  # the published order
    assert scores["score"].is_monotonic_decreasing and scores["served"].isin(["model", "red_flag_count"]).all()
    debarred = scores[[sponsor_id(name) == sponsor_id(DEBARRED) for name in scores["employer_name"]]]
    assert len(debarred) == 1 and PRIOR_SANCTION in debarred["reasons"].iloc[0]

    agents = tmp_path / "agents.csv"
    result = runner.invoke(app, [*args[:-1], str(agents), "--entity", "recruiter"])
    assert result.exit_code == 0, result.output
    agent_rows = pd.read_csv(agents)
    assert len(agent_rows) > 100 and list(agent_rows.columns[:2]) == ["recruiter_name", "recruiter_state"]

    # Each export is a view of the scores in it: one entry each in the hash-chained audit log, which still verifies.
    exports = exported_entries(home)[-2:]
    assert [(e["role"], e["entity_type"]) for e in exports] == [("operator", "employer"), ("operator", "recruiter")]
    assert json.loads(exports[0]["detail"]) == {
        "run_id": served_runs["employer"],
        "as_of": AS_OF,
        "rows": len(scores),
        "file": "scores.csv",
    }
    verified = runner.invoke(app, ["audit", "verify"])
    assert verified.exit_code == 0 and "audit log intact" in verified.output, verified.output


def exported_entries(home: Path) -> list[dict[str, Any]]:
    """The audit log's entries of score exports, oldest first."""
    engine = connect(store_url(home))
    try:
        with engine.connect() as conn:
            query = sa.select(audit_log).where(audit_log.c.action == EXPORT_ACTION).order_by(audit_log.c.seq)
            return [dict(r._mapping) for r in conn.execute(query)]
    finally:
        engine.dispose()


def test_us_dol_score_for_another_day_trains_scores_and_publishes_it(
    published: tuple[Path, str], data_slice: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, _ = published
    monkeypatch.setenv("TRACERISK_HOME", str(home))
    out = tmp_path / "scores.csv"
    day = "2011-10-01"
    args = ["us-dol", "score", "--data-dir", str(data_slice), "--as-of", day, "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert f"trained, scored and published run {day}-" in result.output
    employers = served_now(home)[1]
    assert employers[0]["as_of"] == day
    assert len(pd.read_csv(out)) == len(employers)


def test_us_dol_backtest_evaluates_on_the_lake_and_leaves_what_serves(
    published: tuple[Path, str], data_slice: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, _ = published
    monkeypatch.setenv("TRACERISK_HOME", str(home))
    registry = (home / "models" / "registry.json").read_text(encoding="utf-8")
    served_runs, _ = served_now(home)
    json_path = tmp_path / "backtest.json"
    args = ["us-dol", "backtest", "--data-dir", str(data_slice), "--as-of", "2011-07-01", "--labels-to", "2011-12-31"]
    result = runner.invoke(app, [*args, "--json", str(json_path)])
    assert result.exit_code == 0, result.output
    assert "| employer | 2011-07-01 | 2011-12-31 |" in result.output
    rows = json.loads(json_path.read_text(encoding="utf-8"))
    assert [(r["entity"], r["as_of"], r["labels_to"]) for r in rows] == [
        ("employer", "2011-07-01", "2011-12-31"),
        ("recruiter", "2011-07-01", "2011-12-31"),
    ]
    employer = rows[0]
    assert employer["evaluation"]["horizon_days"] == 183 and employer["evaluation"]["served_ranking"]["k"] == 100
    assert set(employer["rankings"]) == {"served", "model", "red_flag_count", "random"}
    assert "precision_at_100" in employer["rankings"]["served"]
    assert employer["positives_new"] == employer["evaluation"]["positives"]["eval_new"]
    # The trainings as of 2011-07-01 ran on a registry set aside: the pipeline's decisions still serve.
    assert (home / "models" / "registry.json").read_text(encoding="utf-8") == registry
    assert served_now(home)[0] == served_runs
    assert (home / "reports" / "us-dol-backtest.json").is_file()


def test_a_simulated_world_is_not_mixed_into_the_us_dol_lake(
    published: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, _ = published
    monkeypatch.setenv("TRACERISK_HOME", str(home))
    world = tmp_path / "world"
    made = runner.invoke(app, ["simulate", "--scale", "tiny", "--out", str(world), "--workers", "1"])
    assert made.exit_code == 0, made.output
    before = batches(home)
    refused = runner.invoke(app, ["ingest", "--source", str(world), "--format", "synthetic"])
    assert refused.exit_code == 2 and "already holds us-dol records" in refused.output, refused.output
    assert batches(home) == before  # nothing ingested


def batches(home: Path) -> list[tuple[Any, ...]]:
    """The lake's ledger of batches."""
    with duckdb.connect(str(home / "lake.duckdb"), read_only=True) as con:
        return con.execute("SELECT * FROM batches ORDER BY seq").fetchall()


def test_pipeline_options_for_a_source_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACERISK_HOME", str(tmp_path / "home"))
    missing = runner.invoke(app, ["pipeline", "--source", "us-dol", "--as-of", AS_OF])
    assert missing.exit_code == 2 and "needs --data-dir and --as-of" in missing.output
    unknown = runner.invoke(app, ["pipeline", "--source", "nowhere"])
    assert unknown.exit_code == 2 and "unknown source" in unknown.output
    synthetic = runner.invoke(app, ["pipeline", "--as-of", AS_OF])
    assert synthetic.exit_code == 2 and "derives its dates from the simulated window" in synthetic.output
    not_a_folder = runner.invoke(
        app, ["pipeline", "--source", "us-dol", "--data-dir", str(tmp_path / "none"), "--as-of", AS_OF]
    )
    assert not_a_folder.exit_code == 2 and "is not a folder" in not_a_folder.output
    assert not (tmp_path / "home").exists()  # nothing started
