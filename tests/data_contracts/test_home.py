"""The home layout: the paths the README documents under ``$TRACERISK_HOME``, its default and the store URL."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from data_contracts.home import DEFAULT_HOME, Home, service_database_beside

DOCUMENTED = {
    "lake_catalogue": "lake.duckdb",
    "lake": "lake",
    "quarantine": "quarantine",
    "gx": "gx",
    "gx_docs": "gx/uncommitted/data_docs",
    "pseudonym_key": "secrets/pseudonym.key",
    "world": "world",
    "landing": "landing",
    "outcome_landing": "landing/outcomes",
    "tmp": "tmp",
    "features": "features",
    "models": "models",
    "registry": "models/registry.json",
    "drift": "drift",
    "retraining_due": "drift/retraining_due.json",
    "reports": "reports",
    "evaluation_report": "reports/evaluation.json",
    "model_report": "reports/model-report.html",
    "rolling_backtest_report": "reports/rolling-backtest.json",
    "serving_db": "serving.db",
    "service_db": "serving.service.sqlite",
    "audit_anchors": "audit-anchors.jsonl",
    "prefect": "prefect",
}


@pytest.mark.parametrize(("name", "relative"), sorted(DOCUMENTED.items()))
def test_each_path_is_where_the_readme_says(tmp_path: Path, name: str, relative: str) -> None:
    assert getattr(Home(tmp_path), name) == tmp_path / relative


def test_every_path_property_is_checked() -> None:
    paths = {name for name, value in vars(Home).items() if isinstance(value, property) and name != "sqlite_store_url"}
    assert paths == set(DOCUMENTED)


def test_paths_named_by_a_value(tmp_path: Path) -> None:
    home = Home(tmp_path)
    assert home.features_as_of(date(2024, 10, 1)) == tmp_path / "features" / "as_of=2024-10-01"
    assert home.model("employer-2024-10-01-abc") == tmp_path / "models" / "employer-2024-10-01-abc"
    assert home.model_card("employer-x") == tmp_path / "models" / "employer-x" / "model-card.md"
    assert home.drift_reference("employer-x") == tmp_path / "drift" / "employer-x.json"
    assert home.evaluation_report_as_of(date(2023, 1, 1)) == tmp_path / "reports" / "evaluation-2023-01-01.json"


def test_asking_for_a_path_creates_nothing(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    _ = (home.lake, home.models, home.pseudonym_key, home.store_url())
    assert not (tmp_path / "home").exists()


def test_from_env_reads_tracerisk_home_else_var(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("TRACERISK_HOME", raising=False)
    assert Home.from_env() == Home(Path("var")) == Home(DEFAULT_HOME)
    monkeypatch.setenv("TRACERISK_HOME", str(tmp_path))
    assert Home.from_env().root == tmp_path


def test_store_url_is_the_variable_else_sqlite_at_serving_db(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("TRACERISK_STORE_URL", raising=False)
    home = Home(tmp_path / "relative" / ".." / "home")
    assert home.store_url() == home.sqlite_store_url == f"sqlite:///{(tmp_path / 'home' / 'serving.db').resolve()}"
    monkeypatch.setenv("TRACERISK_STORE_URL", "postgresql+psycopg://tracerisk@db/tracerisk")
    assert home.store_url() == "postgresql+psycopg://tracerisk@db/tracerisk"
    assert home.sqlite_store_url.endswith("/serving.db")
    monkeypatch.setenv("TRACERISK_STORE_URL", "")
    assert home.store_url() == home.sqlite_store_url


def test_service_database_sits_beside_any_store_file(tmp_path: Path) -> None:
    assert service_database_beside(tmp_path / "other.db") == tmp_path / "other.service.sqlite"
