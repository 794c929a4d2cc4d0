"""Issue 9, faults in the flows: a corrupt or missing champion bundle is never scored with (the last good champion
keeps serving); Prefect tasks retry with backoff; a publish that finally fails says so in one line and leaves
nothing of its run in the serving store."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pytest
import sqlalchemy as sa
from prefect import Task, flow
from prefect.testing.utilities import prefect_test_harness

import flows.features
import flows.ingest
import flows.models
import flows.pipeline
from flows.models import PublishFailed, check_bundle, publish_task, usable_champion
from models.bundle import record_decision
from service.store import connect, publish, published_runs, score_runs
from tests.service.conftest import make_world, score_run


def _bundle(home: Path, trained_as_of: str, rounds: int) -> str:
    rng = np.random.default_rng(rounds)
    x = rng.random((300, 3))
    booster = lgb.train(
        {"objective": "binary", "verbose": -1, "num_leaves": 4},
        lgb.Dataset(x, (x[:, 0] > 0.5).astype(int)),
        num_boost_round=rounds,
    )
    text = booster.model_to_string()
    model_id = f"employer-{trained_as_of}-{hashlib.sha256(text.encode()).hexdigest()[:10]}"
    folder = home / "models" / model_id
    folder.mkdir(parents=True)
    (folder / "model.txt").write_text(text, encoding="utf-8")
    meta = {
        "model_id": model_id,
        "entity": "employer",
        "features": ["E01_w365", "E02_w365", "E03_w365"],
        "calibration": {"kind": "identity"},
        "trained_as_of": trained_as_of,
    }
    (folder / "bundle.json").write_text(json.dumps(meta), encoding="utf-8")
    record_decision(home, "employer", model_id, {"promote": True, "reason": "beats the champion"})
    return model_id


def test_a_corrupt_or_missing_champion_bundle_falls_back_to_the_last_good_one(tmp_path: Path) -> None:
    old = _bundle(tmp_path, "2024-01-01", 4)
    new = _bundle(tmp_path, "2024-04-01", 6)
    loaded = usable_champion(tmp_path, "employer")
    assert loaded is not None and loaded.model_id == new
    model_file = tmp_path / "models" / new / "model.txt"
    text = model_file.read_text(encoding="utf-8")
    for broken in (text[: len(text) // 2], "tree\nnonsense", "", text.replace("leaf_value=", "leaf_value=9", 1)):
        model_file.write_text(broken, encoding="utf-8")
        loaded = usable_champion(tmp_path, "employer")
        assert loaded is not None and loaded.model_id == old, broken[:30]
        with pytest.raises(Exception):  # noqa: B017 - any reason to refuse the bundle will do
            check_bundle(tmp_path, new)
    model_file.unlink()  # missing file
    assert usable_champion(tmp_path, "employer").model_id == old  # type: ignore[union-attr]
    (tmp_path / "models" / old / "bundle.json").write_text("{not json", encoding="utf-8")
    assert usable_champion(tmp_path, "employer") is None  # nothing loads: the rule baseline scores
    model_file.write_text(text, encoding="utf-8")
    assert usable_champion(tmp_path, "employer").model_id == new  # type: ignore[union-attr]


def _tasks() -> list[Task[Any, Any]]:
    modules = (flows.ingest, flows.features, flows.models, flows.pipeline)
    return [v for m in modules for v in vars(m).values() if isinstance(v, Task)]


def test_every_task_retries_with_backoff() -> None:
    tasks = _tasks()
    assert {t.name for t in tasks} >= {"prepare-file", "commit-file", "build-features", "score", "publish-scores"}
    for t in tasks:
        delays = t.retry_delay_seconds
        assert t.retries >= 1 and isinstance(delays, list) and len(delays) >= 1, t.name
        assert delays == sorted(delays) and delays[0] > 0, t.name  # never shorter than the previous wait
    assert publish_task.retry_delay_seconds == [2, 10]


@pytest.fixture(scope="module")
def prefect_server() -> Iterator[None]:
    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("TRACERISK_STORE_URL", raising=False)
    engine = connect(f"sqlite:///{(tmp_path / 'serving.db').resolve()}")
    publish(engine, score_run(make_world(), "run-before", "2024-01-01", 0.0))
    engine.dispose()
    return tmp_path


def _failing(times: int, calls: list[int]) -> Any:
    def failing_publish(engine: Any, run: Any, before_commit: Any = None) -> None:
        calls.append(1)
        if len(calls) <= times:
            raise sa.exc.OperationalError("INSERT INTO scores", {}, ConnectionError("server closed the connection"))
        publish(engine, run, before_commit)

    return failing_publish


def _state(home: Path) -> tuple[dict[str, str], list[str]]:
    engine = connect(f"sqlite:///{(home / 'serving.db').resolve()}")
    try:
        with engine.connect() as conn:
            runs = [r.run_id for r in conn.execute(sa.select(score_runs.c.run_id))]
        return published_runs(engine), runs
    finally:
        engine.dispose()


def test_publish_retries_after_a_failure_and_publishes(
    prefect_server: None, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    monkeypatch.setattr(flows.models, "publish", _failing(1, calls))
    fast = publish_task.with_options(retry_delay_seconds=[0.2, 0.5])

    @flow(name="publish-retry-test")
    def run_flow() -> str:
        return fast(home, score_run(make_world(), "run-new", "2024-04-01", 0.0))

    assert run_flow() == "run-new"
    assert len(calls) == 2
    assert set(_state(home)[0].values()) == {"run-new"}


def test_a_flow_that_finally_fails_says_why_and_leaves_nothing(
    prefect_server: None, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    monkeypatch.setattr(flows.models, "publish", _failing(99, calls))
    fast = publish_task.with_options(retry_delay_seconds=[0.2, 0.5])

    @flow(name="publish-fail-test")
    def run_flow() -> str:
        return fast(home, score_run(make_world(), "run-doomed", "2024-04-01", 0.0))

    with pytest.raises(PublishFailed) as failed:
        run_flow()
    message = str(failed.value)
    assert len(calls) == 3  # the first try and two retries
    assert "\n" not in message and "run-doomed" in message and "OperationalError" in message
    assert "previous scores stay published" in message
    published, runs = _state(home)
    assert set(published.values()) == {"run-before"} and runs == ["run-before"]
