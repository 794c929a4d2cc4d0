"""Engines on the published store: its URL, SQLite's pragmas and attached service database, and the Alembic
migrations run to head on connect."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from data_contracts.home import Home, service_database_beside
from store.tables import SERVICE_SCHEMA

SECRET_QUERY_KEYS = frozenset({"password", "passwd", "pwd", "sslpassword", "secret", "token"})
MASK = "***"


def service_database(store_database: str) -> str:
    """The service database's file for a SQLite store's file: ``serving.db`` -> ``serving.service.sqlite`` in the
    same folder (back both up together: the audit log is in the second)."""
    return str(service_database_beside(Path(store_database)))


def _file_database(url: str) -> str | None:
    """The file of a SQLite URL; None for an in-memory database."""
    database = sa.engine.make_url(url).database
    return None if database in (None, "", ":memory:") or database.startswith("file::memory:") else database


def store_url(home: Path) -> str:
    """``TRACERISK_STORE_URL`` when set, else SQLite at ``$TRACERISK_HOME/serving.db``."""
    return Home(home).store_url()


def connect(url: str) -> Engine:
    """An engine on an up-to-date schema (Alembic migrations in ``store/migrations`` run to head; a store
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


def redact_url(url: str) -> str:
    """A database URL fit to print: its password, and any password-like query parameter, replaced by ***."""
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        return re.sub(r"(://[^:/@]*:)[^@]*@", rf"\1{MASK}@", url)
    if parsed.query:
        query = {k: (MASK if k.lower() in SECRET_QUERY_KEYS else v) for k, v in parsed.query.items()}
        parsed = parsed.set(query=query)
    return parsed.render_as_string(hide_password=True).replace("%2A%2A%2A", MASK)
