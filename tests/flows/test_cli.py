"""The `tracerisk` command line as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app

runner = CliRunner()


def test_simulate_writes_a_world_and_prints_a_summary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACERISK_HOME", str(tmp_path))  # without --out: the world folder of $TRACERISK_HOME
    result = runner.invoke(app, ["simulate", "--scale", "tiny", "--seed", "4", "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "records/s" in result.output
    manifest = json.loads((tmp_path / "world" / "manifest.json").read_text())
    assert manifest["scale"] == "tiny" and manifest["seed"] == 4
    assert f"{manifest['total_records']:,}" in result.output


def test_simulate_csv_format(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["simulate", "--scale", "tiny", "--out", str(tmp_path), "--format", "csv", "--workers", "1"]
    )
    assert result.exit_code == 0, result.output
    assert list((tmp_path / "export" / "organisation").glob("*.csv"))


def test_unknown_scale_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["simulate", "--scale", "huge", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "unknown scale 'huge'" in result.output


def test_bad_config_is_a_clear_error(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[realism]\nnot_a_knob = 1\n")
    result = runner.invoke(app, ["simulate", "--scale", "tiny", "--out", str(tmp_path / "w"), "--config", str(cfg)])
    assert result.exit_code == 2
    assert "realism.not_a_knob" in result.output
    assert not (tmp_path / "w").exists()


def test_negative_seed_is_rejected(tmp_path: Path) -> None:
    result = runner.invoke(app, ["simulate", "--scale", "tiny", "--seed", "-1", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "non-negative" in result.output


def test_schedule_needs_a_landing_folder(tmp_path: Path) -> None:
    result = runner.invoke(app, ["schedule", "--landing", str(tmp_path / "missing")])
    assert result.exit_code == 2 and "is not a folder" in result.output
    bad = runner.invoke(app, ["schedule", "--landing", str(tmp_path), "--format", "xml"])
    assert bad.exit_code == 2 and "unknown format" in bad.output
