"""``tracerisk pipeline``: the whole chain over a simulated world or a folder of real records."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from flows.commands.common import (
    DaskAddressOption,
    MinFoldOption,
    MinTrainOption,
    RunnerOption,
    ScaleOption,
    as_of_day,
    as_of_option,
    console,
    evidence_from,
    fail,
    figure,
    open_task_runner,
    progress_bar,
)
from simulator.config import EMPLOYERS_PER_SCALE

PIPELINE_SOURCES = ("synthetic", "us-dol")


def pipeline(
    scale: ScaleOption = "small",
    seed: Annotated[int, typer.Option(help="Simulator seed.")] = 0,
    runner: RunnerOption = "local",
    dask_address: DaskAddressOption = None,
    min_train_positives: MinTrainOption = None,
    min_fold_positives: MinFoldOption = None,
    source: Annotated[
        str,
        typer.Option(
            help="synthetic (simulate a world, evaluate on its truth) or us-dol (the US DOL files of --data-dir, "
            "evaluated on the later debarments the lake records)."
        ),
    ] = "synthetic",
    data_dir: Annotated[
        Path | None, typer.Option(help="With --source us-dol: the folder of the public data (../shared/data).")
    ] = None,
    as_of: Annotated[
        str | None,
        as_of_option("With --source us-dol: train, evaluate from and publish scores as of this day."),
    ] = None,
) -> None:
    """The whole chain: simulate (synthetic) or read a source folder, ingest, features, train, evaluate, score,
    publish."""
    if source not in PIPELINE_SOURCES:
        raise fail(f"unknown source {source!r}; choose one of: {', '.join(PIPELINE_SOURCES)}")
    if source != "synthetic":
        if data_dir is None or as_of is None:
            raise fail(f"--source {source} needs --data-dir and --as-of")
        if runner != "local" or dask_address:
            raise fail(f"--source {source} runs in process (--runner local)")
        _source_pipeline(source, data_dir, as_of_day(as_of), evidence_from(min_train_positives, min_fold_positives))
        return
    if data_dir is not None or as_of is not None:
        raise fail(
            "--data-dir and --as-of are for a source folder (--source us-dol); the synthetic chain "
            "derives its dates from the simulated window"
        )
    if scale not in EMPLOYERS_PER_SCALE:
        raise fail(f"unknown scale {scale!r}; choose one of: {', '.join(EMPLOYERS_PER_SCALE)}")
    if seed < 0:
        raise fail("--seed must be a non-negative integer")
    _synthetic_pipeline(scale, seed, runner, dask_address, min_train_positives, min_fold_positives)


def _synthetic_pipeline(
    scale: str, seed: int, runner: str, dask_address: str | None, min_train: int | None, min_fold: int | None
) -> None:
    """``tracerisk pipeline`` over a simulated world, evaluated on its planted truth."""
    from data_contracts.home import Home
    from data_contracts.lake import LakeBusy
    from data_contracts.sources import SourceError

    home = Home.from_env().root
    from flows.pipeline import pipeline_flow

    started = time.perf_counter()
    with open_task_runner(runner, dask_address) as (task_runner, workers), progress_bar("pipeline") as bar:
        bar.add_task(f"{scale} world, seed {seed} under {home}", total=None)
        try:
            result = pipeline_flow(home, scale, seed, task_runner, workers, evidence_from(min_train, min_fold))
        except (LakeBusy, SourceError) as exc:
            raise fail(str(exc)) from exc
    out = Console(width=200)
    table = Table(title="rolling-origin backtest on new positives (truth = the simulator's planted risk, k = top 5%)")
    columns = ("origin", "entity", "served", "served truth p@k", "model truth p@k", "count truth p@k")
    for column in (*columns, "random truth p@k", "served p@k", "new positives"):
        table.add_column(column)
    for origin, evaluation in result.rolling.items():
        for entity, res in evaluation.items():
            if "rule" in res:
                table.add_row(
                    origin,
                    entity,
                    str(res["served"]),
                    figure(res["served_ranking"]["truth_precision_at_k"]),
                    figure((res["model"] or {}).get("truth_precision_at_k")),
                    figure(res["rule"]["truth_precision_at_k"]),
                    figure(res["random"]["truth_precision_at_k"]),
                    figure(res["served_ranking"]["precision_at_k"]),
                    str(res["positives"].get("eval_new")),
                )
    out.print(table)
    for entity, r in result.serving_models.items():
        out.print(f"{entity}: served by {r.served}, model {r.model_id or '-'} ({r.reason})")
    out.print(
        f"ingested {result.ingested_rows:,} rows ({result.quarantined_rows:,} quarantined"
        + (f"; {result.files_already_ingested} files already in the lake" if result.files_already_ingested else "")
        + "); published "
        f"{result.published_rows:,} scores as of {result.dates.serving} (run {result.run_id}) in "
        f"{time.perf_counter() - started:.0f} s"
    )
    out.print(f"evaluation: {result.evaluation_path}\nreport: {result.report_path}")


def _source_pipeline(source: str, data_dir: Path, day: date, evidence: Any) -> None:
    """``tracerisk pipeline --source us-dol``: the chain over a folder of real records, evaluated without truth."""
    from data_contracts.home import Home
    from data_contracts.lake import LakeBusy
    from data_contracts.pseudonymise import PseudonymKeyError
    from data_contracts.sources import SourceError
    from store.engine import redact_url

    if not data_dir.is_dir():
        raise fail(f"--data-dir {data_dir} is not a folder")
    home = Home.from_env().root
    from flows.pipeline import source_pipeline_flow

    started = time.perf_counter()
    with progress_bar("pipeline") as bar:
        bar.add_task(f"{source} records of {data_dir} as of {day} under {home}", total=None)
        try:
            result = source_pipeline_flow(home, data_dir, source, day, evidence)
        except (LakeBusy, SourceError, PseudonymKeyError) as exc:
            raise fail(str(exc)) from exc
    out = Console(width=200)
    for line in result.unusable_files:
        console.print(f"[bold red]unusable file:[/] {line}")
    table = Table(
        title="rolling-origin backtest on new positives (observed later sanctions, no truth; k = top 5%; "
        "[95% bootstrap interval]; served > count: share of paired resamples)"
    )
    columns = ("origin", "entity", "served", "new positives", "served p@k", "model p@k", "count p@k", "random p@k")
    for column in (*columns, "served AP", "model AP", "count AP", "random AP", "served > count p@k / AP"):
        table.add_column(column)

    def with_ci(m: dict[str, Any], key: str) -> str:
        ci = m.get(f"{key}_ci95") or [None, None]
        return f"{figure(m.get(key))} [{figure(ci[0])}, {figure(ci[1])}]"

    for origin, evaluation in result.rolling.items():
        for entity, res in evaluation.items():
            if "rule" not in res or not res["rule"].get("n"):
                continue  # a type the source has no entities of
            paired = (res.get("paired") or {}).get("served_vs_rule") or {}
            shares = " / ".join(
                figure((paired.get(m) or {}).get("higher_share")) for m in ("precision_at_k", "average_precision")
            )
            table.add_row(
                origin,
                entity,
                str(res["served"]),
                str(res["positives"].get("eval_new")),
                with_ci(res["served_ranking"], "precision_at_k"),
                figure((res["model"] or {}).get("precision_at_k")),
                figure(res["rule"]["precision_at_k"]),
                figure(res["random"]["precision_at_k"]),
                with_ci(res["served_ranking"], "average_precision"),
                figure((res["model"] or {}).get("average_precision")),
                figure(res["rule"]["average_precision"]),
                figure(res["random"]["average_precision"]),
                shares,
            )
    out.print(table)
    for entity, r in result.serving_models.items():
        out.print(f"{entity}: served by {r.served}, model {r.model_id or '-'} ({r.reason})")
    out.print(
        f"ingested {result.ingested_rows:,} new rows of {result.read_rows:,} read ({result.quarantined_rows:,} "
        f"quarantined; {result.files_already_ingested} files already in the lake); published "
        f"{result.published_rows:,} scores as of {result.dates.serving} (run {result.run_id}) to "
        f"{redact_url(result.store)} in {time.perf_counter() - started:.0f} s"
    )
    out.print(f"evaluation: {result.evaluation_path}\nreport: {result.report_path}")
    if result.unusable_files:
        raise typer.Exit(1)


COMMANDS = (pipeline,)  # in the order ``tracerisk --help`` lists them
