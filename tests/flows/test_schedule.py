"""Scheduled operation (flows/schedule.py), on the flow functions directly: a night without new files does
nothing and says so; a night whose scoring fails raises (Prefect retries it) and leaves the published scores."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import flows.features
import flows.ingest
import flows.models
from flows.schedule import nightly_flow
from store.engine import connect
from store.publish import publish, published_runs
from tests.service.conftest import make_world, score_run


def _ingest(statuses: list[str]) -> Any:
    return lambda *a, **k: ([SimpleNamespace(status=s) for s in statuses], None)


def test_no_new_data_does_nothing_and_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    called: list[str] = []
    monkeypatch.setattr(flows.ingest, "ingest_flow", _ingest(["skipped", "skipped"]))
    monkeypatch.setattr(flows.features, "features_flow", lambda *a, **k: called.append("features"))
    monkeypatch.setattr(flows.models, "score_flow", lambda *a, **k: called.append("score"))
    out = nightly_flow.fn(tmp_path, tmp_path / "landing", "csv", date(2025, 1, 2))
    assert called == [] and out["new_files"] == 0 and out["run_id"] is None
    assert "no new data" in out["message"]


def test_failed_run_leaves_the_published_scores(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    engine = connect(f"sqlite:///{tmp_path / 'serving.db'}")
    publish(engine, score_run(make_world(), "run-last-good", "2025-01-01", 0.0))
    before = published_runs(engine)

    def failing_score(*a: Any, **k: Any) -> None:
        raise RuntimeError("scoring crashed")

    monkeypatch.setattr(flows.ingest, "ingest_flow", _ingest(["committed"]))
    monkeypatch.setattr(flows.features, "features_flow", lambda *a, **k: None)
    monkeypatch.setattr(flows.models, "score_flow", failing_score)
    with pytest.raises(RuntimeError, match="scoring crashed"):
        nightly_flow.fn(tmp_path, tmp_path / "landing", "csv", date(2025, 1, 2))
    assert published_runs(engine) == before and set(before.values()) == {"run-last-good"}
    assert nightly_flow.retries == 2  # a failed night is retried by Prefect
    engine.dispose()
