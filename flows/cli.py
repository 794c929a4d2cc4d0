"""The ``tracerisk`` command line (the stable contract of ../shared/DESIGN.md); its command groups are in
flows/commands/."""

from __future__ import annotations

import typer

from flows.commands import data, models, pipeline, schedule

app = typer.Typer(
    name="tracerisk",
    help="Score trafficking and corruption risk of organisations and official desks, with reasons.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """tracerisk: explainable trafficking and corruption risk scores for organisations and official desks."""


def _register_commands() -> None:
    from flows.us_dol import register as register_us_dol
    from service.cli import register as register_service

    for group in (data, models, pipeline, schedule):
        for command in group.COMMANDS:
            app.command()(command)
    register_service(app)
    register_us_dol(app)


_register_commands()


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
