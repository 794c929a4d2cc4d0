"""`tracerisk us-dol score` as a user runs it, on the real data (from the session's parse cache)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from flows.cli import app
from tests.us_dol_data import require_data

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
