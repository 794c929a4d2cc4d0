"""What the command groups share: dates and runners refused with exit code 2, figures printed alike."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import typer

from data_contracts.home import HOME_ENV, Home
from flows.commands.common import (
    as_of_day,
    evidence_from,
    figure,
    lake_as_of,
    open_task_runner,
    run_per_entity_type,
)
from models.train import MIN_FOLD_POSITIVES, MIN_TRAIN_POSITIVES


def test_a_figure_has_three_decimals_and_a_dash_when_missing() -> None:
    assert figure(0.12345) == "0.123"
    assert figure(2) == "2.000"
    assert figure(None) == "-"
    assert figure(float("nan")) == "-"


def test_as_of_reads_an_iso_day_and_refuses_anything_else() -> None:
    assert as_of_day("2024-06-30") == date(2024, 6, 30)
    with pytest.raises(typer.Exit) as refused:
        as_of_day("30/06/2024")
    assert refused.value.exit_code == 2


def test_lake_as_of_needs_a_day_then_a_lake_under_the_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(HOME_ENV, str(tmp_path))
    for as_of in ("30/06/2024", "2024-06-30"):  # not a date; a date but no lake yet
        with pytest.raises(typer.Exit) as refused:
            lake_as_of(as_of)
        assert refused.value.exit_code == 2
    Home(tmp_path).lake_catalogue.touch()
    assert lake_as_of("2024-06-30") == (tmp_path, date(2024, 6, 30))


def test_the_local_runner_runs_in_process_and_a_dask_address_needs_dask() -> None:
    with open_task_runner("local", None) as (runner, workers):
        assert runner is None and workers == 1
    for name, address in (("local", "tcp://127.0.0.1:8786"), ("spark", None)):
        with pytest.raises(typer.Exit) as refused, open_task_runner(name, address):
            pass
        assert refused.value.exit_code == 2


def test_evidence_takes_the_options_else_the_training_defaults() -> None:
    default = evidence_from(None, None)
    assert (default.min_train_positives, default.min_fold_positives) == (MIN_TRAIN_POSITIVES, MIN_FOLD_POSITIVES)
    given = evidence_from(MIN_TRAIN_POSITIVES + 3, MIN_FOLD_POSITIVES + 1)
    assert (given.min_train_positives, given.min_fold_positives) == (MIN_TRAIN_POSITIVES + 3, MIN_FOLD_POSITIVES + 1)


def test_a_flow_runs_in_process_in_one_piece_and_its_declared_failures_exit() -> None:
    calls: list[tuple[Any, ...]] = []

    def flow(*args: Any) -> str:
        calls.append(args)
        return "ran"

    day = date(2024, 6, 30)
    assert run_per_entity_type(flow, "local", None, Path("home"), day, True, (LookupError,)) == "ran"
    assert calls == [(Path("home"), day, 1, True)]

    def failing(*args: Any) -> str:
        raise KeyError("busy")

    with pytest.raises(typer.Exit) as refused:
        run_per_entity_type(failing, "local", None, Path("home"), day, False, (LookupError,), 1)
    assert refused.value.exit_code == 1
    with pytest.raises(ValueError):
        run_per_entity_type(lambda *args: int("x"), "local", None, Path("home"), day, False, (LookupError,))
