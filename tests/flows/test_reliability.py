"""Faults in the flows: a corrupt or missing champion bundle is never scored with (the last good champion
keeps serving); Prefect tasks retry with backoff; a publish that finally fails says so in one line and leaves
nothing of its run in the serving store."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any, cast

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
from data_contracts.ingest import ingest_file
from data_contracts.lake import Lake
from data_contracts.sources import load_source
from features.registry import for_entity
from flows.models import RULE_BASELINE, PublishFailed, publish_task
from models.blend import Calibrator, RuleCalibration
from models.bundle import BundleIntegrityError, load_bundle, record_decision, save_bundle, seal_bundle
from models.champion import check_bundle, usable_champion
from models.datasets import TrainingWindows
from models.gate import SERVED_COUNT
from models.train import TrainedModel
from store.engine import connect
from store.publish import publish, published_runs, published_scores
from store.tables import score_runs
from tests.models.test_models import KEY
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
    seal_bundle(folder)
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


def test_a_bundle_loads_only_as_written(tmp_path: Path) -> None:
    model_id = _bundle(tmp_path, "2024-01-01", 4)
    folder = tmp_path / "models" / model_id
    meta_file, sealed = folder / "bundle.json", (folder / "bundle.json").read_text(encoding="utf-8")
    meta = json.loads(sealed)
    meta_file.write_text(json.dumps(meta, indent=4, sort_keys=True), encoding="utf-8")  # formatting alone
    assert load_bundle(tmp_path, model_id).features == meta["features"]
    edits = (
        {"calibration": {"kind": "platt", "coef": 50.0, "intercept": 0.0}},
        {"features": ["E03_w365", "E02_w365", "E01_w365"]},
        {"features": meta["features"][:2]},
        {"trained_as_of": "2023-01-01"},
    )
    for edit in edits:
        meta_file.write_text(json.dumps({**meta, **edit}), encoding="utf-8")
        with pytest.raises(BundleIntegrityError, match=r"bundle\.json differs"):
            load_bundle(tmp_path, model_id)
        assert usable_champion(tmp_path, "employer") is None
    meta_file.write_text(sealed, encoding="utf-8")
    assert load_bundle(tmp_path, model_id).model_id == model_id
    (folder / "integrity.json").unlink()  # removing the record does not let an edit through
    with pytest.raises(BundleIntegrityError, match=r"no integrity\.json"):
        load_bundle(tmp_path, model_id)


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


def _publish_flow(
    home: Path, monkeypatch: pytest.MonkeyPatch, failures: int, run_id: str, name: str
) -> tuple[Callable[[], str], list[int]]:
    """A flow publishing ``run_id`` with retries 0.2 s and 0.5 s apart, through a publish that fails its first
    ``failures`` calls; the list gets one entry per call."""
    calls: list[int] = []
    monkeypatch.setattr(flows.models, "publish", _failing(failures, calls))
    fast = publish_task.with_options(retry_delay_seconds=[0.2, 0.5])

    @flow(name=name)
    def run_flow() -> str:
        return fast(home, score_run(make_world(), run_id, "2024-04-01", 0.0))

    return run_flow, calls


def test_publish_retries_after_a_failure_and_publishes(
    prefect_server: None, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_flow, calls = _publish_flow(home, monkeypatch, 1, "run-new", "publish-retry-test")
    assert run_flow() == "run-new"
    assert len(calls) == 2
    assert set(_state(home)[0].values()) == {"run-new"}


def test_a_flow_that_finally_fails_says_why_and_leaves_nothing(
    prefect_server: None, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_flow, calls = _publish_flow(home, monkeypatch, 99, "run-doomed", "publish-fail-test")
    with pytest.raises(PublishFailed) as failed:
        run_flow()
    message = str(failed.value)
    assert len(calls) == 3  # the first try and two retries
    assert "\n" not in message and "run-doomed" in message and "OperationalError" in message
    assert "previous scores stay published" in message
    published, runs = _state(home)
    assert set(published.values()) == {"run-before"} and runs == ["run-before"]


SCORE_AS_OF = "2024-06-30"


def _saved_bundle(home: Path, trained_as_of: str, rounds: int) -> str:
    """A bundle as training saves it (models.bundle.save_bundle), of small trees on three employer indicators."""
    features = [ind.feature for ind in for_entity("employer")][:3]
    rng = np.random.default_rng(rounds)
    x = rng.random((300, 3))
    booster = lgb.LGBMClassifier(n_estimators=rounds, num_leaves=4, verbose=-1).fit(x, (x[:, 0] > 0.5).astype(int))
    day = date.fromisoformat(trained_as_of)
    model = TrainedModel(
        entity="employer",
        strategy="unlabelled_negative",
        booster=booster,
        calibrator=Calibrator(),
        features=features,
        windows=TrainingWindows((day,), day, day, 365),
        comparison={},
        rule_calibration=RuleCalibration.uninformed(),
        fold=cast(Any, None),  # save_bundle never reads the fold
        positives={"train": 30, "fold": 10},
    )
    model_id = save_bundle(model, home, {}, "test")
    record_decision(home, "employer", model_id, {"promote": True, "served": "model", "reason": "beats the count"})
    return model_id


@pytest.fixture(scope="module")
def lake_home(tiny_world: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lake of the tiny world and two promoted employer bundles (the newer one the champion)."""
    home = tmp_path_factory.mktemp("score_home")
    lake = Lake(home)
    source = load_source("synthetic", tiny_world)
    for f in source.files(tiny_world):
        ingest_file(lake, f, source, datetime(2026, 11, 1, 12), KEY)
    lake.close()
    _saved_bundle(home, "2024-03-31", 4)
    _saved_bundle(home, SCORE_AS_OF, 6)
    return home


def _session_processes(sid: int) -> list[int]:
    """Processes still alive in session ``sid`` (a child that outlived the command, such as a Prefect server)."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != "Z":
            alive.append(int(stat.parent.name))
    return alive


def _score_cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``tracerisk score`` as an operator runs it: its own process and session, its own temporary Prefect server.
    Fails the test if any process of its session outlives it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "TRACERISK_"))}
    env |= {"TRACERISK_HOME": str(home), "PREFECT_HOME": str(home / "prefect")}
    command = [sys.executable, "-m", "flows.cli", "score", "--as-of", SCORE_AS_OF, *args]
    out, err = home / "score.out", home / "score.err"
    with out.open("w") as stdout, err.open("w") as stderr:  # files, not pipes: a leftover child cannot block reading
        proc = subprocess.Popen(command, env=env, text=True, stdout=stdout, stderr=stderr, start_new_session=True)
        try:
            proc.wait(timeout=600)
        finally:
            if proc.poll() is None:
                proc.kill()
    time.sleep(1)  # children get a moment to exit with their parent
    left = _session_processes(proc.pid)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, f"processes outlived tracerisk score: {left}"
    return subprocess.CompletedProcess(command, proc.returncode, out.read_text(), err.read_text())


def _published_employer_model(home: Path) -> str | None:
    engine = connect(f"sqlite:///{(home / 'serving.db').resolve()}")
    try:
        scores = published_scores(engine, "employer")
    finally:
        engine.dispose()
    return str(scores[0]["model_id"]) if scores else None


def test_score_with_broken_bundles_never_crashes(lake_home: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(lake_home, home)
    older, champion = sorted(p.name for p in (home / "models").glob("employer-*"))
    # the champion's calibration edited: the previous champion serves
    meta_file = home / "models" / champion / "bundle.json"
    meta = json.loads(meta_file.read_text(encoding="utf-8"))
    meta_file.write_text(json.dumps({**meta, "calibration": {"kind": "platt", "coef": 9.0, "intercept": 0.0}}))
    result = _score_cli(home)
    assert result.returncode == 0, result.stderr[-3000:]
    assert _published_employer_model(home) == older
    # every model.txt truncated, and no count calibration in the registry: the calibration is read from bundles
    registry = json.loads((home / "models" / "registry.json").read_text(encoding="utf-8"))
    assert "rule_calibration" not in registry["employer"]
    for model_id in (older, champion):
        model_file = home / "models" / model_id / "model.txt"
        model_file.write_text(model_file.read_text(encoding="utf-8")[:3000], encoding="utf-8")
    result = _score_cli(home)
    assert result.returncode == 1, result.stderr[-3000:]
    assert "no employer model loads" in result.stderr and "--allow-rule-baseline" in result.stderr
    assert _published_employer_model(home) == older  # nothing of the failed run is published
    result = _score_cli(home, "--allow-rule-baseline")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert _published_employer_model(home) == RULE_BASELINE


def test_a_deleted_champion_falls_back_and_never_silently_to_the_count(lake_home: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(lake_home, home)
    older, champion = sorted(p.name for p in (home / "models").glob("employer-*"))
    shutil.rmtree(home / "models" / champion)
    result = _score_cli(home)
    assert result.returncode == 0, result.stderr[-3000:]
    assert _published_employer_model(home) == older
    shutil.rmtree(home / "models" / older)
    result = _score_cli(home)
    assert result.returncode == 1, result.stderr[-3000:]
    assert f"champion {champion}" in result.stderr and "--allow-rule-baseline" in result.stderr
    assert _published_employer_model(home) == older
    # the gate handing the type to the count on purpose: the count serves and scoring succeeds
    decision = {"promote": False, "served": SERVED_COUNT, "reason": "the count ranks better on the fold"}
    record_decision(home, "employer", None, decision)
    result = _score_cli(home)
    assert result.returncode == 0, result.stderr[-3000:]
    assert _published_employer_model(home) == RULE_BASELINE
