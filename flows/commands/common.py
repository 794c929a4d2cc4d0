"""What the ``tracerisk`` command groups share: the error console, progress bars, the as-of day and lake, and the
scale, runner, evidence and JSON-file options."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from simulator.config import EMPLOYERS_PER_SCALE

console = Console(stderr=True, soft_wrap=True)  # one-line errors, never wrapped


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``message`` as an error; the exit to raise with ``code``."""
    console.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


def progress_bar(step: str) -> Progress:
    """The progress bar of a long step (transient when stderr is not a terminal)."""
    return Progress(
        TextColumn(f"[bold]{step}[/] {{task.description}}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=not sys.stderr.isatty(),
    )


def as_of_day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise fail(f"--as-of {value!r} is not a date (YYYY-MM-DD)") from exc


def figure(value: object) -> str:
    """A metric with three decimals; ``-`` for a missing or NaN one."""
    return "-" if value is None or value != value else f"{float(value):.3f}"  # type: ignore[arg-type]


ScaleOption = Annotated[str, typer.Option(help=f"World size: {', '.join(EMPLOYERS_PER_SCALE)}.")]
RunnerOption = Annotated[
    str, typer.Option("--runner", help="Task runner: local (in-process) or dask (partitioned tasks on a Dask cluster).")
]
DaskAddressOption = Annotated[
    str | None,
    typer.Option(
        "--dask-address",
        help="Dask scheduler address (tcp://HOST:8786) for --runner dask (train: --distributed); without it a "
        "local cluster of 2 workers.",
    ),
]
MinTrainOption = Annotated[
    int | None,
    typer.Option(
        "--min-train-positives",
        min=1,
        help="Distinct observed positives a type's training labels need before a model may serve it "
        "(default: models.train.MIN_TRAIN_POSITIVES).",
    ),
]
MinFoldOption = Annotated[
    int | None,
    typer.Option(
        "--min-fold-positives",
        min=1,
        help="New observed positives the held-out fold needs before a model may serve a type "
        "(default: models.train.MIN_FOLD_POSITIVES).",
    ),
]


def as_of_option(help: str) -> Any:
    """The ``--as-of DAY`` option (``Annotated`` metadata) of a command; ``help`` says what the day bounds."""
    return typer.Option("--as-of", help=help)


def json_file_option(what: str) -> Any:
    """The ``--json FILE`` option (``Annotated`` metadata) of a command that can write ``what`` as JSON."""
    return typer.Option("--json", help=f"Write the {what} as JSON to this file.")


@contextmanager
def open_task_runner(runner: str, dask_address: str | None) -> Iterator[tuple[Any, int]]:
    """(task runner, workers): (None, 1) for the in-process default; prefect-dask's runner and the cluster's
    worker count for ``dask`` (a local cluster started for the command when no address is given)."""
    from flows.runners import RUNNERS

    if runner not in RUNNERS:
        raise fail(f"unknown runner {runner!r}; choose one of: {', '.join(RUNNERS)}")
    if runner == "local":
        if dask_address:
            raise fail("--dask-address needs --runner dask")
        yield None, 1
        return
    from flows.runners import dask_cluster, dask_task_runner, dask_workers

    with dask_cluster(dask_address) as address:
        try:
            workers = dask_workers(address)
        except OSError as exc:
            raise fail(f"cannot reach the Dask scheduler at {address}: {exc}") from exc
        yield dask_task_runner(address), workers


def on_runner(flow: Any, task_runner: Any) -> Any:
    """``flow`` running its tasks on ``task_runner``; the flow itself for the in-process default (None)."""
    return flow if task_runner is None else flow.with_options(task_runner=task_runner)


def task_partitions(task_runner: Any, workers: int) -> int:
    """Pieces a flow splits its work into: one in-process, else one per worker and at least two."""
    return 1 if task_runner is None else max(2, workers)


def run_per_entity_type(
    flow: Any,
    runner: str,
    dask_address: str | None,
    home: Path,
    day: date,
    switch: bool,
    fails_on: tuple[type[Exception], ...],
    exit_code: int = 2,
) -> Any:
    """``flow(home, day, partitions, switch)`` (every entity type) with its tasks on the chosen runner, its work in
    ``task_partitions`` pieces; an exception of ``fails_on`` exits with ``exit_code`` and its message."""
    with open_task_runner(runner, dask_address) as (task_runner, workers):
        flow_run = on_runner(flow, task_runner)
        try:
            return flow_run(home, day, task_partitions(task_runner, workers), switch)
        except fails_on as exc:
            raise fail(str(exc), exit_code) from exc


def lake_as_of(as_of: str) -> tuple[Path, date]:
    """``$TRACERISK_HOME`` and the ``--as-of`` day; exit 2 when the day is not a date or the home holds no lake
    yet."""
    from data_contracts.home import Home

    day = as_of_day(as_of)
    home = Home.from_env()
    if not home.lake_catalogue.exists():
        raise fail(f"no lake at {home.root}: run `tracerisk ingest` first")
    return home.root, day


def evidence_from(min_train: int | None, min_fold: int | None) -> Any:
    """The evidence a type needs before a model may serve it: the options' values, else the training defaults."""
    from models.train import MIN_FOLD_POSITIVES, MIN_TRAIN_POSITIVES, Evidence

    return Evidence(
        MIN_TRAIN_POSITIVES if min_train is None else min_train, MIN_FOLD_POSITIVES if min_fold is None else min_fold
    )
