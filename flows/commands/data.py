"""``tracerisk simulate``, ``ingest`` and ``features``: from a world or a folder of files to the lake and its
point-in-time features."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from data_contracts.home import Home
from flows.commands.common import (
    DaskAddressOption,
    RunnerOption,
    ScaleOption,
    as_of_option,
    console,
    fail,
    json_file_option,
    lake_as_of,
    on_runner,
    open_task_runner,
    progress_bar,
    run_per_entity_type,
)
from simulator.config import EMPLOYERS_PER_SCALE, ConfigError, load_config


def simulate(
    scale: ScaleOption = "small",
    seed: Annotated[int, typer.Option(help="Random seed; the same seed and config give identical files.")] = 0,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Output folder for the agency exports, the hidden planted truth and a manifest "
            "(default: $TRACERISK_HOME/world).",
            show_default=False,
        ),
    ] = None,
    config: Annotated[Path | None, typer.Option(help="TOML file overriding simulator knobs.")] = None,
    file_format: Annotated[str, typer.Option("--format", help="Export file format: parquet or csv.")] = "parquet",
    workers: Annotated[int, typer.Option(help="Worker processes (output does not depend on it).")] = min(
        2, os.cpu_count() or 1
    ),
) -> None:
    """Write a synthetic world: agency exports plus the hidden truth in a separate folder."""
    from simulator.world import simulate_world

    if scale not in EMPLOYERS_PER_SCALE:
        raise fail(f"unknown scale {scale!r}; choose one of: {', '.join(EMPLOYERS_PER_SCALE)}")
    if file_format not in ("parquet", "csv"):
        raise fail(f"unknown format {file_format!r}; choose parquet or csv")
    if seed < 0:
        raise fail("--seed must be a non-negative integer")
    if workers < 1:
        raise fail("--workers must be at least 1")
    out = out or Home.from_env().world
    try:
        cfg = load_config(config)
    except ConfigError as exc:
        raise fail(str(exc)) from exc
    started = time.perf_counter()
    with progress_bar("simulate") as bar:
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
    json_path: Annotated[Path | None, json_file_option("summary")] = None,
    gx_sample_rows: Annotated[
        int, typer.Option(help="Rows per batch validated by Great Expectations for the Data Docs (0: off).")
    ] = 2_000,
    runner: RunnerOption = "local",
    dask_address: DaskAddressOption = None,
) -> None:
    """Validate every file against its data contract; accepted rows to the lake, the rest to quarantine."""
    import json

    from data_contracts.lake import LakeBusy
    from data_contracts.pseudonymise import PseudonymKeyError
    from data_contracts.sources import SourceError

    if file_format not in ("synthetic", "csv", "us-dol"):
        raise fail(f"unknown format {file_format!r}; choose synthetic, csv or us-dol")
    if gx_sample_rows < 0:
        raise fail("--gx-sample-rows must be 0 or more")
    if not source.is_dir():
        raise fail(f"--source {source} is not a folder")
    home = Home.from_env().root
    from flows.ingest import PREFETCH, ingest_flow
    from flows.runners import LocalCallback

    with open_task_runner(runner, dask_address) as (task_runner, workers), progress_bar("ingest") as bar:
        task = bar.add_task(str(source), total=None)

        def progress(done: int, total: int, name: str) -> None:
            bar.update(task, completed=done, total=total, description=name)

        run = on_runner(ingest_flow, task_runner)
        try:
            callback = progress if task_runner is None else LocalCallback(progress)
            reports, docs = run(source, file_format, home, mapping, gx_sample_rows, callback, max(PREFETCH, workers))
        except (SourceError, PseudonymKeyError, LakeBusy) as exc:
            raise fail(str(exc)) from exc
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


def features(
    as_of: Annotated[str, as_of_option("Build features from records dated and known before this day (ISO).")],
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

    home, day = lake_as_of(as_of)
    from features.stored import features_dir
    from flows.features import features_flow

    started = time.perf_counter()
    # on Dask: one task per group of entity types, as many groups as workers
    tables = run_per_entity_type(features_flow, runner, dask_address, home, day, event_time, (LakeBusy,))
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


COMMANDS = (simulate, ingest, features)  # in the order ``tracerisk --help`` lists them
