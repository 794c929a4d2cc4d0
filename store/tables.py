"""The serving store: what scoring published, declared once (SQLAlchemy Core; SQLite by default, PostgreSQL for
multi-user deployments via ``TRACERISK_STORE_URL``).

Scoring writes a score run in one transaction: its rows, its scope keys, the model registry entries, and the
``published`` pointers that say which run the service reads per entity type. A run that fails half-way rolls
back whole, so the previous run stays served (DESIGN: publishing is atomic). The service only reads the scores.

What the service itself writes while answering reads (the audit log and its head, outcomes, issued worklists) lives,
on SQLite, in a second database file next to the store (``service_database``), attached to every connection of the
store's engine under the schema name ``service``. SQLite has one write lock per database file, so a publish holding
the store's lock for its whole transaction never delays an audited read, a worklist's issuance or an outcome.
Statements name those tables without a schema: SQLite finds a table that is not in the main database in the attached
one. On PostgreSQL (row locks) every table stays in the one database.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.compiler import SQLCompiler

metadata = sa.MetaData()

score_runs = sa.Table(
    "score_runs",
    metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("as_of", sa.String(10), nullable=False),  # ISO date the features were built as of
    sa.Column("created_at", sa.String(32), nullable=False),  # ISO UTC timestamp
    sa.Column("entity_types", sa.Text, nullable=False),  # JSON list
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("model_ids", sa.Text, nullable=False),  # JSON {entity_type: model id or "rule-baseline"}
)

# Which run the service reads, per entity type: swapped inside the publishing transaction.
published = sa.Table(
    "published",
    metadata,
    sa.Column("entity_type", sa.String(32), primary_key=True),
    sa.Column("run_id", sa.String(64), sa.ForeignKey("score_runs.run_id"), nullable=False),
    sa.Column("published_at", sa.String(32), nullable=False),
)

scores = sa.Table(
    "scores",
    metadata,
    sa.Column("run_id", sa.String(64), sa.ForeignKey("score_runs.run_id"), primary_key=True),
    sa.Column("entity_type", sa.String(32), primary_key=True),
    sa.Column("entity_id", sa.String(200), primary_key=True),
    sa.Column("name", sa.String(300)),
    sa.Column("country", sa.String(100)),
    sa.Column("region", sa.String(100)),
    sa.Column("sector", sa.String(100)),
    sa.Column("probability", sa.Float, nullable=False),  # calibrated P(finding within the horizon)
    sa.Column("band", sa.String(16), nullable=False),  # models/scoring.py BANDS
    sa.Column("rank", sa.Integer, nullable=False),  # 1 = highest risk within the entity type
    sa.Column("rank_in_region", sa.Integer, nullable=False),  # within type and region (or country)
    sa.Column("red_flags", sa.Integer, nullable=False),  # rule-based count of indicators past threshold
    sa.Column("model_id", sa.String(120), nullable=False),
    sa.Column("as_of", sa.String(10), nullable=False),
    sa.Column("reasons", sa.Text, nullable=False),  # JSON list of reasons (shape: models/explain.py)
    sa.Column("base_value", sa.Float),  # SHAP base value (raw log-odds) for waterfall charts
    sa.Column("raw_score", sa.Float),  # model raw score (log-odds) = base value + contributions
    sa.Column("address", sa.String(500)),  # the organisation's own address as of as_of; NULL for desks (migration 0007)
)
sa.Index("scores_rank", scores.c.run_id, scores.c.entity_type, scores.c.rank)
sa.Index("scores_entity", scores.c.entity_type, scores.c.entity_id)

score_scope = sa.Table(
    "score_scope",
    metadata,
    sa.Column("run_id", sa.String(64), sa.ForeignKey("score_runs.run_id"), nullable=False),
    sa.Column("entity_type", sa.String(32), nullable=False),
    sa.Column("entity_id", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # features/profiles.py SCOPE_KINDS
    sa.Column("value", sa.String(200), nullable=False),
)
sa.Index("scope_lookup", score_scope.c.run_id, score_scope.c.entity_type, score_scope.c.kind, score_scope.c.value)
sa.Index("scope_entity", score_scope.c.run_id, score_scope.c.entity_type, score_scope.c.entity_id)

models = sa.Table(
    "models",
    metadata,
    sa.Column("model_id", sa.String(120), primary_key=True),
    sa.Column("entity_type", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # champion | challenger | retired
    sa.Column("trained_as_of", sa.String(10), nullable=False),
    sa.Column("strategy", sa.String(32), nullable=False),
    sa.Column("metrics", sa.Text, nullable=False),  # JSON: backtest metrics of model, rule, random
    sa.Column("gate", sa.Text, nullable=False),  # JSON: the champion/challenger decision and its reason
    sa.Column("card", sa.Text, nullable=False),  # model card, Markdown
    sa.Column("updated_at", sa.String(32), nullable=False),
)


# Supply-chain roll-up (models/rollup.py), published with the run that scored the employers: one row per buyer
# portfolio (supplier_id '') and per tier-1 supplier of it (migration 0004).
supply_rollup = sa.Table(
    "supply_rollup",
    metadata,
    sa.Column("run_id", sa.String(64), sa.ForeignKey("score_runs.run_id"), primary_key=True),
    sa.Column("buyer_id", sa.String(64), primary_key=True),
    sa.Column("supplier_id", sa.String(200), primary_key=True),  # '' = the portfolio as a whole
    sa.Column("supplier_name", sa.String(300)),
    sa.Column("own_probability", sa.Float),
    sa.Column("own_band", sa.String(16)),
    sa.Column("rollup_max", sa.Float),
    sa.Column("rollup_weighted", sa.Float),
    sa.Column("high_risk", sa.Integer, nullable=False),
    sa.Column("tier2_suppliers", sa.Integer, nullable=False),
    sa.Column("rank", sa.Integer, nullable=False),  # within the portfolio; 0 = the portfolio row
    sa.Column("top_path", sa.Text),
    sa.Column("paths", sa.Text, nullable=False),  # JSON list of paths (models/rollup.py)
)

# Drift of a score run against the champion's training window (models/drift.py), per entity type (migration 0004).
model_drift = sa.Table(
    "model_drift",
    metadata,
    sa.Column("run_id", sa.String(64), sa.ForeignKey("score_runs.run_id"), primary_key=True),
    sa.Column("entity_type", sa.String(32), primary_key=True),
    sa.Column("model_id", sa.String(120), nullable=False),
    sa.Column("as_of", sa.String(10), nullable=False),
    sa.Column("reference_as_of", sa.String(10)),  # the champion's training as-of date
    sa.Column("max_psi", sa.Float),  # largest PSI over the indicators
    sa.Column("score_psi", sa.Float),  # PSI of the score bands
    sa.Column("threshold", sa.Float, nullable=False),
    sa.Column("flagged", sa.Boolean, nullable=False),
    sa.Column("retraining_due", sa.Boolean, nullable=False),
    sa.Column("detail", sa.Text, nullable=False),  # JSON: PSI per indicator and per score band
    sa.Column("created_at", sa.String(32), nullable=False),
)


# --- service tables (users, audit log, outcomes, issued worklists) ------------------------------------------

users = sa.Table(
    "users",
    metadata,
    sa.Column("user_id", sa.String(32), primary_key=True),  # public half of the token: "<user_id>.<secret>"
    sa.Column("name", sa.String(120), nullable=False, unique=True),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("jurisdictions", sa.Text, nullable=False),  # JSON list of country / region / post keys
    sa.Column("portfolio", sa.Text, nullable=False),  # JSON list of employer ids (supply-chain auditors)
    sa.Column("token_hash", sa.String(64), nullable=False),  # HMAC-SHA256(secret key, token), hex
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("revoked_at", sa.String(32)),
    sa.Column("expires_at", sa.String(32)),  # ISO UTC; NULL = never (migration 0003)
)

# Append-only, hash-chained: hash = HMAC(audit key, prev_hash + canonical entry). audit_head holds the last link
# so that deleting the newest entries is detected too.
audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("at", sa.String(32), nullable=False),
    sa.Column("actor", sa.String(120), nullable=False),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("entity_type", sa.String(32)),
    sa.Column("entity_id", sa.String(200)),
    sa.Column("detail", sa.Text, nullable=False),  # JSON
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)
audit_head = sa.Table(
    "audit_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

outcomes = sa.Table(
    "outcomes",
    metadata,
    sa.Column("outcome_id", sa.String(64), primary_key=True),
    sa.Column("entity_type", sa.String(32), nullable=False),
    sa.Column("entity_id", sa.String(200), nullable=False),
    sa.Column("decided_on", sa.String(10), nullable=False),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("indicators_observed", sa.Text, nullable=False),  # JSON list of ILO indicator names
    sa.Column("issuing_body", sa.String(100)),
    sa.Column("exploration", sa.Boolean, nullable=False),
    sa.Column("worklist_id", sa.String(64)),
    sa.Column("recorded_by", sa.String(120), nullable=False),
    sa.Column("recorded_at", sa.String(32), nullable=False),
    sa.Column("landing_file", sa.String(300)),
)

issued_worklists = sa.Table(
    "issued_worklists",
    metadata,
    sa.Column("worklist_id", sa.String(64), primary_key=True),
    sa.Column("entity_type", sa.String(32), nullable=False),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("issued_to", sa.String(120), nullable=False),
    sa.Column("issued_at", sa.String(32), nullable=False),
    sa.Column("params", sa.Text, nullable=False),  # JSON: capacity, region, exploration share, seed
)
worklist_items = sa.Table(
    "worklist_items",
    metadata,
    sa.Column("worklist_id", sa.String(64), sa.ForeignKey("issued_worklists.worklist_id"), primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("entity_type", sa.String(32), nullable=False),
    sa.Column("entity_id", sa.String(200), nullable=False),
    sa.Column("exploration", sa.Boolean, nullable=False),
)
sa.Index("worklist_items_entity", worklist_items.c.entity_type, worklist_items.c.entity_id)

# Dashboard sign-ins: the cookie holds a random session id, the store only its HMAC; signing out deletes the row
# (migration 0005).
dashboard_sessions = sa.Table(
    "dashboard_sessions",
    metadata,
    sa.Column("session_hash", sa.String(64), primary_key=True),  # HMAC-SHA256(secret key, session id), hex
    sa.Column("user_id", sa.String(32), sa.ForeignKey("users.user_id"), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("expires_at", sa.String(32), nullable=False),  # ISO UTC, the format of now_iso
)
sa.Index("dashboard_sessions_expiry", dashboard_sessions.c.expires_at)


# The tables the service writes while answering reads: in the service database on SQLite (migration 0006 moved them
# there from the store's file, entries and rows included). Parents before children (foreign keys).
SERVICE_SCHEMA = "service"
SERVICE_TABLES = (audit_log, audit_head, outcomes, issued_worklists, worklist_items)


def service_database(store_database: str) -> str:
    """The service database's file for a SQLite store's file: ``serving.db`` -> ``serving.service.sqlite`` in the
    same folder (back both up together: the audit log is in the second)."""
    path = Path(store_database)
    return str(path.with_name(f"{path.stem}.service.sqlite"))


def _file_database(url: str) -> str | None:
    """The file of a SQLite URL; None for an in-memory database."""
    database = sa.engine.make_url(url).database
    return None if database in (None, "", ":memory:") or database.startswith("file::memory:") else database


def store_url(home: Path) -> str:
    """``TRACERISK_STORE_URL`` when set, else SQLite at ``$TRACERISK_HOME/serving.db``."""
    return os.environ.get("TRACERISK_STORE_URL") or f"sqlite:///{(home / 'serving.db').resolve()}"


def connect(url: str) -> Engine:
    """An engine on an up-to-date schema (Alembic migrations in ``service/migrations`` run to head; a store
    created before migrations existed is adopted). SQLite gets WAL so readers never see a half-written run."""
    engine = make_engine(url)
    migrate(engine)
    return engine


LOCK_WAIT_MS = 30_000  # how long a SQLite connection waits for another's write lock (scoring, the CLI)


def make_engine(url: str, busy_timeout_ms: int = LOCK_WAIT_MS) -> Engine:
    """An engine without touching the schema (the service connects lazily and retries when the store is down).
    ``busy_timeout_ms``: on SQLite, how long a write waits for the write lock before failing with "database is
    locked" (WAL readers never wait for it)."""
    is_sqlite = url.startswith("sqlite")
    engine = sa.create_engine(url, pool_pre_ping=not is_sqlite)
    if engine.dialect.name == "sqlite":
        database = _file_database(url)
        attached = service_database(database) if database is not None else None

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")  # WAL: durable at checkpoints, never inconsistent
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cursor.execute("PRAGMA mmap_size=1073741824")
            if attached is not None:
                cursor.execute(f"ATTACH DATABASE ? AS {SERVICE_SCHEMA}", (attached,))
                cursor.execute(f"PRAGMA {SERVICE_SCHEMA}.journal_mode=WAL")
                cursor.execute(f"PRAGMA {SERVICE_SCHEMA}.synchronous=NORMAL")
            cursor.close()

    return engine


MIGRATIONS = Path(__file__).with_name("migrations")
_MIGRATE_LOCK = threading.Lock()


def migrate(engine: Engine) -> None:
    """Run the Alembic migrations to head on ``engine``."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with _MIGRATE_LOCK, engine.begin() as conn:  # Alembic's context is process-global: one migration at a time
        if conn.dialect.name == "postgresql":  # concurrent starters (workers, flows) migrate one at a time
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(7262531)"))
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def is_lock_timeout(exc: BaseException) -> bool:
    """SQLite's answer when another connection held the write lock past the busy timeout."""
    return isinstance(exc, sa.exc.OperationalError) and "database is locked" in str(exc)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Prepared:
    """A Core statement compiled once per dialect and run on the driver's own cursor: the hot read path of the
    service (token check, one entity, its history) skips SQLAlchemy's per-execution statement building, cache-key
    and result-wrapping work. Parameters are the statement's ``sa.bindparam`` names (constants such as a LIMIT keep
    the value they were compiled with); rows come back as plain tuples in the statement's column order."""

    def __init__(self, statement: sa.ClauseElement) -> None:
        self.statement = statement
        self.columns: tuple[str, ...] = tuple(c.name for c in getattr(statement, "selected_columns", ()))
        self._compiled: dict[str, tuple[str, tuple[str, ...] | None, dict[str, Any]]] = {}

    def _for(self, dialect: sa.Dialect) -> tuple[str, tuple[str, ...] | None, dict[str, Any]]:
        found = self._compiled.get(dialect.name)
        if found is None:
            compiled = cast(SQLCompiler, self.statement.compile(dialect=dialect))
            order = tuple(compiled.positiontup or ()) if compiled.positional else None
            found = self._compiled[dialect.name] = (compiled.string, order, dict(compiled.params))
        return found

    def _args(self, order: tuple[str, ...] | None, constants: dict[str, Any], params: dict[str, Any]) -> Any:
        values = {**constants, **params} if constants else params
        return tuple([values[name] for name in order]) if order is not None else values

    def rows(self, conn: Connection, **params: Any) -> list[tuple[Any, ...]]:
        sql, order, constants = self._for(conn.dialect)
        args = self._args(order, constants, params)
        with _as_sqlalchemy_errors(conn.dialect, sql, args):
            cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            try:
                cursor.execute(sql, args)
                return cast(list[tuple[Any, ...]], cursor.fetchall())  # sqlite3's and psycopg's rows are tuples
            finally:
                cursor.close()

    def execute(self, conn: Connection, **params: Any) -> int:
        """Run a write inside the caller's transaction; the number of rows it touched."""
        return self.execute_many(conn, [params])

    def execute_many(self, conn: Connection, params: Sequence[dict[str, Any]]) -> int:
        sql, order, constants = self._for(conn.dialect)
        with _as_sqlalchemy_errors(conn.dialect, sql, ()):
            cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            try:
                if len(params) == 1:
                    cursor.execute(sql, self._args(order, constants, params[0]))
                else:
                    cursor.executemany(sql, [self._args(order, constants, p) for p in params])
                return int(cursor.rowcount)
            finally:
                cursor.close()


@contextmanager
def _as_sqlalchemy_errors(dialect: sa.Dialect, sql: str, params: Any) -> Iterator[None]:
    """The driver's errors raised as SQLAlchemy's (OperationalError, ...), as SQLAlchemy's own execution does, so
    that callers catching those (the service's store guard: 503 and reconnect) see a failed Prepared statement."""
    dbapi = dialect.loaded_dbapi
    try:
        yield
    except dbapi.Error as exc:
        raise sa.exc.DBAPIError.instance(sql, params, exc, dbapi.Error, hide_parameters=True) from exc


@dataclass(frozen=True)
class ModelEntry:
    model_id: str
    entity_type: str
    status: str
    trained_as_of: str
    strategy: str
    metrics: dict[str, Any]
    gate: dict[str, Any]
    card: str


@dataclass(frozen=True)
class ScoreRun:
    run_id: str
    as_of: str
    model_ids: dict[str, str]  # entity type -> model id ("rule-baseline" when no champion model exists)
    rows: Sequence[dict[str, Any]]  # columns of ``scores`` without run_id (reasons already JSON text)
    scope: Sequence[dict[str, Any]]  # columns of ``score_scope`` without run_id
    model_entries: Sequence[ModelEntry] = ()
    supply: Sequence[dict[str, Any]] = ()  # columns of ``supply_rollup`` without run_id
    drift: Sequence[dict[str, Any]] = ()  # columns of ``model_drift`` without run_id and created_at


BATCH_ROWS = 20_000  # rows per executemany batch (bounded memory on large runs)


def _batches(rows: Sequence[dict[str, Any]], run_id: str) -> Iterable[list[dict[str, Any]]]:
    for start in range(0, len(rows), BATCH_ROWS):
        yield [{**r, "run_id": run_id} for r in rows[start : start + BATCH_ROWS]]


def upsert_models(conn: Connection, entries: Iterable[ModelEntry]) -> None:
    for m in entries:
        values = {
            "entity_type": m.entity_type,
            "status": m.status,
            "trained_as_of": m.trained_as_of,
            "strategy": m.strategy,
            "metrics": json.dumps(m.metrics, sort_keys=True, default=str),
            "gate": json.dumps(m.gate, sort_keys=True, default=str),
            "card": m.card,
            "updated_at": now_iso(),
        }
        if m.status == "champion":  # one champion per entity type
            conn.execute(
                sa.update(models)
                .where(models.c.entity_type == m.entity_type, models.c.status == "champion")
                .where(models.c.model_id != m.model_id)
                .values(status="retired", updated_at=now_iso())
            )
        done = conn.execute(sa.update(models).where(models.c.model_id == m.model_id).values(**values))
        if done.rowcount == 0:
            conn.execute(sa.insert(models).values(model_id=m.model_id, **values))


def publish(engine: Engine, run: ScoreRun, before_commit: Callable[[], None] | None = None) -> None:
    """Write ``run`` and point the service at it, all in one transaction.

    ``before_commit`` runs after every row is written and before the pointers commit (tests use it to
    fail a publish half-way; anything it raises rolls the whole run back).
    """
    entity_types = sorted(run.model_ids)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(score_runs).values(
                run_id=run.run_id,
                as_of=run.as_of,
                created_at=now_iso(),
                entity_types=json.dumps(entity_types),
                rows=len(run.rows),
                model_ids=json.dumps(run.model_ids, sort_keys=True),
            )
        )
        for batch in _batches(run.rows, run.run_id):
            conn.execute(sa.insert(scores), batch)
        for batch in _batches(run.scope, run.run_id):
            conn.execute(sa.insert(score_scope), batch)
        upsert_models(conn, run.model_entries)
        for batch in _batches(run.supply, run.run_id):
            conn.execute(sa.insert(supply_rollup), batch)
        if run.drift:
            conn.execute(
                sa.insert(model_drift), [{**d, "run_id": run.run_id, "created_at": now_iso()} for d in run.drift]
            )
        if before_commit is not None:
            before_commit()
        for entity_type in entity_types:
            conn.execute(sa.delete(published).where(published.c.entity_type == entity_type))
            pointer = {"entity_type": entity_type, "run_id": run.run_id, "published_at": now_iso()}
            conn.execute(sa.insert(published).values(**pointer))


def published_runs(engine: Engine) -> dict[str, str]:
    """Entity type -> the run id the service serves."""
    with engine.connect() as conn:
        return {r.entity_type: r.run_id for r in conn.execute(sa.select(published))}


def published_scores(engine: Engine, entity_type: str) -> list[dict[str, Any]]:
    """Every published score row of ``entity_type``, best rank first (reasons decoded)."""
    runs = published_runs(engine)
    if entity_type not in runs:
        return []
    with engine.connect() as conn:
        result = conn.execute(
            sa.select(scores)
            .where(scores.c.run_id == runs[entity_type], scores.c.entity_type == entity_type)
            .order_by(scores.c.rank)
        )
        return [{**r._asdict(), "reasons": json.loads(r.reasons)} for r in result]


@dataclass(frozen=True)
class Pruned:
    kept: list[str]  # run ids kept: the newest ``keep`` and every published one
    removed: list[str]  # run ids removed with their rows
    rows: int  # score rows removed


RUN_TABLES = (scores, score_scope, supply_rollup, model_drift)  # every table holding rows of a score run


def prune_runs(engine: Engine, keep: int) -> Pruned:
    """Remove every score run but the newest ``keep`` (by creation time) and those a ``published`` pointer names,
    with all their rows. One transaction per run, so the write lock is never held for long; the audit log, users,
    outcomes, issued worklists and the model registry are not touched."""
    if keep < 1:
        raise ValueError("keep at least one score run")
    with engine.connect() as conn:
        newest_first = [
            r.run_id
            for r in conn.execute(
                sa.select(score_runs.c.run_id).order_by(score_runs.c.created_at.desc(), score_runs.c.run_id.desc())
            )
        ]
        served = {r.run_id for r in conn.execute(sa.select(published.c.run_id))}
    kept = [run_id for i, run_id in enumerate(newest_first) if i < keep or run_id in served]
    removed = [run_id for run_id in newest_first if run_id not in kept]
    rows = 0
    for run_id in removed:
        with engine.begin() as conn:
            if conn.execute(sa.select(published.c.entity_type).where(published.c.run_id == run_id)).first():
                kept.append(run_id)  # published since it was listed
                continue
            for table in RUN_TABLES:
                done = conn.execute(sa.delete(table).where(table.c.run_id == run_id))
                rows += done.rowcount if table is scores else 0
            conn.execute(sa.delete(score_runs).where(score_runs.c.run_id == run_id))
    return Pruned(kept, [r for r in removed if r not in kept], rows)
