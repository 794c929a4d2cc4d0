"""``python -m benchmarks run --scale {small,medium,large} [--only NAME ...] --json FILE [--profile DIR]``.

Runs each benchmark as a user would run the command, prints one table and writes the JSON
``{"rows": [{"name", "figure", "unit", "compared_with", "comparison_figure", "ratio"}],
"machine", "versions"}`` (each row also gives its scale, machine, versions and benchmark).
``--profile DIR`` writes a pyinstrument profile per benchmark (benchmarks/profiling.py).
``python -m benchmarks check FILE [--scale S]`` checks such a file's shape and that no benchmark or row is
missing (benchmarks/check.py; CI's smoke test); it never looks at timings.
``python -m benchmarks table FILE`` prints such a file as the README's Markdown table, each target marked met or
missed (benchmarks/table.py).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from benchmarks.check import problems
from benchmarks.profiling import profiling
from benchmarks.suite import BENCHMARKS, ON_DEMAND, Row, machine_facts, stamp, versions
from benchmarks.table import markdown
from flows.commands.common import json_file_option

cli = typer.Typer(add_completion=False, no_args_is_help=True)


@cli.callback()
def _root() -> None:
    """tracerisk benchmarks: every figure measured in the run that prints it."""


@cli.command()
def run(
    scale: Annotated[str, typer.Option(help="World scale: small, medium or large.")] = "small",
    only: Annotated[
        list[str] | None,
        typer.Option(help=f"Run only these: {', '.join(BENCHMARKS)}; on demand only: {', '.join(ON_DEMAND)}."),
    ] = None,
    json_path: Annotated[Path | None, json_file_option("rows")] = None,
    workdir: Annotated[Path | None, typer.Option(help="Scratch folder (default: a temporary one).")] = None,
    profile: Annotated[
        Path | None,
        typer.Option(
            help="Write a pyinstrument profile (text + HTML) of each benchmark's commands to DIR/<benchmark>/; "
            "figures then include the profiler's overhead."
        ),
    ] = None,
) -> None:
    """Run the benchmarks and print one table of figures, comparisons and ratios."""
    if scale not in ("tiny", "small", "medium", "large"):
        raise typer.BadParameter(f"unknown scale {scale!r}", param_hint="--scale")
    known = {**BENCHMARKS, **ON_DEMAND}
    names = only or list(BENCHMARKS)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise typer.BadParameter(f"unknown benchmark(s) {unknown}; known: {list(known)}", param_hint="--only")
    rows: list[Row] = []
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=workdir) as scratch:
        for name in names:
            with profiling(profile / name if profile else None):
                rows.extend({**r, "benchmark": name} for r in known[name](scale, Path(scratch)))
            if json_path:  # after each benchmark, so a long run that fails later keeps what it measured
                _write(json_path, stamp(rows, scale))
    rows = stamp(rows, scale)
    title = f"tracerisk benchmarks, scale {scale}"
    table = Table(title=title + (f" (profiled with pyinstrument into {profile})" if profile else ""))
    for column in ("name", "figure", "unit", "compared with", "comparison", "ratio"):
        table.add_column(column, justify="right" if column in ("figure", "comparison", "ratio") else "left")
    for r in rows:
        table.add_row(
            r["name"],
            f"{r['figure']:,.2f}",
            r["unit"],
            r["compared_with"],
            f"{r['comparison_figure']:,.2f}",
            f"{r['ratio']:.2f}",
        )
    Console(width=160).print(table)
    Console(width=160).print(f"scale {scale}; {rows[0]['machine']}; {rows[0]['versions']}" if rows else "no rows")


def _write(json_path: Path, rows: list[Row]) -> None:
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(
        json.dumps({"rows": rows, "machine": machine_facts(), "versions": versions()}, indent=2) + "\n"
    )


@cli.command()
def check(
    json_path: Annotated[Path, typer.Argument(help="A file written by `run --json`.")],
    scale: Annotated[str | None, typer.Option(help="The scale every row must state.")] = None,
    only: Annotated[list[str] | None, typer.Option(help="Benchmarks that must have rows (default: all).")] = None,
) -> None:
    """Check a result file's shape and that every benchmark and row is there (timings are not checked)."""
    doc = json.loads(json_path.read_text(encoding="utf-8"))
    found = problems(doc, scale, only or list(BENCHMARKS))
    for p in found:
        print(f"{json_path}: {p}", file=sys.stderr)
    if found:
        raise typer.Exit(1)
    benchmarks = len({r["benchmark"] for r in doc["rows"]})
    print(f"{json_path}: {len(doc['rows'])} rows from {benchmarks} benchmarks, shape ok")


@cli.command()
def table(json_path: Annotated[Path, typer.Argument(help="A file written by `run --json`.")]) -> None:
    """Print a result file as the README's Markdown table, each target marked met or missed."""
    doc = json.loads(json_path.read_text(encoding="utf-8"))
    found = problems(doc, None, sorted({str(r.get("benchmark", "")) for r in doc.get("rows", [])}))
    if found:
        for p in found:
            print(f"{json_path}: {p}", file=sys.stderr)
        raise typer.Exit(1)
    rows = doc["rows"]
    print(f"Scale {rows[0]['scale']}; {rows[0]['machine']}; {rows[0]['versions']}.\n" if rows else "No rows.\n")
    print(markdown(doc), end="")


if __name__ == "__main__":
    sys.exit(cli())
