"""SQLite: the tables the service writes while answering reads (audit log and head, outcomes, issued worklists and
their items) move into the service database attached as ``service`` (``store.engine.service_database``), with every
row, so a publish holding the store's write lock never delays them. PostgreSQL and an in-memory SQLite store keep
them where they are.

Each step can run again after an interruption: a table is created only when missing, rows are copied unless already
there (same primary key), and the store's copy is dropped last.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

SERVICE = "service"  # store.tables.SERVICE_SCHEMA
MAIN = "main"
TABLES = ("audit_log", "audit_head", "outcomes", "issued_worklists", "worklist_items")  # parents before children


def _attached(bind: sa.Connection) -> bool:
    if bind.dialect.name != "sqlite":
        return False
    return any(row[1] == SERVICE for row in bind.exec_driver_sql("PRAGMA database_list"))


def _has(name: str, schema: str) -> bool:
    return sa.inspect(op.get_bind()).has_table(name, schema=schema)  # a new inspector: no cached answer


def _move(source: str, target: str) -> None:
    """Create each table in ``target`` as it is in ``source`` (columns, keys, indexes) unless there, copy the rows
    ``target`` lacks, then drop ``source``'s."""
    bind = op.get_bind()
    found = sa.MetaData()
    for name in TABLES:
        if _has(name, source):
            sa.Table(name, found, schema=source, autoload_with=bind)
    moved = sa.MetaData()
    for table in found.sorted_tables:
        table.to_metadata(moved, schema=target)
    moved.create_all(bind, checkfirst=True)
    for table in found.sorted_tables:
        columns = ", ".join(f'"{c.name}"' for c in table.columns)
        op.execute(
            f'INSERT OR IGNORE INTO {target}."{table.name}" ({columns}) SELECT {columns} FROM {source}."{table.name}"'
        )
    for table in reversed(found.sorted_tables):
        op.drop_table(table.name, schema=source)


def upgrade() -> None:
    if _attached(op.get_bind()):
        _move(MAIN, SERVICE)


def downgrade() -> None:
    if _attached(op.get_bind()):
        _move(SERVICE, MAIN)
