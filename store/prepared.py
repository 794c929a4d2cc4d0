"""Statements compiled once and run on the driver's own cursor, for the service's hot read path."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql.compiler import SQLCompiler


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
        try:
            cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            try:
                cursor.execute(sql, args)
                return cast(list[tuple[Any, ...]], cursor.fetchall())  # sqlite3's and psycopg's rows are tuples
            finally:
                cursor.close()
        except conn.dialect.loaded_dbapi.Error as exc:
            raise _as_sqlalchemy_error(conn.dialect, sql, args, exc) from exc

    def execute(self, conn: Connection, **params: Any) -> int:
        """Run a write inside the caller's transaction; the number of rows it touched."""
        return self.execute_many(conn, [params])

    def execute_many(self, conn: Connection, params: Sequence[dict[str, Any]]) -> int:
        sql, order, constants = self._for(conn.dialect)
        try:
            cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            try:
                if len(params) == 1:
                    cursor.execute(sql, self._args(order, constants, params[0]))
                else:
                    cursor.executemany(sql, [self._args(order, constants, p) for p in params])
                return int(cursor.rowcount)
            finally:
                cursor.close()
        except conn.dialect.loaded_dbapi.Error as exc:
            raise _as_sqlalchemy_error(conn.dialect, sql, (), exc) from exc


def _as_sqlalchemy_error(dialect: sa.Dialect, sql: str, params: Any, exc: Exception) -> sa.exc.StatementError:
    """The driver's error as SQLAlchemy's (OperationalError, ...), as SQLAlchemy's own execution raises it, so that
    callers catching those (the service's store guard: 503 and reconnect) see a failed Prepared statement."""
    return sa.exc.DBAPIError.instance(sql, params, exc, dialect.loaded_dbapi.Error, hide_parameters=True)
