"""The ``tracerisk us-dol`` commands (US Department of Labor H-2A / H-2B source): registered by flows/cli.py."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from data_contracts.home import Home
from flows.commands.common import as_of_option, fail, json_file_option, progress_bar

if TYPE_CHECKING:
    from data_contracts.contracts import OrganisationType

us_dol_app = typer.Typer(
    help="US Department of Labor H-2A / H-2B public records through the lake: ingest, score employers or agents, "
    "backtest, list foreign recruiters.",
    no_args_is_help=True,
)
T = TypeVar("T")
# How `us-dol score` appears in the audit log: the role of a command-line user, and what was done.
EXPORT_ROLE = "operator"
EXPORT_ACTION = "scores.exported"
BACKTEST_AS_OF = "2013-01-01"  # `us-dol backtest`'s day without --as-of or --origins
Progress = Callable[[int, int, str], None]
DataDir = Annotated[Path, typer.Option(help="The folder of the public data (../shared/data: its README.txt).")]


def _date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise fail(f"{option} {value!r} is not a date (YYYY-MM-DD)") from exc


def _entity(value: str) -> OrganisationType:
    if value == "employer":
        return "employer"
    if value == "recruiter":
        return "recruiter"
    raise fail(f"--entity {value!r}: choose employer or recruiter")


def _home() -> Path:
    return Home.from_env().root


def _with_progress(title: str, run: Callable[[Progress], T]) -> T:
    """``run(progress)`` under a progress bar; a data folder that lacks a declared file or column exits 2."""
    from data_contracts.sources.country_tables import DolDataError

    with progress_bar(title) as bar:
        task = bar.add_task("parse", total=None)
        try:
            return run(lambda d, t, n: bar.update(task, completed=d, total=t, description=n))
        except DolDataError as exc:
            raise fail(str(exc)) from exc


def _check_dir(data_dir: Path) -> None:
    if not (data_dir / "oflc_h2_disclosure").is_dir():
        raise fail(f"--data-dir {data_dir} holds no oflc_h2_disclosure folder (expected ../shared/data)")


@us_dol_app.command()
def ingest(
    data_dir: DataDir,
    great_expectations: Annotated[
        bool,
        typer.Option(
            "--gx/--no-gx",
            help="Also validate a sample of each new file's accepted rows with Great Expectations (Data Docs).",
        ),
    ] = True,
) -> None:
    """The DOL files into the lake, each through its record contract (tracerisk ingest --format us-dol): a file
    already in the lake adds nothing, a file that cannot be read is named with its reason and the others go in."""
    from data_contracts.lake import LakeBusy
    from data_contracts.sources import SourceError
    from flows.ingest import PREFETCH, ingest_flow

    _check_dir(data_dir)
    started = time.perf_counter()
    with progress_bar("us-dol ingest") as bar:
        task = bar.add_task(str(data_dir), total=None)
        try:
            reports, docs = ingest_flow(
                data_dir,
                "us-dol",
                _home(),
                None,
                2_000 if great_expectations else 0,
                lambda d, t, n: bar.update(task, completed=d, total=t, description=n),
                PREFETCH,
            )
        except (LakeBusy, SourceError) as exc:
            raise fail(str(exc)) from exc
    console = Console(width=200)
    committed = [r for r in reports if r.status == "committed"]
    unusable = [r for r in reports if r.status == "unusable"]
    console.print(
        f"{len(committed)} files ingested ({sum(r.accepted for r in committed):,} rows accepted, "
        f"{sum(r.quarantined for r in committed):,} quarantined), "
        f"{sum(r.status == 'already_ingested' for r in reports)} already in the lake, {len(unusable)} unusable, "
        f"in {time.perf_counter() - started:.1f} s; lake {_home()}" + (f"; Data Docs {docs}" if docs else "")
    )
    for r in unusable:
        console.print(f"[bold red]unusable file:[/] {r.file}: {r.error}")
    if unusable:
        raise typer.Exit(1)


def _audit_export(kind: str, run_id: str | None, day: date, out: Path, rows: int) -> None:
    """An export of published scores is a view of every score in it: one entry in the service's hash-chained audit
    log (as a worklist read writes one), committed before the file is written. The actor is the operating-system
    user running the command, with the role ``operator``."""
    import getpass

    from service.audit import append_in
    from service.settings import InsecureSettings, Settings
    from store.engine import connect

    try:
        settings = Settings().check()
    except InsecureSettings as exc:
        raise fail(str(exc)) from exc
    detail = {"run_id": run_id, "as_of": day.isoformat(), "rows": rows, "file": out.name}
    engine = connect(settings.resolved_store_url())
    try:
        with engine.begin() as conn:
            append_in(conn, settings.secret, getpass.getuser(), EXPORT_ROLE, EXPORT_ACTION, kind, None, detail)
    finally:
        engine.dispose()


@us_dol_app.command()
def score(
    data_dir: DataDir,
    as_of: Annotated[str, as_of_option("Use filings decided and debarments started before this day.")],
    out: Annotated[
        Path,
        typer.Option(
            help="CSV: employer_name, employer_state (with --entity recruiter: recruiter_name, recruiter_state), "
            "score (the served ranking's), rank, reasons, served."
        ),
    ],
    entity: Annotated[str, typer.Option(help="employer (the filer) or recruiter (agent / attorney / law firm).")] = (
        "employer"
    ),
) -> None:
    """The published run as of --as-of, as a CSV of the DOL employers (or agents): the files go into the lake
    first (files already there add nothing); without a run scored as of that day on the lake as it stands, train
    through the gate, score and publish one (tracerisk train + tracerisk score), which the service then serves."""
    from data_contracts.lake import LakeBusy
    from data_contracts.sources import SourceError
    from flows.us_dol_flow import us_dol_score_flow
    from models.us_dol import served_scores_csv

    day = _date(as_of, "--as-of")
    kind = _entity(entity)
    _check_dir(data_dir)
    started = time.perf_counter()
    with progress_bar("us-dol") as bar:
        task = bar.add_task("ingest", total=None)
        try:
            view = us_dol_score_flow(
                data_dir,
                _home(),
                day,
                kind,
                lambda d, t, n: bar.update(task, completed=d, total=t, description=n),
            )
        except (LakeBusy, SourceError) as exc:
            raise fail(str(exc)) from exc
    table = served_scores_csv(view.rows, kind)
    _audit_export(kind, view.run_id, day, out, len(table))
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out, index=False, float_format="%.6f")
    console = Console(width=200)
    for line in view.unusable_files:
        console.print(f"[bold red]unusable file:[/] {line}")
    console.print(
        f"lake: {view.new_rows:,} new rows from {data_dir}; "
        + (
            f"trained, scored and published run {view.run_id} as of {day}"
            if view.scored_now
            else f"read the published run {view.run_id} as of {day} (nothing new in the lake since)"
        )
    )
    console.print(f"served: {view.served} ({view.served_reason})")
    console.print(f"{len(table):,} {kind}s as of {day} in {time.perf_counter() - started:.1f} s -> {out}")
    top = Table(title="top 10")
    for column in ("rank", "name", "state", "score", "reasons"):
        top.add_column(column)
    name, state = table.columns[0], table.columns[1]
    for row in table.head(10).to_dict("records"):
        top.add_row(str(row["rank"]), str(row[name]), str(row[state]), f"{row['score']:.4f}", str(row["reasons"]))
    console.print(top)
    if view.unusable_files:
        raise typer.Exit(1)


@us_dol_app.command()
def recruiters(
    data_dir: DataDir,
    as_of: Annotated[str, as_of_option("Use Appendix C rows of periods ended before this day.")],
    out: Annotated[Path, typer.Option(help="CSV: recruiter_name, country, red_flags, rank, reasons, context, ...")],
) -> None:
    """Foreign recruiter organisations named on H-2B applications (Appendix C, FY2020 on), ranked by their red
    flags, with the context figures of their country of registration beside them (never part of the ranking);
    also writes reports/us-dol-recruiters.html."""
    from data_contracts.atomic import write_text_atomically as write_whole
    from flows.us_dol_flow import us_dol_recruiters_flow
    from models.report import render_us_dol_recruiters
    from models.us_dol import RECRUITER_COLUMNS, RECRUITER_FIGURES

    day = _date(as_of, "--as-of")
    _check_dir(data_dir)
    started = time.perf_counter()
    listing = _with_progress("us-dol", lambda progress: us_dol_recruiters_flow(data_dir, _home(), day, progress))
    table = listing.recruiters
    out.parent.mkdir(parents=True, exist_ok=True)
    table[[*RECRUITER_COLUMNS, *RECRUITER_FIGURES]].to_csv(out, index=False, float_format="%.4f")
    reports = Home(_home()).reports
    reports.mkdir(parents=True, exist_ok=True)
    write_whole(reports / "us-dol-recruiters.html", render_us_dol_recruiters(listing))
    console = Console(width=160)
    console.print(
        f"{len(table):,} foreign recruiter organisations named on H-2B applications known before {day} "
        f"({int((table['red_flags'] > 0).sum()):,} with a red flag; {int(table['us_agent'].sum())} also H-2 agents "
        f"or law firms, {int(table['flc_registered'].sum())} on the farm labour contractor register) in "
        f"{time.perf_counter() - started:.1f} s -> {out}; report {reports / 'us-dol-recruiters.html'}"
    )
    if not len(table):
        console.print("[yellow]no Appendix C rows before --as-of (the appendix starts with FY2020, known 2020-10-01)")


US_DOL_REPORTS = {
    "json": "us-dol-backtest.json",
    "html": "us-dol-model-report.html",
    "card": "us-dol-model-card.md",
}


def as_json(results: list[dict[str, Any]]) -> str:
    """The backtest results as JSON text (NumPy scalars as numbers)."""

    def plain(value: object) -> object:
        item = getattr(value, "item", None)
        return item() if callable(item) else str(value)

    return json.dumps(results, indent=2, default=plain) + "\n"


def write_reports(results: list[dict[str, Any]], home: Path) -> dict[str, Path]:
    """The backtest as $TRACERISK_HOME/reports/us-dol-backtest.json, the HTML report and the model card (each
    written whole or not at all); ``tracerisk evaluate`` adds the JSON's section to the model report."""
    from data_contracts.atomic import write_text_atomically as write_whole
    from models.report import render_us_dol_report, us_dol_model_card

    reports = Home(home).reports
    reports.mkdir(parents=True, exist_ok=True)
    paths = {kind: reports / name for kind, name in US_DOL_REPORTS.items()}
    write_whole(paths["json"], as_json(results))
    write_whole(paths["html"], render_us_dol_report(results))
    write_whole(paths["card"], us_dol_model_card(results))
    return paths


def read_backtest(home: Path) -> list[dict[str, Any]] | None:
    """The latest US DOL backtest written by ``tracerisk us-dol backtest``, if any."""
    path = Home(home).reports / US_DOL_REPORTS["json"]
    if not path.is_file():
        return None
    results: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return results


@us_dol_app.command("backtest")
def backtest_command(
    data_dir: DataDir,
    as_of: Annotated[
        str | None, as_of_option(f"Score with what was known before this day (default {BACKTEST_AS_OF}).")
    ] = None,
    labels_to: Annotated[str, typer.Option(help="Judge on debarments starting up to this day.")] = "2014-12-31",
    json_path: Annotated[Path | None, json_file_option("figures")] = None,
    markdown: Annotated[Path | None, typer.Option(help="Write the figures as a markdown report.")] = None,
    html: Annotated[Path | None, typer.Option(help="Also write the HTML report here.")] = None,
    origins: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated days (YYYY-MM-DD,...): one backtest per origin instead of --as-of, each judged "
            "on the new debarments of the two years after it (at most to --labels-to)."
        ),
    ] = None,
) -> None:
    """Backtest on the lake: at each day, train through the gate as of it (on a registry set aside: what serves is
    unchanged) and evaluate the served ranking (model or red-flag count), the latest model, the red-flag count and
    random on the later debarments, new positives only, with precision@100, bootstrap intervals and paired
    comparisons; writes reports/us-dol-backtest.json, us-dol-model-report.html, us-dol-model-card.md."""
    from flows.us_dol_flow import us_dol_backtest_flow
    from models.report import render_us_dol_report
    from models.us_dol import backtest_markdown, origin_summary, origins_markdown

    if as_of is not None and origins is not None:
        raise fail("give --as-of (one backtest) or --origins (one per day), not both")
    day, end = _date(as_of or BACKTEST_AS_OF, "--as-of"), _date(labels_to, "--labels-to")
    days = tuple(_date(d.strip(), "--origins") for d in origins.split(",") if d.strip()) if origins else ()
    if origins is not None and not days:
        raise fail("--origins names no day")
    if any(end < d for d in days or (day,)):
        raise fail("--labels-to is before --as-of" if not days else "--labels-to is before an origin")
    _check_dir(data_dir)
    results = _with_progress(
        "us-dol", lambda progress: us_dol_backtest_flow(data_dir, _home(), day, end, progress=progress, origins=days)
    )
    text = "\n".join(backtest_markdown(r) for r in results)
    console = Console(width=200)
    for r in results:
        console.print(
            f"{r['entity']}: {r['later_debarments']} debarments started {r['labels_from']}..{r['labels_to']}, "
            f"{r['later_debarments_linked_to_a_filer']} linked to an employer filing before {r['as_of']}"
        )
    console.print(text)
    summary = origins_markdown(sorted((origin_summary(r) for r in results), key=lambda r: (r["entity"], r["as_of"])))
    console.print(summary)
    text += "\n" + summary
    paths = write_reports(results, _home())
    console.print(f"reports: {', '.join(str(p) for p in paths.values())}")
    for path, body in ((json_path, as_json(results)), (html, render_us_dol_report(results))):
        if path:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(body, encoding="utf-8")
    if markdown:
        markdown.parent.mkdir(parents=True, exist_ok=True)
        markdown.write_text("# US DOL backtest\n\n" + text, encoding="utf-8")


def register(app: typer.Typer) -> None:
    """Add the ``us-dol`` command group to ``app``."""
    app.add_typer(us_dol_app, name="us-dol")
