"""``python -m benchmarks run --scale {small,medium,large} [--only NAME ...] --json FILE``.

Runs each benchmark as a user would run the command, prints one table and writes the JSON
``{"rows": [{"name", "figure", "unit", "compared_with", "comparison_figure", "ratio"}],
"machine", "versions"}``.
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

from benchmarks.suite import BENCHMARKS, machine_facts, stamp, versions

cli = typer.Typer(add_completion=False, no_args_is_help=True)


@cli.callback()
def _root() -> None:
    """tracerisk benchmarks: every figure measured in the run that prints it."""


@cli.command()
def run(
    scale: Annotated[str, typer.Option(help="World scale: small, medium or large.")] = "small",
    only: Annotated[list[str] | None, typer.Option(help=f"Run only these: {', '.join(BENCHMARKS)}.")] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the rows as JSON here.")] = None,
    workdir: Annotated[Path | None, typer.Option(help="Scratch folder (default: a temporary one).")] = None,
) -> None:
    """Run the benchmarks and print one table of figures, comparisons and ratios."""
    if scale not in ("tiny", "small", "medium", "large"):
        raise typer.BadParameter(f"unknown scale {scale!r}", param_hint="--scale")
    names = only or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        raise typer.BadParameter(f"unknown benchmark(s) {unknown}; known: {list(BENCHMARKS)}", param_hint="--only")
    rows = []
    with tempfile.TemporaryDirectory(dir=workdir) as scratch:
        for name in names:
            rows.extend(BENCHMARKS[name](scale, Path(scratch)))
    rows = stamp(rows, scale)
    table = Table(title=f"tracerisk benchmarks, scale {scale}")
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
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(
            json.dumps({"rows": rows, "machine": machine_facts(), "versions": versions()}, indent=2) + "\n"
        )


if __name__ == "__main__":
    sys.exit(cli())
