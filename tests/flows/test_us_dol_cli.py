"""`tracerisk us-dol score` as a user runs it, on the real data (from the session's parse cache)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from flows.cli import app
from tests.us_dol_data import hand_made_backtest, require_data

runner = CliRunner()


def test_us_dol_score_writes_the_csv(us_dol_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACERISK_HOME", str(us_dol_home))
    out = tmp_path / "scores.csv"
    args = ["us-dol", "score", "--data-dir", str(require_data()), "--as-of", "2011-06-01", "--out", str(out)]
    result = runner.invoke(app, [*args, "--entity", "recruiter"])
    assert result.exit_code == 0, result.output
    assert "linked to a filer" in result.output and "training origin 2010-01-01" in result.output
    scores = pd.read_csv(out)
    assert list(scores.columns) == ["employer_name", "employer_state", "score", "rank", "reasons"]
    assert len(scores) > 500 and scores["rank"].tolist() == list(range(1, len(scores) + 1))
    assert scores["score"].is_monotonic_decreasing


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


def test_us_dol_recruiters_writes_the_listing(
    us_dol_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACERISK_HOME", str(us_dol_home))
    out = tmp_path / "recruiters.csv"
    args = ["us-dol", "recruiters", "--data-dir", str(require_data()), "--as-of", "2022-07-01", "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "foreign recruiter organisations" in result.output
    listing = pd.read_csv(out)
    assert list(listing.columns[:6]) == ["recruiter_name", "country", "red_flags", "rank", "reasons", "context"]
    assert len(listing) > 300 and listing["rank"].tolist() == list(range(1, len(listing) + 1))
    assert listing["red_flags"].is_monotonic_decreasing
    html = (us_dol_home / "reports" / "us-dol-recruiters.html").read_text(encoding="utf-8")
    assert "Countries of registration (context)" in html and "never part of the ranking" in html
