"""The service's connection to the serving store: created (and migrated) on first use, dropped after a database
error so that the next request reconnects. Database errors become ``StoreUnavailable`` (answered 503 with
Retry-After)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from store.engine import is_lock_timeout, make_engine, migrate

DB_ERRORS = (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.ProgrammingError, sa.exc.InternalError)


class StoreUnavailable(RuntimeError):
    """The serving store cannot be reached (answered 503 with Retry-After)."""


class StoreBusy(StoreUnavailable):
    """Another process held SQLite's write lock past the busy timeout (answered 503 with Retry-After; the engine
    is kept)."""


class _StoreGuard:
    """``ReconnectingEngine.guard``: a class, not a generator, because every read enters it several times."""

    __slots__ = ("_store",)

    def __init__(self, store: ReconnectingEngine) -> None:
        self._store = store

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        if isinstance(exc, DB_ERRORS):
            if is_lock_timeout(exc):
                raise StoreBusy("the serving store is busy") from exc
            self._store.reset()
            raise StoreUnavailable("the serving store is unavailable") from exc


class ReconnectingEngine:
    """The serving store's engine, created (and migrated) on first use and dropped after a database error."""

    def __init__(self, url: str, busy_timeout_ms: int) -> None:
        self.url = url
        self.busy_timeout_ms = busy_timeout_ms
        self._engine: Engine | None = None
        self._held: Connection | None = None  # loop_connection's
        self._lock = threading.Lock()
        self._guard = _StoreGuard(self)

    def engine(self) -> Engine:
        engine = self._engine
        if engine is not None:
            return engine
        with self._lock:
            if self._engine is None:
                candidate = make_engine(self.url, self.busy_timeout_ms)
                try:
                    migrate(candidate)
                except Exception as exc:
                    candidate.dispose()
                    raise StoreUnavailable("the serving store is unavailable") from exc
                self._engine = candidate
            return self._engine

    def reset(self) -> None:
        with self._lock:
            held, self._held = self._held, None
            if held is not None:
                with suppress(Exception):  # a broken connection may fail to close: it is dropped either way
                    held.close()
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None

    def guard(self) -> _StoreGuard:
        """Database errors inside become StoreUnavailable (503) and drop the engine, so the next request
        reconnects (and re-runs migrations) instead of reusing a broken pool. A write lock held past the busy
        timeout becomes StoreBusy, and the engine is kept."""
        return self._guard

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        with self.guard(), self.engine().connect() as conn:
            yield conn

    @contextmanager
    def loop_connection(self) -> Iterator[Connection]:
        """The event loop's own connection, held between requests (no pool checkout per read): only code on the
        loop thread that does not await while using it may take it. Reads run on it through ``Prepared``; after
        each use its driver-level transaction is ended, so the next read sees what was committed since."""
        with self.guard():
            held = self._held
            if held is None:
                held = self._held = self.engine().connect()
            try:
                yield held
            finally:
                held.connection.dbapi_connection.rollback()  # type: ignore[union-attr]

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        with self.guard(), self.engine().begin() as conn:
            yield conn
