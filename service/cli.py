"""Service commands of the ``tracerisk`` CLI (serve, users, audit): registered on the main app by flows/cli.py."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from service.settings import Settings

ROLE_HELP = "labour_inspectorate, supply_chain_auditor, visa_unit, anti_corruption or admin"
ANCHORS_HELP = "anchor file (default TRACERISK_AUDIT_ANCHOR_FILE or $TRACERISK_HOME/audit-anchors.jsonl)"


def _settings() -> Settings:
    from service.settings import InsecureSettings, Settings

    try:
        return Settings().check()
    except InsecureSettings as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc


def _engine() -> Engine:
    from store.engine import connect

    return connect(_settings().resolved_store_url())


users_app = typer.Typer(help="Service users and their bearer tokens.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
store_app = typer.Typer(help="The serving store.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add ``serve``, ``users add|revoke|list``, ``audit verify|anchor|seal`` and ``store prune`` to ``app``."""
    app.add_typer(users_app, name="users")
    app.add_typer(audit_app, name="audit")
    app.add_typer(store_app, name="store")
    app.command()(serve)


@store_app.command("prune")
def store_prune(
    keep: Annotated[int, typer.Option(min=1, help="score runs to keep, newest first (published ones always stay)")],
) -> None:
    """Remove old score runs and their rows; the audit log, users, outcomes and models are left as they are."""
    from store.publish import prune_runs

    result = prune_runs(_engine(), keep)
    typer.echo(f"kept {len(result.kept)} score runs; removed {len(result.removed)} with {result.rows} score rows")
    for run_id in result.removed:
        typer.echo(f"removed {run_id}")


def serve(
    host: Annotated[str | None, typer.Option(help="address (default TRACERISK_HOST or 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="port (default TRACERISK_PORT or 8000)")] = None,
    workers: Annotated[int, typer.Option(min=1, help="uvicorn worker processes")] = 1,
) -> None:
    """Serve the API (/v1, OpenAPI at /docs) and the dashboard (/) over the published scores."""
    import uvicorn

    from service.logs import LOG_CONFIG

    settings = _settings()
    if settings.store_url is None and not Path(settings.home).is_dir():
        typer.echo(
            f"error: no home at {settings.home}, so no published scores to serve: run `tracerisk pipeline` (or "
            "`tracerisk score`) first, or point TRACERISK_HOME at the home that holds serving.db",
            err=True,
        )
        raise typer.Exit(2)
    from service.core import AuditChainBroken, Service

    try:  # the same check the app's start runs (per worker); here it gives a clean message and exit code
        Service(settings).check_audit_chain()
    except AuditChainBroken as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    for warning in settings.development_warnings():
        typer.echo(f"WARNING: {warning}", err=True)
    if workers > 1:
        uvicorn.run(
            "service.main:app",
            host=host or settings.host,
            port=port or settings.port,
            workers=workers,
            log_level="info",
            access_log=False,  # the service writes its own access line (service/logs.py)
            log_config=LOG_CONFIG,
            server_header=False,
        )
        return
    from service.api import create_app

    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        access_log=False,
        log_config=LOG_CONFIG,
        server_header=False,
    )


@users_app.command("add")
def users_add(
    name: str,
    role: Annotated[str, typer.Option(help=ROLE_HELP)],
    jurisdiction: Annotated[
        list[str] | None, typer.Option(help="a country, region or post id (repeat the option for more)")
    ] = None,
    portfolio: Annotated[
        Path | None,
        typer.Option(
            help="supplier portfolio, one id per line: buyer ids (their supply-chain portfolio, its suppliers of "
            "both tiers and their recruiters) and employer ids (those employers and the recruiters they use)"
        ),
    ] = None,
    expires_in_days: Annotated[
        int | None, typer.Option(min=0, help="token lifetime in days (default TRACERISK_TOKEN_TTL_DAYS; 0: never)")
    ] = None,
) -> None:
    """Create a user; prints its token once, as the last word of the last line."""
    from datetime import timedelta

    from service.auth import UserError, add_user

    ids: tuple[str, ...] = ()
    if portfolio is not None:
        try:
            ids = read_portfolio(portfolio)
        except OSError as exc:
            typer.echo(f"error: cannot read portfolio {portfolio}: {exc.strerror}", err=True)
            raise typer.Exit(2) from exc
    from service.queries import unpublished_scope_values

    try:
        settings = _settings()
        days = settings.token_ttl_days if expires_in_days is None else expires_in_days
        ttl = timedelta(days=days) if days else None
        engine = _engine()
        token = add_user(engine, settings.secret, name, role, tuple(jurisdiction or ()), ids, ttl)
    except UserError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    with engine.connect() as conn:
        for value in unpublished_scope_values(conn, [*(jurisdiction or ()), *ids]):
            typer.echo(
                f"warning: {value!r} names no country, region, post, employer or buyer of the published scores: "
                f"check its spelling; {name} sees nothing through it until a published run does",
                err=True,
            )
    typer.echo(f"user {name} ({role}) created; keep this token, it is shown only once:")
    typer.echo(f"token: {token}")


@users_app.command("demo")
def users_demo() -> None:
    """One demo user per role, scoped to the busiest regions and posts of what is published; prints each
    token (the last word of each line)."""
    from service.demo import create_demo_users

    for name, role, scope, token in create_demo_users(_engine(), _settings().secret):
        typer.echo(f"{name}\t{role}\tscope: {scope}\ttoken: {token}")


@users_app.command("revoke")
def users_revoke(name: str) -> None:
    """Revoke a user's token (the user row stays for the audit trail)."""
    from service.auth import UserError, revoke_user

    try:
        revoke_user(_engine(), name)
    except UserError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"user {name} revoked")


@users_app.command("list")
def users_list() -> None:
    """Users, roles, jurisdictions (never tokens)."""
    import json

    import sqlalchemy as sa

    from store.tables import users as users_table

    with _engine().connect() as conn:
        for r in conn.execute(sa.select(users_table).order_by(users_table.c.created_at)):
            state = f"revoked {r.revoked_at}" if r.revoked_at else "active"
            scope = ", ".join(json.loads(r.jurisdictions)) or "-"
            typer.echo(f"{r.name}\t{r.role}\t{scope}\t{len(json.loads(r.portfolio))} in portfolio\t{state}")


@audit_app.command("verify")
def audit_verify(anchors: Annotated[Path | None, typer.Option(help=ANCHORS_HELP)] = None) -> None:
    """Check the audit log's hash chain, its sealed head and every anchor of the anchor file; exits 1 when an
    entry was edited or deleted, the head moved, or an anchored entry is gone or differs."""
    from service.audit import read_anchors, verify
    from service.settings import BUILTIN_SECRET_WARNING

    settings = _settings()
    path = anchors or settings.audit_anchor_path
    found, unreadable = read_anchors(path)
    result = verify(_engine(), settings.secret, found)
    problems = unreadable + result.problems
    for problem in problems:
        typer.echo(f"problem: {problem}")
    typer.echo(f"anchors: {len(found)} from {path}" if found else f"anchors: none in {path}")
    for warning in result.warnings + ([BUILTIN_SECRET_WARNING] if settings.builtin_secret else []):
        typer.echo(f"warning: {warning}")
    if problems:
        typer.echo(f"audit log BROKEN: {len(problems)} problem(s) in {result.entries} entries")
        raise typer.Exit(1)
    typer.echo(f"audit log intact: {result.entries} entries")


@audit_app.command("anchor")
def audit_anchor(anchors: Annotated[Path | None, typer.Option(help=ANCHORS_HELP)] = None) -> None:
    """Append the newest entry (sequence number, hash, seal) to the anchor file now; copy that file where the
    database's users cannot write (the service also takes one every TRACERISK_AUDIT_ANCHOR_INTERVAL_S)."""
    from service.audit import take_anchor

    settings = _settings()
    path = anchors or settings.audit_anchor_path
    anchor = take_anchor(_engine(), settings.secret, path)
    typer.echo(f"anchor: {anchor.line()} -> {path}" if anchor else "the audit log is empty: no anchor")


@audit_app.command("seal")
def audit_seal(anchors: Annotated[Path | None, typer.Option(help=ANCHORS_HELP)] = None) -> None:
    """Seal the head of a log written before heads were sealed, after checking the chain and the anchor file
    (exits 1 on any other problem). An unsealed head looks the same as one moved back after deleting the newest
    entries: seal only a log known not to have been shortened."""
    from service.audit import read_anchors, seal_head, verify

    settings = _settings()
    engine = _engine()
    found, unreadable = read_anchors(anchors or settings.audit_anchor_path)
    problems = unreadable + verify(engine, settings.secret, found).problems
    others = [p for p in problems if "carries no seal" not in p]
    for problem in others:
        typer.echo(f"problem: {problem}")
    if others:
        typer.echo("not sealed: the chain has other problems")
        raise typer.Exit(1)
    seal_head(engine, settings.secret)
    typer.echo("audit head sealed")


def read_portfolio(path: Path) -> tuple[str, ...]:
    """Employer ids, one per line (a CSV's first column; a header line 'employer_id' or 'id' is skipped)."""
    ids = []
    for line in path.read_text(encoding="utf-8").splitlines():
        value = line.split(",", 1)[0].strip().strip('"')
        if value and not value.startswith("#") and value.lower() not in ("employer_id", "id", "registration_no"):
            ids.append(value)
    return tuple(ids)
