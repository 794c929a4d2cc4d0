"""The ``tracerisk`` command line (the stable contract of ../shared/DESIGN.md)."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from simulator.config import EMPLOYERS_PER_SCALE, ConfigError, load_config

app = typer.Typer(
    name="tracerisk",
    help="Score trafficking and corruption risk of organisations and official desks, with reasons.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(stderr=True, soft_wrap=True)  # one-line errors, never wrapped


@app.callback()
def _root() -> None:
    """tracerisk: explainable trafficking and corruption risk scores for organisations and official desks."""


def _fail(message: str, code: int = 2) -> typer.Exit:
    console.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


def _progress(step: str) -> Progress:
    """The progress bar of a long step (transient when stderr is not a terminal)."""
    return Progress(
        TextColumn(f"[bold]{step}[/] {{task.description}}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=not sys.stderr.isatty(),
    )


def _as_of(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise _fail(f"--as-of {value!r} is not a date (YYYY-MM-DD)") from exc


RunnerOption = Annotated[
    str, typer.Option("--runner", help="Task runner: local (in-process) or dask (partitioned tasks on a Dask cluster).")
]
DaskAddressOption = Annotated[
    str | None,
    typer.Option(
        "--dask-address",
        help="Dask scheduler address (tcp://HOST:8786) for --runner dask; without it a local cluster of 2 workers.",
    ),
]


@contextmanager
def _task_runner(runner: str, dask_address: str | None) -> Iterator[tuple[Any, int]]:
    """(task runner, workers): (None, 1) for the in-process default; prefect-dask's runner and the cluster's
    worker count for ``dask`` (a local cluster started for the command when no address is given)."""
    from flows.runners import RUNNERS

    if runner not in RUNNERS:
        raise _fail(f"unknown runner {runner!r}; choose one of: {', '.join(RUNNERS)}")
    if runner == "local":
        if dask_address:
            raise _fail("--dask-address needs --runner dask")
        yield None, 1
        return
    from flows.runners import dask_cluster, dask_task_runner, dask_workers

    with dask_cluster(dask_address) as address:
        try:
            workers = dask_workers(address)
        except OSError as exc:
            raise _fail(f"cannot reach the Dask scheduler at {address}: {exc}") from exc
        yield dask_task_runner(address), workers


def _lake_home() -> Path:
    from data_contracts.lake import tracerisk_home

    home = tracerisk_home()
    if not (home / "lake.duckdb").exists():
        raise _fail(f"no lake at {home}: run `tracerisk ingest` first")
    return home


@app.command()
def simulate(
    scale: Annotated[str, typer.Option(help=f"World size: {', '.join(EMPLOYERS_PER_SCALE)}.")] = "small",
    seed: Annotated[int, typer.Option(help="Random seed; the same seed and config give identical files.")] = 0,
    out: Annotated[
        Path,
        typer.Option(help="Output folder for the agency exports, the hidden planted truth and a manifest."),
    ] = Path("var/world"),
    config: Annotated[Path | None, typer.Option(help="TOML file overriding simulator knobs.")] = None,
    file_format: Annotated[str, typer.Option("--format", help="Export file format: parquet or csv.")] = "parquet",
    workers: Annotated[int, typer.Option(help="Worker processes (output does not depend on it).")] = min(
        2, os.cpu_count() or 1
    ),
) -> None:
    """Write a synthetic world: agency exports plus the hidden truth in a separate folder."""
    from simulator.world import simulate_world

    if scale not in EMPLOYERS_PER_SCALE:
        raise _fail(f"unknown scale {scale!r}; choose one of: {', '.join(EMPLOYERS_PER_SCALE)}")
    if file_format not in ("parquet", "csv"):
        raise _fail(f"unknown format {file_format!r}; choose parquet or csv")
    if seed < 0:
        raise _fail("--seed must be a non-negative integer")
    if workers < 1:
        raise _fail("--workers must be at least 1")
    try:
        cfg = load_config(config)
    except ConfigError as exc:
        raise _fail(str(exc)) from exc
    started = time.perf_counter()
    with _progress("simulate") as bar:
        task = bar.add_task(f"{scale} world, seed {seed}", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        summary = simulate_world(
            scale,
            seed,
            out,
            cfg,
            fmt="csv" if file_format == "csv" else "parquet",
            workers=workers,
            progress=progress,
        )
    elapsed = time.perf_counter() - started
    table = Table(title=f"synthetic world written to {out}")
    table.add_column("file type")
    table.add_column("records", justify="right")
    for name, count in summary.records.items():
        table.add_row(name, f"{count:,}")
    table.add_row("[bold]total", f"[bold]{summary.total_records:,}")
    Console().print(table)
    Console().print(
        f"{summary.total_records:,} records in {elapsed:.1f} s "
        f"({summary.total_records / elapsed:,.0f} records/s); hidden truth in {summary.truth_dir}"
    )


@app.command()
def ingest(
    source: Annotated[
        Path, typer.Option(help="Folder to ingest (a simulated world, a landing zone of files, the US DOL data).")
    ],
    file_format: Annotated[
        str, typer.Option("--format", help="Source format: synthetic, csv or us-dol (the US DOL data folder).")
    ] = "synthetic",
    mapping: Annotated[
        Path | None, typer.Option(help="TOML file mapping source columns onto contract columns.")
    ] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the summary as JSON to this file.")] = None,
    gx_sample_rows: Annotated[
        int, typer.Option(help="Rows per batch validated by Great Expectations for the Data Docs (0: off).")
    ] = 2_000,
    runner: RunnerOption = "local",
    dask_address: DaskAddressOption = None,
) -> None:
    """Validate every file against its data contract; accepted rows to the lake, the rest to quarantine."""
    import json

    from data_contracts.lake import LakeBusy, tracerisk_home
    from data_contracts.pseudonymise import PseudonymKeyError
    from data_contracts.sources import SourceError

    if file_format not in ("synthetic", "csv", "us-dol"):
        raise _fail(f"unknown format {file_format!r}; choose synthetic, csv or us-dol")
    if gx_sample_rows < 0:
        raise _fail("--gx-sample-rows must be 0 or more")
    if not source.is_dir():
        raise _fail(f"--source {source} is not a folder")
    home = tracerisk_home()
    from flows.ingest import PREFETCH, ingest_flow
    from flows.runners import LocalCallback

    with _task_runner(runner, dask_address) as (task_runner, workers), _progress("ingest") as bar:
        task = bar.add_task(str(source), total=None)

        def progress(done: int, total: int, name: str) -> None:
            bar.update(task, completed=done, total=total, description=name)

        run = ingest_flow if task_runner is None else ingest_flow.with_options(task_runner=task_runner)
        try:
            callback = progress if task_runner is None else LocalCallback(progress)
            reports, docs = run(source, file_format, home, mapping, gx_sample_rows, callback, max(PREFETCH, workers))
        except (SourceError, PseudonymKeyError, LakeBusy) as exc:
            raise _fail(str(exc)) from exc
    table = Table(title=f"ingest of {source} into {home}")
    for column in ("file", "record type", "read", "accepted", "quarantined", "top reasons / status"):
        table.add_column(column, justify="right" if column in ("read", "accepted", "quarantined") else "left")
    for r in reports:
        name = Path(r.file).name if r.file else "?"
        if r.status == "unusable":
            detail = f"[red]unusable: {r.error}"
        elif r.status == "already_ingested":
            detail = "already ingested: nothing added"
        else:
            detail = ", ".join(f"{k} ({v})" for k, v in list(r.reasons.items())[:3])
        table.add_row(name, r.record_type, f"{r.read:,}", f"{r.accepted:,}", f"{r.quarantined:,}", detail)
    out = Console(width=160)
    out.print(table)
    committed = [r for r in reports if r.status == "committed"]  # an already ingested file reports its first ingest
    totals = [sum(getattr(r, k) for r in committed) for k in ("read", "accepted", "quarantined", "new", "superseding")]
    already = sum(1 for r in reports if r.status == "already_ingested")
    out.print(
        f"read {totals[0]:,} = accepted {totals[1]:,} + quarantined {totals[2]:,}; "
        f"{totals[3]:,} new and {totals[4]:,} superseding versions stored"
        + (f"; {already} files were in the lake before" if already else "")
    )
    if docs:
        out.print(f"Great Expectations Data Docs: {docs}")
    if json_path:
        from data_contracts.ingest import summary_json

        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(summary_json(reports), indent=2) + "\n", encoding="utf-8")
    unusable = [r for r in reports if r.status == "unusable"]
    for r in unusable:
        console.print(f"[bold red]unusable file:[/] {r.file}: {r.error}")
    if unusable:
        raise typer.Exit(1)


@app.command()
def features(
    as_of: Annotated[
        str, typer.Option("--as-of", help="Build features from records dated and known before this day (ISO).")
    ],
    runner: RunnerOption = "local",
    dask_address: DaskAddressOption = None,
    event_time: Annotated[
        bool,
        typer.Option(
            "--event-time",
            help="Cut records by their event dates alone, whenever they became known (for debugging: features "
            "then see records exported after the as-of date).",
        ),
    ] = False,
) -> None:
    """Point-in-time indicator features for every employer, recruiter, desk, border post and inspector."""
    from data_contracts.lake import LakeBusy

    day = _as_of(as_of)
    home = _lake_home()
    from features.registry import ENTITY_TYPES
    from flows.features import features_dir, features_flow

    started = time.perf_counter()
    with _task_runner(runner, dask_address) as (task_runner, workers):
        run = features_flow if task_runner is None else features_flow.with_options(task_runner=task_runner)
        try:  # on Dask: one task per group of entity types, as many groups as workers
            tables = run(home, day, ENTITY_TYPES, 1 if task_runner is None else max(2, workers), event_time)
        except LakeBusy as exc:
            raise _fail(str(exc)) from exc
    out = features_dir(home, day)
    table = Table(title=f"features as of {day} in {out}")
    for column in ("entity type", "entities", "indicators", "with >= 1 red flag", "most red flags"):
        table.add_column(column, justify="left" if column == "entity type" else "right")
    for entity, ft in tables.items():
        flags = ft.table.column("red_flags").to_pylist()
        n_ind = len([c for c in ft.table.column_names if "__" not in c and c not in ("entity_id", "red_flags")])
        table.add_row(
            entity,
            f"{ft.table.num_rows:,}",
            str(n_ind),
            f"{sum(1 for f in flags if f > 0):,}",
            str(max(flags, default=0)),
        )
    out_console = Console(width=160)
    out_console.print(table)
    out_console.print(f"built in {time.perf_counter() - started:.1f} s; cut-offs in {out / 'cutoffs.json'}")


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


def _evidence(min_train: int | None, min_fold: int | None) -> Any:
    from models.train import MIN_FOLD_POSITIVES, MIN_TRAIN_POSITIVES, Evidence

    return Evidence(
        MIN_TRAIN_POSITIVES if min_train is None else min_train, MIN_FOLD_POSITIVES if min_fold is None else min_fold
    )


@app.command()
def train(
    as_of: Annotated[str, typer.Option("--as-of", help="Train with what was known on this day (ISO date).")],
    distributed: Annotated[
        bool, typer.Option("--distributed", help="Train LightGBM data-parallel on a Dask cluster (lightgbm.dask).")
    ] = False,
    dask_address: DaskAddressOption = None,
    min_train_positives: MinTrainOption = None,
    min_fold_positives: MinFoldOption = None,
) -> None:
    """Train one calibrated LightGBM model per entity type (point-in-time features and labels) and put it through
    the gate; a type whose evidence is too thin, or whose model does not beat the red-flag count, is served by the
    count."""
    day = _as_of(as_of)
    home = _lake_home()
    from features.registry import ENTITY_TYPES
    from flows.models import train_flow

    evidence = _evidence(min_train_positives, min_fold_positives)
    if dask_address and not distributed:
        raise _fail("--dask-address needs --distributed")
    if distributed:
        from flows.runners import dask_cluster

        with dask_cluster(dask_address) as address:
            results = train_flow(home, day, ENTITY_TYPES, address, evidence)
    else:
        results = train_flow(home, day, ENTITY_TYPES, evidence=evidence)
    table = Table(title=f"models trained as of {day}")
    for column in ("entity", "model", "served", "gate"):
        table.add_column(column)
    for entity, r in results.items():
        verdict = "[green]champion[/]" if r.promoted else "[yellow]not promoted[/]"
        table.add_row(entity, r.model_id or "-", r.served, f"{verdict}: {r.reason}")
    Console(width=200).print(table)


@app.command()
def evaluate(
    as_of: Annotated[str, typer.Option("--as-of", help="Rank entities as of this day; labels come after it.")],
    truth: Annotated[Path | None, typer.Option(help="Simulator world folder: also measure against its truth.")] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the metrics as JSON to this file.")] = None,
    min_train_positives: MinTrainOption = None,
    min_fold_positives: MinFoldOption = None,
) -> None:
    """Backtest on new positives: the served ranking, the latest model, the red-flag count and random."""
    import json

    day = _as_of(as_of)
    home = _lake_home()
    from flows.models import evaluate_flow

    result = evaluate_flow(home, day, truth, evidence=_evidence(min_train_positives, min_fold_positives))
    table = Table(title=f"evaluation as of {day} (k = top 5%)")
    for column in ("entity", "ranking", "precision@k", "lift@k", "truth precision@k", "truth lift@k", "AP", "ECE"):
        table.add_column(column)

    def fmt(v: object) -> str:
        return "-" if v is None or v != v else f"{float(v):.3f}"  # type: ignore[arg-type]

    for entity, res in result.items():
        if "error" in res:
            table.add_row(entity, res["error"], *["-"] * 6)
            continue
        for ranking in ("served_ranking", "model", "rule", "random"):
            m = res.get(ranking)
            if not m:
                continue
            table.add_row(
                entity,
                f"served: {res['served']}" if ranking == "served_ranking" else ranking,
                fmt(m["precision_at_k"]),
                fmt(m.get("lift_at_k")),  # none for a type with no entities
                fmt(m["truth_precision_at_k"]),
                fmt(m["truth_lift_at_k"]),
                fmt(m["average_precision"]),
                fmt(m.get("ece")),
            )
    Console(width=160).print(table)
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")


@app.command()
def score(
    as_of: Annotated[str, typer.Option("--as-of", help="Score with features from records dated before this day.")],
    runner: RunnerOption = "local",
    dask_address: DaskAddressOption = None,
    allow_rule_baseline: Annotated[
        bool,
        typer.Option(
            "--allow-rule-baseline",
            help="Publish the red-flag count for a type whose champion and earlier promoted models all fail to "
            "load (without it, scoring stops with exit code 1 and publishes nothing).",
        ),
    ] = False,
) -> None:
    """Score every entity with its type's champion model and publish to the serving store, all-or-nothing."""
    day = _as_of(as_of)
    home = _lake_home()
    from features.registry import ENTITY_TYPES
    from flows.models import PublishFailed, score_flow
    from models.champion import NoUsableModel
    from service.logs import redact_url
    from service.store import store_url

    with _task_runner(runner, dask_address) as (task_runner, workers):
        flow_run = score_flow if task_runner is None else score_flow.with_options(task_runner=task_runner)
        try:  # on Dask: every entity type in as many entity-id hash partitions as workers
            partitions = 1 if task_runner is None else max(2, workers)
            run = flow_run(home, day, ENTITY_TYPES, partitions, allow_rule_baseline)
        except (PublishFailed, NoUsableModel) as exc:
            raise _fail(str(exc), 1) from exc
    table = Table(title=f"score run {run.run_id} published to {redact_url(store_url(home))}")
    for column in ("entity", "model", "entities", "high band"):
        table.add_column(column)
    for t in run.per_type:
        table.add_row(t["entity"], t["model"], f"{t['entities']:,}", f"{t['high band']:,}")
    Console(width=200).print(table)


PIPELINE_SOURCES = ("synthetic", "us-dol")


@app.command()
def pipeline(
    scale: Annotated[str, typer.Option(help=f"World size: {', '.join(EMPLOYERS_PER_SCALE)}.")] = "small",
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
        typer.Option("--as-of", help="With --source us-dol: train, evaluate from and publish scores as of this day."),
    ] = None,
) -> None:
    """The whole chain: simulate (synthetic) or read a source folder, ingest, features, train, evaluate, score,
    publish."""
    from data_contracts.lake import LakeBusy, tracerisk_home

    if source not in PIPELINE_SOURCES:
        raise _fail(f"unknown source {source!r}; choose one of: {', '.join(PIPELINE_SOURCES)}")
    if source != "synthetic":
        if data_dir is None or as_of is None:
            raise _fail(f"--source {source} needs --data-dir and --as-of")
        if runner != "local" or dask_address:
            raise _fail(f"--source {source} runs in process (--runner local)")
        _source_pipeline(source, data_dir, _as_of(as_of), _evidence(min_train_positives, min_fold_positives))
        return
    if data_dir is not None or as_of is not None:
        raise _fail(
            "--data-dir and --as-of are for a source folder (--source us-dol); the synthetic chain "
            "derives its dates from the simulated window"
        )
    if scale not in EMPLOYERS_PER_SCALE:
        raise _fail(f"unknown scale {scale!r}; choose one of: {', '.join(EMPLOYERS_PER_SCALE)}")
    if seed < 0:
        raise _fail("--seed must be a non-negative integer")
    home = tracerisk_home()
    from flows.pipeline import pipeline_flow

    started = time.perf_counter()
    with _task_runner(runner, dask_address) as (task_runner, workers), _progress("pipeline") as bar:
        bar.add_task(f"{scale} world, seed {seed} under {home}", total=None)
        try:
            result = pipeline_flow(
                home, scale, seed, task_runner, workers, _evidence(min_train_positives, min_fold_positives)
            )
        except LakeBusy as exc:
            raise _fail(str(exc)) from exc
    out = Console(width=200)
    table = Table(title="rolling-origin backtest on new positives (truth = the simulator's planted risk, k = top 5%)")
    columns = ("origin", "entity", "served", "served truth p@k", "model truth p@k", "count truth p@k")
    for column in (*columns, "random truth p@k", "served p@k", "new positives"):
        table.add_column(column)

    def fmt(v: object) -> str:
        return "-" if v is None or v != v else f"{float(v):.3f}"  # type: ignore[arg-type]

    for origin, evaluation in result.rolling.items():
        for entity, res in evaluation.items():
            if "rule" in res:
                table.add_row(
                    origin,
                    entity,
                    str(res["served"]),
                    fmt(res["served_ranking"]["truth_precision_at_k"]),
                    fmt((res["model"] or {}).get("truth_precision_at_k")),
                    fmt(res["rule"]["truth_precision_at_k"]),
                    fmt(res["random"]["truth_precision_at_k"]),
                    fmt(res["served_ranking"]["precision_at_k"]),
                    str(res["positives"].get("eval_new")),
                )
    out.print(table)
    for entity, r in result.serving_models.items():
        out.print(f"{entity}: served by {r.served}, model {r.model_id or '-'} ({r.reason})")
    out.print(
        f"ingested {result.ingested_rows:,} rows ({result.quarantined_rows:,} quarantined); published "
        f"{result.published_rows:,} scores as of {result.dates.serving} (run {result.run_id}) in "
        f"{time.perf_counter() - started:.0f} s"
    )
    out.print(f"evaluation: {result.evaluation_path}\nreport: {result.report_path}")


def _source_pipeline(source: str, data_dir: Path, day: date, evidence: Any) -> None:
    """``tracerisk pipeline --source us-dol``: the chain over a folder of real records, evaluated without truth."""
    from data_contracts.lake import LakeBusy, tracerisk_home
    from data_contracts.pseudonymise import PseudonymKeyError
    from data_contracts.sources import SourceError
    from service.logs import redact_url

    if not data_dir.is_dir():
        raise _fail(f"--data-dir {data_dir} is not a folder")
    home = tracerisk_home()
    from flows.pipeline import source_pipeline_flow

    started = time.perf_counter()
    with _progress("pipeline") as bar:
        bar.add_task(f"{source} records of {data_dir} as of {day} under {home}", total=None)
        try:
            result = source_pipeline_flow(home, data_dir, source, day, evidence)
        except (LakeBusy, SourceError, PseudonymKeyError) as exc:
            raise _fail(str(exc)) from exc
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

    def fmt(v: object) -> str:
        return "-" if v is None or v != v else f"{float(v):.3f}"  # type: ignore[arg-type]

    def with_ci(m: dict[str, Any], key: str) -> str:
        ci = m.get(f"{key}_ci95") or [None, None]
        return f"{fmt(m.get(key))} [{fmt(ci[0])}, {fmt(ci[1])}]"

    for origin, evaluation in result.rolling.items():
        for entity, res in evaluation.items():
            if "rule" not in res or not res["rule"].get("n"):
                continue  # a type the source has no entities of
            paired = (res.get("paired") or {}).get("served_vs_rule") or {}
            shares = " / ".join(
                fmt((paired.get(m) or {}).get("higher_share")) for m in ("precision_at_k", "average_precision")
            )
            table.add_row(
                origin,
                entity,
                str(res["served"]),
                str(res["positives"].get("eval_new")),
                with_ci(res["served_ranking"], "precision_at_k"),
                fmt((res["model"] or {}).get("precision_at_k")),
                fmt(res["rule"]["precision_at_k"]),
                fmt(res["random"]["precision_at_k"]),
                with_ci(res["served_ranking"], "average_precision"),
                fmt((res["model"] or {}).get("average_precision")),
                fmt(res["rule"]["average_precision"]),
                fmt(res["random"]["average_precision"]),
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


@app.command()
def schedule(
    landing: Annotated[Path, typer.Option(help="Landing-zone folder the nightly run ingests new files from.")],
    file_format: Annotated[str, typer.Option("--format", help="Landing-zone format: csv or synthetic.")] = "csv",
) -> None:
    """Serve the Prefect deployments: nightly ingest + features + scoring, monthly retraining through the gate."""
    from data_contracts.lake import tracerisk_home

    if file_format not in ("csv", "synthetic"):
        raise _fail(f"unknown format {file_format!r}; choose csv or synthetic")
    if not landing.is_dir():
        raise _fail(f"--landing {landing} is not a folder")
    from flows.schedule import MONTHLY_CRON, NIGHTLY_CRON, serve_schedules

    home = tracerisk_home()
    console.print(
        f"serving tracerisk-nightly ({NIGHTLY_CRON}) and tracerisk-monthly-retrain ({MONTHLY_CRON}) over {home}; "
        "runs show in the Prefect UI (`prefect server start`); Ctrl-C stops"
    )
    serve_schedules(home, landing, file_format)


def _register_service_commands() -> None:
    from flows.us_dol import register as register_us_dol
    from service.cli import register

    register(app)
    register_us_dol(app)


_register_service_commands()


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
