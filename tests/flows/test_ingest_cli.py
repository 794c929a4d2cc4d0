"""`tracerisk ingest` as a user runs it: Prefect flow, summary table, --json, exit codes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect.testing.utilities import prefect_test_harness
from typer.testing import CliRunner

from data_contracts.sources import load_source
from flows.cli import app
from tests.us_dol_data import filing, write_debarments, write_filings

runner = CliRunner()


@pytest.fixture(scope="module", autouse=True)
def prefect_server() -> Iterator[None]:
    with prefect_test_harness(server_startup_timeout=120):
        yield


def test_ingest_synthetic_world_writes_lake_ledger_and_json(
    tiny_world: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACERISK_HOME", str(tmp_path / "home"))
    out = tmp_path / "summary.json"
    result = runner.invoke(app, ["ingest", "--source", str(tiny_world), "--json", str(out), "--gx-sample-rows", "0"])
    assert result.exit_code == 0, result.output
    summary = json.loads(out.read_text())
    batches = summary["batches"]
    assert len(batches) == 7 and {b["record_type"] for b in batches} == {
        "organisation",
        "recruiter",
        "visa_application",
        "border_crossing",
        "labour_inspection",
        "enforcement_outcome",
    }
    for b in batches:
        assert set(b) >= {"file", "record_type", "read", "accepted", "quarantined", "reasons", "error"}
        assert b["read"] == b["accepted"] + b["quarantined"] and b["error"] is None
    assert "read " in result.output and "= accepted" in result.output
    assert (tmp_path / "home" / "lake.duckdb").exists()
    again = runner.invoke(app, ["ingest", "--source", str(tiny_world), "--gx-sample-rows", "0"])
    assert again.exit_code == 0 and again.output.count("already ingested") == 7


def test_unusable_file_exits_non_zero_with_a_reason_and_ingests_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACERISK_HOME", str(tmp_path / "home"))
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "visa_application.csv").write_bytes("\ufeffa,b\n".encode("utf-16"))
    (landing / "organisation.csv").write_text(
        "record_id,source,registration_no,name,sector,country,registered_on\n"
        "O1,register,RN1,Org One,fishing,Aldoria,2010-01-01\n"
    )
    result = runner.invoke(app, ["ingest", "--source", str(landing), "--format", "csv", "--gx-sample-rows", "0"])
    assert result.exit_code == 1
    assert "unusable file" in result.output and "visa_application.csv" in result.output
    assert "UTF-16" in result.output
    assert "accepted 1" in result.output


def test_us_dol_format_ingests_each_declared_file_as_a_batch_with_data_docs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACERISK_HOME", str(tmp_path / "home"))
    declared = {d.path: d for d in load_source("us-dol").declared}
    data = tmp_path / "data"
    good = write_filings(data, declared["oflc_h2_disclosure/h2a/H-2A_FY2011.xlsx"], [filing("C-2", "B FARM", "Denied")])
    bad = write_filings(
        data, declared["oflc_h2_disclosure/h2a/H-2A_FY2010.xlsx"], [filing("C-1", "A", "Denied")], sheet="Data"
    )
    write_debarments(data)
    out = tmp_path / "summary.json"
    args = ["ingest", "--format", "us-dol", "--source", str(data), "--json", str(out), "--gx-sample-rows", "50"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    assert "declared sheet 'H-2A_FY2010' not in the workbook" in result.output
    assert "Great Expectations Data Docs" in result.output
    assert (tmp_path / "home" / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html").exists()
    status = {Path(b["file"]).name: (b["status"], b["record_type"]) for b in json.loads(out.read_text())["batches"]}
    assert status == {
        good.name: ("committed", "labour_certification"),
        bad.name: ("unusable", "labour_certification"),
        "debarments-2010-2014.csv": ("committed", "enforcement_outcome"),
    }
    again = runner.invoke(app, [*args[:-2], "--gx-sample-rows", "0"])
    status = {Path(b["file"]).name: b["status"] for b in json.loads(out.read_text())["batches"]}
    assert again.exit_code == 1 and status[good.name] == status["debarments-2010-2014.csv"] == "already_ingested"


def test_missing_source_folder_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["ingest", "--source", str(tmp_path / "nope")])
    assert result.exit_code == 2 and "is not a folder" in result.output


def test_features_after_ingest_writes_one_table_per_entity_type(
    tiny_world: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACERISK_HOME", str(tmp_path / "home"))
    assert runner.invoke(app, ["ingest", "--source", str(tiny_world), "--gx-sample-rows", "0"]).exit_code == 0
    result = runner.invoke(app, ["features", "--as-of", "2024-06-30"])
    assert result.exit_code == 0, result.output
    out = tmp_path / "home" / "features" / "as_of=2024-06-30"
    entities = {"employer", "recruiter", "visa_desk", "border_post", "inspector"}
    expected = entities | {f"{e}.{part}" for e in entities for part in ("profile", "scope")} | {"network_edges"}
    assert {p.stem for p in out.glob("*.parquet")} == expected
    meta = json.loads((out / "cutoffs.json").read_text())
    assert meta["as_of"] == "2024-06-30" and meta["rows"]["employer"] > 150


def test_features_needs_a_lake_and_a_date(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACERISK_HOME", str(tmp_path / "empty"))
    assert "no lake" in runner.invoke(app, ["features", "--as-of", "2024-06-30"]).output
    bad = runner.invoke(app, ["features", "--as-of", "30/06/2024"])
    assert bad.exit_code == 2 and "is not a date" in bad.output
