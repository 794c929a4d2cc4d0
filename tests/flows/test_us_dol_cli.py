"""The `tracerisk us-dol` commands as a user runs them (`us-dol score`: tests/flows/test_us_dol_pipeline.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from flows.cli import app
from tests.us_dol_data import hand_made_backtest, require_data

runner = CliRunner()


def test_us_dol_rejects_a_bad_entity_and_folder(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["us-dol", "score", "--data-dir", str(tmp_path), "--as-of", "2013-01-01", "--out", "x.csv"]
    )
    assert result.exit_code == 2 and "oflc_h2_disclosure" in result.output
    result = runner.invoke(
        app,
        ["us-dol", "score", "--data-dir", str(tmp_path), "--as-of", "2013-01-01", "--out", "x.csv", "--entity", "x"],
    )
    assert result.exit_code == 2


def test_us_dol_backtest_writes_the_reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The command's writing path, with the flow's figures stubbed (the figures themselves: tests/models)."""
    from flows import us_dol_flow
    from flows.us_dol import read_backtest

    home = tmp_path / "home"
    monkeypatch.setenv("TRACERISK_HOME", str(home))
    data_dir = tmp_path / "data"
    (data_dir / "oflc_h2_disclosure").mkdir(parents=True)
    monkeypatch.setattr(us_dol_flow, "us_dol_backtest_flow", lambda *a, **k: [hand_made_backtest("employer")])
    html = tmp_path / "out" / "report.html"
    result = runner.invoke(app, ["us-dol", "backtest", "--data-dir", str(data_dir), "--html", str(html)])
    assert result.exit_code == 0, result.output
    reports = home / "reports"
    assert read_backtest(home) == json.loads((reports / "us-dol-backtest.json").read_text(encoding="utf-8"))
    assert "[0.125, 0.375]" in (reports / "us-dol-model-report.html").read_text(encoding="utf-8")
    assert html.read_text(encoding="utf-8") == (reports / "us-dol-model-report.html").read_text(encoding="utf-8")
    assert "| model | 0.250 [0.125, 0.375]" in (reports / "us-dol-model-card.md").read_text(encoding="utf-8")
    assert read_backtest(tmp_path) is None


APPENDIX_C = "oflc_h2_disclosure/h2b_foreign_recruiters/H2B_FY2020_Appendix_C.xlsx"
APPENDIX_C_FY2021 = "oflc_h2_disclosure/h2b_foreign_recruiters/H-2B_Appendix_C_FY2021.xlsx"


def test_us_dol_recruiters_lists_appendix_c_from_the_lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = require_data()
    folder = tmp_path / "data"
    (folder / APPENDIX_C).parent.mkdir(parents=True)
    (folder / APPENDIX_C).symlink_to(data / APPENDIX_C)  # one Appendix C file, read in place
    (folder / "country_indices").symlink_to(data / "country_indices")  # the context beside the listing
    home = tmp_path / "home"
    monkeypatch.setenv("TRACERISK_HOME", str(home))
    out = tmp_path / "recruiters.csv"
    args = ["us-dol", "recruiters", "--data-dir", str(folder), "--as-of", "2022-07-01", "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "foreign recruiter organisations" in result.output
    assert (home / "lake.duckdb").is_file()  # read from the lake the command ingested into
    listing = pd.read_csv(out)
    assert list(listing.columns[:6]) == ["recruiter_name", "country", "red_flags", "rank", "reasons", "context"]
    assert len(listing) > 100 and listing["rank"].tolist() == list(range(1, len(listing) + 1))
    assert listing["red_flags"].is_monotonic_decreasing and (listing["red_flags"] > 0).any()
    assert not listing["us_agent"].any()  # no petitions in the folder: no organisation is an H-2 agent
    html = (home / "reports" / "us-dol-recruiters.html").read_text(encoding="utf-8")
    assert "Countries of registration (context)" in html and "never part of the ranking" in html
    again = runner.invoke(app, args)  # nothing new in the lake: the features kept as of the day are read
    assert again.exit_code == 0 and pd.read_csv(out).equals(listing)
    # The next year's file: the ingest adds it, so the features as of the day are built anew with its rows.
    (folder / APPENDIX_C_FY2021).symlink_to(data / APPENDIX_C_FY2021)
    more = runner.invoke(app, args)
    assert more.exit_code == 0 and len(pd.read_csv(out)) > len(listing)
    before = runner.invoke(app, [*args[:5], "2020-01-01", *args[6:]])
    assert before.exit_code == 0 and "no Appendix C rows before --as-of" in before.output


def test_us_dol_backtest_runs_one_backtest_per_origin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--origins: the flow gets every origin, and the table over origins prints served, P@100 and AP of the
    served ranking, the model, the red-flag count and random, and the new positives of each."""
    from flows import us_dol_flow

    monkeypatch.setenv("TRACERISK_HOME", str(tmp_path / "home"))
    data_dir = tmp_path / "data"
    (data_dir / "oflc_h2_disclosure").mkdir(parents=True)
    calls: list[dict[str, object]] = []

    def flow(*args: object, **kwargs: object) -> list[dict[str, object]]:
        calls.append(kwargs)
        return [dict(hand_made_backtest("employer"), as_of=str(day)) for day in kwargs["origins"]]  # type: ignore[attr-defined]

    monkeypatch.setattr(us_dol_flow, "us_dol_backtest_flow", flow)
    json_path = tmp_path / "out" / "backtest.json"
    args = ["us-dol", "backtest", "--data-dir", str(data_dir), "--json", str(json_path)]
    result = runner.invoke(app, [*args, "--origins", "2011-01-01, 2012-07-01"])
    assert result.exit_code == 0, result.output
    assert [str(d) for d in calls[0]["origins"]] == ["2011-01-01", "2012-07-01"]  # type: ignore[attr-defined]
    assert "| employer | 2011-01-01 | 2014-12-31 | 10 | model | 0.040 | 0.040 | 0.010 | 0.010 |" in result.output
    assert "| 0.2500 | 0.2500 | 0.0625 | 0.0100 | 4.00 |" in result.output
    written = json.loads(json_path.read_text(encoding="utf-8"))
    assert [r["as_of"] for r in written] == ["2011-01-01", "2012-07-01"] and written[0]["served"] == "model"
    bad = runner.invoke(app, [*args, "--origins", "2011-01-01,2015-02-01", "--labels-to", "2014-12-31"])
    assert bad.exit_code == 2 and "before an origin" in bad.output
    assert runner.invoke(app, [*args, "--origins", "2011-13-01"]).exit_code == 2
    both = runner.invoke(app, [*args, "--origins", "2011-01-01", "--as-of", "2013-01-01"])
    assert both.exit_code == 2 and "not both" in both.output and len(calls) == 1


def test_us_dol_ingest_puts_the_files_into_the_lake_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = require_data()
    folder = tmp_path / "data"
    (folder / APPENDIX_C).parent.mkdir(parents=True)
    (folder / APPENDIX_C).symlink_to(data / APPENDIX_C)
    monkeypatch.setenv("TRACERISK_HOME", str(tmp_path / "home"))
    first = runner.invoke(app, ["us-dol", "ingest", "--data-dir", str(folder), "--no-gx"])
    assert first.exit_code == 0, first.output
    assert "1 files ingested" in first.output and "0 already in the lake" in first.output
    again = runner.invoke(app, ["us-dol", "ingest", "--data-dir", str(folder), "--no-gx"])
    assert again.exit_code == 0 and "0 files ingested (0 rows accepted" in again.output
    assert "1 already in the lake" in again.output
