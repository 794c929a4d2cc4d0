"""The ``tracerisk`` command line (the stable contract of ../shared/DESIGN.md)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Annotated

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
console = Console(stderr=True)


@app.callback()
def _root() -> None:
    """tracerisk: explainable trafficking and corruption risk scores for organisations and official desks."""


def _fail(message: str, code: int = 2) -> typer.Exit:
    console.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


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
    with Progress(
        TextColumn("[bold]simulate[/] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=not sys.stderr.isatty(),
    ) as bar:
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


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
